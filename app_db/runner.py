"""Run: the one loop that runs migrations, up or down, inside the write transaction, and records them.

Under the lock (app_db.transaction) the plan is made again, the file is
backed up, each step runs under the statement guard and is recorded, the
models' missing tables are created, and a batch that adds foreign-key
violations (app_db.foreign_keys) is refused before it commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .backup import backup_database
from .connection import explain_sqlite_error, sqlite_error_name
from .discovery import KnownMigration
from .errors import AppDbError, CallbackError, MigrationError
from .foreign_keys import TableOrigins, added_violations, fk_violations, read_table_roots
from .guard import StatementGuard, guarding
from .migration import Migration, Schema
from .plan import Plan, plan_migrations, refuse_irreversible
from .reports import ReportedMigration
from .tracking import delete_record, ensure_table, read_applied, record_applied
from .transaction import callback_message, calling_keep_alive, is_open, write_transaction

if TYPE_CHECKING:
    import peewee

__all__ = ["RunResult", "Session", "missing_model_tables", "run_steps", "stamp_migrations"]

logger = logging.getLogger("app_db")

ProgressCallback = Callable[[int, int, Migration], None]


@dataclass
class RunResult:
    applied: list[str] = field(default_factory=list)  # ids run (ReportedMigration), in order: applied up, undone down
    backup: Path | None = None
    current: str | None = None  # the newest applied id afterwards
    recorded: list[str] = field(default_factory=list)  # baselines only recorded (the file had their originals)


class Session:
    """One run of the loop: the connection, the file, what runs, and the callbacks, in place of nine parameters.

    ``path`` is the file the connection has open. ``in_memory`` says the
    connection holds a copy (a dry run) or an in-memory database: no
    backup, no leftovers to remove, and the foreign-key violations the data
    already had are counted before the first step (there is no second
    connection to read them from afterwards).
    """

    __slots__ = (
        "app_name",
        "app_version",
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
        app_name: str | None = None,
        app_version: str | None = None,
    ) -> None:
        self.app_name = app_name  # who writes the tracking rows (Database's app_name, app_version)
        self.app_version = app_version
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
    started = time.perf_counter()
    with (
        write_transaction(db, path, session.lock_timeout, session.keep_alive),
        calling_keep_alive(db, session.keep_alive, path) as keep,
    ):
        plan = plan_migrations(known, read_applied(db))
        steps = plan.steps(session.direction, session.to, session.count, path)
        result.current = plan.current_after(steps)
        missing = missing_model_tables(db, session.models)
        if not steps and not missing:
            return result
        # A squashed history's originals (``cover`` steps) are only recorded: never imported. A recorded
        # baseline is loaded all the same: its record says whether it is backward compatible.
        for step in steps:
            if step.direction != "cover":
                step.entry.load()
        running = [(step, step.entry.load()) for step in steps if step.runs]
        if session.direction == "down":
            refuse_irreversible([migration for _, migration in running], path)
        violations_before = fk_violations(db) if session.in_memory else None
        origins = TableOrigins(read_table_roots(db))
        keep.state = state_after_rollback(plan, None)
        if session.take_backup and running and has_user_tables(db):
            label = running[0][0].id if session.direction == "up" else f"rollback-{running[0][0].id}"
            keep.where = f"while {path} was being backed up"
            result.backup = backup_before(path, label, keep.tick)
            keep.state = state_after_rollback(plan, result.backup)
        if steps:
            ensure_table(db)
        schema = Schema(db, session.on_row_progress)
        verb = "Applying" if session.direction == "up" else "Rolling back"
        index = 0
        for step in steps:
            if not step.runs:  # a baseline the file has, or an original it stands for
                record_applied(db, step.entry, 0.0, session.app_name, session.app_version)
                if step.direction == "record":
                    result.recorded.append(ReportedMigration(step.id, step.entry.name))
                continue
            migration = step.entry.load()
            index += 1
            keep.where = f"in migration {migration.label} ({index} of {len(running)})"
            keep.tick()  # a step that runs no long statement still gives the splash its turn
            if session.on_progress is not None:
                call_on_progress(session.on_progress, index, len(running), migration, keep.state, path)
            logger.info("%s migration %s (%d of %d)", verb, migration.label, index, len(running))
            step_started = time.perf_counter()
            if run_step(
                migration, getattr(migration, step.direction), schema, plan, result.backup, path, session.guard
            ):
                origins.follow(read_table_roots(db))
            if step.direction == "up":
                step.entry.name = migration.name or step.entry.name
                elapsed = time.perf_counter() - step_started
                record_applied(db, step.entry, elapsed, session.app_name, session.app_version)
            else:
                delete_record(db, migration.id)
            result.applied.append(ReportedMigration(step.id, migration.name or step.entry.name))
        keep.where = "while the models' tables were created"
        keep.tick()
        # Asked again: the migrations may have created some of those tables
        # (peewee would then add its own duplicate indexes to them).
        missing = missing_model_tables(db, session.models)
        if missing:
            db.create_tables(missing, safe=True)
        keep.where = "while the foreign keys were checked"
        keep.tick()
        broken = added_violations(db, path, violations_before, origins, keep.handler) if running else None
        if broken is not None:
            last = running[-1][1]
            raise MigrationError(
                failure_message(last, broken, plan, result.backup), migration=last, backup=result.backup, path=path
            )
        keep.where = "just before the commit"
        keep.tick(now=True)  # the COMMIT's fsync comes next, and SQLite calls nothing during it
    log_finished(session, result, missing, time.perf_counter() - started)
    return result


def stamp_migrations(
    db: peewee.SqliteDatabase,
    path: Path | None,
    known: Sequence[KnownMigration],
    target: str,
    lock_timeout: float = 60.0,
    app_name: str | None = None,
    app_version: str | None = None,
) -> RunResult:
    """Record the pending migrations through ``target`` as applied without running them (adopting an old file)."""
    result = RunResult()
    with write_transaction(db, path, lock_timeout):
        plan = plan_migrations(known, read_applied(db))
        steps = plan.steps("up", target, path=path)
        ensure_table(db)
        for step in steps:
            record_applied(db, step.entry, 0.0, app_name, app_version)
            result.applied.append(ReportedMigration(step.id, step.entry.name))
        result.current = plan.current_after(steps)
    return result


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
    return f"Migration {migration.label} failed: {problem}. {state_after_rollback(plan, backup)}"


def state_after_rollback(plan: Plan, backup: Path | None) -> str:
    """What a rolled-back batch leaves: the one wording of every failure's second half."""
    state = f"the database is still at {plan.current}" if plan.current else "the database is still empty of migrations"
    message = f"Nothing was changed; {state}."
    if backup is not None:
        message += f" A backup taken just before is at {backup}."
    return message


