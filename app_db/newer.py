"""A file a newer app version migrated: open it read-only, or go back to the backup from before the update.

Imported only on such a file (``on_newer="read_only"``, restore_before_newer()),
never by the usual launch.

Read-only, the file is opened as any reader would, without app_db's pragmas
(journal_mode=wal would rewrite a rollback-journal file's header), with
``PRAGMA query_only`` set and an authorizer that keeps it set: SQLite refuses
every write, and this module's database class turns the refusal into an
AppDbError that says why. Nothing in the file changes; the -wal and -shm that
SQLite creates while it is open go when the last connection closes, as
always. (A plain ``mode=ro`` connection would leave them behind: it may not
delete them.)

The last connection to close also checkpoints the -wal into the file: the
rows a newer version wrote and did not checkpoint, because it crashed or was
killed before or while this one read. So a connection that finds anything
in the -wal when it closes closes behind a ``mode=ro`` connection of its
own, which holds the file open; that one, read-only, may neither checkpoint
nor delete, and the file and its -wal stay as the newer version left them.
(Python 3.11's sqlite3 cannot set SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE.)
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee

from .backup import STAMP_FORMAT, STAMP_LENGTH, backup_kind, backup_stamp_and_label, list_backups
from .connection import (
    BUSY_TIMEOUT_SECONDS,
    call_on_connect,
    connect_read_only,
    connect_waiting,
    explaining_sqlite_errors,
    read_only_uri,
    sqlite_error_name,
)
from .errors import AppDbError, ConfigurationError, DatabaseNotWritableError
from .paths import explain_unusable_path
from .tracking import AppliedMigration, read_applied

if TYPE_CHECKING:
    from .discovery import KnownMigration

__all__ = ["NewerFileDatabase", "find_backup_before_newer", "held_open", "open_newer_read_only", "read_backup_records"]

REFUSED_WRITE = ("SQLITE_READONLY", "SQLITE_AUTH")

logger = logging.getLogger("app_db")


class NewerFileDatabase(peewee.SqliteDatabase):
    """A peewee database on a newer version's file that refuses every write with a DatabaseNotWritableError."""

    def __init__(self, path: str, updated_by: str | None, **kwargs: Any) -> None:
        super().__init__(path, pragmas=[("query_only", 1), ("foreign_keys", 1)], **kwargs)
        self.updated_by = updated_by
        self.replaced = False  # set by Database.restore(): the file is no longer the newer version's

    def _connect(self) -> sqlite3.Connection:
        if self.replaced:
            raise ConfigurationError(
                f"The read-only connection to {self.database} was closed when the file was restored (restore() or "
                "restore_before_newer()): it no longer holds the newer version's file. Nothing was changed; call "
                "register_models() again to open the restored file and bind the models to it."
            )
        return super()._connect()  # type: ignore[misc, no-untyped-call, no-any-return, unused-ignore]

    def _add_conn_hooks(self, conn: sqlite3.Connection) -> None:
        super()._add_conn_hooks(conn)  # type: ignore[misc]  # peewee declares it on SqliteDatabase untyped
        conn.set_authorizer(keep_query_only)

    def _close(self, conn: sqlite3.Connection) -> None:
        """Close without checkpointing a newer version's -wal into the file (the module's docstring says why)."""
        with held_open(self.database):
            conn.close()

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        try:
            return super().execute_sql(sql, params)  # type: ignore[no-untyped-call]
        except peewee.DatabaseError as exc:
            if not sqlite_error_name(exc).startswith(REFUSED_WRITE):
                raise
            by = f" ({self.updated_by})" if self.updated_by else ""
            raise DatabaseNotWritableError(
                f"Could not write to {self.database}: this file was updated by a newer version of the app{by}; it "
                "is open read-only (on_newer='read_only'). Nothing was changed. Install the newer version to edit "
                "it, or go back to the backup from before the update (restore_before_newer()).",
                path=self.database,
            ) from exc


# Pragmas that change the file (or lift query_only) when given a value, and those that may write it in any form;
# the connection's own settings (foreign_keys, cache_size...) stay free.
SETTING_WRITES = frozenset(
    {"query_only", "journal_mode", "user_version", "application_id", "page_size", "auto_vacuum", "schema_version"}
    | {"writable_schema", "secure_delete"}
)
ALWAYS_WRITES = frozenset({"wal_checkpoint", "incremental_vacuum", "optimize"})


def keep_query_only(action: int, first: str | None, second: str | None, database: str | None, source: Any) -> int:
    """SQLite authorizer: allow everything but the pragmas that would write the file or turn ``query_only`` off."""
    if action == sqlite3.SQLITE_PRAGMA:
        name = (first or "").lower()
        if name in ALWAYS_WRITES or (second is not None and name in SETTING_WRITES):
            return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@contextlib.contextmanager
def held_open(path: str) -> Iterator[None]:
    """While the block closes a connection to ``path``, a read-only one holds the file: nothing is checkpointed.

    Only when the -wal holds anything (a newer version's rows); otherwise the
    last close deletes an empty -wal, as any reader's does.
    """
    if not wal_has_frames(path):
        yield
        return
    try:
        holder = connect_read_only(path)
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()  # takes the shared lock
    except sqlite3.Error as exc:
        logger.warning("Could not hold %s open while closing it (%s); closing it as it is.", path, exc)
        yield
        return
    try:
        yield  # the block's close is not the last one: no checkpoint
    finally:
        holder.close()  # read-only: can neither checkpoint nor delete the -wal


def wal_has_frames(path: str) -> bool:
    """Whether ``path``'s -wal holds anything (a newer version wrote while this one read)."""
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def open_newer_read_only(
    path: str,
    *,
    updated_by: str | None = None,
    on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
) -> NewerFileDatabase:
    """A connected NewerFileDatabase on ``path``, handed to ``on_connect`` first (the app's SQL functions)."""
    problem = explain_unusable_path(path)
    if problem is not None:
        raise problem
    database = NewerFileDatabase(path, updated_by, timeout=BUSY_TIMEOUT_SECONDS)
    connect_waiting(database, path)
    with explaining_sqlite_errors(path, "read"):
        database.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()  # holds the file from now on
    if on_connect is not None:
        call_on_connect(on_connect, database, path)
    return database


def find_backup_before_newer(path: Path, known: Sequence[KnownMigration]) -> tuple[Path, datetime.datetime] | None:
    """The newest pre-update backup (``before-<id>``) of ``path`` this app opens normally, and when it was taken.

    Opens normally: every id it records is one of ``known`` (this app's
    migrations), or a newer version's recorded backward compatible, as a
    launch judges them (Plan.raise_if_too_new). That is the copy taken just
    before the first migration this app cannot live with; older ones hold
    less. Backups SQLite cannot read are passed over. None when there is none.
    """
    from .plan import plan_migrations

    for backup in reversed(list_backups(path)):
        if backup_kind(path, backup) != "update":
            continue
        try:
            applied = read_backup_records(backup)
        except (sqlite3.Error, peewee.DatabaseError, AppDbError):
            continue
        plan = plan_migrations(known, applied)
        if applied and (not plan.unknown_applied or plan.uses_newer_as_is()):
            stamp = backup_stamp_and_label(path, backup.name)[:STAMP_LENGTH]
            taken = datetime.datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=datetime.UTC)
            return backup, taken
    return None


def read_backup_records(source: Path) -> dict[str, AppliedMigration]:
    """The migrations another SQLite file (a backup) records, with whether each is backward compatible. Only reads."""
    database = peewee.SqliteDatabase(read_only_uri(source), uri=True)
    try:
        database.connect()
        return read_applied(database)
    finally:
        database.close()
