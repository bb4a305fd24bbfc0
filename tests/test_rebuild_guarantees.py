"""What every rebuild operation promises besides its change: an error rather than a no-op, all or nothing, open apps."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from app_db import MigrationError, SchemaOperationError

BOOKS = """
    create table books ( id integer primary key autoincrement,
        title text not null,   -- lowercase, as typed years ago
        subtitle text,
        shelf text not null default 'unsorted' collate nocase
    );
    create table book_log (book_id integer, event text);
    create trigger books_ai after insert on books begin insert into book_log values (new.id, 'insert'); end;
    create trigger books_au after update on books begin insert into book_log values (new.id, 'update'); end;
    create trigger books_ad after delete on books begin insert into book_log values (old.id, 'delete'); end;
    create trigger books_bu before update of title on books begin select 1; end;
    create table settings (name text not null primary key, value text) without rowid;
    create virtual table books_fts using fts5(title, content='books', content_rowid='id');
    with recursive n(i) as (select 1 union all select i + 1 from n where i < 500)
        insert into books (title, subtitle) select 'Book ' || i, 'Part ' || i from n;
    delete from books where id > 480;
"""


@pytest.fixture
def books(project):
    project.path.parent.mkdir(parents=True)
    connection = project.connect()
    connection.executescript(BOOKS)
    connection.close()
    return project


@pytest.mark.parametrize("call, says", [
    ('schema.drop_not_null("Books", "Subtitle")', "would change nothing: column books.subtitle has no NOT NULL"),
    ('schema.add_not_null("BOOKS", "TITLE")', "would change nothing: column books.title is already NOT NULL"),
    ('schema.add_not_null("books", "ID")', "books.id is the table's rowid (INTEGER PRIMARY KEY), which is never NULL"),
    ('schema.drop_not_null("Settings", "name")', "is part of the PRIMARY KEY of a WITHOUT ROWID table"),
    ('schema.drop_not_null("books", "titel")', "table 'books' has no column 'titel' (its columns: id, title, subtitle, shelf)"),
    ('schema.add_not_null("bookz", "title")', "there is no table 'bookz'"),
    ('schema.drop_column_default("books", "subtitle")', "books.subtitle has no DEFAULT to drop"),
    ('schema.rename_column("Books", "TITLE", "title")', "books.title is already called 'title'"),
    ('schema.add_column_default("books", "Shelf", "unsorted")', "books.shelf already has DEFAULT 'unsorted'"),
    ('schema.add_column_default("books", "shelf", list)', "the default must be a value or peewee.SQL"),
    ('schema.alter_column_type("books", "Title", peewee.TextField())', "already has type TEXT and this nullability"),
    ('schema.alter_column_type("books", "shelf", schema.foreign_key("settings"))', "it cannot add a foreign key"),
    ('schema.alter_column_type("books_fts", "title", peewee.CharField())',
     "cannot read the CREATE TABLE statement of virtual table (FTS, R*Tree...), whose columns SQLite cannot alter "
     "'books_fts': 'VIRTUAL'"),
])
def test_an_operation_that_cannot_or_would_not_change_anything_fails_the_launch_and_records_nothing(books, call, says):
    books.add("001_first.py", "20240601_090000_first", 'schema.sql("CREATE TABLE first (x)")')
    books.add("002_change.py", "20240602_090000_change", call)
    before = books.dump()
    with pytest.raises(MigrationError) as raised:
        books.database(env="development").register_models([])
    assert says in str(raised.value)
    assert "20240602_090000_change" in str(raised.value) and "Nothing was changed" in str(raised.value)
    assert isinstance(raised.value.__cause__, SchemaOperationError)
    assert "NoneType" not in str(raised.value) and "__tmp__" not in str(raised.value)
    assert books.dump() == before
    assert books.applied() == []


def test_a_definition_sqlite_refuses_is_the_migrations_failure_not_a_damaged_file(project):
    project.add("001_first.py", "20240601_090000_first",
                'schema.sql("CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL)")')
    project.launch()
    before = project.dump()
    project.add("002_default.py", "20240602_090000_default", 'schema.add_column_default("g", "b", 5)')
    with pytest.raises(MigrationError) as raised:
        project.launch()
    assert "20240602_090000_default" in str(raised.value)
    assert "cannot use DEFAULT on a generated column" in str(raised.value)
    assert isinstance(raised.value.__cause__, SchemaOperationError)
    assert project.dump() == before
    assert project.rows("PRAGMA integrity_check") == [("ok",)]


def test_the_advice_to_fill_nulls_first_quotes_names_that_need_it(project):
    project.add("001_first.py", "20240601_090000_first", 'schema.sql(\'CREATE TABLE "My Items" ("Memo Text" TEXT)\')')
    project.add("002_fill.py", "20240602_090000_fill", 'schema.sql(\'INSERT INTO "My Items" VALUES (NULL)\')')
    project.launch()
    project.add("003_require.py", "20240603_090000_require", 'schema.add_not_null("my items", "memo text")')
    with pytest.raises(MigrationError) as raised:
        project.launch()
    assert """schema.sql('UPDATE "My Items" SET "Memo Text" = ... WHERE "Memo Text" IS NULL')""" in str(raised.value)


def test_drop_not_null_named_in_another_case_keeps_triggers_and_the_sequence(books):
    books.add("001_loosen.py", "20240601_090000_loosen", 'schema.drop_not_null("Books", "TITLE")')
    triggers = books.rows("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")

    books.database(env="development").register_models([])

    assert books.rows("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name") == triggers
    assert books.rows("SELECT seq FROM sqlite_sequence WHERE name = 'books'") == [(500,)]
    connection = books.connect()
    new_id = connection.execute("INSERT INTO books (title) VALUES (NULL)").lastrowid
    connection.commit()
    connection.close()
    assert new_id == 501  # ids of deleted rows never come back
    assert books.rows("SELECT event FROM book_log WHERE book_id = 501") == [("insert",)]
    assert books.rows("SELECT sql FROM sqlite_master WHERE name = 'books'")[0][0].count("not null") == 1  # shelf's


def test_an_in_place_change_is_undone_when_a_later_migration_of_the_batch_fails(books):
    books.add("001_loosen.py", "20240601_090000_loosen", 'schema.drop_not_null("books", "title")')
    books.add("002_tighten.py", "20240602_090000_tighten", 'schema.add_not_null("books", "subtitle")')
    books.add("003_broken.py", "20240603_090000_broken", 'raise RuntimeError("broken on purpose")')
    before = books.dump()
    with pytest.raises(MigrationError, match="broken on purpose"):
        books.database(env="development").register_models([])
    assert books.dump() == before
    connection = books.connect()
    try:
        with pytest.raises(Exception, match="NOT NULL constraint failed: books.title"):
            connection.execute("INSERT INTO books (title) VALUES (NULL)")
        connection.execute("INSERT INTO books (title, subtitle) VALUES ('fine', NULL)")
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()


def test_an_app_holding_the_file_open_sees_the_new_constraint_at_once(books, tmp_path):
    """A second process keeps the file open in WAL (an app window), then writes after the migration committed."""
    books.database(env="development").register_models([])  # WAL, tracking table
    ready, go = tmp_path / "ready", tmp_path / "go"
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, sqlite3, time
        connection = sqlite3.connect({str(books.path)!r}, isolation_level=None)
        connection.execute("SELECT count(*) FROM books").fetchone()  # schema read and cached
        pathlib.Path({str(ready)!r}).touch()
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.01)
        connection.execute("INSERT INTO books (title) VALUES (NULL)")
        print(connection.execute("SELECT count(*) FROM books WHERE title IS NULL").fetchone()[0])
    """)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline and app.poll() is None:
            time.sleep(0.01)
        books.add("001_loosen.py", "20240601_090000_loosen", 'schema.drop_not_null("books", "title")')
        assert books.database(env="development").register_models([]).applied == ["20240601_090000_loosen"]
        go.touch()
        out, err = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
    assert app.returncode == 0, err
    assert out.strip() == "1"
    assert books.rows("PRAGMA integrity_check") == [("ok",)]


