"""Foreign keys across a batch: the violations a batch adds, told apart from the ones the file already had."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .connection import connect_read_only

if TYPE_CHECKING:
    import peewee

__all__ = ["TableOrigins", "added_violations", "fk_violations", "read_table_roots"]


def fk_violations(db_or_connection: peewee.SqliteDatabase | sqlite3.Connection) -> list[tuple[str, int | None, str]]:
    """Every foreign-key violation as (child table, child rowid, parent table); rowid None in WITHOUT ROWID tables."""
    execute = getattr(db_or_connection, "execute_sql", None) or db_or_connection.execute
    return [(row[0], row[1], row[2]) for row in execute("PRAGMA foreign_key_check").fetchall()]


def committed_fk_violations(path: Path, progress: Callable[[], int] | None = None) -> list[tuple[str, int | None, str]]:
    """Violations in the committed file, read through a second connection.

    In WAL mode that connection sees the file as it was before this
    transaction, so the costly "before" list is made only when needed.
    ``progress`` is its SQLite progress handler (the launch's keep_alive).
    """
    connection = connect_read_only(path)
    if progress is not None:
        connection.set_progress_handler(progress, 10_000)
    try:
        return fk_violations(connection)
    finally:
        connection.close()


def read_table_roots(db: peewee.SqliteDatabase) -> dict[str, int]:
    """Each table's name (lower case: SQLite names are case-insensitive) and root page."""
    rows = db.execute_sql("SELECT name, rootpage FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name.lower(): rootpage for name, rootpage in rows}


class TableOrigins:
    """Which table of the file before the batch each table is now, so a renamed table keeps its old orphans.

    A rename keeps the table's root page; a rebuild (copy, drop, rename
    into place) keeps its name. ``follow`` is called after each step that
    ran ALTER TABLE, so a rename in one migration and a rebuild in the next
    are both followed. A step that renames a table and also rebuilds it
    keeps neither; when exactly one table vanished in that step and exactly
    one appeared, the new one is taken to be the old one.
    """

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.origin = {name: name for name in roots}

    def follow(self, roots: dict[str, int]) -> None:
        by_root = {root: name for name, root in self.roots.items()}
        origin: dict[str, str] = {}
        for name, root in roots.items():
            before = by_root.get(root)
            if name in self.origin and self.roots[name] == root:
                origin[name] = self.origin[name]  # unchanged
            elif before is not None and before not in roots and before in self.origin:
                origin[name] = self.origin[before]  # renamed
            elif name in self.origin:
                origin[name] = self.origin[name]  # rebuilt under its name
        vanished = [name for name in self.origin if self.origin[name] not in origin.values()]
        appeared = [name for name in roots if name not in origin]
        if len(vanished) == 1 and len(appeared) == 1:
            origin[appeared[0]] = self.origin[vanished[0]]  # renamed and rebuilt in one step
        self.roots, self.origin = roots, origin

    def key(self, table: str, rowid: int | None) -> tuple[str, int | None]:
        """What identifies a violating row across the batch: its table's origin and its rowid."""
        name = table.lower()
        return (self.origin.get(name, "new:" + name), rowid)


def added_violations(
    db: peewee.SqliteDatabase,
    path: Path | None,
    before: list[tuple[str, int | None, str]] | None,
    origins: TableOrigins,
    progress: Callable[[], int] | None = None,
) -> str | None:
    """What the batch broke, when it adds foreign-key violations (None: nothing), so it is not committed.

    Violations the file already had are tolerated (they must not block
    every future upgrade), told apart by row, table and rowid, with tables
    followed through renames and rebuilds. A row of a WITHOUT ROWID table
    has no rowid; those are counted per table.
    """
    after = fk_violations(db)
    if not after:
        return None
    if before is None:
        before = committed_fk_violations(path, progress) if path is not None else []
    tolerated = Counter((table.lower(), rowid) for table, rowid, _ in before)
    added: dict[tuple[str, str], list[int | None]] = {}
    for table, rowid, parent in after:
        key = origins.key(table, rowid)
        if tolerated[key] > 0:
            tolerated[key] -= 1
        else:
            added.setdefault((table, parent), []).append(rowid)
    if not added:
        return None
    details = "; ".join(
        f"{len(rowids)} row(s) of {child} point to missing {parent} rows{describe_rowids(rowids)}"
        for (child, parent), rowids in sorted(added.items())
    )
    return f"the batch would leave broken foreign keys ({details}); delete or fix those rows in the migration"


def describe_rowids(rowids: Sequence[int | None]) -> str:
    known = sorted(rowid for rowid in rowids if rowid is not None)
    if not known:
        return ""
    shown = ", ".join(str(rowid) for rowid in known[:5]) + (", ..." if len(known) > 5 else "")
    return f" (rowid {shown})"
