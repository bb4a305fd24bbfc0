"""Power cuts: trace an operation's file system calls, rebuild what a power cut may leave on disk, check each state.

The operation (a production launch that migrates and takes its pre-update
backup, ``Database.backup()``, ``app-db backup``, ``Database.restore(FILE)``,
and a restore over a damaged file) runs in a real process (power_child.py)
under strace; its calls on the app's folder are replayed on a model of that
folder (crash_model.py: only fsynced data and fsynced directory entries
survive), which yields the file trees a power cut may leave at each crash
point. Each tree is written to a folder and checked
(``state_problems``): the database is whole and is the state before or the
state after; every backup under its final name is a complete copy of a
known state; the copy the operation takes exists whenever the database
shows the operation done, and whenever the operation had returned; no old
backup is gone before the new one is on disk; a normal launch (in a
subprocess) then completes and reaches the migrated state.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .crash_model import NOTHING, History, materialise, trace_command
from .scenarios import BATCH, Outcome, connect, health_problems, initial_up, migration_text, state_of

POWER_CHILD = Path(__file__).resolve().parent / "power_child.py"
DATABASE = "app.sqlite3"
BACKUPS = "backups"


def trace_operation(folder: Path, options: dict, marker: Path) -> History:
    """Run power_child.py ``run`` (a launch, backup or restore) under strace on ``folder``."""
    history = trace_command(folder, [sys.executable, str(POWER_CHILD), "run", json.dumps({**options, "marker": str(marker)})],
                            marker)
    if not any(event.kind == "marker" for event in history.events):
        raise AssertionError(f"the traced {options['action']} never returned")
    return history


# Checking one state -------------------------------------------------------------------------------------------


def digest(path: Path) -> str:
    """A digest of schema and rows (state_of): two files with the same one hold the same data."""
    return hashlib.sha256("\n".join(state_of(path)).encode()).hexdigest()[:16]


@dataclass
class Expectation:
    """What a state must show for one operation (digests from ``digest``)."""

    action: str
    old: str  # the database before the operation
    new: str  # the database once it is done
    copy: str  # the backup the operation takes
    copy_name: str  # "pre-update backup", ...
    known: set[str]  # every state a backup may hold
    seeded: set[str]  # backups there before the operation (names)
    source: str | None = None  # restore: the file restored from, relative to the folder
    after: str = ""  # what the next launch must reach
    damaged: bytes | None = None  # restore over a damaged file: its bytes (then ``old`` names it, and
    # the copy is that file kept beside the database as <name>.damaged-*)

    def is_damaged(self, path: Path) -> bool:
        """``path`` holds the damaged file, byte for byte (it is not for SQLite to judge)."""
        return self.damaged is not None and path.is_file() and path.read_bytes() == self.damaged


def final_backups(folder: Path) -> list[Path]:
    """Backups under their final names: not a .partial copy nor a journal, WAL or shm file of one."""
    backups = folder / BACKUPS
    return sorted(entry for entry in backups.iterdir()
                  if entry.is_file() and ".partial" not in entry.name and not entry.name.endswith(("-journal", "-wal", "-shm"))
                  ) if backups.is_dir() else []


Verdict = tuple[list[str], str | None]  # (health problems, digest or None when unreadable)


def judge_file(path: Path, scratch: Path) -> Verdict:
    """health_problems and digest of a SQLite file, checked on a copy (with its journal or WAL) in ``scratch``.

    Opening a file after a crash rolls back its journal or replays its WAL:
    on a copy, the state folder stays as the power cut left it for the next
    launch.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for sibling in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal"))):
        if sibling.is_file():
            shutil.copyfile(sibling, scratch / sibling.name)
    copy = scratch / path.name
    try:
        return health_problems(copy), digest(copy)
    except sqlite3.DatabaseError as exc:
        return [f"cannot be read: {exc}"], None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def state_problems(folder: Path, expected: Expectation, returned: bool, judge=None) -> list[str]:
    """What is wrong with the files a power cut left in ``folder`` (empty: nothing).

    ``judge(path) -> Verdict`` looks at one SQLite file (default: judge_file
    on a scratch folder beside ``folder``).
    """
    judge = judge or (lambda path: judge_file(path, folder.parent / (folder.name + "-scratch")))
    database = folder / DATABASE
    if not database.is_file() or database.stat().st_size == 0:
        return ["the database is missing or empty"]
    trouble, current = ((), expected.old) if expected.is_damaged(database) else judge(database)
    problems = list(trouble)  # verdicts are shared between states: never append to one
    if current is not None and current not in (expected.old, expected.new):
        problems.append("the database is neither the state before the operation nor the state after it")
    copies: dict[str, str | None] = {}
    for backup in final_backups(folder):
        trouble, copies[backup.name] = judge(backup)
        if trouble or copies[backup.name] not in expected.known:
            problems.append("a backup under its final name is not a complete copy" + (f" ({'; '.join(trouble)})" if trouble else ""))
    if expected.damaged is not None:
        has_copy = any(expected.is_damaged(entry) for entry in folder.glob(DATABASE + ".damaged-*"))
    else:
        has_copy = expected.copy in copies.values()
    if expected.new != expected.old and current == expected.new and not has_copy:
        problems.append(f"the database is {expected.action} but its {expected.copy_name} is not on disk")
    if returned and current != expected.new:
        problems.append(f"{expected.action} had returned, but the power cut undid it")
    if returned and not has_copy:
        problems.append(f"{expected.action} had returned, but its {expected.copy_name} is not on disk")
    if not expected.seeded <= set(copies) and not has_copy:
        problems.append(f"an older backup was deleted before the {expected.copy_name} was on disk")
    if expected.source is not None:
        source = folder / expected.source
        if not source.is_file() or judge(source)[1] != expected.new:
            problems.append("the file restored from is gone or changed")
    return problems


