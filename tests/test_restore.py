"""Restore: never deletes its source, atomic at every crash point, durable, bounded by lock_timeout, any page size."""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from syscall_trace import index, needs_strace, trace

from app_db import ConfigurationError, DatabaseCorruptError, DatabaseNotWritableError, MigrationError, files, restore
from app_db.backup import backup_kind, list_backups, list_damaged
from app_db.restore import move_damaged_aside

from conftest import REPO, run_python


def initial(project):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.create_table("note", {"body": peewee.TextField()})')


def write_notes(path: Path, *bodies: str, replace: bool = True) -> None:
    connection = sqlite3.connect(path)
    try:
        if replace:
            connection.execute("DELETE FROM note")
        connection.executemany("INSERT INTO note (body) VALUES (?)", [(body,) for body in bodies])
        connection.commit()
    finally:
        connection.close()


def notes(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in connection.execute("SELECT body FROM note ORDER BY id")]
    finally:
        connection.close()


def quick_check(path: Path) -> str:
    """'ok', or what SQLite says is wrong."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        connection.close()


@pytest.fixture
def saved(project):
    """A project at 001 holding 'old'; returns a backup (outside backups/) holding 'saved'."""
    initial(project)
    database = project.database()
    database.register_models([])
    write_notes(project.path, "saved")
    copy = database.backup(project.root / "saved.sqlite3")
    write_notes(project.path, "old")
    database.close()
    return copy


def update_backups(project, count: int) -> list[Path]:
    """``count`` launches, each adding a migration, so each takes a pre-update backup."""
    made = []
    for number in range(2, 2 + count):
        project.add(f"{number:03d}_t{number}.py", f"202406{number:02d}_090000_t{number}", f'schema.sql("CREATE TABLE t{number} (x)")')
        made.append(project.database().register_models([]).backup)
    return made


# The restore that deleted its source -------------------------------------------------------------------
def test_restoring_the_oldest_backup_keeps_it_and_every_other_backup(project, saved):
    originals = update_backups(project, 5)
    assert list_backups(project.path) == originals

    for source in originals:  # one after another, oldest first: the eviction
        safety = project.database().restore(source)
        assert source.exists() and safety.exists() and backup_kind(project.path, safety) == "restore"

    assert all(source.exists() for source in originals)
    assert quick_check(originals[0]) == "ok"


def test_restoring_the_oldest_before_restore_copy_keeps_it(project, saved):
    database = project.database()
    for _ in range(5):
        database.restore(saved)
    oldest = [entry for entry in list_backups(project.path) if backup_kind(project.path, entry) == "restore"][0]

    safety = database.restore(oldest)

    assert oldest.exists() and safety.exists()
    assert notes(project.path) == notes(oldest)


# Retention by kind ---------------------------------------------------------------------------------------
def test_pre_update_backups_are_never_pushed_out_by_manual_restore_or_rollback_copies(project, saved):
    updates = update_backups(project, 4)
    project.add("006_keeps.py", "20240606_090000_keeps", 'schema.sql("CREATE TABLE keeps (x)")', down='raise RuntimeError("no way back")')
    database = project.database()
    updates.append(database.register_models([]).backup)

    manual = [database.backup() for _ in range(7)]
    for _ in range(7):
        with pytest.raises(MigrationError):
            database.rollback()
    for _ in range(7):
        database.restore(saved)

    backups = list_backups(project.path)
    kinds = [backup_kind(project.path, entry) for entry in backups]
    assert [entry for entry in backups if backup_kind(project.path, entry) == "update"] == updates
    assert [entry for entry in backups if backup_kind(project.path, entry) == "manual"] == manual  # never pruned
    assert kinds.count("restore") == 5 and kinds.count("rollback") == 5


def test_pre_update_backups_keep_their_own_count_of_five(project, saved):
    made = update_backups(project, 7)
    assert list_backups(project.path) == made[-5:]


# Lock timeout ---------------------------------------------------------------------------------------------
def test_restore_gives_up_after_lock_timeout_while_another_process_holds_the_write_lock(project, saved):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            connection = sqlite3.connect({str(project.path)!r}, isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO note (body) VALUES ('uncommitted')")
            print("locked", flush=True)
            sys.stdin.readline()
            connection.execute("ROLLBACK")
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        done = run_python(f"""
            import json
            from app_db import Database, DatabaseLockedError
            database = Database("TestApp", path={str(project.path)!r}, migrations={str(project.migrations)!r},
                                env="production", lock_timeout=0.5)
            try:
                database.restore({str(saved)!r})
                print(json.dumps(["restored"]))
            except DatabaseLockedError as exc:
                print(json.dumps(["locked", str(exc)]))
        """, timeout=60)  # without a bound, restore waited as long as the lock was held
    finally:
        holder.communicate("\n", timeout=30)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome[0] == "locked", done.stderr
    assert str(project.path) in outcome[1] and "0.5 s" in outcome[1] and "Nothing was changed" in outcome[1]
    assert "app-db restore" not in outcome[1]
    assert notes(project.path) == ["old"]


# Page sizes ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backup_page_size, live_page_size", [(1024, 4096), (65536, 4096), (4096, 512)])
def test_restore_works_across_page_sizes_into_a_wal_file_an_app_keeps_open(project, saved, backup_page_size, live_page_size):
    resize(saved, backup_page_size)
    if live_page_size != 4096:
        connection = sqlite3.connect(project.path)
        connection.execute("PRAGMA journal_mode = DELETE")
        resize(project.path, live_page_size)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.close()
    app = project.database()
    app.register_models([])
    assert app.db.execute_sql("SELECT body FROM note").fetchall() == [("old",)]  # the app keeps its file open

    safety = app.restore(saved)

    assert app.db.execute_sql("SELECT body FROM note").fetchall() == [("saved",)]
    assert notes(project.path) == ["saved"] and notes(safety) == ["old"]
    connection = sqlite3.connect(project.path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    assert read_page_size(saved) == backup_page_size  # the source is only read


def resize(path: Path, page_size: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA page_size = {page_size}")
    connection.execute("VACUUM")
    connection.close()
    assert read_page_size(path) == page_size


def read_page_size(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA page_size").fetchone()[0]
    finally:
        connection.close()


# Damage, judged by SQLite ---------------------------------------------------------------------------------
def damaged_pages(project) -> bytes:
    """Fill the file with rows, then overwrite a page in the middle: the header stays a valid SQLite header."""
    write_notes(project.path, *(f"note {number} " + "x" * 200 for number in range(500)))
    connection = sqlite3.connect(project.path)
    connection.execute("PRAGMA journal_mode = DELETE")  # everything in the main file, no -wal
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    connection.close()
    data = bytearray(project.path.read_bytes())
    middle = len(data) // page_size // 2
    data[middle * page_size : (middle + 2) * page_size] = b"\xff" * (2 * page_size)
    project.path.write_bytes(bytes(data))
    assert data[:16] == b"SQLite format 3\x00" and quick_check(project.path) != "ok"
    return bytes(data)


def test_a_file_with_a_valid_header_over_damaged_pages_is_restored_and_kept_aside(project, saved):
    damaged = damaged_pages(project)

    aside = project.database().restore(saved)

    assert aside.name.startswith("app.sqlite3.damaged-") and aside.read_bytes() == damaged
    assert notes(project.path) == ["saved"] and quick_check(project.path) == "ok"
    assert project.database().register_models([]).applied == []


def test_a_truncated_file_is_restored_and_kept_aside(project, saved):
    damaged = damaged_pages(project)
    project.path.write_bytes(damaged[: len(damaged) // 3])

    aside = project.database().restore(saved)

    assert aside.read_bytes() == damaged[: len(damaged) // 3]
    assert notes(project.path) == ["saved"]


def test_a_file_whose_wal_holds_a_valid_page_1_is_not_damaged(project, saved):
    """The app crashed with its changes in the -wal; the main file's first page was then overwritten.
    SQLite reads page 1 from the -wal, so the file is healthy: it is backed up (with those changes), not moved aside."""
    killed = run_python(f"""
        import os, signal, sqlite3
        connection = sqlite3.connect({str(project.path)!r})
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        connection.execute("CREATE TABLE extra (x)")  # page 1 (the schema) is now in the -wal
        connection.execute("INSERT INTO note (body) VALUES ('only in the wal')")
        connection.commit()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert killed.returncode == -9
    with open(project.path, "r+b") as handle:
        handle.write(b"garbage!" * 12)  # the header and the start of page 1
    assert quick_check(project.path) == "ok"

    safety = project.database().restore(saved)

    assert backup_kind(project.path, safety) == "restore"
    assert notes(safety) == ["old", "only in the wal"]
    assert notes(project.path) == ["saved"] and list_damaged(project.path) == []


