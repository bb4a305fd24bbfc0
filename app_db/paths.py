"""Locate: which file a launch opens, and in which environment.

Nothing here depends on the current directory: a desktop app is started from
anywhere, so a relative path is refused rather than silently resolved. Paths
stay strings on the launch path: importing pathlib costs milliseconds.
"""

from __future__ import annotations

import os

from .errors import ConfigurationError, DatabaseNotWritableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

__all__ = ["ENVIRONMENTS", "MEMORY", "ensure_folder", "locate_database", "resolve_environment"]

ENVIRONMENTS = ("production", "development", "test")
MEMORY = ":memory:"


def resolve_environment(env: Optional[str]) -> str:
    """The environment to run in: ``env`` if given, else $APP_ENV, else production."""
    chosen = env if env is not None else (os.environ.get("APP_ENV") or "production")
    chosen = chosen.strip().lower()
    if chosen not in ENVIRONMENTS:
        raise ConfigurationError(
            f"Unknown environment {chosen!r} (from {'env=' if env is not None else '$APP_ENV'}); "
            f"use one of: {', '.join(ENVIRONMENTS)}."
        )
    return chosen


def locate_database(
    app_name: str,
    *,
    app_author: Optional[str],
    filename: str,
    path: Union[str, os.PathLike, None],
    env: str,
) -> Optional[str]:
    """The database file for this launch, or None for an in-memory database.

    An explicit ``path`` wins, then $APP_DB_PATH; both are used as given in
    every environment. Otherwise the test environment runs in memory and the
    others use the per-user data folder, development in a file of its own so
    that a developer's runs never touch their real data.
    """
    given = os.fspath(path) if path is not None else os.environ.get("APP_DB_PATH") or None
    if given is not None:
        if given == MEMORY:
            return None
        explicit = os.path.expanduser(given)
        if not os.path.isabs(explicit):
            raise ConfigurationError(
                f"Database path {given!r} is relative, so it would depend on the folder the app "
                "was started from; pass an absolute path (e.g. Path(__file__).parent / 'app.sqlite3')."
            )
        return os.path.normpath(explicit)
    if env == "test":
        return None
    if not filename or os.sep in filename or (os.altsep and os.altsep in filename):
        raise ConfigurationError(f"filename={filename!r} must be a plain file name such as 'app.sqlite3'.")
    if env == "development":
        stem, dot, suffix = filename.partition(".")
        filename = f"{stem}-dev{dot}{suffix}"
    # Imported here: platformdirs costs milliseconds that a launch with an
    # explicit path should not pay.
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir(app_name, app_author or False), filename)


def ensure_folder(database_path: str) -> None:
    """Create the folder that holds the database, or say why it cannot be."""
    folder = os.path.dirname(database_path)
    if os.path.isdir(folder):
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise DatabaseNotWritableError(
            f"Cannot create the data folder {folder} for {os.path.basename(database_path)}: {exc.strerror or exc}. "
            "Check that the path is a folder you can write to, or pass another path.",
            path=database_path,
        ) from exc
