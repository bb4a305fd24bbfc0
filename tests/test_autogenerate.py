"""makemigration and schema: change a model, generate, apply; the drift check is then clean and the file reversible."""

from __future__ import annotations

import datetime
import re

import peewee
import pytest

from app_db import ConfigurationError
from app_db.autogenerate import load_models, make_migration, schema_sql
from app_db.testing import assert_models_match, assert_reversible

CREATE_NOTE = """
schema.create_table("note", {
    "id": peewee.AutoField(),
    "body": peewee.TextField(),
    "rank": peewee.IntegerField(null=True),
})
"""


def note_model(**columns):
    """A fresh Note model: the initial columns, plus/minus ``columns`` (name -> field, or None to drop)."""
    fields = {"body": peewee.TextField(), "rank": peewee.IntegerField(null=True)}
    fields.update(columns)
    attrs = {name: value for name, value in fields.items() if value is not None}
    meta_options = {"table_name": "note"}
    if "indexes" in attrs:
        meta_options["indexes"] = attrs.pop("indexes")
    attrs["Meta"] = type("Meta", (), meta_options)
    attrs["__module__"] = __name__
    return type("Note", (peewee.Model,), attrs)


def generate(project, models, description="change the notes", **options):
    """makemigration, then the two guarantees of the round trip; returns the file's text."""
    path = make_migration(project.database(models=models), description, **options)
    assert path is not None, "a change was expected"
    assert_models_match(project.database(), models)
    assert_reversible(project.database())
    return path.read_text()


@pytest.fixture
def notes(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE, 'schema.drop_table("note")')
    return project


def test_models_that_match_the_migrations_write_nothing(notes):
    assert make_migration(notes.database(models=[note_model()]), "nothing") is None
    assert sorted(path.name for path in notes.migrations.glob("*.py")) == ["001_initial.py"]


def test_the_users_database_file_is_never_opened(notes):
    make_migration(notes.database(models=[note_model(title=peewee.CharField(default=""))]), "add title")
    assert not notes.path.exists()


def test_generated_file_has_the_next_number_a_utc_id_one_class_and_no_model_import(notes):
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    path = make_migration(notes.database(models=[note_model(title=peewee.CharField(default=""))]), "Add note titles")
    text = path.read_text()
    assert path.name == "002_add_note_titles.py"
    migration_id = re.search(r'^    id = "(\d{8}_\d{6})_add_note_titles"$', text, re.M).group(1)
    assert datetime.datetime.strptime(migration_id, "%Y%m%d_%H%M%S") >= before
    assert '    name = "Add note titles"' in text
    assert text.count("(Migration):") == 1 and "class AddNoteTitles(Migration):" in text
    assert "from app_db import Migration" in text and __name__ not in text
    assert 'schema.add_column("note", "title", peewee.CharField(default=""))' in text
    assert 'schema.drop_column("note", "title")' in text
    compile(text, str(path), "exec")


def test_each_new_file_takes_the_next_number_and_leaves_the_others_alone(notes):
    first = make_migration(notes.database(models=[note_model(title=peewee.CharField(default=""))]), "add title")
    first_text = first.read_text()
    notes.add("003_by_hand.py", "20990101_000000_by_hand", 'schema.sql("CREATE TABLE scratch (x)")',
              'schema.sql("DROP TABLE scratch")')
    second = make_migration(
        notes.database(models=[note_model(title=peewee.CharField(default=""), pinned=peewee.BooleanField(default=False))]),
        "add title",
    )
    assert (first.name, second.name) == ("002_add_title.py", "004_add_title.py")
    assert first.read_text() == first_text
    # ids decide the order: the new one comes after the hand-written one, whatever the clock says
    assert re.search(r'id = "20990101_000001_add_title"', second.read_text())


def test_new_columns_of_every_kind_round_trip(notes):
    class Author(peewee.Model):
        name = peewee.CharField()

        class Meta:
            table_name = "author"

    note = note_model(
        title=peewee.CharField(max_length=120, default=""),
        pinned=peewee.BooleanField(default=False),
        created_at=peewee.DateTimeField(default=datetime.datetime.now),
        color=peewee.CharField(null=True, index=True),
        slug=peewee.CharField(null=True, unique=True),
        words=peewee.IntegerField(),  # NOT NULL, no default
        author=peewee.ForeignKeyField(Author, null=True, on_delete="SET NULL"),
    )
    text = generate(notes, [Author, note], "add note details")
    assert "import datetime" in text and "default=datetime.datetime.now" in text
    assert 'schema.add_column("note", "author_id", schema.foreign_key("author", null=True, on_delete="SET NULL"))' in text
    assert "# REVIEW: note.words is NOT NULL without a default: existing rows get 0" in text
    assert text.index('schema.create_table("author"') < text.index('"author_id"')


