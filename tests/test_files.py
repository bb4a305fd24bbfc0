"""app_db/files.py: the one helper for renames and deletes retries another program's brief hold, and gives up."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys

import pytest

from app_db import BackupError, files
from app_db.backup import backup_database

from conftest import REPO, run_python


def sharing_violation(winerror: int) -> PermissionError:
    error = PermissionError(13, "The process cannot access the file because it is being used by another process")
    error.winerror = winerror  # what Windows sets; the retry keys on it, not on sys.platform
    return error


@pytest.fixture
def flaky(monkeypatch):
    """Make os.replace / os.unlink fail ``times`` times with a Windows sharing violation, then work."""
    waits = []
    monkeypatch.setattr(files.time, "sleep", waits.append)

    def install(name: str, times: int, winerror: int = 32):
        real = getattr(os, name)
        calls = []

        def failing(*args, **kwargs):
            calls.append(args)
            if len(calls) <= times:
                raise sharing_violation(winerror)
            return real(*args, **kwargs)

        monkeypatch.setattr(os, name, failing)
        return calls

    install.waits = waits
    return install


@pytest.mark.parametrize("winerror", [5, 32, 33])
def test_a_rename_blocked_for_a_moment_by_another_program_is_retried(tmp_path, flaky, winerror):
    source, target = tmp_path / "copy.partial", tmp_path / "copy"
    source.write_text("new")
    target.write_text("old")
    calls = flaky("replace", 3, winerror)

    files.replace_file(source, target)

    assert target.read_text() == "new" and not source.exists()
    assert len(calls) == 4 and len(flaky.waits) == 3


def test_a_rename_blocked_for_good_raises_the_error_and_leaves_both_files(tmp_path, flaky):
    source, target = tmp_path / "copy.partial", tmp_path / "copy"
    source.write_text("new")
    target.write_text("old")
    calls = flaky("replace", 1000)

    with pytest.raises(PermissionError) as caught:
        files.replace_file(source, target)

    assert caught.value.winerror == 32
    assert len(calls) == len(files.RETRY_DELAYS) + 1 and sum(flaky.waits) == pytest.approx(sum(files.RETRY_DELAYS))
    assert source.read_text() == "new" and target.read_text() == "old"


def test_other_errors_are_not_retried(tmp_path, flaky):
    calls = flaky("unlink", 0)
    assert files.remove_file(tmp_path / "missing") is False
    with pytest.raises(IsADirectoryError if os.name != "nt" else PermissionError):
        files.remove_file(tmp_path)
    assert len(calls) == 2 and flaky.waits == []


def test_a_delete_blocked_for_a_moment_is_retried(tmp_path, flaky):
    doomed = tmp_path / "old.sqlite3"
    doomed.write_text("x")
    flaky("unlink", 2)
    assert files.remove_file(doomed, durable=True) is True and not doomed.exists()


def test_make_folder_creates_the_parents_too(tmp_path):
    files.make_folder(tmp_path / "a" / "b" / "backups")
    files.make_folder(tmp_path / "a" / "b" / "backups")  # already there: nothing to do
    assert (tmp_path / "a" / "b" / "backups").is_dir()


# Retries seen from a backup ---------------------------------------------------------------------
def backed_up_project(project):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.create_table("note", {"body": peewee.TextField()})')
    project.launch()
    return project.path


def partials(path):
    return sorted(entry.name for entry in (path.parent / "backups").glob("*.partial*"))


def test_a_backup_whose_rename_is_blocked_a_few_times_succeeds(project, flaky):
    path = backed_up_project(project)
    calls = flaky("replace", 3)

    copy = backup_database(path)

    assert copy.is_file() and len(calls) == 4 and partials(path) == []


def test_a_backup_whose_rename_stays_blocked_is_a_backup_error_and_leaves_no_partial(project, flaky):
    path = backed_up_project(project)
    flaky("replace", 1000)

    with pytest.raises(BackupError, match="no partial backup was left") as caught:
        backup_database(path)

    assert str(path) in str(caught.value) and caught.value.__cause__.winerror == 32
    assert partials(path) == [] and list((path.parent / "backups").iterdir()) == []


def test_a_backup_whose_partial_cannot_be_deleted_either_still_raises_the_backup_error_naming_it(project, flaky):
    path = backed_up_project(project)
    flaky("replace", 1000)
    flaky("unlink", 1000)

    with pytest.raises(BackupError) as caught:  # not the PermissionError of the cleanup
        backup_database(path)

    [partial] = partials(path)
    assert f"the partial copy {path.parent / 'backups' / partial} could not be deleted" in str(caught.value)


# The open-descriptor test mode ----------------------------------------------------------------------
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the strict mode reads /proc/<pid>/fd")


def test_strict_mode_is_on_for_the_suite_and_the_processes_it_starts():
    assert files.STRICT_FILES
    assert run_python("from app_db import files; print(files.STRICT_FILES)").stdout.strip() == "True"


@needs_proc
def test_renaming_a_file_this_process_holds_open_is_refused_naming_the_file_and_the_holder(tmp_path):
    held, target = tmp_path / "held.sqlite3", tmp_path / "renamed.sqlite3"
    held.write_text("data")
    with open(held) as handle:
        descriptor = handle.fileno()
        with pytest.raises(files.FileHeldOpenError) as caught:
            files.replace_file(held, target)
        with pytest.raises(PermissionError):  # as a target too: Windows cannot replace an open file
            files.replace_file(tmp_path / "other", held)

    message = str(caught.value)
    assert f"descriptor {descriptor} of this process still holds {held} open" in message
    assert caught.value.winerror == 32 and caught.value.filename == str(held)
    assert held.read_text() == "data" and not target.exists()
    files.replace_file(held, target)  # closed: allowed
    assert target.read_text() == "data"


@needs_proc
def test_deleting_the_wal_of_an_open_sqlite_connection_is_refused_until_it_closes(tmp_path):
    path = tmp_path / "app.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.commit()

    with pytest.raises(files.FileHeldOpenError, match="app.sqlite3-wal open"):
        files.remove_file(f"{path}-wal")
    connection.close()  # the last connection checkpoints and deletes the -wal itself

    assert files.remove_file(path) is True


@needs_proc
def test_a_file_a_watched_child_process_holds_open_cannot_be_deleted(tmp_path):
    held = tmp_path / "app.sqlite3"
    held.write_text("data")
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys; f = open({str(held)!r}); print('open', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    unwatch = files.watch_process(child.pid)
    try:
        assert child.stdout.readline().strip() == "open"
        with pytest.raises(files.FileHeldOpenError, match=f"of process {child.pid} still holds"):
            files.remove_file(held)
    finally:
        unwatch()
        child.communicate("\n", timeout=30)

    assert files.WATCHED_PROCESSES == [] and files.remove_file(held) is True


def test_strict_mode_is_off_without_the_variable(tmp_path):
    held = tmp_path / "held"
    held.write_text("data")
    result = run_python(
        f"""
        from app_db import files
        with open({str(held)!r}):
            files.replace_file({str(held)!r}, {str(tmp_path / 'renamed')!r})
        print(files.STRICT_FILES)
        """,
        env={"APP_DB_STRICT_FILES": ""},
    )
    assert result.stdout.strip() == "False", result.stderr
    assert (tmp_path / "renamed").read_text() == "data"


def test_every_rename_and_delete_in_the_library_and_the_demo_goes_through_app_db_files():
    """Windows' retries and the strict mode live in app_db/files.py: a direct call would skip both."""
    direct = re.compile(r"\bos\.(replace|renames?|unlink|remove|removedirs|rmdir)\(|\.unlink\(|\.rename\(|shutil\.(move|rmtree)\(")
    found = [
        f"{source.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("app_db", "demo_app")
        for source in sorted((REPO / folder).rglob("*.py"))
        if source != REPO / "app_db" / "files.py"
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
        if direct.search(line)
    ]
    assert found == []


@needs_proc
def test_deleting_another_name_of_an_open_file_is_refused_as_windows_locks_the_file_not_the_name(tmp_path):
    held, second = tmp_path / "app.sqlite3", tmp_path / "app.sqlite3.damaged-20261201-220000-000000"
    held.write_text("data")
    files.link_file(held, second)  # a hard link: one file, two names
    with open(held):
        with pytest.raises(files.FileHeldOpenError, match="damaged-20261201-220000-000000 open"):
            files.remove_file(second)
    assert files.remove_file(second) is True and held.read_text() == "data"