def caching_judge(scratch: Path):
    """judge_file, remembered by the bytes of the file and its journal or WAL (backups repeat across states)."""
    verdicts: dict[str, Verdict] = {}

    def judge(path: Path) -> Verdict:
        key = hashlib.sha256()
        for sibling in (path, *(path.with_name(path.name + suffix) for suffix in ("-journal", "-wal"))):
            key.update(sibling.read_bytes() if sibling.is_file() else b"-")
            key.update(b"|")
        name = key.hexdigest()
        if name not in verdicts:
            verdicts[name] = judge_file(path, scratch)
        return verdicts[name]

    return judge


def launch_all(folders: Sequence[Path], migrations: Path) -> list[dict]:
    """A normal production launch of each folder's database, in one child process (power_child.py launch)."""
    options = {"paths": [str(folder / DATABASE) for folder in folders], "migrations": str(migrations)}
    done = subprocess.run([sys.executable, str(POWER_CHILD), "launch", json.dumps(options)],
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return [{"ok": False, "error": "no report", "message": done.stderr[-1000:]} for _ in folders]
    return json.loads(lines[-1])["results"]


@dataclass
class CrashReport:
    """The states of one operation: how many were checked, and what failed where."""

    action: str
    calls: int
    points: int
    states: int = 0
    distinct: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)  # problem -> where (crash point, state)
    failed: int = 0  # states with at least one problem

    def summary(self) -> list[str]:
        return [f"{self.action}: {len(where)} state(s): {problem}; e.g. {where[0]}" for problem, where in sorted(self.failures.items())]


def check_history(history: History, expected: Expectation, migrations: Path, work: Path, samples: int,
                  limit: int = 0, batch: int = 40, name: str = "") -> CrashReport:
    """Every state of ``history`` (History.states), each distinct tree checked once, then launched.

    ``limit`` > 0 checks only that many distinct trees, spread evenly over
    the trace (the short scale); the states counted are those checked.
    """
    report = CrashReport(name or expected.action, len(history.events), len(history.crash_points()))
    marker = next((index for index, event in enumerate(history.events) if event.kind == "marker"), None)
    distinct: dict[tuple[tuple, bool], list[str]] = {}
    for point, description, chosen in history.states(samples):
        layout = history.layout(chosen)
        returned = marker is not None and point >= marker
        key = (tuple(sorted(layout.items())), returned)
        report.states += 1
        distinct.setdefault(key, []).append(f"{history.describe(point)}, {description}")
    keys = list(distinct)
    if 0 < limit < len(keys):
        # The states where nothing unsynced survived first: one per sync, they
        # find a missing fsync. Then the others, spread evenly over the trace.
        first = [key for key in keys if any(where.endswith(NOTHING) for where in distinct[key])][:limit]
        rest = [key for key in keys if key not in first]
        room = limit - len(first)
        keys = first + [rest[round(k * (len(rest) - 1) / max(room - 1, 1))] for k in range(room)] if room > 0 else first
        keys = sorted(set(keys), key=list(distinct).index)
    report.distinct = len(keys)
    report.states = sum(len(distinct[key]) for key in keys)
    problems: dict[tuple[tuple, bool], list[str]] = {}
    judge = caching_judge(work / "scratch")
    for number, key in enumerate(keys):
        folder = work / f"state-{number}"
        materialise(history, dict(key[0]), folder)
        problems[key] = state_problems(folder, expected, returned=key[1], judge=judge)
    chunks = [keys[start : start + batch] for start in range(0, len(keys), batch)]
    folders = {key: work / f"state-{keys.index(key)}" for key in keys}
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda chunk: launch_all([folders[key] for key in chunk], migrations), chunks))
    for chunk, chunk_results in zip(chunks, results):
        for key, result in zip(chunk, chunk_results):
            if result.get("error") == "DatabaseCorruptError" and expected.is_damaged(folders[key] / DATABASE):
                pass  # still the damaged file, refused and left as it was: restoring is the user's next step
            elif not result.get("ok"):
                problems[key].append(f"the next launch failed: {result.get('error')}: {result.get('message')}")
            else:
                trouble, reached = judge(folders[key] / DATABASE)
                problems[key] = problems[key] + list(trouble)
                if reached != expected.after:
                    problems[key].append("the next launch did not reach the migrated state")
            for problem in problems[key]:
                report.failures.setdefault(problem, []).extend(distinct[key])
            if problems[key]:
                report.failed += len(distinct[key])
    shutil.rmtree(work, ignore_errors=True)
    return report


