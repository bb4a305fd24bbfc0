"""Run every reliability scenario at one scale and print the README's Markdown table.

    python -m tests.stress            # short: the CI scale
    python -m tests.stress --full     # the published figures

Exit status: 0 when every run survived, 1 when one did not (its problems are
printed after the table).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Windows' rule for open files, enforced here too (app_db/files.py), as in the pytest run.
os.environ.setdefault("APP_DB_STRICT_FILES", "1")

from . import scenarios  # noqa: E402
from .power_cut import power_cuts  # noqa: E402
from .properties import property_round_trips  # noqa: E402
from .scenarios import Outcome  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(scenarios.SCALES), default=None,
                        help="how many runs per scenario (default: $APP_DB_STRESS, else short)")
    parser.add_argument("--full", action="store_const", const="full", dest="scale", help="same as --scale full")
    options = parser.parse_args(argv)
    scale = options.scale or scenarios.current_scale()
    runs = scenarios.SCALES[scale]
    import peewee

    root = Path(tempfile.mkdtemp(prefix="app-db-stress-"))
    os.chmod(root, 0o755)  # the not-writable scenario's unprivileged child must reach it
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    try:
        reference = scenarios.build_reference(root / "reference")
        steps: list[Callable[[], Outcome]] = [
            lambda: scenarios.kill_at_random_points(reference, runs["kill"]),
            lambda: scenarios.simultaneous_launches(root / "simultaneous", runs["simultaneous"]),
            lambda: scenarios.disk_full(reference, runs["disk_full"]),
            lambda: scenarios.not_writable(reference),
            lambda: scenarios.bad_migration_files(reference),
            lambda: scenarios.unusual_files(reference),
            lambda: property_round_trips(runs["properties"], root / "properties"),
            lambda: power_cuts(root / "power-cut", runs["power_cut_samples"], runs["power_cut_states"])[0],
        ]
        for step in steps:
            step_started = time.perf_counter()
            outcome = step()
            outcome.seconds = time.perf_counter() - step_started
            outcomes.append(outcome)
            print(f"  {outcome.scenario}: {outcome.survived}/{outcome.runs} in {outcome.seconds:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - started
    command = "python -m tests.stress" + ("" if scale == "short" else " --full" if scale == "full" else f" --scale {scale}")
    print(f"Scale `{scale}`, measured by `{command}` in {elapsed:.0f} s on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"peewee {peewee.__version__}.\n")
    print("| Scenario | Runs | Survived, nothing lost | What was checked | Observed |")
    print("|---|---:|---:|---|---|")
    for outcome in outcomes:
        print(f"| {outcome.scenario} | {outcome.runs} | {outcome.survived} | {outcome.checked} | {outcome.notes or ''} |")
    failed = [outcome for outcome in outcomes if outcome.failures or outcome.survived != outcome.runs]
    for outcome in failed:
        print(f"\n{outcome.scenario}:", *(f"  - {failure}" for failure in outcome.failures), sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
