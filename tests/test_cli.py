"""The app-db command line, run as the real console script against real files."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import migration_source

SCRIPT = Path(sys.executable).with_name("app-db")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app_db"]

CREATE_NOTE = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'
ADD_TITLE = 'schema.add_column("note", "title", peewee.CharField(default=""))'
INITIAL = "20240601_090000_initial"
TITLE = "20240602_090000_add_title"

APP_MODULE = '''
from pathlib import Path

import peewee

from app_db import Database

HERE = Path(__file__).resolve().parent


class Note(peewee.Model):
    body = peewee.TextField()
    title = {title_field}
    {extra_field}

    class Meta:
        table_name = "note"


database = Database("CliTest", migrations=HERE / "migrations", path=HERE / "app.sqlite3", models=[Note])
'''


class Cli:
    """A tiny app (myapp.py, migrations/, app.sqlite3) in tmp_path and a way to run app-db on it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.migrations = root / "migrations"
        self.migrations.mkdir()
        self.path = root / "app.sqlite3"
        self.write_app()

    def write_app(self, extra_field: str = "", title_field: str = 'peewee.CharField(default="")') -> None:
        """myapp.py; its Note model matches what add_both()'s migrations build unless told otherwise."""
        (self.root / "myapp.py").write_text(APP_MODULE.format(extra_field=extra_field, title_field=title_field))

    def add(self, filename: str, migration_id: str, up: str, down: str = "schema.sql('SELECT 1')", **kwargs) -> Path:
        target = self.migrations / filename
        target.write_text(migration_source(migration_id, up, down, **kwargs))
        return target

    def add_both(self) -> None:
        self.add("001_initial.py", INITIAL, CREATE_NOTE, 'schema.drop_table("note")', name="Initial schema")
        self.add("002_add_title.py", TITLE, ADD_TITLE, 'schema.drop_column("note", "title")', name="Add title")

    def run(self, *args: str, database: bool = True, env: dict = None, cwd: Path = None) -> subprocess.CompletedProcess:
        full_env = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE")}
        full_env.update(env or {})
        command = COMMAND + (["--database", "myapp:database"] if database else []) + list(args)
        return subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=cwd or self.root, timeout=60)

    def ok(self, *args: str, **kwargs) -> str:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(self, code: int, *args: str, **kwargs) -> str:
        """Run, expect exit ``code`` and one ``error:`` line on stderr; return that line."""
        result = self.run(*args, **kwargs)
        assert result.returncode == code, (result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        if code == 2 and lines and lines[0].startswith("usage:"):
            return result.stderr  # argparse's own usage error
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    def applied(self) -> list:
        connection = sqlite3.connect(self.path)
        try:
            return [row[0] for row in connection.execute("SELECT id FROM app_db_migrations ORDER BY id")]
        finally:
            connection.close()

    def columns(self, table: str) -> list:
        connection = sqlite3.connect(self.path)
        try:
            return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        finally:
            connection.close()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


# Finding the Database -----------------------------------------------------------
def test_path_prints_the_file_a_launch_would_open(cli):
    assert cli.ok("path").strip() == str(cli.path)
    assert cli.ok("path", "--path", "other.sqlite3").strip() == str(cli.root / "other.sqlite3")
    assert not cli.path.exists()  # looking never creates the file


def test_database_is_found_through_the_environment_variable(cli):
    assert cli.ok("path", database=False, env={"APP_DB_DATABASE": "myapp:database"}).strip() == str(cli.path)


def test_database_is_found_through_pyproject_in_a_parent_folder(cli):
    (cli.root / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.app-db]\ndatabase = "myapp:database"\n')
    below = cli.root / "src" / "deeper"
    below.mkdir(parents=True)
    assert cli.ok("path", database=False, cwd=below).strip() == str(cli.path)


def test_without_a_database_it_says_so_and_how_to_set_it(cli):
    line = cli.fails(2, "status", database=False)
    assert "No database is configured" in line
    assert "--database" in line and "$APP_DB_DATABASE" in line and "[tool.app-db]" in line


def test_pyproject_without_the_setting_is_named_in_the_error(cli):
    (cli.root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    line = cli.fails(2, "path", database=False)
    assert str(cli.root / "pyproject.toml") in line and "[tool.app-db]" in line


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("nosuchmodule:database", "no such module"),
        ("myapp:nothere", "has no attribute 'nothere'"),
        ("myapp", "is not module:attribute"),
        ("myapp:Path", "not an app_db.Database"),
    ],
)
def test_a_bad_module_attribute_is_a_usage_error(cli, spec, expected):
    assert expected in cli.fails(2, "--database", spec, "path", database=False)


