"""app-db: the developer's command line for an app's database (``app-db --help``).

It finds the app's Database (``--database module:attribute``, else
$APP_DB_DATABASE, else ``[tool.app-db] database`` in pyproject.toml) and runs
one command on it. Commands that only look (path, status, check, the
``--dry-run`` previews) open the file read-only and never create it; and no
command calls a function found there (a factory may open and migrate the
file): module:attribute must name the Database itself. Commands are thin:
each rule they report lives in the module that owns it (discovery, plan,
drift), and a command prints what those say.

Exit codes: 0 ok, 1 a problem was found or an operation failed, 2 usage
(a bad argument, or no Database to work on). Errors are one line,
``error: ...``; ``--verbose`` adds the traceback and app_db's log.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .discovery import MANIFEST_MODULE
from .paths import absolute_path
from .plan import resolve_id
from .squash import SEED_ROWS_COPIED

if TYPE_CHECKING:
    from .database import Database
    from .reports import StepPreview

__all__ = ["EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "UsageError", "main"]

EXIT_OK = 0
EXIT_PROBLEM = 1  # a problem found (check) or an operation failed
EXIT_USAGE = 2  # a bad argument, or no Database to work on (argparse uses 2 as well)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it

ENV_VARIABLE = "APP_DB_DATABASE"
HOW_TO_CONFIGURE = (
    "pass --database module:attribute (e.g. --database myapp.db:database), "
    f'set ${ENV_VARIABLE}=myapp.db:database, or add [tool.app-db] database = "myapp.db:database" to pyproject.toml.'
)


TOOL_KEYS = frozenset({"database"})  # what [tool.app-db] in pyproject.toml may set


class UsageError(Exception):
    """The command line cannot be used as given; exit code 2."""


# Entry point ---------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Run one app-db command; return its exit code."""
    configure_console(sys.stdout, sys.stderr)  # before argparse prints anything
    verbose = False
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error argparse already printed (2)
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        verbose = getattr(args, "verbose", False)
        configure_logging(verbose)
        out = Output(sys.stdout)
        args.opened = []  # every Database the command opens, closed when it ends (main may run in an app)
        try:
            code: int = args.handler(args, out)
        finally:
            close_all(args.opened)
        out.flush()  # a reader that went away is noticed here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        print("error: interrupted; anything in progress was rolled back.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OutputClosed, BrokenPipeError):
        # The reader went away (`app-db status | head`): not an error. Point
        # stdout at devnull so the interpreter's final flush stays quiet.
        silence_stdout()
        return EXIT_OK
    except Exception as exc:
        return report_error(exc, verbose)


def close_all(databases: Sequence[Database]) -> None:
    """Close each Database a command opened, so no connection outlives it (nor checkpoints later)."""
    for database in databases:
        database.close()


def report_error(exc: BaseException, verbose: bool) -> int:
    """Print ``exc`` as one ``error:`` line (plus the traceback when verbose); return the exit code."""
    from .errors import AppDbError, ConfigurationError

    if verbose:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if isinstance(exc, (UsageError, ConfigurationError)):
        message, code = str(exc), EXIT_USAGE
    elif isinstance(exc, AppDbError):
        message, code = str(exc), EXIT_PROBLEM
    else:
        message = f"unexpected {type(exc).__name__}: {exc}"
        if not verbose:
            message += " (run again with --verbose for the traceback)"
        code = EXIT_PROBLEM
    print(f"error: {message}", file=sys.stderr)
    return code


# What a command prints itself (each step, the backup, the restore, the file written):
# the log's INFO record of the same event would say it a second time under --verbose.
SAID_BY_THE_COMMAND = frozenset(
    {
        "%s migration %s (%d of %d)",
        "Backed up %s to %s",
        "Restored %s from %s (previous content saved to %s)",
        "Wrote %s",
        "Wrote %s (%d change(s))",
    }
)


