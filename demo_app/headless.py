"""``--headless``: the same launch without a window, for machines with no display, scripts and CI."""

from __future__ import annotations

import sys

from app_db import AppDbError

from .launch import describe_problem, open_notes, progress_text
from .notes import count_notes

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at every start
if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

    from app_db import Migration


def run_headless(path: Path | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Launch, print where the database is and what was applied; 0 on success, 1 on a launch error."""
    out = out if out is not None else sys.stdout  # looked up now: tests and callers may redirect it
    err = err if err is not None else sys.stderr

    first_start = [False]  # told by open_notes before the first migration runs

    def before_migrating(pending: list, fresh_install: bool) -> None:
        first_start[0] = fresh_install

    def on_progress(index: int, total: int, migration: Migration) -> None:
        print(progress_text(index, total, migration, fresh_install=first_start[0]), file=out, flush=True)

    try:
        launched = open_notes(path, on_progress=on_progress, before_migrating=before_migrating)
    except AppDbError as error:
        problem = describe_problem(error)
        print(problem.headline, file=err)
        print(problem.detail, file=err)
        print(f"Next step: {problem.next_step}", file=err)
        if problem.folder is not None:
            print(f"Data folder: {problem.folder}", file=err)
        print(f"Details: {problem.technical}", file=err)
        return 1
    print(f"Database: {launched.path}", file=out)
    if launched.applied:
        count = len(launched.applied)
        migrations = f"{count} migration{'' if count == 1 else 's'}"
        done = f"Set up a new notebook with {migrations}" if launched.fresh_install else f"Applied {migrations}"
        print(f"{done}:", file=out)
        for migration in launched.applied:
            print(f"  {migration.id}  {migration.name}", file=out)
    for baseline in launched.recorded:
        print(f"Recorded {baseline.id}  {baseline.name} without running it (the file had every migration it replaces)",
              file=out)
    if not launched.applied and not launched.recorded:
        print("Up to date: no migration was pending.", file=out)
    if launched.backup is not None:
        print(f"Backup taken before migrating: {launched.backup}", file=out)
    notes = count_notes()
    print(f"Notes: {notes}" if notes else "Notes: none yet", file=out)
    launched.close()
    return 0
