"""An older app version on a file a newer one migrated: versions recorded, compatible changes, read-only, going back.

Each test builds two versions of one app on real files: the older one ships
migrations/, the newer one the same files and more (newer/), as an app that
upgrades and then is downgraded would.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import peewee
import pytest

from app_db import AppDbError, ConfigurationError, Database, SchemaTooNewError
from app_db.cli import main

CREATE_NOTE = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'
INITIAL = "20240601_090000_initial"
TAGS = "20240701_090000_add_tags"  # the newer version's first migration
PINNED = "20240801_090000_add_pinned"


class Note(peewee.Model):
    body = peewee.TextField()

    class Meta:
        table_name = "note"


def compatible_source(migration_id: str, up: str, compatible: bool) -> str:
    """A migration file that declares (or not) that older versions can live with it."""
    return textwrap.dedent(f"""\
        import peewee
        from app_db import Migration


        class Step(Migration):
            id = {migration_id!r}
            name = {migration_id.split("_", 2)[2]!r}
            backward_compatible = {compatible!r}

            def up(self, schema):
                {up}

            def down(self, schema):
                schema.sql("SELECT 1")
        """)


class TwoVersions:
    """The older app (project.migrations) and a newer one (newer/: the same files plus more), on one file."""

    def __init__(self, project) -> None:
        self.project = project
        self.path = project.path
        project.add("001_initial.py", INITIAL, CREATE_NOTE)
        self.newer_folder = project.root / "newer"

    def older(self, **options) -> Database:
        options.setdefault("app_version", "1.4.2")
        return self.project.database(**options)

    def newer(self, *migrations: tuple[str, str, str, bool], **options) -> Database:
        """The newer version, shipping the older one's files plus ``migrations`` (file, id, up, compatible)."""
        if self.newer_folder.exists():
            shutil.rmtree(self.newer_folder)
        shutil.copytree(self.project.migrations, self.newer_folder, ignore=shutil.ignore_patterns("__pycache__"))
        for filename, migration_id, up, compatible in migrations:
            (self.newer_folder / filename).write_text(compatible_source(migration_id, up, compatible))
        options.setdefault("app_version", "1.5.0")
        return self.project.database(migrations=self.newer_folder, **options)

    def launch_older_then_newer(self, *migrations: tuple[str, str, str, bool]) -> None:
        """The user's history: the older version made the file and wrote a note, then the newer one updated it."""
        older = self.older()
        older.register_models([Note])
        Note.create(body="written by 1.4.2")
        older.close()
        newer = self.newer(*migrations)
        newer.register_models([])
        newer.close()


@pytest.fixture
def versions(project) -> TwoVersions:
    return TwoVersions(project)


def add_tags(compatible: bool) -> tuple[str, str, str, bool]:
    return ("002_add_tags.py", TAGS, 'schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT)")', compatible)


def add_pinned(compatible: bool) -> tuple[str, str, str, bool]:
    return ("003_add_pinned.py", PINNED, 'schema.add_column("note", "pinned", peewee.BooleanField(null=True))', compatible)


def refusal(database: Database, error: type[Exception], match: str | None = None) -> Exception:
    """The error ``database``'s launch raises; its connection is closed afterwards, as an app that quits closes it."""
    try:
        with pytest.raises(error, match=match) as raised:
            database.register_models([Note])
    finally:
        database.close()
    return raised.value


def fingerprint(path) -> dict:
    """sha256 of the file and of its -wal (when there is one), and the folder's listing: what "unchanged" means."""
    hashes = {
        suffix: hashlib.sha256(open(f"{path}{suffix}", "rb").read()).hexdigest()
        for suffix in ("", "-wal")
        if os.path.exists(f"{path}{suffix}")
    }
    return {"hashes": hashes, "listing": sorted(os.listdir(path.parent))}


# Versions recorded ------------------------------------------------------------------------------------------------
def test_each_applied_migration_records_the_app_its_version_and_whether_it_is_backward_compatible(versions):
    versions.launch_older_then_newer(add_tags(True), add_pinned(False))

    rows = versions.project.rows(
        "SELECT id, app_name, app_version, backward_compatible FROM app_db_migrations ORDER BY id"
    )
    assert rows == [
        (INITIAL, "TestApp", "1.4.2", 0),
        (TAGS, "TestApp", "1.5.0", 1),
        (PINNED, "TestApp", "1.5.0", 0),
    ]


