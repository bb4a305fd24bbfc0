"""The tracking table ``app_db_migrations``: which migrations this file has had.

A row is written in the same transaction as its migration, so a crash can
never leave a migration applied but unrecorded (or the reverse).
"""

from __future__ import annotations

import datetime

TYPE_CHECKING = False  # typing costs a launch milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence

    import peewee

    from .discovery import KnownMigration

__all__ = [
    "TABLE",
    "AppliedMigration",
    "delete_record",
    "ensure_table",
    "is_up_to_date",
    "read_applied",
    "read_recorded_files",
    "record_applied",
    "table_names",
    "upgrade_table",
]

TABLE = "app_db_migrations"
COLUMNS = ("id", "name", "file", "checksum", "applied_at", "duration")
# Added by app_db 0.2 (who wrote each row): nullable, so the previous release's INSERT still works and
# reads NULL as "not known". A file gains them the first time a newer app_db writes to it (upgrade_table).
ADDED_COLUMNS = (
    ("app_name", "TEXT"),
    ("app_version", "TEXT"),
    ("backward_compatible", "INTEGER"),  # 1: apps that do not know this migration may still use the file
)
CREATE_TABLE = (
    f"CREATE TABLE {TABLE} ("
    "id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, file TEXT, checksum TEXT, "
    "applied_at TEXT NOT NULL, duration REAL NOT NULL"
    + "".join(f", {column} {kind}" for column, kind in ADDED_COLUMNS)
    + ")"
)


class AppliedMigration:
    """One row of the tracking table.

    ``app_name`` and ``app_version`` name the app that wrote it and
    ``backward_compatible`` what its migration declared; all three are None
    for rows written before app_db recorded them.
    """

    __slots__ = (
        "_applied_at",
        "app_name",
        "app_version",
        "backward_compatible",
        "checksum",
        "duration",
        "file",
        "id",
        "name",
    )

    def __init__(
        self,
        id: str,
        name: str,
        file: str | None,
        checksum: str | None,
        applied_at: str,
        duration: float,
        app_name: str | None = None,
        app_version: str | None = None,
        backward_compatible: bool | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.file = file
        self.checksum = checksum
        self._applied_at = applied_at
        self.duration = duration
        self.app_name = app_name
        self.app_version = app_version
        self.backward_compatible = backward_compatible

    def __repr__(self) -> str:
        return f"<AppliedMigration {self.id} at {self._applied_at}>"

    @property
    def applied_at(self) -> datetime.datetime:
        return datetime.datetime.fromisoformat(self._applied_at)


def read_applied(db: peewee.SqliteDatabase) -> dict[str, AppliedMigration]:
    """Every recorded migration by id; empty when the table does not exist yet. Only reads.

    A damaged table (a missing column, a NOT NULL column app_db does not
    fill, a row whose id or applied_at is not what app_db wrote, an id
    recorded twice) raises TrackingTableError naming the file and the row,
    before anything is written.
    """
    cursor = db.execute_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,))
    if cursor.fetchone() is None:
        return {}
    names = check_columns(db)
    # A table the previous release made has no ADDED_COLUMNS yet: they read as NULL.
    selected = ", ".join([*COLUMNS, *(column if column in names else "NULL" for column, _ in ADDED_COLUMNS)])
    try:
        rows = db.execute_sql(f"SELECT rowid, {selected} FROM {TABLE} ORDER BY rowid").fetchall()
    except Exception as exc:  # a WITHOUT ROWID table made by hand has no rowid
        if "rowid" not in str(exc):
            raise
        rows = db.execute_sql(f"SELECT NULL, {selected} FROM {TABLE}").fetchall()
    applied: dict[str, AppliedMigration] = {}
    for position, (rowid, migration_id, name, file, checksum, applied_at, duration, *added) in enumerate(rows, start=1):
        row = f"row {rowid}" if rowid is not None else f"row {position}"
        if not isinstance(migration_id, str) or not migration_id:
            raise damaged(db, f"{row} has id {migration_id!r}, not a migration id", rowid, "id")
        row = f"{row} (id {migration_id!r})"
        if migration_id in applied:
            raise damaged(
                db,
                f"{row} records a migration that an earlier row already records (delete one of the two)",
                rowid,
                "id",
            )
        if not is_timestamp(applied_at):
            raise damaged(
                db,
                f"{row} has applied_at {applied_at!r}, not a date and time like '2024-06-01T09:00:00.000000+00:00'",
                rowid,
                "applied_at",
            )
        if duration is not None and not isinstance(duration, (int, float)):
            raise damaged(db, f"{row} has duration {duration!r}, not a number of seconds", rowid, "duration")
        app_name, app_version, compatible = added
        applied[migration_id] = AppliedMigration(
            migration_id,
            as_text(name) or "",
            as_text(file),
            as_text(checksum),
            applied_at,
            duration or 0.0,
            as_text(app_name),
            as_text(app_version),
            None if compatible is None else compatible == 1,
        )
    return applied


