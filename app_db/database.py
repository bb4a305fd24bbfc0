"""Database: the app's per-user SQLite file, brought up to date at launch."""

from __future__ import annotations

import logging
import os

from .connection import explaining_sqlite_errors
from .discovery import identify_instances, identify_migrations, list_migration_files, list_migration_names, resolve_source
from .errors import MigrationDefinitionError, SchemaDriftError
from .migration import Migration
from .paths import absolute_path, locate_database, resolve_environment
from .plan import Plan, is_up_to_date, plan_migrations

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds; annotations are strings
if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path
    from typing import Callable, List, Optional, Sequence, Tuple, Union

    import peewee

    from .discovery import KnownMigration, MigrationsSource

__all__ = ["Database", "LaunchReport", "MigrationStatus"]

logger = logging.getLogger("app_db")


class LaunchReport:
    """What register_models() (or migrate()) did."""

    __slots__ = ("_path", "env", "applied", "backup")

    def __init__(
        self, path: Union[str, Path, None], env: str, applied: Optional[List[str]] = None, backup: Optional[Path] = None
    ) -> None:
        self._path = path
        self.env = env
        self.applied = applied or []  # ids applied by this launch, in order
        self.backup = backup  # the backup taken before migrating, or None

    @property
    def path(self) -> Optional[Path]:
        """The database file (None: in memory)."""
        return as_path(self._path)

    def __repr__(self) -> str:
        return f"LaunchReport(path={self.path!r}, env={self.env!r}, applied={self.applied!r}, backup={self.backup!r})"


