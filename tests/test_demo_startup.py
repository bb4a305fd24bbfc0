"""The demo's no-op start pays for its database and nothing else: no argparse, typing or dataclasses, no plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from demo_app.__main__ import build_parser, parse_args

from conftest import REPO, migration_source, run_python


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "demo_app", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--headless"],
        ["--path", "notes.sqlite3"],
        ["--path=notes.sqlite3"],
        ["--path="],
        ["--headless", "--path", "a b/notes.sqlite3"],
        ["--path", "one.sqlite3", "--headless", "--path", "two.sqlite3"],
    ],
)
def test_the_usual_command_lines_read_as_argparse_reads_them(argv):
    assert parse_args(argv) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv, code, says",
    [
        (["--help"], 0, "--headless"),
        (["--bogus"], 2, "unrecognized arguments: --bogus"),
        (["--path"], 2, "expected one argument"),
        (["--headless=yes"], 2, "ignored explicit argument"),
        (["notes.sqlite3"], 2, "unrecognized arguments: notes.sqlite3"),
    ],
)
def test_anything_else_on_the_command_line_is_answered_by_argparse(argv, code, says):
    finished = run_demo(*argv)
    assert finished.returncode == code
    assert says in finished.stdout + finished.stderr


def test_an_abbreviated_option_still_works_through_argparse(tmp_path):
    finished = run_demo("--headl", "--pa", str(tmp_path / "notes.sqlite3"))
    assert finished.returncode == 0, finished.stderr
    assert f"Database: {tmp_path / 'notes.sqlite3'}" in finished.stdout


def test_a_headless_launch_with_nothing_pending_imports_no_front_end_module_and_no_migration(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    assert run_demo("--headless", "--path", str(path)).returncode == 0  # the fresh install
    done = run_python(f"""
        import json, sys
        before = set(sys.modules)
        from demo_app.__main__ import main
        code = main(["--headless", "--path", {str(path)!r}])
        new = set(sys.modules) - before
        print(json.dumps({{"code": code, "modules": sorted(new)}}))
    """)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0
    assert "Up to date: no migration was pending." in done.stdout
    front_end = {"argparse", "typing", "dataclasses", "tkinter", "app_db.runner", "app_db.cli", "playhouse"}
    assert sorted(name for name in result["modules"] if name.split(".")[0] in front_end or name in front_end) == []
    assert [name for name in result["modules"] if name.startswith("demo_app.migrations")] == []


def test_pending_on_an_up_to_date_file_imports_nothing_of_the_migrations_package(tmp_path):
    """As cheap as the no-op launch it comes before: an app asks pending() at every start to decide on a splash."""
    package = tmp_path / "shipped_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "001_initial.py").write_text(migration_source("20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")'))
    path = tmp_path / "app.sqlite3"
    launch = f"""
        import json, sys
        from app_db import Database
        database = Database("TestApp", path={str(path)!r}, migrations="shipped_migrations")
        pending = [entry.id for entry in database.pending()]
        print(json.dumps({{"pending": pending, "modules": [name for name in sys.modules if name.startswith("shipped_")]}}))
        database.register_models([])
    """
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    first = run_python(launch, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["pending"] == ["20240601_090000_initial"]

    again = run_python(launch, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1]) == {"pending": [], "modules": []}


def test_pending_still_lists_what_a_launch_would_apply(project):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")')
    project.database().register_models([])
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE b (x)")', name="More")
    database = project.database()
    assert [(entry.id, entry.name) for entry in database.pending()] == [("20240602_090000_more", "More")]
    assert database.register_models([]).applied == ["20240602_090000_more"]
    assert database.pending() == []