def configure_logging(verbose: bool) -> None:
    """app_db's log to stderr: warnings always, progress (INFO) with --verbose, each event said once."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname_lower)s: %(message)s"))
    handler.addFilter(lower_level_name)
    handler.addFilter(not_said_by_the_command)
    logger = logging.getLogger("app_db")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def lower_level_name(record: Any) -> bool:
    record.levelname_lower = record.levelname.lower()
    return True


def not_said_by_the_command(record: Any) -> bool:
    if record.msg is SEED_ROWS_COPIED:  # `app-db squash` prints its own warning line
        return False
    return record.levelno > 20 or record.msg not in SAID_BY_THE_COMMAND  # 20: INFO


# The parser ----------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse's parser, with "did you mean" for a mistyped command or choice."""

    def error(self, message: str) -> Any:  # argparse's own signature: it never returns
        import difflib
        import re

        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            choices = re.findall(r"'([^']*)'", wrong.group(2))
            starting = [choice for choice in choices if choice.startswith(wrong.group(1))]
            close = starting if len(starting) == 1 else difflib.get_close_matches(wrong.group(1), choices, n=1)
            if close:
                message = message[: wrong.start()] + f"invalid choice: {wrong.group(1)!r}; did you mean {close[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The parser; the common options are accepted before or after the command."""
    common = Parser(add_help=False)
    add_common_options(common, default=argparse.SUPPRESS)
    parser = Parser(
        prog="app-db",
        description="Inspect, migrate, roll back and check an app_db database.",
        epilog="The Database is found by --database, else $APP_DB_DATABASE, else [tool.app-db] "
        "database in pyproject.toml (this folder or a parent).",
    )
    add_common_options(parser, default=None)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"app-db {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(
        name: str,
        handler: Callable[[argparse.Namespace, Output], int],
        help_text: str,
        aliases: Sequence[str] = (),
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text, aliases=aliases)
        sub.set_defaults(handler=handler)
        return sub

    command("path", cmd_path, "print the database file a launch would open")

    sub = command("status", cmd_status, "list every migration and whether it is applied")
    sub.add_argument("--json", action="store_true", help="print JSON for scripts")

    sub = command("migrate", cmd_migrate, "apply pending migrations as a launch does (backup, one transaction)")
    sub.add_argument("--to", metavar="ID", help="stop after this migration (an id, a unique prefix or the file number)")
    sub.add_argument("--dry-run", action="store_true", help="print the SQL that would run; change nothing")

    sub = command("rollback", cmd_rollback, "undo the newest migrations with their down(), in one transaction")
    which = sub.add_mutually_exclusive_group()
    which.add_argument("--steps", type=positive_int, default=1, metavar="N", help="undo the newest N (default 1)")
    which.add_argument("--to", metavar="ID", help="keep this migration, undo everything after it")
    sub.add_argument("--dry-run", action="store_true", help="print the SQL that would run; change nothing")

    sub = command("new", cmd_new, "write a new, empty migration file into the migrations folder")
    sub.add_argument("description", help='what it does, e.g. "add user preferences"')

    sub = command(
        "makemigration",
        cmd_makemigration,
        "write a migration from the difference between models and migrations",
        aliases=["makemigrations"],  # for Django hands
    )
    sub.add_argument("description", help='what it does, e.g. "add note titles"')
    sub.add_argument("--empty", action="store_true", help="write a data-migration scaffold (schema.model) instead")

    sub = command("schema", cmd_schema, "print the schema the migrations build (through --at)")
    sub.add_argument("--at", metavar="ID", help="the schema right after this migration")

    sub = command(
        "check",
        cmd_check,
        "validate the migrations and compare them with the models (the repository: CI, pre-commit); "
        "exit 1 on any problem",
    )
    sub.add_argument(
        "--file",
        nargs="?",
        const=True,
        default=False,
        metavar="PATH",
        help="also check a database file (default: the one a launch opens) against the migrations and the models",
    )
    sub.add_argument("--json", action="store_true", help="print the problems as JSON")

    sub = command("squash", cmd_squash, "write a baseline migration that replaces every migration through ID")
    sub.add_argument("--to", metavar="ID", required=True, help="the newest migration it replaces (id, prefix, number)")
    sub.add_argument("description", help='what it is, e.g. "baseline 2.0"')

    command(
        "manifest",
        cmd_manifest,
        "write app_db_manifest.py beside the migrations: ids and checksums for builds without sources",
    )

    sub = command("stamp", cmd_stamp, "record migrations through ID as applied without running them")
    sub.add_argument("id", metavar="ID", help="the last migration the existing database already has")

    sub = command("backup", cmd_backup, "copy the database (online) to DEST, or into backups/ beside it")
    sub.add_argument("destination", nargs="?", metavar="DEST", help="a new file, or an existing folder")

    sub = command("restore", cmd_restore, "replace the database with a backup, after backing up the current one")
    sub.add_argument("file", metavar="FILE", help="a SQLite backup of this app's database")
    return parser


def add_common_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--database", metavar="MODULE:ATTR", default=default, help="the app's Database, e.g. myapp.db:database"
    )
    parser.add_argument(
        "--env",
        choices=("production", "development", "test"),
        default=default,
        help="the environment (default: $APP_ENV, else production)",
    )
    parser.add_argument("--path", metavar="FILE", default=default, help="use this database file")
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log progress and show tracebacks"
    )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# Finding the app's Database ------------------------------------------------------