def test_a_stamped_migration_records_the_version_but_not_a_compatibility_it_never_read(project):
    project.add("001_initial.py", INITIAL, CREATE_NOTE)
    project.path.parent.mkdir()
    connection = sqlite3.connect(project.path)
    connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    connection.close()

    project.database(app_version="2.0").stamp(INITIAL)

    assert project.rows("SELECT app_version, backward_compatible FROM app_db_migrations") == [("2.0", None)]


def test_too_new_error_says_which_version_updated_the_file_and_on_which_day(versions):
    versions.launch_older_then_newer(add_pinned(False))
    versions.project.rows("SELECT 1")  # the file exists
    connection = versions.project.connect()
    with connection:
        connection.execute("UPDATE app_db_migrations SET app_name = 'AppDbNotes', applied_at = ? WHERE id = ?",
                           ("2026-11-02T10:00:00.000000+00:00", PINNED))
    connection.close()
    before = fingerprint(versions.path)

    error = refusal(versions.older(), SchemaTooNewError)

    assert "updated by AppDbNotes 1.5.0 on 2026-11-02" in str(error)
    assert error.updated_by == "AppDbNotes 1.5.0 on 2026-11-02"
    assert error.unknown_ids == [PINNED]
    assert fingerprint(versions.path) == before


def test_status_shows_the_version_that_applied_each_migration(versions, monkeypatch, capsys):
    versions.launch_older_then_newer(add_tags(False))
    (versions.project.root / "newerapp.py").write_text(
        f"from app_db import Database\n"
        f"database = Database('TestApp', migrations={str(versions.newer_folder)!r}, "
        f"path={str(versions.path)!r})\n"
    )
    monkeypatch.syspath_prepend(str(versions.project.root))

    statuses = versions.newer(add_tags(False)).status()
    code = main(["--database", "newerapp:database", "status"])

    assert [(status.id, status.app_version) for status in statuses] == [(INITIAL, "1.4.2"), (TAGS, "1.5.0")]
    out = capsys.readouterr().out
    assert "VERSION" in out
    assert [line.split()[:3] for line in out.splitlines() if line.startswith(("2024",))] == [
        [INITIAL, "Initial", "1.4.2"],
        [TAGS, "add_tags", "1.5.0"],
    ]
    assert "unknown to this app version" not in out
    assert code == 0
    main(["--database", "newerapp:database", "status", "--json"])
    listed = json.loads(capsys.readouterr().out)["migrations"]
    assert [(entry["id"], entry["app_version"]) for entry in listed] == [(INITIAL, "1.4.2"), (TAGS, "1.5.0")]


# Changes older versions can live with -----------------------------------------------------------------------------
def test_an_older_app_opens_a_file_whose_unknown_migrations_are_all_backward_compatible(versions, caplog):
    versions.launch_older_then_newer(add_tags(True), add_pinned(True))
    older = versions.older()

    with caplog.at_level(logging.WARNING, logger="app_db"):
        report = older.register_models([Note])

    assert report.newer_compatible == [TAGS, PINNED]
    assert report.read_only is False
    assert [body for (body,) in versions.project.rows("SELECT body FROM note")] == ["written by 1.4.2"]
    Note.create(body="written by 1.4.2 again")  # the file is the older app's to use
    assert versions.project.rows("SELECT count(*) FROM note") == [(2,)]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("backward compatible" in message and TAGS in message and "1.5.0" in message for message in warnings)
    older.close()


def test_one_unknown_migration_that_is_not_backward_compatible_refuses_the_file_unchanged(versions):
    versions.launch_older_then_newer(add_tags(True), add_pinned(False))
    before = fingerprint(versions.path)

    error = refusal(versions.older(), SchemaTooNewError)

    assert error.unknown_ids == [TAGS, PINNED]
    assert "updated by TestApp 1.5.0 on" in str(error)
    assert fingerprint(versions.path) == before


def test_migrations_recorded_before_versions_were_recorded_count_as_not_compatible(versions):
    versions.launch_older_then_newer(add_tags(True))
    connection = versions.project.connect()
    with connection:  # as the previous release leaves them: it writes no compatibility
        connection.execute("UPDATE app_db_migrations SET app_name = NULL, app_version = NULL, backward_compatible = NULL")
    connection.close()

    refusal(versions.older(), SchemaTooNewError, "updated by a version that did not say on ")


def test_an_older_app_never_runs_its_own_pending_migration_after_newer_compatible_ones(versions):
    versions.launch_older_then_newer(add_pinned(True))
    # This build has a migration the newer one never had, older than the newer one's: it would run out of order.
    versions.project.add("002_branch.py", TAGS, 'schema.sql("CREATE TABLE branch (x)")')
    before = fingerprint(versions.path)

    refusal(versions.older(), SchemaTooNewError, f"would run {TAGS} after them, out of the order")

    assert fingerprint(versions.path) == before


