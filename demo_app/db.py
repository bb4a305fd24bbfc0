"""The demo's database, declared once: the app, its tests and the ``app-db`` CLI share it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from app_db import Database, Migration

APP_NAME = "AppDbNotes"
MIGRATIONS = "demo_app.migrations"  # the repository's migrations/ folder, mapped in pyproject.toml

ProgressCallback = Callable[[int, int, Migration], None]


def notes_database(path: Optional[Path] = None, on_progress: Optional[ProgressCallback] = None) -> Database:
    """The notes Database; ``path=None`` is the per-user file, ``on_progress`` drives a splash."""
    from .models import MODELS  # named here so `app-db check` can compare them with the migrations

    return Database(APP_NAME, migrations=MIGRATIONS, path=path, on_progress=on_progress, models=MODELS)


database = notes_database()
