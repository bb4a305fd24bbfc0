"""Where the file lives and how each environment behaves."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import peewee
import pytest

from app_db import ConfigurationError, Database, MigrationDefinitionError, SchemaDriftError

from conftest import REPO


def test_default_location_is_the_platformdirs_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    database = Database("NotesApp", app_author="Acme")
    assert database.path == tmp_path / "xdg" / "NotesApp" / "app.sqlite3"
    database.register_models([])
    assert database.path.is_file()  # the folder was created


def test_app_db_path_overrides_the_location_in_every_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DB_PATH", str(tmp_path / "chosen.sqlite3"))
    for env in ("production", "development", "test"):
        assert Database("NotesApp", env=env).path == tmp_path / "chosen.sqlite3"


def test_development_uses_a_separate_file_beside_the_real_one(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Database("NotesApp", env="development").path == tmp_path / "NotesApp" / "app-dev.sqlite3"
    assert Database("NotesApp", env="production").path == tmp_path / "NotesApp" / "app.sqlite3"


def test_environment_comes_from_app_env_and_defaults_to_production(monkeypatch):
    assert Database("NotesApp").env == "production"
    monkeypatch.setenv("APP_ENV", "development")
    assert Database("NotesApp").env == "development"
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ConfigurationError, match="staging"):
        Database("NotesApp").env


def test_test_environment_runs_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    database = Database("NotesApp", env="test")
    assert database.path is None
    database.register_models([])
    assert not (tmp_path / "NotesApp").exists()


def test_relative_paths_are_refused_because_they_depend_on_the_current_folder():
    with pytest.raises(ConfigurationError, match="relative"):
        Database("NotesApp", path="data/app.sqlite3").path
    with pytest.raises(ConfigurationError, match="relative"):
        Database("NotesApp", migrations="./migrations")


def test_development_raises_on_a_model_column_the_table_lacks(project):
    project.add("001_initial.py", "20240601_090000_initial", 'schema.create_table("note", {"body": peewee.TextField()})')

    class Note(peewee.Model):
        body = peewee.TextField()
        title = peewee.CharField()

        class Meta:
            table_name = "note"

    class Fresh(peewee.Model):
        label = peewee.CharField()

    with pytest.raises(SchemaDriftError, match=r"note\.title") as caught:
        project.database(env="development").register_models([Note, Fresh])
    assert caught.value.missing == [("note", "title")]
    # New tables are simply created; the drift check is for development only.
    assert project.rows("SELECT count(*) FROM fresh") == [(0,)]
    project.database(env="production").register_models([Note])


def test_development_refuses_a_changed_applied_migration(project):
    path = project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")')
    project.database(env="development").register_models([])
    path.write_text(path.read_text().replace("(x)", "(x, y)"))
    with pytest.raises(MigrationDefinitionError, match="001_initial.py"):
        project.database(env="development").register_models([])


def test_production_warns_about_a_changed_applied_migration_and_still_starts(project, caplog):
    path = project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")')
    project.database().register_models([])
    path.write_text(path.read_text().replace("(x)", "(x, y)"))
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE b (x)")')
    with caplog.at_level(logging.WARNING, logger="app_db"):
        assert project.database().register_models([]).applied == ["20240602_090000_more"]
    assert "001_initial.py" in caplog.text and "changed" in caplog.text
    assert project.database().status()[0].checksum_changed


def test_crlf_line_endings_are_not_a_change(project):
    path = project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")')
    project.database(env="development").register_models([])
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    project.database(env="development").register_models([])
    assert not project.database().status()[0].checksum_changed


def test_importing_app_db_does_no_io_and_pulls_in_nothing_heavy():
    code = """
import sys
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" else None)
before = set(sys.modules)
import app_db
new = set(sys.modules) - before
heavy = sorted(name for name in new if name.split(".")[0] in
               {"peewee", "playhouse", "platformdirs", "sqlite3", "pathlib", "typing", "dataclasses"})
files = [f for f in opened if isinstance(f, str) and not f.endswith((".py", ".pyc")) and "__pycache__" not in f
         and not f.rstrip("/").endswith(("app_db", "site-packages"))]
print(heavy, files)
"""
    result = run_bare_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_a_launch_with_nothing_pending_imports_only_what_it_needs(project):
    """The guard behind the launch-speed figures: no plan, runner or migrator, no pathlib, typing or platformdirs."""
    project.add("001_initial.py", "20240601_090000_initial", 'schema.sql("CREATE TABLE a (x)")')
    project.database().register_models([])
    code = f"""
import sys
import peewee, sqlite3
before = set(sys.modules)
from app_db import Database
Database("TestApp", migrations={str(project.migrations)!r}, path={str(project.path)!r}).register_models([])
new = set(sys.modules) - before
print(sorted(name for name in new if name.split(".")[0] in
      {{"playhouse", "platformdirs", "pathlib", "typing", "dataclasses", "hashlib", "importlib"}}
      or name in {{"app_db.runner", "app_db.backup", "app_db.migration_file", "app_db.plan"}}))
"""
    result = run_bare_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def run_bare_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with -S: site's start-up hooks (an editable install's finder imports
    pathlib, for one) stay out, so "not imported" means not imported by app_db."""
    site_packages = str(Path(peewee.__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), site_packages])}
    env.pop("APP_ENV", None)
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=60)


def test_a_path_under_a_regular_file_names_that_file(tmp_path):
    from app_db import DatabaseNotWritableError

    blocker = tmp_path / "regular"
    blocker.write_text("")
    with pytest.raises(DatabaseNotWritableError, match=f"{blocker} is a file, not a folder"):
        Database("NotesApp", path=blocker / "sub" / "app.sqlite3").register_models([])


def test_a_migration_older_than_the_newest_applied_runs_with_a_warning(project, caplog):
    project.add("002_b.py", "20240602_090000_b", 'schema.sql("CREATE TABLE b (x)")')
    project.database().register_models([])
    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")')  # merged from a branch
    with caplog.at_level(logging.WARNING, logger="app_db"):
        assert project.database().register_models([]).applied == ["20240601_090000_a"]
    assert "older than the newest applied" in caplog.text and "20240601_090000_a" in caplog.text
