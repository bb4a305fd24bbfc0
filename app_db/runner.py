"""Run: the one write transaction in which migrations run and are recorded.

The order is GRDB's: foreign keys off (the pragma is ignored inside a
transaction, and a table rebuild must not cascade-delete children), BEGIN
IMMEDIATE (waiting for another instance that is migrating), re-plan under
the lock, back up, run and record each migration, check foreign keys,
COMMIT, foreign keys back on. If anything raises, the transaction is rolled
back and the file is exactly as it was.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .backup import backup_database, remove_leftovers
from .connection import (
    BUSY_TIMEOUT_SECONDS,
    call_on_connect,
    connect_read_only,
    explain_sqlite_error,
    explaining_sqlite_errors,
    sqlite_error_name,
)
from .discovery import KnownMigration
from .errors import AppDbError, MigrationError
from .guard import StatementGuard, guarding
from .migration import Migration, Schema
from .plan import Plan, plan_migrations, refuse_irreversible
from .tracking import delete_record, ensure_table, read_applied, record_applied

if TYPE_CHECKING:
    import peewee

__all__ = [
    "RunResult",
    "Session",
    "missing_model_tables",
    "preview_statements",
    "run_steps",
    "stamp_migrations",
    "write_transaction",
]

logger = logging.getLogger("app_db")

ProgressCallback = Callable[[int, int, Migration], None]
KEEP_ALIVE_SECONDS = 0.1


@dataclass
class RunResult:
    applied: list[str] = field(default_factory=list)  # ids run, in order (applied going up, undone going down)
    backup: Path | None = None
    current: str | None = None  # the newest applied id afterwards


@contextmanager
def write_transaction(db: peewee.SqliteDatabase, path: Path | None, lock_timeout: float) -> Iterator[None]:
    """Hold SQLite's write lock for the block; commit if it returns, roll back if it raises.

    The lock is SQLite's own (BEGIN IMMEDIATE), so it dies with the process:
    a crash never leaves the user locked out. Waiting for it is bounded by
    ``lock_timeout`` seconds, long enough for another instance's migration.
    """
    connection = db.connection()
    db.pragma("foreign_keys", 0)
    # The COMMIT is fsynced (NORMAL would leave it in the WAL until a
    # checkpoint); SQLite ignores the pragma inside a transaction.
    synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    connection.execute("PRAGMA synchronous = FULL")
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise explain_sqlite_error(exc, path, "lock") from exc
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if path is not None:
            remove_leftovers(path)  # under the lock: no other launch of this file is copying now
        # Tell peewee a transaction is open, so db.atomic() inside a
        # migration becomes a savepoint instead of a second BEGIN.
        db.push_transaction(db.transaction())
        # A write outside up() (the tracking table, model tables) that fails
        # is explained for the file, as run_step explains one inside up().
        with explaining_sqlite_errors(path, "update"):
            try:
                yield
                if not connection.in_transaction:
                    raise AppDbError(
                        "A migration ended the transaction itself (commit() or executescript()); "
                        "part of the batch may be saved. Remove that call: app_db commits once, at the end.",
                        path=path,
                    )
                try:
                    connection.execute("COMMIT")
                except sqlite3.Error as exc:
                    raise explain_sqlite_error(exc, path, "save the update to") from exc
            except BaseException:
                if is_open(connection) and connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                db.pop_transaction()
    finally:
        if is_open(connection):
            if connection.in_transaction:
                # Something outside the inner block raised after BEGIN (remove_leftovers, a KeyboardInterrupt):
                # roll back first, or the pragma below fails inside the transaction and hides the real error.
                connection.execute("ROLLBACK")
            connection.execute(f"PRAGMA synchronous = {int(synchronous)}")  # the app's own writes: its own setting
            db.pragma("foreign_keys", 1)
        else:  # a migration closed it, which rolled the batch back; peewee must not keep the dead connection
            db.close()


def is_open(connection: sqlite3.Connection) -> bool:
    try:
        _ = connection.total_changes  # raises once the connection is closed
    except sqlite3.ProgrammingError:
        return False
    return True


@contextmanager
def calling_keep_alive(db: peewee.SqliteDatabase, keep_alive: Callable[[], None] | None) -> Iterator[None]:
    """Call ``keep_alive()`` about every 0.1 s while SQLite works, so a splash screen can stay responsive.

    It runs inside SQLite's progress handler: it must not use the database.
    """
    if keep_alive is None:
        yield
        return
    connection = db.connection()
    last_call = time.monotonic()

    def handler() -> int:
        nonlocal last_call
        now = time.monotonic()
        if now - last_call >= KEEP_ALIVE_SECONDS:
            last_call = now
            keep_alive()
        return 0  # non-zero would interrupt the statement

    connection.set_progress_handler(handler, 10_000)
    try:
        yield
    finally:
        connection.set_progress_handler(None, 0)


class Session:
    """One run of the loop: the connection, the file, what runs, and the callbacks, in place of nine parameters.

    ``path`` is the file the connection has open. ``in_memory`` says the
    connection holds a copy (a dry run) or an in-memory database: no
    backup, no leftovers to remove, and the foreign-key violations the data
    already had are counted before the first step (there is no second
    connection to read them from afterwards).
    """

    __slots__ = (
        "count",
        "db",
        "direction",
        "guard",
        "keep_alive",
        "lock_timeout",
        "models",
        "on_progress",
        "on_row_progress",
        "path",
        "take_backup",
        "to",
    )

    def __init__(
        self,
        db: peewee.SqliteDatabase,
        path: Path | None,
        direction: str = "up",
        *,
        to: str | None = None,
        count: int | None = 1,
        models: Sequence[type] = (),
        take_backup: bool = False,
        on_progress: ProgressCallback | None = None,
        keep_alive: Callable[[], None] | None = None,
        lock_timeout: float = 60.0,
        guard: StatementGuard | None = None,
        on_row_progress: Callable[[Migration, int, int], None] | None = None,
    ) -> None:
        self.db = db
        self.path = path
        self.direction = direction  # "up" (migrate) or "down" (rollback)
        self.to = to
        self.count = count  # how many to roll back, when ``to`` is None
        self.models = models
        self.take_backup = take_backup and path is not None
        self.on_progress = on_progress
        self.on_row_progress = on_row_progress  # a data migration's schema.progress(), throttled by Schema
        self.keep_alive = keep_alive
        self.lock_timeout = lock_timeout
        self.guard = guard

    @property
    def in_memory(self) -> bool:
        return self.path is None


def run_steps(session: Session, known: Sequence[KnownMigration]) -> RunResult:
    """Plan under the lock, then run each step (up or down) and its record, check foreign keys, and commit.

    The plan is made again under the lock (Plan.steps, the same function
    that planned before it): another instance may have done the work while
    this one waited, and then nothing runs. Going up, the models' missing
    tables are created in the same transaction. Each step runs under the
    session's guard (see app_db.guard; a new one by default).
    """
    db, path = session.db, session.path
    result = RunResult()
    with write_transaction(db, path, session.lock_timeout), calling_keep_alive(db, session.keep_alive):
        plan = plan_migrations(known, read_applied(db))
        steps = plan.steps(session.direction, session.to, session.count, path)
        result.current = plan.current_after(steps)
        missing = missing_model_tables(db, session.models)
        if not steps and not missing:
            return result
        migrations = [step.entry.load() for step in steps]
        if session.direction == "down":
            refuse_irreversible(migrations, path)
        violations_before = fk_violations(db) if session.in_memory else None
        origins = TableOrigins(read_table_roots(db))
        if session.take_backup and steps and has_user_tables(db):
            label = steps[0].id if session.direction == "up" else f"rollback-{steps[0].id}"
            result.backup = backup_before(path, label, session.keep_alive)
        if steps:
            ensure_table(db)
        schema = Schema(db, session.on_row_progress)
        verb = "Applying" if session.direction == "up" else "Rolling back"
        for index, (step, migration) in enumerate(zip(steps, migrations, strict=True), start=1):
            if session.on_progress is not None:
                session.on_progress(index, len(steps), migration)
            logger.info("%s migration %s (%d of %d)", verb, migration.label, index, len(steps))
            started = time.perf_counter()
            if run_step(
                migration, getattr(migration, step.direction), schema, plan, result.backup, path, session.guard
            ):
                origins.follow(read_table_roots(db))
            if step.direction == "up":
                step.entry.name = migration.name or step.entry.name
                record_applied(db, step.entry, time.perf_counter() - started)
            else:
                delete_record(db, migration.id)
            result.applied.append(step.id)
        # Asked again: the migrations may have created some of those tables
        # (peewee would then add its own duplicate indexes to them).
        missing = missing_model_tables(db, session.models)
        if missing:
            db.create_tables(missing, safe=True)
        if steps:
            check_foreign_keys(db, path, violations_before, origins, migrations[-1], plan, result.backup)
    return result


def stamp_migrations(
    db: peewee.SqliteDatabase,
    path: Path | None,
    known: Sequence[KnownMigration],
    target: str,
    lock_timeout: float = 60.0,
) -> RunResult:
    """Record the pending migrations through ``target`` as applied without running them (adopting an old file)."""
    result = RunResult()
    with write_transaction(db, path, lock_timeout):
        plan = plan_migrations(known, read_applied(db))
        steps = plan.steps("up", target, path=path)
        ensure_table(db)
        for step in steps:
            record_applied(db, step.entry, 0.0)
            result.applied.append(step.id)
        result.current = plan.current_after(steps)
    return result


def preview_statements(
    path: Path | None,
    known: Sequence[KnownMigration],
    direction: str = "up",
    *,
    to: str | None = None,
    count: int | None = 1,
    on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
) -> list[tuple[Migration, list[str]]]:
    """The SQL each step would run, in order, as (migration, statements); the file is only read.

    The same loop (run_steps) runs for real, planned by the same function,
    but on an in-memory copy of the file made with the backup API (given the
    app's ``on_connect``, so its SQL functions work there too), so what is
    shown is what would happen, data migrations included. A statement is
    shown when SQLite says it writes (see app_db.guard), whatever keyword it
    begins with; reads and app_db's own bookkeeping are left out.
    """
    import peewee

    # No statement cache: every statement is prepared, so the guard is asked
    # about each one, just before the trace callback sees it run.
    memory = peewee.SqliteDatabase(":memory:", pragmas=[("foreign_keys", 1)], cached_statements=0)
    memory.connect()
    if on_connect is not None:
        call_on_connect(on_connect, memory, path)
    guard = StatementGuard()
    steps_run: list[tuple[Migration, list[str]]] = []

    def trace(statement: str) -> None:
        if guard.shows(statement) and steps_run:
            steps_run[-1][1].append(statement)

    def start_step(index: int, total: int, migration: Migration) -> None:
        steps_run.append((migration, []))

    try:
        if path is not None and path.exists():
            source = connect_read_only(path)
            try:
                source.backup(memory.connection())
            finally:
                source.close()
        memory.connection().set_trace_callback(trace)
        session = Session(memory, None, direction, to=to, count=count, on_progress=start_step, guard=guard)
        run_steps(session, known)
    finally:
        memory.close()
    return steps_run


def run_step(
    migration: Migration,
    step: Callable[[Schema], None],
    schema: Schema,
    plan: Plan,
    backup: Path | None,
    path: Path | None,
    guard: StatementGuard | None = None,
) -> bool:
    """Call one up() or down() under the transaction guard, turning a failure into an error that names the migration.

    True when it ran ALTER TABLE (a table may have been renamed).
    """
    guard = guard if guard is not None else StatementGuard()
    schema.row_progress.start(migration)
    try:
        with guarding(schema.db.connection(), guard):
            step(schema)
    except Exception as exc:
        if guard.refused:
            raise refusal_error(migration, guard, plan, backup, path) from exc
        if not is_open(schema.db.connection()):
            raise closed_error(migration, plan, backup, path) from exc
        # A SQLite error that escaped up() is explained for the file (disk full, locked...); an
        # AppDbError the step raised itself (SchemaOperationError) is the migration's failure.
        raw = sqlite_error_name(exc) and not isinstance(exc, AppDbError)
        storage = explain_sqlite_error(exc, path, "update") if raw else None
        if storage is not None and type(storage) is not AppDbError:
            raise storage from exc
        raise MigrationError(
            failure_message(migration, f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc), plan, backup),
            migration=migration,
            backup=backup,
            path=path,
        ) from exc
    if guard.refused:  # the migration caught the refusal and went on
        raise refusal_error(migration, guard, plan, backup, path)
    if not is_open(schema.db.connection()):
        raise closed_error(migration, plan, backup, path)
    return guard.altered


def refusal_error(
    migration: Migration, guard: StatementGuard, plan: Plan, backup: Path | None, path: Path | None
) -> MigrationError:
    return MigrationError(
        failure_message(migration, guard.problem(), plan, backup), migration=migration, backup=backup, path=path
    )


def closed_error(migration: Migration, plan: Plan, backup: Path | None, path: Path | None) -> MigrationError:
    problem = "it closed the database connection, which rolled the batch back; never close schema.db in a migration"
    return MigrationError(
        failure_message(migration, problem, plan, backup), migration=migration, backup=backup, path=path
    )


def failure_message(migration: Migration, problem: str, plan: Plan, backup: Path | None) -> str:
    state = f"the database is still at {plan.current}" if plan.current else "the database is still empty of migrations"
    message = f"Migration {migration.label} failed: {problem}. Nothing was changed; {state}."
    if backup is not None:
        message += f" A backup taken just before is at {backup}."
    return message


def backup_before(path: Path | None, label: str, keep_alive: Callable[[], None] | None = None) -> Path | None:
    if path is None:
        return None
    report = (lambda copied, total: keep_alive()) if keep_alive is not None else None
    return backup_database(path, label=f"before-{label}", on_progress=report)


def has_user_tables(db: peewee.SqliteDatabase) -> bool:
    return (
        db.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
        ).fetchone()
        is not None
    )


def missing_model_tables(db: peewee.SqliteDatabase, models: Sequence[type]) -> list[type]:
    """The models whose table does not exist yet."""
    if not models:
        return []
    tables = {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [model for model in models if model._meta.table_name not in tables]  # type: ignore[attr-defined]


def fk_violations(db_or_connection: peewee.SqliteDatabase | sqlite3.Connection) -> list[tuple[str, int | None, str]]:
    """Every foreign-key violation as (child table, child rowid, parent table); rowid None in WITHOUT ROWID tables."""
    execute = getattr(db_or_connection, "execute_sql", None) or db_or_connection.execute
    return [(row[0], row[1], row[2]) for row in execute("PRAGMA foreign_key_check").fetchall()]


def committed_fk_violations(path: Path) -> list[tuple[str, int | None, str]]:
    """Violations in the committed file, read through a second connection.

    In WAL mode that connection sees the file as it was before this
    transaction, so the costly "before" list is made only when needed.
    """
    connection = connect_read_only(path)
    try:
        return fk_violations(connection)
    finally:
        connection.close()


def read_table_roots(db: peewee.SqliteDatabase) -> dict[str, int]:
    """Each table's name (lower case: SQLite names are case-insensitive) and root page."""
    rows = db.execute_sql("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name.lower(): rootpage for name, rootpage in rows}


class TableOrigins:
    """Which table of the file before the batch each table is now, so a renamed table keeps its old orphans.

    A rename keeps the table's root page; a rebuild (copy, drop, rename
    into place) keeps its name. ``follow`` is called after each step that
    ran ALTER TABLE, so a rename in one migration and a rebuild in the next
    are both followed. A step that renames a table and also rebuilds it
    keeps neither; when exactly one table vanished in that step and exactly
    one appeared, the new one is taken to be the old one.
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.origin = {name: name for name in roots}

    def follow(self, roots: dict[str, int]) -> None:
        by_root = {root: name for name, root in self.roots.items()}
        origin: dict[str, str] = {}
        for name, root in roots.items():
            before = by_root.get(root)
            if name in self.origin and self.roots[name] == root:
                origin[name] = self.origin[name]  # unchanged
            elif before is not None and before not in roots and before in self.origin:
                origin[name] = self.origin[before]  # renamed
            elif name in self.origin:
                origin[name] = self.origin[name]  # rebuilt under its name
        vanished = [name for name in self.origin if self.origin[name] not in origin.values()]
        appeared = [name for name in roots if name not in origin]
        if len(vanished) == 1 and len(appeared) == 1:
            origin[appeared[0]] = self.origin[vanished[0]]  # renamed and rebuilt in one step
        self.roots, self.origin = roots, origin

    def key(self, table: str, rowid: int | None) -> tuple[str, int | None]:
        """What identifies a violating row across the batch: its table's origin and its rowid."""
        name = table.lower()
        return (self.origin.get(name, "new:" + name), rowid)


def check_foreign_keys(
    db: peewee.SqliteDatabase,
    path: Path | None,
    before: list[tuple[str, int | None, str]] | None,
    origins: TableOrigins,
    last: Migration,
    plan: Plan,
    backup: Path | None,
) -> None:
    """Refuse to commit a batch that adds foreign-key violations.

    Violations the file already had are tolerated (they must not block
    every future upgrade), told apart by row, table and rowid, with tables
    followed through renames and rebuilds. A row of a WITHOUT ROWID table
    has no rowid; those are counted per table.
    """
    after = fk_violations(db)
    if not after:
        return
    if before is None:
        before = committed_fk_violations(path) if path is not None else []
    tolerated = Counter((table.lower(), rowid) for table, rowid, _ in before)
    added: dict[tuple[str, str], list[int | None]] = {}
    for table, rowid, parent in after:
        key = origins.key(table, rowid)
        if tolerated[key] > 0:
            tolerated[key] -= 1
        else:
            added.setdefault((table, parent), []).append(rowid)
    if not added:
        return
    details = "; ".join(
        f"{len(rowids)} row(s) of {child} point to missing {parent} rows{describe_rowids(rowids)}"
        for (child, parent), rowids in sorted(added.items())
    )
    raise MigrationError(
        failure_message(
            last,
            f"the batch would leave broken foreign keys ({details}); delete or fix those rows in the migration",
            plan,
            backup,
        ),
        migration=last,
        backup=backup,
        path=path,
    )


def describe_rowids(rowids: Sequence[int | None]) -> str:
    known = sorted(rowid for rowid in rowids if rowid is not None)
    if not known:
        return ""
    shown = ", ".join(str(rowid) for rowid in known[:5]) + (", ..." if len(known) > 5 else "")
    return f" (rowid {shown})"
