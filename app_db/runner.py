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
from typing import TYPE_CHECKING, Callable, Iterator, List, Optional, Sequence, Tuple

from .backup import backup_database, remove_leftovers
from .connection import (
    BUSY_TIMEOUT_SECONDS,
    connect_read_only,
    explain_sqlite_error,
    explaining_sqlite_errors,
    sqlite_error_name,
)
from .discovery import KnownMigration
from .errors import AppDbError, ConfigurationError, IrreversibleMigrationError, MigrationError
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
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            finally:
                db.pop_transaction()
    finally:
        connection.execute(f"PRAGMA synchronous = {int(synchronous)}")  # the app's own writes: its own setting
        db.pragma("foreign_keys", 1)


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
) -> RunResult:
    """Apply the pending migrations (through ``target``) and create missing model tables, all in one transaction.

    The plan is made again under the lock: another instance may have done
    the work while this one waited, and then nothing runs.
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
        violations_before = count_fk_violations(db) if path is None else None
        if take_backup and pending and has_user_tables(db):
            result.backup = backup_before(path, pending[0].id, keep_alive)
        ensure_table(db)
        schema = Schema(db) if pending else None
        for index, (entry, migration) in enumerate(zip(pending, migrations), start=1):
            if on_progress is not None:
                on_progress(index, len(pending), migration)
            logger.info("Applying migration %s (%d of %d)", migration.label, index, len(pending))
            started = time.perf_counter()
            run_step(migration, migration.up, schema, plan, result.backup, path)
            entry.name = migration.name or entry.name
            record_applied(db, entry, time.perf_counter() - started)
            result.applied.append(entry.id)
        # Asked again: the migrations may have created some of those tables
        # (peewee would then add its own duplicate indexes to them).
        missing = missing_model_tables(db, models)
        if missing:
            db.create_tables(missing, safe=True)
        if pending:
            check_foreign_keys(db, path, violations_before, migrations[-1], plan, result.backup)
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
        violations_before = count_fk_violations(db) if path is None else None
        if take_backup:
            result.backup = backup_before(path, f"rollback-{migrations[0].id}", keep_alive)
        schema = Schema(db)
        for index, migration in enumerate(migrations, start=1):
            if on_progress is not None:
                on_progress(index, len(migrations), migration)
            logger.info("Rolling back migration %s (%d of %d)", migration.label, index, len(migrations))
            run_step(migration, migration.down, schema, plan, result.backup, path)  # type: ignore[attr-defined]
            delete_record(db, migration.id)
            result.applied.append(migration.id)
        check_foreign_keys(db, path, violations_before, migrations[-1], plan, result.backup)
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
) -> List[Tuple[Migration, List[str]]]:
    """The SQL each migration would run, in order, as (migration, statements); the file is only read.

    The migrations run for real, but on an in-memory copy of the file made
    with the backup API, so what is shown is what would happen, data
    migrations included. Reads and app_db's own bookkeeping are left out.
    """
    import peewee

    memory = peewee.SqliteDatabase(":memory:", pragmas=[("foreign_keys", 1)])
    memory.connect()
    steps_run: List[Tuple[Migration, List[str]]] = []

    def trace(statement: str) -> None:
        if steps_run and is_change(statement):
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
            rollback_migrations(memory, None, known, steps=None if target else steps, to=target, on_progress=start_step)
        else:
            run_pending(memory, None, known, target=target, on_progress=start_step)
    finally:
        memory.close()
    return steps_run


def is_change(statement: str) -> bool:
    """True for a statement that changes the schema or the data the user sees."""
    head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    if head in {"SELECT", "PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "WITH"}:
        return False
    return "app_db_migrations" not in statement


def run_step(
    migration: Migration, step: Callable, schema: Optional[Schema], plan: Plan, backup: Optional[Path], path: Optional[Path]
) -> None:
    """Call one up() or down(), turning a failure into an error that names the migration."""
    try:
        step(schema)
    except Exception as exc:
        storage = explain_sqlite_error(exc, path, "update") if sqlite_error_name(exc) else None
        if storage is not None and type(storage) is not AppDbError:
            raise storage from exc
        raise MigrationError(
            failure_message(migration, f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc), plan, backup),
            migration=migration,
            backup=backup,
            path=path,
        ) from exc


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


def count_fk_violations(db_or_connection) -> Counter:
    """Foreign-key violations per (child table, parent table)."""
    execute = getattr(db_or_connection, "execute_sql", None) or db_or_connection.execute
    return Counter((row[0], row[2]) for row in execute("PRAGMA foreign_key_check").fetchall())


def committed_fk_violations(path: Path) -> Counter:
    """Violations in the committed file, read through a second connection.

    In WAL mode that connection sees the file as it was before this
    transaction, so the costly "before" count is made only when needed.
    """
    connection = connect_read_only(path)
    try:
        return count_fk_violations(connection)
    finally:
        connection.close()


def check_foreign_keys(
    db: "peewee.SqliteDatabase",
    path: Optional[Path],
    before: Optional[Counter],
    last: Migration,
    plan: Plan,
    backup: Optional[Path],
) -> None:
    """Refuse to commit a batch that adds foreign-key violations.

    Violations the file already had are tolerated: they must not block every
    future upgrade.
    """
    after = count_fk_violations(db)
    if not after:
        return
    if before is None:
        before = committed_fk_violations(path) if path is not None else Counter()
    added = after - before
    if not added:
        return
    details = "; ".join(f"{count} row(s) of {child} point to missing {parent} rows" for (child, parent), count in sorted(added.items()))
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
