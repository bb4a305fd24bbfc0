"""``python -m bench.squash``: the fresh install of a squashed 500-migration history, against the fresh install at N=1.

The history is bench.spec's (migration i creates table ``t{i}``), written
as app_db's bench project writes it; ``app-db squash`` (app_db.squash)
then writes one baseline replacing all N. Installed afresh, rounds
interleaved: N=1, N unsquashed, the baseline with the N originals still shipped beside
it (the release that introduces it), the baseline alone (once the
originals are deleted), and two floors, python + sqlite3 creating one
table and the N tables in one transaction: what SQLite itself charges
for the schema. Each launch is a whole ``python`` process, timed wall and
CPU (user + system: it moves less with a shared machine's load) as
bench.frozen times them. The Markdown table goes to stdout. Goal: at
most 1.2 x the fresh install at N=1.
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

from bench import machine, spec, tool_app_db
from bench.project import Project, new_layout, write_script
from bench.frozen import spawn_seconds
from bench.launch import child_env, run_script

GOAL = 1.2


def write_projects(root: Path, n: int) -> dict[str, Project]:
    """label -> Project: the floors, N=1, N unsquashed, the squashed history with its originals, the baseline alone."""
    from app_db import Database
    from app_db.squash import squash_migrations

    single = tool_app_db.write_project(root / "n1", 1)
    unsquashed = tool_app_db.write_project(root / "unsquashed", n)
    shipped = tool_app_db.write_project(root / "squashed", n)
    database = Database("BenchApp", migrations=shipped.migrations_dir, path=root / "scratch.sqlite3", env="test")
    result = squash_migrations(database, spec.timestamp_id(n), "baseline")
    alone = tool_app_db.write_project(root / "baseline-only", 0)
    shutil.copy(result.path, alone.migrations_dir / result.path.name)
    floors = {count: write_floor(root / f"floor{count}", count) for count in (1, n)}
    return {
        "floor: python + sqlite3, CREATE TABLE t1 in one transaction": floors[1],
        f"floor: python + sqlite3, the {n} CREATE TABLEs in one transaction": floors[n],
        "fresh install, N=1": single,
        f"fresh install, N={n}, not squashed": unsquashed,
        f"fresh install, N={n} squashed: the baseline with the {n} originals still shipped": shipped,
        f"fresh install, N={n} squashed: the baseline alone (originals deleted)": alone,
    }


def write_floor(root: Path, count: int) -> Project:
    """What creating ``count`` tables costs SQLite itself: a script that only opens the file and creates them.

    SQLite scans sqlite_master at each CREATE TABLE, so the cost grows
    faster than the count: the part of a squashed install no tool can avoid.
    """
    root, _migrations, db_path = new_layout(root, "floor")
    statements = "\n".join(f"    {spec.create_sql(i)!r}," for i in range(1, count + 1))
    script = write_script(root, f"""import sqlite3
connection = sqlite3.connect({str(db_path)!r}, isolation_level=None)
connection.execute("PRAGMA journal_mode = WAL")
connection.execute("BEGIN IMMEDIATE")
for statement in [
{statements}
]:
    connection.execute(statement)
connection.execute("COMMIT")
""")
    return Project("floor", root, script, db_path, None)


def table(samples: dict[str, list[tuple[float, float]]]) -> str:
    """The Markdown table: wall and CPU ms (median, min–max) per project, each × the fresh install at N=1."""
    def cell(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.1f} ({min(values) * 1000:.1f}–{max(values) * 1000:.1f})"

    base = samples["fresh install, N=1"]
    lines = ["| fresh install (one whole process) | wall ms: median (min–max) | × N=1 | CPU ms: median (min–max) | × N=1 |",
             "| --- | --- | --- | --- | --- |"]
    for label, found in samples.items():
        columns = []
        for kind in (0, 1):
            values = [sample[kind] for sample in found]
            columns += [cell(values),
                        f"{statistics.median(values) / statistics.median(sample[kind] for sample in base):.2f}"]
        lines.append(f"| {label} | " + " | ".join(columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.squash", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="migrations in the squashed history (default: 500)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved fresh installs per project (default: 15)")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-squash-"))
    try:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        projects = write_projects(root, args.n)
        env = child_env()
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in projects}
        for project in projects.values():  # warm-up: writes the .pyc files an installed app has
            project.reset_database()
            run_script(project.script, env)
        for round_number in range(args.rounds):
            print(f"round {round_number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            for label, project in projects.items():
                project.reset_database()
                samples[label].append(spawn_seconds([sys.executable, str(project.script)], env))
        given = " ".join(argv if argv is not None else sys.argv[1:])
        print(f"Machine: {machine.describe(sys.executable)}; load average {load_before:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end; {args.rounds} rounds, interleaved. Command: "
              f"`python -m bench.squash{' ' + given if given else ''}` (took {time.perf_counter() - started:.0f} s).")
        print()
        print(table(samples))
        base = {kind: statistics.median(sample[kind] for sample in samples["fresh install, N=1"]) for kind in (0, 1)}
        worst = max(statistics.median(sample[kind] for sample in found) / base[kind]
                    for label, found in samples.items() if "squashed:" in label for kind in (0, 1))
        cpu = {label: statistics.median(sample[1] for sample in found) for label, found in samples.items()}
        floors = [label for label in samples if label.startswith("floor")]
        alone = next(label for label in samples if "alone" in label)
        sqlite_part = cpu[floors[1]] - cpu[floors[0]]
        print()
        print(f"SQLite's own part (CPU): the {args.n}-table floor takes {sqlite_part * 1000:.1f} ms more than the "
              f"one-table floor ({sqlite_part / base[1]:.2f} x the fresh install at N=1); the baseline alone takes "
              f"{(cpu[alone] - base[1]) * 1000:.1f} ms more than the fresh install at N=1.")
        print(f"Goal (at most {GOAL} x the fresh install at N=1, wall and CPU): "
              + ("met." if worst <= GOAL else f"missed: the worst takes {worst:.2f} x."))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