class MigrationStatus:
    """One migration, known to the app or recorded in the file."""

    __slots__ = ("id", "name", "file", "applied_at", "checksum_changed", "known", "checksum_verifiable")

    def __init__(
        self,
        id: str,
        name: str,
        file: Optional[str],
        applied_at: Optional[datetime],
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
        app_author: Optional[str] = None,
        migrations: MigrationsSource = None,
        filename: str = "app.sqlite3",
        path: Union[str, "os.PathLike[str]", None] = None,
        env: Optional[str] = None,
        on_progress: Optional[Callable[[int, int, Migration], None]] = None,
        keep_alive: Optional[Callable[[], None]] = None,
        models: Sequence[type] = (),
        lock_timeout: float = 60.0,
        on_connect: Optional[Callable[["peewee.SqliteDatabase"], None]] = None,
        on_row_progress: Optional[Callable[[Migration, int, int], None]] = None,
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
        if on_connect is not None and not callable(on_connect):
            from .errors import ConfigurationError

            raise ConfigurationError(f"on_connect must be a callable taking the peewee database, not {on_connect!r}.")
        self.on_connect = on_connect  # called with every peewee database opened for this app
        self._path_arg = path
        self._env_arg = env
        self._db: Optional["peewee.SqliteDatabase"] = None
        self._db_path: Optional[str] = None  # set when connected
        self._read_only = False

    # Where and how ------------------------------------------------------------
    @property
    def env(self) -> str:
        """production, development or test: ``env=``, else $APP_ENV, else production."""
        return resolve_environment(self._env_arg)

    @property
    def migrations(self) -> Union[Path, str, List[Migration], None]:
        """Where the migrations come from: a folder Path, a package name, or a list of instances."""
        source = self._migrations
        return as_path(source) if isinstance(source, str) and os.path.isabs(source) else source

    @property
    def path(self) -> Optional[Path]:
        """The database file a launch opens now (None: in memory)."""
        return as_path(self._db_path if self._db is not None else self._locate())

    @property
    def _file(self) -> Optional[Path]:
        """The connected file as a Path, for the steps that are not on the launch's fast path."""
        return as_path(self._db_path)

    def _locate(self) -> Optional[str]:
        return locate_database(
            self.app_name, app_author=self.app_author, filename=self.filename, path=self._path_arg, env=self.env
        )

    def configured(
        self,
        *,
        env: Optional[str] = None,
        path: Union[str, "os.PathLike[str]", None] = None,
        read_only: Optional[bool] = None,
    ) -> "Database":
        """A copy of this Database with another environment or file (the CLI's --env and --path).

        ``read_only=True``: the copy opens the file read-only and never creates
        it (a missing file reads as empty), for status, check and previews.
        """
        copy = Database.__new__(Database)
        copy.__dict__.update(self.__dict__)
        copy._env_arg = env if env is not None else self._env_arg
        copy._path_arg = path if path is not None else self._path_arg
        copy._read_only = read_only if read_only is not None else self._read_only
        copy._db = None
        copy._db_path = None
        return copy

    @property
    def db(self) -> "peewee.SqliteDatabase":
        """The open peewee database (opened on first use)."""
        return self._connect()

    def _connect(self, path: Optional[str] = None) -> "peewee.SqliteDatabase":
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
    def register_models(self, models: Optional[Sequence[type]] = None) -> LaunchReport:
        """Bring the file up to date, create the models' missing tables, and bind the models to it.

        Pending migrations run in one transaction that also records them:
        all or nothing. With nothing pending this only reads (no write lock,
        no migration imported). Raises an AppDbError subclass on any problem,
        with the file as it was.
        """
        models = list(self.models if models is None else models)
        env = self.env
        path = self._locate() if self._db is None else self._db_path  # locate
        plan = self._plan_if_no_file(path)  # a file this launch creates: find and check every migration first
        for entry in plan.pending if plan is not None else ():
            entry.load()
        db = self._connect(path)  # connect
        db.bind(models)
        report = LaunchReport(path=self._db_path, env=env)
        with explaining_sqlite_errors(self._db_path, "read"):
            if plan is None and env != "development" and self._is_up_to_date(models):
                return report  # the usual launch: one folder listing, two reads
        from .runner import missing_model_tables

        plan = plan or self._plan()  # plan (reads only)
        plan.raise_if_too_new(self._db_path)
        if env == "development":
            self._refuse_changed_migrations(plan)
        if plan.pending or missing_model_tables(db, models):
            report = self._apply(plan, models)  # backup, lock, re-plan, run, create tables
        if env == "development":
            self.check_models(models)
        return report

    # Inspection -----------------------------------------------------------------
    def pending(self) -> List[KnownMigration]:
        """The migrations a launch would apply now, in order. Only reads (a missing file is not created)."""
        plan = self._plan_if_no_file(self._locate() if self._db is None else None) or self._plan()
        plan.raise_if_too_new(self._db_path)
        return plan.pending

    def status(self) -> List[MigrationStatus]:
        """Every migration, known or recorded, oldest first, with its state."""
        plan = self._plan(read_all=True)
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
            MigrationStatus(
                id=record.id, name=record.name, file=record.file, applied_at=record.applied_at, known=False
            )
            for record in (plan.applied[migration_id] for migration_id in plan.unknown_applied)
        )
        return sorted(entries, key=lambda entry: entry.id)

    # Operations for tools (the CLI) ---------------------------------------------
    def migrate(self, to: Optional[str] = None) -> LaunchReport:
        """Apply pending migrations (through ``to``) as a launch would, without touching models."""
        plan = self._plan()
        plan.raise_if_too_new(self._db_path)
        return self._apply(plan, target=to)

    def rollback(self, steps: int = 1, to: Optional[str] = None) -> List[str]:
        """Undo the newest ``steps`` migrations, or all after ``to``, newest first, in one transaction.

        Returns the ids undone. Raises IrreversibleMigrationError, before
        any change, when one of them has no down().
        """
        from .runner import rollback_migrations

        plan = self._plan()
        result = rollback_migrations(
            self._connect(),
            self._file,
            plan.known,
            steps=None if to is not None else steps,
            to=to,
            take_backup=self.env == "production",
            on_progress=self.on_progress,
            on_row_progress=self.on_row_progress,
            keep_alive=self.keep_alive,
            lock_timeout=self.lock_timeout,
        )
        return result.applied

    def stamp(self, to: str) -> List[str]:
        """Record migrations through ``to`` as applied without running them (adopt an existing file)."""
        from .errors import ConfigurationError
        from .runner import stamp_migrations

        path = self._locate()
        if path is not None and not os.path.isfile(path):
            raise ConfigurationError(
                f"There is no database at {path}: stamp adopts an existing file, and a new one needs its "
                "migrations run (`app-db migrate`). Nothing was changed."
            )
        plan = self._plan()
        return stamp_migrations(self._connect(), self._file, plan.known, to, self.lock_timeout)

    def preview(self, to: Optional[str] = None) -> List[str]:
        """The SQL statements migrate(to) would run, found on an in-memory copy; the file is not changed."""
        return [statement for _, statements in self.preview_steps(to) for statement in statements]

    def preview_steps(self, to: Optional[str] = None) -> List[Tuple[Migration, List[str]]]:
        """preview(), as (migration, its statements) for each pending migration, in order."""
        from .runner import preview_statements

        plan = self._plan()
        plan.raise_if_too_new(self._db_path)
        return preview_statements(self._file, plan.known, target=to, on_connect=self.on_connect)

    def preview_rollback(self, steps: int = 1, to: Optional[str] = None) -> List[str]:
        """The SQL statements rollback(steps, to) would run; the file is not changed."""
        return [statement for _, statements in self.preview_rollback_steps(steps, to) for statement in statements]

    def preview_rollback_steps(self, steps: int = 1, to: Optional[str] = None) -> List[Tuple[Migration, List[str]]]:
        """preview_rollback(), as (migration, its statements) for each migration undone, newest first."""
        from .runner import preview_statements

        plan = self._plan()  # connects, so _db_path is set
        return preview_statements(
            self._file, plan.known, rollback=True, target=to, steps=steps, on_connect=self.on_connect
        )

    def restore(self, source: Union[str, "os.PathLike[str]"]) -> Optional[Path]:
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
        cause: Optional[BaseException] = None
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
            as_path(current), source_path, lock_timeout=self.lock_timeout, before_replacing=self.close
        )
        logger.info("Restored %s from %s (previous content saved to %s)", current, source_path, safety)
        return safety

    def backup(self, destination: Union[str, "os.PathLike[str]", None] = None) -> Path:
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
        return backup_database(self._file, destination=target)

    # Internals ------------------------------------------------------------------
    def _apply(self, plan: Plan, models: Sequence[type] = (), target: Optional[str] = None) -> LaunchReport:
        """Check every file that will run, say what is odd about the plan, then run it under the lock."""
        from .runner import run_pending

        env = self.env
        to_run = plan.up_to(target) if target else plan.pending
        for entry in to_run:
            entry.load()  # import and check every file before the first write
        if to_run and env == "production":
            self._warn_changed_migrations(plan)
        unverifiable = [entry for entry in to_run if entry.checksum() is None]
        if unverifiable:
            # Recorded without a checksum, a later edit of these files cannot be noticed: say so, never silently.
            logger.warning(
                "No checksum can be recorded for %s: the app ships neither their source nor a manifest "
                "(`app-db manifest` writes one to ship with them), so an edit made after they ran will go unnoticed.",
                ", ".join(entry.file or entry.id for entry in unverifiable),
            )
        late = [entry.id for entry in to_run if plan.current and entry.id < plan.current]
        if late:
            # Allowed (a merged branch), but a fresh install runs them in another order.
            logger.warning(
                "Migrations older than the newest applied one (%s) will run now: %s. A fresh install runs "
                "them in id order, before it; make sure they do not depend on the order.",
                plan.current,
                ", ".join(late),
            )
        result = run_pending(
            self._connect(),
            self._file,
            plan.known,
            target=target,
            models=models,
            take_backup=env == "production",
            on_progress=self.on_progress,
            on_row_progress=self.on_row_progress,
            keep_alive=self.keep_alive,
            lock_timeout=self.lock_timeout,
        )
        return LaunchReport(path=self._db_path, env=env, applied=result.applied, backup=result.backup)

    def _known(self, applied: dict, read_all: bool) -> List[KnownMigration]:
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

    def _plan_if_no_file(self, path: Optional[str]) -> Optional[Plan]:
        """Known versus nothing applied when ``path`` does not exist yet (else None), planned without creating it.

        So a launch that fails while planning (no migrations found, a broken
        file) leaves no empty database behind.
        """
        if self._db is not None or path is None or os.path.exists(path):
            return None
        return plan_migrations(self._known({}, read_all=self.env == "development"), {})

    def _plan(self, read_all: Optional[bool] = None) -> Plan:
        """Known versus applied, read without taking any lock."""
        from .tracking import read_applied

        db = self._connect()
        with explaining_sqlite_errors(self._db_path, "read"):
            applied = read_applied(db)
        if read_all is None:
            read_all = self.env == "development"
        return plan_migrations(self._known(applied, read_all), applied)

    def _refuse_changed_migrations(self, plan: Plan) -> None:
        changed = plan.changed_checksums()
        if changed:
            raise MigrationDefinitionError(
                "Applied migration(s) changed since they ran: "
                + ", ".join(entry.location or entry.id for entry in changed)
                + ". Shipped migrations are history: revert the edit and put the change in a new migration."
                + self._development_file_note(),
                file=changed[0].location,
                path=self._db_path,
            )

    def _development_file_note(self) -> str:
        if self._path_arg is None and not os.environ.get("APP_DB_PATH"):
            return f" (Development database: {self._db_path or 'in memory'}; you may delete it to start over.)"
        return f" (Database: {self._db_path}, given by path= or $APP_DB_PATH: it may hold real data, do not delete it.)"

    def _warn_changed_migrations(self, plan: Plan) -> None:
        for entry in plan.changed_checksums():
            logger.warning(
                "Migration %s (%s) changed after it was applied to %s; the change will not run. "
                "Put schema changes in a new migration.",
                entry.id,
                entry.location,
                self._db_path,
            )

    def check_models(self, models: Sequence[type]) -> None:
        """SchemaDriftError when a model has a column its (existing) table lacks."""
        db = self._connect()
        missing = []
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


def as_path(value: Union[str, Path, None]) -> Optional[Path]:
    """``value`` as a Path; pathlib is imported only when someone asks for one."""
    if value is None:
        return None
    from pathlib import Path

    return Path(value)
