"""``python -m demo_app [--headless] [--path FILE]``, or ``python -m demo_app --app-db COMMAND ...`` for app-db."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at every start
if TYPE_CHECKING:
    import argparse

# The options, once: argparse is built from them, and the launch reads the usual command lines by them alone.
FLAGS = {"--headless": "run the launch flow without a window: print the database path and the migrations applied"}
VALUED = {"--path": ("FILE", "open this database file instead of the per-user one")}


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m demo_app",
        description="AppDbNotes, the app_db demo: a notes app whose database is migrated at every launch.",
    )
    for flag, help_text in FLAGS.items():
        parser.add_argument(flag, action="store_true", help=help_text)
    for option, (metavar, help_text) in VALUED.items():
        parser.add_argument(option, metavar=metavar, help=help_text)
    return parser


def parse_args(argv: list[str]) -> dict[str, str | bool | None]:
    """The options given in ``argv``, by name (``headless``, ``path``).

    The usual command lines (the exact option names, each value as the
    next word or after ``=``) are read here; anything else (``--help``, an
    abbreviation, a mistake) goes to argparse, which answers it or exits 2
    with usage. Importing argparse costs a few milliseconds the app's every
    start would pay.
    """
    options: dict[str, str | bool | None] = {name[2:]: False for name in FLAGS} | {name[2:]: None for name in VALUED}
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        if word in FLAGS:
            options[word[2:]] = True
        elif name in VALUED and equals:
            options[name[2:]] = value
        elif word in VALUED:
            following = next(words, None)
            if following is None or following.startswith("-"):
                return vars(build_parser().parse_args(argv))
            options[word[2:]] = following
        else:
            return vars(build_parser().parse_args(argv))
    return options


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--app-db"]:
        # `AppDbNotes --app-db status`: the app-db command line, on this app's Database, from the
        # shipped app itself (a frozen app has no `app-db` script and no pyproject.toml beside it).
        from app_db.cli import main as app_db_main

        return app_db_main(["--database", "demo_app.db:database", *argv[1:]])
    options = parse_args(argv)
    path = None
    if options["path"] is not None:
        from pathlib import Path

        # app_db refuses relative paths (a desktop app's working folder is arbitrary);
        # on a command line, relative to the current folder is what the user means.
        # abspath, not resolve(): that would turn a mapped drive Z:\ into \\server\share.
        path = Path(os.path.abspath(os.path.expanduser(str(options["path"]))))
    if options["headless"]:
        from .headless import run_headless

        return run_headless(path)
    from .gui import run_gui

    return run_gui(path)


if __name__ == "__main__":
    sys.exit(main())
