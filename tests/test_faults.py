"""Each fault a launch can meet, once, on a real file: what the user is left with and what they are told.

The repeated, randomised versions of these live in tests/stress/ (``python -m tests.stress``).
Processes are real (tests/stress/child.py is one app launch); nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import peewee
import pytest

from app_db import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNotWritableError,
    MigrationDefinitionError,
    MigrationError,
    SchemaTooNewError,
)

from conftest import Project, migration_source, run_python

CHILD = Path(__file__).resolve().parent / "stress" / "child.py"
NOBODY = 65534

INITIAL = '''
schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT, title TEXT)")
schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES note (id) ON DELETE CASCADE, label TEXT)")
for number in range(1, 51):
    schema.sql("INSERT INTO note (body, title) VALUES (?, ?)", (f"body {number}", f"title {number}"))
    schema.sql("INSERT INTO tag (note_id, label) VALUES (?, ?)", (number, f"label {number}"))
'''


def log_line(log: Path, text: str) -> str:
    """Source lines that append ``text`` to ``log`` with O_APPEND (outside the database, so a rollback keeps it)."""
    return (
        "import os\n"
        f"_fd = os.open({str(log)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
        f"os.write(_fd, {(text + chr(10)).encode()!r})\n"
        "os.close(_fd)\n"
    )


def launch_child(project, **options) -> dict:
    """One launch in a process of its own; its JSON report."""
    options = {"path": str(project.path), "migrations": str(project.migrations), **options}
    done = subprocess.run([sys.executable, str(CHILD), json.dumps(options)], capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    return json.loads(lines[-1])


def database_bytes(project) -> int:
    """The size of the database's content (part of it may still sit in the -wal file)."""
    [(pages,)], [(page_size,)] = project.rows("PRAGMA page_count"), project.rows("PRAGMA page_size")
    return pages * page_size


