"""app_db.testing: migration_tester walks the history with real data; assert_reversible and assert_models_match fail loudly."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points

import peewee
import pytest

from app_db import ConfigurationError
from app_db.testing import assert_models_match, assert_reversible, migration_tester  # noqa: F401 (the fixture)

pytest_plugins = ["pytester"]

CREATE_NOTE = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'
ADD_TITLE = 'schema.add_column("note", "title", peewee.CharField(null=True))'
FILL_TITLES = 'schema.sql("UPDATE note SET title = substr(body, 1, 5)")'


@pytest.fixture
def history(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE, 'schema.drop_table("note")')
    project.add("002_add_title.py", "20240602_090000_add_title", ADD_TITLE, 'schema.drop_column("note", "title")')
    project.add("003_fill_titles.py", "20240603_090000_fill_titles", FILL_TITLES, 'schema.sql("UPDATE note SET title = NULL")')
    return project


def test_migrate_to_stops_at_the_given_point_so_old_rows_can_be_inserted(history, migration_tester):
    tester = migration_tester(history.database())
    tester.migrate_to("20240601_090000_initial")
    assert tester.current == "20240601_090000_initial"
    tester.db.execute_sql("INSERT INTO note (body) VALUES ('Groceries and more')")  # the schema of that time
    tester.migrate_to("20240603_090000_fill_titles")
    assert tester.rows("SELECT body, title FROM note") == [("Groceries and more", "Groce")]


def test_migrate_to_an_earlier_point_rolls_back(history, migration_tester):
    tester = migration_tester(history.database())
    tester.migrate_to()
    tester.migrate_to("20240601_090000_initial")
    assert tester.current == "20240601_090000_initial"
    assert [line for line in tester.schema() if "title" in line] == []


def test_the_tester_uses_a_fresh_file_never_the_apps(history, migration_tester):
    first, second = migration_tester(history.database()), migration_tester(history.database())
    first.migrate_to()
    assert first.path != second.path and first.path != history.path
    assert second.current is None and not history.path.exists()


def test_migrate_to_an_unknown_id_names_the_known_ones(history, migration_tester):
    with pytest.raises(AssertionError, match="20240602_090000_add_title"):
        migration_tester(history.database()).migrate_to("20240609_090000_nope")


def test_reversible_history_passes(history):
    assert_reversible(history.database())


def test_a_down_that_does_not_undo_up_is_named_with_the_schema_difference(history):
    history.add("004_tags.py", "20240604_090000_tags",
                'schema.create_table("tag", {"id": peewee.AutoField(), "name": peewee.TextField()})\n'
                'schema.add_index("tag", ["name"])',
                'schema.drop_index("tag", "tag_name")')
    with pytest.raises(AssertionError) as failure:
        assert_reversible(history.database())
    message = str(failure.value)
    assert message.startswith("Migration 20240604_090000_tags (") and "down() does not undo up()" in message
    assert "+table tag: column name TEXT NOT NULL" in message


def test_a_missing_down_fails_naming_the_migration(history):
    history.add("004_no_down.py", "20240604_090000_no_down", 'schema.sql("CREATE TABLE t (x)")', down=None)
    with pytest.raises(AssertionError, match=r"Migration 20240604_090000_no_down .*down\(\) failed.*no down"):
        assert_reversible(history.database())


def test_an_up_that_cannot_run_again_after_down_fails(history):
    history.add("004_once.py", "20240604_090000_once",
                'schema.sql("CREATE TABLE IF NOT EXISTS kept (x)")\nschema.sql("INSERT INTO kept VALUES (1)")',
                'schema.sql("DELETE FROM kept")')
    with pytest.raises(AssertionError, match=r"Migration 20240604_090000_once .*does not undo up\(\)"):
        assert_reversible(history.database())


def test_models_matching_the_migrations_pass_and_drift_is_listed(history):
    class Note(peewee.Model):
        body = peewee.TextField()
        title = peewee.CharField(null=True)

        class Meta:
            table_name = "note"

    assert_models_match(history.database(), [Note])
    Note._meta.add_field("pinned", peewee.BooleanField(default=False))
    with pytest.raises(AssertionError, match=r"add column note\.pinned[\s\S]*app-db makemigration"):
        assert_models_match(history.database(), [Note])


def test_models_match_without_any_models_is_a_configuration_error_not_a_list_of_drops(history):
    with pytest.raises(ConfigurationError, match=r"assert_models_match needs the app.s models.*Database\(\.\.\., models="):
        assert_models_match(history.database())


@pytest.mark.slow
def test_the_plugin_gives_an_apps_tests_the_fixture_without_an_import(pytester, history):
    pytester.makepyfile(test_app=textwrap.dedent(f"""
        from app_db import Database

        def test_old_rows_get_titles(migration_tester):
            tester = migration_tester(Database("App", migrations={str(history.migrations)!r}, path=":memory:"))
            tester.migrate_to("20240601_090000_initial")
            tester.db.execute_sql("INSERT INTO note (body) VALUES ('hello world')")
            tester.migrate_to()
            assert tester.rows("SELECT title FROM note") == [("hello",)]
    """))
    registered = any(entry.value == "app_db.testing" for entry in entry_points(group="pytest11"))
    result = pytester.runpytest_subprocess(*([] if registered else ["-p", "app_db.testing"]))
    result.assert_outcomes(passed=1)
