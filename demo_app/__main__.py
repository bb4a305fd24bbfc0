"""``python -m demo_app [--headless] [--path FILE]``, or ``python -m demo_app --app-db COMMAND ...`` for app-db."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo_app",
        description="AppDbNotes, the app_db demo: a notes app whose database is migrated at every launch.",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the launch flow without a window: print the database path and the migrations applied",
    )
    parser.add_argument(
        "--path", type=Path, metavar="FILE", help="open this database file instead of the per-user one"
    )
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--app-db"]:
        # `AppDbNotes --app-db status`: the app-db command line, on this app's Database, from the
        # shipped app itself (a frozen app has no `app-db` script and no pyproject.toml beside it).
        from app_db.cli import main as app_db_main

        return app_db_main(["--database", "demo_app.db:database", *argv[1:]])
    args = parse_args(argv)
    # app_db refuses relative paths (a desktop app's working folder is arbitrary);
    # on a command line, relative to the current folder is what the user means.
    # abspath, not resolve(): that would turn a mapped drive Z:\ into \\server\share.
    path = Path(os.path.abspath(args.path.expanduser())) if args.path is not None else None
    if args.headless:
        from .headless import run_headless

        return run_headless(path)
    from .gui import run_gui

    return run_gui(path)


if __name__ == "__main__":
    sys.exit(main())