def test_a_file_that_is_not_sqlite_is_moved_aside_with_its_wal(project, saved):
    for companion in ("-wal", "-shm"):
        project.path.with_name(project.path.name + companion).unlink(missing_ok=True)
    project.path.write_bytes(b"not a database" * 300)
    project.path.with_name(project.path.name + "-wal").write_bytes(b"\0" * 100)

    aside = project.database().restore(saved)

    assert aside.read_bytes() == b"not a database" * 300
    assert aside.with_name(aside.name + "-wal").read_bytes() == b"\0" * 100
    assert not project.path.with_name(project.path.name + "-wal").exists()  # never replayed into the restored file
    assert notes(project.path) == ["saved"]


def test_a_damaged_source_is_refused_and_nothing_changes(project, saved):
    data = bytearray(saved.read_bytes())
    data[len(data) - 512 :] = b"\xff" * 512
    saved.write_bytes(bytes(data))
    if quick_check(saved) == "ok":  # the last bytes were free space: damage the schema page instead
        data[100:600] = b"\xff" * 500
        saved.write_bytes(bytes(data))
    before = project.dump()

    with pytest.raises(DatabaseCorruptError, match="saved.sqlite3") as caught:
        project.database().restore(saved)

    assert "restore FILE" not in str(caught.value) and project.dump() == before
    assert saved.read_bytes() == bytes(data)


