"""``python -m bench``: launch, large-upgrade and demo first-window benchmarks, printed as Markdown.

Progress goes to stderr, the Markdown report to stdout, the raw samples to
``bench/results/<time>.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine, report
from bench.checks import side_effects
from bench.launch import child_env
from bench.launches import run_launches
from bench.tools import ALL_TOOLS, version

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FULL = {"n": "1,10,100,500", "rounds": 21, "fresh_rounds": 5, "rows": 1_000_000, "backup_mb": 200, "upgrade_rounds": 5,
        "notes": 400_000, "window_rounds": 3}
QUICK = {"n": "1,10", "rounds": 5, "fresh_rounds": 2, "rows": 100_000, "backup_mb": 20, "upgrade_rounds": 1,
         "notes": 40_000, "window_rounds": 1}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", help=f"migration counts to measure (default: {FULL['n']})")
    parser.add_argument("--rounds", type=int, help=f"no-op launch rounds per N (default: {FULL['rounds']})")
    parser.add_argument("--fresh-rounds", type=int, help=f"fresh-install rounds per N (default: {FULL['fresh_rounds']})")
    parser.add_argument("--rows", type=int, help=f"rows in the rebuilt table (default: {FULL['rows']:,})")
    parser.add_argument("--backup-mb", type=int, help=f"size of the backed-up database (default: {FULL['backup_mb']})")
    parser.add_argument("--upgrade-rounds", type=int,
                        help=f"rounds of each large upgrade (default: {FULL['upgrade_rounds']})")
    parser.add_argument("--notes", type=int,
                        help=f"notes in the demo's notebook for the first-window row (default: {FULL['notes']:,})")
    parser.add_argument("--window-rounds", type=int,
                        help=f"rounds of the demo's first window (default: {FULL['window_rounds']})")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in under a minute; explicit flags still win (" +
                        ", ".join(f"{k}={v}" for k, v in QUICK.items()) + ")")
    parser.add_argument("--only", choices=("launch", "upgrade", "bulk", "window"),
                        help="run one part only (bulk: the bulk_insert row of the upgrades; "
                        "window: the demo's time to first window, needs Xvfb)")
    parser.add_argument("--tools", help="comma-separated subset of: " + ", ".join(t.name for t in ALL_TOOLS))
    parser.add_argument("--plot", type=Path, help="write the launch-time plot here (e.g. docs/launch-time.png)")
    parser.add_argument("--workdir", type=Path, help="where to generate projects (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.ns = sorted({int(n) for n in args.n.split(",")})
    return args


def selected_tools(names: str | None) -> list:
    if not names:
        return list(ALL_TOOLS)
    wanted = {name.strip() for name in names.split(",")}
    unknown = wanted - {t.name for t in ALL_TOOLS}
    if unknown:
        raise SystemExit(f"unknown tools: {', '.join(sorted(unknown))}")
    return [t for t in ALL_TOOLS if t.name in wanted]


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    tools = selected_tools(args.tools)
    labels = {t.name: f"{t.name} {version(t)}".strip() for t in tools}
    root = Path(tempfile.mkdtemp(prefix="app_db-bench-", dir=args.workdir))
    described = machine.describe(sys.executable)
    load_at_start = os.getloadavg()[0]
    if load_at_start > 0.25 * (os.cpu_count() or 1):
        log(f"warning: load average {load_at_start:.2f}: other processes are busy; min–max ranges will be wide")
    extras = machine.startup_extras(sys.executable, child_env())
    if extras:
        log(f"warning: this interpreter imports {', '.join(extras)} at startup (a .pth file); every launch "
            "pays for it. Use a clean venv with app_db installed non-editable or editable_mode=compat.")
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    out: list[str] = []
    record: dict = {"machine": described, "command": command, "startup_extras": extras,
                    "started": datetime.datetime.now().isoformat(timespec="seconds"), "args": vars(args) | {"plot": str(args.plot), "workdir": str(args.workdir)}}
    try:
        if args.only in (None, "launch"):
            results, projects = run_launches(tools, root / "launch", args.ns, args.rounds, args.fresh_rounds, log)
            top = max(args.ns)
            log(f"side-effect checks at N={top} (strace, audit hook)")
            effects = {}
            for name, project in projects[top].items():
                try:
                    effects[name] = side_effects(project)
                except subprocess.CalledProcessError as failure:
                    log(f"  ! side-effect check of {name} failed: exit {failure.returncode}")
            failures = [f"- {name} at N={n}: {r.error}" for n, runs in results.items()
                        for name, r in runs.items() if r.error]
            out += [f"**Launch**, {args.rounds} interleaved rounds (no-op) and {args.fresh_rounds} (fresh) per N; "
                    "ratios are of medians measured in the same rounds.", "",
                    report.noop_table(results, labels, effects), "", report.fresh_table(results, labels), "",
                    "Launch goals:", *report.launch_goals(results, effects), ""]
            if failures:
                out += ["Failed during the rounds (their numbers cover the rounds before):", *failures, ""]
            record["launch"] = {str(n): {name: dataclasses.asdict(r) | {"noop_writes": sorted(r.noop_writes)}
                                         for name, r in runs.items()} for n, runs in results.items()}
            record["side_effects"] = {name: dataclasses.asdict(e) for name, e in effects.items()}
            if args.plot:
                from bench.plot import plot_launch_times

                plot_launch_times(results, labels, described, args.plot)
                log(f"plot written to {args.plot}")
        if args.only in (None, "upgrade", "bulk"):
            from bench.upgrade import run_upgrades

            scenarios = run_upgrades(root / "upgrade", args.rows, args.backup_mb, args.upgrade_rounds, log,
                                     only="bulk" if args.only == "bulk" else None)
            out += [f"**Large upgrades**, {args.upgrade_rounds} interleaved rounds, whole processes.", "",
                    report.upgrade_table(scenarios), "", "Large-upgrade goals:", *report.upgrade_goals(scenarios), ""]
            record["upgrade"] = [dataclasses.asdict(s) for s in scenarios]
        if args.only in (None, "window"):
            from bench.first_window import run_first_window

            window = run_first_window(root / "window", args.notes, args.window_rounds, log)
            if window is not None:
                out += [f"**Demo app's first window**, {args.window_rounds} rounds, whole processes, "
                        "a real Tk window under Xvfb.", "", report.first_window_table(window), ""]
                record["first_window"] = dataclasses.asdict(window)
    finally:
        if args.keep:
            log(f"projects kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    elapsed = time.monotonic() - started
    record["seconds"] = elapsed
    took = f"{elapsed / 60:.1f} min" if elapsed >= 60 else f"{elapsed:.0f} s"
    header = [f"Machine: {described}; load average {load_at_start:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end.", f"Command: `{command}` (took {took}).", ""]
    if extras:
        header += [f"Warning: the interpreter imported {', '.join(extras)} at startup, in every launch.", ""]
    print("\n".join(header + out))
    RESULTS_DIR.mkdir(exist_ok=True)
    result_file = RESULTS_DIR / f"{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    result_file.write_text(json.dumps(record, indent=1, default=str))
    log(f"raw samples written to {result_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
