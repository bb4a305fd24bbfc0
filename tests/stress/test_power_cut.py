"""Power cuts: the model finds what an unsynced write or rename can lose, and a launch, a backup and a restore lose nothing.

The model's own tests trace small scripts whose outcome is known; the
operations' tests trace app_db at the scale $APP_DB_STRESS names.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from . import crash_model, power_cut, scenarios
from .crash_model import History

pytestmark = [
    pytest.mark.stress,
    pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)"),
]

RUNS = scenarios.SCALES[scenarios.current_scale()]


def trace_script(tmp_path: Path, body: str) -> History:
    """Run a Python script under strace in tmp_path/app (given as FOLDER); its History."""
    folder = tmp_path / "app"
    folder.mkdir(exist_ok=True)
    script = tmp_path / "script.py"
    script.write_text("import os, sys\nFOLDER = sys.argv[1]\n" + textwrap.dedent(body))
    return crash_model.trace_command(folder, [sys.executable, str(script), str(folder)], tmp_path / "returned")


def trees_at_end(history: History, samples: int = 2) -> list[dict]:
    last = len(history.events) - 1
    return [{path: (None if where is None else history.content(*where)) for path, where in history.layout(chosen).items()}
            for point, _, chosen in history.states(samples) if point == last]


WRITE_AND_RENAME = """
fd = os.open(os.path.join(FOLDER, "copy.partial"), os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"complete")
os.fsync(fd)
os.close(fd)
os.replace(os.path.join(FOLDER, "copy.partial"), os.path.join(FOLDER, "copy"))
"""


def test_a_rename_whose_folder_was_never_fsynced_can_be_lost(tmp_path):
    trees = trees_at_end(trace_script(tmp_path, WRITE_AND_RENAME))
    assert {"copy": b"complete"} in trees  # it may have reached the disk
    assert {} in trees  # or not even the file's creation did


def test_a_rename_followed_by_an_fsync_of_its_folder_survives_with_its_fsynced_bytes(tmp_path):
    history = trace_script(tmp_path, WRITE_AND_RENAME + """
fd = os.open(FOLDER, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
""")
    assert trees_at_end(history) == [{"copy": b"complete"}] * len(trees_at_end(history))


def test_unsynced_writes_reach_the_disk_as_any_prefix_and_fsynced_bytes_are_never_overwritten_by_a_later_write(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "data").write_bytes(b"old old old")
    history = trace_script(tmp_path, """
fd = os.open(os.path.join(FOLDER, "data"), os.O_RDWR)
os.pwrite(fd, b"new", 0)
os.fsync(fd)
os.pwrite(fd, b"NEW", 0)
os.pwrite(fd, b"XYZ", 8)
os.pwrite(fd, b"+", 11)
os.close(fd)
""")
    contents: set[bytes] = {tree["data"] for tree in trees_at_end(history, samples=2)}
    assert b"new old old" in contents  # nothing after the fsync
    assert b"NEW old XYZ+" in contents  # all of it
    assert b"NEW old old" in contents  # a prefix
    assert all(content.startswith((b"new", b"NEW")) for content in contents)  # the fsynced write is never undone
    assert b"new old XYZ" not in contents  # writes reach the disk in order


def test_an_unlink_and_a_rename_in_one_unsynced_folder_reach_the_disk_in_either_order(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "oldest").write_bytes(b"old backup")
    history = trace_script(tmp_path, WRITE_AND_RENAME + """
os.unlink(os.path.join(FOLDER, "oldest"))
""")
    trees = trees_at_end(history)
    assert {"oldest": b"old backup"} in trees  # nothing reached the disk
    assert {"copy": b"complete"} in trees  # everything did
    assert {} in trees  # the unlink alone: the old copy is gone and the new one is not there


def assert_no_state_lost_anything(report: power_cut.CrashReport) -> None:
    assert report.states > 0 and report.distinct > 0
    assert report.failures == {}, "\n".join(report.summary())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return power_cut.build_world(tmp_path_factory.mktemp("power-cut"))


def check(world, action: str) -> power_cut.CrashReport:
    return power_cut.power_cut_operation(world, action, RUNS["power_cut_samples"], RUNS["power_cut_states"])


def test_a_power_cut_during_a_migrating_launch_leaves_the_old_or_new_file_and_the_pre_update_backup(world):
    assert_no_state_lost_anything(check(world, "launch"))


@pytest.mark.parametrize("action", ["backup", "cli-backup"])
def test_a_power_cut_during_a_backup_leaves_every_backup_whole_and_the_new_one_once_it_returned(world, action):
    assert_no_state_lost_anything(check(world, action))


def test_a_power_cut_during_a_restore_leaves_the_old_or_restored_file_and_the_before_restore_backup(world):
    assert_no_state_lost_anything(check(world, "restore"))


def test_a_power_cut_during_a_restore_over_a_damaged_file_leaves_the_damaged_or_the_restored_file_never_none(world):
    assert_no_state_lost_anything(check(world, "restore-damaged"))


def hex_string(text: str) -> str:
    return '"' + "".join(f"\\x{byte:02x}" for byte in text.encode()) + '"'


def test_a_call_strace_split_across_two_lines_is_read_whole_and_a_cut_string_is_refused():
    fd = f"3<{hex_string('/app/db')[1:-1]}>"
    log = (f"7 pwrite64({fd}, {hex_string('page')}, 4, 8192 <unfinished ...>\n"
           "8 close(5) = 0\n"
           f"7 <... pwrite64 resumed>) = 4\n"
           f"7 write({fd}, {hex_string('cut')}..., 4096) = 4096\n")
    calls = crash_model.parse_trace(log)
    assert [(call.pid, call.name) for call in calls] == [(8, "close"), (7, "pwrite64"), (7, "write")]
    assert crash_model.string_argument(calls[1].args[1]) == b"page" and calls[1].args[3] == "8192"
    with pytest.raises(crash_model.TraceError, match="cut a string short"):
        crash_model.string_argument(calls[2].args[1])
