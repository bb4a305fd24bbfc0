"""The large-upgrade scenarios, each against what raw SQLite needs for the same work.

- rebuild: ``schema.add_not_null``, ``schema.drop_not_null`` (both rewrite
  the table's statement in place) and ``schema.alter_column_type`` (SQLite's
  12-step copy) on a table of R rows, each against the 12-step rebuild
  written by hand in the sqlite3 module for the same change, both on the
  same WAL file with synchronous=NORMAL (app_db's pragmas).
- backup: the production backup of a database of B MB, against a file copy
  of the same file followed by fsync (the backup is durable too). Measured
  twice: the backup call alone, and a production launch with one trivial
  pending migration (backup + migrate + launch overhead).

Every run is a whole process started from a fresh copy of a template file,
after ``os.sync()`` so that the copy's write-back does not land on the
timing. app_db's runs record when progress was reported; the report gives
the longest stretch of the run without a progress report.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.launch import LaunchFailed, Sample, child_env, run_script
from bench.project import write_script


@dataclass(frozen=True)
class Rebuild:
    """One column change on ``big.value``: how 001 creates it, the call 002 makes, what the table becomes."""

    operation: str
    path: str
    value_field: str
    call: str
    value_after: str  # the value column's definition after the change
    goal: float  # at most this × the 12-step rebuild by hand

    def table_sql(self, name: str) -> str:
        return (f'CREATE TABLE "{name}" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(255) NOT NULL, '
                f'"value" {self.value_after})')


REBUILDS = (
    Rebuild("add_not_null", "in place", "peewee.IntegerField(null=True)", 'schema.add_not_null("big", "value")',
            "INTEGER NOT NULL", 0.2),
    Rebuild("drop_not_null", "in place", "peewee.IntegerField()", 'schema.drop_not_null("big", "value")',
            "INTEGER", 0.2),
    Rebuild("alter_column_type", "12-step copy", "peewee.IntegerField(null=True)",
            'schema.alter_column_type("big", "value", peewee.TextField(null=True))', "TEXT", 1.5),
)

_TIMED_PRELUDE = "import time\nstarted = time.perf_counter()\nmarks = []\n"
_TIMED_EPILOGUE = (
    "import json\n"
    "json.dump({{'started': started, 'marks': marks, 'ended': time.perf_counter()}}, open({marks_path!r}, 'w'))\n"
)


@dataclass
class Scenario:
    """One large-upgrade scenario: its variants' samples and progress gaps."""

    title: str
    size: str
    baseline: str
    goal: float = 1.5
    """app_db at most this × the baseline."""
    long_step: bool = True
    """Whether one step takes long enough that progress must be reported during it
    (an in-place change is a handful of statements whose cost does not grow with the rows)."""
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    silences: dict[str, list[float]] = field(default_factory=dict)
    """Per variant and run: longest stretch (s) with no progress report."""
    silent_shares: dict[str, list[float]] = field(default_factory=dict)
    """Per variant and run: that stretch as a share of the whole run."""
    progress_counts: dict[str, list[int]] = field(default_factory=dict)
    goal_variants: tuple[str, ...] | None = None
    """The app_db variants the goal is for (None: every one); the others are shown for reference."""
    references: dict[str, str] = field(default_factory=dict)
    """Per reference variant, the variant doing the same work by hand that it is compared with."""


def _migration(class_name: str, migration_id: str, up_body: str) -> str:
    return f'''import peewee

from app_db import Migration


class {class_name}(Migration):
    id = {migration_id!r}
    name = {class_name!r}

    def up(self, schema):
{up_body}
'''


def _app_db_launch_source(migrations: Path, db_path: Path, env: str, marks_path: Path) -> str:
    return (_TIMED_PRELUDE
            + "from app_db import Database\n"
            + f"Database('BenchApp', migrations={str(migrations)!r}, path={str(db_path)!r}, env={env!r},\n"
            + "         on_progress=lambda index, total, migration: marks.append(time.perf_counter()),\n"
            + "         keep_alive=lambda: marks.append(time.perf_counter()),\n"
            + ").register_models([])\n"
            + _TIMED_EPILOGUE.format(marks_path=str(marks_path)))


def _silence(marks_path: Path) -> tuple[float, float, int]:
    """Longest stretch (s) of the run between progress reports, its share of
    the run, and the number of reports.

    The run is timed from the script's first line to its last, so a launch
    that reports once and then works silently shows nearly all of it as
    silence."""
    data = json.loads(marks_path.read_text())
    points = [data["started"], *data["marks"], data["ended"]]
    longest = max(b - a for a, b in zip(points, points[1:]))
    total = data["ended"] - data["started"]
    return longest, (longest / total if total > 0 else 0.0), len(data["marks"])


