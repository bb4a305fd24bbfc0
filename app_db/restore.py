"""Restore: put a backup's content in place of the database, atomically and durably.

At every point a crash (SIGKILL, power loss) can stop it, the database's
name holds either the old file (damaged or not) or the restored one, never a
missing, empty or half-written file. Two ways, chosen by what SQLite says of
the current file (open read-only and ``PRAGMA quick_check``, its -wal
included; never the raw header alone):

- **It reads well.** A copy is taken first (``before-restore`` in
  ``backups/``, on the disk before anything changes), then SQLite's backup
  API writes the backup's pages into the live file in one write transaction
  with ``synchronous=FULL``: other connections, an open app included, see the
  old content or the new, and the commit is on the disk when this returns.
  A backup with another page size is first converted (VACUUM on a staged copy)
  to the live file's: SQLite cannot change the page size of a WAL file.
- **It is damaged, missing or empty.** The backup is staged beside it as
  ``<name>.restore.partial`` and synced; the damaged file gets a second
  name, ``<name>.damaged-<time>`` (a hard link: the live file is never
  opened from Python); its -wal, -journal and -shm are renamed to that name
  too (durably: a stale -wal would be replayed into the restored file); then
  the staged copy is renamed over it and the folder synced. A failure
  before that last rename moves the -wal back: the file is as it was.
"""

from __future__ import annotations

import datetime
import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .backup import STAMP_FORMAT, backup_database, copy_database, prune_damaged
from .connection import connect_read_only, connect_writable, explain_sqlite_error, sqlite_error_name
from .errors import (
    AppDbError,
    ConfigurationError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNotWritableError,
    DiskFullError,
)
from .files import link_file, remove_file, replace_file, sync_file

if TYPE_CHECKING:
    from .discovery import KnownMigration

__all__ = [
    "judge_damage",
    "move_damaged_aside",
    "refuse_foreign_source",
    "refuse_unusable_source",
    "restore_database",
]

logger = logging.getLogger("app_db")

BUSY_RETRY_SECONDS = 0.05
DAMAGE_ERRORS = ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_IOERR_SHORT_READ")
COMPANIONS = ("-wal", "-journal", "-shm")  # SQLite's files beside a database, which belong to it


def judge_damage(path: Path) -> str | None:
    """Why SQLite cannot use the file at ``path`` (quick_check's first complaint, or its error); None if it reads well.

    The file is opened read-only by SQLite, so a -wal that holds a valid
    page 1 counts, as it does for the app.
    """
    try:
        connection = connect_read_only(path)
    except sqlite3.Error as exc:
        if sqlite_error_name(exc).startswith(DAMAGE_ERRORS):
            return str(exc)
        raise
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        if sqlite_error_name(exc).startswith(DAMAGE_ERRORS):
            return str(exc)
        raise
    finally:
        connection.close()
    return None if rows == [("ok",)] else str(rows[0][0])


def refuse_unusable_source(source: Path, current: Path, known: Sequence[KnownMigration]) -> None:
    """An AppDbError, before anything changes, for a ``source`` that must not replace the database at ``current``.

    Refused: a folder or no file, a file SQLite cannot read, the database
    itself, another app's file or an empty one, and a file migrated by a
    newer version of the app (``known`` are this app's migrations).
    """
    from .backup import read_recorded_ids
    from .files import is_same_file
    from .plan import Plan

    if not source.is_file():
        what = "it is a folder, not a backup file" if source.is_dir() else "no such file"
        raise ConfigurationError(f"Cannot restore from {source}: {what}. Nothing was changed.")
    cause: BaseException | None = None
    try:
        recorded = read_recorded_ids(source)
        damage = judge_damage(source)
    except (sqlite3.Error, DatabaseCorruptError) as exc:
        recorded, cause = [], exc
        damage = "it does not start like one" if isinstance(exc, DatabaseCorruptError) else str(exc)
    if damage is not None:
        raise DatabaseCorruptError(
            f"Cannot restore from {source}: it is not a SQLite database, or is damaged ({damage}). "
            "Nothing was changed; pick another backup.",
            path=source,
        ) from cause
    if is_same_file(current, source):
        raise ConfigurationError(f"Cannot restore {current} from itself; pick a backup.")
    known_ids = {entry.id for entry in known}
    if not known_ids.issuperset(recorded):  # ids a baseline replaces are this app's too (app-db squash)
        from .plan import read_replaces

        known_ids |= {original for entry in known for original in read_replaces(entry)}
    refuse_foreign_source(source, recorded, known_ids)
    unknown = sorted(set(recorded) - known_ids)
    if unknown:  # a newer version's: its records say whether this app can live with them (backward_compatible)
        from .newer import read_backup_records

        Plan(known=list(known), applied=read_backup_records(source), unknown_applied=unknown).raise_if_too_new(source)