def test_an_empty_file_is_refused_as_a_source_and_nothing_changes(project, saved):
    empty = project.root / "empty.bin"
    empty.write_bytes(b"")  # what a power cut can leave of a copy
    before = project.dump()
    with pytest.raises(ConfigurationError, match="empty.bin: it holds no table at all"):
        project.database().restore(empty)
    assert project.dump() == before and notes(project.path) == ["old"]


def test_another_apps_database_is_refused_as_a_source_and_nothing_changes(project, saved):
    other = project.root / "other-app.sqlite3"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE invoices (number INTEGER PRIMARY KEY, total REAL)")
    connection.commit()
    connection.close()
    before = project.dump()
    with pytest.raises(ConfigurationError, match="another app's file"):
        project.database().restore(other)
    assert project.dump() == before and notes(project.path) == ["old"]


def test_a_restore_inside_the_apps_own_open_transaction_is_refused_at_once(project, saved):
    database = project.database()
    database.register_models([])
    before = list_backups(project.path)
    with database.db.atomic():
        database.db.execute_sql("INSERT INTO note (body) VALUES ('typing')")
        with pytest.raises(ConfigurationError, match="transaction open"):
            database.restore(saved)
    assert list_backups(project.path) == before  # not even a before-restore copy was taken
    database.close()
    assert notes(project.path) == ["old", "typing"]


@pytest.mark.parametrize("name", ["{db}", "{db}-wal", "{db}-journal", "existing.txt"])
def test_a_backup_never_overwrites_a_file_nor_takes_the_databases_own_names(project, saved, name):
    existing = project.root / "existing.txt"
    existing.write_text("the user's own file")
    destination = Path(name.format(db=project.path)) if "{db}" in name else existing
    database = project.database()
    database.register_models([])
    with pytest.raises(ConfigurationError, match="Nothing was changed"):
        database.backup(destination)
    database.close()
    assert existing.read_text() == "the user's own file" and notes(project.path) == ["old"]
    assert not Path(f"{project.path}-journal").exists()


def test_restore_into_a_missing_file_creates_it(project, saved):
    for suffix in ("", "-wal", "-shm"):
        project.path.with_name(project.path.name + suffix).unlink(missing_ok=True)

    assert project.database().restore(saved) is None
    assert notes(project.path) == ["saved"]