def test_usage_errors_exit_2(cli):
    assert cli.run("rollback", "--steps", "0").returncode == 2
    assert cli.run("frobnicate").returncode == 2
    assert cli.run().returncode == 2  # no command: the help, on stderr


# status -------------------------------------------------------------------------
def test_status_lists_applied_and_pending_in_aligned_columns(cli):
    cli.add("001_initial.py", INITIAL, CREATE_NOTE, name="Initial schema")
    cli.ok("migrate")
    cli.add("002_add_title.py", TITLE, ADD_TITLE, name="Add title")
    out = cli.ok("status", "--env", "development")
    assert re.search(rf"^Database\s+{re.escape(str(cli.path))}$", out, re.M)
    assert re.search(r"^Environment\s+development$", out, re.M)
    header, first, second = out.strip().splitlines()[-3:]
    assert header.split() == ["ID", "NAME", "APPLIED"]
    assert first.startswith(INITIAL) and "Initial schema" in first and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$", first)
    assert second.startswith(TITLE) and second.endswith("pending")
    assert header.index("NAME") == first.index("Initial schema") == second.index("Add title")
    assert "\x1b[" not in out  # no colours when not a terminal


def test_status_json_is_for_scripts(cli):
    cli.add_both()
    cli.ok("migrate", "--to", INITIAL)
    data = json.loads(cli.ok("status", "--json"))
    assert data["database"] == str(cli.path) and data["environment"] == "production"
    assert data["current"] == INITIAL and data["pending"] == [TITLE]
    assert [(m["id"], m["state"]) for m in data["migrations"]] == [(INITIAL, "applied"), (TITLE, "pending")]


def test_status_flags_unknown_applied_ids_and_changed_checksums(cli):
    cli.add_both()
    cli.ok("migrate")
    (cli.migrations / "002_add_title.py").unlink()  # this "app version" does not have 002
    initial = cli.migrations / "001_initial.py"
    initial.write_text(initial.read_text() + "# edited after shipping\n")
    result = cli.run("status")
    assert result.returncode == 1  # as the launch, which refuses the file
    out = result.stdout
    assert re.search(rf"^{TITLE} .*unknown to this app version", out, re.M)
    assert re.search(rf"^{INITIAL} .*file changed since applied", out, re.M)
    assert "newer version of the app" in out


def test_status_of_a_missing_file_does_not_create_it(cli):
    cli.add_both()
    assert "not created yet" in cli.ok("status")
    assert not cli.path.exists()


# migrate ------------------------------------------------------------------------
def test_migrate_applies_pending_in_one_go_with_a_backup(cli):
    cli.add("001_initial.py", INITIAL, CREATE_NOTE)
    cli.ok("migrate")
    cli.add("002_add_title.py", TITLE, ADD_TITLE)
    out = cli.ok("migrate")
    assert f"Applying {TITLE}" in out and "Applied 1 migration" in out
    assert "Backup taken before:" in out and list((cli.root / "backups").iterdir())
    assert cli.applied() == [INITIAL, TITLE]
    assert "Nothing to migrate" in cli.ok("migrate")


def test_migrate_to_stops_after_the_given_id_and_accepts_the_file_number(cli):
    cli.add_both()
    cli.ok("migrate", "--to", "001")
    assert cli.applied() == [INITIAL]


def test_migrate_to_an_unknown_id_changes_nothing(cli):
    cli.add_both()
    assert "No migration has the id '20991231_000000_nope'" in cli.fails(2, "migrate", "--to", "20991231_000000_nope")
    assert not cli.path.exists()


