"""Connect: open the file with pragmas that suit a desktop app, and name what goes wrong.

WAL lets the app read while a second instance migrates. synchronous=NORMAL
never corrupts the file, but does not fsync a commit: a power cut can take
back every transaction committed since the last checkpoint (which may be the
end of the app's session). The migration's transaction and a restore are
therefore committed with synchronous=FULL (transaction.write_transaction,
restore.py): on the disk when they return. The busy timeout turns a brief
lock held by another instance into a wait instead of "database is locked".

What a sync reaches differs per platform, so each platform's pragmas are
data (SYNC_PRAGMAS), added to every connection that writes: on macOS
fsync() stops at the drive's cache, and only F_FULLFSYNC (fullfsync, and
checkpoint_fullfsync for the WAL checkpoints) gets the data to the disk.
"""

from __future__ import annotations

import os
import sys

from .errors import (
    AppDbError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNotWritableError,
    DiskFullError,
)
from .paths import MEMORY, ensure_folder, explain_unusable_path

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    import peewee

    PathLike = str | os.PathLike[str]

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "PRAGMAS",
    "SYNC_PRAGMAS",
    "connect_writable",
    "explain_sqlite_error",
    "open_database",
    "sqlite_error_name",
    "sync_pragmas",
]

BUSY_TIMEOUT_SECONDS = 5.0
PRAGMAS = (
    ("journal_mode", "wal"),
    ("synchronous", "normal"),
    ("foreign_keys", 1),
)
SYNC_PRAGMAS = {  # sys.platform -> what makes SQLite's syncs reach the disk there
    "darwin": (("fullfsync", 1), ("checkpoint_fullfsync", 1)),
}


def sync_pragmas() -> tuple[tuple[str, object], ...]:
    """The pragmas that make a sync durable on this platform (asked at each connect, not at import)."""
    return SYNC_PRAGMAS.get(sys.platform, ())