@pytest.fixture
def reachable(tmp_path):
    """A Project in a folder that 'nobody' can reach (pytest's own tmp folders are root-only, mode 0700)."""
    root = Path(tempfile.mkdtemp(prefix="app-db-faults-"))
    os.chmod(root, 0o755)
    yield Project(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def populated(project):
    """A project whose database already holds 50 notes with tags (production, migrated once)."""
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    database = project.database()
    database.register_models([])
    database.close()  # the last connection to close checkpoints and removes the -wal file
    return project


# A migration raises --------------------------------------------------------------------------------


def test_failing_migration_rolls_back_schema_rows_and_tracking(populated):
    before = populated.dump()
    populated.add("002_archive.py", "20240602_090000_archive", '''
        schema.create_table("archive", {"id": peewee.AutoField(), "note": peewee.IntegerField()})
        schema.sql("INSERT INTO archive (note) SELECT id FROM note")
        schema.add_column("note", "archived", peewee.BooleanField(default=False))
        schema.sql("DELETE FROM tag WHERE note_id < 10")
    ''')
    populated.add("003_broken.py", "20240603_090000_broken", '''
        schema.add_not_null("note", "title")
        schema.sql("UPDATE note SET body = 'overwritten'")
        raise RuntimeError("the data was not what this migration expected")
    ''')

    with pytest.raises(MigrationError) as caught:
        populated.database().register_models([])

    error = caught.value
    assert error.migration.id == "20240603_090000_broken"
    assert "20240603_090000_broken" in str(error) and "003_broken.py" in str(error)
    assert "still at 20240601_090000_initial" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    assert populated.dump() == before
    assert populated.applied() == ["20240601_090000_initial"]


def test_rerun_after_fixing_the_failed_migration_applies_each_migration_once(populated, tmp_path):
    log = tmp_path / "ran.log"
    populated.add("002_add_table.py", "20240602_090000_add_table",
                  'schema.sql("CREATE TABLE extra (x)")\n' + log_line(log, "002"))
    broken = populated.add("003_fill.py", "20240603_090000_fill",
                           log_line(log, "003") + 'raise ValueError("not yet")')
    with pytest.raises(MigrationError):
        populated.database().register_models([])

    broken.write_text(migration_source("20240603_090000_fill",
                                       'schema.sql("INSERT INTO extra VALUES (1)")\n' + log_line(log, "003")))
    report = populated.database().register_models([])

    assert report.applied == ["20240602_090000_add_table", "20240603_090000_fill"]
    assert populated.rows("SELECT x FROM extra") == [(1,)]
    # The failed launch ran both up()s once, then rolled them back; the rerun ran each once more.
    assert log.read_text().split() == ["002", "003", "002", "003"]
    assert populated.database().register_models([]).applied == []


# Files that are not what this app expects ----------------------------------------------------------------


def test_database_from_a_newer_app_raises_schema_too_new_naming_the_unknown_ids_and_changes_nothing(populated):
    newer = populated.add("002_newer.py", "20240602_090000_newer", 'schema.sql("CREATE TABLE newer (x)")')
    populated.database().register_models([])
    newer.unlink()  # the user went back to the older app
    before = populated.path.read_bytes()

    with pytest.raises(SchemaTooNewError) as caught:
        populated.database().register_models([])

    assert caught.value.unknown_ids == ["20240602_090000_newer"]
    assert "20240602_090000_newer" in str(caught.value) and str(populated.path) in str(caught.value)
    assert populated.path.read_bytes() == before


@pytest.mark.parametrize("content", [b"this is a shopping list, not a database\n" * 50, b"SQLite format 2\x00" + b"\x00" * 4080])
def test_file_that_is_not_sqlite_raises_corrupt_and_is_left_byte_for_byte(project, content):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.path.parent.mkdir(parents=True)
    project.path.write_bytes(content)
    modified = project.path.stat().st_mtime_ns

    with pytest.raises(DatabaseCorruptError) as caught:
        project.database().register_models([])

    assert str(project.path) in str(caught.value)
    assert project.path.read_bytes() == content
    assert project.path.stat().st_mtime_ns == modified
    assert sorted(os.listdir(project.path.parent)) == ["app.sqlite3"]  # no -wal, -shm or backup beside it


def test_zero_byte_file_is_treated_as_a_new_database(project):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.path.parent.mkdir(parents=True)
    project.path.write_bytes(b"")

    report = project.database().register_models([])

    assert report.applied == ["20240601_090000_initial"]
    assert project.rows("SELECT count(*) FROM note") == [(50,)]


# Storage that refuses writes -----------------------------------------------------------------------------


def test_path_under_a_regular_file_raises_not_writable_naming_the_path(project, tmp_path):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    (tmp_path / "blocker").write_text("a file where the data folder should be")

    with pytest.raises(DatabaseNotWritableError) as caught:
        project.database(path=tmp_path / "blocker" / "data" / "app.sqlite3").register_models([])

    assert str(tmp_path / "blocker" / "data") in str(caught.value)
    assert (tmp_path / "blocker").read_text() == "a file where the data folder should be"


@pytest.mark.needs_root(reason="drops privileges to 'nobody'")
def test_read_only_folder_raises_not_writable_naming_the_path(reachable):
    reachable.add("001_initial.py", "20240601_090000_initial", INITIAL)
    folder = reachable.root / "readonly"
    folder.mkdir(mode=0o755)  # owned by root: nobody cannot create a file in it

    result = launch_child(reachable, path=str(folder / "app.sqlite3"), uid=NOBODY)

    assert result["error"] == "DatabaseNotWritableError", result
    assert str(folder) in result["message"]
    assert os.listdir(folder) == []


@pytest.mark.needs_root(reason="drops privileges to 'nobody'")
def test_read_only_file_in_a_writable_folder_raises_not_writable_and_changes_nothing(reachable):
    """Regression: SQLite opens such a file read-only and BEGIN IMMEDIATE succeeds, so the
    first write (here the tracking table, in a file made before the app had migrations)
    failed with a bare sqlite3.OperationalError."""
    reachable.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE more (x)")')
    reachable.path.parent.mkdir()
    connection = reachable.connect()
    connection.execute("PRAGMA journal_mode = wal")
    connection.execute("CREATE TABLE note (body TEXT)")
    connection.execute("INSERT INTO note VALUES ('kept')")
    connection.commit()
    connection.close()
    before = reachable.path.read_bytes()
    os.chmod(reachable.path, 0o644)  # root's file: nobody may read it, not write it
    os.chmod(reachable.path.parent, 0o777)  # ... but may create the -wal and -shm beside it

    result = launch_child(reachable, uid=NOBODY)

    assert result["error"] == "DatabaseNotWritableError", result
    assert str(reachable.path) in result["message"]
    assert reachable.path.read_bytes() == before


@pytest.mark.posix_only(reason="RLIMIT_FSIZE (the resource module) stands in for a full disk")
def test_disk_full_during_migration_raises_disk_full_and_leaves_database_and_backup_intact(populated):
    populated.add("002_grow.py", "20240602_090000_grow", '''
        schema.sql("CREATE TABLE blob (data BLOB)")
        for _ in range(200):
            schema.sql("INSERT INTO blob VALUES (randomblob(8000))")
    ''')
    before = populated.dump()

    # Room for the backup (a copy of the file), not for the migration's 1.6 MB.
    result = launch_child(populated, fsize=database_bytes(populated) * 4)

    assert result["error"] == "DiskFullError", result
    assert str(populated.path) in result["message"]
    assert populated.dump() == before
    backups = list((populated.path.parent / "backups").iterdir())
    assert [entry.suffix for entry in backups] == [".sqlite3"]  # complete, never a .partial
    copy = sqlite3.connect(backups[0])
    assert sorted(copy.iterdump()) == before
    copy.close()  # the next launch prunes this copy: Windows (and strict mode) refuse to delete an open file
    assert populated.database().register_models([]).applied == ["20240602_090000_grow"]


@pytest.mark.posix_only(reason="RLIMIT_FSIZE (the resource module) stands in for a full disk")
def test_disk_full_when_opening_raises_disk_full_naming_the_path(populated):
    """Regression: the -shm file could not grow to 32 KiB, and the launch said only "disk I/O error"."""
    before = populated.dump()

    result = launch_child(populated, fsize=8192)

    assert result["error"] == "DiskFullError", result
    assert str(populated.path) in result["message"]
    assert populated.dump() == before


@pytest.mark.posix_only(reason="RLIMIT_FSIZE (the resource module) stands in for a full disk")
def test_disk_full_during_backup_leaves_no_partial_backup_and_changes_nothing(populated):
    connection = populated.connect()
    connection.execute("CREATE TABLE attachment (data BLOB)")
    connection.executemany("INSERT INTO attachment VALUES (randomblob(8000))", [()] * 50)
    connection.commit()
    connection.close()
    populated.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    before = populated.dump()

    result = launch_child(populated, fsize=database_bytes(populated) // 2)

    assert result["error"] == "DiskFullError", result
    assert "back up" in result["message"] and str(populated.path) in result["message"]
    assert populated.dump() == before
    assert list((populated.path.parent / "backups").iterdir()) == []


# Several processes ----------------------------------------------------------------------------------------


def wait_until(condition, children, what, hang_guard=600.0):
    """Poll ``condition`` until it holds; fail at once if a child exits first, after ``hang_guard`` seconds if it hangs.

    The guard only keeps a hung test from running forever: it is ten times what the slowest machine needs, not a
    measure of speed.
    """
    deadline = time.monotonic() + hang_guard
    while not condition():
        exited = [child for child in children if child.poll() is not None]
        if exited:
            out, err = exited[0].communicate()
            pytest.fail(f"a child exited (code {exited[0].returncode}) before {what}:\n{out or ''}{err or ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {hang_guard:.0f} s: a child hangs")
        time.sleep(0.002)


def test_simultaneous_launches_run_each_migration_once_without_locked_errors(project, tmp_path):
    log = tmp_path / "ran.log"
    project.add("001_initial.py", "20240601_090000_initial", INITIAL + log_line(log, "001"))
    project.add("002_fill.py", "20240602_090000_fill", textwrap.dedent('''
        schema.add_column("note", "words", peewee.IntegerField(default=0))
        schema.sql("UPDATE note SET words = length(body) - length(replace(body, ' ', '')) + 1")
        schema.add_not_null("note", "title")
    ''') + log_line(log, "002"))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    options = {"path": str(project.path), "migrations": str(project.migrations), "barrier": str(barrier)}
    children = [
        subprocess.Popen([sys.executable, str(CHILD), json.dumps(options)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    wait_until(lambda: len(list(barrier.glob("ready-*"))) == len(children), children, "every child at the barrier")
    (barrier / "go").touch()

    results = [json.loads(child.communicate(timeout=120)[0].splitlines()[-1]) for child in children]

    assert [result["ok"] for result in results] == [True] * 6, results
    assert sorted(sum((result["applied"] for result in results), [])) == ["20240601_090000_initial", "20240602_090000_fill"]
    assert sorted(log.read_text().split()) == ["001", "002"]


def test_write_lock_held_past_lock_timeout_raises_locked_naming_the_path_and_changes_nothing(populated):
    populated.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    before = populated.dump()
    holder = sqlite3.connect(populated.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseLockedError) as caught:
            populated.database(lock_timeout=0.3).register_models([])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert str(populated.path) in str(caught.value)
    assert populated.dump() == before
    assert not (populated.path.parent / "backups").exists()  # the backup is taken under the lock


def test_sigkill_in_the_middle_of_a_migration_leaves_the_database_as_before_and_next_launch_migrates(populated, tmp_path):
    marker, block = tmp_path / "inside-migration", tmp_path / "block"
    block.touch()
    populated.add("002_slow.py", "20240602_090000_slow", f'''
        schema.sql("CREATE TABLE history (note_id INTEGER, body TEXT)")
        schema.sql("INSERT INTO history SELECT id, body FROM note")
        schema.add_not_null("note", "title")
        schema.sql("DELETE FROM tag")
        if os.path.exists({str(block)!r}):
            open({str(marker)!r}, "w").close()
            time.sleep(300)
    ''', imports="import os, time")
    before = populated.dump()
    child = subprocess.Popen([sys.executable, str(CHILD), json.dumps({"path": str(populated.path), "migrations": str(populated.migrations)})],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(marker.exists, [child], "the child inside the migration")
    finally:
        child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        child.wait()
    block.unlink()

    assert populated.rows("PRAGMA integrity_check") == [("ok",)]
    assert populated.dump() == before
    assert populated.database().register_models([]).applied == ["20240602_090000_slow"]
    assert populated.rows("SELECT count(*) FROM history") == [(50,)]
    assert populated.rows("SELECT count(*) FROM tag") == [(0,)]


# A launch with nothing to do ------------------------------------------------------------------------------


class Note(peewee.Model):
    body = peewee.TextField()

    class Meta:
        table_name = "note"


def test_launch_with_nothing_pending_succeeds_while_another_connection_holds_the_write_lock(populated):
    holder = sqlite3.connect(populated.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO note (body) VALUES ('written by the other instance')")
    try:
        # A launch that asked for the write lock would wait 10 ms for it and raise DatabaseLockedError:
        # success proves it never asked, with no stopwatch to lose on a loaded machine.
        report = populated.database(lock_timeout=0.01).register_models([Note])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert report.applied == []


def test_launch_with_nothing_pending_writes_nothing(populated):
    before, modified = populated.path.read_bytes(), populated.path.stat().st_mtime_ns
    database = populated.database()
    assert database.register_models([Note]).applied == []
    database.close()
    assert populated.path.read_bytes() == before
    assert populated.path.stat().st_mtime_ns == modified


def test_launch_with_nothing_pending_imports_and_opens_no_migration_file(populated):
    populated.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    populated.database().register_models([])
    done = run_python(f"""
        import json, sys
        from app_db import Database
        opened = []
        sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
        report = Database("TestApp", path={str(populated.path)!r}, migrations={str(populated.migrations)!r}).register_models([])
        print(json.dumps({{"applied": report.applied, "opened": opened,
                          "modules": [name for name in sys.modules if "migration_" in name]}}))
    """)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["applied"] == []
    assert [path for path in result["opened"] if path.startswith(str(populated.migrations))] == []
    assert result["modules"] == []


def test_a_crlf_checkout_is_read_without_importing_any_migration(populated):
    """Regression: the id line's pattern did not allow the \\r of a CRLF checkout, so a
    development launch with nothing pending imported every migration to learn its id."""
    for migration in populated.migrations.iterdir():
        migration.write_bytes(migration.read_bytes().replace(b"\n", b"\r\n"))
    done = run_python(f"""
        import json, sys
        from app_db import Database
        database = Database("TestApp", path={str(populated.path)!r}, migrations={str(populated.migrations)!r}, env="development")
        report = database.register_models([])
        print(json.dumps({{"applied": report.applied, "changed": [s.id for s in database.status() if s.checksum_changed],
                          "modules": [name for name in sys.modules if "migration_" in name]}}))
    """)
    assert json.loads(done.stdout.splitlines()[-1]) == {"applied": [], "changed": [], "modules": []}, done.stderr


# Table rebuilds and foreign keys ------------------------------------------------------------------------------


def test_table_rebuilds_keep_children_indexes_triggers_views_and_autoincrement(populated):
    connection = populated.connect()
    connection.executescript("""
        CREATE INDEX note_by_title ON note (title);
        CREATE TABLE audit (note_id INTEGER, event TEXT);
        CREATE TRIGGER note_audit AFTER INSERT ON note BEGIN INSERT INTO audit VALUES (new.id, 'insert'); END;
        CREATE VIEW tagged AS SELECT note.id, note.title, tag.label FROM note JOIN tag ON tag.note_id = note.id;
        DELETE FROM tag WHERE note_id > 40;
        DELETE FROM note WHERE id > 40;
    """)
    connection.close()
    view_before = populated.rows("SELECT * FROM tagged ORDER BY id")
    populated.add("002_rebuild.py", "20240602_090000_rebuild", '''
        schema.add_not_null("note", "title")
        schema.alter_column_type("note", "body", peewee.CharField(max_length=500, null=True))
        schema.drop_not_null("note", "title")
        schema.add_not_null("tag", "label")
    ''')

    populated.database().register_models([])

    assert populated.rows("SELECT count(*) FROM tag") == [(40,)]
    assert populated.rows("SELECT count(*) FROM tag WHERE note_id NOT IN (SELECT id FROM note)") == [(0,)]
    assert populated.rows("PRAGMA foreign_key_check") == []
    assert populated.rows("SELECT * FROM tagged ORDER BY id") == view_before
    names = {row[0] for row in populated.rows("SELECT name FROM sqlite_master")}
    assert {"note_by_title", "note_audit", "tagged"} <= names
    assert populated.rows("SELECT seq FROM sqlite_sequence WHERE name = 'note'") == [(50,)]
    connection = populated.connect()
    connection.execute("PRAGMA foreign_keys = ON")
    new_id = connection.execute("INSERT INTO note (body, title) VALUES ('after', 'after')").lastrowid
    connection.execute("DELETE FROM note WHERE id = 1")
    connection.commit()
    connection.close()
    assert new_id == 51  # ids of deleted notes are not handed out again
    assert populated.rows("SELECT event FROM audit WHERE note_id = 51") == [("insert",)]
    assert populated.rows("SELECT count(*) FROM tag WHERE note_id = 1") == [(0,)]  # ON DELETE CASCADE survived


def test_batch_that_adds_foreign_key_violations_is_rolled_back(populated):
    before = populated.dump()
    populated.add("002_orphans.py", "20240602_090000_orphans", 'schema.sql("DELETE FROM note WHERE id <= 5")')

    with pytest.raises(MigrationError) as caught:
        populated.database().register_models([])

    assert "5 row(s) of tag point to missing note rows" in str(caught.value)
    assert populated.dump() == before


def test_foreign_key_violations_already_in_the_file_do_not_block_an_upgrade(populated):
    connection = populated.connect()  # foreign keys are off on a plain connection, as in an old app
    connection.execute("INSERT INTO tag (note_id, label) VALUES (999, 'orphan')")
    connection.commit()
    connection.close()
    populated.add("002_more.py", "20240602_090000_more", 'schema.add_column("tag", "color", peewee.TextField(null=True))')

    assert populated.database().register_models([]).applied == ["20240602_090000_more"]
    assert populated.rows("SELECT count(*) FROM tag WHERE note_id = 999") == [(1,)]


# Bad migration files -----------------------------------------------------------------------------------------

GOOD_ID = "20240602_090000_add_tags"
BAD_FILES = {
    "syntax error": ("002_add_tags.py", migration_source(GOOD_ID, "schema.sql('SELECT 1'") ),
    "import error": ("002_add_tags.py", migration_source(GOOD_ID, "pass", imports="import no_such_module_here")),
    "exception at import": ("002_add_tags.py", migration_source(GOOD_ID, "pass", imports="raise RuntimeError('boom at import')")),
    "missing up": ("002_add_tags.py", f"from app_db import Migration\n\nclass Step(Migration):\n    id = {GOOD_ID!r}\n"),
    "two classes": ("002_add_tags.py", migration_source(GOOD_ID, "pass") + "\n\nclass Other(Step):\n    pass\n"),
    "no class": ("002_add_tags.py", "import peewee\n\ndef up(schema):\n    pass\n"),
    "wrong id type": ("002_add_tags.py", migration_source(GOOD_ID, "pass").replace(repr(GOOD_ID), "20240602090000")),
    "malformed id": ("002_add_tags.py", migration_source("2024-06-02_add_tags", "pass")),
    "impossible date": ("002_add_tags.py", migration_source("20241341_090000_add_tags", "pass")),
    "misnamed file": ("002-add-tags.py", migration_source(GOOD_ID, "pass")),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_migration_file_is_refused_naming_it_before_any_change(populated, case):
    filename, source = BAD_FILES[case]
    populated.add("003_good.py", "20240603_090000_good", 'schema.sql("CREATE TABLE good (x)")')
    populated.write(filename, source)
    before = populated.path.read_bytes()

    with pytest.raises(MigrationDefinitionError) as caught:
        populated.database().register_models([])

    assert filename in str(caught.value)
    assert populated.path.read_bytes() == before
    assert populated.applied() == ["20240601_090000_initial"]


def test_ids_that_differ_only_in_case_are_refused_naming_both_files_before_any_change(populated):
    populated.add("002_add_tags.py", "20240602_090000_add_tags", 'schema.sql("CREATE TABLE a (x)")')
    populated.add("003_add_tags.py", "20240602_090000_Add_Tags", 'schema.sql("CREATE TABLE b (x)")')
    before = populated.path.read_bytes()

    with pytest.raises(MigrationDefinitionError) as caught:
        populated.database().register_models([])

    assert "002_add_tags.py" in str(caught.value) and "003_add_tags.py" in str(caught.value)
    assert populated.path.read_bytes() == before


def test_copies_left_half_written_by_a_killed_backup_are_removed_by_the_next_backup(populated):
    """Regression: a launch killed while copying left its .partial (a copy of up to the whole
    database) and SQLite's files beside it (-journal, or -wal and -shm) in backups/ for ever."""
    folder = populated.path.parent / "backups"
    folder.mkdir()
    abandoned = [folder / "app-20240101-000000-000000-before-x.sqlite3.partial",
                 folder / "app-20240101-000000-000000-before-x.sqlite3.partial-journal",
                 folder / "app-20240101-000000-000000-before-y.sqlite3.partial-wal",
                 folder / "app-20240101-000000-000000-before-y.sqlite3.partial-shm"]
    for leftover in abandoned:
        leftover.write_bytes(b"\0" * 4096)
    populated.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')

    report = populated.database().register_models([])

    assert sorted(folder.iterdir()) == [report.backup]


def test_a_damaged_tracking_table_on_a_launch_with_nothing_pending_is_a_corrupt_error(project):
    """The fast path reads the tracking table too; damage there must not surface as a raw SQLite error."""
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE big (x)")')
    project.database().register_models([])
    connection = project.connect()
    connection.executemany("INSERT INTO big VALUES (?)", [("y" * 500,)] * 50)
    connection.commit()
    root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'app_db_migrations'").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    damaged = bytearray(project.path.read_bytes())
    damaged[(root - 1) * page_size:root * page_size] = b"\xff" * page_size
    project.path.write_bytes(bytes(damaged))

    with pytest.raises(DatabaseCorruptError, match="app.sqlite3"):
        project.database().register_models([])
    assert project.path.read_bytes() == bytes(damaged)