def _fresh_copy(template: Path, work: Path) -> None:
    """Put the template in place of ``work`` (and nothing beside it), then flush."""
    shutil.rmtree(work.parent, ignore_errors=True)
    work.parent.mkdir(parents=True)
    shutil.copyfile(template, work)
    os.sync()


def _apply_first_migration(root: Path, migrations: Path, template: Path) -> None:
    script = write_script(root, _app_db_launch_source(migrations, template, "development", root / "marks.json"))
    run_script(script, child_env())


def _checkpoint(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def build_rebuild_template(root: Path, rows: int, rebuild: Rebuild) -> tuple[Path, Path]:
    """A WAL file holding ``big`` (R rows, indexed ``name``, ``value`` filled) with migration
    001 applied; migration 002 makes the change."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_create_big.py").write_text(_migration(
        "CreateBig", "20240101_000001_create_big",
        '        schema.create_table("big", {"id": peewee.AutoField(), '
        f'"name": peewee.CharField(max_length=255, index=True), "value": {rebuild.value_field}}})'))
    template = root / "template.sqlite3"
    _apply_first_migration(root, migrations, template)
    con = sqlite3.connect(template)
    con.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                "INSERT INTO big (id, name, value) SELECT x, 'row ' || x, x FROM c", (rows,))
    con.commit()
    con.close()
    _checkpoint(template)
    (migrations / "002_change_value.py").write_text(_migration(
        "ChangeValue", "20240101_000002_change_value", f"        {rebuild.call}"))
    return template, migrations


def _raw_rebuild_source(db_path: Path, rebuild: Rebuild) -> str:
    steps = [
        "BEGIN IMMEDIATE",
        rebuild.table_sql("big__new"),
        'INSERT INTO "big__new" ("id", "name", "value") SELECT "id", "name", "value" FROM "big"',
        'DROP TABLE "big"',
        'ALTER TABLE "big__new" RENAME TO "big"',
        'CREATE INDEX "big_name" ON "big" ("name")',
        "PRAGMA foreign_key_check",
        "COMMIT",
    ]
    return ("import sqlite3\n"
            f"con = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
            "con.execute('PRAGMA synchronous = NORMAL')\n"
            "con.execute('PRAGMA foreign_keys = OFF')\n"
            f"for step in {steps!r}:\n"
            "    con.execute(step).fetchall()\n"
            "con.execute('PRAGMA foreign_keys = ON')\n"
            "con.close()\n")


def build_backup_template(root: Path, megabytes: int) -> tuple[Path, Path]:
    """A file of about ``megabytes`` MB (rows of 1000 random bytes) with migration
    001 applied; migration 002 adds a small table, so a production launch backs up."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_create_blobs.py").write_text(_migration(
        "CreateBlobs", "20240101_000001_create_blobs",
        '        schema.create_table("blobs", {"id": peewee.AutoField(), "data": peewee.BlobField()})'))
    template = root / "template.sqlite3"
    _apply_first_migration(root, migrations, template)
    con = sqlite3.connect(template)
    rows = megabytes * 1024 * 1024 // 1040
    con.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                "INSERT INTO blobs (data) SELECT randomblob(1000) FROM c", (rows,))
    con.commit()
    con.close()
    _checkpoint(template)
    (migrations / "002_create_notes.py").write_text(_migration(
        "CreateNotes", "20240101_000002_create_notes",
        '        schema.create_table("notes", {"id": peewee.AutoField(), "text": peewee.TextField()})'))
    return template, migrations


def _raw_copy_source(source: Path, target: Path) -> str:
    return ("import os, shutil\n"
            f"shutil.copyfile({str(source)!r}, {str(target)!r})\n"
            f"fd = os.open({str(target)!r}, os.O_RDONLY)\n"
            "os.fsync(fd)\n"
            "os.close(fd)\n")


def _backup_call_source(source: Path, target: Path, marks_path: Path) -> str:
    return (_TIMED_PRELUDE
            + "from pathlib import Path\n"
            + "from app_db.backup import backup_database\n"
            + f"backup_database(Path({str(source)!r}), destination=Path({str(target)!r}), keep=None,\n"
            + "                on_progress=lambda copied, total: marks.append(time.perf_counter()))\n"
            + _TIMED_EPILOGUE.format(marks_path=str(marks_path)))


def _script(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True)
    return write_script(folder, source)