# Cleanup -------------------------------------------------------------------------------------------------
def test_a_launch_that_writes_removes_leftovers_and_keeps_the_newest_three_damaged_copies(project, saved):
    backups = project.path.parent / "backups"
    backups.mkdir(exist_ok=True)
    leftovers = [
        backups / "app-20240101-000000-000000-manual.sqlite3.partial",
        backups / "app-20240101-000000-000000-before-restore.sqlite3.partial-journal",
        project.path.with_name("app.sqlite3.restore.partial"),
        project.path.with_name("app.sqlite3.restore.partial-journal"),
        project.path.with_name("app.sqlite3.partial"),
    ]
    damaged = [project.path.with_name(f"app.sqlite3.damaged-2024010{day}-000000") for day in range(1, 6)]
    for entry in leftovers + damaged + [damaged[0].with_name(damaged[0].name + "-wal")]:
        entry.write_bytes(b"\0" * 4096)
    unrelated = backups / "app-dev-20240101-000000-000000-manual.sqlite3.partial"  # another database's
    unrelated.write_bytes(b"\0")

    project.database().register_models([])  # nothing pending: a launch that only reads leaves them
    assert all(entry.exists() for entry in leftovers + damaged)

    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    project.database().register_models([])

    assert not any(entry.exists() for entry in leftovers)
    assert list_damaged(project.path) == damaged[-3:]
    assert not damaged[0].with_name(damaged[0].name + "-wal").exists()
    assert unrelated.exists()


def test_restore_keeps_the_newest_three_damaged_copies_and_never_its_source(project, saved):
    arrivals = []
    for _ in range(5):
        for companion in ("-wal", "-shm"):
            project.path.with_name(project.path.name + companion).unlink(missing_ok=True)
        project.path.write_bytes(b"broken" * 1000)
        arrivals.append(project.database().restore(saved))
    assert list_damaged(project.path) == arrivals[-3:]


# A restore killed (SIGKILL) at every file operation ------------------------------------------------------
KILLING_CHILD = """
import os, signal, sqlite3, sys
from app_db import Database

stop, calls = int(sys.argv[1]), [0]

def count():
    calls[0] += 1
    if calls[0] == stop:
        os.kill(os.getpid(), signal.SIGKILL)

def killing(operation):
    def wrapper(*args, **kwargs):
        count()
        return operation(*args, **kwargs)
    return wrapper

for name in ("replace", "rename", "unlink", "link", "fsync", "mkdir"):
    setattr(os, name, killing(getattr(os, name)))


class CopyingPageByPage(sqlite3.Connection):
    # Every SQLite backup (the before-restore copy, the staged copy, the pages written into
    # the live file) goes one page per step, and each step is a point to be killed at.
    def backup(self, target, *, pages=-1, progress=None, name="main", sleep=0.25):
        def step(status, remaining, total):
            count()
            if progress is not None:
                progress(status, remaining, total)
        return super().backup(target, pages=1, progress=step, name=name, sleep=sleep)


connect = sqlite3.connect
sqlite3.connect = lambda *args, **kwargs: connect(*args, factory=CopyingPageByPage, **kwargs)
database = Database("TestApp", path=sys.argv[2], migrations=sys.argv[3], env="production")
database.restore(sys.argv[4])
print("restored", calls[0])
"""


def kill_restore_at_every_point(project, saved, old_state) -> list[str]:
    """Run the restore, killed at its 1st, 2nd, ... file operation or SQLite backup step, each time from the same starting files."""
    folder = project.path.parent
    start = {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file()}
    outcomes = []
    for stop in range(1, 100):
        for entry in folder.iterdir():
            if entry.is_file():
                entry.unlink()
        for name, data in start.items():
            (folder / name).write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-c", KILLING_CHILD, str(stop), str(project.path), str(project.migrations), str(saved)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
        )
        assert done.returncode in (0, -9), done.stderr
        assert project.path.exists() and project.path.stat().st_size > 0, f"killed at operation {stop}: file missing or empty"
        if old_state(project):
            outcomes.append("old")
        else:
            assert notes(project.path) == ["saved"] and quick_check(project.path) == "ok", f"killed at operation {stop}"
            outcomes.append("restored")
        launch = run_python(f"""
            from app_db import Database
            Database("TestApp", path={str(project.path)!r}, migrations={str(project.migrations)!r}, env="production").register_models([])
        """)
        assert launch.returncode == 0 or (outcomes[-1] == "old" and "DatabaseCorruptError" in launch.stderr), launch.stderr
        if done.returncode == 0:
            return outcomes
    raise AssertionError("the restore never finished")


