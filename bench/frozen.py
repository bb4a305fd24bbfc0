"""``python -m bench.frozen``: the no-op launch of the demo frozen by PyInstaller (onedir), against a frozen floor.

The floor is a script that imports peewee, opens the file and runs one
SELECT, built by the same PyInstaller command: what any frozen peewee app
pays (the bootloader, unpacking nothing, the interpreter, peewee). The demo
runs ``AppDbNotes --headless --path FILE`` on a file that is up to date.
Both are built once into a temporary folder, launched alternately, and the
Markdown row goes to stdout. Goal: at most 1.1 x the floor.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import machine

REPO = Path(__file__).resolve().parent.parent
GOAL = 1.1


def spawn_seconds(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one whole process, spawned as bench.launch spawns a script; raise if it fails."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, _ = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return seconds


def build_both(workspace: Path) -> tuple[list[str], list[str]]:
    """(the demo's command, the floor's command), both built by PyInstaller onedir."""
    sys.path.insert(0, str(REPO / "tests"))
    from packaging_builds import FLOOR_SCRIPT, PYINSTALLER_FLOOR, build, run_commands

    demo = build("pyinstaller-onedir", workspace / "demo")
    floor = workspace / "floor"
    floor.mkdir()
    (floor / "floor.py").write_text(FLOOR_SCRIPT)
    run_commands([PYINSTALLER_FLOOR], floor)
    return demo.command, [str(floor / "dist" / "Floor" / "Floor")]


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ({min(values) * 1000:.1f}–{max(values) * 1000:.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.frozen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=31, help="launches of each, alternated (default 31)")
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="app_db-bench-frozen-"))
    try:
        print("building the demo and the floor with PyInstaller ...", file=sys.stderr, flush=True)
        demo, floor = build_both(root)
        database = root / "notes.sqlite3"
        env = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "APP_DB_PATH", "PYTHONPATH")}
        spawn_seconds([*demo, "--headless", "--path", str(database)], env)  # the fresh install: 7 migrations
        demo_argv = [*demo, "--headless", "--path", str(database)]
        floor_argv = [*floor, str(database)]
        for argv in (demo_argv, floor_argv):  # warm the page cache
            spawn_seconds(argv, env)
        demo_times, floor_times = [], []
        for _ in range(args.rounds):
            floor_times.append(spawn_seconds(floor_argv, env))
            demo_times.append(spawn_seconds(demo_argv, env))
        ratio = statistics.median(demo_times) / statistics.median(floor_times)
        described = machine.describe(sys.executable)
        print(f"Machine: {described}; load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
              f"{args.rounds} rounds. Command: `python -m bench.frozen`.\n")
        print("| frozen no-op launch (PyInstaller onedir), ms: median (min–max) | frozen floor | demo, headless | × floor |")
        print("| --- | --- | --- | --- |")
        print(f"| 7 migrations, nothing pending | {fmt(floor_times)} | {fmt(demo_times)} | {ratio:.2f} |")
        if ratio > GOAL:
            print(f"\nGoal missed: {ratio:.2f} x the frozen floor (goal: at most {GOAL} x).", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