def test_failed_migrate_is_one_error_line_and_leaves_the_file_as_it_was(cli):
    cli.add("001_initial.py", INITIAL, CREATE_NOTE)
    cli.ok("migrate")
    cli.add("002_add_title.py", TITLE, 'schema.sql("INSERT INTO missing VALUES (1)")')
    line = cli.fails(1, "migrate")
    assert TITLE in line and "Nothing was changed" in line
    assert cli.applied() == [INITIAL]
    result = cli.run("migrate", "--verbose")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_migrate_dry_run_prints_each_migrations_sql_in_order_and_changes_no_byte(cli):
    cli.add("001_initial.py", INITIAL, CREATE_NOTE)
    cli.ok("migrate")
    cli.add("002_add_title.py", TITLE, ADD_TITLE)
    cli.add("003_tag.py", "20240603_090000_tag", 'schema.sql("CREATE TABLE tag (label TEXT)")')
    before = cli.path.read_bytes()
    out = cli.ok("migrate", "--dry-run")
    assert cli.path.read_bytes() == before
    assert cli.applied() == [INITIAL]
    lines = out.splitlines()
    assert lines.index(f"-- {TITLE}: Add title") < lines.index('ALTER TABLE "note" ADD COLUMN "title" VARCHAR(255) NOT NULL DEFAULT \'\';')
    assert lines.index('ALTER TABLE "note" ADD COLUMN "title" VARCHAR(255) NOT NULL DEFAULT \'\';') < lines.index(
        "-- 20240603_090000_tag: Tag"
    ) < lines.index("CREATE TABLE tag (label TEXT);")


def test_dry_run_on_a_missing_file_does_not_create_it(cli):
    cli.add_both()
    assert 'CREATE TABLE "note"' in cli.ok("migrate", "--dry-run")
    assert not cli.path.exists()


# rollback -----------------------------------------------------------------------
def test_rollback_runs_down_newest_first(cli):
    cli.add_both()
    cli.add("003_tag.py", "20240603_090000_tag", 'schema.sql("CREATE TABLE tag (label TEXT)")', 'schema.sql("DROP TABLE tag")')
    cli.ok("migrate")
    out = cli.ok("rollback", "--to", INITIAL)
    assert out.index("Rolling back 20240603_090000_tag") < out.index(f"Rolling back {TITLE}")
    assert f"now at {INITIAL}" in out
    assert cli.applied() == [INITIAL] and cli.columns("note") == ["id", "body"]
    cli.ok("rollback")
    assert cli.applied() == []


def test_rollback_dry_run_prints_the_sql_and_changes_no_byte(cli):
    cli.add_both()
    cli.ok("migrate")
    before = cli.path.read_bytes()
    assert 'DROP COLUMN "title"' in cli.ok("rollback", "--dry-run")
    assert cli.path.read_bytes() == before


def test_rollback_of_a_migration_without_down_stops_before_any_change(cli):
    cli.add("001_initial.py", INITIAL, CREATE_NOTE, 'schema.drop_table("note")')
    cli.add("002_add_title.py", TITLE, ADD_TITLE, down=None)
    cli.add("003_tag.py", "20240603_090000_tag", 'schema.sql("CREATE TABLE tag (label TEXT)")', 'schema.sql("DROP TABLE tag")')
    cli.ok("migrate")
    line = cli.fails(1, "rollback", "--steps", "2")
    assert f"Cannot roll back {TITLE}" in line and "no down(self, schema)" in line and "Nothing was changed" in line
    assert cli.applied() == [INITIAL, TITLE, "20240603_090000_tag"]
    assert cli.fails(1, "rollback", "--steps", "2", "--dry-run").startswith(f"error: Cannot roll back {TITLE}")


def test_rollback_to_a_pending_migration_is_a_usage_error(cli):
    cli.add_both()
    cli.ok("migrate", "--to", INITIAL)
    assert "is not applied" in cli.fails(2, "rollback", "--to", TITLE)


# new ----------------------------------------------------------------------------
def test_new_writes_the_next_numbered_file_with_a_utc_id_and_stubs(cli):
    cli.add_both()
    written = Path(cli.ok("new", "Add user preferences!").strip())
    assert written == cli.migrations / "003_add_user_preferences.py"
    text = written.read_text()
    assert re.search(r'^    id = "\d{8}_\d{6}_add_user_preferences"$', text, re.M)
    assert 'name = "Add user preferences!"' in text and "class AddUserPreferences(Migration):" in text
    assert "def up(self, schema):" in text and "def down(self, schema):" in text
    # An unwritten stub fails loudly in check (and at launch), never runs as a silent no-op.
    out = cli.run("check")
    assert out.returncode == 1 and "up() is still the stub" in out.stdout and "003_add_user_preferences.py" in out.stdout


