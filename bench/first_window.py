"""Time to first window: the demo app on a large notebook, a real Tk window under Xvfb.

An older user's file (release 2) of N notes is upgraded by the launch (the
production backup, then five migrations, one of them a rebuild of ``note``)
before the notes window can appear; the launch after it has nothing pending.
Each run is a whole ``python`` process on a fresh copy of the template, timed
from just before it is spawned to the moment the notes window is mapped,
filled and idle (``run_gui``'s ``on_first_window``, which then closes it).
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.launch import Sample, child_env, run_script
from bench.project import write_script

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"  # demo_helpers: the notebook builder and Xvfb

_CHILD = """\
import sys
import time
from pathlib import Path

from demo_app.gui import run_gui


def on_first_window(root):
    Path({marker!r}).write_text(repr(time.time()))
    root.destroy()


code = run_gui(Path({db!r}), on_first_window=on_first_window)
if code:
    sys.exit(code)  # only on failure: the wrapper still has the peak RSS to write
"""


@dataclass
class FirstWindow:
    """Seconds from spawn to the first notes window, per variant."""

    notes: int
    pending: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)


def _timed_run(script: Path, env: dict[str, str], marker: Path) -> Sample:
    marker.unlink(missing_ok=True)
    spawned = time.time()
    whole = run_script(script, env)
    if not marker.exists():
        raise RuntimeError(f"{script} exited without showing the notes window")
    return Sample(float(marker.read_text()) - spawned, whole.peak_rss_kib)


def run_first_window(root: Path, notes: int, rounds: int, log: Callable[[str], None]) -> FirstWindow | None:
    """None (with the reason logged) where no X server can start."""
    sys.path.insert(0, str(TESTS))
    from demo_helpers import RELEASE_2, build_large_notebook, start_virtual_display

    display, reason = start_virtual_display()
    if display is None:
        log(f"first window: skipped ({reason})")
        return None
    try:
        log(f"first window: building a release-2 file of {notes:,} notes")
        template = root / "template" / "notes.sqlite3"
        template.parent.mkdir(parents=True)
        build_large_notebook(template, notes, release=RELEASE_2)
        from demo_app.db import notes_database

        database = notes_database(template)
        pending = len(database.pending())
        database.close()
        work = root / "work" / "notes.sqlite3"
        marker = root / "first-window"
        script = write_script(root, _CHILD.format(marker=str(marker), db=str(work)))
        # demo_app from this checkout, whether or not it is installed in the environment
        env = child_env({"DISPLAY": display.name, "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])})
        result = FirstWindow(notes=notes, pending=pending)
        for round_index in range(rounds):
            log(f"first window: round {round_index + 1} of {rounds}")
            shutil.rmtree(work.parent, ignore_errors=True)  # backups/ too: every round backs up afresh
            work.parent.mkdir(parents=True)
            shutil.copyfile(template, work)
            os.sync()
            result.samples.setdefault("after an upgrade", []).append(_timed_run(script, env, marker))
            result.samples.setdefault("next launch, nothing pending", []).append(_timed_run(script, env, marker))
        return result
    finally:
        display.stop()
        shutil.rmtree(root, ignore_errors=True)
