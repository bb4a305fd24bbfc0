"""Types: a user's Migration subclass is checked against up()/down(), yet a missing down() stays a missing down()."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app_db import Migration

REPO = Path(__file__).resolve().parent.parent

USER_MIGRATIONS = '''
import peewee
from app_db import Migration, Schema


class AddTitle(Migration):
    id = "20240101_000000_add_title"

    def up(self, schema: Schema) -> None:
        schema.add_column("note", "title", peewee.CharField(null=True))

    def down(self, schema: Schema) -> None:
        schema.drop_column("note", "title")


class DownTakesTooMuch(Migration):
    id = "20240101_000001_down_takes_too_much"

    def up(self, schema: Schema) -> None:
        schema.sql("SELECT 1")

    def down(self, schema: Schema, extra: int) -> None:
        schema.sql("SELECT 1")


class UpTakesAnInt(Migration):
    id = "20240101_000002_up_takes_an_int"

    def up(self, schema: int) -> None:
        pass
'''


@pytest.mark.slow
def test_mypy_checks_up_and_down_of_a_users_migration_against_migrations_own(tmp_path):
    pytest.importorskip("mypy")
    source = tmp_path / "user_migrations.py"
    source.write_text(USER_MIGRATIONS)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", source.name],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the user's project: none of app_db's own configuration
        env={**os.environ, "MYPYPATH": str(REPO)},  # the editable install hides app_db from mypy
        timeout=300,
    )
    # Only the user's file: a source checkout of app_db (unlike an installed wheel) is reported on too.
    errors = [line for line in result.stdout.splitlines() if line.startswith(source.name) and ": error:" in line]
    lines = [int(line.split(":")[1]) for line in errors]
    down_line = USER_MIGRATIONS.splitlines().index("    def down(self, schema: Schema, extra: int) -> None:") + 1
    up_line = USER_MIGRATIONS.splitlines().index("    def up(self, schema: int) -> None:") + 1
    assert lines == [down_line, up_line], result.stdout + result.stderr
    assert 'Signature of "down" incompatible with supertype' in errors[0]
    assert 'Argument 1 of "up" is incompatible with supertype' in errors[1]


def test_declaring_up_and_down_for_the_type_checker_leaves_none_at_run_time():
    class OnlyUp(Migration):
        id = "20240101_000000_only_up"

        def up(self, schema):
            pass

    class Both(OnlyUp):
        id = "20240101_000001_both"

        def down(self, schema):
            pass

    assert not hasattr(Migration, "up") and not hasattr(Migration, "down")
    assert OnlyUp().reversible is False
    assert Both().reversible is True


def test_a_migration_file_without_up_is_still_refused(project):
    from app_db import MigrationDefinitionError

    project.write("001_no_up.py", textwrap.dedent('''
        from app_db import Migration


        class NoUp(Migration):
            id = "20240101_000000_no_up"
    '''))
    with pytest.raises(MigrationDefinitionError, match="up"):
        project.database().migrate()
