"""Data migrations: historical models reflected inside the batch, bulk operations, progress reported to the app."""

from __future__ import annotations

import pytest

from app_db import MigrationError
from app_db.testing import assert_reversible

NOTES = '''
schema.sql("""CREATE TABLE note (
    id INTEGER PRIMARY KEY,  -- the rowid
    body TEXT NOT NULL DEFAULT ''
)""")
schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
schema.sql("""CREATE TABLE note_tag (
    note_id INTEGER NOT NULL REFERENCES note(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tag(id),
    PRIMARY KEY (note_id, tag_id)
) WITHOUT ROWID""")
'''
NOTES_DOWN = 'for table in ("note_tag", "tag", "note"): schema.drop_table(table)'


def with_notes(project):
    project.add("001_notes.py", "20240601_090000_notes", NOTES, down=NOTES_DOWN)


def test_a_model_taken_after_an_earlier_migration_renamed_a_column_sees_the_new_name(project):
    with_notes(project)
    project.add("002_rename.py", "20240602_090000_rename", 'schema.rename_column("note", "body", "text")',
                down='schema.rename_column("note", "text", "body")')
    project.add("003_fill.py", "20240603_090000_fill", '''
Note = schema.model("note")
assert [field.column_name for field in Note._meta.sorted_fields] == ["id", "text"], Note._meta.sorted_fields
Note.insert(text="renamed").execute()
''', down='schema.bulk_delete("note", {})')
    project.launch()
    assert project.rows("SELECT text FROM note") == [("renamed",)]


def test_a_model_taken_after_add_column_in_the_same_migration_sees_the_column(project):
    with_notes(project)
    project.add("002_title.py", "20240602_090000_title", '''
schema.bulk_insert("note", [{"body": "Groceries\\nmilk"}, {"body": "Plans"}])
before = schema.model("note")
schema.add_column("note", "title", peewee.CharField(null=True))
Note = schema.model("note")
assert "title" not in before._meta.fields and "title" in Note._meta.fields
for note in Note.select():
    note.title = note.body.partition("\\n")[0]
    note.save()
''', down='schema.drop_column("note", "title")')
    project.launch()
    assert project.rows("SELECT title FROM note ORDER BY id") == [("Groceries",), ("Plans",)]


def test_a_model_follows_a_change_made_with_raw_sql(project):
    with_notes(project)
    project.add("002_raw.py", "20240602_090000_raw", '''
schema.model("note")
schema.db.execute_sql("ALTER TABLE note ADD COLUMN colour TEXT")
assert "colour" in schema.model("note")._meta.fields
''')
    project.launch()


def test_models_taken_together_join_through_their_foreign_keys(project):
    with_notes(project)
    project.add("002_data.py", "20240602_090000_data", '''
schema.bulk_insert("note", [{"id": 1, "body": "a"}, {"id": 2, "body": "b"}])
schema.bulk_insert("tag", [{"id": 1, "name": "work"}, {"id": 2, "name": "home"}])
schema.bulk_insert("note_tag", [{"note_id": 1, "tag_id": 1}, {"note_id": 2, "tag_id": 2}, {"note_id": 1, "tag_id": 2}])
Note, Tag, NoteTag = schema.models("note", "tag", "note_tag")
assert NoteTag.note_id.rel_model is Note and NoteTag.tag_id.rel_model is Tag
query = (Note.select(Note.body, Tag.name).join(NoteTag).join(Tag)
         .where(Tag.name == "home").order_by(Note.body).tuples())
assert list(query) == [("a", "home"), ("b", "home")], list(query)
''', down='schema.bulk_delete("note_tag", {})')
    project.launch()


def test_bulk_operations_on_100000_rows_return_their_counts(project):
    with_notes(project)
    project.add("002_bulk.py", "20240602_090000_bulk", '''
assert schema.bulk_insert("note", ({"body": f"note {i}"} for i in range(100_000))) == 100_000
assert schema.bulk_update("note", {"body": "even"}, schema.model("note").id.bin_and(1) == 0) == 50_000
assert schema.bulk_delete("note", {"body": "even"}) == 50_000
''')
    project.launch()
    assert project.rows("SELECT count(*), count(DISTINCT body) FROM note") == [(50_000, 50_000)]


