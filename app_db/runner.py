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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

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
from .errors import AppDbError, ConfigurationError, IrreversibleMigrationError, MigrationError
from .guard import StatementGuard, guarding
from .migration import Migration, Schema
from .plan import Plan, plan_migrations
from .tracking import delete_record, ensure_table, read_applied, record_applied

if TYPE_CHECKING:
    import peewee

__all__ = [
    "RunResult",
    "missing_model_tables",
    "preview_statements",
    "rollback_migrations",
    "run_pending",
    "stamp_migrations",
    "write_transaction",
]

logger = logging.getLogger("app_db")

ProgressCallback = Callable[[int, int, Migration], None]
KEEP_ALIVE_SECONDS = 0.1


@dataclass
class RunResult:
    applied: List[str] = field(default_factory=list)  # ids run (up for run_pending, down for rollback)
    backup: Optional[Path] = None


@contextmanager
def write_transaction(db: "peewee.SqliteDatabase", path: Optional[Path], lock_timeout: float) -> Iterator[None]:
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
            connection.execute(f"PRAGMA synchronous = {int(synchronous)}")  # the app's own writes: its own setting
            db.pragma("foreign_keys", 1)
        else:  # a migration closed it, which rolled the batch back; peewee must not keep the dead connection
            db.close()


def is_open(connection: sqlite3.Connection) -> bool:
    try:
        connection.total_changes
    except sqlite3.ProgrammingError:
        return False
    return True


@contextmanager
def calling_keep_alive(db: "peewee.SqliteDatabase", keep_alive: Optional[Callable[[], None]]) -> Iterator[None]:
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


def run_pending(
    db: "peewee.SqliteDatabase",
    path: Optional[Path],
    known: Sequence[KnownMigration],
    *,
    target: Optional[str] = None,
    models: Sequence[type] = (),
    take_backup: bool = False,
    on_progress: Optional[ProgressCallback] = None,
    keep_alive: Optional[Callable[[], None]] = None,
    lock_timeout: float = 60.0,
    guard: Optional[StatementGuard] = None,
    on_row_progress: Optional[Callable[[Migration, int, int], None]] = None,
) -> RunResult:
    """Apply the pending migrations (through ``target``) and create missing model tables, all in one transaction.

    The plan is made again under the lock: another instance may have done
    the work while this one waited, and then nothing runs. Each up() runs
    under ``guard`` (see app_db.guard; a new one by default).
    """
    result = RunResult()
    with write_transaction(db, path, lock_timeout), calling_keep_alive(db, keep_alive):
        plan = plan_migrations(known, read_applied(db))
        plan.raise_if_too_new(path)
        pending = plan.up_to(target) if target else plan.pending
        missing = missing_model_tables(db, models)
        if not pending and not missing:
            return result
        migrations = [entry.load() for entry in pending]
        violations_before = fk_violations(db) if path is None else None
        origins = TableOrigins(read_table_roots(db))
        if take_backup and pending and has_user_tables(db):
            result.backup = backup_before(path, pending[0].id, keep_alive)
        ensure_table(db)
        schema = Schema(db, on_row_progress) if pending else None
        for index, (entry, migration) in enumerate(zip(pending, migrations), start=1):
            if on_progress is not None:
                on_progress(index, len(pending), migration)
            logger.info("Applying migration %s (%d of %d)", migration.label, index, len(pending))
            started = time.perf_counter()
            altered = run_step(migration, migration.up, schema, plan, result.backup, path, guard)  # type: ignore[arg-type]
            if altered:
                origins.follow(read_table_roots(db))
            entry.name = migration.name or entry.name
            record_applied(db, entry, time.perf_counter() - started)
            result.applied.append(entry.id)
        # Asked again: the migrations may have created some of those tables
        # (peewee would then add its own duplicate indexes to them).
        missing = missing_model_tables(db, models)
        if missing:
            db.create_tables(missing, safe=True)
        if pending:
            check_foreign_keys(db, path, violations_before, origins, migrations[-1], plan, result.backup)
    return result