@pytest.mark.slow
def test_a_restore_killed_at_any_point_over_a_healthy_file_leaves_the_old_or_the_restored_file(project, saved):
    outcomes = kill_restore_at_every_point(project, saved, lambda project: notes(project.path) == ["old"])
    assert outcomes[0] == "old" and outcomes[-1] == "restored" and len(outcomes) > 3


@pytest.mark.slow
def test_a_restore_killed_at_any_point_over_a_damaged_file_leaves_the_old_or_the_restored_file(project, saved):
    damaged = damaged_pages(project)
    outcomes = kill_restore_at_every_point(project, saved, lambda project: project.path.read_bytes() == damaged)
    assert outcomes[0] == "old" and outcomes[-1] == "restored" and len(outcomes) > 3


# Durable order, as strace sees it ------------------------------------------------------------------------
RESTORE = """
from app_db import Database
Database("TestApp", path={path!r}, migrations={migrations!r}, env="production").restore({source!r})
"""


@needs_strace
def test_a_restore_over_a_healthy_file_is_on_the_disk_when_it_returns_and_its_copy_before(project, saved, tmp_path):
    calls = trace(RESTORE.format(path=str(project.path), migrations=str(project.migrations), source=str(saved)), tmp_path)

    renamed = index(calls, "rename", "-before-restore.sqlite3")
    folder_synced = index(calls, "fsync", "/backups", renamed)
    committed = index(calls, "fsync", "app.sqlite3-wal", folder_synced)
    assert 0 <= renamed < folder_synced < committed, calls
    assert index(calls, "unlink", "saved.sqlite3") == -1


@needs_strace
def test_a_restore_over_a_damaged_file_keeps_it_first_and_syncs_the_new_file_before_and_its_name_after_the_rename(project, saved, tmp_path):
    damaged_pages(project)

    calls = trace(RESTORE.format(path=str(project.path), migrations=str(project.migrations), source=str(saved)), tmp_path)

    kept = index(calls, "link", "/data/app.sqlite3")  # its second name, app.sqlite3.damaged-<time>
    kept_synced = index(calls, "fsync", "/data", kept)
    staged_synced = index(calls, "fsync", "app.sqlite3.restore.partial")
    renamed = index(calls, "rename", "app.sqlite3.restore.partial")
    renamed_synced = index(calls, "fsync", "/data", renamed)
    assert 0 <= kept < kept_synced < renamed < renamed_synced, calls
    assert 0 <= staged_synced < renamed, calls
    assert calls[renamed].paths[-1] == str(project.path)


def test_a_restore_that_cannot_stage_its_copy_is_a_clear_error_and_leaves_the_damaged_file_as_it_was(project, saved):
    damaged = damaged_pages(project)
    project.path.with_name("app.sqlite3.restore.partial").mkdir()  # something in the way of the staged copy

    with pytest.raises(DatabaseNotWritableError) as caught:
        project.database().restore(saved)

    message = str(caught.value)
    assert str(project.path) in message and "was not replaced" in message and "app-db restore" not in message
    assert project.path.read_bytes() == damaged and list_damaged(project.path) == []
    assert saved.exists()


def test_an_empty_file_beside_a_wal_is_restored_and_the_wal_kept_aside(project, saved):
    for companion in ("-wal", "-shm"):
        project.path.with_name(project.path.name + companion).unlink(missing_ok=True)
    project.path.write_bytes(b"")
    project.path.with_name(project.path.name + "-wal").write_bytes(b"frames" * 100)

    aside = project.database().restore(saved)

    assert aside.read_bytes() == b"" and aside.with_name(aside.name + "-wal").read_bytes() == b"frames" * 100
    assert notes(project.path) == ["saved"]