def test_bulk_insert_of_tuples_with_fields_streams_the_rows_across_batches_and_returns_the_count(project):
    with_notes(project)
    project.add("002_bulk.py", "20240602_090000_bulk", '''
assert schema.bulk_insert("note", ((f"note {i}",) for i in range(25_001)), fields=["BODY"]) == 25_001
assert schema.bulk_insert("tag", [(7, "work"), [8, "home"]], ("id", "name")) == 2
''')
    project.launch()
    assert project.rows("SELECT count(*), min(id), max(id), count(DISTINCT body) FROM note") == [(25_001, 1, 25_001, 25_001)]
    assert project.rows("SELECT body FROM note WHERE id = 25001") == [("note 25000",)]
    assert project.rows("SELECT id, name FROM tag ORDER BY id") == [(7, "work"), (8, "home")]


def test_tuples_with_fields_store_exactly_what_the_same_rows_as_dicts_store(project):
    """Values peewee converts (a datetime, a bool, a decimal) go through the same field as the dict form's."""
    project.add("001_t.py", "20240601_090000_t", '''
for name in ("a", "b"):
    schema.sql(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, at DATETIME, done BOOLEAN, price DECIMAL(10, 2), n INTEGER, "
               "note TEXT DEFAULT 'none')")
''')
    project.add("002_fill.py", "20240602_090000_fill", '''
import datetime, decimal
rows = [(datetime.datetime(2024, 6, 1, 9, 30), True, decimal.Decimal("1.50"), 3), (None, False, None, None)]
fields = ("at", "done", "price", "n")
assert schema.bulk_insert("a", rows, fields=fields) == 2
assert schema.bulk_insert("b", [dict(zip(fields, row)) for row in rows]) == 2
''')
    project.launch()
    a = project.rows("SELECT at, typeof(at), done, price, typeof(price), n, note FROM a ORDER BY id")
    assert a == project.rows("SELECT at, typeof(at), done, price, typeof(price), n, note FROM b ORDER BY id")
    assert a[0][:3] == ("2024-06-01 09:30:00", "text", 1) and a[1][6] == "none"


def test_where_as_a_dict_must_match_every_column_and_none_matches_null(project):
    project.add("001_t.py", "20240601_090000_t", '''
schema.sql("CREATE TABLE Item (Id INTEGER PRIMARY KEY, Kind TEXT, Colour TEXT)")
schema.bulk_insert("item", [{"Kind": "a", "Colour": "red"}, {"Kind": "a", "Colour": None}, {"Kind": "b", "Colour": "red"}])
assert schema.bulk_update("ITEM", {"colour": "blue"}, {"kind": "a", "colour": "red"}) == 1
assert schema.bulk_update("item", {"Colour": "green"}, {"Colour": None}) == 1
assert schema.bulk_delete("item", {"Kind": "b"}) == 1
''')
    project.launch()
    assert project.rows("SELECT Kind, Colour FROM Item ORDER BY Id") == [("a", "blue"), ("a", "green")]


def test_where_as_an_expression_on_the_historical_model(project):
    with_notes(project)
    project.add("002_expr.py", "20240602_090000_expr", '''
schema.bulk_insert("note", [{"body": ""}, {"body": "kept"}, {"body": "  "}])
Note = schema.model("note")
assert schema.bulk_delete("note", peewee.fn.trim(Note.body) == "") == 2
assert schema.bulk_update("note", {"body": Note.body.concat("!")}, Note.body.startswith("k")) == 1
''')
    project.launch()
    assert project.rows("SELECT body FROM note") == [("kept!",)]


def test_bulk_insert_fills_a_composite_key_without_rowid_and_columns_left_out_get_their_default(project):
    with_notes(project)
    project.add("002_rows.py", "20240602_090000_rows", '''
assert schema.bulk_insert("note", iter([{"id": 5}, {"id": 6, "body": "six"}, {"body": "seven", "id": 7}, {"id": 8}])) == 4
schema.bulk_insert("tag", [{"id": 1, "name": "x"}])
assert schema.bulk_insert("note_tag", [{"note_id": 5, "tag_id": 1}, {"note_id": 6, "tag_id": 1}]) == 2
assert schema.bulk_delete("note_tag", {"note_id": 5, "tag_id": 1}) == 1
''')
    project.launch()
    assert project.rows("SELECT id, body FROM note ORDER BY id") == [(5, ""), (6, "six"), (7, "seven"), (8, "")]
    assert project.rows("SELECT note_id, tag_id FROM note_tag") == [(6, 1)]


