"""Backup: an online copy of the database before it is changed, and which copies are kept.

The copy is made with SQLite's backup API from a read-only connection, so it
is a consistent, self-contained file even while the app writes. It is written
under a ``.partial`` name, synced, renamed only when complete, and the folder
synced after the rename (app_db/files.py): a full disk, a crash or a power
cut never leaves a half-written file under a backup's name, and nothing is
pruned or migrated before the new copy is on the disk.

Retention is by kind, so one kind of copy never pushes out another:

- ``before-<migration id>`` (a launch about to migrate): the newest
  ``KEEP_BACKUPS`` are kept; older copies taken before the same migration
  (retries of a failing launch, the same state again) go first.
- ``before-rollback-<id>`` and ``before-restore``: the newest ``KEEP_BACKUPS``
  of each; a restore never deletes the file it restores from.
- ``manual`` (``Database.backup()``, ``app-db backup``) and any name app_db
  did not write: never deleted.
"""

from __future__ import annotations

import datetime
import logging
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Collection
from pathlib import Path

from .connection import connect_read_only, connect_writable, explain_sqlite_error
from .errors import BackupError, DiskFullError
from .files import is_same_file, make_folder, name_key, remove_file, replace_file, sync_file

__all__ = [
    "BACKUP_FOLDER",
    "KEEP_BACKUPS",
    "KEEP_DAMAGED",
    "backup_database",
    "backup_kind",
    "list_backups",
    "list_damaged",
    "prune_backups",
    "prune_damaged",
    "remove_leftovers",
]

logger = logging.getLogger("app_db")

BACKUP_FOLDER = "backups"
KEEP_BACKUPS = 5  # of each kind that is pruned at all
KEEP_DAMAGED = 3  # <name>.damaged-<time> copies beside the database
PAGES_PER_STEP = 4096  # 16 MiB with 4 KiB pages: progress for big files, little overhead
STAMP_FORMAT = "%Y%m%d-%H%M%S-%f"
STAMP_LENGTH = len("YYYYmmdd-HHMMSS-ffffff")
PRUNED_KINDS = ("update", "rollback", "restore")


def backup_database(
    path: Path,
    *,
    label: str = "manual",
    destination: Path | None = None,
    keep: int | None = KEEP_BACKUPS,
    on_progress: Callable[[int, int], None] | None = None,
    protect: Collection[Path] = (),
) -> Path:
    """Copy ``path`` to ``destination`` (default: a new file in ``backups/`` beside it); return the copy's path.

    When this returns the copy is on the disk under its final name. Then
    older copies of the same kind in ``backups/`` are pruned to ``keep`` (see
    the module docstring; None prunes nothing), never one in ``protect``.
    ``on_progress(copied_pages, total_pages)`` is called during the copy.
    """
    if destination is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(STAMP_FORMAT)  # noqa: UP017 (tests stub timezone)
        destination = path.parent / BACKUP_FOLDER / f"{path.stem}-{stamp}-{label}{path.suffix or '.sqlite3'}"
    else:
        refuse_destination(path, destination)
    partial = destination.with_name(destination.name + ".partial")
    try:
        make_folder(destination.parent)
        copy_database(path, partial, on_progress)
        sync_file(partial)
        replace_file(partial, destination)  # syncs the folder: the new name is on the disk
    except BaseException as exc:
        left = "no partial backup was left"
        try:
            remove_file(partial)
        except OSError as cleanup:  # held by another program: the error above is the one to report
            left = f"the partial copy {partial} could not be deleted ({cleanup.strerror or cleanup}); delete it"
        if isinstance(exc, (sqlite3.Error, OSError)):
            problem = explain_sqlite_error(exc, path, "back up") if isinstance(exc, sqlite3.Error) else None
            if isinstance(problem, DiskFullError) or getattr(exc, "errno", None) in (28, 27):  # ENOSPC, EFBIG
                raise DiskFullError(
                    f"Could not back up {path} to {destination.parent}: the disk is full (or a file-size "
                    f"limit was reached). Nothing was changed; {left}. "
                    "Free some space and start again.",
                    path=path,
                ) from exc
            raise BackupError(
                f"Could not back up {path} to {destination}: {exc}. Nothing was changed; "
                f"{left}. Check that the folder is writable (and that no other program holds it) and start again.",
                path=path,
            ) from exc
        raise
    logger.info("Backed up %s to %s", path, destination)
    if keep is not None and is_same_file(destination.parent, path.parent / BACKUP_FOLDER):
        prune_backups(path, newest=destination, keep=keep, protect=protect)
    return destination