def test_a_file_none_of_whose_migrations_this_app_knows_is_called_another_apps_file(versions, project):
    other = project.root / "other_migrations"
    other.mkdir()
    (other / "001_other.py").write_text(compatible_source("20230101_000000_other", 'schema.sql("CREATE TABLE x (y)")', False))
    project.database(migrations=other).register_models([])
    before = fingerprint(versions.path)

    error = refusal(versions.older(), ConfigurationError)

    assert not isinstance(error, SchemaTooNewError)
    assert "another app's file, or one from before this app used app_db" in str(error)
    assert "20230101_000000_other" in str(error)
    assert fingerprint(versions.path) == before


# A choice on a newer file: read-only ------------------------------------------------------------------------------
def test_on_newer_must_be_refuse_or_read_only(project):
    with pytest.raises(ConfigurationError, match="on_newer must be one of 'refuse', 'read_only', not 'ignore'"):
        project.database(on_newer="ignore")


def test_read_only_opens_a_newer_file_for_reading_and_refuses_writes_leaving_it_byte_for_byte(versions):
    versions.launch_older_then_newer(add_pinned(False))
    before = fingerprint(versions.path)
    older = versions.older(on_newer="read_only")

    report = older.register_models([Note])

    assert report.read_only is True
    assert report.current == PINNED
    assert [note.body for note in Note.select()] == ["written by 1.4.2"]
    with pytest.raises(AppDbError, match="updated by a newer version of the app .*; it is open read-only"):
        Note.create(body="lost?")
    with pytest.raises(AppDbError, match="open read-only"):
        Note.update(body="changed").execute()
    with pytest.raises(AppDbError, match="open read-only"):
        older.db.execute_sql("PRAGMA query_only = 0")
    with pytest.raises(AppDbError, match="open read-only"):
        older.db.execute_sql("CREATE TABLE sneaky (x)")
    assert [note.body for note in Note.select()] == ["written by 1.4.2"]
    older.close()
    assert fingerprint(versions.path) == before


def test_read_only_refuses_the_pragmas_that_would_write_the_file(versions):
    versions.launch_older_then_newer(add_pinned(False))
    before = fingerprint(versions.path)
    older = versions.older(on_newer="read_only")
    older.register_models([Note])

    for pragma in ("PRAGMA journal_mode = DELETE", "PRAGMA user_version = 7", "PRAGMA wal_checkpoint(TRUNCATE)"):
        with pytest.raises(AppDbError, match="open read-only"):
            older.db.execute_sql(pragma)
    older.db.execute_sql("PRAGMA cache_size = 500")  # the connection's own settings stay the app's
    assert older.db.execute_sql("PRAGMA query_only").fetchone() == (1,)
    older.close()

    assert fingerprint(versions.path) == before


def test_read_only_calls_on_connect_so_views_that_use_the_apps_sql_functions_read(versions):
    def register_functions(db):
        db.register_function(lambda text: text.upper(), "shout", 1)

    versions.launch_older_then_newer(
        ("002_shouting_view.py", TAGS, 'schema.sql("CREATE VIEW shouted AS SELECT shout(body) AS loud FROM note")', False)
    )
    older = versions.older(on_newer="read_only", on_connect=register_functions)

    report = older.register_models([Note])

    assert report.read_only
    assert older.db.execute_sql("SELECT loud FROM shouted").fetchall() == [("WRITTEN BY 1.4.2",)]
    older.close()