@pytest.mark.parametrize(
    "call, message",
    [
        ('schema.model("nothing")', r"no table 'nothing' at this point.*its tables: note, note_tag, tag"),
        ('schema.bulk_insert("note", [{"bdy": "x"}])', r"bulk_insert\('note', \.\.\.\): table 'note' has no column 'bdy' \(its columns: id, body\)"),
        ('schema.bulk_update("note", {"body": "x"}, "id = 1")', r"where must be a dict of column -> value, or a peewee expression"),
        ('schema.bulk_insert("note", [{"body": "x"}, "y"])', r"row 1 is 'y'"),
        ('schema.bulk_insert("note", [("x",)], fields="body")', r"fields must be a list of column names"),
        ('schema.bulk_insert("note", [("x",)], fields=[])', r"fields must be a list of column names"),
        ('schema.bulk_insert("note", [("x", "y")], fields=["body", "Body"])', r"fields names body, Body more than once"),
        ('schema.bulk_insert("note", [("x",)], fields=["bdy"])', r"table 'note' has no column 'bdy' \(its columns: id, body\)"),
        ('schema.bulk_insert("note", ((f"n{i}",) if i != 12_345 else ("a", "b") for i in range(20_000)), fields=["body"])',
         r"row 12345 is \('a', 'b'\); with fields= each row must be a tuple \(or list\) of 1 value, one per field \(body\)"),
        ('schema.bulk_insert("note", ["milk", "eggs"], fields=["body"])', r"row 0 is 'milk'; with fields= each row must be a tuple"),
        ('schema.bulk_insert("note", [("milk",), "x", ("eggs",)], fields=["body"])', r"row 1 is 'x'; with fields= each row must be a tuple"),
        ('schema.bulk_insert("note", [{"body": "x"}], fields=["body"])', r"row 0 is \{'body': 'x'\}.*dicts name their own columns: leave out fields="),
        ('schema.bulk_insert("note", [("x",)])', r"row 0 is \('x',\); each row must be a non-empty dict of column -> value \(or pass fields= with rows as tuples\)"),
    ],
)
def test_bad_bulk_input_fails_the_migration_naming_it_and_nothing_is_kept(project, call, message):
    with_notes(project)
    project.launch()
    before = project.dump()
    project.add("002_bad.py", "20240602_090000_bad", f'schema.bulk_insert("tag", [{{"name": "kept?"}}])\n{call}')
    with pytest.raises(MigrationError, match=message + r".*Nothing was changed"):
        project.launch()
    assert project.dump() == before


def test_a_failure_after_bulk_operations_rolls_them_back_with_the_rest_of_the_batch(project):
    with_notes(project)
    project.add("002_fill.py", "20240602_090000_fill", 'schema.bulk_insert("note", [{"body": "one"}] * 1000)')
    project.add("003_broken.py", "20240603_090000_broken", '''
schema.bulk_update("note", {"body": "changed"}, {})
raise RuntimeError("broken data migration")
''')
    with pytest.raises(MigrationError, match="broken data migration"):
        project.launch()
    assert project.applied() == []
    assert project.rows("SELECT name FROM sqlite_master WHERE name = 'note'") == []


def test_a_data_migration_using_schema_model_passes_assert_reversible(project):
    with_notes(project)
    project.add("002_title.py", "20240602_090000_title", '''
schema.bulk_insert("note", [{"body": "Groceries\\nmilk"}, {"body": "Plans"}])
schema.add_column("note", "title", peewee.CharField(null=True))
Note = schema.model("note")
for note in Note.select():
    title, _, rest = note.body.partition("\\n")
    schema.bulk_update("note", {"title": title, "body": rest}, {"id": note.id})
''', down='''
Note = schema.model("note")
for note in Note.select():
    schema.bulk_update("note", {"body": note.title + ("\\n" + note.body if note.body else "")}, {"id": note.id})
schema.drop_column("note", "title")
''')
    assert_reversible(project.database())


def test_progress_reaches_the_callback_throttled_with_the_start_and_the_end(project):
    with_notes(project)
    project.add("002_slow.py", "20240602_090000_slow", '''
import time
total = 50
for done in range(total + 1):
    schema.progress(done, total)
    time.sleep(0.01)
''')
    calls = []
    database = project.database(on_row_progress=lambda migration, done, total: calls.append((migration.id, done, total)))
    database.register_models([])
    database.close()
    ids = {call[0] for call in calls}
    assert ids == {"20240602_090000_slow"}
    assert calls[0][1:] == (0, 50) and calls[-1][1:] == (50, 50)
    # 51 calls over at least 0.5 s: about one in ten passes (at most 10 a second, plus the last one).
    assert 3 <= len(calls) <= 8, calls