def refuse_destination(path: Path, destination: Path) -> None:
    """ConfigurationError for a destination a backup must never be written to: anything there, or the database's files.

    Writing over an existing file could destroy what it held, and a copy
    named like the database's -wal, -shm or -journal would be read by SQLite
    as part of the live database.
    """
    from .errors import ConfigurationError

    own = [path] + [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    if any(name_key(str(destination)) == name_key(str(each)) or is_same_file(destination, each) for each in own):
        raise ConfigurationError(
            f"Cannot back up {path} to {destination}: that is the database's own file. Nothing was changed; "
            "choose a name in another folder, or leave the destination out to use backups/."
        )
    if os.path.lexists(destination):
        raise ConfigurationError(
            f"Cannot back up {path} to {destination}: it already exists, and a backup never overwrites a file. "
            "Nothing was changed; choose another name."
        )


def copy_database(source: Path, target: Path, on_progress: Callable[[int, int], None] | None) -> None:
    """Copy ``source`` into the new file ``target`` with the backup API, as one self-contained file."""
    source_connection = connect_read_only(source)
    target_connection = connect_writable(target)
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


def list_backups(path: Path) -> list[Path]:
    """This database's backups in ``backups/``, oldest first.

    Names are matched as NTFS and APFS compare them (files.name_key), on every
    platform: ``Notes-...`` and ``notes-...`` are one set, and so is a stem
    HFS+ lists in NFD.
    """
    folder = path.parent / BACKUP_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        (entry for entry in folder.iterdir() if backup_stamp_and_label(path, entry.name)[:1].isdigit()),
        key=lambda entry: backup_stamp_and_label(path, entry.name),
    )


def backup_stamp_and_label(path: Path, name: str) -> str:
    """The ``<time>-<label>`` part of a backup of ``path`` named ``name``.

    '' when ``name`` is not one of its backups.
    """
    name = unicodedata.normalize("NFC", name)
    head = unicodedata.normalize("NFC", f"{path.stem}-")
    suffix = unicodedata.normalize("NFC", path.suffix or ".sqlite3")
    if len(name) <= len(head) + len(suffix):
        return ""
    if name_key(name[: len(head)]) != name_key(head) or name_key(name[len(name) - len(suffix) :]) != name_key(suffix):
        return ""
    return name[len(head) : len(name) - len(suffix)]


def backup_label(path: Path, backup: Path) -> str:
    """What a backup of ``path`` was taken for: the part of its name after the time ('' if app_db did not name it)."""
    rest = backup_stamp_and_label(path, backup.name)
    if rest[STAMP_LENGTH : STAMP_LENGTH + 1] != "-":
        return ""
    return rest[STAMP_LENGTH + 1 :]


def backup_kind(path: Path, backup: Path) -> str:
    """'update', 'rollback', 'restore' or 'manual' (anything else app_db never prunes)."""
    label = backup_label(path, backup)
    if label == "before-restore":
        return "restore"
    if label.startswith("before-rollback-"):
        return "rollback"
    if label.startswith("before-") and label[len("before-") :][:1].isdigit():  # before a migration id
        return "update"
    return "manual"


