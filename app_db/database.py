"""Database: the app's per-user SQLite file, brought up to date at launch."""

from __future__ import annotations

import logging
import os
import time  # already loaded by logging: free at launch

from .connection import explaining_sqlite_errors
from .discovery import known_migrations, list_migration_names, resolve_source
from .errors import AppDbError, ConfigurationError, MigrationDefinitionError, SchemaTooNewError
from .migration import Migration
from .paths import absolute_path, locate_database, resolve_environment
from .policy import policy_for
from .reports import LaunchReport, MigrationStatus, RestoredBackup, StepPreview, as_path, status_records

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds; annotations are strings
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import peewee

    from .discovery import MigrationsSource
    from .plan import Plan
    from .policy import Policy
    from .runner import Session

__all__ = ["ON_NEWER", "Database", "LaunchReport", "MigrationStatus", "RestoredBackup", "StepPreview"]

logger = logging.getLogger("app_db")

ON_NEWER = ("refuse", "read_only")  # what a launch does with a file a newer app version migrated


class Database:
    """The app's SQLite database, found per user and migrated at launch.

    Nothing happens until register_models() (or another method) is called:
    creating a Database at import time costs nothing and reads no state.
    ``on_connect(db)`` is called with every peewee database opened for the
    app (the file, read-only looks, dry-run copies, scratch databases)
    before it is used: where the app registers its SQL functions.
    ``on_row_progress(migration, done, total)`` hears a data migration's
    ``schema.progress()``, at most about ten times a second.
    ``app_version`` is recorded with each migration this app applies, so an
    older version can say which one updated the file. ``on_newer``: what a
    launch does with a file a newer version migrated (and whose changes are
    not all backward compatible): "refuse" (SchemaTooNewError) or
    "read_only" (open it read-only; README: When an older version opens a
    newer file).
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
        app_version: str | None = None,
        on_newer: str = "refuse",
    ) -> None:
        if on_newer not in ON_NEWER:
            raise ConfigurationError(f"on_newer must be one of {', '.join(map(repr, ON_NEWER))}, not {on_newer!r}.")
        if app_version is not None and not isinstance(app_version, str):
            raise ConfigurationError(f"app_version must be a string such as '1.4.2', not {app_version!r}.")
        self.app_version = app_version
        self.on_newer = on_newer
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
        started = time.perf_counter()
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
                log_up_to_date(path, started)
                return report  # the usual launch: one folder listing, two reads
        from .runner import missing_model_tables

        plan = plan or self._plan()  # plan (reads only)
        try:
            plan.raise_if_too_new(self.path)
        except SchemaTooNewError as error:
            if self.on_newer == "refuse":
                self._let_go_of_newer_file()
                raise
            return self._open_newer_read_only(models, plan, error)
        if policy.changed == "refuse":
            self._refuse_changed_migrations(plan)
        if plan.pending or plan.covered or missing_model_tables(db, models):
            report = self._apply(plan, models)  # backup, lock, re-plan, run, create tables
        if plan.newer_compatible:
            report.newer_compatible = plan.newer_compatible
            logger.warning(
                "%s was updated by a newer version of this app (%s) with migrations this version does not have: "
                "%s. They are recorded as backward compatible, so it is used as it is.",
                self._db_path,
                plan.updated_by(),
                ", ".join(plan.newer_compatible),
            )
        if policy.drift:
            self.check_models(models)
        if not report.applied:
            log_up_to_date(path, started)
        return report

    def _let_go_of_newer_file(self) -> None:
        """Close the refused file without checkpointing the -wal a newer version left (killed?): nothing changes."""
        from .newer import held_open

        if self._db_path is not None:
            with held_open(self._db_path):
                self.close()

    def _open_newer_read_only(self, models: Sequence[type], plan: Plan, error: SchemaTooNewError) -> LaunchReport:
        """on_newer="read_only": reopen the file read-only and bind the models to it; nothing in it changes."""
        from .newer import open_newer_read_only

        path = self._db_path
        assert path is not None  # an in-memory database records nothing a newer version could have written
        read_only = open_newer_read_only(path, updated_by=error.updated_by, on_connect=self.on_connect)
        self.close()  # after: not the file's last connection, so it checkpoints nothing a newer version wrote
        self._db, self._db_path = read_only, path
        self._db.bind(models)
        logger.warning("%s It is open read-only (on_newer='read_only'): writes are refused.", error)
        return LaunchReport(path, self.env, current=plan.current, read_only=True)

    # Inspection -----------------------------------------------------------------
    def plan(self) -> Plan:
        """Known versus applied, with every migration's text read: what status, check and the CLI show. Only reads."""
        return self._plan(read_all=True)

    def pending(self) -> list[MigrationStatus]:
        """The migrations a launch would apply now, in order (``.id``, ``.name``, ``.file``). Only reads.

        A missing file is not created. A newer version's file raises
        SchemaTooNewError, as the launch would (none with on_newer="read_only").
        """
        plan = self._plan_if_no_file(self._locate() if self._db is None else None)
        if plan is None and not self.policy.checks_every_launch and self._is_up_to_date(()):
            return []  # what the launch itself finds: asking before every launch costs no plan, no import
        plan = plan or self._plan()
        try:
            steps = plan.steps("up", path=self.path)
        except SchemaTooNewError:
            if self.on_newer == "refuse":
                raise
            return []  # on_newer="read_only": a launch opens it read-only and applies nothing
        return [
            MigrationStatus(id=step.id, name=step.entry.name, file=step.entry.location, applied_at=None)
            for step in steps
            if step.runs
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
        from .runner import stamp_migrations

        path = self._locate()
        if path is not None and not os.path.isfile(path):
            raise ConfigurationError(
                f"There is no database at {path}: stamp adopts an existing file, and a new one needs its "
                "migrations run (`app-db migrate`). Nothing was changed."
            )
        plan = self._plan()
        result = stamp_migrations(
            self._connect(), self.path, plan.known, to, self.lock_timeout, self.app_name, self.app_version
        )
        return self._report(result.current, applied=result.applied)

    def preview(self, to: str | None = None) -> list[StepPreview]:
        """What migrate(to) would run, per migration, found by running it on an in-memory copy; the file is kept."""
        return self._preview("up", to, 1)

    def preview_rollback(self, steps: int = 1, to: str | None = None) -> list[StepPreview]:
        """What rollback(steps, to) would run, per migration, newest first; the file is not changed."""
        return self._preview("down", to, steps)

    def _preview(self, direction: str, to: str | None, count: int) -> list[StepPreview]:
        from .preview import preview_statements

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
        from .restore import refuse_unusable_source, restore_database

        if self._db is not None and not self._db.is_closed() and self._db.connection().in_transaction:
            raise ConfigurationError(
                "restore() was called while this Database's own connection has a transaction open, so the "
                "restore would wait for itself. Nothing was changed; commit or roll back first."
            )
        current = self._restore_target()
        source_path = absolute_path(source)
        refuse_unusable_source(source_path, current, known_migrations(self._migrations))
        safety = restore_database(current, source_path, lock_timeout=self.lock_timeout, before_replacing=self.close)
        logger.info("Restored %s from %s (previous content saved to %s)", current, source_path, safety)
        self._drop_read_only()
        return safety

    def _restore_target(self) -> Path:
        """The file a restore replaces; ConfigurationError for an in-memory database."""
        current = self._locate()
        if current is None:
            raise ConfigurationError("An in-memory database cannot be restored into; pass path= or set $APP_DB_PATH.")
        return absolute_path(current)

    def _drop_read_only(self) -> None:
        """After a restore: the read-only connection to the newer file goes, so the next launch opens a normal one."""
        from .newer import NewerFileDatabase

        read_only = self._db
        if isinstance(read_only, NewerFileDatabase):
            self.close()
            read_only.replaced = True  # models still bound to it are told to call register_models() again

    def find_backup_before_newer(self) -> RestoredBackup | None:
        """The backup restore_before_newer() would put back (``kept`` is None), or None when there is none. Only reads.

        The newest pre-update backup (``before-<id>`` in ``backups/``) this
        app opens normally (the migrations it records are this app's, or
        backward compatible): the copy taken just before a newer version ran
        its first migration this one cannot live with.
        """
        from .newer import find_backup_before_newer

        current = self._locate()
        if current is None:
            return None
        found = find_backup_before_newer(absolute_path(current), known_migrations(self._migrations))
        return RestoredBackup(found[0], found[1]) if found is not None else None

    def restore_before_newer(self) -> RestoredBackup:
        """Go back to the copy from before a newer app version updated the file (find_backup_before_newer()).

        Through restore(): the current file is backed up first (``kept``,
        ``before-restore``), atomically and durably. Refuses, changing
        nothing, a file no newer version migrated and one without such a
        backup (AppDbError).
        """
        current = self._restore_target()
        plan = self._plan()
        if not plan.unknown_applied:
            raise ConfigurationError(
                f"{current} was not updated by a newer version of this app (it records no migration this version "
                "lacks), so there is nothing to go back from. Nothing was changed; `app-db restore FILE` restores "
                "any backup."
            )
        found = self.find_backup_before_newer()
        if found is None:
            raise AppDbError(
                f"{current} was updated by {plan.updated_by()}, but {current.parent / 'backups'} holds no backup "
                "from before that update (backups are taken only where the environment makes them, and only of a "
                "file with data). Nothing was changed. Install the newer version of the app, or restore a copy "
                "of your own with `app-db restore FILE`.",
                path=current,
            )
        found.kept = self.restore(found.backup)
        logger.warning("Went back to %s, taken %s, from before a newer version's update", found.backup, found.taken_at)
        return found

    def backup(self, destination: str | os.PathLike[str] | None = None) -> Path:
        """An online backup of the file: to ``destination``, or into ``backups/`` beside it; returns its path.

        A manual backup: app_db never deletes it. It is on the disk under its
        final name when this returns.
        """
        from .backup import backup_database

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
            if step.direction != "cover":  # a replaced original is only recorded: never imported
                step.entry.load()  # import and check every file before the first write
        # Told, never silent: allowed (a merged branch, a build without sources), but worth knowing.
        told = ("out-of-order", "unverifiable") + (("changed",) if policy.changed == "warn" and to_run else ())
        for finding in plan.findings(self.path, to_run):
            if finding.kind in told:
                logger.warning("%s", finding.message)
        result = run_steps(self._session(policy, "up", to=target, models=models), plan.known)
        return self._report(result.current, applied=result.applied, backup=result.backup, recorded=result.recorded)

    def _report(
        self,
        current: str | None,
        applied: list[str] | None = None,
        undone: list[str] | None = None,
        backup: Path | None = None,
        recorded: list[str] | None = None,
    ) -> LaunchReport:
        return LaunchReport(
            self._db_path, self.env, applied=applied, backup=backup, undone=undone, current=current, recorded=recorded
        )

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
            app_name=self.app_name,
            app_version=self.app_version,
        )

    def _is_up_to_date(self, models: Sequence[type]) -> bool:
        """True when no model table is missing and the recorded file names are exactly the files.

        Trusts what the tracking table recorded about each file, so it
        imports and reads no migration; anything unusual (a new file, a
        missing one, a renamed one) falls through to the full plan.
        """
        from .tracking import TABLE, is_up_to_date, read_recorded_files, table_names

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
        from .plan import plan_migrations

        return plan_migrations(known_migrations(self._migrations, read_all=self.policy.checks_every_launch), {})

    def _plan(self, read_all: bool | None = None) -> Plan:
        """Known versus applied, read without taking any lock."""
        from .plan import plan_migrations
        from .tracking import read_applied

        db = self._connect()
        with explaining_sqlite_errors(self._db_path, "read"):
            applied = read_applied(db)
        if read_all is None:
            read_all = self.policy.checks_every_launch
        return plan_migrations(known_migrations(self._migrations, applied, read_all), applied)

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
        from .drift import check_models

        check_models(self._connect(), models, self.path)


def log_up_to_date(path: str | None, started: float) -> None:
    """DEBUG: a launch that had nothing to do, and how long it took to find that out (formatted only if shown)."""
    logger.debug("%s is up to date; launch checked in %.1f ms", path, (time.perf_counter() - started) * 1e3)


def check_on_connect(on_connect: object) -> None:
    """ConfigurationError at once for an ``on_connect`` that cannot be called, not at the first connect."""
    if on_connect is not None and not callable(on_connect):
        raise ConfigurationError(f"on_connect must be a callable taking the peewee database, not {on_connect!r}.")