def read_recorded_files(db: peewee.SqliteDatabase) -> list[tuple[str, str | None]]:
    """(id, file name) of every recorded migration; the table must exist. Only reads."""
    try:
        rows: list[tuple[str, str | None]] = db.execute_sql(f"SELECT id, file FROM {TABLE}").fetchall()
        return rows
    except Exception:
        check_columns(db)  # a missing column is named; anything else is SQLite's to explain
        raise


def check_columns(db: peewee.SqliteDatabase) -> set[str]:
    """The table's column names (lower case); TrackingTableError unless it has app_db's columns and no other
    column a new record would fail on."""
    info = db.execute_sql(f"PRAGMA table_info({TABLE})").fetchall()
    names = {row[1].lower() for row in info}
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise damaged(db, f"it has no column {', '.join(missing)} (it needs {', '.join(COLUMNS)})", None, missing[0])
    # (cid, name, type, notnull, default, pk): a NOT NULL column with no default that app_db does not fill
    filled = {*COLUMNS, *(column for column, _ in ADDED_COLUMNS)}
    blocking = [row[1] for row in info if row[1].lower() not in filled and row[3] and row[4] is None and not row[5]]
    if blocking:
        raise damaged(
            db,
            f"its column {blocking[0]} is NOT NULL without a default, so no migration could be recorded",
            None,
            blocking[0],
        )
    return names


def is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def as_text(value: object) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def damaged(db: peewee.SqliteDatabase, problem: str, rowid: int | None, column: str) -> Exception:
    """The TrackingTableError for ``problem``, naming the file and saying what to do."""
    import os

    from .errors import TrackingTableError

    listed = db.execute_sql("PRAGMA database_list").fetchall()
    path = next((row[2] for row in listed if row[1] == "main" and row[2]), None)
    where = path or "the in-memory database"
    backups = os.path.join(os.path.dirname(path), "backups") if path else None
    restore = (
        f" or restore a backup from {backups} (`app-db restore FILE`)" if backups and os.path.isdir(backups) else ""
    )
    fix = (
        f"Fix that row with the sqlite3 shell (e.g. UPDATE {TABLE} SET {column} = ... WHERE rowid = {rowid})"
        if rowid is not None
        else f"Fix the table with the sqlite3 shell (it is created as: {CREATE_TABLE})"
    )
    return TrackingTableError(
        f"The table {TABLE} in {where}, where app_db records which migrations ran, is damaged: {problem}. "
        f"Nothing was changed. {fix}{restore}, then start again.",
        row=rowid,
        column=column,
        path=path,
    )


def table_names(db: peewee.SqliteDatabase) -> set[str]:
    """The names of the file's tables."""
    return {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}


def ensure_table(db: peewee.SqliteDatabase) -> None:
    """Create the table, or bring one an older app_db made up to date (upgrade_table); call it under the write lock."""
    db.execute_sql(CREATE_TABLE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    upgrade_table(db)


def upgrade_table(db: peewee.SqliteDatabase) -> list[str]:
    """Add the ADDED_COLUMNS a table made by an older app_db lacks; return them.

    Only ever inside the migration's write transaction, so the upgrade
    commits with the first rows that need it or not at all; a read, a
    read-only look and the no-op launch never upgrade. Nullable columns
    added at the end: the previous release reads and writes such a table
    as its own (it names its columns and leaves these NULL).
    """
    names = {row[1].lower() for row in db.execute_sql(f"PRAGMA table_info({TABLE})").fetchall()}
    added = [column for column, _ in ADDED_COLUMNS if column not in names]
    for column in added:
        db.execute_sql(f"ALTER TABLE {TABLE} ADD COLUMN {column} {dict(ADDED_COLUMNS)[column]}")
    return added


def record_applied(
    db: peewee.SqliteDatabase,
    migration: KnownMigration,
    duration: float,
    app_name: str | None = None,
    app_version: str | None = None,
) -> None:
    """Record ``migration`` as applied by ``app_name`` ``app_version``; the table must be ensure_table()'d.

    ``backward_compatible`` is what the loaded Migration declares (NULL when
    it was never loaded, as for stamp: not known, so not compatible).
    """
    instance = migration.instance
    compatible = None if instance is None else int(bool(getattr(instance, "backward_compatible", False)))
    db.execute_sql(
        f"INSERT INTO {TABLE} (id, name, file, checksum, applied_at, duration, app_name, app_version, "
        "backward_compatible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            migration.id,
            migration.name or "",
            migration.file,
            migration.checksum(),
            datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds"),
            round(duration, 6),
            app_name,
            app_version,
            compatible,
        ),
    )


def delete_record(db: peewee.SqliteDatabase, migration_id: str) -> None:
    db.execute_sql(f"DELETE FROM {TABLE} WHERE id = ?", (migration_id,))


def is_up_to_date(file_names: Sequence[str], recorded: Sequence[tuple[str, str | None]]) -> bool:
    """Nothing pending and nothing unknown, judged from names alone: every file recorded, every record's file present.

    ``recorded`` holds (id, file name) rows of this table (read_recorded_files).
    """
    return len(recorded) == len(file_names) and {file for _, file in recorded} == set(file_names)
