"""Backup: an online copy of the database before it is migrated, and retention.

The copy is made with SQLite's backup API from a read-only connection, so it
is a consistent, self-contained file even while the app writes. It is written
under a ``.partial`` name and renamed only when complete: a full disk or a
crash can never leave a half-written file in place of a good backup.
"""

from __future__ import annotations

import datetime
import logging
import os
import sqlite3
from pathlib import Path
from typing import Callable, List, Optional

from .connection import connect_read_only, explain_sqlite_error
from .errors import BackupError, DiskFullError

__all__ = ["BACKUP_FOLDER", "KEEP_BACKUPS", "backup_database", "list_backups", "prune_backups"]

logger = logging.getLogger("app_db")

BACKUP_FOLDER = "backups"
KEEP_BACKUPS = 5
PAGES_PER_STEP = 4096  # 16 MiB with 4 KiB pages: progress for big files, little overhead


def backup_database(
    path: Path,
    *,
    label: str = "manual",
    destination: Optional[Path] = None,
    keep: Optional[int] = KEEP_BACKUPS,
    on_progress: Optional[Callable[[int, int], None]] = None,
) -> Path:
    """Copy ``path`` to ``destination`` (default: a new file in ``backups/`` beside it); return the copy's path.

    ``keep`` backups of this database are kept in ``backups/`` (oldest go
    first); None keeps all. ``on_progress(copied_pages, total_pages)`` is
    called during the copy.
    """
    if destination is None:
        folder = path.parent / BACKUP_FOLDER
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        destination = folder / f"{path.stem}-{stamp}-{label}{path.suffix or '.sqlite3'}"
    partial = destination.with_name(destination.name + ".partial")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        copy_database(path, partial, on_progress)
        os.replace(partial, destination)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, (sqlite3.Error, OSError)):
            problem = explain_sqlite_error(exc, path, "back up") if isinstance(exc, sqlite3.Error) else None
            if isinstance(problem, DiskFullError) or getattr(exc, "errno", None) in (28, 27):  # ENOSPC, EFBIG
                raise DiskFullError(
                    f"Could not back up {path} to {destination.parent}: the disk is full (or a file-size "
                    "limit was reached). Nothing was changed; no partial backup was left. "
                    "Free some space and start again.",
                    path=path,
                ) from exc
            raise BackupError(
                f"Could not back up {path} to {destination}: {exc}. Nothing was changed; "
                "no partial backup was left. Check that the folder is writable and start again.",
                path=path,
            ) from exc
        raise
    logger.info("Backed up %s to %s", path, destination)
    if keep is not None and destination.parent == path.parent / BACKUP_FOLDER:
        prune_backups(path, keep, newest=destination)
    return destination


def copy_database(source: Path, target: Path, on_progress: Optional[Callable[[int, int], None]]) -> None:
    source_connection = connect_read_only(source)
    target_connection = sqlite3.connect(target)
    try:

        def report(status: int, remaining: int, total: int) -> None:
            if on_progress is not None:
                on_progress(total - remaining, total)

        source_connection.backup(target_connection, pages=PAGES_PER_STEP, progress=report)
        # The copy keeps the source's WAL flag; make it a rollback-journal file
        # so it is one self-contained file that opens read-only anywhere.
        target_connection.execute("PRAGMA journal_mode = DELETE")
    finally:
        target_connection.close()
        source_connection.close()


def list_backups(path: Path) -> List[Path]:
    """This database's backups in ``backups/``, oldest first."""
    folder = path.parent / BACKUP_FOLDER
    if not folder.is_dir():
        return []
    prefix, suffix = f"{path.stem}-", path.suffix or ".sqlite3"
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.name.startswith(prefix) and entry.name[len(prefix) : len(prefix) + 1].isdigit()
        and entry.name.endswith(suffix)
    )


def prune_backups(path: Path, keep: int, newest: Optional[Path] = None) -> None:
    """Delete all but the newest ``keep`` backups of ``path``, and copies a killed process left half-written.

    Older backups with the same label as ``newest`` (taken before the same
    migration by launches that then failed and changed nothing) are the
    same state again: they go first, so retries never push out a backup
    from before an earlier update.
    """
    folder = path.parent / BACKUP_FOLDER
    # A process killed while copying leaves its .partial behind, with
    # SQLite's -journal, or -wal and -shm (the copy arrives in the source's
    # WAL mode). Nothing ever finishes or reads them, and each is up to a
    # whole copy of the database.
    abandoned = sorted(
        entry for entry in folder.iterdir()
        if entry.name.startswith(f"{path.stem}-") and entry.name.endswith((".partial", ".partial-journal", ".partial-wal", ".partial-shm"))
    ) if folder.is_dir() else []
    backups = list_backups(path)
    label = newest.name[len(f"{path.stem}-YYYYmmdd-HHMMSS-ffffff"):] if newest is not None else ""
    if label.startswith("-before-") and label[len("-before-"):][:1].isdigit():  # before a migration id
        repeated = [entry for entry in backups if entry != newest and entry.name.endswith(label)]
        backups = [entry for entry in backups if entry not in repeated]
        abandoned += repeated
    for old in abandoned + (backups[:-keep] if keep > 0 else backups):
        try:
            old.unlink()
        except OSError as exc:  # a locked old backup is not worth failing a launch for
            logger.warning("Could not delete old backup %s: %s", old, exc)


def restore_into(source: Path, connection: sqlite3.Connection) -> None:
    """Replace the open database's content with ``source``'s, in one write transaction.

    Uses the backup API in reverse, so the live file (and its WAL) stays
    consistent and other connections see either the old or the new content.
    """
    source_connection = connect_read_only(source)
    try:
        source_connection.backup(connection)
    finally:
        source_connection.close()


def read_recorded_ids(source: Path) -> List[str]:
    """The migration ids recorded in another SQLite file; raises sqlite3.Error when it is not one.

    SQLite itself judges the file (SQLITE_NOTADB), through a read-only connection.
    """
    connection = connect_read_only(source)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        has_table = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app_db_migrations'"
        ).fetchone()
        if not has_table:
            return []
        return [row[0] for row in connection.execute("SELECT id FROM app_db_migrations")]
    finally:
        connection.close()
