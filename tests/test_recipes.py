"""README's splash recipes (docs/recipes/) are the files themselves, and each works against a real pending migration.

Each recipe runs in its own process under a private Xvfb, on a real file with one pending migration: one that
succeeds, one during which the user closes the splash (the window manager's close, WM_DELETE_WINDOW in Tk, close()
in Qt), and one that fails. Skipped, with the reason, only where Xvfb, Tk or PySide6 is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, migration_source
from demo_helpers import start_virtual_display

pytestmark = pytest.mark.gui

RECIPES = REPO / "docs" / "recipes"
RECIPE_NAMES = ["tk_splash", "tk_splash_worker", "qt_splash"]
INITIAL, SLOW = "20240601_090000_initial", "20240602_090000_slow"

# The pending migration: says it has started (so the test can close the window), then works in statements long
# enough for keep_alive to be called, for about half a second (or, when the window is closed, until it is
# stopped; 60 s at most, so a recipe that ignores the close fails instead of hanging).
SLOW_UP = '''
import gate
gate.migrating.set()
deadline = time.monotonic() + (60 if gate.SCENARIO == "close" else 0.5)
while time.monotonic() < deadline:
    schema.sql("SELECT count(*) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) SELECT i FROM n)")
if gate.SCENARIO == "fail":
    raise ValueError("the migration is broken")
schema.sql("CREATE TABLE tag (name TEXT)")
'''

DRIVER = '''
import json, sys, threading
sys.path[:0] = [{recipes!r}, {root!r}]
import gate
gate.SCENARIO = sys.argv[2]
import peewee
from app_db import AppDbError, Database
recipe = __import__(sys.argv[1])

class Note(peewee.Model):
    body = peewee.TextField()

database = Database("RecipeTest", migrations={migrations!r}, path={path!r}, env="production")


def close_when_migrating(close):
    """The user closes the splash once the migration has started (polled on the GUI thread)."""
    return lambda: gate.migrating.is_set() and sys.argv[2] == "close" and not gate.closed and (gate.closed.append(1) or close())


if sys.argv[1].startswith("tk"):
    import tkinter
    original_init = tkinter.Tk.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        close = close_when_migrating(lambda: self.tk.call(self.protocol("WM_DELETE_WINDOW")))

        def poll():
            close()
            self.after(20, poll)
        self.after(20, poll)
    tkinter.Tk.__init__ = init

    def windows_left():
        root = tkinter._default_root
        return 0 if root is None else 1
else:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])

    def close_visible():
        for widget in QApplication.topLevelWidgets():
            if widget.isVisible():
                widget.close()
    timer = QTimer()
    timer.timeout.connect(close_when_migrating(close_visible))
    timer.start(20)

    def windows_left():
        return sum(widget.isVisible() for widget in QApplication.topLevelWidgets())

outcome = {{}}
try:
    report = recipe.open_database(database, [Note])
except AppDbError as error:
    outcome.update(error=type(error).__name__, cause=type(error.__cause__).__name__, message=str(error))
else:
    if report is None:
        outcome["cancelled"] = True
    else:
        outcome.update(applied=list(report.applied), names=[entry.name for entry in report.applied])
        Note.create(body="written on the main thread")  # the models are bound where the app runs
        outcome["notes"] = Note.select().count()
outcome["windows_left"] = windows_left()
outcome["main_thread_only"] = threading.active_count() == 1
print(json.dumps(outcome))
'''


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    server, reason = start_virtual_display(end_with_this_process=True)  # one test opens Tk in this process
    if server is None:
        pytest.skip(f"recipe tests skipped: no X server could start ({reason})")
    yield server.name
    server.release()


def run_recipe(tmp_path: Path, display: str, name: str, scenario: str) -> tuple[dict, Path]:
    pytest.importorskip("tkinter" if name.startswith("tk") else "PySide6.QtWidgets")
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    path = tmp_path / "app.sqlite3"
    (tmp_path / "gate.py").write_text("import threading\nmigrating = threading.Event()\nclosed = []\nSCENARIO = ''\n")
    (migrations / "001_initial.py").write_text(migration_source(
        INITIAL, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")', name="Create notes"))
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from app_db import Database
        Database("RecipeTest", migrations={str(migrations)!r}, path={str(path)!r}, env="production").register_models([])
    """)], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    (migrations / "002_slow.py").write_text(migration_source(SLOW, SLOW_UP, name="Slow step", imports="import time"))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(recipes=str(RECIPES), root=str(tmp_path), migrations=str(migrations), path=str(path)))
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
    finished = subprocess.run([sys.executable, str(driver), name, scenario], capture_output=True, text=True,
                              env=env, timeout=120)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1]), path


