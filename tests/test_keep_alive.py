"""keep_alive and on_progress: the app's own callbacks during a batch, what they raise, and where they are called.

Run as a script (``python tests/test_keep_alive.py``), it prints the gaps between keep_alive calls on a
300,000-row table rebuild with a real file, per phase: the figures README quotes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from app_db import CallbackError, Database, transaction

BIG_INSERT = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) "
              "INSERT INTO big SELECT i FROM n")


class SplashClosed(Exception):
    """What Tk's TclError is to a real app: the window is gone."""


@pytest.fixture
def every_tick(monkeypatch):
    """keep_alive on every look at the clock, so a test needs no timing: SQLite's steps alone decide the calls."""
    monkeypatch.setattr(transaction, "KEEP_ALIVE_SECONDS", 0.0)


def closing_splash():
    def keep_alive():
        raise SplashClosed("the user closed the splash")
    return keep_alive


def test_an_exception_in_keep_alive_reaches_the_app_as_the_cause_and_the_batch_is_rolled_back(project, every_tick):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE note (body TEXT)")')
    project.launch()
    project.add("002_big.py", "20240602_090000_big", f'''
        schema.sql("CREATE TABLE big (x)")
        schema.sql("{BIG_INSERT}")
    ''')
    with pytest.raises(CallbackError) as caught:
        project.database(keep_alive=closing_splash()).register_models([])
    error = caught.value
    assert isinstance(error.__cause__, SplashClosed) and error.callback == "keep_alive"
    message = str(error)
    assert "keep_alive callback stopped the batch" in message and "SplashClosed: the user closed the splash" in message
    assert "rolled back" in message and "still at 20240601_090000_initial" in message
    assert "interrupted" not in message and error.path == project.path
    assert project.applied() == ["20240601_090000_initial"]
    assert project.rows("SELECT name FROM sqlite_master WHERE name = 'big'") == []
    assert project.database().register_models([]).applied == ["20240602_090000_big"]  # the next launch migrates


def test_a_migration_that_catches_the_interruption_still_stops_with_the_apps_exception(project, every_tick):
    project.add("001_careless.py", "20240601_090000_careless", f'''
        schema.sql("CREATE TABLE big (x)")
        try:
            schema.sql("{BIG_INSERT}")
        except Exception:
            pass  # "interrupted": a careless migration goes on
        schema.sql("CREATE TABLE after_it (x)")
    ''')
    with pytest.raises(CallbackError) as caught:
        project.database(keep_alive=closing_splash()).register_models([])
    assert isinstance(caught.value.__cause__, SplashClosed)
    assert project.applied() == [] and project.rows("SELECT name FROM sqlite_master WHERE type = 'table'") == []


def test_an_exception_in_keep_alive_during_the_backup_stops_before_any_migration_and_leaves_no_partial_copy(
    project, every_tick
):
    project.add("001_initial.py", "20240601_090000_initial", '''
        schema.sql("CREATE TABLE note (body TEXT)")
        schema.sql("INSERT INTO note VALUES ('kept')")
    ''')
    project.launch()
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    with pytest.raises(CallbackError) as caught:
        project.database(keep_alive=closing_splash()).register_models([])
    assert isinstance(caught.value.__cause__, SplashClosed)
    assert "backed up" in str(caught.value) and "rolled back" in str(caught.value)
    assert project.applied() == ["20240601_090000_initial"]
    backups = project.path.parent / "backups"
    assert not backups.exists() or not any(".partial" in entry.name for entry in backups.iterdir())


def test_system_exit_in_keep_alive_is_raised_as_itself_with_the_rollback_noted(project, every_tick):
    """An app that quits from its splash's close button quits; the note says what became of the batch."""
    project.add("001_big.py", "20240601_090000_big", f'''
        schema.sql("CREATE TABLE big (x)")
        schema.sql("{BIG_INSERT}")
    ''')

    def keep_alive():
        raise SystemExit(3)

    with pytest.raises(SystemExit) as caught:
        project.database(keep_alive=keep_alive).register_models([])
    assert caught.value.code == 3
    assert any("stopped the batch" in note and "rolled back" in note for note in caught.value.__notes__)
    assert project.applied() == []


def test_an_exception_in_on_progress_is_a_callback_error_and_the_whole_batch_is_rolled_back(project):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE note (body TEXT)")')
    project.add("002_tags.py", "20240602_090000_tags", 'schema.sql("CREATE TABLE tag (name TEXT)")')

    def on_progress(index, total, migration):
        if index == 2:
            raise SplashClosed("gone")

    with pytest.raises(CallbackError) as caught:
        project.database(on_progress=on_progress).register_models([])
    assert isinstance(caught.value.__cause__, SplashClosed) and caught.value.callback == "on_progress"
    assert "on_progress callback stopped the batch before migration 20240602_090000_tags" in str(caught.value)
    assert project.applied() == [] and project.rows("SELECT name FROM sqlite_master WHERE type = 'table'") == []


def test_keep_alive_is_called_between_steps_that_run_no_long_statement(project, every_tick):
    """Many quick migrations: no statement reaches SQLite's progress handler, and the splash still gets its turns."""
    for number in range(1, 4):
        project.add(f"00{number}_step.py", f"2024060{number}_090000_step{number}",
                    f'schema.sql("CREATE TABLE t{number} (x)")')
    events = []
    project.database(
        keep_alive=lambda: events.append("keep_alive"),
        on_progress=lambda index, total, migration: events.append(index),
    ).register_models([])
    for index in (1, 2, 3):
        assert events.index(index) > 0 and events[events.index(index) - 1] == "keep_alive", events
    assert events[-1] == "keep_alive"  # after the last step too: the foreign-key check and the commit come next


