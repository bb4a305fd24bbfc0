"""Locate: which file a launch opens, and in which environment.

Nothing here depends on the current directory: a desktop app is started from
anywhere, so a relative path is refused rather than silently resolved. Paths
stay strings on the launch path: importing pathlib costs milliseconds.

Windows' rules are checked on every platform, through whatever ``os.path``
is (``ntpath`` on Windows): a name Windows cannot create is refused on Linux
too, so the developer learns it before a user does.
"""

from __future__ import annotations

import os

from .errors import ConfigurationError, DatabaseNotWritableError
from .policy import POLICIES, policy_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ENVIRONMENTS",
    "MEMORY",
    "absolute_path",
    "check_portable_name",
    "ensure_folder",
    "explain_unusable_path",
    "is_absolute",
    "locate_database",
    "resolve_environment",
]

ENVIRONMENTS = tuple(POLICIES)
MEMORY = ":memory:"
# Windows refuses these characters in a file or folder name (and so does
# every file system an app's user may sync the folder to).
WINDOWS_FORBIDDEN = '<>:"/\\|?*'
# Device names: Windows opens the device, not a file, whatever the extension.
WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"]
)


def resolve_environment(env: str | None) -> str:
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
    app_author: str | None,
    filename: str,
    path: str | os.PathLike[str] | None,
    env: str,
) -> str | None:
    """The database file for this launch, or None for an in-memory database.

    An explicit ``path`` wins, then $APP_DB_PATH; both are used as given in
    every environment. Otherwise the test environment runs in memory and the
    others use the per-user data folder, development in a file of its own so
    that a developer's runs never touch their real data. ``filename``,
    ``app_name`` and ``app_author`` are checked in every case, whichever is
    used this time.
    """
    check_portable_name(filename, "filename")
    check_portable_name(app_name, "app_name")
    if app_author:
        check_portable_name(app_author, "app_author")
    given: str | None
    if path is not None:
        given, source = os.fspath(path), "path="
    else:
        given, source = strip_quotes(os.environ.get("APP_DB_PATH") or "") or None, "$APP_DB_PATH"
    if given is not None:
        if given == MEMORY:
            return None
        explicit = os.path.expanduser(given)
        if not is_absolute(explicit):
            raise ConfigurationError(relative_path_message(given, explicit, source))
        return os.path.normpath(explicit)
    kind = policy_for(env).file
    if kind == "memory":
        return None
    if kind == "dev-file":
        stem, dot, suffix = filename.partition(".")
        filename = f"{stem}-dev{dot}{suffix}"
    # Imported here: platformdirs costs milliseconds that a launch with an
    # explicit path should not pay.
    from platformdirs import user_data_dir

    # appauthor=False, not None: None would repeat the app's name as the
    # author folder on Windows (%LOCALAPPDATA%\Notes\Notes).
    return os.path.join(user_data_dir(app_name, app_author or False), filename)


def strip_quotes(value: str) -> str:
    """``value`` without the quotes Windows' ``set NAME="C:\\My Data\\n.db"`` keeps, nor surrounding blanks."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def is_absolute(path: str) -> bool:
    """Whether ``path`` names the same file from any current folder (and, on Windows, any current drive).

    On Windows ``\\data\\n.db`` is rooted but has no drive, so it means a
    different file depending on the drive the app was started from; it
    counts as absolute before Python 3.13, and not for us.
    """
    if not os.path.isabs(path):
        return False
    return os.path.sep == "/" or bool(os.path.splitdrive(path)[0])


def relative_path_message(given: str, expanded: str, source: str) -> str:
    if os.path.isabs(expanded):  # rooted, but no drive: see is_absolute
        return (
            f"Database path {given!r} (from {source}) is relative to the current drive: it has no drive letter, "
            "so on Windows it would mean another file on each drive the app is started from; pass a full path "
            "such as C:\\Data\\app.sqlite3 "
            "(or \\\\server\\share\\app.sqlite3)."
        )
    return (
        f"Database path {given!r} (from {source}) is relative, so it would depend on the folder the app "
        "was started from; leave path= out to use the per-user data folder (the default), or pass an absolute "
        "path, e.g. platformdirs.user_data_path('MyApp') / 'app.sqlite3' (not the install folder, which may be "
        "read-only or replaced by an update)."
    )


def check_portable_name(name: object, what: str) -> None:
    """Raise ConfigurationError unless ``name`` can be a file or folder name on Windows, macOS and Linux."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{what}={name!r} must be a non-empty name such as 'app.sqlite3'.")
    problem = windows_name_problem(name)
    if problem:
        raise ConfigurationError(
            f"{what}={name!r} cannot be used: {problem}, so the app could not create its file there. "
            f"Choose a plain name of letters, digits, dots, dashes or underscores, such as 'app.sqlite3'."
        )