def find_database_spec(option: str | None, cwd: Path) -> tuple[str, str, Path | None]:
    """(``module:attribute``, where it came from, the folder to import from) or UsageError."""
    if option:
        return option, "--database", None
    from_env = os.environ.get(ENV_VARIABLE, "").strip()
    if from_env:
        return from_env, f"${ENV_VARIABLE}", None
    pyproject = next(
        (folder / "pyproject.toml" for folder in (cwd, *cwd.parents) if (folder / "pyproject.toml").is_file()), None
    )
    if pyproject is not None:
        spec = read_tool_setting(pyproject)
        if spec:
            return spec, f"[tool.app-db] in {pyproject}", pyproject.parent
        raise UsageError(
            f"No database is configured: {pyproject} has no [tool.app-db] database. To set one, {HOW_TO_CONFIGURE}"
        )
    raise UsageError(
        f"No database is configured (no --database, no ${ENV_VARIABLE}, no pyproject.toml here or above). "
        f"To set one, {HOW_TO_CONFIGURE}"
    )


def read_tool_setting(pyproject: Path) -> str | None:
    """``[tool.app-db] database`` from ``pyproject``, or None."""
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Cannot read {pyproject}: {exc}. Fix the file, or pass --database.") from exc
    tool = data.get("tool", {})
    table = tool.get("app-db", {})
    misspelt = [name for name in tool if name != "app-db" and name.replace("_", "-").lower() in ("app-db", "appdb")]
    if misspelt and not table:
        raise UsageError(
            f"{pyproject} has [tool.{misspelt[0]}], but app-db reads [tool.app-db] (with a hyphen); rename the table."
        )
    unknown = sorted(set(table) - TOOL_KEYS)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(TOOL_KEYS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; it knows {', '.join(sorted(TOOL_KEYS))}."
        message = f"{pyproject}: [tool.app-db] has no setting {unknown[0]!r}{hint}"
        if "database" not in table:
            raise UsageError(message)
        print(f"warning: {message}", file=sys.stderr)  # the database is set: go on, but say it
    value = table.get("database")
    if value is not None and not isinstance(value, str):
        raise UsageError(f'{pyproject}: [tool.app-db] database must be a string like "myapp.db:database".')
    return value


def load_database(spec: str, source: str, project_folder: Path | None, cwd: Path) -> Database:
    """Import ``module:attribute`` (the current folder first on sys.path, as uvicorn does) and return the Database."""
    import importlib

    from .database import Database

    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name.strip() or not attribute.strip() or ":" in attribute:
        raise UsageError(f"{spec!r} (from {source}) is not module:attribute, e.g. myapp.db:database.")
    module_name, attribute = module_name.strip(), attribute.strip()
    for folder in (project_folder, cwd):
        if folder is not None and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UsageError(
                f"Cannot import {module_name!r} (from {source}): no such module. Run app-db from the project's "
                "folder, or install the app (pip install -e .)."
            ) from exc
        raise UsageError(f"Importing {module_name!r} (from {source}) failed: {exc}.") from exc
    except Exception as exc:
        raise UsageError(f"Importing {module_name!r} (from {source}) failed: {type(exc).__name__}: {exc}.") from exc
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise UsageError(
                f"{module_name!r} has no attribute {attribute!r} (from {source}); point at the app's Database."
            )
        value = getattr(value, part)
    if not isinstance(value, Database):
        raise UsageError(not_a_database_message(spec, source, value))
    return value


def not_a_database_message(spec: str, source: str, value: object) -> str:
    """Why ``value`` cannot be used; a callable is never called, as it may open (and migrate) the real file."""
    module_name = spec.partition(":")[0].strip()
    if callable(value) and not isinstance(value, type):
        return (
            f"{spec} (from {source}) is a function, not an app_db.Database; app-db never calls it, since a function "
            "such as open_database() may create or migrate the real file. Nothing was opened. Point at the "
            f"module-level Database instead, e.g. {module_name}:database."
        )
    return f"{spec} (from {source}) is {type(value).__name__}, not an app_db.Database; point at the app's Database."


def open_app_database(args: argparse.Namespace, *, read_only: bool = False) -> Database:
    """The app's Database with --env and --path applied; ``read_only`` never creates or changes the file."""
    cwd = Path.cwd()
    spec, source, project_folder = find_database_spec(args.database, cwd)
    database = load_database(spec, source, project_folder, cwd)
    path = None
    if args.path:
        # The library refuses relative paths (an app is started from anywhere);
        # on a command line, relative to the current folder is what is meant.
        path = args.path if args.path == ":memory:" else absolute_path(args.path)
    return reopen(args, database, env=args.env, path=path, read_only=read_only)


def reopen(args: argparse.Namespace, database: Database, **options: Any) -> Database:
    """``database.configured(**options)``, closed with the others when the command ends."""
    copy = database.configured(**options)
    args.opened.append(copy)
    return copy


# Output --------------------------------------------------------------------------
class OutputClosed(Exception):
    """The reader of stdout went away (``app-db status | head``): not an error."""


class Output:
    """Plain text for pipes; colours only on a terminal that shows them (see supports_colour)."""

    COLOURS: ClassVar[dict[str, str]] = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2"}

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.colour = supports_colour(stream)

    def style(self, text: str, colour: str) -> str:
        return f"\033[{self.COLOURS[colour]}m{text}\033[0m" if self.colour and text else text

    def line(self, text: str = "") -> None:
        with raising_output_closed():
            print(text, file=self.stream)

    def flush(self) -> None:
        with raising_output_closed():
            self.stream.flush()

    def table(self, rows: Sequence[Sequence[str]], colours: Sequence[str | None] = ()) -> None:
        """Left-aligned columns two spaces apart; the last column is not padded."""
        if not rows:
            return
        widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
        for number, row in enumerate(rows):
            colour = colours[number] if number < len(colours) else None
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)] + [row[-1]]
            text = "  ".join(cells).rstrip()
            self.line(self.style(text, colour) if colour else text)