def test_keep_alive_is_called_while_the_committed_file_is_checked_for_orphans_it_already_had(project, every_tick):
    """A file with orphan rows makes the foreign-key check read the committed file too, on a second connection."""
    project.add("001_initial.py", "20240601_090000_initial", '''
        schema.sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        schema.sql("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))")
    ''')
    project.launch()
    connection = project.connect()
    connection.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                       "INSERT INTO child SELECT i, i FROM n")  # every row an orphan, as old apps leave them
    connection.commit()
    connection.close()
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    checking = []

    def keep_alive():
        frame = sys._getframe()
        while frame is not None:
            checking.append(frame.f_code.co_name)
            frame = frame.f_back

    project.database(keep_alive=keep_alive, env="development").register_models([])
    assert "committed_fk_violations" in checking
    assert project.applied() == ["20240601_090000_initial", "20240602_090000_more"]


LOCK_HOLDER = """
import sqlite3, sys, time
from pathlib import Path
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")  # another instance of the app, migrating the same file
Path(sys.argv[2]).write_text("locked")
deadline = time.monotonic() + 60
while not Path(sys.argv[3]).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
connection.execute("COMMIT")
"""


def hold_the_write_lock(project, tmp_path):
    """A real second process holding BEGIN IMMEDIATE until the file ``release`` appears; returns (process, release)."""
    locked, release = tmp_path / "locked", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(project.path), str(locked), str(release)])
    deadline = time.monotonic() + 30
    while not locked.exists() and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert locked.exists(), "the lock holder did not start"
    return holder, release


def test_keep_alive_is_called_while_the_launch_waits_for_another_instances_write_lock(project, tmp_path):
    """The other instance lets go only once keep_alive has been called three times: a frozen wait never ends."""
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE note (body TEXT)")')
    project.launch()
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    holder, release = hold_the_write_lock(project, tmp_path)
    calls = []

    def keep_alive():
        calls.append(1)
        if len(calls) == 3:
            release.write_text("go")

    try:
        report = project.database(keep_alive=keep_alive, lock_timeout=20, env="development").register_models([])
    finally:
        release.write_text("go")
        holder.wait(timeout=30)
    assert report.applied == ["20240602_090000_more"] and len(calls) >= 3


def test_an_exception_in_keep_alive_while_waiting_for_the_lock_is_a_callback_error_and_changes_nothing(
    project, tmp_path
):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE note (body TEXT)")')
    project.launch()
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    holder, release = hold_the_write_lock(project, tmp_path)
    try:
        with pytest.raises(CallbackError) as caught:
            project.database(keep_alive=closing_splash(), lock_timeout=20, env="development").register_models([])
    finally:
        release.write_text("go")
        holder.wait(timeout=30)
    assert isinstance(caught.value.__cause__, SplashClosed)
    assert "waiting for another process's write lock" in str(caught.value) and "Nothing was changed" in str(caught.value)
    assert project.applied() == ["20240601_090000_initial"]


# The measurement README quotes ----------------------------------------------------------------------------------

REBUILD = '''
import peewee
from app_db import Migration


class Step(Migration):
    id = "20240602_090000_retype"
    name = "Retype"

    def up(self, schema):
        schema.alter_column_type("item", "n", peewee.TextField())
'''


def measure_gaps(root: Path, rows: int = 300_000) -> None:
    """Print the longest gaps between keep_alive calls during a production launch that rebuilds a table."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    path = root / "app.sqlite3"
    (migrations / "001_initial.py").write_text(f'''
from app_db import Migration


class Step(Migration):
    id = "20240601_090000_initial"
    name = "Initial"

    def up(self, schema):
        schema.sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        schema.sql("INSERT INTO parent VALUES (1)")
        schema.sql("CREATE TABLE item (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id), value TEXT, n INTEGER)")
        schema.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
                   "INSERT INTO item SELECT i, 1, 'value ' || i || ' and some text to make a row', i FROM n")
        schema.sql("CREATE INDEX item_parent ON item (parent_id)")
''')
    Database("Gaps", migrations=migrations, path=path, env="production").register_models([])
    (migrations / "002_retype.py").write_text(REBUILD)
    events: list[tuple[float, str]] = []
    database = Database("Gaps", migrations=migrations, path=path, env="production",
                        keep_alive=lambda: events.append((time.perf_counter(), "")))
    database.db.connection().set_trace_callback(lambda sql: events.append((time.perf_counter(), " ".join(sql.split())[:60])))
    from app_db import runner

    def backup_before(*args, **kwargs):  # the backup runs on its own connection: no trace callback sees it
        events.append((time.perf_counter(), "the pre-update backup"))
        return original_backup(*args, **kwargs)

    original_backup, runner.backup_before = runner.backup_before, backup_before
    try:
        started = time.perf_counter()
        database.register_models([])
        finished = time.perf_counter()
    finally:
        runner.backup_before = original_backup
    database.close()
    events.append((finished, ""))
    gaps, last_call, during = [], started, []
    for (moment, statement), (following, _) in zip(events, events[1:] + [(finished, "")]):
        if statement:
            during.append((following - moment, statement.split(" (")[0]))
            continue
        slowest = sorted(during, reverse=True)[:2]
        gaps.append((moment - last_call, "; ".join(f"{text} {seconds:.3f} s" for seconds, text in slowest)))
        last_call, during = moment, []
    print(f"Production launch rebuilding a table of {rows:,} rows (alter_column_type, backup first): "
          f"{finished - started:.2f} s, {len(gaps) - 1} keep_alive calls")
    print("Longest gaps between two calls (the last: until register_models returned), s, and the slowest statements in it:")
    for gap, statements in sorted(gaps, reverse=True)[:4]:
        print(f"  {gap:.3f}  {statements or '(inside one statement)'}")

if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        measure_gaps(Path(folder))
