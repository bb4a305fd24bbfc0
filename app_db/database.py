"""Database: the app's per-user SQLite file, brought up to date at launch."""

from __future__ import annotations

import logging
import os

from .connection import explaining_sqlite_errors
from .discovery import (
    identify_instances,
    identify_migrations,
    list_migration_files,
    list_migration_names,
    resolve_source,
)
from .errors import MigrationDefinitionError, SchemaDriftError
from .migration import Migration
from .paths import absolute_path, locate_database, resolve_environment
from .plan import Plan, is_up_to_date, plan_migrations
from .policy import policy_for

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds; annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime
    from pathlib import Path

    import peewee

    from .discovery import KnownMigration, MigrationsSource
    from .policy import Policy
    from .runner import Session
    from .tracking import AppliedMigration

__all__ = ["Database", "LaunchReport", "MigrationStatus", "StepPreview"]

logger = logging.getLogger("app_db")


class LaunchReport:
    """What register_models(), migrate(), rollback() or stamp() did to the file.

    ``applied``: ids applied (stamp: recorded without running), oldest
    first; ``undone``: ids rolled back, newest first; ``backup``: the copy
    taken just before, or None; ``current``: the newest applied id after it
    (None also when register_models() found nothing to do: it reads no id).
    """

    __slots__ = ("_path", "applied", "backup", "current", "env", "undone")

    def __init__(
        self,
        path: str | Path | None,
        env: str,
        applied: list[str] | None = None,
        backup: Path | None = None,
        undone: list[str] | None = None,
        current: str | None = None,
    ) -> None:
        self._path = path
        self.env = env
        self.applied = applied or []
        self.backup = backup
        self.undone = undone or []
        self.current = current

    @property
    def path(self) -> Path | None:
        """The database file (None: in memory)."""
        return as_path(self._path)

    def __repr__(self) -> str:
        undone = f", undone={self.undone!r}" if self.undone else ""
        return (
            f"LaunchReport(path={self.path!r}, env={self.env!r}, applied={self.applied!r}{undone}, "
            f"backup={self.backup!r}, current={self.current!r})"
        )