def _record(scenario: Scenario, variant: str, sample: Sample, marks_path: Path | None) -> None:
    scenario.samples.setdefault(variant, []).append(sample)
    if marks_path is not None:
        silence, share, count = _silence(marks_path)
        scenario.silences.setdefault(variant, []).append(silence)
        scenario.silent_shares.setdefault(variant, []).append(share)
        scenario.progress_counts.setdefault(variant, []).append(count)


def run_rebuild(root: Path, rows: int, rounds: int, log: Callable[[str], None], rebuild: Rebuild) -> Scenario:
    log(f"{rebuild.operation}: building a table of {rows:,} rows")
    template, migrations = build_rebuild_template(root / "template", rows, rebuild)
    work = root / "work" / "app.sqlite3"
    marks = root / "marks.json"
    raw = _script(root / "raw", _raw_rebuild_source(work, rebuild))
    app = _script(root / "app_db", _app_db_launch_source(migrations, work, "development", marks))
    size_mb = template.stat().st_size / 1e6
    scenario = Scenario(f"{rebuild.operation} on {rows:,} rows ({rebuild.path})", f"{size_mb:.0f} MB file",
                        "12-step rebuild by hand in sqlite3", goal=rebuild.goal,
                        long_step=rebuild.path != "in place")
    _run_alternately(scenario, rebuild.operation, rounds, log, template, work, [("raw", raw, None), ("app_db", app, marks)],
                     lambda variant: _check_changed(work, rebuild))
    return scenario


def _run_alternately(scenario: Scenario, label: str, rounds: int, log: Callable[[str], None], template: Path,
                     work: Path, variants: list, check: Callable[[str], None]) -> None:
    """Each round runs every variant once on a fresh copy of ``template``, starting with the next one each round."""
    env = child_env()
    for round_index in range(rounds):
        log(f"{label}: round {round_index + 1} of {rounds}")
        start = round_index % len(variants)
        for variant, script, marks_path in variants[start:] + variants[:start]:
            _fresh_copy(template, work)
            _record(scenario, variant, run_script(script, env), marks_path)
            check(variant)


def _check_changed(db_path: Path, rebuild: Rebuild) -> None:
    con = sqlite3.connect(db_path)
    try:
        value = next(row for row in con.execute('PRAGMA table_info("big")') if row[1] == "value")
        count = con.execute("SELECT count(*) FROM big").fetchone()[0]
    finally:
        con.close()
    if (value[2] + (" NOT NULL" if value[3] else "")) != rebuild.value_after or count == 0:
        raise RuntimeError(f"{rebuild.operation} left big.value as {value} ({count} rows) in {db_path}")


def run_backup(root: Path, megabytes: int, rounds: int, log: Callable[[str], None]) -> Scenario:
    log(f"backup: building a {megabytes} MB database")
    template, migrations = build_backup_template(root / "template", megabytes)
    work = root / "work" / "app.sqlite3"
    copy_target = work.parent / "copy.sqlite3"
    marks = root / "marks.json"
    scripts = {}
    for variant, source in (
        ("raw", _raw_copy_source(work, copy_target)),
        ("app_db backup()", _backup_call_source(work, copy_target, marks)),
        ("app_db production launch", _app_db_launch_source(migrations, work, "production", marks)),
    ):
        scripts[variant] = _script(root / variant.replace(" ", "_").replace("(", "").replace(")", ""), source)
    size_mb = template.stat().st_size / 1e6
    scenario = Scenario(f"production backup of a {size_mb:.0f} MB database", f"{size_mb:.0f} MB file",
                        "file copy + fsync")
    env = child_env()
    names = list(scripts)
    for round_index in range(rounds):
        log(f"backup: round {round_index + 1} of {rounds}")
        for variant in names[round_index % len(names):] + names[:round_index % len(names)]:
            _fresh_copy(template, work)
            _record(scenario, variant, run_script(scripts[variant], env), None if variant == "raw" else marks)
    shutil.rmtree(work.parent, ignore_errors=True)
    return scenario


BULK_ROWS = "({{'name': f'row {{i}}', 'value': i}} for i in range({rows}))"  # the same rows as dicts
RAW_ROWS = "((f'row {{i}}', i) for i in range({rows}))"  # the rows as executemany takes them
# What the README recommends for a big table (tuples with fields=), and the dict form beside it for reference.
BULK_CALLS = {
    "app_db": f'schema.bulk_insert("big", {RAW_ROWS}, fields=("name", "value"))',
    "app_db, rows as dicts": f'schema.bulk_insert("big", {BULK_ROWS})',
}
BULK_GOAL_VARIANT = "app_db"
SAME_DICTS = "executemany of the same dicts (:name parameters)"  # the reference for the dict form


