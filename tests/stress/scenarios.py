"""The scenarios of the reliability suite, each a function that runs it ``runs`` times and counts survivors.

A scenario returns an Outcome; a run survives when nothing was lost: the file
passes integrity_check and foreign_key_check, equals the state before the
batch or after it (compared row for row with references computed once), the
error (if any) is the clear one, and a normal launch afterwards completes.
pytest (tests/stress/test_stress.py) asserts that every run survived;
``python -m tests.stress`` prints the table.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

CHILD = Path(__file__).resolve().parent / "child.py"
NOBODY = 65534

# How many runs each scenario makes at each scale. "short" is what CI runs.
# power_cut_samples: prefixes of each file's unsynced writes tried besides none
# and all; power_cut_states: distinct file trees checked per operation (0: all).
SCALES: dict[str, dict[str, int]] = {
    "short": {"kill": 20, "simultaneous": 3, "disk_full": 6, "properties": 15, "power_cut_samples": 0, "power_cut_states": 40},
    "medium": {"kill": 60, "simultaneous": 8, "disk_full": 16, "properties": 60, "power_cut_samples": 1, "power_cut_states": 0},
    "full": {"kill": 200, "simultaneous": 25, "disk_full": 40, "properties": 200, "power_cut_samples": 4, "power_cut_states": 0},
}


def current_scale() -> str:
    scale = os.environ.get("APP_DB_STRESS", "short").strip().lower() or "short"
    if scale not in SCALES:
        raise SystemExit(f"APP_DB_STRESS={scale!r}: use one of {', '.join(SCALES)}")
    return scale


@dataclass
class Outcome:
    scenario: str
    runs: int
    checked: str
    survived: int = 0
    failures: list[str] = field(default_factory=list)
    notes: str = ""
    seconds: float = 0.0

    def record(self, problems: list[str], label: str) -> None:
        if problems:
            self.failures.append(f"{label}: " + "; ".join(problems))
        else:
            self.survived += 1


# Migration sources ---------------------------------------------------------------------------------------


def migration_text(migration_id: str, up: str, down: str = "schema.sql('SELECT 1')", log: Path | None = None) -> str:
    """One migration file; with ``log``, up() first appends its id to that file (O_APPEND, outside the database)."""
    body = textwrap.dedent(up).strip()
    if log is not None:
        body = (
            f"_fd = os.open({str(log)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT)\n"
            f"os.write(_fd, ({migration_id!r} + ' ' + str(os.getpid()) + chr(10)).encode())\n"
            "os.close(_fd)\n" + body
        )
    return (
        "import os\nimport peewee\nfrom app_db import Migration\n\n\n"
        "class Step(Migration):\n"
        f"    id = {migration_id!r}\n\n"
        "    def up(self, schema):\n" + textwrap.indent(body, " " * 8) + "\n\n"
        "    def down(self, schema):\n" + textwrap.indent(textwrap.dedent(down).strip(), " " * 8) + "\n"
    )


NOTES = 12000


def initial_up(notes: int) -> str:
    """The first migration's up(): tables, a trigger, a view, ``notes`` rows with tags, orphaned ids deleted."""
    return f'''
schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, title TEXT, created INTEGER NOT NULL)")
schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES note (id) ON DELETE CASCADE, label TEXT)")
schema.sql("CREATE INDEX note_created ON note (created)")
schema.sql("CREATE INDEX tag_note ON tag (note_id)")
schema.sql("CREATE TABLE note_log (note_id INTEGER, event TEXT)")
schema.sql("CREATE TRIGGER note_logged AFTER UPDATE OF body ON note BEGIN INSERT INTO note_log VALUES (new.id, 'edited'); END")
schema.sql("CREATE VIEW note_summary AS SELECT note.id, note.created, count(tag.id) AS tags FROM note LEFT JOIN tag ON tag.note_id = note.id GROUP BY note.id")
schema.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {notes}) "
           "INSERT INTO note (body, created) SELECT 'Note ' || i || char(10) || 'text ' || hex(randomblob(60)), i FROM n")
schema.sql("INSERT INTO tag (note_id, label) SELECT id, 'tag ' || (id % 17) FROM note")
schema.sql("INSERT INTO tag (note_id, label) SELECT id, 'extra ' || (id % 5) FROM note WHERE id % 3 = 0")
schema.sql("DELETE FROM tag WHERE note_id > {notes - 50}")
schema.sql("DELETE FROM note WHERE id > {notes - 50}")
'''