class raising_output_closed:
    """Turn the error of writing to a pipe whose reader is gone into OutputClosed.

    POSIX says EPIPE (BrokenPipeError); Windows says EINVAL. Any other
    write error (a full disk under ``> status.txt``) stays an error.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        import errno

        if isinstance(exc, OSError) and (isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL)):
            raise OutputClosed(str(exc)) from exc


def configure_console(*streams: Any) -> None:
    """Let each stream print any text: what its encoding cannot hold is escaped (``\\u65e5``), never an error.

    A Windows pipe or file is written in the ANSI code page (cp1252 and the
    like), which has no Japanese letters; UTF-8 would be mojibake to a reader
    that expects that code page, so the encoding stays and only the error
    handler changes. A Windows console itself takes any text already.
    """
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="backslashreplace")
            except (OSError, ValueError):  # a stream that cannot change; print as it is
                pass


def silence_stdout() -> None:
    """Point file descriptor 1 at the null device, so nothing more is written to a closed pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (an embedding app's stream)
        pass


def supports_colour(stream: Any, environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether ``stream`` shows ANSI colours: never with $NO_COLOR, TERM=dumb, or on a pipe or file.

    On Windows a console shows them only with virtual-terminal processing
    (Windows 10 and later), which is switched on here; where that fails (an
    older console) only a wrapper that translates them (ANSICON, ConEmu, a
    terminal that sets $TERM) shows them. $WT_SESSION alone is no proof: a
    classic console started from Windows Terminal inherits it.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, OSError, ValueError):
        return False
    if platform != "win32":
        return True
    if enable_virtual_terminal(stream):
        return True
    return bool(environ.get("ANSICON") or environ.get("ConEmuANSI") == "ON" or environ.get("TERM"))


def enable_virtual_terminal(stream: Any) -> bool:
    """Switch on ANSI processing in the Windows console behind ``stream`` until exit; False where impossible."""
    enable_virtual_terminal_processing = 0x0004
    try:
        import atexit
        import ctypes
        import msvcrt
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = msvcrt.get_osfhandle(stream.fileno())  # type: ignore[attr-defined]
        mode = wintypes.DWORD()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False  # not a console
        if mode.value & enable_virtual_terminal_processing:
            return True
        if not kernel32.SetConsoleMode(handle, mode.value | enable_virtual_terminal_processing):
            return False  # a console older than Windows 10
        atexit.register(kernel32.SetConsoleMode, handle, mode.value)  # the shell's console as we found it
        return True
    except (ImportError, AttributeError, OSError, ValueError):
        return False


def format_time(moment: Any) -> str:
    """A recorded time in local time, to the second, with its offset from UTC (a naive one is taken as UTC)."""
    import datetime

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    text: str = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    return text[:-2] + ":" + text[-2:]  # +0100 -> +01:00, as ISO 8601 writes it


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_path(path: Path | None) -> str:
    return str(path) if path is not None else ":memory:"


# Commands ------------------------------------------------------------------------
def cmd_path(args: argparse.Namespace, out: Output) -> int:
    database = open_app_database(args, read_only=True)
    out.line(describe_path(database.path))
    return EXIT_OK


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """Every migration and its state; exit 1 where the launch would refuse the file or a pending migration."""
    from .definitions import find_unloadable
    from .errors import AppDbError, SchemaTooNewError
    from .reports import status_records

    database = open_app_database(args, read_only=True)
    path = database.path
    exists = path is not None and path.exists()
    plan = database.plan()
    statuses = status_records(plan)
    refusal: AppDbError | None = None
    try:
        plan.steps("up", path=path)  # the launch's own judgement of the file: too new, history missing
    except AppDbError as exc:
        refusal = exc
    broken = {finding.migration_id: finding.message for finding in find_unloadable(plan.pending)}
    pending = [status for status in statuses if status.pending]
    changed = [status for status in statuses if status.checksum_changed]
    unverifiable = [status for status in statuses if status.known and not status.checksum_verifiable]
    current = plan.current
    refuses_changed = bool(changed) and database.policy.changed == "refuse"  # development's launch does
    code = EXIT_PROBLEM if refusal is not None or broken or refuses_changed else EXIT_OK
    baselines, replaced_by = plan.all_baselines(), plan.replaced_by()  # squashed histories (app-db squash)
    if args.json:
        import json

        out.line(
            json.dumps(
                {
                    "database": str(path) if path is not None else None,
                    "exists": exists,
                    "environment": database.env,
                    "current": current,
                    "pending": [status.id for status in pending],
                    "refused": str(refusal) if refusal is not None else None,
                    "migrations": [
                        {
                            "id": status.id,
                            "name": status.name,
                            "file": status.file,
                            "state": "unknown" if not status.known else "pending" if status.pending else "applied",
                            "applied_at": status.applied_at.isoformat() if status.applied_at else None,
                            "checksum_changed": status.checksum_changed,
                            "checksum_verifiable": status.checksum_verifiable,
                            "app_version": status.app_version,
                            "error": broken.get(status.id),
                            "replaces": list(baselines.get(status.id, ())),
                            "replaced_by": replaced_by.get(status.id),
                        }
                        for status in statuses
                    ],
                },
                indent=2,
            )
        )
        return code
    if path is None:
        state = "in memory: every run starts empty"
    elif not exists:
        state = "not created yet (the next launch or `app-db migrate` creates it)"
    elif isinstance(refusal, SchemaTooNewError):
        state = "too new: a newer version of the app migrated it, and this version refuses to open it"
    elif refusal is not None and plan.missing:
        state = "refused: part-way through a squashed history whose other migrations this version no longer ships"
    elif refusal is not None:
        state = "refused: this version of the app will not open it (see below)"
    elif not statuses:
        state = "no migrations"
    elif pending:
        state = f"{plural(len(pending), 'pending migration')}" + (f", at {current}" if current else "")
    else:
        state = f"up to date, at {current}" if current else "up to date"
    if broken and refusal is None:
        state += f"; {plural(len(broken), 'migration')} cannot be loaded, so the launch refuses to migrate"
    if refusal is None and plan.uses_newer_as_is():
        state += f"; used as it is with a newer version's backward-compatible {', '.join(plan.newer_compatible)}"
    out.table(
        [
            ["Database", describe_path(path)],
            ["Environment", database.env],
            ["State", state],
        ]
    )
    if statuses:
        out.line()
        versions = any(status.app_version for status in statuses)  # the version that applied each, once recorded
        rows = [["ID", "NAME", *(["VERSION"] if versions else []), "APPLIED"]]
        colours: list[str | None] = ["bold"]
        for status in statuses:
            when = format_time(status.applied_at) if status.applied_at else "pending"
            notes = []
            if not status.known:
                notes.append("unknown to this app version")
            if status.checksum_changed:
                notes.append("file changed since applied")
            if status.known and not status.checksum_verifiable:
                notes.append("checksum not verifiable")
            if status.id in broken:
                notes.append("cannot be loaded")
            if status.id in baselines:
                when += f"  (baseline: replaces {plural(len(baselines[status.id]), 'migration')})"
            elif status.id in replaced_by:
                when += f"  (replaced by baseline {replaced_by[status.id]})"
            version = [status.app_version or ""] if versions else []
            rows.append([status.id, status.name or "", *version, when + (f"  ! {', '.join(notes)}" if notes else "")])
            colours.append("red" if notes else "yellow" if status.pending else None)
        out.table(rows, colours)
    for message in ([str(refusal)] if refusal is not None else []) + list(broken.values()):
        out.line()
        out.line(out.style(f"! {message}", "red"))
    if unverifiable:
        out.line()
        out.line(
            f"! {plural(len(unverifiable), 'migration')} whose checksum cannot be verified: "
            + ", ".join(status.id for status in unverifiable)
            + ". This build ships neither their source nor a manifest (`app-db manifest`), or such a build applied "
            "them; an edit made after they ran would go unnoticed."
        )
    if changed:
        out.line()
        out.line(
            out.style(
                f"! {plural(len(changed), 'applied migration')} changed since applied: "
                + ", ".join(f"{status.id} ({status.file})" if status.file else status.id for status in changed)
                + ". Revert the edit and put the change in a new migration.",
                "red",
            )
        )
    return code


def progress_printer(out: Output, verb: str) -> Callable[[int, int, Any], None]:
    def progress(index: int, total: int, migration: Any) -> None:
        name = f"  {migration.name}" if migration.name else ""
        out.line(f"{verb} {migration.id}{name}  ({index}/{total})")
        out.stream.flush()

    return progress


def print_statements(out: Output, statements: Sequence[str], nothing: str) -> None:
    if not statements:
        out.line(f"-- {nothing}")
    for statement in statements:
        statement = statement.strip()
        out.line(statement if statement.endswith(";") else statement + ";")


def cmd_migrate(args: argparse.Namespace, out: Output) -> int:
    if args.dry_run:
        database = open_app_database(args, read_only=True)
        target = resolve_id(args.to, database.status()) if args.to else None
        steps = database.preview(to=target)  # one run on an in-memory copy
        out.line(
            f"-- Dry run: {plural(len(steps), 'pending migration')} for {describe_path(database.path)}; "
            "nothing is changed."
        )
        print_steps(out, steps)
        return EXIT_OK
    reader = open_app_database(args, read_only=True)  # a bad --to must not create the file
    target = resolve_id(args.to, reader.status()) if args.to else None
    database = reopen(args, reader, read_only=False, on_progress=progress_printer(out, "Applying"))
    report = database.migrate(to=target)
    if not report.applied and not report.recorded:
        out.line(
            f"Nothing to migrate: {describe_path(report.path)} is up to date"
            + (f" through {target}." if target else ".")
        )
        return EXIT_OK
    if report.applied:
        out.line(f"Applied {plural(len(report.applied), 'migration')} to {describe_path(report.path)}.")
    for baseline in report.recorded:  # ReportedMigration
        out.line(
            f"Recorded the baseline {baseline} without running it: {describe_path(report.path)} has every migration "
            "it replaces."
        )
    if report.backup is not None:
        out.line(f"Backup taken before: {report.backup}")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace, out: Output) -> int:
    reader = open_app_database(args, read_only=True)
    target = resolve_id(args.to, reader.status()) if args.to else None
    steps = args.steps
    plan = reader.plan()
    undo = [step.id for step in plan.steps("down", target, steps, reader.path)]  # what rollback() will run
    if not undo:
        out.line(
            "Nothing to roll back"
            + (f": {target} is the newest applied migration." if target else ": no migration is applied.")
        )
        return EXIT_OK
    if args.dry_run:
        # A missing down() is refused here too, with the message a real rollback gives.
        steps_undone = reader.preview_rollback(steps=steps, to=target)
        out.line(f"-- Dry run: rolling back {plural(len(undo), 'migration')} ({', '.join(undo)}); nothing is changed.")
        print_steps(out, steps_undone)
        return EXIT_OK
    database = reopen(args, reader, read_only=False, on_progress=progress_printer(out, "Rolling back"))
    report = database.rollback(steps=steps, to=target)
    now = f"the database is now at {report.current}" if report.current else "no migration is applied now"
    out.line(f"Rolled back {plural(len(report.undone), 'migration')}; {now}.")
    if report.backup is not None:
        out.line(f"Backup taken before: {report.backup}")
    return EXIT_OK