def test_a_dry_run_does_not_call_the_apps_row_progress(project):
    with_notes(project)
    project.add("002_p.py", "20240602_090000_p", 'schema.progress(1, 1)\nschema.bulk_insert("tag", [{"name": "a"}])')
    calls = []
    database = project.database(on_row_progress=lambda *args: calls.append(args))
    steps = database.preview()
    database.close()
    assert calls == []
    assert any("INSERT INTO" in statement for step in steps for statement in step.statements)


def test_makemigration_empty_writes_a_data_migration_scaffold_that_runs_once_its_example_is_kept(tmp_path):
    import re
    import sqlite3
    from pathlib import Path

    from test_cli import Cli

    cli = Cli(tmp_path)
    cli.add_both()
    written = Path(cli.ok("makemigration", "--empty", "Fill titles from bodies").strip())
    assert written == cli.migrations / "003_fill_titles_from_bodies.py"
    text = written.read_text()
    assert "class FillTitlesFromBodies(Migration):" in text and 'Note = schema.model("note")' in text
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from app_db import Migration"]  # never the app's models
    # Unwritten, it cannot run or ship as a silent no-op.
    result = cli.run("check")
    assert result.returncode == 1 and "up() is still the stub" in result.stdout
    # Its example, kept as it is, is a working data migration.
    up, down = text.split("    def down(self, schema):")
    up = re.sub(r"^        #     ", "        ", up, flags=re.M)
    up = re.sub(r"\.where\(Note\.title\.is_null\(\)\)", "", up)
    up = re.sub(r"^        raise NotImplementedError.*$", "", up, flags=re.M)
    down = re.sub(r"raise NotImplementedError.*", 'schema.bulk_update("note", {"title": ""}, {})', down)
    written.write_text(up + "    def down(self, schema):" + down)
    cli.ok("migrate")
    connection = sqlite3.connect(cli.path)
    connection.execute("INSERT INTO note (body, title) VALUES ('Groceries\nmilk', '')")
    connection.commit()
    connection.execute("DELETE FROM app_db_migrations WHERE id LIKE '%fill_titles%'")
    connection.commit()
    connection.close()
    cli.ok("migrate")
    assert sqlite3.connect(cli.path).execute("SELECT title FROM note").fetchall() == [("Groceries",)]


def test_a_rewrite_listing_the_checksum_of_the_text_that_ran_is_not_a_changed_migration(project, caplog):
    from app_db import MigrationDefinitionError
    from app_db.discovery import checksum_of

    with_notes(project)
    shipped = project.add("002_fill.py", "20240602_090000_fill", 'schema.sql("INSERT INTO tag (name) VALUES (\'a\')")')
    project.launch()
    old = checksum_of(shipped.read_bytes())
    rewritten = 'schema.bulk_insert("tag", [{"name": "a"}])'
    project.add("002_fill.py", "20240602_090000_fill", rewritten)
    with pytest.raises(MigrationDefinitionError, match="002_fill.py.*revert the edit"):  # undeclared: refused
        project.database(env="development").register_models([])
    source = shipped.read_text().replace("    def up", f"    replaces_checksums = ({old!r},)\n\n    def up")
    shipped.write_text(source)
    database = project.database(env="development")
    database.register_models([])
    assert [status.checksum_changed for status in database.status()] == [False, False]
    database.close()
    # Another earlier text, not listed, is still a change.
    project.add("003_more.py", "20240603_090000_more", "pass")
    connection = project.connect()
    connection.execute("UPDATE app_db_migrations SET checksum = ? WHERE id = '20240602_090000_fill'", ("0" * 64,))
    connection.commit()
    connection.close()
    with caplog.at_level("WARNING", logger="app_db"):
        project.launch()
    assert "20240602_090000_fill" in caplog.text and "changed since it was applied" in caplog.text  # the one wording of Plan.findings


