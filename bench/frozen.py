"""``python -m bench.frozen``: the no-op launch of the demo frozen by PyInstaller (onedir), against a frozen floor.

The floor is a script that imports peewee, opens the file and runs one
SELECT, built by the same PyInstaller command: what any frozen peewee app
pays (the bootloader, unpacking nothing, the interpreter, peewee). The demo
runs ``AppDbNotes --headless --path FILE`` on a file that is up to date.
Both are built once into a temporary folder, launched alternately, and the
Markdown row goes to stdout. Goal: at most 1.1 x the floor. Where valgrind is
installed, each is also run once under callgrind: the instructions a launch
executes barely move with a shared machine's load, as its time does.
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


def spawn_seconds(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process, spawned as bench.launch spawns a script; raise if it fails.

    CPU (user + system, from wait4) is shown too: on a shared machine it
    moves far less with the other processes' load than the wall time.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return seconds, usage.ru_utime + usage.ru_stime


def count_instructions(argv: list[str], env: dict[str, str]) -> float | None:
    """Instructions one launch executes, every process of it (valgrind's callgrind), or None without valgrind.

    Unlike time, the count hardly moves with the other processes of a
    shared machine, so it tells a 2 % change from noise in one launch.
    """
    import re
    import subprocess

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    done = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", "--trace-children=yes",
                           *argv], env=env, capture_output=True, text=True, timeout=600)
    counts = [int(value.replace(",", "")) for value in re.findall(r"Collected : ([\d,]+)", done.stderr)]
    return float(sum(counts)) if done.returncode == 0 and counts else None


# app_db's part alone: the demo's launch without the demo's front end (argparse, dataclasses, printing).
LAUNCH_SCRIPT = """\
import sys

from app_db import Database
from demo_app.models import MODELS

Database("AppDbNotes", migrations="demo_app.migrations", path=sys.argv[1]).register_models(MODELS)
"""
PYINSTALLER_LAUNCH = "pyinstaller --noconfirm --name Launch --paths . --collect-submodules demo_app.migrations launch.py"


def build_all(workspace: Path) -> dict[str, list[str]]:
    """The floor (also with pkgutil), app_db's launch alone and the demo, each built by PyInstaller onedir: name -> command."""
    sys.path.insert(0, str(REPO / "tests"))
    from packaging_builds import FLOOR_SCRIPT, PYINSTALLER_FLOOR, build, run_commands, stage_app

    demo = build("pyinstaller-onedir", workspace / "demo")
    floor = workspace / "floor"
    floor.mkdir()
    (floor / "floor.py").write_text(FLOOR_SCRIPT)
    run_commands([PYINSTALLER_FLOOR], floor)
    # What app_db's discovery avoids: pkgutil anywhere in a bundle makes PyInstaller import it at each start.
    with_pkgutil = workspace / "floor-pkgutil"
    with_pkgutil.mkdir()
    (with_pkgutil / "floor.py").write_text("import pkgutil\n" + FLOOR_SCRIPT)
    run_commands([PYINSTALLER_FLOOR], with_pkgutil)
    launch = stage_app(workspace / "launch")
    (launch / "launch.py").write_text(LAUNCH_SCRIPT)
    run_commands([PYINSTALLER_LAUNCH], launch)
    return {
        "floor": [str(floor / "dist" / "Floor" / "Floor")],
        "floor-pkgutil": [str(with_pkgutil / "dist" / "Floor" / "Floor")],
        "launch": [str(launch / "dist" / "Launch" / "Launch")],
        "demo": [*demo.command, "--headless", "--path"],
    }


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
        print("building the floor, the launch and the demo with PyInstaller ...", file=sys.stderr, flush=True)
        commands = build_all(root)
        database = root / "notes.sqlite3"
        env = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "APP_DB_PATH", "PYTHONPATH")}
        argvs = {name: [*command, str(database)] for name, command in commands.items()}
        spawn_seconds(argvs["demo"], env)  # the fresh install: 7 migrations; every later launch is a no-op
        for argv in argvs.values():  # warm the page cache
            spawn_seconds(argv, env)
        times: dict[str, list[float]] = {name: [] for name in argvs}
        cpu: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(args.rounds):
            for name, argv in argvs.items():
                wall, used = spawn_seconds(argv, env)
                times[name].append(wall)
                cpu[name].append(used)
        instructions = {name: count_instructions(argv, env) for name, argv in argvs.items()}
        floor, floor_cpu = statistics.median(times["floor"]), statistics.median(cpu["floor"])
        described = machine.describe(sys.executable)
        print(f"Machine: {described}; load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
              f"{args.rounds} rounds, interleaved. Command: `python -m bench.frozen`.\n")
        print("| frozen no-op launch (PyInstaller onedir, 7 migrations, nothing pending) | wall ms: median (min–max) "
              "| × frozen floor | CPU ms: median (min–max) | × frozen floor | instructions, millions (callgrind) "
              "| × frozen floor |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        labels = {
            "floor": "frozen floor: import peewee, open, one SELECT",
            "floor-pkgutil": "the floor with pkgutil in the bundle (what app_db's discovery avoids)",
            "launch": "app_db's launch alone: Database(...).register_models(MODELS)",
            "demo": "the demo: AppDbNotes --headless --path FILE",
        }
        for name, label in labels.items():
            counted, floor_counted = instructions[name], instructions["floor"]
            counts = (f"{counted / 1e6:.1f} | {counted / floor_counted:.3f}" if counted and floor_counted
                      else "– (no valgrind) | –")
            print(f"| {label} | {fmt(times[name])} | {statistics.median(times[name]) / floor:.2f} "
                  f"| {fmt(cpu[name])} | {statistics.median(cpu[name]) / floor_cpu:.2f} | {counts} |")
        ratio = statistics.median(times["demo"]) / floor
        print(f"\nGoal, the demo at most {GOAL} x the frozen floor (wall time): "
              f"{'PASS' if ratio <= GOAL else 'FAIL'} ({ratio:.2f} x)")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