def print_steps(out: Output, steps: Sequence[StepPreview]) -> None:
    """Each migration's SQL under a ``-- id: name`` header."""
    for step in steps:
        out.line(f"-- {step.id}" + (f": {step.name}" if step.name else ""))
        print_statements(out, step.statements, "no SQL")


def cmd_stamp(args: argparse.Namespace, out: Output) -> int:
    reader = open_app_database(args, read_only=True)
    target = resolve_id(args.id, reader.status())
    stamped = reopen(args, reader, read_only=False).stamp(target).applied
    if not stamped:
        out.line(f"Nothing to stamp: {target} and everything before it are already recorded.")
        return EXIT_OK
    them = "it" if len(stamped) == 1 else "them"
    out.line(f"Recorded {plural(len(stamped), 'migration')} as applied without running {them}:")
    for migration_id in stamped:
        out.line(f"  {migration_id}")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace, out: Output) -> int:
    database = open_app_database(args, read_only=True)
    path = database.path
    destination = None
    if args.destination and path is not None:  # Database.backup() says why an in-memory one has no file
        destination = absolute_path(args.destination)
        if destination.is_dir():
            import datetime

            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
            destination = destination / f"{path.stem}-{stamp}{path.suffix or '.sqlite3'}"
    copy = reopen(args, database, read_only=False).backup(destination)
    out.line(str(copy))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, out: Output) -> int:
    database = open_app_database(args)
    source = absolute_path(args.file)
    safety = database.restore(source)
    out.line(f"Restored {database.path} from {source}.")
    if safety is not None:
        out.line(f"What it held before is saved at {safety}")
    return EXIT_OK