def test_the_readmes_data_migration_example_runs_and_is_reversible(project):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Data migrations"):]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    project.add("001_people.py", "20250101_090000_people", '''
schema.sql("CREATE TABLE person (id INTEGER PRIMARY KEY, full_name TEXT)")
schema.bulk_insert("person", [{"full_name": "Ada Lovelace"}, {"full_name": "Plato"}, {"full_name": None}])
''', down='schema.drop_table("person")')
    project.write("002_split.py", "import peewee\nfrom app_db import Migration\n\n\n" + example)
    assert_reversible(project.database())
    project.launch()
    assert project.rows("SELECT first_name, full_name FROM person ORDER BY id") == [("Ada", "Lovelace"), ("Plato", ""), ("", "")]


@pytest.mark.parametrize("name", ["library", "references", "flashcards", "notes"])
def test_every_table_of_a_hand_written_schema_reads_through_its_historical_model(project, name):
    from real_world_schemas import SCHEMAS, build, register_functions

    project.path.parent.mkdir(parents=True)
    build(SCHEMAS[name], project.path)
    counts_before = {table: project.rows(f'SELECT count(*) FROM "{table}"')[0][0] for (table,) in project.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    project.add("001_read.py", "20240601_090000_read", f'''
counts = {counts_before!r}
for table, count in counts.items():
    model = schema.model(table.upper())
    assert model._meta.table_name == table, (table, model._meta.table_name)
    assert model.select().count() == count, (table, count)
assert schema.models(*counts) and len(schema.models(*counts)) == len(counts)
''')
    project.launch(on_connect=lambda db: register_functions(db.connection()))
    assert project.applied() == ["20240601_090000_read"]


def test_bulk_operations_on_a_library_fire_its_triggers_and_a_parent_deleted_before_its_children_is_refused(project):
    from real_world_schemas import SCHEMAS, build, register_functions

    project.path.parent.mkdir(parents=True)
    build(SCHEMAS["library"], project.path)
    functions = {"on_connect": lambda db: register_functions(db.connection())}
    before = project.dump()
    # Foreign keys are off inside the batch, so ON DELETE CASCADE cannot fire: the check before COMMIT refuses orphans.
    project.add("001_drop_book.py", "20240601_090000_drop_book", 'schema.bulk_delete("books", {"id": 7})')
    with pytest.raises(MigrationError, match="foreign key"):
        project.launch(**functions)
    assert project.dump() == before
    project.add("001_drop_book.py", "20240601_090000_drop_book", '''
Books = schema.model("books")
assert schema.bulk_insert("books", [{"title": "The Late Addition", "path": "x"}]) == 1
assert schema.bulk_update("books", {"title": "A Changed Title"}, {"id": 8}) == 1
assert [book.sort for book in Books.select().where(Books.id == 8)] == ["Changed Title, A"]
assert schema.bulk_delete("books_authors_link", {"book": 7}) >= 1
assert schema.bulk_delete("comments", {"book": 7}) == 0
assert schema.bulk_delete("books", {"id": 7}) == 1
assert [str(book.last_modified) for book in Books.select().where(Books.id == 9)] == ["2000-01-01 00:00:00+00:00"]
''')
    project.launch(**functions)
    assert project.rows("SELECT sort FROM books WHERE title = 'The Late Addition'") == [("Late Addition, The",)]
    assert project.rows("SELECT count(*) FROM books WHERE id = 7") == [(0,)]


def test_a_model_after_a_savepoint_rolled_back_and_another_change_sees_that_change(project):
    with_notes(project)
    project.add("002_savepoint.py", "20240602_090000_savepoint", '''
schema.model("note")
with schema.db.atomic() as savepoint:
    schema.db.execute_sql("ALTER TABLE note ADD COLUMN colour TEXT")
    assert "colour" in schema.model("note")._meta.fields
    savepoint.rollback()
schema.db.execute_sql("ALTER TABLE note ADD COLUMN size INTEGER")  # schema_version is back where colour took it
fields = schema.model("note")._meta.fields
assert "size" in fields and "colour" not in fields, sorted(fields)
''')
    project.launch()


def test_a_dry_run_of_a_data_migration_shows_its_writes_and_no_reads(project):
    with_notes(project)
    project.launch()
    project.add("002_fill.py", "20240602_090000_fill", '''
Note = schema.model("note")
schema.bulk_insert("note", [{"body": "a"}])
schema.bulk_update("note", {"body": "b"}, Note.body == "a")
schema.bulk_delete("note", {"body": "c"})
''')
    (step,) = project.database().preview()
    statements = step.statements
    assert [statement.split()[0] for statement in statements] == ["INSERT", "UPDATE", "DELETE"], statements
