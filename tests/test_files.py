"""app_db/files.py: the one helper for renames and deletes retries another program's brief hold, and gives up."""

from __future__ import annotations

import os

import pytest

from app_db import files


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
