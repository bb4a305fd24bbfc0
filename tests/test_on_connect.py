"""Database(on_connect=...): the app's SQL functions work wherever app_db opens a database, so previews and check behave like the launch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import peewee
import pytest

from app_db import ConfigurationError, Database, DatabaseCorruptError, MigrationError
from app_db.testing import assert_models_match, assert_reversible

from conftest import REPO, migration_source

# A long-lived app's hand-written schema: a trigger and a view call slugify(),
# which the app registers on every connection.
INITIAL = '''
schema.sql("""CREATE TABLE note (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    slug TEXT
)""")
schema.sql("""CREATE TRIGGER note_slug AFTER INSERT ON note BEGIN
    UPDATE note SET slug = slugify(new.title) WHERE id = new.id;
END""")
schema.sql("CREATE VIEW note_slugs AS SELECT id, slugify(title) AS slug FROM note")
'''
DOWN_INITIAL = 'schema.sql("DROP VIEW note_slugs")\nschema.sql("DROP TABLE note")'
DATA = '''
schema.sql("INSERT INTO note (title) VALUES ('Hello World')")
schema.sql("WITH t(title) AS (VALUES ('Second Note')) INSERT INTO note (title) SELECT title FROM t")
schema.sql("UPDATE note SET slug = slugify(title || ' again') WHERE id = 1")
schema.db.execute_sql("SELECT count(*) FROM note_slugs").fetchone()
'''
DOWN_DATA = 'schema.sql("DELETE FROM note")'


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")


class Note(peewee.Model):
    title = peewee.TextField(default="")
    slug = peewee.TextField(null=True)

    class Meta:
        table_name = "note"


@pytest.fixture
def app(project):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL, DOWN_INITIAL)
    project.add("002_data.py", "20240602_090000_data", DATA, DOWN_DATA)
    return project


def registering(opened):
    def register_functions(db):
        opened.append(db)
        db.register_function(slugify, "slugify", 1)

    return register_functions


def test_a_launch_runs_migrations_whose_triggers_and_views_call_the_apps_functions(app):
    opened = []

    report = app.database(on_connect=registering(opened)).register_models([Note])

    assert report.applied == ["20240601_090000_initial", "20240602_090000_data"]
    assert app.rows("SELECT title, slug FROM note ORDER BY id") == [("Hello World", "hello-world-again"), ("Second Note", "second-note")]
    assert len(opened) == 1


def test_without_on_connect_the_same_launch_fails_and_changes_nothing(app):
    with pytest.raises(MigrationError, match="no such function: slugify"):
        app.database().register_models([Note])
    assert app.applied() == []


def test_a_dry_run_behaves_like_the_launch_and_shows_every_statement_that_writes(app):
    app.launch(on_connect=registering([]), migrations=[])  # the file exists, nothing applied
    before = app.dump()
    database = app.database(on_connect=registering([]))

    steps = database.preview()

    shown = [(step.id, [" ".join(statement.split()) for statement in step.statements]) for step in steps]
    assert shown == [
        ("20240601_090000_initial", [
            "CREATE TABLE note ( id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', slug TEXT )",
            "CREATE TRIGGER note_slug AFTER INSERT ON note BEGIN UPDATE note SET slug = slugify(new.title) WHERE id = new.id; END",
            "CREATE VIEW note_slugs AS SELECT id, slugify(title) AS slug FROM note",
        ]),
        ("20240602_090000_data", [
            "INSERT INTO note (title) VALUES ('Hello World')",
            "WITH t(title) AS (VALUES ('Second Note')) INSERT INTO note (title) SELECT title FROM t",
            "UPDATE note SET slug = slugify(title || ' again') WHERE id = 1",
        ]),
    ]
    assert app.dump() == before


def test_on_connect_gets_every_database_app_db_opens_for_the_app(app, migration_tester):
    opened = []
    database = app.database(on_connect=registering(opened), models=[Note])
    database.register_models()
    database.close()

    def names():
        seen = [db.database for db in opened]
        opened.clear()
        return seen

    assert names() == [str(app.path)]
    database.configured(read_only=True).status()
    assert names() == [app.path.as_uri() + "?mode=ro"]  # a read-only look
    database.preview_rollback()
    assert names() == [str(app.path), ":memory:"]  # the file, then the copy the dry run works on
    assert_reversible(database)
    assert len(names()) == 1  # the scratch file
    assert_models_match(database)
    assert names() == [":memory:"]
    tester = migration_tester(database)
    tester.migrate_to()
    assert names() == [str(tester.path)]
    assert tester.rows("SELECT slug FROM note_slugs ORDER BY id") == [("hello-world",), ("second-note",)]


def test_an_on_connect_that_fails_is_a_configuration_error_naming_the_file(app):
    def broken(db):
        raise OSError("libspellfix.so: cannot open shared object file")

    with pytest.raises(ConfigurationError) as caught:
        app.database(on_connect=broken).register_models([])

    assert str(app.path) in str(caught.value) and "libspellfix.so" in str(caught.value)
    assert app.applied() == []


def test_on_connect_must_be_callable():
    with pytest.raises(ConfigurationError, match="on_connect must be a callable"):
        Database("TestApp", on_connect="register_functions")


APP_MODULE = '''
import re
from pathlib import Path

import peewee

from app_db import Database

HERE = Path(__file__).resolve().parent


def register_functions(db):
    db.register_function(lambda text: re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-"), "slugify", 1)


class Note(peewee.Model):
    title = peewee.TextField(default="")
    slug = peewee.TextField(null=True)

    class Meta:
        table_name = "note"


database = Database("OnConnect", migrations=HERE / "migrations", path=HERE / "app.sqlite3", models=[Note],
                    on_connect=register_functions)
'''


@pytest.mark.parametrize("command, shown", [
    (["check"], "ok: 2 migrations valid"),
    (["migrate", "--dry-run"], "WITH t(title) AS (VALUES ('Second Note')) INSERT INTO note (title) SELECT title FROM t;"),
    (["migrate"], "Applied 2 migrations"),
])
def test_the_command_line_uses_on_connect_as_the_launch_does(tmp_path, command, shown):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_initial.py").write_text(migration_source("20240601_090000_initial", INITIAL, DOWN_INITIAL))
    (tmp_path / "migrations" / "002_data.py").write_text(migration_source("20240602_090000_data", DATA, DOWN_DATA))
    (tmp_path / "myapp.py").write_text(textwrap.dedent(APP_MODULE))
    env = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE")}
    env["PYTHONPATH"] = str(REPO)

    result = subprocess.run([sys.executable, "-m", "app_db", "--database", "myapp:database", *command],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert shown in result.stdout


def test_an_on_connect_that_reads_a_file_that_is_not_sqlite_gets_the_corrupt_error(app):
    app.path.parent.mkdir()
    app.path.write_bytes(b"not a database" * 100)

    def reading(db):
        db.execute_sql("SELECT count(*) FROM sqlite_master")

    with pytest.raises(DatabaseCorruptError, match="is not a SQLite database"):
        app.database(on_connect=reading).configured(read_only=True).status()
    assert app.path.read_bytes() == b"not a database" * 100


def test_a_dry_run_shows_the_statements_sqlite_reports_as_writing_whatever_they_begin_with(project):
    project.add("001_mixed.py", "20240601_090000_mixed", '''
        schema.sql("CREATE TABLE t (x)")
        schema.db.execute_sql("SELECT * FROM t").fetchall()
        with schema.db.atomic():
            schema.sql("INSERT INTO t VALUES (1)")
        schema.sql("-- seed the defaults\\nWITH v(x) AS (VALUES (2)) INSERT INTO t SELECT x FROM v")
        schema.sql("PRAGMA legacy_alter_table = ON")
        schema.sql("PRAGMA legacy_alter_table = OFF")
        schema.sql("PRAGMA user_version = 3")
        schema.sql("REPLACE INTO t VALUES (4)")
        schema.sql("VALUES (5)")
    ''')

    statements = [statement for step in project.database().configured(read_only=True).preview() for statement in step.statements]

    assert [" ".join(statement.split()) for statement in statements] == [
        "CREATE TABLE t (x)",
        "INSERT INTO t VALUES (1)",
        "-- seed the defaults WITH v(x) AS (VALUES (2)) INSERT INTO t SELECT x FROM v",
        "PRAGMA user_version = 3",
        "REPLACE INTO t VALUES (4)",
    ]
    assert not project.path.exists()  # a read-only dry run of a new install creates no file
