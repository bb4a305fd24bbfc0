"""A new user's first day with app-db: each rough edge they hit, run in-process through app_db.cli.main(argv)."""

from __future__ import annotations

import itertools
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from test_cli import CREATE_NOTE, INITIAL, TITLE, Cli

from app_db import cli as app_db_cli

APP_MODULE = '''
from pathlib import Path

import peewee

from app_db import Database

HERE = Path(__file__).resolve().parent


class Note(peewee.Model):
    body = peewee.TextField()
    {fields}

    class Meta:
        table_name = "note"


database = Database("FirstDay", migrations=HERE / "migrations", path=HERE / "app.sqlite3", models={models})


def open_database():
    """What README's quickstart does: locate, migrate, create tables."""
    return database.register_models([Note])
'''

NUMBERS = itertools.count()


class App(Cli):
    """A tiny app (a module of its own name, migrations/, app.sqlite3) in tmp_path; app-db runs on it in-process.

    add(), add_both(), applied() and columns() are test_cli's.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys
        self.migrations = root / "migrations"
        self.migrations.mkdir()
        self.path = root / "app.sqlite3"
        self.module = f"first_day_app_{next(NUMBERS)}"  # a module of its own: sys.modules keeps what was imported
        for name in ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(root)
        monkeypatch.setattr(sys, "path", list(sys.path))
        self.write_app()

    def write_app(self, fields: str = 'title = peewee.CharField(default="")', models: str = "[Note]") -> None:
        (self.root / f"{self.module}.py").write_text(APP_MODULE.format(fields=fields, models=models))
        sys.modules.pop(self.module, None)

    def run(self, *args: str, attribute: str = "database") -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of ``app-db --database MODULE:ATTRIBUTE ARGS``."""
        self.capsys.readouterr()
        code = app_db_cli.main(["--database", f"{self.module}:{attribute}", *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str, **kwargs: str) -> str:
        code, out, err = self.run(*args, **kwargs)
        assert code == 0, out + err
        return out

    def fails(self, expected_code: int, *args: str, **kwargs: str) -> str:
        """Run, expect ``expected_code``; return stdout and stderr together."""
        code, out, err = self.run(*args, **kwargs)
        assert code == expected_code, out + err
        return out + err



@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> App:
    return App(tmp_path, monkeypatch, capsys)


# Looking never migrates -----------------------------------------------------------
@pytest.mark.parametrize(
    "command", [["path"], ["status"], ["check"], ["check", "--file"], ["migrate", "--dry-run"], ["schema"]]
)
def test_a_factory_given_as_the_database_is_never_called(app, command):
    app.add_both()
    output = app.fails(2, *command, attribute="open_database")
    assert "is a function" in output and "never calls it" in output and f"{app.module}:database" in output
    assert not app.path.exists()  # open_database() would have created and migrated it


# check: the repository, and a real file on request --------------------------------
def test_check_of_the_repository_passes_while_the_local_file_has_pending_migrations(app):
    app.add_both()
    app.ok("migrate", "--to", INITIAL)
    out = app.ok("check")  # CI and pre-commit: the developer's own file is not the repository's business
    assert out.startswith("ok: 2 migrations valid") and "No database file was checked" in out
    output = app.fails(1, "check", "--file")
    assert f"{app.path} has 1 pending migration ({TITLE}); run `app-db migrate`." in output


def test_check_file_compares_the_real_file_with_the_models(app):
    app.add_both()
    app.ok("migrate")
    connection = sqlite3.connect(app.path)  # a user's file changed outside the migrations
    connection.execute("ALTER TABLE note ADD COLUMN archived INTEGER")
    connection.commit()
    connection.close()
    before = app.path.read_bytes()
    assert app.ok("check").startswith("ok: ")
    output = app.fails(1, "check", "--file")
    assert f"problem: The models lack note.archived, which the database {app.path} has." in output
    assert output.count("hint: ") == 1 and "changed outside the migrations" in output
    assert app.path.read_bytes() == before


def test_check_file_path_checks_that_file_and_a_missing_one_is_not_created(app):
    app.add_both()
    app.ok("migrate")
    other = app.root / "users-copy.sqlite3"
    assert "no database at" in app.fails(1, "check", "--file", str(other))
    assert not other.exists()
    app.ok("backup", str(other))
    assert f"{other} is up to date. The models match both." in app.ok("check", "--file", str(other))
    assert f"{other} is up to date. The models match both." in app.ok("check", "--path", str(other))


def test_check_says_plainly_when_no_models_were_given_to_compare(app):
    app.write_app(models="[]")
    app.add_both()
    app.ok("migrate")
    out = app.ok("check", "--file")
    assert "note: No models were given" in out and f"the tables of {app.path} were not compared" in out
    assert "match" not in out and "build what the models describe" not in out


def test_drift_says_which_side_is_behind_and_gives_the_hint_once(app):
    app.add_both()
    app.add("003_archive.py", "20240603_090000_archive", 'schema.add_column("note", "archived", peewee.BooleanField(default=False))')
    app.write_app(fields="pinned = peewee.BooleanField(default=False)\n    starred = peewee.BooleanField(default=False)")
    output = app.fails(1, "check")
    problems = [line for line in output.splitlines() if line.startswith("problem: ")]
    assert "problem: The models lack note.archived, which the migrations add." in problems
    assert "problem: The models lack note.title, which the migrations add." in problems
    assert "problem: The migrations lack note.pinned, which the models have." in problems
    assert "problem: The migrations lack note.starred, which the models have." in problems
    assert output.count("makemigration") == 1  # the fix, once


def test_the_development_launch_says_which_side_lacks_a_column(app):
    from app_db import SchemaDriftError

    app.add("001_initial.py", INITIAL, CREATE_NOTE)
    app.ok("migrate")
    sys.path.insert(0, str(app.root))
    module = __import__(app.module)
    with pytest.raises(SchemaDriftError) as caught:
        module.database.configured(env="development", path=app.path).register_models([module.Note])
    message = str(caught.value)
    assert message.startswith(f"The database {app.path} lacks note.title, which the models have")
    assert message.count("makemigration") == 1


# status -----------------------------------------------------------------------------
def record_newer_migration(path: Path) -> None:
    """What a newer app version leaves in the file: a migration this one does not ship."""
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO app_db_migrations (id, name, file, checksum, applied_at, duration) "
        "VALUES ('20990101_000000_future', 'Future', '099_future.py', NULL, '2099-01-01T00:00:00+00:00', 0)"
    )
    connection.commit()
    connection.close()