def rollback_migrations(
    db: "peewee.SqliteDatabase",
    path: Optional[Path],
    known: Sequence[KnownMigration],
    *,
    steps: Optional[int] = 1,
    to: Optional[str] = None,
    take_backup: bool = False,
    on_progress: Optional[ProgressCallback] = None,
    keep_alive: Optional[Callable[[], None]] = None,
    lock_timeout: float = 60.0,
    guard: Optional[StatementGuard] = None,
    on_row_progress: Optional[Callable[[Migration, int, int], None]] = None,
) -> RunResult:
    """Run down() of the newest applied migrations, newest first, in one transaction.

    ``to`` keeps that migration and undoes everything after it; otherwise the
    newest ``steps`` are undone. Every down() is checked to exist before any
    change is made.
    """
    result = RunResult()
    with write_transaction(db, path, lock_timeout), calling_keep_alive(db, keep_alive):
        plan = plan_migrations(known, read_applied(db))
        newest_first = sorted(plan.applied, reverse=True)
        if to is not None:
            if to not in plan.applied:
                raise ConfigurationError(f"{to!r} is not an applied migration; `app-db status` lists them.")
            undo_ids = [migration_id for migration_id in newest_first if migration_id > to]
        else:
            if steps is None or steps < 1:
                raise ConfigurationError(f"steps must be 1 or more, not {steps!r}.")
            if steps > len(newest_first):
                raise ConfigurationError(
                    f"Cannot roll back {steps} migrations: only {len(newest_first)} are applied. Nothing was "
                    f"changed. Ask for {len(newest_first)} or fewer (rolling back all of them empties the database)."
                )
            undo_ids = newest_first[:steps]
        by_id = {entry.id: entry for entry in plan.known}
        for migration_id in undo_ids:
            if migration_id not in by_id:
                raise IrreversibleMigrationError(
                    f"Cannot roll back {migration_id}: this app version does not ship it (a newer version "
                    "applied it). Nothing was changed.",
                    path=path,
                )
        migrations = [by_id[migration_id].load() for migration_id in undo_ids]
        for migration in migrations:
            if not migration.reversible:
                raise IrreversibleMigrationError(
                    f"Cannot roll back {migration.label}: it has no down(self, schema) method. "
                    "Nothing was changed. Write a down() that undoes up(), or roll back fewer steps.",
                    file=migration.file,
                    path=path,
                )
        if not migrations:
            return result
        violations_before = fk_violations(db) if path is None else None
        origins = TableOrigins(read_table_roots(db))
        if take_backup:
            result.backup = backup_before(path, f"rollback-{migrations[0].id}", keep_alive)
        schema = Schema(db, on_row_progress)
        for index, migration in enumerate(migrations, start=1):
            if on_progress is not None:
                on_progress(index, len(migrations), migration)
            logger.info("Rolling back migration %s (%d of %d)", migration.label, index, len(migrations))
            if run_step(migration, migration.down, schema, plan, result.backup, path, guard):  # type: ignore[attr-defined]
                origins.follow(read_table_roots(db))
            delete_record(db, migration.id)
            result.applied.append(migration.id)
        check_foreign_keys(db, path, violations_before, origins, migrations[-1], plan, result.backup)
    return result


def stamp_migrations(
    db: "peewee.SqliteDatabase", path: Optional[Path], known: Sequence[KnownMigration], target: str, lock_timeout: float = 60.0
) -> List[str]:
    """Record the pending migrations through ``target`` as applied without running them (adopting an old file)."""
    with write_transaction(db, path, lock_timeout):
        plan = plan_migrations(known, read_applied(db))
        plan.raise_if_too_new(path)
        pending = plan.up_to(target)
        ensure_table(db)
        for entry in pending:
            record_applied(db, entry, 0.0)
    return [entry.id for entry in pending]


def preview_statements(
    path: Optional[Path],
    known: Sequence[KnownMigration],
    *,
    rollback: bool = False,
    target: Optional[str] = None,
    steps: Optional[int] = 1,
    on_connect: Optional[Callable[["peewee.SqliteDatabase"], None]] = None,
) -> List[Tuple[Migration, List[str]]]:
    """The SQL each migration would run, in order, as (migration, statements); the file is only read.

    The migrations run for real, but on an in-memory copy of the file made
    with the backup API (given the app's ``on_connect``, so its SQL
    functions work there too), so what is shown is what would happen, data
    migrations included. A statement is shown when SQLite says it writes
    (see app_db.guard), whatever keyword it begins with; reads and app_db's
    own bookkeeping are left out.
    """
    import peewee

    # No statement cache: every statement is prepared, so the guard is asked
    # about each one, just before the trace callback sees it run.
    memory = peewee.SqliteDatabase(":memory:", pragmas=[("foreign_keys", 1)], cached_statements=0)
    memory.connect()
    if on_connect is not None:
        call_on_connect(on_connect, memory, path)
    guard = StatementGuard()
    steps_run: List[Tuple[Migration, List[str]]] = []

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
        if rollback:
            rollback_migrations(
                memory, None, known, steps=None if target else steps, to=target, on_progress=start_step, guard=guard
            )
        else:
            run_pending(memory, None, known, target=target, on_progress=start_step, guard=guard)
    finally:
        memory.close()
    return steps_run


