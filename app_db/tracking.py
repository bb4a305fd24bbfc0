"""The tracking table ``app_db_migrations``: which migrations this file has had.

A row is written in the same transaction as its migration, so a crash can
never leave a migration applied but unrecorded (or the reverse).
"""

from __future__ import annotations

import datetime

TYPE_CHECKING = False  # typing costs a launch milliseconds
if TYPE_CHECKING:
    from typing import Dict, Optional

    import peewee

    from .discovery import KnownMigration

__all__ = [
    "TABLE",
    "AppliedMigration",
    "delete_record",
    "ensure_table",
    "read_applied",
    "read_recorded_files",
    "record_applied",
    "table_names",
]

TABLE = "app_db_migrations"


class AppliedMigration:
    """One row of the tracking table."""

    __slots__ = ("_applied_at", "checksum", "duration", "file", "id", "name")

    def __init__(self, id: str, name: str, file: Optional[str], checksum: Optional[str], applied_at: str, duration: float) -> None:
        self.id = id
        self.name = name
        self.file = file
        self.checksum = checksum
        self._applied_at = applied_at
        self.duration = duration

    def __repr__(self) -> str:
        return f"<AppliedMigration {self.id} at {self._applied_at}>"

    @property
    def applied_at(self) -> datetime.datetime:
        return datetime.datetime.fromisoformat(self._applied_at)


def read_applied(db: "peewee.SqliteDatabase") -> Dict[str, AppliedMigration]:
    """Every recorded migration by id; empty when the table does not exist yet. Only reads."""
    cursor = db.execute_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    )
    if cursor.fetchone() is None:
        return {}
    rows = db.execute_sql(f"SELECT id, name, file, checksum, applied_at, duration FROM {TABLE}").fetchall()
    return {
        row[0]: AppliedMigration(row[0], row[1] or "", row[2], row[3], row[4], row[5] or 0.0)
        for row in rows
    }


def read_recorded_files(db: "peewee.SqliteDatabase") -> "list[tuple[str, Optional[str]]]":
    """(id, file name) of every recorded migration; the table must exist. Only reads."""
    rows: "list[tuple[str, Optional[str]]]" = db.execute_sql(f"SELECT id, file FROM {TABLE}").fetchall()
    return rows


def table_names(db: "peewee.SqliteDatabase") -> "set[str]":
    """The names of the file's tables."""
    return {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}


def ensure_table(db: "peewee.SqliteDatabase") -> None:
    db.execute_sql(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        "id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, file TEXT, checksum TEXT, "
        "applied_at TEXT NOT NULL, duration REAL NOT NULL)"
    )


def record_applied(db: "peewee.SqliteDatabase", migration: "KnownMigration", duration: float) -> None:
    db.execute_sql(
        f"INSERT INTO {TABLE} (id, name, file, checksum, applied_at, duration) VALUES (?, ?, ?, ?, ?, ?)",
        (
            migration.id,
            migration.name or "",
            migration.file,
            migration.checksum(),
            datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds"),
            round(duration, 6),
        ),
    )


def delete_record(db: "peewee.SqliteDatabase", migration_id: str) -> None:
    db.execute_sql(f"DELETE FROM {TABLE} WHERE id = ?", (migration_id,))