# new -----------------------------------------------------------------------------
def cmd_new(args: argparse.Namespace, out: Output) -> int:
    from .autogenerate import make_migration_stub

    out.line(str(make_migration_stub(open_app_database(args, read_only=True), args.description)))
    return EXIT_OK


def cmd_squash(args: argparse.Namespace, out: Output) -> int:
    from .squash import squash_migrations

    database = open_app_database(args, read_only=True)
    result = squash_migrations(database, resolve_id(args.to, database.status()), args.description)
    out.line(str(result.path))
    if result.rows:
        shown = ", ".join(f"{table} ({count})" for table, count in result.rows.items())
        out.line(f"{out.style('warning', 'yellow')}: it copies the rows the migrations inserted (seed data): {shown}")
    return EXIT_OK


# check ---------------------------------------------------------------------------
class Problems:
    """What check found: problems (exit 1), warnings and notes (told only), each fix said once."""

    def __init__(self) -> None:
        self.items: list[dict[str, str | None]] = []
        self.warnings: list[str] = []  # told, but not a failure: what cannot be verified in this build
        self.notes: list[str] = []  # what was not compared, and why
        self.hints: list[str] = []  # the fix shared by several problems, said once after them

    def add(self, message: str, file: str | None = None, kind: str = "migration") -> None:
        self.items.append({"kind": kind, "file": file, "message": message})

    def add_findings(self, findings: Sequence[Any], kind: str) -> None:
        for finding in findings:
            if finding.is_problem:
                self.add(finding.message, finding.file, kind=kind)
            else:
                self.warnings.append(finding.message)

    def add_drift(self, differences: Sequence[str], file: str | None, hint: str) -> None:
        for difference in differences:
            self.add(difference[:1].upper() + difference[1:] + ".", file, kind="drift")
        if differences and hint not in self.hints:
            self.hints.append(hint)