# The scenario ---------------------------------------------------------------------------------------------------

NOTES = 300  # a small file: every state is written out and launched
INITIAL = initial_up(NOTES)
FIRST_BATCH_ID = BATCH[0][1]


@dataclass
class World:
    """The files every operation starts from: the database before (B) and after (A) the batch, an earlier copy (E)."""

    root: Path
    migrations: Path
    before: Path
    after: Path
    earlier: Path
    before_backup: Path  # B as backup.py writes a copy: rollback-journal mode, one file
    digests: dict[str, str]


def build_world(root: Path) -> World:
    from .scenarios import launch

    root.mkdir(parents=True, exist_ok=True)
    migrations = root / "migrations"
    migrations.mkdir()
    (migrations / "001_initial.py").write_text(migration_text("20240601_090000_initial", INITIAL))
    before = root / "before" / DATABASE
    result = launch(before, migrations)
    assert result.get("ok"), result
    for filename, migration_id, up in BATCH:
        (migrations / filename).write_text(migration_text(migration_id, up))
    earlier = root / "earlier" / DATABASE
    earlier.parent.mkdir()
    shutil.copy2(before, earlier)
    connection = connect(earlier)
    connection.execute("DELETE FROM tag WHERE id % 3 = 0")
    connection.execute("PRAGMA journal_mode = DELETE")  # as backups are: one self-contained file
    connection.commit()
    connection.close()
    after = root / "after" / DATABASE
    after.parent.mkdir()
    shutil.copy2(before, after)
    result = launch(after, migrations)
    assert result.get("ok") and len(result["applied"]) == len(BATCH), result
    shutil.rmtree(after.parent / BACKUPS, ignore_errors=True)
    before_backup = root / "before-backup" / DATABASE
    before_backup.parent.mkdir()
    shutil.copy2(before, before_backup)
    connection = connect(before_backup)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    digests = {"B": digest(before), "A": digest(after), "E": digest(earlier)}
    assert len(set(digests.values())) == 3, digests
    return World(root, migrations, before, after, earlier, before_backup, digests)


SEEDED_LABELS = ["manual", "before-restore", "before-20240601_090000_initial", "manual", "before-rollback-20240601_090000_initial"]


def seed_backups(folder: Path, world: World, newest: Path | None = None) -> set[str]:
    """Five older backups of mixed kinds (copies of E, or ``newest`` last), named as backup.py names them."""
    backups = folder / BACKUPS
    backups.mkdir(parents=True)
    names = set()
    for day, label in enumerate(SEEDED_LABELS, start=1):
        source = newest if newest is not None and day == len(SEEDED_LABELS) else world.earlier
        if source is newest:
            label = f"before-{FIRST_BATCH_ID}"
        name = f"app-202401{day:02d}-090000-000000-{label}.sqlite3"
        shutil.copy2(source, backups / name)
        names.add(name)
    return names


OPERATIONS = {
    "launch": "production launch that migrates",
    "backup": "Database.backup()",
    "cli-backup": "app-db backup",
    "restore": "Database.restore(FILE)",
    "restore-damaged": "Database.restore(FILE) over a damaged file",
}


