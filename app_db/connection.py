"""Connect: open the file with pragmas that suit a desktop app, and name what goes wrong.

WAL lets the app read while a second instance migrates. synchronous=NORMAL
never corrupts the file, but does not fsync a commit: a power cut can take
back every transaction committed since the last checkpoint (which may be the
end of the app's session). The migration's transaction and a restore are
therefore committed with synchronous=FULL (runner.write_transaction,
restore.py): on the disk when they return. The busy timeout turns a brief
lock held by another instance into a wait instead of "database is locked".
"""

from __future__ import annotations

import os

from .errors import (
    AppDbError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNotWritableError,
    DiskFullError,
)
from .paths import MEMORY, ensure_folder

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from typing import Optional, Union

    import sqlite3

    import peewee

    PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["BUSY_TIMEOUT_SECONDS", "PRAGMAS", "explain_sqlite_error", "open_database", "sqlite_error_name"]

BUSY_TIMEOUT_SECONDS = 5.0
PRAGMAS = (
    ("journal_mode", "wal"),
    ("synchronous", "normal"),
    ("foreign_keys", 1),
)
SQLITE_HEADER = b"SQLite format 3\x00"


def open_database(path: Optional[PathLike], *, read_only: bool = False) -> "peewee.SqliteDatabase":
    """A connected peewee database for ``path`` (None: in memory).

    A file that exists but is not SQLite raises DatabaseCorruptError before
    SQLite touches it, so it is left byte for byte as it was. ``read_only``
    opens the file with mode=ro and no pragmas (journal_mode=wal would
    rewrite the header of a rollback-journal file); a missing file then reads
    as an empty database and is not created.
    """
    import peewee  # the app imports it anyway; app_db's own import stays light

    if path is None or (read_only and not os.path.exists(path)):
        database = peewee.SqliteDatabase(MEMORY, pragmas=[("foreign_keys", 1)])
        database.connect()
        return database
    check_is_sqlite(path)
    if read_only:
        database = peewee.SqliteDatabase(read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    else:
        ensure_folder(path)
        database = peewee.SqliteDatabase(os.fspath(path), pragmas=list(PRAGMAS), timeout=BUSY_TIMEOUT_SECONDS)
    connect_waiting(database, path)
    return database


def connect_waiting(database: "peewee.SqliteDatabase", path: PathLike) -> None:
    """Connect, waiting up to the busy timeout while another process holds the file.

    SQLite's busy handler does not cover every case: two launches that both
    read a new file and then both switch it to WAL would deadlock, so SQLite
    answers one of them "database is locked" at once. That one waits and
    tries again, as a person double-clicking twice would expect.
    """
    import time

    import peewee

    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            database.connect()
            return
        except peewee.DatabaseError as exc:
            if sqlite_error_name(exc).startswith("SQLITE_BUSY") and time.monotonic() < deadline:
                database.close()
                time.sleep(0.01)
                continue
            raise explain_sqlite_error(exc, path, "open") from exc


class explaining_sqlite_errors:
    """Turn a SQLite error raised in the block into the AppDbError that says what it means for the file."""

    def __init__(self, path: Optional[PathLike], action: str) -> None:
        self.path = path
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: Optional[BaseException], traceback: object) -> None:
        if exc is not None and not isinstance(exc, AppDbError) and sqlite_error_name(exc):
            raise explain_sqlite_error(exc, self.path, self.action) from exc


def read_only_uri(path: PathLike) -> str:
    """A ``file:`` URI that opens ``path`` read-only (a second look that can never write)."""
    from pathlib import Path

    return Path(path).as_uri() + "?mode=ro"


def connect_read_only(path: PathLike) -> "sqlite3.Connection":
    """A plain sqlite3 connection that only reads ``path``: for backups and for looking at the committed state."""
    import sqlite3

    return sqlite3.connect(read_only_uri(path), uri=True)


def check_is_sqlite(path: PathLike) -> None:
    """Raise DatabaseCorruptError unless ``path`` is missing, empty, or starts like SQLite."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except NotADirectoryError as exc:
        blocker = os.path.dirname(os.fspath(path))
        while blocker and not os.path.exists(blocker):
            blocker = os.path.dirname(blocker)
        raise DatabaseNotWritableError(
            f"Cannot use {path}: {blocker} is a file, not a folder. Nothing was changed. "
            "Pass a path inside a folder (or move that file away).",
            path=path,
        ) from exc
    except IsADirectoryError as exc:
        raise DatabaseNotWritableError(
            f"{path} is a folder, not a database file; pass the path of a file inside it.", path=path
        ) from exc
    except OSError as exc:
        raise DatabaseNotWritableError(
            f"Cannot read the database {path}: {exc.strerror or exc}. Check its permissions.", path=path
        ) from exc
    if header and header != SQLITE_HEADER:
        raise DatabaseCorruptError(corrupt_message(path), path=path)


def corrupt_message(path: PathLike) -> str:
    backups = os.path.join(os.path.dirname(os.fspath(path)), "backups")
    remedy = f"restore a copy from {backups} (`app-db restore FILE`)" if os.path.isdir(backups) else "restore a copy of it"
    return (
        f"{path} is not a SQLite database (or is damaged). It was not changed. "
        f"Move it aside and start again, or {remedy}."
    )


def sqlite_error_name(exc: BaseException) -> str:
    """The SQLite error name (e.g. 'SQLITE_FULL') behind ``exc``, or ''.

    peewee wraps sqlite3 errors, keeping the original as its first argument
    and as __context__; look through both.
    """
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        name = getattr(current, "sqlite_errorname", None)
        if name:
            return name
        stack.extend([current.__cause__, current.__context__])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return ""


def explain_sqlite_error(exc: BaseException, path: Optional[PathLike], action: str) -> AppDbError:
    """An AppDbError that says what ``exc`` means for the user's file.

    ``action`` completes "Could not <action> ...". Errors that are not about
    storage (a bad statement, a constraint) come back as a plain AppDbError.
    """
    name = sqlite_error_name(exc)
    where = str(path) if path is not None else "the in-memory database"
    folder = os.path.dirname(os.fspath(path)) if path is not None else None
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) and path is not None:
        return DatabaseCorruptError(corrupt_message(path), path=path)
    # SHMSIZE: the -shm file beside a WAL database could not grow to its
    # first 32 KiB, which on open is the first write a full disk refuses.
    if name.startswith("SQLITE_FULL") or name in ("SQLITE_IOERR_WRITE", "SQLITE_IOERR_SHMSIZE"):
        return DiskFullError(
            f"Could not {action} {where}: the disk is full (or a file-size limit was reached). "
            f"Nothing was changed. Free some space on the disk holding {folder} and start again.",
            path=path,
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return DatabaseNotWritableError(
            f"Could not {action} {where}: the file or its folder {folder} is not writable "
            f"({exc}). Nothing was changed. Check the permissions of both, or pass another path.",
            path=path,
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return DatabaseLockedError(
            f"Could not {action} {where}: another process kept it locked. Nothing was changed. "
            "Close other copies of the app (or whatever holds the file) and start again.",
            path=path,
        )
    return AppDbError(f"Could not {action} {where}: {exc}", path=path)