def refuse_foreign_source(source: Path, recorded: Sequence[str], known_ids: Collection[str]) -> None:
    """ConfigurationError for a readable SQLite file that is still not a copy of this app's database.

    Restoring it would replace the user's data with nothing (an empty file,
    as a power cut can leave a copy) or with another app's tables, which the
    next launch would then migrate beside them.
    """
    connection = connect_read_only(source)
    try:
        tables = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
    finally:
        connection.close()
    if not tables:
        raise ConfigurationError(
            f"Cannot restore from {source}: it holds no table at all (an empty file or database), so it is not a "
            "backup of this app's data. Nothing was changed; pick another backup."
        )
    if known_ids and not set(recorded) & set(known_ids):
        why = (
            "it records none of this app's migrations (it has no app_db_migrations table)"
            if not recorded
            else f"none of the {len(recorded)} migration(s) it records belongs to this app"
        )
        raise ConfigurationError(
            f"Cannot restore from {source}: {why}, so it is another app's file (or a copy from before this app used "
            "app_db). Nothing was changed; pick a backup of this app's database."
        )


def restore_database(
    path: Path, source: Path, *, lock_timeout: float, before_replacing: Callable[[], None]
) -> Path | None:
    """Replace ``path``'s content with ``source``'s; return the copy of what it held (None: it held nothing).

    ``source`` is only read, never pruned or deleted. ``before_replacing`` is
    called before the file itself is renamed (close this process's
    connection to it). Raises DatabaseLockedError when another process holds
    the write lock for longer than ``lock_timeout`` seconds, with the file
    unchanged.
    """
    staged = path.with_name(path.name + ".restore.partial")
    try:
        remove_staged(staged)  # a restore killed while staging left it
        empty = not path.exists() or path.stat().st_size == 0
        if empty:
            # SQLite deletes the -wal of an empty file on open; keep it aside instead.
            damage = "the file is empty but has a -wal" if os.path.exists(f"{path}-wal") else None
        else:
            damage = judge_damage(path)
    except (sqlite3.Error, OSError) as exc:
        raise explain_restore_error(exc, path, source) from exc
    try:
        if empty or damage is not None:
            return replace_with_copy(path, source, staged, damage, before_replacing)
        safety = backup_database(path, label="before-restore", protect=[source])
        write_pages(path, source, staged, lock_timeout, safety)
        return safety
    except (sqlite3.Error, OSError) as exc:
        raise explain_restore_error(exc, path, source) from exc
    finally:
        try:
            remove_staged(staged)
        except OSError as exc:  # the error above (or the restore done) matters more
            logger.warning("Could not delete %s: %s", staged, exc)


def write_pages(path: Path, source: Path, staged: Path, lock_timeout: float, safety: Path) -> None:
    """Copy ``source``'s pages into the live file in one durable write transaction (the backup API)."""
    deadline = time.monotonic() + lock_timeout
    target = connect_writable(path, timeout=lock_timeout)  # reading the header waits for a rollback-journal writer
    try:
        target.execute("PRAGMA synchronous = FULL")  # the commit is on the disk when the backup returns
        page_size = target.execute("PRAGMA page_size").fetchone()[0]
        pages_from = source
        if target.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and read_page_size(source) != page_size:
            pages_from = stage_copy(source, staged, page_size)
        # The backup API retries a busy lock itself, for ever: short waits, and the deadline below.
        target.execute(f"PRAGMA busy_timeout = {int(BUSY_RETRY_SECONDS * 1000)}")

        def give_up_when_locked(status: int, remaining: int, total: int) -> None:
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and time.monotonic() > deadline:
                raise DatabaseLockedError(
                    f"Could not restore {path} from {source}: another process (or another connection of this app) held "
                    f"the database's write lock "
                    f"for more than {lock_timeout:g} s. Nothing was changed (a copy of what it holds is at "
                    f"{safety}). Close the other copies of the app (or whatever holds the file) and try again.",
                    path=path,
                )

        reader = connect_read_only(pages_from)
        try:
            reader.backup(target, progress=give_up_when_locked, sleep=BUSY_RETRY_SECONDS)
        finally:
            reader.close()
    finally:
        target.close()


def read_page_size(path: Path) -> int:
    connection = connect_read_only(path)
    try:
        return int(connection.execute("PRAGMA page_size").fetchone()[0])
    finally:
        connection.close()


def stage_copy(source: Path, staged: Path, page_size: int | None = None) -> Path:
    """Copy ``source`` to ``staged`` (a rollback-journal file, synced), with ``page_size`` if given; return it."""
    copy_database(source, staged, None)
    if page_size is not None:
        connection = connect_writable(staged)
        try:
            connection.execute(f"PRAGMA page_size = {int(page_size)}")
            connection.execute("VACUUM")  # rewrites every page at the new size, in a file no one else uses
        finally:
            connection.close()
    sync_file(staged)
    return staged