INITIAL = initial_up(NOTES)

# The batch a kill, a full disk or a read-only file interrupts: DDL, a data
# migration over every note, a rebuild of a parent table with children
# (ON DELETE CASCADE), a rebuild of the child, more DDL. Production takes a
# backup before it.
BATCH = [
    ("002_labels.py", "20240602_090000_labels", '''
        schema.create_table("label", {"id": peewee.AutoField(), "name": peewee.CharField(unique=True)})
        schema.add_column("note", "words", peewee.IntegerField(default=0))
        schema.add_index("tag", ["label"])
    '''),
    ("003_titles.py", "20240603_090000_titles", '''
        rows = schema.db.execute_sql("SELECT id, body FROM note ORDER BY id").fetchall()
        for note_id, body in rows:
            first = body.splitlines()[0]
            schema.sql("UPDATE note SET title = ?, words = ? WHERE id = ?", (first, len(body.split()), note_id))
        schema.sql("INSERT INTO label (name) SELECT DISTINCT label FROM tag ORDER BY label")
    '''),
    ("004_require_titles.py", "20240604_090000_require_titles", '''
        schema.add_not_null("note", "title")
        schema.alter_column_type("tag", "label", peewee.CharField(max_length=64, null=True))
    '''),
    ("005_search.py", "20240605_090000_search", '''
        schema.create_table("search", {"note_id": peewee.IntegerField(index=True), "words": peewee.TextField()})
        schema.sql("INSERT INTO search (note_id, words) SELECT id, lower(title) FROM note")
        schema.drop_index("note", "note_created")
    '''),
]


# Looking at a file ---------------------------------------------------------------------------------------


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30)


def state_of(path: Path) -> list[str]:
    """Schema and rows, sorted; the tracking table without its times (they differ run to run)."""
    connection = connect(path)
    try:
        lines = [line for line in connection.iterdump() if not line.startswith('INSERT INTO "app_db_migrations"')]
        tracked = []
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'app_db_migrations'").fetchone():
            tracked = [repr(row) for row in connection.execute("SELECT id, name, file, checksum FROM app_db_migrations ORDER BY id")]
        return sorted(lines) + tracked
    finally:
        connection.close()


def health_problems(path: Path) -> list[str]:
    """integrity_check and foreign_key_check, as problems (empty: healthy)."""
    connection = connect(path)
    try:
        problems = []
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:3]}")
        violations = connection.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            problems.append(f"foreign_key_check: {len(violations)} violation(s), e.g. {violations[0]}")
        return problems
    finally:
        connection.close()


def backup_problems(database: Path, before: list[str]) -> list[str]:
    """Every finished backup is a healthy copy of the state before the batch; a .partial is never a backup."""
    folder = database.parent / "backups"
    problems = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        if ".partial" in entry.name:  # the copy, or SQLite's journal beside it
            continue  # left by a process killed while copying: never taken for a backup
        problems += [f"backup {entry.name}: {problem}" for problem in health_problems(entry)]
        if state_of(entry) != before:
            problems.append(f"backup {entry.name} is not the state before the batch")
    return problems


def launch(path: Path, migrations: Path, **options) -> dict:
    """One launch in a process of its own (tests/stress/child.py); its JSON report."""
    options = {"path": str(path), "migrations": str(migrations), **options}
    done = subprocess.run([sys.executable, str(CHILD), json.dumps(options)], capture_output=True, text=True, timeout=300)
    return parse_report(done.stdout, done.stderr)


def parse_report(stdout: str, stderr: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"ok": False, "error": "no report", "message": stderr[-1000:], "unexpected": True}
    return json.loads(lines[-1])


def reaches_after(path: Path, migrations: Path, after: list[str]) -> list[str]:
    """A normal launch completes and leaves the state after the batch."""
    result = launch(path, migrations)
    if not result.get("ok"):
        return [f"the next normal launch failed: {result.get('error')}: {result.get('message')}"]
    problems = health_problems(path)
    if state_of(path) != after:
        problems.append("the next normal launch did not reach the state after the batch")
    return problems


# The shared project: a populated file before the batch, and the states before and after ----------------------


@dataclass
class Reference:
    root: Path
    template: Path  # the database before the batch (checkpointed: one file)
    migrations: Path  # 001 and the batch
    initial_only: Path  # 001 alone
    before: list[str]
    after: list[str]
    batch_seconds: float
    size: int


