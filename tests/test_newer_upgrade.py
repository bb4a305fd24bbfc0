"""The tracking table migrates itself, and the previous release still opens a file so upgraded.

The previous release is the code of commit 606ab1a, kept as a wheel in
tests/data/previous_release/ (build_previous_release.sh rebuilt it from git;
this test needs no git history). A wheel is a zip: a subprocess with it
first on sys.path runs that release's app_db against the same file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, run_python

WHEEL = next((REPO / "tests" / "data" / "previous_release").glob("app_db-*.whl"), None)
INITIAL = "20240601_090000_initial"
TITLE = "20240602_090000_add_title"
PINNED = "20240603_090000_add_pinned"
ADDED = ["app_name", "app_version", "backward_compatible"]

pytestmark = pytest.mark.skipif(WHEEL is None, reason="tests/data/previous_release holds no wheel")


def previous_release(project, code: str) -> dict:
    """Run ``code`` under the previous release's app_db (``database`` is the project's Database); return its JSON."""
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(WHEEL)!r})
        import app_db
        assert app_db.__file__.startswith({str(WHEEL)!r}), app_db.__file__
        from app_db import Database
        database = Database("TestApp", migrations={str(project.migrations)!r}, path={str(project.path)!r},
                            env="production")
        result = {{}}
    """) + textwrap.dedent(code) + "\nprint(json.dumps(result))\n"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "APP_ENV", "APP_DB_PATH")}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                               cwd=project.root)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def tracking_columns(project) -> list[str]:
    return [row[1] for row in project.rows("PRAGMA table_info(app_db_migrations)")]


def test_a_file_of_the_previous_release_gains_the_new_columns_only_when_written(project):
    project.add("001_initial.py", INITIAL, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")')
    made = previous_release(project, """
        result["applied"] = database.register_models([]).applied
    """)
    assert made["applied"] == [INITIAL]
    old_columns = tracking_columns(project)
    assert not set(ADDED) & set(old_columns)  # the previous release's table

    reader = project.database(app_version="2.0.0").configured(read_only=True)
    assert [status.app_version for status in reader.status()] == [None]  # an old table reads as "not recorded"
    reader.close()
    project.launch(app_version="2.0.0")  # nothing pending: the no-op launch only reads
    assert tracking_columns(project) == old_columns

    project.add("002_add_title.py", TITLE, 'schema.add_column("note", "title", peewee.TextField(null=True))')
    project.launch(app_version="2.0.0")

    assert tracking_columns(project) == old_columns + ADDED
    assert project.rows("SELECT id, app_name, app_version, backward_compatible FROM app_db_migrations ORDER BY id") == [
        (INITIAL, None, None, None),
        (TITLE, "TestApp", "2.0.0", 0),
    ]


def test_the_previous_release_opens_a_file_whose_tracking_table_this_release_upgraded(project):
    project.add("001_initial.py", INITIAL, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")')
    previous_release(project, 'database.register_models([])')
    project.add("002_add_title.py", TITLE, 'schema.add_column("note", "title", peewee.TextField(null=True))')
    project.launch(app_version="2.0.0")  # upgrades the table, records TITLE with its version
    assert tracking_columns(project)[-3:] == ADDED

    opened = previous_release(project, """
        result["no_op"] = database.register_models([]).applied
        result["status"] = [[s.id, s.pending] for s in database.status()]
    """)
    project.add("003_add_pinned.py", PINNED, 'schema.add_column("note", "pinned", peewee.BooleanField(null=True))')
    migrated = previous_release(project, """
        result["applied"] = database.register_models([]).applied
    """)

    assert opened == {"no_op": [], "status": [[INITIAL, False], [TITLE, False]]}
    assert migrated == {"applied": [PINNED]}
    assert project.rows("SELECT id, app_version FROM app_db_migrations ORDER BY id") == [
        (INITIAL, None),
        (TITLE, "2.0.0"),
        (PINNED, None),  # the previous release leaves the new columns NULL
    ]
    assert [status.app_version for status in project.database().status()] == [None, "2.0.0", None]


@pytest.mark.posix_only(reason="SIGKILL")
def test_a_launch_killed_while_upgrading_leaves_the_previous_releases_table_as_it_was(project):
    project.add("001_initial.py", INITIAL, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")')
    previous_release(project, 'database.register_models([])')
    old_columns = tracking_columns(project)
    # The power cut: the process dies inside the first migration, after the table was upgraded in the transaction.
    dying = project.add("002_add_title.py", TITLE, 'schema.add_column("note", "title", peewee.TextField(null=True))\n'
                        'import os, signal; os.kill(os.getpid(), signal.SIGKILL)')
    killed = run_python(f"""
        from app_db import Database
        Database("TestApp", migrations={str(project.migrations)!r}, path={str(project.path)!r},
                 env="production", app_version="2.0.0").register_models([])
    """)
    assert killed.returncode == -9, killed.stderr

    assert tracking_columns(project) == old_columns
    assert project.applied() == [INITIAL]
    dying.unlink()
    assert previous_release(project, """
        result["applied"] = database.register_models([]).applied
        result["status"] = [s.id for s in database.status()]
    """) == {"applied": [], "status": [INITIAL]}


def test_the_committed_wheel_is_the_previous_release(project):
    import zipfile

    with zipfile.ZipFile(WHEEL) as wheel:
        tracking = wheel.read("app_db/tracking.py").decode()
    assert "app_version" not in tracking  # 606ab1a: before versions were recorded
    assert Path(REPO / "tests" / "data" / "previous_release" / "build_previous_release.sh").is_file()