@pytest.mark.parametrize("field, definition", [
    ("peewee.CharField(max_length=40)", "shelf VARCHAR(40) not null default 'unsorted' collate nocase"),
    ("peewee.CharField(max_length=40, null=True)", "shelf VARCHAR(40) default 'unsorted' collate nocase"),
    ("peewee.TextField(collation='RTRIM', default='ignored')", "shelf text not null default 'unsorted' COLLATE RTRIM"),
])
def test_alter_column_type_changes_the_type_and_only_what_the_field_says(books, field, definition):
    books.add("001_retype.py", "20240601_090000_retype", f'schema.alter_column_type("BOOKS", "Shelf", {field})')
    rows = books.rows("SELECT rowid, * FROM books ORDER BY rowid")
    sql = books.rows("SELECT sql FROM sqlite_master WHERE name = 'books'")[0][0]

    books.database(env="development").register_models([])

    old = "shelf text not null default 'unsorted' collate nocase"
    assert books.rows("SELECT sql FROM sqlite_master WHERE name = 'books'")[0][0] == sql.replace(old, definition)
    assert books.rows("SELECT rowid, * FROM books ORDER BY rowid") == rows
    assert books.rows("SELECT seq FROM sqlite_sequence WHERE name = 'books'") == [(500,)]
    assert len(books.rows("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'books'")) == 4