def open_database(
    path: PathLike | None,
    *,
    read_only: bool = False,
    on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
) -> peewee.SqliteDatabase:
    """A connected peewee database for ``path`` (None: in memory), handed to ``on_connect`` before any use.

    A file that is not SQLite raises DatabaseCorruptError and is left byte
    for byte as it was: SQLite itself says so (SQLITE_NOTADB) at its first
    read, before it writes anything; app_db never opens the file with
    Python's open(), whose close() would drop the locks SQLite holds on it
    for other connections of this process. ``read_only`` opens the file with
    mode=ro and no pragmas (journal_mode=wal would rewrite the header of a
    rollback-journal file); a missing file then reads as an empty database
    and is not created.
    """
    import peewee  # the app imports it anyway; app_db's own import stays light

    if path is None or (read_only and not os.path.exists(path)):
        database = peewee.SqliteDatabase(MEMORY, pragmas=[("foreign_keys", 1)])
        database.connect()
    else:
        problem = explain_unusable_path(os.fspath(path))  # a folder, or under a regular file: only stat()s
        if problem is not None:
            raise problem
        if read_only:
            database = peewee.SqliteDatabase(read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        else:
            ensure_folder(os.fspath(path))
            database = peewee.SqliteDatabase(
                os.fspath(path), pragmas=[*PRAGMAS, *sync_pragmas()], timeout=BUSY_TIMEOUT_SECONDS
            )
        connect_waiting(database, path)
    if on_connect is not None:
        call_on_connect(on_connect, database, path)
    return database


def call_on_connect(
    on_connect: Callable[[peewee.SqliteDatabase], None], database: peewee.SqliteDatabase, path: PathLike | None
) -> None:
    """Let the app register its SQL functions, collations and extensions on ``database``; its failure is named."""
    try:
        on_connect(database)
    except Exception as exc:
        database.close()
        storage = explain_sqlite_error(exc, path, "open") if sqlite_error_name(exc) else None
        if storage is not None and type(storage) is not AppDbError:
            raise storage from exc  # e.g. its first read found that the file is not a database
        from .errors import ConfigurationError

        where = path if path is not None else "an in-memory database"
        raise ConfigurationError(
            f"on_connect ({getattr(on_connect, '__qualname__', on_connect)!s}) failed for {where}: "
            f"{type(exc).__name__}: {exc}. No migration ran. Fix the callable given as Database(on_connect=...).",
            path=path,
        ) from exc


def connect_waiting(database: peewee.SqliteDatabase, path: PathLike) -> None:
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

    def __init__(self, path: PathLike | None, action: str) -> None:
        self.path = path
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        if exc is not None and not isinstance(exc, AppDbError) and sqlite_error_name(exc):
            raise explain_sqlite_error(exc, self.path, self.action) from exc


def read_only_uri(path: PathLike) -> str:
    """A ``file:`` URI that opens ``path`` read-only (a second look that can never write).

    Built by hand to SQLite's rules (sqlite.org/uri.html), not by
    ``Path.as_uri()``: that writes a UNC path ``\\\\server\\share\\n.db`` as
    ``file://server/share/n.db``, whose authority SQLite refuses unless built
    with SQLITE_ALLOW_URI_AUTHORITY (Python's Windows build is not). Here the
    authority stays empty: ``file:////server/share/n.db``, ``file:///C:/n.db``,
    ``file:///home/ada/n.db``. Windows paths follow ``ntpath``, taken from a
    PureWindowsPath or from ``os.path`` itself; ``?``, ``#``, ``%`` and
    everything but letters, digits and ``/:-._~`` are percent-encoded (UTF-8).
    """
    from urllib.parse import quote

    windows = follows_windows_rules(path)
    text = os.fspath(path)
    if not windows:
        return "file://" + quote(os.fsencode(os.path.abspath(text)), safe="/") + "?mode=ro"
    import ntpath

    text = ntpath.normpath(text if ntpath.isabs(text) else ntpath.abspath(text)).replace("\\", "/")
    if text.startswith("//?/UNC/"):  # \\?\UNC\server\share: the long form of \\server\share
        text = "//" + text[len("//?/UNC/") :]
    elif text.startswith("//?/"):  # \\?\C:\...: the long form of C:\...
        text = text[len("//?/") :]
    if not text.startswith("//"):  # a drive: file:///C:/...; a UNC path keeps its two slashes
        text = "/" + text
    return "file://" + quote(text, safe="/:") + "?mode=ro"


def follows_windows_rules(path: PathLike) -> bool:
    """Whether ``path`` is a Windows path: a PureWindowsPath, or any path where pathlib or os.path are Windows'."""
    import pathlib

    def separator(kind: object) -> str | None:
        flavour = getattr(kind, "parser", None) or getattr(kind, "_flavour", None)  # 3.13: parser
        return getattr(flavour, "sep", None)

    if separator(path) is not None:
        return separator(path) == "\\"
    return separator(pathlib.Path) == "\\" or os.path.sep == "\\"


def connect_read_only(path: PathLike) -> sqlite3.Connection:
    """A plain sqlite3 connection that only reads ``path``: for backups and for looking at the committed state."""
    import sqlite3

    return sqlite3.connect(read_only_uri(path), uri=True)


def connect_writable(path: PathLike, timeout: float = BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    """A plain sqlite3 connection that writes ``path`` (a copy, a restore) with this platform's sync pragmas."""
    import sqlite3

    connection = sqlite3.connect(path, timeout=timeout)
    for name, value in sync_pragmas():
        connection.execute(f"PRAGMA {name} = {value}")
    return connection


def corrupt_message(path: PathLike) -> str:
    backups = os.path.join(os.path.dirname(os.fspath(path)), "backups")
    remedy = (
        f"restore a copy from {backups} (`app-db restore FILE`)" if os.path.isdir(backups) else "restore a copy of it"
    )
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
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        name = getattr(current, "sqlite_errorname", None)
        if name:
            return str(name)
        stack.extend((current.__cause__, current.__context__))
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return ""


def explain_sqlite_error(exc: BaseException, path: PathLike | None, action: str) -> AppDbError:
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