def windows_name_problem(name: str) -> str:
    """Why Windows cannot create a file called ``name``, or '' when it can."""
    if "/" in name or "\\" in name:
        return "it must be a plain name, not a path (it holds a folder separator)"
    for character in name:
        if character in WINDOWS_FORBIDDEN:
            return f"{character!r} is not allowed in a name on Windows (nor any of {WINDOWS_FORBIDDEN})"
        if ord(character) < 32:
            return f"it holds the control character {character!r}, which Windows does not allow in a name"
    if name[-1] in ". ":
        return "Windows drops a trailing dot or space from a name, so the file would be another one"
    device = name.split(".")[0].rstrip(" ").upper()
    if device in WINDOWS_DEVICES:
        return (
            f"{device} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9), with or without an "
            "extension, and opens the device instead of a file"
        )
    return ""


def ensure_folder(database_path: str) -> None:
    """Create the folder that holds the database, or say why it cannot be."""
    folder = os.path.dirname(database_path)
    if os.path.isdir(folder):
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise explain_unusable_path(database_path) or DatabaseNotWritableError(
            f"Cannot create the data folder {folder} for {os.path.basename(database_path)}: {exc.strerror or exc}. "
            "Check that the path is a folder you can write to, or pass another path.",
            path=database_path,
        ) from exc


def explain_unusable_path(database_path: str) -> DatabaseNotWritableError | None:
    """The error for a database path that can never be a file, judged from the disk; None if it could be.

    The operating systems disagree on the error: a path under a regular file
    is NotADirectoryError on POSIX but WinError 3 (path not found) on
    Windows, and opening a folder is IsADirectoryError on POSIX but
    PermissionError (WinError 5) on Windows. Looking at the disk gives the
    same message everywhere.
    """
    if os.path.isdir(database_path):
        return DatabaseNotWritableError(
            f"{database_path} is a folder, not a database file; pass the path of a file inside it.",
            path=database_path,
        )
    blocker = os.path.dirname(database_path)
    while blocker and not os.path.lexists(blocker):
        parent = os.path.dirname(blocker)
        if parent == blocker:
            break
        blocker = parent
    if not blocker:
        return None
    if not os.path.lexists(blocker):  # not even the root: a drive letter or share that is not there
        return DatabaseNotWritableError(
            f"Cannot use {database_path}: {blocker} does not exist (a network drive that is not connected, "
            "a share that is offline, or a removed disk). Nothing was changed. Connect it, or pass another path.",
            path=database_path,
        )
    if not os.path.isdir(blocker):
        return DatabaseNotWritableError(
            f"Cannot use {database_path}: {blocker} is a file, not a folder. Nothing was changed. "
            "Pass a path inside a folder (or move that file away).",
            path=database_path,
        )
    return None


def absolute_path(given: str | os.PathLike[str]) -> Path:
    """``given`` with ``~`` expanded, made absolute (os.path.abspath) and never resolved.

    resolve() would rename what the user named: a mapped drive ``Z:\\`` becomes
    its ``\\\\server\\share``, ``/var`` becomes ``/private/var`` on macOS.
    """
    from pathlib import Path  # not on the launch's path: only the CLI and restore()/backup() ask

    return Path(os.path.abspath(os.path.expanduser(os.fspath(given))))