def test_defaults_change_in_place_and_only_for_rows_inserted_afterwards(books):
    books.add("001_defaults.py", "20240601_090000_defaults", '''
        schema.add_column_default("Books", "SUBTITLE", "none, yet")
        schema.add_column_default("books", "shelf", peewee.SQL("lower('Inbox')"))
    ''')
    rows = books.rows("SELECT rowid, * FROM books ORDER BY rowid")
    sql = books.rows("SELECT sql FROM sqlite_master WHERE name = 'books'")[0][0]

    books.database(env="development").register_models([])

    assert books.rows("SELECT sql FROM sqlite_master WHERE name = 'books'")[0][0] == sql.replace(
        "subtitle text,", "subtitle text DEFAULT 'none, yet',").replace(
        "default 'unsorted'", "DEFAULT (lower('Inbox'))")
    assert books.rows("SELECT rowid, * FROM books ORDER BY rowid") == rows
    connection = books.connect()
    connection.execute("INSERT INTO books (title) VALUES ('new')")
    connection.commit()
    connection.close()
    assert books.rows("SELECT subtitle, shelf FROM books WHERE title = 'new'") == [("none, yet", "inbox")]


def notes_file(folder):
    from real_world_schemas import SCHEMAS, build

    folder.mkdir(parents=True, exist_ok=True)
    return build(SCHEMAS["notes"], folder / "app.sqlite3")


def contents(path):
    from real_world_schemas import register_functions

    connection = sqlite3.connect(path)
    register_functions(connection)
    try:
        connection.execute("INSERT INTO notes_fts(notes_fts) VALUES ('integrity-check')")
        return {
            "notes": connection.execute("SELECT rowid, id, title, body, source_url FROM notes ORDER BY rowid").fetchall(),
            "columns": connection.execute("PRAGMA table_xinfo(notes)").fetchall(),
            "objects": connection.execute("SELECT type, name, sql FROM sqlite_master WHERE name <> 'notes' "
                                          "AND name NOT LIKE '%app_db%' ORDER BY name").fetchall(),
            "found": connection.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'elevens' ORDER BY rowid").fetchall(),
            "integrity": connection.execute("PRAGMA integrity_check").fetchall(),
        }
    finally:
        connection.close()


def drop_author(path, native):
    from app_db import Database, Migration, Schema

    class DropAuthor(Migration):
        id = "20240601_090000_drop_author"

        def up(self, schema):
            schema.drop_column("Notes", "AUTHOR")

    previous = Schema.native_drop_column
    Schema.native_drop_column = native
    try:
        Database("NotesApp", path=path, migrations=[DropAuthor()], env="development").migrate()
    finally:
        Schema.native_drop_column = previous


def test_drop_column_before_sqlite_3_35_rebuilds_to_what_alter_table_drop_column_gives(tmp_path):
    native, rebuilt = notes_file(tmp_path / "native"), notes_file(tmp_path / "rebuilt")
    before = contents(rebuilt)
    root = "SELECT rootpage FROM sqlite_master WHERE name = 'notes'"
    roots = [sqlite3.connect(path).execute(root).fetchone() for path in (native, rebuilt)]
    drop_author(native, native=True)
    drop_author(rebuilt, native=False)
    after = contents(rebuilt)
    assert sqlite3.connect(native).execute(root).fetchone() == roots[0]  # ALTER TABLE rewrote the rows in place
    assert sqlite3.connect(rebuilt).execute(root).fetchone() != roots[1]  # the rows were copied to a new table
    assert after == contents(native)
    assert after["notes"] == before["notes"] and after["found"] == before["found"] and after["objects"] == before["objects"]
    assert "author" not in {row[1] for row in after["columns"]}
    sql = sqlite3.connect(rebuilt).execute("SELECT sql FROM sqlite_master WHERE name = 'notes'").fetchone()[0]
    assert "-- 1 = Markdown, 2 = HTML" in sql and '"user data" TEXT NOT NULL DEFAULT' in sql


