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
    assert "note: No models were given" in out and f"nor the tables of {app.path}." in out
    assert out.count("No models were given") == 1
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
    assert app.run("status")[0] == 0  # production's launch warns and starts
    out = app.fails(1, "status", "--env", "development")  # development's launch refuses
    assert (
        f"changed since applied: {INITIAL} ({app.migrations / '001_initial.py'}), "
        f"{TITLE} ({app.migrations / '002_add_title.py'})."
    ) in out


# Short ids, one reading -------------------------------------------------------------
def test_migration_tester_takes_the_short_ids_the_command_line_takes(app, migration_tester):
    app.add_both()
    sys.path.insert(0, str(app.root))
    database = __import__(app.module).database
    tester = migration_tester(database)
    assert tester.migrate_to("001").current == INITIAL  # the file number
    assert tester.migrate_to("20240602").current == TITLE  # a unique prefix
    assert tester.migrate_to("001_initial").current == INITIAL  # the file's name
    with pytest.raises(AssertionError, match="matches several migrations"):
        tester.migrate_to("2024060")
    assert app.ok("migrate", "--to", "001") and app.applied() == [INITIAL]


def test_migrate_to_an_older_id_says_to_roll_back_and_changes_nothing(app):
    app.add_both()
    app.ok("migrate")
    before = app.path.read_bytes()
    for args in (["migrate", "--to", "001"], ["migrate", "--to", "001", "--dry-run"]):
        output = app.fails(2, *args)
        assert f"{INITIAL} is older than {TITLE}" in output and f"`app-db rollback --to {INITIAL}`" in output
    assert app.path.read_bytes() == before
    assert "Nothing to migrate" in app.ok("migrate", "--to", TITLE)  # the current one is no error


# Typing mistakes --------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, suggestion", [(["statsu"], "did you mean 'status'?"), (["--env", "prod", "path"], "did you mean 'production'?")]
)
def test_a_mistyped_command_or_choice_gets_did_you_mean(app, args, suggestion):
    assert suggestion in app.fails(2, *args)


def test_makemigrations_is_makemigration_for_django_hands(app):
    app.add_both()
    assert app.ok("makemigrations", "add nothing").strip() == "No changes: models and migrations agree."


@pytest.mark.parametrize(
    "pyproject, expected",
    [
        ('[tool.app_db]\ndatabase = "{module}:database"\n', "app-db reads [tool.app-db] (with a hyphen)"),
        ('[tool.app-db]\ndatbase = "{module}:database"\n', "has no setting 'datbase'; did you mean 'database'?"),
    ],
)
def test_a_misspelt_pyproject_setting_gets_a_hint(app, pyproject, expected):
    (app.root / "pyproject.toml").write_text(pyproject.format(module=app.module))
    app.capsys.readouterr()
    assert app_db_cli.main(["path"]) == 2
    assert expected in app.capsys.readouterr().err


def test_an_unknown_pyproject_setting_beside_the_database_is_a_warning(app):
    (app.root / "pyproject.toml").write_text(f'[tool.app-db]\ndatabase = "{app.module}:database"\nenv = "test"\n')
    app.capsys.readouterr()
    assert app_db_cli.main(["path"]) == 0
    out, err = app.capsys.readouterr()
    assert out.strip() == str(app.path) and "has no setting 'env'" in err


def test_a_relative_path_points_to_the_user_data_folder_not_the_install_folder(app):
    (app.root / f"{app.module}.py").write_text("from app_db import Database\ndatabase = Database('X', path='app.sqlite3')\n")
    output = app.fails(2, "path")
    assert "per-user data folder" in output and "user_data_path" in output and "__file__" not in output


# Output said once, and all of it ----------------------------------------------------
def test_verbose_says_each_step_once_and_rollback_names_its_backup(app):
    app.add_both()
    code, out, err = app.run("migrate", "-v")
    assert code == 0 and (out + err).count(f"Applying {INITIAL}") + (out + err).count(f"migration {INITIAL}") == 1
    code, out, err = app.run("rollback", "-v")
    assert code == 0 and (out + err).count(TITLE) == 2  # "Rolling back ..." and the backup's name
    backup = next((app.root / "backups").glob("*before-rollback*"))
    assert f"Backup taken before: {backup}" in out and "Backed up" not in err
    copy = Path(app.ok("backup", "copy.sqlite3").strip())
    code, out, err = app.run("restore", str(copy), "-v")
    assert code == 0 and (out + err).count(f"Restored {app.path} from {copy}") == 1


def test_rollback_of_more_migrations_than_are_applied_counts_in_the_singular(app):
    app.add_both()
    app.ok("migrate", "--to", INITIAL)
    assert "only 1 is applied" in app.fails(2, "rollback", "--steps", "2")


def test_new_transliterates_a_description_in_other_letters(app):
    app.add_both()
    written = Path(app.ok("new", "Ünïcode & spaces!").strip())
    assert written.name == "003_unicode_spaces.py"
    assert 'name = "Ünïcode & spaces!"' in written.read_text() and "class UnicodeSpaces(Migration):" in written.read_text()