class StepPreview:
    """What one migration would run in a preview: its id and name, the direction, and its SQL statements."""

    __slots__ = ("direction", "id", "name", "statements")

    def __init__(self, id: str, name: str, direction: str, statements: list[str]) -> None:
        self.id = id
        self.name = name
        self.direction = direction  # "up" (migrate) or "down" (rollback)
        self.statements = statements  # each statement SQLite reports as writing, in order

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StepPreview):
            return NotImplemented
        return (self.id, self.name, self.direction, self.statements) == (
            other.id,
            other.name,
            other.direction,
            other.statements,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable statements: compared, not hashed

    def __repr__(self) -> str:
        return f"StepPreview({self.id!r}, {self.direction}, {len(self.statements)} statement(s))"


class MigrationStatus:
    """One migration, known to the app or recorded in the file."""

    __slots__ = ("applied_at", "checksum_changed", "checksum_verifiable", "file", "id", "known", "name")

    def __init__(
        self,
        id: str,
        name: str,
        file: str | None,
        applied_at: datetime | None,
        checksum_changed: bool = False,
        known: bool = True,
        checksum_verifiable: bool = True,
    ) -> None:
        self.id = id
        self.name = name
        self.file = file
        self.applied_at = applied_at  # None while pending
        self.checksum_changed = checksum_changed  # applied, but its source changed since
        self.known = known  # False: recorded by a newer app version, no file here
        # False: no checksum to compare (the app ships no source or manifest, or the record has none),
        # so checksum_changed cannot be told.
        self.checksum_verifiable = checksum_verifiable

    def __repr__(self) -> str:
        state = "pending" if self.applied_at is None else f"applied {self.applied_at.isoformat()}"
        flags = ("" if self.known else ", unknown") + (", changed" if self.checksum_changed else "")
        flags += "" if self.checksum_verifiable or not self.known else ", unverifiable"
        return f"MigrationStatus({self.id}, {state}{flags})"

    @property
    def pending(self) -> bool:
        return self.applied_at is None


class Database:
    """The app's SQLite database, found per user and migrated at launch.

    Nothing happens until register_models() (or another method) is called:
    creating a Database at import time costs nothing and reads no state.
    ``on_connect(db)`` is called with every peewee database opened for the
    app (the file, read-only looks, dry-run copies, scratch databases)
    before it is used: where the app registers its SQL functions.
    ``on_row_progress(migration, done, total)`` hears a data migration's
    ``schema.progress()``, at most about ten times a second.
    """

    def __init__(
        self,
        app_name: str,
        *,
        app_author: str | None = None,
        migrations: MigrationsSource = None,
        filename: str = "app.sqlite3",
        path: str | os.PathLike[str] | None = None,
        env: str | None = None,
        on_progress: Callable[[int, int, Migration], None] | None = None,
        keep_alive: Callable[[], None] | None = None,
        models: Sequence[type] = (),
        lock_timeout: float = 60.0,
        on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
        on_row_progress: Callable[[Migration, int, int], None] | None = None,
    ) -> None:
        self.app_name = app_name
        self.app_author = app_author
        self.filename = filename
        self._migrations = resolve_source(migrations)
        self.on_progress = on_progress
        self.on_row_progress = on_row_progress  # callback(migration, done, total) from schema.progress(), throttled
        self.keep_alive = keep_alive
        self.models = list(models)
        self.lock_timeout = lock_timeout
        check_on_connect(on_connect)
        self.on_connect = on_connect  # called with every peewee database opened for this app
        self._path_arg = path
        self._env_arg = env
        self._db: peewee.SqliteDatabase | None = None
        self._db_path: str | None = None  # set when connected
        self._read_only = False

    # Where and how ------------------------------------------------------------
    @property
    def env(self) -> str:
        """production, development or test: ``env=``, else $APP_ENV, else production."""
        return resolve_environment(self._env_arg)

    @property
    def policy(self) -> Policy:
        """What this environment does (README's "Environments" table, app_db/policy.py)."""
        return policy_for(self.env)

    @property
    def migrations(self) -> Path | str | list[Migration] | None:
        """Where the migrations come from: a folder Path, a package name, or a list of instances."""
        source = self._migrations
        return as_path(source) if isinstance(source, str) and os.path.isabs(source) else source

    @property
    def path(self) -> Path | None:
        """The database file a launch opens now (None: in memory)."""
        return as_path(self._db_path if self._db is not None else self._locate())

    def _locate(self) -> str | None:
        return locate_database(
            self.app_name, app_author=self.app_author, filename=self.filename, path=self._path_arg, env=self.env
        )

    def configured(
        self,
        *,
        env: str | None = None,
        path: str | os.PathLike[str] | None = None,
        read_only: bool | None = None,
        on_progress: Callable[[int, int, Migration], None] | None = None,
        keep_alive: Callable[[], None] | None = None,
        on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
        on_row_progress: Callable[[Migration, int, int], None] | None = None,
    ) -> Database:
        """A copy of this Database with another environment, file or callbacks; this one is not changed.

        The CLI's --env and --path, or one launch's splash screen
        (``on_progress``, ``on_row_progress``, ``keep_alive``) on a module-level Database. A
        parameter left at None keeps this Database's value. ``read_only=True``:
        the copy opens the file read-only and never creates it (a missing file
        reads as empty), for status, check and previews.
        """
        check_on_connect(on_connect)
        copy = Database.__new__(Database)
        copy.__dict__.update(self.__dict__)
        copy._env_arg = env if env is not None else self._env_arg
        copy._path_arg = path if path is not None else self._path_arg
        copy._read_only = read_only if read_only is not None else self._read_only
        copy.on_progress = on_progress if on_progress is not None else self.on_progress
        copy.keep_alive = keep_alive if keep_alive is not None else self.keep_alive
        copy.on_row_progress = on_row_progress if on_row_progress is not None else self.on_row_progress
        copy.on_connect = on_connect if on_connect is not None else self.on_connect
        copy._db = None
        copy._db_path = None
        return copy

    @property
    def db(self) -> peewee.SqliteDatabase:
        """The open peewee database (opened on first use)."""
        return self._connect()

    def _connect(self, path: str | None = None) -> peewee.SqliteDatabase:
        if self._db is None:
            from .connection import open_database

            path = path if path is not None else self._locate()
            self._db = open_database(path, read_only=self._read_only, on_connect=self.on_connect)
            self._db_path = path
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # The launch ---------------------------------------------------------------
    def register_models(self, models: Sequence[type] | None = None) -> LaunchReport:
        """Bring the file up to date, create the models' missing tables, and bind the models to it.

        Pending migrations run in one transaction that also records them:
        all or nothing. With nothing pending this only reads (no write lock,
        no migration imported). Raises an AppDbError subclass on any problem,
        with the file as it was.
        """
        models = list(self.models if models is None else models)
        policy = self.policy
        path = self._locate() if self._db is None else self._db_path  # locate
        plan = self._plan_if_no_file(path)  # a file this launch creates: find and check every migration first
        for entry in plan.pending if plan is not None else ():
            entry.load()
        db = self._connect(path)  # connect
        db.bind(models)
        report = LaunchReport(path=self._db_path, env=policy.name)
        with explaining_sqlite_errors(self._db_path, "read"):
            if plan is None and not policy.checks_every_launch and self._is_up_to_date(models):
                return report  # the usual launch: one folder listing, two reads
        from .runner import missing_model_tables

        plan = plan or self._plan()  # plan (reads only)
        plan.raise_if_too_new(self.path)
        if policy.changed == "refuse":
            self._refuse_changed_migrations(plan)
        if plan.pending or missing_model_tables(db, models):
            report = self._apply(plan, models)  # backup, lock, re-plan, run, create tables
        if policy.drift:
            self.check_models(models)
        return report

    # Inspection -----------------------------------------------------------------
    def plan(self) -> Plan:
        """Known versus applied, with every migration's text read: what status, check and the CLI show. Only reads."""
        return self._plan(read_all=True)

    def pending(self) -> list[MigrationStatus]:
        """The migrations a launch would apply now, in order (``.id``, ``.name``, ``.file``). Only reads.

        A missing file is not created.
        """
        plan = self._plan_if_no_file(self._locate() if self._db is None else None)
        if plan is None and not self.policy.checks_every_launch and self._is_up_to_date(()):
            return []  # what the launch itself finds: asking before every launch costs no plan, no import
        plan = plan or self._plan()
        return [
            MigrationStatus(id=step.id, name=step.entry.name, file=step.entry.location, applied_at=None)
            for step in plan.steps("up", path=self.path)
        ]

    def status(self) -> list[MigrationStatus]:
        """Every migration, known or recorded, oldest first, with its state."""
        return status_records(self.plan())

    # Operations for tools (the CLI) ---------------------------------------------
    def migrate(self, to: str | None = None) -> LaunchReport:
        """Apply pending migrations (through ``to``) as a launch would, without touching models.

        As at a launch, a file that does not exist yet is created only once every migration has been found.
        """
        plan = self._plan_if_no_file(self._locate() if self._db is None else None) or self._plan()
        return self._apply(plan, target=to)

    def rollback(self, steps: int = 1, to: str | None = None) -> LaunchReport:
        """Undo the newest ``steps`` migrations, or all after ``to``, newest first, in one transaction.

        The report's ``undone`` lists them. Raises IrreversibleMigrationError,
        before any change, when one of them has no down().
        """
        from .runner import run_steps

        plan = self._plan()
        for step in plan.steps("down", to, steps, self.path):
            step.entry.load()  # import and check every file before the first write
        result = run_steps(self._session(self.policy, "down", to=to, count=steps), plan.known)
        return self._report(result.current, undone=result.applied, backup=result.backup)

    def stamp(self, to: str) -> LaunchReport:
        """Record migrations through ``to`` as applied without running them (adopt an existing file).

        The report's ``applied`` lists what was recorded.
        """
        from .errors import ConfigurationError
        from .runner import stamp_migrations

        path = self._locate()
        if path is not None and not os.path.isfile(path):
            raise ConfigurationError(
                f"There is no database at {path}: stamp adopts an existing file, and a new one needs its "
                "migrations run (`app-db migrate`). Nothing was changed."
            )
        plan = self._plan()
        result = stamp_migrations(self._connect(), self.path, plan.known, to, self.lock_timeout)
        return self._report(result.current, applied=result.applied)

    def preview(self, to: str | None = None) -> list[StepPreview]:
        """What migrate(to) would run, per migration, found by running it on an in-memory copy; the file is kept."""
        return self._preview("up", to, 1)

    def preview_rollback(self, steps: int = 1, to: str | None = None) -> list[StepPreview]:
        """What rollback(steps, to) would run, per migration, newest first; the file is not changed."""
        return self._preview("down", to, steps)

    def _preview(self, direction: str, to: str | None, count: int) -> list[StepPreview]:
        from .runner import preview_statements

        plan = self._plan()  # connects, so the file is known
        plan.steps(direction, to, count, self.path)  # refuses what the real run refuses, before copying anything
        return [
            StepPreview(migration.id, migration.name or "", direction, statements)
            for migration, statements in preview_statements(
                self.path, plan.known, direction, to=to, count=count, on_connect=self.on_connect
            )
        ]

    def restore(self, source: str | os.PathLike[str]) -> Path | None:
        """Replace the database's content with the SQLite file ``source``; return the copy of what it replaced.

        Refuses, changing nothing, a file that is not SQLite, is damaged, or
        that a newer app version migrated. The current content is backed up
        first (``before-restore`` in ``backups/``); a current file that SQLite
        cannot read is kept as ``<name>.damaged-<time>`` instead (that path is
        returned), since restoring is how one recovers from it; None when there
        was no file. Atomic and durable: a crash leaves the old file or the
        restored one, and when this returns the restored content is on the
        disk. ``source`` is never deleted. Waits at most ``lock_timeout`` for
        another process's write lock (DatabaseLockedError).
        """
        import sqlite3

        from .backup import read_recorded_ids
        from .errors import ConfigurationError, DatabaseCorruptError
        from .files import is_same_file
        from .restore import judge_damage, refuse_foreign_source, restore_database

        if self._db is not None and not self._db.is_closed() and self._db.connection().in_transaction:
            raise ConfigurationError(
                "restore() was called while this Database's own connection has a transaction open, so the "
                "restore would wait for itself. Nothing was changed; commit or roll back first."
            )
        source_path = absolute_path(source)
        if not source_path.is_file():
            what = "it is a folder, not a backup file" if source_path.is_dir() else "no such file"
            raise ConfigurationError(f"Cannot restore from {source_path}: {what}. Nothing was changed.")
        cause: BaseException | None = None
        try:
            recorded = read_recorded_ids(source_path)
            damage = judge_damage(source_path)
        except (sqlite3.Error, DatabaseCorruptError) as exc:
            recorded, cause = [], exc
            damage = "it does not start like one" if isinstance(exc, DatabaseCorruptError) else str(exc)
        if damage is not None:
            raise DatabaseCorruptError(
                f"Cannot restore from {source_path}: it is not a SQLite database, or is damaged ({damage}). "
                "Nothing was changed; pick another backup.",
                path=source_path,
            ) from cause
        current = self._locate()
        if current is None:
            raise ConfigurationError("An in-memory database cannot be restored into; pass path= or set $APP_DB_PATH.")
        if is_same_file(current, source_path):
            raise ConfigurationError(f"Cannot restore {current} from itself; pick a backup.")
        known = self._known({}, read_all=False)
        refuse_foreign_source(source_path, recorded, {entry.id for entry in known})
        unknown = sorted(set(recorded) - {entry.id for entry in known})
        Plan(known=known, applied={}, unknown_applied=unknown).raise_if_too_new(source_path)
        safety = restore_database(
            absolute_path(current), source_path, lock_timeout=self.lock_timeout, before_replacing=self.close
        )
        logger.info("Restored %s from %s (previous content saved to %s)", current, source_path, safety)
        return safety

    def backup(self, destination: str | os.PathLike[str] | None = None) -> Path:
        """An online backup of the file: to ``destination``, or into ``backups/`` beside it; returns its path.

        A manual backup: app_db never deletes it. It is on the disk under its
        final name when this returns.
        """
        from .backup import backup_database
        from .errors import ConfigurationError

        path = self.path
        if path is None:
            raise ConfigurationError("An in-memory database has no file to back up; pass path= or set $APP_DB_PATH.")
        if not path.is_file():
            raise ConfigurationError(f"There is no database at {path} yet, so there is nothing to back up.")
        self._connect()
        target = absolute_path(destination) if destination is not None else None
        return backup_database(path, destination=target)

    # Internals ------------------------------------------------------------------
    def _apply(self, plan: Plan, models: Sequence[type] = (), target: str | None = None) -> LaunchReport:
        """Check every file that will run, say what is odd about the plan, then run it under the lock."""
        from .runner import run_steps

        policy = self.policy
        to_run = plan.steps("up", target, path=self.path)
        for step in to_run:
            step.entry.load()  # import and check every file before the first write
        # Told, never silent: allowed (a merged branch, a build without sources), but worth knowing.
        told = ("out-of-order", "unverifiable") + (("changed",) if policy.changed == "warn" and to_run else ())
        for finding in plan.findings(self.path, to_run):
            if finding.kind in told:
                logger.warning("%s", finding.message)
        result = run_steps(self._session(policy, "up", to=target, models=models), plan.known)
        return self._report(result.current, applied=result.applied, backup=result.backup)

    def _report(
        self,
        current: str | None,
        applied: list[str] | None = None,
        undone: list[str] | None = None,
        backup: Path | None = None,
    ) -> LaunchReport:
        return LaunchReport(self._db_path, self.env, applied=applied, backup=backup, undone=undone, current=current)

    def _session(
        self,
        policy: Policy,
        direction: str,
        *,
        to: str | None = None,
        count: int | None = 1,
        models: Sequence[type] = (),
    ) -> Session:
        """The loop's session on the connected file, with this Database's callbacks and policy."""
        from .runner import Session

        return Session(
            self._connect(),
            self.path,
            direction,
            to=to,
            count=count,
            models=models,
            take_backup=policy.backups,
            on_progress=self.on_progress,
            on_row_progress=self.on_row_progress,
            keep_alive=self.keep_alive,
            lock_timeout=self.lock_timeout,
        )

    def _known(self, applied: dict[str, AppliedMigration], read_all: bool) -> list[KnownMigration]:
        source = self._migrations
        if source is None:
            return []
        if isinstance(source, list):
            return identify_instances(source)
        recorded = {record.file: (record.id, record.name) for record in applied.values() if record.file}
        return identify_migrations(list_migration_files(source), recorded, read_all=read_all)

    def _is_up_to_date(self, models: Sequence[type]) -> bool:
        """True when no model table is missing and the recorded file names are exactly the files.

        Trusts what the tracking table recorded about each file, so it
        imports and reads no migration; anything unusual (a new file, a
        missing one, a renamed one) falls through to the full plan.
        """
        from .tracking import TABLE, read_recorded_files, table_names

        db = self._connect()
        tables = table_names(db)
        if any(model._meta.table_name not in tables for model in models):  # type: ignore[attr-defined]
            return False
        recorded = read_recorded_files(db) if TABLE in tables else []
        source = self._migrations
        if source is None:
            return not recorded
        if isinstance(source, list):
            return sorted(migration.id for migration in source) == sorted(migration_id for migration_id, _ in recorded)
        return is_up_to_date(list_migration_names(source), recorded)

    def _plan_if_no_file(self, path: str | None) -> Plan | None:
        """Known versus nothing applied when ``path`` does not exist yet (else None), planned without creating it.

        So a launch that fails while planning (no migrations found, a broken
        file) leaves no empty database behind.
        """
        if self._db is not None or path is None or os.path.exists(path):
            return None
        return plan_migrations(self._known({}, read_all=self.policy.checks_every_launch), {})

    def _plan(self, read_all: bool | None = None) -> Plan:
        """Known versus applied, read without taking any lock."""
        from .tracking import read_applied

        db = self._connect()
        with explaining_sqlite_errors(self._db_path, "read"):
            applied = read_applied(db)
        if read_all is None:
            read_all = self.policy.checks_every_launch
        return plan_migrations(self._known(applied, read_all), applied)

    def _refuse_changed_migrations(self, plan: Plan) -> None:
        changed = [finding for finding in plan.findings(self.path, []) if finding.kind == "changed"]
        if changed:
            raise MigrationDefinitionError(
                " ".join(finding.message for finding in changed) + self._development_file_note(),
                file=changed[0].file,
                path=self._db_path,
            )

    def _development_file_note(self) -> str:
        if self._path_arg is None and not os.environ.get("APP_DB_PATH"):
            return f" (Development database: {self._db_path or 'in memory'}; you may delete it to start over.)"
        return f" (Database: {self._db_path}, given by path= or $APP_DB_PATH: it may hold real data, do not delete it.)"

    def check_models(self, models: Sequence[type]) -> None:
        """SchemaDriftError when a model has a column its (existing) table lacks."""
        db = self._connect()
        missing: list[tuple[str, str]] = []
        for model in models:
            table = model._meta.table_name  # type: ignore[attr-defined]
            columns = {column.name for column in db.get_columns(table)}
            if not columns:
                continue
            missing.extend(
                (table, model_field.column_name)
                for model_field in model._meta.sorted_fields  # type: ignore[attr-defined]
                if model_field.column_name not in columns
            )
        if missing:
            listed = ", ".join(f"{table}.{column}" for table, column in missing)
            raise SchemaDriftError(
                f"The models have column(s) the database lacks: {listed}. A migration is missing: "
                "add one that creates them (`app-db new` or `app-db makemigration`).",
                missing=missing,
                path=self._db_path,
            )


def check_on_connect(on_connect: object) -> None:
    """ConfigurationError at once for an ``on_connect`` that cannot be called, not at the first connect."""
    if on_connect is not None and not callable(on_connect):
        from .errors import ConfigurationError

        raise ConfigurationError(f"on_connect must be a callable taking the peewee database, not {on_connect!r}.")


def as_path(value: str | Path | None) -> Path | None:
    """``value`` as a Path; pathlib is imported only when someone asks for one."""
    if value is None:
        return None
    from pathlib import Path

    return Path(value)


def status_records(plan: Plan) -> list[MigrationStatus]:
    """One MigrationStatus per migration of ``plan``, known or recorded, oldest first (reads checksums)."""
    changed = {entry.id for entry in plan.changed_checksums()}
    unverifiable = {entry.id for entry in plan.unverifiable_checksums()}
    entries = [
        MigrationStatus(
            id=entry.id,
            name=(plan.applied[entry.id].name if entry.id in plan.applied else "") or entry.name,
            file=entry.location,
            applied_at=plan.applied[entry.id].applied_at if entry.id in plan.applied else None,
            checksum_changed=entry.id in changed,
            checksum_verifiable=entry.id not in unverifiable,
        )
        for entry in plan.known
    ]
    entries.extend(
        MigrationStatus(id=record.id, name=record.name, file=record.file, applied_at=record.applied_at, known=False)
        for record in (plan.applied[migration_id] for migration_id in plan.unknown_applied)
    )
    return sorted(entries, key=lambda entry: entry.id)