def prepare(action: str, world: World, folder: Path) -> tuple[dict, Expectation]:
    """The folder one operation starts from, the child's options, and what its states must show."""
    digests = world.digests
    folder.mkdir(parents=True)
    options: dict = {"action": action, "path": str(folder / DATABASE), "migrations": str(world.migrations)}
    if action == "launch":
        shutil.copy2(world.before, folder / DATABASE)
        seeded = seed_backups(folder, world)
        expected = Expectation("migrated", digests["B"], digests["A"], digests["B"], "pre-update backup",
                               {digests["E"], digests["B"]}, seeded)
    elif action in ("backup", "cli-backup"):
        shutil.copy2(world.after, folder / DATABASE)
        (folder.parent / "power_cut_app.py").write_text(
            f"from app_db import Database\n\ndatabase = Database('PowerCutApp', migrations={str(world.migrations)!r})\n")
        options["project"] = str(folder.parent)
        seeded = seed_backups(folder, world)
        expected = Expectation("backed up", digests["A"], digests["A"], digests["A"], "new backup",
                               {digests["E"], digests["A"]}, seeded)
    else:  # restore, over the migrated file or over a damaged one
        damaged = action == "restore-damaged"
        content = world.after.read_bytes()
        (folder / DATABASE).write_bytes(b"not a database!!" + content[16:] if damaged else content)
        seeded = seed_backups(folder, world, newest=world.before_backup)
        source = sorted(seeded)[-1]
        options.update(action="restore", source=str(folder / BACKUPS / source))
        expected = Expectation("restored", "damaged" if damaged else digests["A"], digests["B"], digests["A"],
                               "damaged file kept aside" if damaged else "before-restore backup",
                               {digests["E"], digests["A"], digests["B"]}, seeded, source=f"{BACKUPS}/{source}",
                               damaged=(folder / DATABASE).read_bytes() if damaged else None)
    expected.after = digests["A"]
    return options, expected


def power_cut_operation(world: World, action: str, samples: int, limit: int = 0) -> CrashReport:
    """Trace ``action`` once on a fresh folder, then check every state a power cut may leave."""
    run = Path(tempfile.mkdtemp(prefix=f"{action}-", dir=world.root))
    folder = run / "app"
    options, expected = prepare(action, world, folder)
    history = trace_operation(folder, options, run / "returned")
    report = check_history(history, expected, world.migrations, run / "states", samples, limit, name=OPERATIONS[action])
    shutil.rmtree(run, ignore_errors=True)
    return report


def power_cuts(root: Path, samples: int, limit: int = 0, actions: Sequence[str] = tuple(OPERATIONS)) -> tuple[Outcome, list[CrashReport]]:
    """The scenario: every operation's states, as one Outcome (a run is one state checked).

    ``samples``: prefixes tried for each file's unsynced writes, besides none
    and all; ``limit``: distinct trees checked per operation (0: all).
    """
    world = build_world(root)
    reports = [power_cut_operation(world, action, samples, limit) for action in actions]
    states = sum(report.states for report in reports)
    outcome = Outcome(
        "Power cut at every point of a launch, a backup and a restore (strace, model of what survives)", states,
        "only fsynced data and fsynced directory entries survive, unsynced writes as prefixes, unsynced entries in "
        "any subset; database old or new with integrity ok; every final-named backup a complete copy; the "
        "pre-update / before-restore backup there whenever the database shows the change, and once the call "
        "returned; next launch completes",
    )
    outcome.survived = states - sum(report.failed for report in reports)
    for report in reports:
        outcome.failures += report.summary()
    outcome.notes = "; ".join(f"{report.action}: {report.states} states ({report.distinct} distinct) at "
                              f"{report.points} crash points, {report.failed} failed" for report in reports)
    return outcome, reports


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.stress.power_cut [--scale S] [OPERATION ...]``: each operation's states, and what failed where."""
    import argparse

    from .scenarios import SCALES, current_scale

    parser = argparse.ArgumentParser(prog="python -m tests.stress.power_cut", description=main.__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default=None)
    parser.add_argument("operations", nargs="*", metavar="OPERATION", help=f"any of {', '.join(OPERATIONS)} (default: all)")
    options = parser.parse_args(argv)
    unknown = sorted(set(options.operations) - set(OPERATIONS))
    if unknown:
        parser.error(f"unknown operation(s) {', '.join(unknown)}: use {', '.join(OPERATIONS)}")
    runs = SCALES[options.scale or current_scale()]
    root = Path(tempfile.mkdtemp(prefix="app-db-power-cut-"))
    try:
        outcome, reports = power_cuts(root, runs["power_cut_samples"], runs["power_cut_states"],
                                      options.operations or tuple(OPERATIONS))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for report in reports:
        print(f"{report.action}: {report.states} states ({report.distinct} distinct) at {report.points} crash points "
              f"of {report.calls} changes and syncs; {report.failed} failed")
        for problem, where in sorted(report.failures.items()):
            print(f"  {len(where)} state(s): {problem}")
            for place in where[:3]:
                print(f"      e.g. {place}")
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