def test_an_app_process_that_keeps_the_file_open_sees_the_restored_content(project, saved):
    app = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            connection = sqlite3.connect({str(project.path)!r})
            connection.execute("PRAGMA journal_mode = WAL")
            read = lambda: [row[0] for row in connection.execute("SELECT body FROM note")]
            print(read(), flush=True)
            sys.stdin.readline()
            connection.execute("INSERT INTO note (body) VALUES ('written after')")
            connection.commit()
            print(read(), flush=True)
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert app.stdout.readline().strip() == "['old']"

    project.database().restore(saved)

    out, _ = app.communicate("\n", timeout=30)
    assert out.strip() == "['saved', 'written after']"
    assert notes(project.path) == ["saved", "written after"] and quick_check(project.path) == "ok"


# Moving aside on every platform: connections closed, -wal first, undone on failure, unique names ---------
def sharing_violation() -> PermissionError:
    error = PermissionError(13, "The process cannot access the file because it is being used by another process")
    error.winerror = 32  # what Windows sets on a file another program holds open
    return error


@pytest.fixture
def blocked(monkeypatch):
    """Make os.replace onto (or from) ``path`` fail with WinError 32 ``times`` times; no real sleeping between retries."""
    monkeypatch.setattr(files.time, "sleep", lambda seconds: None)

    def install(path: Path, times: int = 1000) -> list[tuple]:
        real, calls = os.replace, []

        def replace(source, target, *args, **kwargs):
            if Path(target) == path or Path(source) == path:
                calls.append((source, target))
                if len(calls) <= times:
                    raise sharing_violation()
            return real(source, target, *args, **kwargs)

        monkeypatch.setattr(os, "replace", replace)
        return calls

    return install


def damaged_with_wal(project) -> bytes:
    for companion in ("-wal", "-shm"):
        project.path.with_name(project.path.name + companion).unlink(missing_ok=True)
    project.path.write_bytes(b"not a database" * 300)
    project.path.with_name(project.path.name + "-wal").write_bytes(b"frames" * 100)
    return project.path.read_bytes()


def companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def test_a_restore_whose_final_rename_is_blocked_a_few_times_succeeds(project, saved, blocked):
    damaged_with_wal(project)
    calls = blocked(project.path, times=3)

    aside = project.database().restore(saved)

    assert notes(project.path) == ["saved"] and companion(aside, "-wal").read_bytes() == b"frames" * 100
    assert len([call for call in calls if Path(call[1]) == project.path]) == 4


def test_a_restore_whose_final_rename_stays_blocked_moves_the_wal_back_and_leaves_no_partial(project, saved, blocked):
    damaged = damaged_with_wal(project)
    blocked(project.path)

    with pytest.raises(DatabaseNotWritableError, match="was not replaced"):
        project.database().restore(saved)

    assert project.path.read_bytes() == damaged  # as it was, its -wal beside it again
    assert companion(project.path, "-wal").read_bytes() == b"frames" * 100
    assert list_damaged(project.path) == [] and sorted(project.path.parent.glob("*.partial*")) == []


def test_a_move_aside_that_fails_at_the_main_file_moves_its_wal_back(project, saved, blocked):
    damaged = damaged_with_wal(project)
    blocked(project.path)

    with pytest.raises(DatabaseNotWritableError, match="Nothing was moved") as caught:
        move_damaged_aside(project.path)

    assert str(project.path) in str(caught.value)
    assert project.path.read_bytes() == damaged and companion(project.path, "-wal").read_bytes() == b"frames" * 100
    assert sorted(entry.name for entry in project.path.parent.iterdir() if ".damaged-" in entry.name) == []


def test_a_move_aside_moves_the_wal_and_shm_before_the_main_file(project, saved, monkeypatch):
    damaged_with_wal(project)
    companion(project.path, "-shm").write_bytes(b"index")
    order, real = [], os.replace
    monkeypatch.setattr(os, "replace", lambda source, target: (order.append(Path(source).name), real(source, target)))

    aside = move_damaged_aside(project.path)

    assert order == ["app.sqlite3-wal", "app.sqlite3-shm", "app.sqlite3"]
    assert [companion(aside, suffix).exists() for suffix in ("", "-wal", "-shm")] == [True, True, True]
    assert not any(companion(project.path, suffix).exists() for suffix in ("", "-wal", "-shm"))