def test_new_gives_an_id_later_than_every_existing_one_so_check_stays_clean(cli):
    cli.add_both()
    cli.add("003_future.py", "20990101_000000_future", 'schema.sql("CREATE TABLE later (x)")', 'schema.sql("DROP TABLE later")')
    written = Path(cli.ok("new", "add tags").strip())
    migration_id = re.search(r'id = "(.*)"', written.read_text()).group(1)
    assert migration_id == "20990101_000001_add_tags"
    out = cli.run("check").stdout
    assert "renumber the files" not in out and "up() is still the stub" in out


def test_check_flags_a_down_that_is_still_the_stub(cli):
    written = Path(cli.ok("new", "add tags").strip())
    written.write_text(re.sub(r'raise NotImplementedError\(".*: up\(\) in .*"\)', 'schema.sql("CREATE TABLE tag (x)")', written.read_text()))
    result = cli.run("check")
    assert result.returncode == 1
    assert f"problem: {written}: down() is still the stub" in result.stdout and "up()" not in result.stdout


def test_new_never_overwrites_and_keeps_ids_unique(cli):
    first = Path(cli.ok("new", "add tags").strip())
    original = first.read_bytes()
    second = Path(cli.ok("new", "add tags").strip())
    assert (first.name, second.name) == ("001_add_tags.py", "002_add_tags.py")
    assert first.read_bytes() == original
    ids = [re.search(r'id = "(.*)"', path.read_text()).group(1) for path in (first, second)]
    assert ids[0] < ids[1]


def test_new_writes_into_a_migrations_package(cli):
    package = cli.root / "pkgapp" / "migrations"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("from app_db import Database\ndatabase = Database('X', migrations='pkgapp.migrations', path='/nonexistent/x.sqlite3')\n")
    (package / "__init__.py").write_text("")
    assert Path(cli.ok("--database", "pkgapp:database", "new", "first", database=False).strip()) == package / "001_first.py"


def test_new_with_a_description_without_letters_is_a_usage_error(cli):
    assert "describe the change" in cli.fails(2, "new", "!!!")


# check --------------------------------------------------------------------------
def test_check_passes_on_a_clean_project(cli):
    cli.add_both()
    assert cli.ok("check").startswith("ok: 2 migrations valid")
    cli.ok("migrate")
    before = cli.path.read_bytes()
    assert "is up to date. The models match both." in cli.ok("check", "--file")
    assert cli.path.read_bytes() == before


PROBLEMS = {
    "bad id": (lambda cli: cli.add("003_x.py", "2024_bad", "pass", name="Bad"), "does not match YYYYMMDD_HHMMSS_description"),
    "duplicate id": (lambda cli: cli.add("003_again.py", TITLE, "pass"), "is also used by"),
    "misnamed file": (lambda cli: (cli.migrations / "3-tags.py").write_text("x = 1\n"), "is not named NNN_description.py"),
    "import error": (
        lambda cli: cli.add("003_boom.py", "20240603_090000_boom", "pass", imports="import no_such_module"),
        "Cannot import migration",
    ),
    "no up": (
        lambda cli: (cli.migrations / "003_noup.py").write_text(
            'from app_db import Migration\n\nclass Step(Migration):\n    id = "20240603_090000_noup"\n'
        ),
        "has no up(self, schema)",
    ),
    "order": (lambda cli: cli.add("003_early.py", "20240101_090000_early", "pass"), "renumber the files"),
    "fails on empty database": (
        lambda cli: cli.add("003_broken.py", "20240603_090000_broken", 'schema.sql("SELECT * FROM nowhere")'),
        "On an empty database",
    ),
    "model drift": (lambda cli: cli.write_app(extra_field="pinned = peewee.BooleanField(default=False)"), "note.pinned"),
}


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_check_exits_1_on_each_kind_of_problem(cli, kind):
    cli.add_both()
    make_problem, expected = PROBLEMS[kind]
    make_problem(cli)
    result = cli.run("check")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    assert problems and any(expected in line for line in problems), result.stdout


def test_check_compares_column_types_of_the_models_with_the_migrations(cli):
    cli.add_both()
    cli.write_app(title_field="peewee.IntegerField(default=0)")  # the migrations make it VARCHAR(255)
    result = cli.run("check")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem: ")]
    assert problems == [
        "problem: To match the models, the migrations would have to change type of note.title: VARCHAR(255) -> INTEGER."
    ]
    assert result.stdout.count("hint: ") == 1 and "app-db makemigration" in result.stdout