def check_fresh_build(database: Database, problems: Problems) -> None:
    """Run every migration on an empty in-memory database: each must succeed, and the models must match.

    The models are compared as assert_models_match compares them: tables,
    columns, types, NOT NULL, foreign keys and indexes.
    """
    from .drift import DRIFT_HINT, MIGRATIONS, compare_models
    from .errors import AppDbError
    from .scratch import migrated_scratch

    try:
        fresh = migrated_scratch(database)
    except AppDbError as exc:
        problems.add(f"On an empty database: {exc}", getattr(getattr(exc, "migration", None), "file", None))
        return
    try:
        differences = compare_models(fresh.db, database.models, MIGRATIONS) if database.models else []
    finally:
        fresh.close()
    problems.add_drift(differences, None, DRIFT_HINT)


def check_squashed(database: Database, problems: Problems) -> None:
    """Each baseline (app-db squash) must build exactly the schema of the migrations it replaces."""
    from .errors import AppDbError
    from .squash import check_baselines

    try:
        found = check_baselines(database)
    except AppDbError as exc:
        if not any(str(exc) in str(item["message"]) for item in problems.items):  # the fresh build said it already
            problems.add(f"Checking the baselines: {exc}", getattr(exc, "file", None))
        return
    for file, message in found:
        problems.add(message, file)