def test_new_columns_fill_the_rows_that_exist(notes):
    notes.database().migrate()
    notes.rows("SELECT 1")
    connection = notes.connect()
    connection.execute("INSERT INTO note (body) VALUES ('old')")
    connection.commit()
    connection.close()
    make_migration(notes.database(models=[note_model(words=peewee.IntegerField(), title=peewee.CharField(default="?"))]), "x")
    notes.database().migrate()
    assert notes.rows("SELECT body, words, title FROM note") == [("old", 0, "?")]


def test_a_new_model_becomes_create_table_with_its_indexes_and_foreign_keys(notes):
    note_table = note_model()

    class Tag(peewee.Model):
        name = peewee.CharField(unique=True)
        note = peewee.ForeignKeyField(note_table, on_delete="CASCADE")
        weight = peewee.FloatField(default=1.0)

        class Meta:
            table_name = "tag"
            indexes = ((("name", "weight"), False),)

    text = generate(notes, [note_table, Tag], "add tags")
    assert '"note_id": schema.foreign_key("note", on_delete="CASCADE"),' in text
    assert 'schema.add_index("tag", ["name", "weight"])' in text
    assert '    def down(self, schema):\n        schema.drop_table("tag")' in text


def test_dropped_columns_and_tables_round_trip_with_a_review_comment(notes):
    notes.add("002_log.py", "20240602_090000_log",
              'schema.create_table("log", {"id": peewee.AutoField(), "line": peewee.TextField(default="-")})\n'
              'schema.add_index("log", ["line"], name="log_by_line")',
              'schema.drop_table("log")')
    text = generate(notes, [note_model(body=None)], "drop log and bodies")
    assert 'schema.drop_table("log")' in text and 'schema.drop_column("note", "body")' in text
    assert "# REVIEW: note.body is not in the models any more" in text
    assert 'schema.add_index("log", ["line"], name="log_by_line")' in text  # down() restores it by name


def test_type_and_null_changes_round_trip(notes):
    text = generate(notes, [note_model(body=peewee.TextField(null=True), rank=peewee.CharField(default="0"))], "loosen")
    assert 'schema.drop_not_null("note", "body")' in text
    assert 'schema.alter_column_type("note", "rank", peewee.CharField(default="0"))' in text
    assert 'schema.alter_column_type("note", "rank", peewee.IntegerField(null=True))' in text


def test_a_column_made_not_null_gets_its_nulls_filled_from_the_default_first(notes):
    notes.add("002_title.py", "20240602_090000_title", 'schema.add_column("note", "title", peewee.CharField(null=True))',
              'schema.drop_column("note", "title")')
    notes.database().migrate()
    connection = notes.connect()
    connection.execute("INSERT INTO note (body, title) VALUES ('b', NULL)")
    connection.commit()
    connection.close()
    text = generate(notes, [note_model(title=peewee.CharField(default="untitled"))], "require titles")
    assert "schema.sql(\"UPDATE note SET title = 'untitled' WHERE title IS NULL\")" in text
    notes.database().migrate()
    assert notes.rows("SELECT title FROM note") == [("untitled",)]


def test_index_and_unique_changes_round_trip(notes):
    notes.add("002_index.py", "20240602_090000_index", 'schema.add_index("note", ["rank"])', 'schema.drop_index("note", "note_rank")')
    text = generate(notes, [note_model(body=peewee.TextField(unique=True), indexes=((("rank", "body"), False),))], "indexes")
    assert 'schema.drop_index("note", "note_rank")' in text
    assert 'schema.add_index("note", ["body"], unique=True)' in text
    assert 'schema.add_index("note", ["rank", "body"])' in text


def test_a_rename_looking_column_is_renamed_with_a_review_comment_when_no_one_is_asked(notes):
    notes.database().migrate()
    connection = notes.connect()
    connection.execute("INSERT INTO note (body) VALUES ('kept')")
    connection.commit()
    connection.close()
    text = generate(notes, [note_model(body=None, content=peewee.TextField())], "rename body")
    assert 'schema.rename_column("note", "body", "content")' in text
    assert "# REVIEW: note.body is gone from the models and note.content is new" in text
    notes.database().migrate()
    assert notes.rows("SELECT content FROM note") == [("kept",)]


def test_answering_no_to_the_rename_question_writes_a_drop_and_an_add(notes):
    questions = []
    text = generate(notes, [note_model(body=None, content=peewee.TextField(default=""))], "replace body",
                    ask=lambda question: questions.append(question) or False)
    assert questions == ["Was note.body renamed to note.content? (y: rename it, keeping its values; n: drop body, add content)"]
    assert "rename_column" not in text
    assert 'schema.drop_column("note", "body")' in text and 'schema.add_column("note", "content"' in text


def test_a_renamed_model_table_is_a_rename_table_when_the_answer_is_yes(notes):
    memo = note_model()
    memo._meta.table_name = "memo"
    text = generate(notes, [memo], "rename notes", ask=lambda question: True)
    assert 'schema.rename_table("note", "memo")' in text and "create_table" not in text