def applied(path: Path) -> list[str]:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT id FROM app_db_migrations ORDER BY id")]
    finally:
        connection.close()


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_readme_shows_each_recipe_exactly_as_the_file_holds_it(name):
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert (RECIPES / f"{name}.py").read_text() in blocks


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_a_recipe_migrates_behind_its_splash_and_binds_the_models_on_the_main_thread(tmp_path, display, name):
    outcome, path = run_recipe(tmp_path, display, name, "migrate")
    assert outcome["applied"] == [SLOW] and outcome["names"] == ["Slow step"]
    assert outcome["notes"] == 1 and outcome["windows_left"] == 0
    assert applied(path) == [INITIAL, SLOW]


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_closing_a_recipes_splash_stops_the_update_and_changes_nothing(tmp_path, display, name):
    outcome, path = run_recipe(tmp_path, display, name, "close")
    assert outcome == {"cancelled": True, "windows_left": 0, "main_thread_only": True}
    assert applied(path) == [INITIAL]


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_a_failing_migration_reaches_the_app_from_a_recipe_after_its_splash_is_gone(tmp_path, display, name):
    outcome, path = run_recipe(tmp_path, display, name, "fail")
    assert outcome["error"] == "MigrationError" and outcome["cause"] == "ValueError"
    assert "the migration is broken" in outcome["message"] and outcome["windows_left"] == 0
    assert applied(path) == [INITIAL]


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    start = text.index(f"## {title}\n")
    return text[start:text.index("\n## ", start + 1)]


def test_add_it_to_your_app_works_as_written_and_its_tool_table_finds_the_database(tmp_path):
    """The quickstart's three files, copied from README into a fresh project: a launch, the models, app-db status."""
    section = readme_section("Add it to your app")
    blocks = re.findall(r"```(?:python|toml)\n(.*?)```", section, flags=re.S)
    files = {block.split("\n", 1)[0].split()[1]: block for block in blocks}
    assert set(files) == {"myapp/db.py", "myapp/migrations/001_initial.py", "pyproject.toml"}
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "migrations" / "__init__.py").write_text("")
    env = {**os.environ, "APP_DB_PATH": str(tmp_path / "data" / "notes.sqlite3"), "PYTHONPATH": str(REPO),
           "HOME": str(tmp_path / "home")}
    launch = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        from myapp.db import Note, database, open_database
        report = open_database()
        Note.create(body="milk, eggs")
        print(report)
        print(Note.select().count(), database.models == [Note])
        database.close()
    """)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert launch.returncode == 0, launch.stderr
    assert launch.stdout.splitlines() == [
        f"Applied 1 migration to {tmp_path / 'data' / 'notes.sqlite3'}: 20240601_090000_initial (Create notes).",
        "1 True",
    ]
    status = subprocess.run([sys.executable, "-m", "app_db", "status"], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=60)
    assert status.returncode == 0, status.stderr
    assert str(tmp_path / "data" / "notes.sqlite3") in status.stdout and "Create notes" in status.stdout


def test_tk_update_on_a_closed_window_stops_the_batch_as_a_callback_error_caused_by_tclerror(project, display, monkeypatch):
    """What Tk really raises once the user closed the splash reaches the app as CallbackError's cause."""
    tkinter = pytest.importorskip("tkinter")
    from app_db import CallbackError, transaction

    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setattr(transaction, "KEEP_ALIVE_SECONDS", 0.0)
    project.add("001_big.py", "20240601_090000_big", '''
        schema.sql("CREATE TABLE big (x)")
        schema.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) INSERT INTO big SELECT i FROM n")
    ''')
    from tkinter import ttk

    root = tkinter.Tk()
    bar = ttk.Progressbar(root, mode="indeterminate")
    bar.pack()

    def keep_alive():  # a splash's usual keep_alive: repaint, move the bar
        root.update()
        bar.step(5)

    root.destroy()  # the user closed it
    with pytest.raises(CallbackError) as caught:
        project.database(keep_alive=keep_alive).register_models([])
    assert isinstance(caught.value.__cause__, tkinter.TclError)
    assert "keep_alive callback stopped the batch" in str(caught.value) and "TclError" in str(caught.value)
    assert project.applied() == []