@pytest.mark.parametrize("column, user", [("title", "index notes_title"), ("is_conflict", "table notes's own definition")])
def test_drop_column_before_sqlite_3_35_refuses_a_column_something_uses(tmp_path, monkeypatch, column, user):
    from app_db import Database, Migration, Schema

    path = notes_file(tmp_path)
    monkeypatch.setattr(Schema, "native_drop_column", False)

    class Drop(Migration):
        id = "20240601_090000_drop"

        def up(self, schema):
            schema.drop_column("notes", column)

    with pytest.raises(MigrationError) as raised:
        Database("NotesApp", path=path, migrations=[Drop()], env="development").migrate()
    assert user in str(raised.value) and "drop or change those first" in str(raised.value)


def test_a_process_killed_after_an_in_place_change_leaves_the_file_as_it_was(books, tmp_path):
    """SIGKILL (a power cut, as far as the file can tell) between the schema rewrite and COMMIT."""
    import signal

    written = tmp_path / "rewritten"
    books.add("001_loosen.py", "20240601_090000_loosen", f'''
        schema.drop_not_null("books", "title")
        schema.add_not_null("books", "subtitle")
        open({str(written)!r}, "w").close()
        import time
        time.sleep(60)
    ''')
    before = books.dump()
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        from app_db import Database
        Database("TestApp", migrations={str(books.migrations)!r}, path={str(books.path)!r}, env="development").migrate()
    """)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not written.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert written.exists(), child.stderr.read() if child.poll() is not None else "timed out"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert books.dump() == before
    assert books.rows("PRAGMA integrity_check") == [("ok",)]
    connection = books.connect()
    try:
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: books.title"):
            connection.execute("INSERT INTO books (title) VALUES (NULL)")
    finally:
        connection.close()
    books.add("001_loosen.py", "20240601_090000_loosen", 'schema.drop_not_null("books", "title")')
    assert books.database(env="development").migrate().applied == ["20240601_090000_loosen"]


def test_alter_column_type_keeps_default_collate_references_and_check(project):
    """Issue 10, item 5: the old rebuild replaced the whole column, so the app's rules silently went away."""
    project.path.parent.mkdir(parents=True)
    connection = project.connect()
    connection.executescript("""
        CREATE TABLE genre (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE shelf (
            id INTEGER PRIMARY KEY,
            genre_id INT REFERENCES genre(id) ON DELETE CASCADE,
            label VARCHAR(20) NOT NULL DEFAULT 'Unsorted' COLLATE NOCASE UNIQUE CHECK (length(label) > 2),
            size SMALLINT DEFAULT 10
        );
        INSERT INTO genre (id, name) VALUES (1, 'novels'), (2, 'poems');
        INSERT INTO shelf (genre_id, label) VALUES (1, 'Fiction'), (2, 'Verse');
    """)
    connection.close()
    project.add("001_retype.py", "20240601_090000_retype", '''
        schema.alter_column_type("shelf", "label", peewee.TextField())
        schema.alter_column_type("shelf", "genre_id", peewee.BigIntegerField(null=True))
        schema.alter_column_type("shelf", "size", peewee.IntegerField(null=True))
    ''')
    project.database(env="development").register_models([])
    connection = project.connect()
    connection.execute("PRAGMA foreign_keys = ON")
    try:
        connection.execute("INSERT INTO shelf (genre_id) VALUES (2)")  # the DEFAULT fills label
        assert connection.execute("SELECT label, size FROM shelf WHERE id = 3").fetchone() == ("Unsorted", 10)
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            connection.execute("INSERT INTO shelf (label) VALUES ('fiction')")  # COLLATE NOCASE + UNIQUE kept
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute("INSERT INTO shelf (label) VALUES ('ab')")
        connection.execute("DELETE FROM genre WHERE id = 2")  # REFERENCES ... ON DELETE CASCADE kept
        assert connection.execute("SELECT label FROM shelf ORDER BY id").fetchall() == [("Fiction",)]
        types = {row[1]: row[2] for row in connection.execute("PRAGMA table_info(shelf)")}
        assert types == {"id": "INTEGER", "genre_id": "INTEGER", "label": "TEXT", "size": "INTEGER"}
    finally:
        connection.close()


def test_an_infinite_default_is_stored_as_sqlites_infinity_not_as_text(project):
    project.add("001_first.py", "20240601_090000_first", 'schema.sql("CREATE TABLE kv (v REAL)")')
    project.add("002_default.py", "20240602_090000_default", 'schema.add_column_default("kv", "v", float("inf"))')
    project.launch()
    connection = project.connect()
    connection.execute("INSERT INTO kv DEFAULT VALUES")
    assert connection.execute("SELECT v, typeof(v) FROM kv").fetchall() == [(float("inf"), "real")]
    connection.close()