def check_file(database: Database, problems: Problems) -> None:
    """The real file against the migrations (too new, changed, pending) and, once up to date, the models."""
    from .drift import compare_models, file_side
    from .errors import AppDbError, SchemaTooNewError

    path = database.path
    where = describe_path(path)
    if path is not None and not path.exists():
        problems.add(
            f"There is no database at {where}, so there is nothing to compare; a launch or `app-db migrate` "
            "creates it. Pass --file PATH to check another file.",
            where,
            kind="database",
        )
        return
    try:
        plan = database.plan()
    except AppDbError as exc:
        problems.add(str(exc), where, kind="database")
        return
    try:
        plan.steps("up", path=path)  # what the launch refuses (a too-new file is told by its findings below)
    except SchemaTooNewError:
        pass
    except AppDbError as exc:
        problems.add(str(exc), where, kind="database")
        return
    found = plan.check_file(path)
    problems.add_findings(found, kind="database")
    if any(finding.is_problem for finding in found):
        return  # a file behind or ahead of the migrations differs from the models for that reason alone
    if not database.models:
        return  # cmd_check says so
    differences = compare_models(database.db, database.models, file_side(where))
    problems.add_drift(
        differences,
        where,
        f"Its migrations are all applied, yet {where} differs from the models: it was changed outside the "
        "migrations (by hand or by another program), or the migrations differ from the models (see above).",
    )


def cmd_check(args: argparse.Namespace, out: Output) -> int:
    from .definitions import check_definitions

    database = open_app_database(args, read_only=True)
    if isinstance(args.file, str):  # --file PATH; a bare --file checks the file a launch opens
        database = reopen(args, database, path=absolute_path(args.file))
    file_checked = bool(args.file or args.path)  # a file named with --path is a file to check
    problems = Problems()
    known, found = check_definitions(database.migrations)
    problems.add_findings(found, kind="migration")
    if known and not problems.items:
        check_fresh_build(database, problems)
        check_squashed(database, problems)
    if not database.models:
        problems.notes.append(
            "No models were given (Database(..., models=[...])), so nothing was compared with models: not what "
            "the migrations build" + (f", nor the tables of {describe_path(database.path)}." if file_checked else ".")
        )
    if file_checked and problems.items:
        problems.notes.append(f"{describe_path(database.path)} was not checked: the problems above come first.")
    elif file_checked:
        check_file(database, problems)
    if args.json:
        import json

        report = {
            "ok": not problems.items,
            "migrations": len(known),
            "file": describe_path(database.path) if file_checked else None,
            "problems": problems.items,
            "warnings": problems.warnings,
            "notes": problems.notes,
            "hints": problems.hints,
        }
        out.line(json.dumps(report, indent=2))
        return EXIT_PROBLEM if problems.items else EXIT_OK
    for warning in problems.warnings:
        out.line(f"{out.style('warning', 'yellow')}: {warning}")
    for item in problems.items:
        out.line(f"{out.style('problem', 'red')}: {item['message']}")
    for hint in problems.hints:
        out.line(f"hint: {hint}")
    for note in problems.notes:
        out.line(f"note: {note}")
    if problems.items:
        out.line(f"{plural(len(problems.items), 'problem')} found.")
        return EXIT_PROBLEM
    checked = f"{plural(len(known), 'migration')} valid"
    if file_checked:
        out.line(
            f"{out.style('ok', 'green')}: {checked}; {describe_path(database.path)} is up to date."
            + (" The models match both." if database.models else "")
        )
    else:
        out.line(
            f"{out.style('ok', 'green')}: {checked}"
            + ("; they build what the models describe." if database.models else ".")
            + " No database file was checked (`app-db check --file` compares one)."
        )
    return EXIT_OK


def cmd_manifest(args: argparse.Namespace, out: Output) -> int:
    """Write the build-time record that lets builds without sources identify and verify each migration."""
    from .autogenerate import migrations_folder
    from .discovery import identify_migrations, list_migration_files, manifest_text

    database = open_app_database(args, read_only=True)
    folder = migrations_folder(database.migrations)
    source = database.migrations
    known = identify_migrations(list_migration_files(str(source), against_manifest=False), {}, read_all=True)
    target = folder / f"{MANIFEST_MODULE}.py"
    text = manifest_text(known)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    out.line(str(target))
    return EXIT_OK


# Commands built on app_db.autogenerate and app_db.schema_text ------------------
def cmd_makemigration(args: argparse.Namespace, out: Output) -> int:
    from .autogenerate import make_migration

    database = open_app_database(args, read_only=True)
    written = make_migration(database, args.description, interactive=sys.stdin.isatty(), empty=args.empty)
    if written is None:
        out.line("No changes: models and migrations agree.")
        return EXIT_OK
    out.line(str(written))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, out: Output) -> int:
    from .schema_text import schema_sql

    database = open_app_database(args, read_only=True)
    at = resolve_id(args.at, database.status()) if args.at else None
    out.line(schema_sql(database, at=at).rstrip("\n"))
    return EXIT_OK