def test_makemigrations_rename_question_defaults_to_keeping_the_data(app, monkeypatch):
    import io

    app.add("001_initial.py", INITIAL, CREATE_NOTE, 'schema.drop_table("note")')
    app.write_app(fields="", models="[Note]")
    (app.root / f"{app.module}.py").write_text(
        (app.root / f"{app.module}.py").read_text().replace("body = peewee.TextField()", "text = peewee.TextField()")
    )

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("\n"))  # the user presses Enter
    out = app.ok("makemigration", "rename body")
    assert "Was note.body renamed to note.text? (y: rename it, keeping its values; n: drop body, add text) [Y/n]" in out
    written = Path(out.strip().splitlines()[-1].split("] ")[-1])
    assert 'schema.rename_column("note", "body", "text")' in written.read_text()


def test_a_table_that_already_exists_points_to_stamp(app):
    app.add_both()
    connection = sqlite3.connect(app.path)  # made by the app before it used migrations
    connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL, legacy TEXT)")
    connection.commit()
    connection.close()
    output = app.fails(1, "migrate")
    assert "already exists with columns" in output and "`app-db stamp ID`" in output
    assert ".." not in output.replace("...", "")


# A long-lived app's own file ----------------------------------------------------------
LEGACY_APP = '''
from pathlib import Path

import peewee

from app_db import Database
from real_world_schemas import sort_key

HERE = Path(__file__).resolve().parent


def register_functions(db):
    db.register_function(sort_key, "title_sort", 1)


class Folder(peewee.Model):
    id = peewee.TextField(primary_key=True)
    title = peewee.TextField(default="")
    created_time = peewee.IntegerField()
    updated_time = peewee.IntegerField()
    parent_id = peewee.TextField(default="")

    class Meta:
        table_name = "folders"


class Note(peewee.Model):
    id = peewee.TextField(primary_key=True)
    parent_id = peewee.TextField(default="")
    title = peewee.TextField(default="", index=True)
    body = peewee.TextField(default="")
    created_time = peewee.IntegerField()
    updated_time = peewee.IntegerField(index=True)
    is_conflict = peewee.IntegerField(default=0)
    latitude = peewee.DecimalField(default=0)
    author = peewee.TextField(default="")
    source_url = peewee.TextField(default="")
    is_todo = peewee.IntegerField(default=0)
    todo_due = peewee.IntegerField(default=0)
    order = peewee.DecimalField(default=0)
    markup_language = peewee.IntegerField(default=1)
    user_data = peewee.TextField(column_name="user data", default="{{}}")

    class Meta:
        table_name = "notes"


class Tag(peewee.Model):
    id = peewee.TextField(primary_key=True)
    title = peewee.TextField(default="")
    created_time = peewee.IntegerField()

    class Meta:
        table_name = "tags"


class NoteTag(peewee.Model):
    id = peewee.TextField(primary_key=True)
    note = peewee.ForeignKeyField(Note, column_name="note_id", on_delete="CASCADE", index=False)
    tag = peewee.ForeignKeyField(Tag, column_name="tag_id", on_delete="CASCADE", index=False)
    created_time = peewee.IntegerField()

    class Meta:
        table_name = "note_tags"
        indexes = ((("note",), False),)


class ItemChange(peewee.Model):
    item_type = peewee.IntegerField(column_name="item type")
    item_id = peewee.TextField(column_name="item id")
    type = peewee.IntegerField()
    created_time = peewee.IntegerField()

    class Meta:
        table_name = "item changes"


class Settings(peewee.Model):
    key = peewee.TextField(primary_key=True)
    value = peewee.TextField(null=True)

    class Meta:
        table_name = "settings"
        without_rowid = True


database = Database("Legacy", migrations=HERE / "migrations", path=HERE / "app.sqlite3", models=[{models}],
                    on_connect=register_functions)
'''


def test_check_file_on_a_long_lived_apps_hand_written_schema_finds_only_real_differences(app):
    from real_world_schemas import SCHEMAS, build, migration_body

    notes = SCHEMAS["notes"]
    build(notes, app.path)  # the file years of releases left: comments in DDL, FTS5, WITHOUT ROWID, triggers
    body = migration_body(notes)
    app.add("001_legacy.py", INITIAL, body)
    (app.root / f"{app.module}.py").write_text(LEGACY_APP.format(models="Folder, Note, Tag, NoteTag, ItemChange, Settings"))
    assert INITIAL in app.ok("stamp", INITIAL)  # adopted as README says
    before = app.path.read_bytes()
    out = app.ok("check", "--file")
    assert f"{app.path} is up to date. The models match both." in out, out
    # The app's rows change under a model that lacks a column: a real difference, named once, nothing written.
    connection = sqlite3.connect(app.path)
    connection.execute("ALTER TABLE settings ADD COLUMN scope TEXT")
    connection.commit()
    connection.close()
    before = app.path.read_bytes()
    output = app.fails(1, "check", "--file")
    problems = [line for line in output.splitlines() if line.startswith("problem: ")]
    assert problems == [f"problem: The models lack settings.scope, which the database {app.path} has."], output
    assert app.path.read_bytes() == before


HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")  # the app is saving: the write lock is held, nothing committed yet
connection.execute("INSERT INTO note (body, title) VALUES ('unsaved', '')")
print("holding", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


def test_check_file_reads_a_file_the_running_app_is_writing_to_and_changes_nothing(app):
    import subprocess

    app.add_both()
    app.ok("migrate")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(app.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert f"{app.path} is up to date. The models match both." in app.ok("check", "--file")
        assert app.run("status")[0] == 0
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert sqlite3.connect(app.path).execute("SELECT count(*) FROM note").fetchone() == (0,)
