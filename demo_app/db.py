"""The demo's database, declared once: the app, its tests and the ``app-db`` CLI share it."""

from __future__ import annotations

from app_db import Database

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at every start
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from app_db import Migration

    ProgressCallback = Callable[[int, int, Migration], None]

APP_NAME = "AppDbNotes"
APP_VERSION = "1.0"  # recorded with each migration this version applies: an older one names it
MIGRATIONS = "demo_app.migrations"  # the repository's migrations/ folder, mapped in demo_app/__init__.py


def notes_database(
    path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    keep_alive: Callable[[], None] | None = None,
    on_row_progress: Callable[[Migration, int, int], None] | None = None,
    on_newer: str = "refuse",
) -> Database:
    """The notes Database; ``path=None`` is the per-user file.

    A launch makes its own, with the callbacks that drive its splash
    (``on_progress`` before each step, ``keep_alive`` within a long one,
    ``on_row_progress`` as a data migration works through its rows),
    through Database's documented parameters; ``database`` below is the
    callback-free one the ``app-db`` CLI uses.
    """
    from .models import MODELS  # named here so `app-db check` can compare them with the migrations

    return Database(
        APP_NAME, migrations=MIGRATIONS, path=path, on_progress=on_progress, keep_alive=keep_alive, models=MODELS,
        on_row_progress=on_row_progress, app_version=APP_VERSION, on_newer=on_newer,
    )


database = notes_database()
