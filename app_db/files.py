"""Files: every rename, link, delete and fsync app_db performs, made durable in one place.

A rename or a delete is only a change to a folder, and a file system may
write folders and files to the disk in any order: after a power cut a
renamed file can be back under its old name, or a deleted one back. So
whoever needs a change to survive says so here, in order: ``sync_file``
the data, ``replace_file`` (which syncs the folder after the rename), and
only then remove what the new file makes unnecessary. Each call is one
visible system call in a trace (strace), which is how the crash-state test
checks the order.

Platform details live here too: Windows refuses a rename or delete while
another program (an antivirus, an indexer, a backup tool) has the file open
for a moment (WinError 5, 32, 33), so those are retried briefly; a folder
cannot be opened there to be synced (NTFS orders its metadata itself);
macOS needs F_FULLFSYNC to get data past the drive's cache.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, TypeVar, Union

    PathLike = Union[str, "os.PathLike[str]"]
    T = TypeVar("T")

__all__ = ["link_file", "make_folder", "remove_file", "replace_file", "sync_file", "sync_folder"]

# Another program holding the file open for a moment: ERROR_ACCESS_DENIED,
# ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION.
SHARING_ERRORS = (5, 32, 33)
RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)  # 2 s in all, then the error stands


def retrying(operation: "Callable[[], T]") -> "T":
    """Run ``operation``, retrying a Windows sharing violation for about 2 s before giving up."""
    for delay in RETRY_DELAYS:
        try:
            return operation()
        except OSError as exc:
            if getattr(exc, "winerror", None) not in SHARING_ERRORS:
                raise
            time.sleep(delay)
    return operation()


def sync_file(path: PathLike) -> None:
    """Force ``path``'s data to the disk (F_FULLFSYNC on macOS, where fsync stops at the drive's cache).

    Only for app_db's own files (copies, temporary files): the live database
    is synced by SQLite, never opened from Python.
    """
    flags = os.O_RDWR | getattr(os, "O_BINARY", 0) if sys.platform == "win32" else os.O_RDONLY
    descriptor = os.open(path, flags)  # Windows flushes only a handle open for writing
    try:
        flush(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(path: PathLike) -> None:
    """Force the folder's entries (files created, renamed or deleted in it) to the disk.

    A no-op on Windows, where a folder cannot be opened like a file and
    NTFS journals its metadata in order.
    """
    if sys.platform == "win32":
        return
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        flush(descriptor)
    finally:
        os.close(descriptor)


def flush(descriptor: int) -> None:
    if sys.platform == "darwin":
        import fcntl

        try:
            fcntl.fcntl(descriptor, fcntl.F_FULLFSYNC)  # type: ignore[attr-defined]
            return
        except (AttributeError, OSError):  # not every file system supports it
            pass
    os.fsync(descriptor)


def make_folder(path: PathLike) -> None:
    """Create the folder ``path`` (and its parents) if missing, durably: the new entry is synced in its parent."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(os.path.abspath(path))
    make_folder(parent)
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    sync_folder(parent)


def replace_file(source: PathLike, target: PathLike) -> None:
    """Rename ``source`` to ``target`` (replacing it atomically), then sync the folder so the rename survives power loss.

    ``source`` should be synced first (sync_file): the rename must never
    reach the disk before the data it names.
    """
    retrying(lambda: os.replace(source, target))
    sync_folder(os.path.dirname(os.path.abspath(target)))
    source_folder = os.path.dirname(os.path.abspath(source))
    if source_folder != os.path.dirname(os.path.abspath(target)):
        sync_folder(source_folder)


def link_file(source: PathLike, target: PathLike) -> None:
    """Give the file ``source`` the second name ``target`` without opening it, then sync the folder.

    Raises OSError where hard links are not supported (FAT, some network
    shares); the caller decides what to do instead.
    """
    retrying(lambda: os.link(source, target))
    sync_folder(os.path.dirname(os.path.abspath(target)))


def remove_file(path: PathLike, *, durable: bool = False) -> bool:
    """Delete ``path`` if it exists; True if it did. ``durable``: sync the folder so it stays deleted after power loss.

    A delete that frees space need not be durable; one that must happen
    before a later step (a stale -wal before the file it belonged to is
    replaced) must.
    """
    try:
        retrying(lambda: os.unlink(path))
    except FileNotFoundError:
        return False
    if durable:
        sync_folder(os.path.dirname(os.path.abspath(path)))
    return True