def build_reference(root: Path) -> Reference:
    """Make the "before" file once, and run the batch once on a copy to get the "after" state."""
    root.mkdir(parents=True, exist_ok=True)
    initial_only = root / "migrations-initial"
    initial_only.mkdir()
    (initial_only / "001_initial.py").write_text(migration_text("20240601_090000_initial", INITIAL))
    template = root / "template" / "app.sqlite3"
    result = launch(template, initial_only)
    assert result.get("ok"), result
    migrations = root / "migrations"
    shutil.copytree(initial_only, migrations)
    for filename, migration_id, up in BATCH:
        (migrations / filename).write_text(migration_text(migration_id, up))
    before = state_of(template)
    sample = root / "sample"
    shutil.copytree(template.parent, sample)
    result = launch(sample / "app.sqlite3", migrations)
    assert result.get("ok") and len(result["applied"]) == len(BATCH), result
    after = state_of(sample / "app.sqlite3")
    assert health_problems(sample / "app.sqlite3") == []
    return Reference(root, template, migrations, initial_only, before, after, result["seconds"], template.stat().st_size)


def fresh_copy(reference: Reference, name: str) -> Path:
    """A copy of the "before" file in a folder of its own; its path."""
    folder = reference.root / "runs" / name
    folder.mkdir(parents=True)
    shutil.copy2(reference.template, folder / "app.sqlite3")
    return folder / "app.sqlite3"


def where(phases: Path) -> str:
    """Where the launch was when it stopped, from the lines child.py appended."""
    lines = phases.read_text().split("\n") if phases.exists() else []
    lines = [line for line in lines if line and line not in ("failed", "crashed")]
    if not lines:
        return "starting"
    last = lines[-1]
    if last == "start":
        return "planning or backing up"
    if last.startswith("migrating"):
        return "migrating"
    return "finished"


# Scenario: SIGKILL at random points -------------------------------------------------------------------------