def replace_with_copy(
    path: Path, source: Path, staged: Path, damage: str | None, before_replacing: Callable[[], None]
) -> Path | None:
    """Rename a synced copy of ``source`` over ``path``, keeping a damaged file under a second name first."""
    stage_copy(source, staged)
    before_replacing()
    if damage is None:  # nothing worth keeping: stale companions of an empty file simply go, durably
        for suffix in COMPANIONS:
            remove_file(f"{path}{suffix}", durable=True)
        replace_file(staged, path)
        return None
    aside = aside_name(path)
    if path.exists():
        second_name(path, aside)  # the main file keeps its name until the restored copy takes it
    # The old -wal would be replayed into the restored file: it moves aside
    # first, durably. A crash from here to the rename leaves the old main
    # file without its -wal (kept aside); a failure moves it back.
    try:
        moved = move_files(path, [(Path(f"{path}{suffix}"), Path(f"{aside}{suffix}")) for suffix in COMPANIONS])
        try:
            replace_file(staged, path)
        except BaseException:
            move_back(path, moved)
            raise
    except BaseException as exc:
        if not isinstance(exc, AppDbError):  # moved back: drop the second name, the file itself is still at path
            try:
                remove_file(aside)
            except OSError as cleanup:  # the failure above is the one to report
                logger.warning("Could not delete %s: %s", aside, cleanup)
        raise
    logger.warning("Moved the damaged database %s aside to %s before restoring (%s)", path, aside, damage)
    prune_damaged(path, protect=[source])
    return aside


def move_damaged_aside(path: Path) -> Path:
    """Rename a database SQLite cannot use to ``<name>.damaged-<time>`` so the next launch starts empty; returns it.

    Close every connection to it first: Windows refuses to rename an open
    file. Its -wal, -journal and -shm move first and the main file last, so
    the original name never keeps a -wal that SQLite would replay into the
    next database; a failure midway moves back what had moved and raises
    DatabaseNotWritableError with every file under its old name. The new
    name is unique, even for two moves in the same microsecond.
    """
    path = Path(path)
    aside = aside_name(path)
    pairs = [(Path(f"{path}{suffix}"), Path(f"{aside}{suffix}")) for suffix in (*COMPANIONS, "")]
    try:
        move_files(path, pairs)
    except OSError as exc:
        raise DatabaseNotWritableError(
            f"Could not move {path} aside to {aside}: {exc.strerror or exc} ({exc.filename or path}). "
            f"Nothing was moved: {path} and its -wal and -shm are where they were. Close every program that "
            "uses the file (the app included) and try again.",
            path=path,
        ) from exc
    logger.warning("Moved the damaged database %s aside to %s", path, aside)
    return aside


def aside_name(path: Path) -> Path:
    """``<name>.damaged-<time>`` beside ``path``, with ``-2``, ``-3``... when a file (or -wal) of that name exists."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime(STAMP_FORMAT)  # noqa: UP017 (tests stub timezone)
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while any(os.path.lexists(f"{aside}{suffix}") for suffix in (*COMPANIONS, "")):
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    return aside


def move_files(path: Path, pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Rename each existing ``(original, new)`` in order; on a failure rename back what moved, then raise it."""
    moved: list[tuple[Path, Path]] = []
    try:
        for original, new in pairs:
            if os.path.lexists(original):
                replace_file(original, new)
                moved.append((original, new))
    except BaseException:
        move_back(path, moved)
        raise
    return moved


def move_back(path: Path, moved: list[tuple[Path, Path]]) -> None:
    """Undo ``move_files``, newest first; if even that fails, say where each file of ``path`` is now."""
    for original, new in reversed(moved):
        try:
            replace_file(new, original)
        except OSError as exc:
            raise DatabaseNotWritableError(
                f"Could not move {new} back to {original} after a failed move of {path}: {exc.strerror or exc}. "
                f"{path}'s files are now: "
                + ", ".join(f"{old.name} at {now}" for old, now in moved)
                + f". Rename them back by hand while the app is closed (the -wal belongs beside {path}).",
                path=path,
            ) from exc


def second_name(original: Path, extra: Path) -> None:
    try:
        link_file(original, extra)
    except OSError:
        # No hard links here (FAT, some network shares): copy instead. This
        # process's connection is closed, and the file is not one SQLite reads.
        import shutil

        shutil.copyfile(original, extra)
        sync_file(extra)


def remove_staged(staged: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        remove_file(f"{staged}{suffix}")


def explain_restore_error(exc: BaseException, path: Path, source: Path) -> AppDbError:
    """The error for a restore that failed; it never suggests the restore that just failed as the fix."""
    if isinstance(exc, OSError):
        where = exc.filename or path.parent
        if exc.errno in (errno.ENOSPC, errno.EFBIG):
            return DiskFullError(
                f"Could not restore {path} from {source}: the disk is full (or a file-size limit was reached) "
                f"writing {where}. {path} was not replaced. Free some space on that disk and try again.",
                path=path,
            )
        return DatabaseNotWritableError(
            f"Could not restore {path} from {source}: {exc.strerror or exc} ({where}). {path} was not replaced. "
            f"Check that {path.parent} is writable (and that no other program holds the file), then try again.",
            path=path,
        )
    problem = explain_sqlite_error(exc, path, f"restore from {source} into")
    if isinstance(problem, DatabaseCorruptError):
        return DatabaseCorruptError(
            f"Could not restore {path} from {source}: SQLite reported {exc}. {path} was not changed. "
            f"Move {path} (with any -wal and -shm beside it) to another folder and start the app again, "
            "or copy the backup over it by hand while the app is closed.",
            path=path,
        )
    return problem
