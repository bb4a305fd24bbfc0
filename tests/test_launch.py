"""The launch: locate, connect, migrate in one transaction, create and bind model tables."""

from __future__ import annotations

import datetime
import hashlib
import sqlite3
import sys
import zipfile

import peewee
import pytest

from app_db import Database, Migration, MigrationDefinitionError

CREATE_NOTE = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'


class Note(peewee.Model):
    body = peewee.TextField()

    class Meta:
        table_name = "note"


class Setting(peewee.Model):
    key = peewee.CharField(unique=True)

    class Meta:
        table_name = "setting"


def test_fresh_launch_applies_every_migration_and_creates_model_tables(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.add("002_add_title.py", "20240602_090000_add_title",
                'schema.add_column("note", "title", peewee.CharField(default=""))')

    report = project.database().register_models([Note, Setting])

    assert report.applied == ["20240601_090000_initial", "20240602_090000_add_title"]
    assert report.backup is None  # a fresh install has nothing to lose
    assert report.path == project.path
    tables = {row[0] for row in project.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"note", "setting", "app_db_migrations"} <= tables
    assert project.applied() == report.applied


def test_models_are_bound_and_usable_right_after_launch(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([Note])
    Note.create(body="first note")
    assert project.rows("SELECT body FROM note") == [("first note",)]


def test_second_launch_applies_nothing(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([Note])
    report = project.database().register_models([Note])
    assert report.applied == []
    assert report.backup is None


def test_pending_migrations_run_in_id_order_not_file_order(project):
    project.add("001_b.py", "20240602_090000_b", 'schema.sql("INSERT INTO log VALUES (\'b\')")')
    project.add("002_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE log (step TEXT)")')
    report = project.database().register_models([])
    assert report.applied == ["20240601_090000_a", "20240602_090000_b"]
    assert project.rows("SELECT step FROM log") == [("b",)]


def test_only_new_migrations_run_on_upgrade(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([Note])
    project.add("002_add_title.py", "20240602_090000_add_title",
                'schema.add_column("note", "title", peewee.CharField(default=""))')
    report = project.database().register_models([Note])
    assert report.applied == ["20240602_090000_add_title"]


def test_on_progress_is_called_before_each_migration_with_index_and_total(project):
    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")', name="Create a")
    project.add("002_b.py", "20240602_090000_b", 'schema.sql("CREATE TABLE b (x)")', name="Create b")
    seen = []

    def progress(index, total, migration):
        tables = [row[0] for row in migration_db.execute_sql("SELECT name FROM sqlite_master WHERE type = ?", ("table",))]
        seen.append((index, total, migration.name, "b" in tables))

    database = project.database(on_progress=progress)
    migration_db = database.db
    database.register_models([])
    assert seen == [(1, 2, "Create a", False), (2, 2, "Create b", False)]


def test_tracking_table_records_name_file_checksum_time_and_duration(project):
    # up() takes at least 0.3 s, so a duration that is not the migration's own (0, or a constant) shows.
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE + "\ntime.sleep(0.3)", name="Initial schema",
                imports="import time")
    before = datetime.datetime.now(datetime.UTC)
    project.database().register_models([])
    after = datetime.datetime.now(datetime.UTC)
    [(migration_id, name, file, checksum, applied_at, duration)] = project.rows(
        "SELECT id, name, file, checksum, applied_at, duration FROM app_db_migrations"
    )
    assert (migration_id, name, file) == ("20240601_090000_initial", "Initial schema", "001_initial.py")
    source = (project.migrations / "001_initial.py").read_bytes()
    assert checksum == hashlib.sha256(source).hexdigest()
    assert before <= datetime.datetime.fromisoformat(applied_at) <= after  # a UTC time, taken during the launch
    assert duration >= 0.3


def test_connection_uses_desktop_pragmas(project):
    database = project.database()
    database.register_models([])
    connection = database.db.connection()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 3000


def test_migrations_found_in_a_package_by_dotted_name(tmp_path, monkeypatch):
    from conftest import migration_source

    package = tmp_path / "src" / "notesapp" / "migrations"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "001_initial.py").write_text(migration_source("20240601_090000_initial", CREATE_NOTE))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    database = Database("TestApp", migrations="notesapp.migrations", path=tmp_path / "app.sqlite3")
    assert database.register_models([Note]).applied == ["20240601_090000_initial"]


def test_migrations_found_in_a_zipped_package(tmp_path, monkeypatch):
    """A zipped or frozen app ships its migrations inside an archive on sys.path."""
    from conftest import migration_source

    archive = tmp_path / "app.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipapp/__init__.py", "")
        zipped.writestr("zipapp/migrations/__init__.py", "")
        zipped.writestr("zipapp/migrations/001_initial.py", migration_source("20240601_090000_initial", CREATE_NOTE))
        zipped.writestr("zipapp/migrations/002_more.py",
                        migration_source("20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")'))
    monkeypatch.syspath_prepend(str(archive))
    path = tmp_path / "app.sqlite3"
    report = Database("TestApp", migrations="zipapp.migrations", path=path).register_models([Note])
    assert report.applied == ["20240601_090000_initial", "20240602_090000_more"]
    assert Database("TestApp", migrations="zipapp.migrations", path=path).register_models([Note]).applied == []
    for name in [name for name in sys.modules if name.startswith("zipapp")]:
        del sys.modules[name]


def test_a_list_of_migration_instances_is_accepted(tmp_path):
    class CreateThing(Migration):
        id = "20240601_090000_create_thing"
        name = "Create thing"

        def up(self, schema):
            schema.create_table("thing", {"label": peewee.CharField()})

    database = Database("TestApp", migrations=[CreateThing()], path=tmp_path / "app.sqlite3")
    assert database.register_models([]).applied == ["20240601_090000_create_thing"]
    assert database.status()[0].applied_at is not None


def test_without_migrations_models_are_still_created(tmp_path):
    report = Database("TestApp", path=tmp_path / "app.sqlite3").register_models([Note])
    assert report.applied == []
    assert sqlite3.connect(tmp_path / "app.sqlite3").execute("SELECT count(*) FROM note").fetchone() == (0,)


def test_status_lists_pending_and_applied_with_files(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE, name="Initial")
    project.database().register_models([])
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")', name="More")
    first, second = project.database().status()
    assert (first.id, first.name, first.pending) == ("20240601_090000_initial", "Initial", False)
    assert first.file.endswith("001_initial.py")
    assert (second.id, second.name, second.pending, second.applied_at) == ("20240602_090000_more", "More", True, None)


def test_pending_lists_what_a_launch_would_apply_without_writing(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    database = project.database()
    assert [m.id for m in database.pending()] == ["20240601_090000_initial"]
    assert project.applied() == []


def test_data_migration_uses_schema_db_in_the_same_transaction(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([])
    sqlite3.connect(project.path).executescript("INSERT INTO note (body) VALUES ('Hello\nworld'); ")
    project.add("002_title.py", "20240602_090000_title", '''
        schema.add_column("note", "title", peewee.CharField(default=""))
        for note_id, body in schema.db.execute_sql("SELECT id, body FROM note").fetchall():
            schema.db.execute_sql("UPDATE note SET title = ? WHERE id = ?", (body.splitlines()[0], note_id))
    ''')
    project.database().register_models([])
    assert project.rows("SELECT title FROM note") == [("Hello",)]


def test_nested_atomic_in_a_migration_is_a_savepoint(project):
    project.add("001_initial.py", "20240601_090000_initial", '''
        schema.sql("CREATE TABLE t (x)")
        with schema.db.atomic():
            schema.sql("INSERT INTO t VALUES (1)")
    ''')
    project.database().register_models([])
    assert project.rows("SELECT x FROM t") == [(1,)]


def test_keep_alive_is_called_during_a_long_migration(project):
    """A splash screen gets regular calls while one long step runs, so its window stays responsive."""
    project.add("001_slow.py", "20240601_090000_slow", '''
        schema.sql("CREATE TABLE big (x)")
        schema.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600000) INSERT INTO big SELECT i FROM n")
        schema.sql("CREATE INDEX big_x ON big (x)")
    ''')
    calls = []
    project.database(keep_alive=lambda: calls.append(1)).register_models([])
    assert len(calls) >= 2


def test_a_table_the_models_created_first_is_kept_by_a_later_create_table(project):
    """An app version created `setting` from its model; the next one ships the migration for it."""
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([Note, Setting])
    project.connect().execute("INSERT INTO setting (key) VALUES ('theme')").connection.commit()
    project.add("002_setting.py", "20240602_090000_setting",
                'schema.create_table("setting", {"id": peewee.AutoField(), "key": peewee.CharField(unique=True)})')
    assert project.database().register_models([Note, Setting]).applied == ["20240602_090000_setting"]
    assert project.rows("SELECT key FROM setting") == [("theme",)]


def test_create_table_over_a_different_existing_table_fails_and_changes_nothing(project):
    from app_db import MigrationError

    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([Note, Setting])
    project.add("002_setting.py", "20240602_090000_setting",
                'schema.create_table("setting", {"name": peewee.CharField()})')
    before = project.dump()
    with pytest.raises(MigrationError, match="already exists with columns"):
        project.database().register_models([Note, Setting])
    assert project.dump() == before


def test_an_unwritten_stub_is_refused_before_any_write(project):
    from app_db import MigrationDefinitionError

    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.database().register_models([])
    project.add("002_stub.py", "20240602_090000_stub", 'raise NotImplementedError("write this migration: up() in 002_stub.py")')
    before = project.dump()
    with pytest.raises(MigrationDefinitionError, match="002_stub.py.*stub"):
        project.database().register_models([])
    assert project.dump() == before
    assert not (project.path.parent / "backups").exists()  # refused before the backup, too


def test_a_shipped_migration_whose_id_was_edited_is_named_not_called_a_newer_version(project):
    """Development reads every file (production trusts what the tracking table recorded of it, and warns of the edit)."""
    first = project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE note (body TEXT)")')
    project.launch()
    first.write_text(first.read_text().replace("20240601_090000_initial", "20240601_090000_initial_notes"))
    project.add("002_title.py", "20240602_090000_title", 'schema.sql("ALTER TABLE note ADD COLUMN title TEXT")')
    before = project.dump()
    with pytest.raises(MigrationDefinitionError, match="now declares the id '20240601_090000_initial_notes'") as caught:
        project.database(env="development").register_models([])
    assert "put the id '20240601_090000_initial' back" in str(caught.value)
    assert project.dump() == before