def prune_backups(path: Path, newest: Path, keep: int = KEEP_BACKUPS, protect: Collection[Path] = ()) -> None:
    """Delete the copies of ``newest``'s kind beyond the newest ``keep``; never one in ``protect``, never a manual one.

    Older pre-update copies with the same label as ``newest`` (taken before
    the same migration by launches that then failed and changed nothing)
    are the same state again: they go first, so retries never push out a
    backup from before an earlier update. Run only once ``newest`` is on
    the disk: a power cut must never leave fewer copies than before.
    """
    kind = backup_kind(path, newest)
    if kind not in PRUNED_KINDS:
        return
    backups = [
        entry
        for entry in list_backups(path)
        if backup_kind(path, entry) == kind and not any(is_same_file(entry, kept) for kept in protect)
    ]
    # newest may be spelled otherwise (resolved, another case): it is the entry of its name in the folder
    newest_key = name_key(newest.name)
    doomed: list[Path] = []
    if kind == "update":
        label = backup_label(path, newest)
        doomed = [
            entry for entry in backups if name_key(entry.name) != newest_key and backup_label(path, entry) == label
        ]
        backups = [entry for entry in backups if entry not in doomed]
    doomed += [entry for entry in (backups[:-keep] if keep > 0 else backups) if name_key(entry.name) != newest_key]
    for old in doomed:
        remove_quietly(old)


def list_damaged(path: Path) -> list[Path]:
    """The ``<name>.damaged-<time>`` copies moved aside beside ``path``, oldest first (their -wal/-shm not listed)."""
    prefix = name_key(f"{path.name}.damaged-")
    folder = path.parent
    if not folder.is_dir():
        return []
    found = [
        (key[len(prefix) :], entry)
        for entry, key in ((entry, name_key(entry.name)) for entry in folder.iterdir())
        if key.startswith(prefix) and not key.endswith(("-wal", "-shm", "-journal"))
    ]
    return [entry for _, entry in sorted(found)]


def remove_leftovers(path: Path) -> None:
    """Delete what killed processes left: half-written copies (``*.partial*``), damaged copies beyond the newest few.

    A ``.partial`` in ``backups/`` (a backup being copied) or beside the
    database (a restore being staged) comes with SQLite's -journal, or -wal
    and -shm; nothing ever finishes or reads them, and each is up to a whole
    copy of the database. Call it only under the write lock, where no other
    launch of this database is copying. The newest ``KEEP_DAMAGED``
    ``.damaged-*`` copies are kept, each with its -wal/-shm.
    """
    # backups/<stem>-<time>-<label><suffix>.partial*, and <name>.restore.partial* (or <name>.partial*) beside it
    folders = [(path.parent / BACKUP_FOLDER, f"{path.stem}-", str.isdigit), (path.parent, path.name, ".".__eq__)]
    for folder, prefix, starts_well in folders:
        try:
            entries = sorted(folder.iterdir()) if folder.is_dir() else []
        except OSError as exc:  # cleanup never fails a launch
            logger.warning("Could not look for leftovers in %s: %s", folder, exc)
            continue
        prefix = name_key(prefix)  # matched as the file system compares names, like the backups themselves
        for entry in entries:
            key = name_key(entry.name)
            rest = key[len(prefix) :]
            if key.startswith(prefix) and starts_well(rest[:1]) and ".partial" in rest:
                remove_quietly(entry)
    prune_damaged(path)


def prune_damaged(path: Path, protect: Collection[Path] = ()) -> None:
    """Keep the newest ``KEEP_DAMAGED`` damaged copies of ``path`` (and any in ``protect``); delete older ones."""
    try:
        damaged = list_damaged(path)
    except OSError as exc:
        logger.warning("Could not look for damaged copies beside %s: %s", path, exc)
        return
    for old in damaged[:-KEEP_DAMAGED]:
        if not any(is_same_file(old, kept) for kept in protect):
            for suffix in ("", "-wal", "-shm", "-journal"):
                remove_quietly(old.with_name(old.name + suffix))


def remove_quietly(entry: Path) -> None:
    try:
        remove_file(entry)
    except OSError as exc:  # another program holds an old copy: not worth failing a launch for
        logger.warning("Could not delete %s: %s", entry, exc)


def read_recorded_ids(source: Path) -> list[str]:
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
