"""Every error app_db raises.

Each message names the file, migration or path involved, says what state was
left behind (almost always: nothing was changed) and what to do next.

    AppDbError
    ├── ConfigurationError         Database(...) or the CLI was given something unusable
    ├── MigrationDefinitionError   a migration file is wrong; raised before any write
    │   └── IrreversibleMigrationError   a rollback needs a down() that is missing
    ├── DatabaseCorruptError       the file is not a SQLite database; it was not touched
    │   └── TrackingTableError     app_db_migrations is damaged (.row, .column); nothing was changed
    ├── SchemaTooNewError          a newer app version migrated this file; nothing was changed
    ├── MigrationError             a migration raised; the batch was rolled back (.migration, __cause__)
    ├── CallbackError              the app's keep_alive or on_progress raised; the batch was rolled back (__cause__)
    ├── SchemaOperationError       a Schema operation that cannot run or would change nothing (inside up())
    ├── SchemaDriftError           models and schema disagree (development)
    ├── DatabaseLockedError        another process kept the write lock too long
    ├── DatabaseNotWritableError   the folder or the file cannot be written
    ├── DiskFullError              a write failed for lack of space (or a file-size limit)
    └── BackupError                the safety backup before migrating could not be made
"""

from __future__ import annotations

# typing and pathlib cost a launch milliseconds; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from pathlib import Path

    from .migration import Migration

__all__ = [
    "AppDbError",
    "BackupError",
    "CallbackError",
    "ConfigurationError",
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseNotWritableError",
    "DiskFullError",
    "IrreversibleMigrationError",
    "MigrationDefinitionError",
    "MigrationError",
    "SchemaDriftError",
    "SchemaOperationError",
    "SchemaTooNewError",
    "TrackingTableError",
]


class AppDbError(Exception):
    """Base of every app_db error; ``path`` is the database file when one is involved."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        if path is not None:
            from pathlib import Path  # only when an error is raised

            path = Path(path)
        self.path: Path | None = path


class ConfigurationError(AppDbError, ValueError):
    """An argument to Database(...) or to the CLI cannot be used."""


class MigrationDefinitionError(AppDbError):
    """A migration file is malformed: bad id, duplicate, no class or two, no up().

    Raised while planning, before anything is written. ``file`` names the file.
    """

    def __init__(self, message: str, *, file: str | None = None, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message, path=path)
        self.file = file


class IrreversibleMigrationError(MigrationDefinitionError):
    """A rollback would need the down() of a migration that has none."""


class DatabaseCorruptError(AppDbError):
    """The file is not a SQLite database (or is damaged); it was left untouched."""


class TrackingTableError(DatabaseCorruptError):
    """The tracking table app_db_migrations is damaged (a row app_db did not write, a missing column).

    ``row`` is the rowid of the row at fault (None when the table itself
    is), ``column`` the column. Raised before anything is written.
    """

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.row = row
        self.column = column


class SchemaTooNewError(AppDbError):
    """The file records migrations this app does not know: a newer version migrated it.

    ``updated_by`` says which version and when ("AppDbNotes 1.5.0 on 2026-11-02"), as the file records it.
    """

    def __init__(
        self,
        message: str,
        *,
        unknown_ids: Sequence[str],
        path: str | os.PathLike[str] | None = None,
        updated_by: str | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.unknown_ids = list(unknown_ids)
        self.updated_by = updated_by


class MigrationError(AppDbError):
    """A migration raised; the whole batch was rolled back.

    ``migration`` is the Migration that failed, ``backup`` the backup taken
    before the batch (or None), and ``__cause__`` the original exception.
    """

    def __init__(
        self,
        message: str,
        *,
        migration: Migration,
        backup: Path | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.migration = migration
        self.backup = backup


class CallbackError(AppDbError):
    """The app's own ``keep_alive`` or ``on_progress`` raised during a batch, which was rolled back.

    ``__cause__`` is the app's exception (a Tk ``TclError`` once the user
    closed the splash, say); ``callback`` names the parameter.
    """

    def __init__(self, message: str, *, callback: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message, path=path)
        self.callback = callback


class SchemaOperationError(AppDbError, ValueError):
    """A Schema operation cannot do what it was asked, or would change nothing.

    Raised inside up()/down(), so the runner rolls the batch back and raises
    MigrationError with this as its ``__cause__``.
    """


class SchemaDriftError(AppDbError):
    """A model has a column that its table lacks: a migration was forgotten."""

    def __init__(
        self, message: str, *, missing: Sequence[tuple[str, str]], path: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.missing = list(missing)


class DatabaseLockedError(AppDbError):
    """Another process held the database's write lock for longer than we wait."""


class DatabaseNotWritableError(AppDbError):
    """The data folder or the database file cannot be created or written."""


class DiskFullError(AppDbError):
    """A write failed because the disk (or the process's file-size limit) is full."""


class BackupError(AppDbError):
    """The backup taken before migrating failed; nothing was migrated."""