def test_check_json_counts_the_migrations_even_when_one_has_a_problem(cli):
    cli.add_both()
    cli.add("003_boom.py", "20240603_090000_boom", "pass", imports="import no_such_module")
    data = json.loads(cli.run("check", "--json").stdout)
    assert data["ok"] is False and data["migrations"] == 3


def test_check_reports_database_problems_without_writing(cli):
    cli.add_both()
    cli.ok("migrate", "--to", INITIAL)
    initial = cli.migrations / "001_initial.py"
    initial.write_text(initial.read_text() + "# edited after shipping\n")
    before = cli.path.read_bytes()
    result = cli.run("check", "--file", "--json")
    assert result.returncode == 1
    messages = [problem["message"] for problem in json.loads(result.stdout)["problems"]]
    assert any("changed since it was applied" in message for message in messages)
    assert any("1 pending migration" in message for message in messages)
    assert cli.path.read_bytes() == before


# stamp, backup, restore ---------------------------------------------------------
def test_stamp_adopts_an_existing_database_without_running_migrations(cli):
    cli.add_both()
    connection = sqlite3.connect(cli.path)
    connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    connection.commit()
    connection.close()
    stamped = cli.ok("stamp", INITIAL)
    assert INITIAL in stamped and "Recorded 1 migration as applied without running it:" in stamped
    assert cli.applied() == [INITIAL]
    cli.ok("migrate")
    assert cli.applied() == [INITIAL, TITLE] and cli.columns("note") == ["id", "body", "title"]
    assert "No migration has the id" in cli.fails(2, "stamp", "20991231_000000_nope")


def test_backup_writes_a_copy_and_never_overwrites(cli):
    cli.add_both()
    assert "nothing to back up" in cli.fails(2, "backup")
    cli.ok("migrate")
    default = Path(cli.ok("backup").strip())
    assert default.parent == cli.root / "backups" and default.is_file()
    chosen = Path(cli.ok("backup", "copy.sqlite3").strip())
    assert chosen == cli.root / "copy.sqlite3"
    assert sqlite3.connect(chosen).execute("SELECT count(*) FROM app_db_migrations").fetchone() == (2,)
    assert "already exists" in cli.fails(2, "backup", "copy.sqlite3")


def test_restore_replaces_the_content_after_backing_up_the_current_file(cli):
    cli.add_both()
    cli.ok("migrate", "--to", INITIAL)
    copy = Path(cli.ok("backup", "early.sqlite3").strip())
    cli.ok("migrate")
    out = cli.ok("restore", "early.sqlite3")
    assert f"Restored {cli.path} from {copy}" in out and "before-restore" in out
    assert cli.applied() == [INITIAL]


def test_restore_refuses_a_file_that_is_not_sqlite(cli):
    cli.add_both()
    cli.ok("migrate")
    (cli.root / "notes.txt").write_text("not a database\n")
    before = cli.path.read_bytes()
    assert "is not a SQLite database" in cli.fails(1, "restore", "notes.txt")
    assert cli.path.read_bytes() == before


def test_restore_refuses_a_file_from_a_newer_app_version(cli):
    cli.add_both()
    cli.ok("migrate")
    newer = cli.root / "newer.sqlite3"
    connection = sqlite3.connect(newer)
    connection.execute("CREATE TABLE app_db_migrations (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, file TEXT, checksum TEXT, applied_at TEXT NOT NULL, duration REAL NOT NULL)")
    for migration_id in (INITIAL, TITLE, "20990101_000000_future"):  # what a newer version's launch records
        connection.execute(
            "INSERT INTO app_db_migrations VALUES (?, 'step', NULL, NULL, '2099-01-01T00:00:00+00:00', 0)", (migration_id,)
        )
    connection.commit()
    connection.close()
    assert "newer version" in cli.fails(1, "restore", "newer.sqlite3")
    assert cli.applied() == [INITIAL, TITLE]


def test_python_dash_m_app_db_is_the_same_command(cli):
    result = subprocess.run(
        [sys.executable, "-m", "app_db", "--database", "myapp:database", "path"],
        capture_output=True, text=True, cwd=cli.root, timeout=60,
    )
    assert (result.returncode, result.stdout.strip()) == (0, str(cli.path))