def build_bulk_template(root: Path, rows: int) -> tuple[Path, dict[str, Path]]:
    """A WAL file holding the empty table ``big`` (001 applied); per variant, a migrations folder whose 002 fills it."""
    create = _migration(
        "CreateBig", "20240101_000001_create_big",
        '        schema.create_table("big", {"id": peewee.AutoField(), '
        '"name": peewee.CharField(max_length=255), "value": peewee.IntegerField()})')
    folders = {}
    for index, variant in enumerate(BULK_CALLS):
        folder = root / f"migrations_{index}"
        folder.mkdir(parents=True)
        (folder / "001_create_big.py").write_text(create)  # the same bytes in each: the template's record fits all
        folders[variant] = folder
    template = root / "template.sqlite3"
    _apply_first_migration(root, folders[BULK_GOAL_VARIANT], template)
    _checkpoint(template)
    for variant, call in BULK_CALLS.items():
        (folders[variant] / "002_fill_big.py").write_text(_migration(
            "FillBig", "20240101_000002_fill_big", "        " + call.format(rows=rows)))
    return template, folders


def _raw_insert_source(db_path: Path, rows: int, dicts: bool = False) -> str:
    statement = ('INSERT INTO "big" ("name", "value") VALUES (:name, :value)' if dicts
                 else 'INSERT INTO "big" ("name", "value") VALUES (?, ?)')
    return ("import sqlite3\n"
            f"con = sqlite3.connect({str(db_path)!r}, isolation_level=None)\n"
            "con.execute('PRAGMA synchronous = NORMAL')\n"
            "con.execute('BEGIN IMMEDIATE')\n"
            f"con.executemany({statement!r}, {(BULK_ROWS if dicts else RAW_ROWS).format(rows=rows)})\n"
            "con.execute('COMMIT')\n"
            "con.close()\n")


def run_bulk_insert(root: Path, rows: int, rounds: int, log: Callable[[str], None]) -> Scenario:
    """``schema.bulk_insert`` of R rows in a launch, against executemany of the same rows in sqlite3.

    The goal is for the form README recommends for big tables (tuples with
    ``fields=``), against executemany of the same tuples; the dict form is
    shown beside executemany of the same dicts.
    """
    template, folders = build_bulk_template(root / "template", rows)
    work = root / "work" / "app.sqlite3"
    marks = root / "marks.json"
    variants = [("raw", _script(root / "raw", _raw_insert_source(work, rows)), None),
                (SAME_DICTS, _script(root / "raw_dicts", _raw_insert_source(work, rows, dicts=True)), None)]
    for index, (variant, folder) in enumerate(folders.items()):
        variants.append((variant, _script(root / f"app_db_{index}",
                                          _app_db_launch_source(folder, work, "development", marks)), marks))
    scenario = Scenario(f"bulk_insert of {rows:,} rows", "empty table", "executemany on the raw sqlite3 connection",
                        goal=1.2, long_step=False, goal_variants=(BULK_GOAL_VARIANT,),
                        references={"app_db, rows as dicts": SAME_DICTS})

    def check(variant: str) -> None:  # every variant left the same rows
        con = sqlite3.connect(work)
        found = con.execute("SELECT count(*), count(DISTINCT name), sum(value) FROM big").fetchone()
        con.close()
        if found != (rows, rows, rows * (rows - 1) // 2):
            raise RuntimeError(f"bulk_insert {variant} left (rows, names, sum of values) {found} in {work}, "
                               f"not {(rows, rows, rows * (rows - 1) // 2)}")

    _run_alternately(scenario, "bulk_insert", rounds, log, template, work, variants, check)
    return scenario


def run_upgrades(root: Path, rows: int, megabytes: int, rounds: int,
                 log: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
                 only: str | None = None) -> list[Scenario]:
    """Every large-upgrade scenario, or with ``only="bulk"`` the bulk_insert one alone."""
    scenarios = []
    runs = [(rebuild.operation, lambda folder, r=rebuild: run_rebuild(folder, rows, rounds, log, r)) for rebuild in REBUILDS]
    runs.append(("backup", lambda folder: run_backup(folder, megabytes, rounds, log)))
    runs.append(("bulk", lambda folder: run_bulk_insert(folder, rows, rounds, log)))
    if only is not None:
        runs = [(name, run) for name, run in runs if name == only]
    for name, run in runs:
        try:
            scenarios.append(run(root / name))
        except LaunchFailed as failure:
            log(f"  ! {name} scenario failed: {str(failure).strip().splitlines()[-1]}")
        finally:
            shutil.rmtree(root / name, ignore_errors=True)
    return scenarios