def test_status_of_a_too_new_file_says_so_in_its_state_line_and_exits_1(app):
    app.add_both()
    app.ok("migrate")
    record_newer_migration(app.path)
    for args in (["status"], ["status", "--json"]):
        assert app.run(*args)[0] == 1
    output = app.fails(1, "status")
    state = next(line for line in output.splitlines() if line.startswith("State"))
    assert "too new" in state and "refuses to open it" in state
    assert "was updated by a newer version" in output  # the launch's own message, said once
    assert output.count("was updated by a newer version") == 1


def test_status_shows_a_migration_that_cannot_be_loaded_and_exits_1(app):
    app.add_both()
    app.ok("migrate", "--to", INITIAL)
    app.add("002_add_title.py", TITLE, 'schema.add_column("note", "title", peewee.CharField(default="")')  # no ")"
    output = app.fails(1, "status")
    assert "1 migration cannot be loaded" in output
    assert [line for line in output.splitlines() if line.startswith(TITLE)][0].endswith("pending  ! cannot be loaded")
    assert "002_add_title.py" in output and "SyntaxError" in output
    assert app.run("status", "--json")[0] == 1


def test_status_times_carry_their_offset_from_utc(app, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        app.add_both()
        app.ok("migrate")
        out = app.ok("status")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert len(re.findall(r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30$", out, re.M)) == 2


def test_status_names_each_changed_migration_by_id_and_file(app):
    app.add_both()
    app.ok("migrate")
    for filename in ("001_initial.py", "002_add_title.py"):
        with open(app.migrations / filename, "a") as file:
            file.write("# edited after shipping\n")
    out = app.ok("status", "--env", "development")
    assert (
        f"changed since applied: {INITIAL} ({app.migrations / '001_initial.py'}), "
        f"{TITLE} ({app.migrations / '002_add_title.py'})."
    ) in out
