"""``python -m bench.profile_launch``: where app_db's no-op launch spends its time.

Three views of the same launch (an app_db project of N migrations, already
migrated, started in production with nothing pending):

1. the modules it imports beyond the floor with peewee, with their
   ``-X importtime`` self and cumulative times (median of K launches);
2. the launch's phases timed inside the process: ``import peewee``,
   ``import app_db``, ``Database(...)``, ``register_models`` (min and median);
3. ``cProfile`` of one ``register_models`` call, by cumulative time.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import floors, tool_app_db
from bench.launch import child_env, run_script

_PHASES = '''import time
t0 = time.perf_counter()
import peewee
t1 = time.perf_counter()
from app_db import Database
t2 = time.perf_counter()
{model}
database = Database("BenchApp", migrations={migrations!r}, path={db_path!r})
t3 = time.perf_counter()
database.register_models([T1])
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
'''

_PROFILE = '''import cProfile, pstats, peewee
from app_db import Database
{model}
database = Database("BenchApp", migrations={migrations!r}, path={db_path!r})
profile = cProfile.Profile()
profile.enable()
database.register_models([T1])
profile.disable()
pstats.Stats(profile).sort_stats("cumulative").print_stats({lines})
'''

_MODEL = '''class T1(peewee.Model):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=255, default="")
    value = peewee.IntegerField(null=True)

    class Meta:
        table_name = "t1"
'''


def import_times(script: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Module -> (median self ms, median cumulative ms) over ``runs`` launches."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", str(script)], env=child_env(),
                              capture_output=True, text=True, check=True)
        for line in done.stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                samples.setdefault(parts[2].strip(), []).append((int(parts[0]), int(parts[1])))
    return {name: (statistics.median(s for s, _ in values) / 1000, statistics.median(c for _, c in values) / 1000)
            for name, values in samples.items()}


def phases(source: str, folder: Path, runs: int) -> list[tuple[str, float, float]]:
    script = folder / "phases.py"  # not beside the project's folder named app_db, which would shadow the package
    script.write_text(source)
    rows = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, str(script)], env=child_env(), capture_output=True, text=True, check=True)
        rows.append([float(value) * 1000 for value in done.stdout.split()])
    names = ("import peewee", "import app_db", "Database(...)", "register_models")
    return [(name, min(r[i] for r in rows), statistics.median(r[i] for r in rows)) for i, name in enumerate(names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="migrations in the project (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=15, help="launches per measurement (default: %(default)s)")
    parser.add_argument("--lines", type=int, default=25, help="cProfile lines to print (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="app_db-profile-") as tmp:
        root = Path(tmp)
        project = tool_app_db.write_project(root / "app_db", args.n)
        floor = floors.write_floor_peewee(root / "floor", args.n)
        env = child_env()
        run_script(project.script, env)
        run_script(project.script, env)
        run_script(floor.script, env)
        scripts = root / "scripts"
        scripts.mkdir()
        fields = {"model": _MODEL, "migrations": str(project.migrations_dir), "db_path": str(project.db_path)}

        app_imports = import_times(project.script, args.runs)
        floor_imports = import_times(floor.script, args.runs)
        extra = sorted(((self_ms, cumulative, name) for name, (self_ms, cumulative) in app_imports.items()
                        if name not in floor_imports), reverse=True)
        print(f"Modules imported beyond floor+peewee at N={args.n} (-X importtime, median of {args.runs}; "
              f"sum of self times {sum(e[0] for e in extra):.1f} ms):")
        print("| module | self ms | cumulative ms |\n| --- | --- | --- |")
        for self_ms, cumulative, name in extra:
            print(f"| {name} | {self_ms:.2f} | {cumulative:.2f} |")

        print(f"\nPhases inside the process (ms, min / median of {args.runs}):")
        for name, low, median in phases(_PHASES.format(**fields), scripts, args.runs):
            print(f"- {name}: {low:.2f} / {median:.2f}")

        print("\ncProfile of register_models():")
        script = scripts / "register_models_cprofile.py"
        script.write_text(_PROFILE.format(lines=args.lines, **fields))
        sys.stdout.flush()
        subprocess.run([sys.executable, str(script)], env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