def test_read_only_leaves_the_file_unchanged_while_the_newer_version_keeps_it_open(versions):
    versions.launch_older_then_newer(add_pinned(False))
    # The newer version is still running: it holds the file open in WAL mode, with a write not yet checkpointed.
    newer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            connection = sqlite3.connect({str(versions.path)!r})
            connection.execute("PRAGMA wal_autocheckpoint = 0")
            with connection:
                connection.execute("INSERT INTO note (body, pinned) VALUES ('written by 1.5.0', 1)")
            print("ready", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert newer.stdout.readline().strip() == "ready"
        before = fingerprint(versions.path)
        assert "-wal" in before["hashes"]
        older = versions.older(on_newer="read_only")

        report = older.register_models([Note])
        bodies = sorted(note.body for note in Note.select())
        with pytest.raises(AppDbError, match="open read-only"):
            Note.create(body="lost?")
        older.close()

        assert report.read_only
        assert bodies == ["written by 1.4.2", "written by 1.5.0"]
        assert fingerprint(versions.path) == before
    finally:
        newer.communicate("quit\n", timeout=30)


def test_read_only_is_not_used_on_a_file_this_version_can_migrate(versions):
    older = versions.older(on_newer="read_only")
    report = older.register_models([Note])
    assert report.read_only is False
    Note.create(body="writable")
    older.close()


# A choice on a newer file: going back -----------------------------------------------------------------------------
def test_restore_before_newer_goes_back_to_the_copy_taken_before_the_first_unknown_migration(versions):
    versions.launch_older_then_newer(add_tags(False), add_pinned(False))
    connection = versions.project.connect()
    with connection:
        connection.execute("INSERT INTO note (body) VALUES ('written by 1.5.0')")
    connection.close()
    older = versions.older()
    started = datetime.datetime.now(datetime.UTC)

    found = older.find_backup_before_newer()
    restored = older.restore_before_newer()

    assert found is not None and found.backup == restored.backup
    assert restored.backup.name.endswith(f"-before-{TAGS}.sqlite3")
    assert restored.taken_at <= started and started - restored.taken_at < datetime.timedelta(minutes=5)
    assert restored.kept is not None and restored.kept.is_file()  # what the newer version wrote is kept
    kept = sqlite3.connect(restored.kept)
    assert sorted(body for (body,) in kept.execute("SELECT body FROM note")) == ["written by 1.4.2", "written by 1.5.0"]
    kept.close()
    assert versions.project.applied() == [INITIAL]
    report = older.register_models([Note])  # the older version opens it again, as its own
    assert report.read_only is False and report.newer_compatible == []
    assert [note.body for note in Note.select()] == ["written by 1.4.2"]
    older.close()


def test_restore_before_newer_without_a_backup_from_before_the_update_changes_nothing(versions):
    versions.launch_older_then_newer(add_pinned(False))
    shutil.rmtree(versions.path.parent / "backups")
    before = fingerprint(versions.path)
    older = versions.older()

    assert older.find_backup_before_newer() is None
    with pytest.raises(AppDbError, match="holds no backup from before that update") as raised:
        older.restore_before_newer()
    older.close()

    assert "updated by TestApp 1.5.0 on" in str(raised.value)
    assert fingerprint(versions.path) == before


def test_restore_before_newer_passes_over_backups_that_hold_unknown_migrations(versions):
    versions.launch_older_then_newer(add_tags(False))
    first = sorted((versions.path.parent / "backups").iterdir())
    newer = versions.newer(add_tags(False), add_pinned(False))  # a second update: its backup holds TAGS
    newer.register_models([])
    newer.close()
    assert len(list((versions.path.parent / "backups").iterdir())) == len(first) + 1

    restored = versions.older().restore_before_newer()

    assert restored.backup == first[-1]
    assert versions.project.applied() == [INITIAL]


def test_restore_before_newer_keeps_what_was_written_under_a_backward_compatible_update(versions):
    versions.launch_older_then_newer(add_tags(True))  # 1.5.0: compatible; its backup is before-TAGS
    connection = versions.project.connect()
    with connection:
        connection.execute("INSERT INTO note (body) VALUES ('written by 1.5.0')")
    connection.close()
    newer = versions.newer(add_tags(True), add_pinned(False), app_version="1.6.0")  # not compatible: before-PINNED
    newer.register_models([])
    newer.close()
    older = versions.older()

    found = older.find_backup_before_newer()
    restored = older.restore_before_newer()

    assert found is not None and found.backup == restored.backup
    assert restored.backup.name.endswith(f"-before-{PINNED}.sqlite3")  # the newest this version opens normally
    assert versions.project.applied() == [INITIAL, TAGS]
    report = older.register_models([Note])
    Note.create(body="written by 1.4.2 again")
    bodies = sorted(note.body for note in Note.select())
    older.close()
    assert report.read_only is False and report.newer_compatible == [TAGS]
    assert bodies == ["written by 1.4.2", "written by 1.4.2 again", "written by 1.5.0"]


def test_restore_before_newer_refuses_a_file_no_newer_version_touched(versions):
    versions.launch_older_then_newer()
    before = fingerprint(versions.path)

    older = versions.older()
    with pytest.raises(ConfigurationError, match="was not updated by a newer version"):
        older.restore_before_newer()
    older.close()

    assert fingerprint(versions.path) == before


# A newer version killed while the older one reads ------------------------------------------------------------------
def start_newer_writer(path, rows: int = 50) -> subprocess.Popen:
    """The newer version running on ``path``: ``rows`` notes committed to the -wal, never checkpointed; it waits."""
    newer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            connection = sqlite3.connect({str(path)!r})
            connection.execute("PRAGMA wal_autocheckpoint = 0")
            for number in range({rows}):
                with connection:
                    connection.execute("INSERT INTO note (body, pinned) VALUES (?, 1)", (f"by 1.5.0 #{{number}}",))
            print("ready", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert newer.stdout.readline().strip() == "ready"
    return newer


def kill(process: subprocess.Popen) -> None:
    process.kill()  # SIGKILL: no close, no checkpoint; its -wal stays as it was
    process.wait(timeout=30)


def test_read_only_leaves_the_file_and_wal_unchanged_when_the_newer_version_is_killed_while_it_reads(versions):
    versions.launch_older_then_newer(add_pinned(False))
    newer = start_newer_writer(versions.path)
    try:
        before = fingerprint(versions.path)
        assert "-wal" in before["hashes"]
        older = versions.older(on_newer="read_only")
        report = older.register_models([Note])
        kill(newer)  # the older version's connection is now the file's last one

        count = Note.select().count()
        older.close()
    finally:
        kill(newer)

    assert report.read_only and count == 51
    assert fingerprint(versions.path) == before


def test_read_only_leaves_a_crashed_newer_versions_wal_in_place_without_checkpointing_it(versions):
    versions.launch_older_then_newer(add_pinned(False))
    newer = start_newer_writer(versions.path)
    kill(newer)  # crashed before this launch: its rows are only in the -wal
    before = fingerprint(versions.path)
    assert "-wal" in before["hashes"]

    older = versions.older(on_newer="read_only")
    older.register_models([Note])
    count = Note.select().count()
    older.close()

    assert count == 51
    assert fingerprint(versions.path) == before


def test_read_only_leaves_the_file_unchanged_when_a_newer_version_starts_and_is_killed_during_the_session(versions):
    versions.launch_older_then_newer(add_pinned(False))
    before = fingerprint(versions.path)
    assert "-wal" not in before["hashes"]
    older = versions.older(on_newer="read_only")
    older.register_models([Note])

    newer = start_newer_writer(versions.path)  # started while the older version reads, then crashes
    kill(newer)
    count = Note.select().count()
    older.close()

    assert count == 51  # the older version sees what the newer one committed
    after = fingerprint(versions.path)
    assert after["hashes"][""] == before["hashes"][""]  # never checkpointed into the file by the older version
    assert "-wal" in after["hashes"]  # left as the killed newer version left it, for its next launch
    connection = sqlite3.connect(versions.path)
    assert connection.execute("SELECT count(*) FROM note").fetchone() == (51,)
    connection.close()


def test_read_only_leaves_no_wal_behind_on_a_file_that_had_none(versions):
    versions.launch_older_then_newer(add_pinned(False))
    before = fingerprint(versions.path)

    older = versions.older(on_newer="read_only")
    older.register_models([Note])
    Note.select().count()
    older.close()

    assert fingerprint(versions.path) == before


# Going back from a read-only launch ------------------------------------------------------------------------------
def test_register_models_after_restore_before_newer_opens_the_restored_file_for_writing(versions):
    versions.launch_older_then_newer(add_pinned(False))
    older = versions.older(on_newer="read_only")
    assert older.register_models([Note]).read_only

    older.restore_before_newer()
    report = older.register_models([Note])
    Note.create(body="written after going back")
    bodies = sorted(note.body for note in Note.select())
    older.close()

    assert report.read_only is False
    assert bodies == ["written after going back", "written by 1.4.2"]
    assert versions.project.applied() == [INITIAL]


def test_models_left_on_the_read_only_connection_after_a_restore_are_told_to_launch_again(versions):
    versions.launch_older_then_newer(add_pinned(False))
    older = versions.older(on_newer="read_only")
    older.register_models([Note])

    older.restore(older.find_backup_before_newer().backup)
    with pytest.raises(ConfigurationError, match=r"call register_models\(\) again"):
        Note.select().count()
    older.close()


def test_refusing_a_newer_file_leaves_the_wal_of_a_killed_newer_version_unchanged(versions):
    versions.launch_older_then_newer(add_pinned(False))
    kill(start_newer_writer(versions.path))
    before = fingerprint(versions.path)
    assert "-wal" in before["hashes"]

    refusal(versions.older(), SchemaTooNewError, match="Nothing was changed")

    assert fingerprint(versions.path) == before
