"""app_db: the per-user SQLite database of a Python desktop app, migrated at every launch.

from app_db import Database
database = Database("NotesApp", migrations="notes.migrations")
database.register_models([Note])
"""

from .database import Database
from .errors import (
    AppDbError,
    BackupError,
    CallbackError,
    ConfigurationError,
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseNotWritableError,
    DiskFullError,
    IrreversibleMigrationError,
    MigrationDefinitionError,
    MigrationError,
    SchemaDriftError,
    SchemaOperationError,
    SchemaTooNewError,
    TrackingTableError,
)
from .migration import Migration, Schema
from .reports import LaunchReport, MigrationStatus, RestoredBackup, StepPreview

__version__ = "0.1.0"

__all__ = [
    "AppDbError",
    "BackupError",
    "CallbackError",
    "ConfigurationError",
    "Database",
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseNotWritableError",
    "DiskFullError",
    "IrreversibleMigrationError",
    "LaunchReport",
    "Migration",
    "MigrationDefinitionError",
    "MigrationError",
    "MigrationStatus",
    "RestoredBackup",
    "Schema",
    "SchemaDriftError",
    "SchemaOperationError",
    "SchemaTooNewError",
    "StepPreview",
    "TrackingTableError",
    "__version__",
]