def test_two_moves_aside_in_the_same_instant_keep_both_files(project, saved, monkeypatch):
    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime(2026, 12, 1, 22, 0, 0, tzinfo=tz)

    monkeypatch.setattr(restore, "datetime", SimpleNamespace(datetime=Frozen, timezone=datetime.timezone))
    project.path.write_bytes(b"first")
    first = move_damaged_aside(project.path)
    project.path.write_bytes(b"second")
    second = move_damaged_aside(project.path)

    assert first != second and first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert list_damaged(project.path) == [first, second]  # oldest first


@pytest.mark.skipif(not files.STRICT_FILES or not os.path.isdir("/proc/self/fd"), reason="needs the strict-files mode")
def test_a_move_aside_while_this_process_holds_the_file_is_refused_and_moves_nothing(project, saved):
    connection = sqlite3.connect(project.path)  # an app that forgot to close its connection
    connection.execute("SELECT count(*) FROM note").fetchone()
    try:
        with pytest.raises(DatabaseNotWritableError, match="this process still holds"):
            move_damaged_aside(project.path)
    finally:
        connection.close()

    assert notes(project.path) == ["old"] and list_damaged(project.path) == []


@pytest.mark.skipif(not files.STRICT_FILES or not os.path.isdir("/proc/self/fd"), reason="needs the strict-files mode")
def test_a_restore_over_a_damaged_file_another_handle_holds_fails_whole_with_the_wal_back_in_place(project, saved):
    damaged = damaged_with_wal(project)
    with open(project.path, "rb"):  # another program (a viewer, a sync tool) holds the damaged file
        with pytest.raises(DatabaseNotWritableError, match="this process still holds") as caught:
            project.database().restore(saved)

    assert "was not replaced" in str(caught.value)
    assert project.path.read_bytes() == damaged and companion(project.path, "-wal").read_bytes() == b"frames" * 100
    # at most a second name of the untouched file is left: Windows refuses to delete it while held, too
    assert all(files.is_same_file(entry, project.path) for entry in list_damaged(project.path))
    assert sorted(project.path.parent.glob("*.partial*")) == []
    project.database().restore(saved)  # closed: the restore works
    assert notes(project.path) == ["saved"]


@pytest.mark.skipif(not files.STRICT_FILES or not os.path.isdir("/proc/self/fd"), reason="needs the strict-files mode")
def test_a_restore_over_a_damaged_file_an_open_app_holds_is_refused_whole_as_windows_would(project, saved):
    app = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            connection = sqlite3.connect({str(project.path)!r})
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("INSERT INTO note (body) VALUES ('typed in the app')")
            connection.commit()  # in the -wal, which the app keeps open
            print("open", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    unwatch = files.watch_process(app.pid)
    try:
        assert app.stdout.readline().strip() == "open"
        project.path.write_bytes(b"not a database" * 300)  # damaged in place, under the open app
        wal = companion(project.path, "-wal").read_bytes()
        with pytest.raises(DatabaseNotWritableError, match=f"process {app.pid} still holds") as caught:
            project.database().restore(saved)

        assert "was not replaced" in str(caught.value)  # and nothing moved, while the app still runs:
        assert project.path.read_bytes() == b"not a database" * 300 and companion(project.path, "-wal").read_bytes() == wal
        # at most a second name of the untouched file is left: Windows refuses to delete it while held, too
        assert all(files.is_same_file(entry, project.path) for entry in list_damaged(project.path))
        assert sorted(project.path.parent.glob("*.partial*")) == []
    finally:
        unwatch()
        app.communicate("\n", timeout=30)


def test_a_move_back_that_fails_too_says_where_each_file_is_now(project, saved, monkeypatch):
    damaged_with_wal(project)
    monkeypatch.setattr(files.time, "sleep", lambda seconds: None)
    real, wal = os.replace, companion(project.path, "-wal")

    def replace(source, target):
        if Path(target) in (project.path, wal):  # the restored copy cannot take the name, nor the -wal come back
            raise sharing_violation()
        return real(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(DatabaseNotWritableError, match="Rename them back by hand") as caught:
        project.database().restore(saved)

    [aside_wal] = [entry for entry in project.path.parent.iterdir() if entry.name.endswith("-wal")]
    assert f"app.sqlite3-wal at {aside_wal}" in str(caught.value) and aside_wal.read_bytes() == b"frames" * 100