def test_a_changed_foreign_key_is_left_as_a_todo_not_guessed(notes):
    class Author(peewee.Model):
        class Meta:
            table_name = "author"

    path = make_migration(notes.database(models=[note_model(rank=peewee.ForeignKeyField(Author, null=True, column_name="rank")), Author]), "fk")
    text = path.read_text()
    assert "# TODO: note.rank: its foreign key changes" in text


def test_models_are_required(notes):
    with pytest.raises(ConfigurationError, match=r"needs the app.s models.*Database\(\.\.\., models="):
        make_migration(notes.database(), "anything")


def test_a_file_that_appears_under_the_new_name_is_never_overwritten(notes, monkeypatch):
    from app_db import autogenerate

    monkeypatch.setattr(autogenerate, "next_file_name", lambda folder, slug: "001_initial.py")  # as if another run won the race
    before = (notes.migrations / "001_initial.py").read_bytes()
    with pytest.raises(ConfigurationError, match=r"001_initial\.py already exists; app-db never overwrites"):
        make_migration(notes.database(models=[note_model(title=peewee.CharField(default=""))]), "add title")
    assert (notes.migrations / "001_initial.py").read_bytes() == before


def test_models_can_be_named_by_a_module_and_attribute():
    from demo_app import models

    assert load_models("demo_app.models:MODELS") == models.MODELS
    assert set(load_models("demo_app.models")) == set(models.MODELS)
    with pytest.raises(ConfigurationError, match="no attribute"):
        load_models("demo_app.models:NOPE")


def test_schema_sql_is_stable_one_column_per_line_and_stops_at_the_given_id(notes):
    notes.add("002_title.py", "20240602_090000_title", 'schema.add_column("note", "title", peewee.CharField(null=True))')
    full = schema_sql(notes.database())
    assert full == schema_sql(notes.database())
    assert full.startswith("-- Schema after 20240602_090000_title\n")
    assert '    "title" VARCHAR(255)\n);' in full
    assert "app_db_migrations" not in full
    early = schema_sql(notes.database(), at="20240601_090000_initial")
    assert "title" not in early and early.startswith("-- Schema after 20240601_090000_initial\n")
    assert not notes.path.exists()


def test_a_bare_references_clause_matches_a_foreign_key_to_a_primary_key_not_named_id(project):
    # Hand-written DDL of a long-lived app: "REFERENCES folder" means folder's primary key, here folder_id.
    project.add("001_initial.py", "20240601_090000_initial",
                'schema.sql("CREATE TABLE folder (folder_id INTEGER NOT NULL PRIMARY KEY, Title TEXT NOT NULL)")\n'
                'schema.sql("CREATE TABLE note (id INTEGER NOT NULL PRIMARY KEY, folder_id INTEGER NOT NULL REFERENCES folder)")\n'
                'schema.sql("CREATE INDEX note_folder_id ON note (folder_id)")',
                'schema.drop_table("note")\nschema.drop_table("folder")')

    class Folder(peewee.Model):
        folder_id = peewee.AutoField()
        Title = peewee.TextField()

        class Meta:
            table_name = "folder"

    class Note(peewee.Model):
        folder = peewee.ForeignKeyField(Folder, column_name="folder_id")

        class Meta:
            table_name = "note"

    assert_models_match(project.database(), [Folder, Note])
    assert make_migration(project.database(models=[Folder, Note]), "nothing") is None


def test_the_test_helpers_do_not_import_the_migration_writer():
    from conftest import run_python

    result = run_python("import sys, app_db.testing; print('app_db.autogenerate' in sys.modules, 'app_db.cli' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_a_full_text_index_and_its_shadow_tables_are_not_taken_for_dropped_models(notes):
    notes.add("002_search.py", "20240602_090000_search",
              'schema.sql("CREATE VIRTUAL TABLE note_search USING fts5(body, content=\'note\', content_rowid=\'id\')")\n'
              'schema.sql("CREATE VIRTUAL TABLE old_search USING fts4(body)")',
              'schema.sql("DROP TABLE note_search")\nschema.sql("DROP TABLE old_search")')
    assert_models_match(notes.database(), [note_model()])
    assert make_migration(notes.database(models=[note_model()]), "nothing") is None


def test_a_down_that_leaves_a_full_text_index_behind_is_not_reversible(notes):
    notes.add("002_search.py", "20240602_090000_search", 'schema.sql("CREATE VIRTUAL TABLE note_search USING fts5(body)")',
              'schema.sql("SELECT 1")')
    with pytest.raises(AssertionError, match=r"\+virtual table note_search: CREATE VIRTUAL TABLE note_search USING fts5\(body\)"):
        assert_reversible(notes.database())
    text = schema_sql(notes.database())
    assert "CREATE VIRTUAL TABLE note_search USING fts5" in text and "note_search_data" not in text  # made by the CREATE
