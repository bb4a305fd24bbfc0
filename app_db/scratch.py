"""Scratch databases: a copy of the app's Database on a file that is not the user's.

Every tool that needs the schema the migrations build (``app-db schema``,
makemigration, the drift check, the pytest helpers) runs them here, in the
test environment, so the user's file is never opened. A scratch database
is made in one function, ``scratch_database``: what every copy needs (no
splash screen, and whatever the app's connection setup is) goes there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .database import Database

__all__ = ["latest_id", "migrated_scratch", "scratch_database"]


def scratch_database(database: Database, path: Any = ":memory:") -> Database:
    """A copy of ``database`` on a scratch file (in memory by default), in the test environment.

    The caller closes it.
    """
    scratch = database.configured(path=path, env="test", read_only=False)
    scratch.on_progress = None  # the app's splash screen has no business here
    return scratch


def migrated_scratch(database: Database, to: str | None = None, path: Any = ":memory:") -> Database:
    """A scratch copy of ``database`` (see scratch_database) migrated through ``to`` (default: all).

    Closed again if a migration fails.
    """
    scratch = scratch_database(database, path)
    try:
        scratch.migrate(to=to)
    except BaseException:
        scratch.close()
        raise
    return scratch


def latest_id(database: Database) -> str | None:
    """The newest applied migration's id (None: none applied), as the plan says."""
    return database.plan().current
