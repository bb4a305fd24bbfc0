"""`app-db status` and `app-db check --file` judge a file as the launch does: one judgement, three places.

A file the launch refuses makes both fail, with the launch's own message; a
file the launch opens (a newer version's backward-compatible changes) makes
neither fail, and both say why it is used as it is.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from app_db import Database, MigrationDefinitionError
from app_db.cli import main
from app_db.squash import squash_migrations

A, B, C = "20240601_090000_a", "20240602_090000_b", "20240603_090000_c"
ATTACHMENTS = "20240701_090000_attachments"


def write_app(project, name: str, migrations) -> str:
    """A module ``name`` with ``database``: this app's Database, for the CLI's --database (named per test)."""
    name = f"{name}_{project.root.name.replace('-', '_')}"  # a module imported by another test is not reused
    (project.root / f"{name}.py").write_text(
        "from app_db import Database\n"
        f"database = Database('TestApp', migrations={str(migrations)!r}, path={str(project.path)!r}, "
        "env='production')\n"
    )
    return f"{name}:database"


@pytest.fixture
def cli(project, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(project.root))

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().out

    return run


def state_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("State"))


# A squashed history the file is part-way through, its other originals deleted -----------------------------------
@pytest.fixture
def part_way(project):
    """A file that applied A; the app then squashed A, B, C into a baseline and deleted the three originals."""
    project.add("001_a.py", A, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")')
    project.launch()
    project.add("002_b.py", B, 'schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT)")')
    project.add("003_c.py", C, 'schema.sql("ALTER TABLE note ADD COLUMN title TEXT")')
    squash_migrations(project.database(), C, "baseline one")
    for original in ("001_a.py", "002_b.py", "003_c.py"):
        (project.migrations / original).unlink()
    with pytest.raises(MigrationDefinitionError, match="no longer ships") as refused:
        project.database().register_models([])  # what the launch says
    return str(refused.value)


def test_status_fails_on_a_file_part_way_through_a_squashed_history_whose_rest_was_deleted(project, part_way, cli):
    spec = write_app(project, "app", project.migrations)
    before = project.path.read_bytes()

    code, out = cli("--database", spec, "status")

    assert code == 1
    assert "squashed history" in state_line(out) and "no longer ships" in state_line(out)
    assert part_way in out  # the launch's own message
    code, out = cli("--database", spec, "status", "--json")
    assert code == 1 and json.loads(out)["refused"] == part_way
    assert project.path.read_bytes() == before


def test_check_file_shows_the_launchs_error_on_a_file_part_way_through_a_squashed_history(project, part_way, cli):
    spec = write_app(project, "app", project.migrations)

    code, out = cli("--database", spec, "check", "--file")

    assert code == 1
    assert f"problem: {part_way}" in out
    assert "run `app-db migrate`" not in out  # migrate refuses it too


# A newer version's backward-compatible changes ------------------------------------------------------------------
def compatible_newer(project) -> str:
    """The older app (A) made the file; a newer one added ATTACHMENTS, backward compatible. Returns the older app."""
    project.add("001_a.py", A, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")')
    older = write_app(project, "older", project.migrations)
    project.launch()
    newer = project.root / "newer"
    newer.mkdir()
    (newer / "001_a.py").write_text((project.migrations / "001_a.py").read_text())
    (newer / "002_attachments.py").write_text(textwrap.dedent(f"""\
        from app_db import Migration


        class Attachments(Migration):
            id = {ATTACHMENTS!r}
            backward_compatible = True

            def up(self, schema):
                schema.sql("CREATE TABLE attachment (id INTEGER PRIMARY KEY, name TEXT)")

            def down(self, schema):
                schema.drop_table("attachment")
        """))
    Database("TestApp", migrations=newer, path=project.path, env="production", app_version="1.5.0").register_models([])
    return older


def test_check_file_passes_a_file_whose_unknown_migrations_are_all_backward_compatible(project, cli):
    older = compatible_newer(project)
    report = Database("TestApp", migrations=project.migrations, path=project.path).register_models([])
    assert report.newer_compatible == [ATTACHMENTS]  # the launch opens it

    code, out = cli("--database", older, "check", "--file")

    assert code == 0, out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and ATTACHMENTS in warnings[0] and "backward compatible" in warnings[0]
    assert "problem" not in out
    code, out = cli("--database", older, "check", "--file", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["problems"] == []
    assert any(ATTACHMENTS in warning for warning in report["warnings"])


def test_status_says_a_newer_versions_backward_compatible_migrations_are_used_as_they_are(project, cli):
    older = compatible_newer(project)

    code, out = cli("--database", older, "status")

    assert code == 0
    assert "backward-compatible" in state_line(out) and ATTACHMENTS in state_line(out)


def test_check_file_still_fails_a_file_with_an_unknown_migration_that_is_not_backward_compatible(project, cli):
    older = compatible_newer(project)
    newer = project.root / "newer"
    (newer / "003_more.py").write_text(textwrap.dedent("""\
        from app_db import Migration


        class More(Migration):
            id = "20240801_090000_more"

            def up(self, schema):
                schema.sql("ALTER TABLE note ADD COLUMN pinned INTEGER")
        """))
    Database("TestApp", migrations=newer, path=project.path, env="production").register_models([])

    code, out = cli("--database", older, "check", "--file")

    assert code == 1
    assert "20240801_090000_more, which this app does not have" in out