def call_on_progress(
    on_progress: ProgressCallback, index: int, total: int, migration: Migration, state: str, path: Path | None
) -> None:
    """The app's on_progress; what it raises stops the batch as CallbackError, never blamed on a migration."""
    try:
        on_progress(index, total, migration)
    except Exception as exc:
        where = f"before migration {migration.label} ({index} of {total})"
        raise CallbackError(
            callback_message("on_progress", exc, where, state), callback="on_progress", path=path
        ) from exc


def log_finished(session: Session, result: RunResult, created: Sequence[type], seconds: float) -> None:
    """INFO: what the batch did to which file, and how long it took (the lock, backup and commit included)."""
    done = "Applied" if session.direction == "up" else "Rolled back"
    if result.applied:
        logger.info(
            "%s %d migration(s) to %s in %.2f s; now at %s",
            done,
            len(result.applied),
            session.path or ":memory:",
            seconds,
            result.current or "no migration",
        )
    if result.recorded:
        logger.info(
            "Recorded %s in %s without running it: the file has every migration it replaces",
            ", ".join(result.recorded),
            session.path or ":memory:",
        )
    if created:
        names = ", ".join(model._meta.table_name for model in created)  # type: ignore[attr-defined]
        logger.info("Created the models' missing tables (%s) in %s", names, session.path or ":memory:")


def backup_before(path: Path | None, label: str, keep_alive: Callable[[], None] | None = None) -> Path | None:
    """The pre-update backup; ``keep_alive`` (KeepAlive.tick: throttled; what it raises stops the batch) per 16 MiB."""
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