def kill_at_random_points(reference: Reference, runs: int, seed: int = 1) -> Outcome:
    outcome = Outcome("Killed (SIGKILL) at a random moment of a batch", runs,
                      "DDL, data migration over 12,000 rows, rebuilds of a parent (with CASCADE children) and its child, "
                      "production backup; state before or after, backups healthy, next launch completes")
    rng = random.Random(seed)
    window = reference.batch_seconds * 1.1 + 0.02  # a little past the end: some kills land after COMMIT
    delays = [rng.uniform(0, window) for _ in range(runs)]
    landed: dict[str, int] = {}

    def one(index: int) -> tuple[list[str], str]:
        path = fresh_copy(reference, f"kill-{index}")
        phases = path.parent / "phases.log"
        options = {"path": str(path), "migrations": str(reference.migrations), "phases": str(phases)}
        child = subprocess.Popen([sys.executable, str(CHILD), json.dumps(options)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        assert child.stdout is not None
        child.stdout.readline()  # "ready": imported, about to launch
        time.sleep(delays[index])
        child.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        child.wait()
        stage = where(phases)
        problems = health_problems(path)
        state = state_of(path)
        if state not in (reference.before, reference.after):
            problems.append("the file is neither the state before the batch nor the state after it")
        problems += backup_problems(path, reference.before)
        problems += reaches_after(path, reference.migrations, reference.after)
        leftovers = [entry.name for entry in (path.parent / "backups").glob("*.partial*")] if (path.parent / "backups").is_dir() else []
        if leftovers:
            problems.append(f"half-written backup copies still there after the next launch: {leftovers}")
        shutil.rmtree(path.parent)
        return problems, stage

    with ThreadPoolExecutor(max_workers=2) as pool:
        for index, (problems, stage) in enumerate(pool.map(one, range(runs))):
            landed[stage] = landed.get(stage, 0) + 1
            outcome.record(problems, f"kill {index} ({stage}, after {delays[index]:.3f}s)")
    order = ["starting", "planning or backing up", "migrating", "finished"]
    outcome.notes = "killed while " + ", ".join(f"{stage}: {landed[stage]}" for stage in order if stage in landed)
    return outcome


# Scenario: simultaneous launches ------------------------------------------------------------------------------

WRITER = r'''
import json, os, sqlite3, sys, time
import peewee
from app_db import Database

class Event(peewee.Model):
    n = peewee.IntegerField()
    class Meta:
        table_name = "event"

path, migrations, stop = sys.argv[1:4]
database = Database("StressApp", path=path, migrations=migrations, env="production")
database.register_models([Event])
print("ready", flush=True)
written, retries, errors, n = 0, 0, [], 0
while not os.path.exists(stop):
    n += 1
    while True:
        try:
            Event.create(n=n)
            written += 1
            break
        except peewee.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                errors.append(f"{type(exc).__name__}: {exc}")
                break
            retries += 1  # waited 5 s for the lock: recoverable by trying again
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            break
    if len(errors) > 5:
        break
database.close()
print(json.dumps({"written": written, "last": n, "retries": retries, "errors": errors}), flush=True)
'''


def round_migrations(round_number: int) -> list[tuple[str, str, str]]:
    """The migrations that appear before round ``round_number`` (1-based), cycling through kinds of change."""
    stamp = f"2024{(round_number // 28) + 7:02d}{(round_number % 28) + 1:02d}"
    kind = round_number % 4
    number = 100 + round_number * 2
    if kind == 1:  # a new column and a data migration over every note
        return [(f"{number}_words_{round_number}.py", f"{stamp}_090000_words_{round_number}", f'''
            schema.add_column("note", "w{round_number}", peewee.IntegerField(default=0))
            schema.sql("UPDATE note SET w{round_number} = length(body) % {round_number + 7}")
        ''')]
    if kind == 2:  # rebuild the table the running app writes to
        return [(f"{number}_event_source_{round_number}.py", f"{stamp}_090000_event_source_{round_number}", f'''
            schema.add_column("event", "s{round_number}", peewee.TextField(null=True))
            schema.alter_column_type("event", "s{round_number}", peewee.CharField(max_length=20, null=True))
        ''')]
    if kind == 3:  # two at once: a table, then a rebuild of the parent of tag
        return [
            (f"{number}_table_{round_number}.py", f"{stamp}_090000_table_{round_number}",
             f'schema.create_table("t{round_number}", {{"id": peewee.AutoField(), "x": peewee.IntegerField()}})'),
            (f"{number + 1}_rebuild_{round_number}.py", f"{stamp}_100000_rebuild_{round_number}",
             'schema.sql("UPDATE note SET title = coalesce(title, \'untitled\')")\nschema.add_not_null("note", "title")\n'
             'schema.drop_not_null("note", "title")'),
        ]
    return [(f"{number}_index_{round_number}.py", f"{stamp}_090000_index_{round_number}",
             f'schema.add_index("tag", ["label", "note_id"], name="tag_label_{round_number}")')]


def simultaneous_launches(root: Path, rounds: int, processes: int = 8) -> Outcome:
    outcome = Outcome(f"Simultaneous launches ({processes} processes released together)", rounds,
                      "new migrations appear between rounds; each runs exactly once; no launch fails "
                      "(no \"database is locked\"); an open app instance keeps writing, losing no row")
    root.mkdir(parents=True)
    migrations = root / "migrations"
    migrations.mkdir()
    log = root / "ran.log"
    path = root / "data" / "app.sqlite3"
    (migrations / "001_initial.py").write_text(migration_text("20240601_090000_initial", INITIAL.replace(str(NOTES), "500"), log=log))
    (migrations / "002_event.py").write_text(migration_text(
        "20240601_100000_event", 'schema.create_table("event", {"id": peewee.AutoField(), "n": peewee.IntegerField()})', log=log))
    expected = ["20240601_090000_initial", "20240601_100000_event"]
    stop = root / "stop"
    writer: subprocess.Popen | None = None
    try:
        for round_number in range(rounds + 1):
            if round_number > 0:
                for filename, migration_id, up in round_migrations(round_number):
                    (migrations / filename).write_text(migration_text(migration_id, up, log=log))
                    expected.append(migration_id)
            barrier = root / f"barrier-{round_number}"
            barrier.mkdir()
            options = json.dumps({"path": str(path), "migrations": str(migrations), "barrier": str(barrier)})
            children = [subprocess.Popen([sys.executable, str(CHILD), options], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True) for _ in range(processes)]
            while len(list(barrier.glob("ready-*"))) < processes:  # all imported, waiting at the barrier
                if any(child.poll() is not None for child in children):
                    break
                time.sleep(0.002)
            (barrier / "go").touch()
            results = [parse_report(*child.communicate(timeout=300)) for child in children]
            problems = [f"{r.get('error')}: {r.get('message')}" for r in results if not r.get("ok")]
            ran = [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []
            twice = sorted({m for m in ran if ran.count(m) > 1})
            if twice:
                problems.append(f"ran more than once: {twice}")
            missing = [m for m in expected if m not in ran]
            if missing:
                problems.append(f"never ran: {missing}")
            applied = sorted(sum((r.get("applied", []) for r in results), []))
            new = sorted(expected[-len(round_migrations(round_number)):]) if round_number else sorted(expected)
            if applied != new:
                problems.append(f"launches report {applied}, expected {new}")
            if round_number == 0:
                # From now on an app instance keeps its connection open and writes.
                writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(migrations), str(stop)],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                assert writer.stdout is not None
                writer.stdout.readline()
                if problems:
                    outcome.failures.append("round 0 (first install): " + "; ".join(problems))
                continue
            outcome.record(problems, f"round {round_number}")
    finally:
        stop.touch()
    if writer is not None:
        report = parse_report(*writer.communicate(timeout=120))
        connection = connect(path)
        rows = connection.execute("SELECT count(*), count(DISTINCT n) FROM event").fetchone()
        connection.close()
        writer_problems = list(report.get("errors", [])) if "written" in report else [f"the writer crashed: {report}"]
        if "written" in report and rows != (report["written"], report["written"]):
            writer_problems.append(f"the writer committed {report['written']} rows, the file holds {rows}")
        if writer_problems:
            outcome.failures.append("open app instance: " + "; ".join(writer_problems))
            outcome.survived = min(outcome.survived, rounds - 1)
        outcome.notes = (f"{rounds * processes} launches; the open instance wrote {report.get('written')} rows "
                         f"({report.get('retries')} waits retried)")
    final = health_problems(path)
    result = launch(path, migrations)
    if not result.get("ok") or result.get("applied"):
        final.append(f"the final launch: {result}")
    if final:
        outcome.failures.append("final check: " + "; ".join(final))
        outcome.survived = min(outcome.survived, rounds - 1)
    return outcome


# Scenario: disk full ----------------------------------------------------------------------------------------------


def disk_full(reference: Reference, runs: int) -> Outcome:
    outcome = Outcome("Disk full (RLIMIT_FSIZE in the child, SIGXFSZ ignored)", runs,
                      "limits from 16 KB to 4x the file, so writes fail in open, backup, migration or commit; "
                      "DiskFullError naming the file or success; state before (error) or after (success); "
                      "no half-written backup")
    low, high = 16_000, reference.size * 4  # below 32 KiB even the -shm file cannot be made
    stages: dict[str, int] = {}

    def one(index: int) -> list[str]:
        limit = int(low + (high - low) * index / max(runs - 1, 1))
        path = fresh_copy(reference, f"full-{index}")
        phases = path.parent / "phases.log"
        result = launch(path, reference.migrations, fsize=limit, phases=str(phases))
        problems = health_problems(path)
        state = state_of(path)
        if result.get("ok"):
            stages["succeeded"] = stages.get("succeeded", 0) + 1
            if state != reference.after:
                problems.append("succeeded but the file is not the state after the batch")
        else:
            message = result.get("message", "")
            stage = ("opening" if "Could not open" in message else "backing up" if "back up" in message
                     else "committing" if "save the update" in message else where(phases))
            stages[f"failed while {stage}"] = stages.get(f"failed while {stage}", 0) + 1
            if result.get("error") != "DiskFullError":
                problems.append(f"{result.get('error')} instead of DiskFullError: {result.get('message')}")
            elif str(path) not in result.get("message", ""):
                problems.append(f"the message does not name the file: {result.get('message')}")
            if state != reference.before:
                problems.append("failed but the file is not the state before the batch")
        partial = [entry.name for entry in (path.parent / "backups").glob("*.partial")] if (path.parent / "backups").is_dir() else []
        if partial:
            problems.append(f"half-written backup left: {partial}")
        problems += backup_problems(path, reference.before)
        problems += reaches_after(path, reference.migrations, reference.after)
        shutil.rmtree(path.parent)
        return problems

    with ThreadPoolExecutor(max_workers=2) as pool:
        for index, problems in enumerate(pool.map(one, range(runs))):
            outcome.record(problems, f"limit run {index}")
    outcome.notes = ", ".join(f"{name}: {count}" for name, count in sorted(stages.items()))
    return outcome


# Scenario: not writable ---------------------------------------------------------------------------------------------


def not_writable(reference: Reference) -> Outcome:
    """Each way a user's files can refuse writes, once; the child drops to 'nobody' where root would be let through."""
    cases: list[tuple[str, Callable[[Path], tuple[Path, dict, Callable[[], None]]]]] = []

    def readonly_folder_new_file(folder: Path):
        folder.chmod(0o755)
        target = folder / "new" / "app.sqlite3"
        target.parent.mkdir(mode=0o755)
        return target, {"uid": NOBODY}, lambda: None

    def readonly_file(folder: Path):
        path = folder / "app.sqlite3"
        shutil.copy2(reference.template, path)
        path.chmod(0o644)
        folder.chmod(0o777)  # nobody may create -wal and -shm, not write the file
        return path, {"uid": NOBODY}, lambda: None

    def readonly_folder_existing_file(folder: Path):
        path = folder / "app.sqlite3"
        shutil.copy2(reference.template, path)
        path.chmod(0o666)
        folder.chmod(0o755)  # the file is writable, the folder (for -wal, -shm, backups) is not
        return path, {"uid": NOBODY}, lambda: None

    def readonly_backups(folder: Path):
        path = folder / "app.sqlite3"
        shutil.copy2(reference.template, path)
        path.chmod(0o666)
        folder.chmod(0o777)
        (folder / "backups").mkdir(mode=0o755)
        return path, {"uid": NOBODY}, lambda: None

    def under_a_file(folder: Path):
        (folder / "blocker").write_text("a file where the data folder should be")
        return folder / "blocker" / "app.sqlite3", {}, lambda: None

    cases = [
        ("data folder read-only, no file yet", readonly_folder_new_file),
        ("file read-only, folder writable", readonly_file),
        ("folder read-only, file writable", readonly_folder_existing_file),
        ("backups folder read-only", readonly_backups),
        ("data folder path is a regular file", under_a_file),
    ]
    outcome = Outcome("Not writable (child drops to uid 65534; a path under a regular file)", len(cases),
                      "; ".join(name for name, _ in cases) + ": DatabaseNotWritableError/BackupError naming the path, "
                      "file unchanged byte for byte, next launch (writable again) completes")
    errors: list[str] = []
    for name, prepare in cases:
        folder = reference.root / "runs" / ("ro-" + name.replace(" ", "-").replace(",", ""))
        folder.mkdir(parents=True)
        os.chmod(reference.root / "runs", 0o755)
        os.chmod(reference.root, 0o755)
        path, options, _ = prepare(folder)
        before_bytes = path.read_bytes() if path.exists() else None
        result = launch(path, reference.migrations, **options)
        errors.append(f"{name}: {result.get('error')}")
        problems = []
        if result.get("ok"):
            problems.append("the launch succeeded")
        elif result.get("error") not in ("DatabaseNotWritableError", "BackupError"):
            problems.append(f"{result.get('error')}: {result.get('message')}")
        elif str(path.parent) not in result.get("message", ""):
            problems.append(f"the message does not name the path: {result.get('message')}")
        if before_bytes is not None and path.read_bytes() != before_bytes:
            problems.append("the file changed")
        if path.exists():
            problems += health_problems(path)
            for entry in folder.iterdir():
                if entry.is_dir():
                    entry.chmod(0o777)
            problems += reaches_after(path, reference.migrations, reference.after)
        outcome.record(problems, name)
        shutil.rmtree(folder, ignore_errors=True)
    outcome.notes = "; ".join(errors)
    return outcome


# Scenario: bad migration files --------------------------------------------------------------------------------------

BAD_ID = "20240606_090000_add_tags"
BAD_FILES = {
    "syntax error": ("006_add_tags.py", migration_text(BAD_ID, "schema.sql('SELECT 1'")),
    "import error": ("006_add_tags.py", "import no_such_module_anywhere\n" + migration_text(BAD_ID, "pass")),
    "exception at import": ("006_add_tags.py", "raise RuntimeError('boom')\n" + migration_text(BAD_ID, "pass")),
    "missing up": ("006_add_tags.py", f"from app_db import Migration\n\n\nclass Step(Migration):\n    id = {BAD_ID!r}\n"),
    "two classes": ("006_add_tags.py", migration_text(BAD_ID, "pass") + "\n\nclass Again(Step):\n    pass\n"),
    "wrong id type": ("006_add_tags.py", migration_text(BAD_ID, "pass").replace(repr(BAD_ID), "20240606090000")),
    "id colliding after normalisation": ("006_add_tags.py", migration_text("20240605_090000_SEARCH", "pass")),
}


def bad_migration_files(reference: Reference) -> Outcome:
    outcome = Outcome("Bad migration files", len(BAD_FILES),
                      "; ".join(BAD_FILES) + ": MigrationDefinitionError naming the file, file unchanged byte for "
                      "byte, nothing of the batch applied; next launch (file fixed) completes")
    for name, (filename, source) in BAD_FILES.items():
        path = fresh_copy(reference, "bad-" + name.replace(" ", "-"))
        migrations = path.parent / "migrations"
        shutil.copytree(reference.migrations, migrations)
        (migrations / filename).write_text(source)
        before_bytes = path.read_bytes()
        result = launch(path, migrations)
        problems = []
        if result.get("error") != "MigrationDefinitionError":
            problems.append(f"{result.get('error')}: {result.get('message')}")
        elif filename not in result.get("message", ""):
            problems.append(f"the message does not name {filename}: {result.get('message')}")
        if path.read_bytes() != before_bytes:
            problems.append("the file changed")
        (migrations / filename).unlink()
        problems += reaches_after(path, migrations, reference.after)
        outcome.record(problems, name)
        shutil.rmtree(path.parent)
    return outcome


# Scenario: files a launch may find ----------------------------------------------------------------------------------

CRASH_WITH_WAL = r'''
import os, signal, sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA journal_mode = wal")
connection.execute("PRAGMA wal_autocheckpoint = 0")
connection.execute("INSERT INTO note (body, created) VALUES ('written just before the crash', 0)")
os.kill(os.getpid(), getattr(signal, 'SIGKILL', signal.SIGTERM))  # SIGTERM: TerminateProcess on Windows
'''


def unusual_files(reference: Reference) -> Outcome:
    outcome = Outcome("Newer app's file, not SQLite, zero bytes, WAL left by a crash", 4,
                      "SchemaTooNewError / DatabaseCorruptError with the file unchanged byte for byte; a zero-byte "
                      "file migrated as new; a crash's committed WAL data kept and migrated")
    # A newer version applied 005; this older one ships only through 004.
    path = fresh_copy(reference, "newer")
    problems = reaches_after(path, reference.migrations, reference.after)
    older = path.parent / "older-migrations"
    shutil.copytree(reference.migrations, older)
    (older / "005_search.py").unlink()
    before_bytes = path.read_bytes()
    result = launch(path, older)
    if result.get("error") != "SchemaTooNewError" or "20240605_090000_search" not in result.get("message", ""):
        problems.append(f"{result}")
    if path.read_bytes() != before_bytes:
        problems.append("the file changed")
    problems += reaches_after(path, reference.migrations, reference.after)
    outcome.record(problems, "newer app's file")
    # Not SQLite.
    path = fresh_copy(reference, "not-sqlite")
    garbage = os.urandom(64 * 1024)
    path.write_bytes(garbage)
    result = launch(path, reference.migrations)
    problems = [] if result.get("error") == "DatabaseCorruptError" and str(path) in result.get("message", "") else [f"{result}"]
    if path.read_bytes() != garbage or sorted(os.listdir(path.parent)) != ["app.sqlite3"]:
        problems.append("the file or its folder changed")
    outcome.record(problems, "not SQLite")
    # Zero bytes: a new database.
    path = fresh_copy(reference, "zero")
    path.write_bytes(b"")
    result = launch(path, reference.migrations)
    problems = [] if result.get("ok") and len(result["applied"]) == 1 + len(BATCH) else [f"{result}"]
    problems += health_problems(path)
    outcome.record(problems, "zero-byte file")
    # A WAL left by a crash: its committed transaction is part of the database.
    path = fresh_copy(reference, "wal")
    subprocess.run([sys.executable, "-c", CRASH_WITH_WAL, str(path)], capture_output=True)
    problems = [] if Path(str(path) + "-wal").exists() else ["the crash left no -wal file"]
    result = launch(path, reference.migrations)
    if not result.get("ok"):
        problems.append(f"{result}")
    problems += health_problems(path)
    connection = connect(path)
    kept = connection.execute("SELECT count(*) FROM note WHERE body = 'written just before the crash'").fetchone()[0]
    connection.close()
    if kept != 1:
        problems.append("the committed row in the WAL was lost")
    outcome.record(problems, "WAL left by a crash")
    return outcome