def run_step(
    migration: Migration,
    step: Callable,
    schema: Schema,
    plan: Plan,
    backup: Optional[Path],
    path: Optional[Path],
    guard: Optional[StatementGuard] = None,
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
    migration: Migration, guard: StatementGuard, plan: Plan, backup: Optional[Path], path: Optional[Path]
) -> MigrationError:
    return MigrationError(failure_message(migration, guard.problem(), plan, backup), migration=migration, backup=backup, path=path)


def closed_error(migration: Migration, plan: Plan, backup: Optional[Path], path: Optional[Path]) -> MigrationError:
    problem = "it closed the database connection, which rolled the batch back; never close schema.db in a migration"
    return MigrationError(failure_message(migration, problem, plan, backup), migration=migration, backup=backup, path=path)


def failure_message(migration: Migration, problem: str, plan: Plan, backup: Optional[Path]) -> str:
    state = f"the database is still at {plan.current}" if plan.current else "the database is still empty of migrations"
    message = f"Migration {migration.label} failed: {problem}. Nothing was changed; {state}."
    if backup is not None:
        message += f" A backup taken just before is at {backup}."
    return message


def backup_before(path: Optional[Path], label: str, keep_alive: Optional[Callable[[], None]] = None) -> Optional[Path]:
    if path is None:
        return None
    report = (lambda copied, total: keep_alive()) if keep_alive is not None else None
    return backup_database(path, label=f"before-{label}", on_progress=report)


def has_user_tables(db: "peewee.SqliteDatabase") -> bool:
    return (
        db.execute_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1").fetchone()
        is not None
    )


def missing_model_tables(db: "peewee.SqliteDatabase", models: Sequence[type]) -> List[type]:
    """The models whose table does not exist yet."""
    if not models:
        return []
    tables = {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [model for model in models if model._meta.table_name not in tables]  # type: ignore[attr-defined]


def fk_violations(db_or_connection) -> List[Tuple[str, Optional[int], str]]:
    """Every foreign-key violation as (child table, child rowid, parent table); rowid is None in WITHOUT ROWID tables."""
    execute = getattr(db_or_connection, "execute_sql", None) or db_or_connection.execute
    return [(row[0], row[1], row[2]) for row in execute("PRAGMA foreign_key_check").fetchall()]


def committed_fk_violations(path: Path) -> List[Tuple[str, Optional[int], str]]:
    """Violations in the committed file, read through a second connection.

    In WAL mode that connection sees the file as it was before this
    transaction, so the costly "before" list is made only when needed.
    """
    connection = connect_read_only(path)
    try:
        return fk_violations(connection)
    finally:
        connection.close()


def read_table_roots(db: "peewee.SqliteDatabase") -> Dict[str, int]:
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

    def __init__(self, roots: Dict[str, int]) -> None:
        self.roots = roots
        self.origin = {name: name for name in roots}

    def follow(self, roots: Dict[str, int]) -> None:
        by_root = {root: name for name, root in self.roots.items()}
        origin: Dict[str, str] = {}
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

    def key(self, table: str, rowid: Optional[int]) -> Tuple[Optional[str], Optional[int]]:
        """What identifies a violating row across the batch: its table's origin and its rowid."""
        name = table.lower()
        return (self.origin.get(name, "new:" + name), rowid)


def check_foreign_keys(
    db: "peewee.SqliteDatabase",
    path: Optional[Path],
    before: Optional[List[Tuple[str, Optional[int], str]]],
    origins: TableOrigins,
    last: Migration,
    plan: Plan,
    backup: Optional[Path],
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
    added: Dict[Tuple[str, str], List[Optional[int]]] = {}
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


def describe_rowids(rowids: Sequence[Optional[int]]) -> str:
    known = sorted(rowid for rowid in rowids if rowid is not None)
    if not known:
        return ""
    shown = ", ".join(str(rowid) for rowid in known[:5]) + (", ..." if len(known) > 5 else "")
    return f" (rowid {shown})"
