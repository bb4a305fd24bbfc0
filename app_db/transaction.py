"""The write transaction: SQLite's write lock held for one batch, committed whole or rolled back whole.

The order is GRDB's: foreign keys off (the pragma is ignored inside a
transaction, and a table rebuild must not cascade-delete children),
synchronous FULL, BEGIN IMMEDIATE (waiting for another instance that is
migrating), the batch, COMMIT, then the app's own settings back. If
anything raises, the transaction is rolled back and the file is exactly as
it was.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .backup import remove_leftovers
from .connection import BUSY_TIMEOUT_SECONDS, explain_sqlite_error, explaining_sqlite_errors, sqlite_error_name
from .errors import AppDbError, CallbackError

if TYPE_CHECKING:
    import peewee

__all__ = ["KEEP_ALIVE_SECONDS", "KeepAlive", "callback_message", "calling_keep_alive", "is_open", "write_transaction"]

KEEP_ALIVE_SECONDS = 0.1
PROGRESS_OPS = 10_000  # SQLite's virtual-machine steps between two looks at the clock: about a millisecond


@contextmanager
def write_transaction(
    db: peewee.SqliteDatabase,
    path: Path | None,
    lock_timeout: float,
    keep_alive: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold SQLite's write lock for the block; commit if it returns, roll back if it raises.

    The lock is SQLite's own (BEGIN IMMEDIATE), so it dies with the process:
    a crash never leaves the user locked out. Waiting for it is bounded by
    ``lock_timeout`` seconds, long enough for another instance's migration;
    ``keep_alive`` is called about every 0.1 s meanwhile (see begin_immediate).
    """
    connection = db.connection()
    db.pragma("foreign_keys", 0)
    # The COMMIT is fsynced (NORMAL would leave it in the WAL until a
    # checkpoint); SQLite ignores the pragma inside a transaction.
    synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    connection.execute("PRAGMA synchronous = FULL")
    try:
        try:
            begin_immediate(connection, path, lock_timeout, keep_alive)
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


def begin_immediate(
    connection: sqlite3.Connection, path: Path | None, lock_timeout: float, keep_alive: Callable[[], None] | None
) -> None:
    """BEGIN IMMEDIATE, waiting at most ``lock_timeout`` s for another process's write lock.

    SQLite's busy handler waits in C, where nothing of the app runs: with a
    ``keep_alive`` (a splash while another instance migrates the same file)
    the wait is cut into 0.1 s tries with a call between them. What it
    raises is CallbackError, with nothing changed: the lock was never taken.
    """
    deadline = time.monotonic() + lock_timeout
    while True:
        remaining = max(deadline - time.monotonic(), 0.0)
        wait = remaining if keep_alive is None else min(remaining, KEEP_ALIVE_SECONDS)
        connection.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.Error as exc:
            if keep_alive is None or remaining <= wait or sqlite_error_name(exc) != "SQLITE_BUSY":
                raise explain_sqlite_error(exc, path, "lock") from exc
        try:
            keep_alive()
        except Exception as exc:
            where = f"while waiting for another process's write lock on {path or 'the database'}"
            raise CallbackError(
                callback_message("keep_alive", exc, where, "Nothing was changed."), callback="keep_alive", path=path
            ) from exc


def is_open(connection: sqlite3.Connection) -> bool:
    try:
        _ = connection.total_changes  # raises once the connection is closed
    except sqlite3.ProgrammingError:
        return False
    return True


class KeepAlive:
    """The app's ``keep_alive`` for one batch: called about every 0.1 s, and an exception it raises stops the batch.

    SQLite calls ``handler`` as its progress handler, where an exception
    cannot travel: it is kept in ``raised``, and every statement from then on
    is interrupted, so the batch stops at once. calling_keep_alive then
    raises CallbackError from it (before the transaction rolls back),
    instead of the "interrupted" a migration would be blamed for. ``tick``
    is the same call where no statement runs: between steps, around the
    foreign-key check, during the backup. ``where`` and ``state`` are what
    the batch was doing and what a rollback leaves, for the message.
    """

    __slots__ = ("callback", "last_call", "raised", "state", "where")

    def __init__(self, callback: Callable[[], None] | None) -> None:
        self.callback = callback
        self.last_call = time.monotonic()
        self.raised: BaseException | None = None
        self.where = "as the update started"
        self.state = "Nothing was changed."

    def tick(self, now: bool = False) -> None:
        """Call keep_alive() if 0.1 s have passed since the last call (or ``now``); what it raises is kept, then raised.

        ``now``: before a step SQLite calls nothing during (the COMMIT's fsync), so that gap starts afresh.
        """
        if self.raised is not None:
            raise self.raised
        if self.callback is None:
            return
        moment = time.monotonic()
        if not now and moment - self.last_call < KEEP_ALIVE_SECONDS:
            return
        self.last_call = moment
        try:
            self.callback()
        except BaseException as exc:
            self.raised = exc
            raise

    def handler(self) -> int:
        try:
            self.tick()
        except BaseException:
            return 1  # interrupts the statement; calling_keep_alive raises the app's exception instead
        return 0


@contextmanager
def calling_keep_alive(
    db: peewee.SqliteDatabase, keep_alive: Callable[[], None] | None, path: Path | None = None
) -> Iterator[KeepAlive]:
    """Call ``keep_alive()`` about every 0.1 s while SQLite works, so a splash screen can stay responsive.

    It runs inside SQLite's progress handler: it must not use the database.
    If it raises, the batch stops and CallbackError (``__cause__``: the
    app's exception) is raised in place of whatever the interrupted
    statement raised; a KeyboardInterrupt or SystemExit is raised as
    itself, with that message as a note. Either way the transaction around
    this block rolls back.
    """
    keep = KeepAlive(keep_alive)
    connection = db.connection()
    if keep_alive is not None:
        connection.set_progress_handler(keep.handler, PROGRESS_OPS)
    try:
        yield keep
        if keep.raised is not None:  # a migration caught the "interrupted" and went on: still stopped
            raise keep.raised
    except BaseException:
        if keep.raised is None:
            raise
        message = callback_message("keep_alive", keep.raised, keep.where, keep.state)
        if not isinstance(keep.raised, Exception):
            keep.raised.add_note(message)
            raise keep.raised from None
        raise CallbackError(message, callback="keep_alive", path=path) from keep.raised
    finally:
        if keep_alive is not None and is_open(connection):
            connection.set_progress_handler(None, 0)


def callback_message(callback: str, exc: BaseException, where: str, state: str) -> str:
    """The one wording of "the app's callback stopped the batch", for keep_alive and on_progress alike."""
    raised = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"The app's {callback} callback stopped the batch {where}: it raised {raised}. It was rolled back. {state}"
