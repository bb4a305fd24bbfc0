"""``python -m bench.guard``: what the transaction guard (SQLite's authorizer around up()/down()) costs a data migration.

The authorizer is a Python callback SQLite calls while it prepares a
statement (a few calls per statement), never while it steps one. So its cost
depends on how many statements a migration prepares, not on the rows they
touch. Three data migrations over 100,000 rows, each run with the guard and
with the guard replaced by a no-op, rounds interleaved, on a fresh copy of
the same WAL file:

- one INSERT statement with parameters, run 100,000 times (prepared once:
  Python's sqlite3 caches it);
- 100,000 UPDATE statements, each with its own text (each one prepared: the
  worst case);
- one UPDATE of all 100,000 rows.

Prints a Markdown table: median seconds (min-max) per variant, the ratio
of the medians, and how many times SQLite called the authorizer in one run
(a count, so it does not depend on the machine's load).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sqlite3
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

ROWS = 100_000
SCENARIOS = {
    "100,000 INSERTs, one statement with parameters": '''
        for number in range(ROWS):
            schema.db.execute_sql("INSERT INTO fresh (value) VALUES (?)", (number,))
    ''',
    "100,000 UPDATEs, each its own statement text": '''
        for number in range(1, ROWS + 1):
            schema.db.execute_sql(f"UPDATE item SET value = value + 1 WHERE id = {number}")
    ''',
    "one UPDATE of 100,000 rows": '''
        schema.db.execute_sql("UPDATE item SET value = value * 2")
    ''',
}


def write_template(path: Path, rows: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = wal")
    connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
    connection.execute("CREATE TABLE fresh (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
    connection.executemany("INSERT INTO item (value) VALUES (?)", ((number,) for number in range(rows)))
    connection.commit()
    connection.close()


def write_migration(folder: Path, body: str, rows: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_data.py").write_text(
        "from app_db import Migration\n\n"
        f"ROWS = {rows}\n\n\n"
        "class Data(Migration):\n"
        '    id = "20240601_090000_data"\n\n'
        "    def up(self, schema):\n" + textwrap.indent(textwrap.dedent(body).strip(), " " * 8) + "\n"
    )


@contextlib.contextmanager
def no_guard():
    """The runner with the guard replaced by a context that installs nothing."""
    from app_db import runner

    installed = runner.guarding
    runner.guarding = lambda connection, guard=None: contextlib.nullcontext(guard)  # type: ignore[assignment]
    try:
        yield
    finally:
        runner.guarding = installed


@contextlib.contextmanager
def counting_calls(counter: list[int]):
    """The guard, counting the authorizer calls into ``counter[0]``."""
    from app_db.guard import StatementGuard

    decide = StatementGuard.__call__

    def counted(self, *args):
        counter[0] += 1
        return decide(self, *args)

    StatementGuard.__call__ = counted  # type: ignore[method-assign]
    try:
        yield
    finally:
        StatementGuard.__call__ = decide  # type: ignore[method-assign]


def run_once(template: Path, workdir: Path, migrations: Path, guarded: bool) -> float:
    from app_db import Database

    target = workdir / "app.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    database = Database("GuardBench", migrations=migrations, path=target, env="test")
    with contextlib.nullcontext() if guarded else no_guard():
        started = time.perf_counter()
        database.migrate()
        elapsed = time.perf_counter() - started
    database.close()
    return elapsed


def describe(samples: list[float]) -> str:
    return f"{statistics.median(samples):.3f} ({min(samples):.3f}–{max(samples):.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.guard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args(argv)
    print(f"Data migrations over {args.rows:,} rows, {args.rounds} interleaved rounds; SQLite {sqlite3.sqlite_version}.\n")
    print("| data migration | with the guard, s | without, s | × without | authorizer calls per run |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="app-db-guard-bench-") as folder:
        root = Path(folder)
        template = root / "template.sqlite3"
        write_template(template, args.rows)
        for index, (title, body) in enumerate(SCENARIOS.items()):
            migrations = root / f"migrations_{index}"
            write_migration(migrations, body, args.rows)
            times: dict[bool, list[float]] = {True: [], False: []}
            for round_number in range(args.rounds):
                for guarded in (round_number % 2 == 0, round_number % 2 != 0):
                    times[guarded].append(run_once(template, root, migrations, guarded))
            calls = [0]
            with counting_calls(calls):
                run_once(template, root, migrations, True)
            ratio = statistics.median(times[True]) / statistics.median(times[False])
            print(
                f"| {title.replace('100,000', f'{args.rows:,}')} | {describe(times[True])} | {describe(times[False])} "
                f"| {ratio:.2f} | {calls[0]:,} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
