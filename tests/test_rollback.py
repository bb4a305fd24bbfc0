"""Rolling back: down() newest first, in one transaction, refused before any change when impossible."""

from __future__ import annotations

import pytest

from app_db import IrreversibleMigrationError, MigrationError


def three_tables(project):
    for number, letter in enumerate("abc", start=1):
        project.add(f"00{number}_{letter}.py", f"2024060{number}_090000_{letter}",
                    f'schema.sql("CREATE TABLE {letter} (x)")', down=f'schema.drop_table("{letter}")')
    project.launch()  # closed at once: a launch left for the garbage collector checkpoints into the file whenever it runs


def tables(project):
    return sorted(row[0] for row in project.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'app_db%'"))


def test_rollback_undoes_the_newest_migration_by_default(project):
    three_tables(project)
    assert project.database().rollback().undone == ["20240603_090000_c"]
    assert tables(project) == ["a", "b"]
    assert project.applied() == ["20240601_090000_a", "20240602_090000_b"]


def test_rollback_steps_undoes_newest_first(project):
    three_tables(project)
    assert project.database().rollback(steps=2).undone == ["20240603_090000_c", "20240602_090000_b"]
    assert tables(project) == ["a"]


def test_rollback_to_keeps_that_migration_and_undoes_everything_after(project):
    three_tables(project)
    assert project.database().rollback(to="20240601_090000_a").undone == ["20240603_090000_c", "20240602_090000_b"]
    assert project.applied() == ["20240601_090000_a"]


def test_rolled_back_migrations_run_again_at_next_launch(project):
    three_tables(project)
    project.database().rollback(steps=2)
    assert project.database().register_models([]).applied == ["20240602_090000_b", "20240603_090000_c"]


def test_rollback_refuses_a_migration_without_down_before_any_change(project):
    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")', down='schema.drop_table("a")')
    project.add("002_b.py", "20240602_090000_b", 'schema.sql("CREATE TABLE b (x)")', down=None)
    project.database().register_models([])
    before = project.dump()
    with pytest.raises(IrreversibleMigrationError, match=r"20240602_090000_b .*002_b\.py.*no down"):
        project.database().rollback(steps=2)
    assert project.dump() == before


def test_failing_down_rolls_back_the_whole_rollback(project):
    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")', down='schema.drop_table("a")')
    project.add("002_b.py", "20240602_090000_b", 'schema.sql("CREATE TABLE b (x)")',
                down='schema.drop_table("b")\nraise RuntimeError("down is broken")')
    project.database().register_models([])
    before = project.dump()
    with pytest.raises(MigrationError, match="down is broken") as caught:
        project.database().rollback(steps=2)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert project.dump() == before


def test_preview_rollback_shows_sql_and_changes_nothing(project):
    three_tables(project)
    before = project.path.read_bytes()
    assert [step.statements for step in project.database().preview_rollback(steps=1)] == [['DROP TABLE "c"']]
    assert project.path.read_bytes() == before


def test_preview_shows_pending_sql_and_changes_nothing(project):
    three_tables(project)
    project.add("004_d.py", "20240604_090000_d", 'schema.add_column("a", "y", peewee.IntegerField(default=0))')
    before = project.path.read_bytes()
    assert [statement for step in project.database().preview() for statement in step.statements] == ['ALTER TABLE "a" ADD COLUMN "y" INTEGER NOT NULL DEFAULT 0']
    assert project.path.read_bytes() == before
    assert project.applied()[-1] == "20240603_090000_c"


def test_stamp_records_without_running(project):
    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")')
    project.add("002_b.py", "20240602_090000_b", 'schema.sql("CREATE TABLE b (x)")')
    project.path.parent.mkdir(parents=True)
    connection = project.connect()
    connection.execute("CREATE TABLE a (x)")  # a file made before the app used migrations
    connection.commit()
    connection.close()
    assert project.database().stamp("20240601_090000_a").applied == ["20240601_090000_a"]
    assert project.database().register_models([]).applied == ["20240602_090000_b"]


def test_rollback_refuses_more_steps_than_are_applied(project):
    from app_db import ConfigurationError

    three_tables(project)
    before = project.dump()
    with pytest.raises(ConfigurationError, match="only 3 are applied"):
        project.database().rollback(steps=4)
    assert project.dump() == before


def test_stamp_refuses_a_missing_file(project):
    from app_db import ConfigurationError

    project.add("001_a.py", "20240601_090000_a", 'schema.sql("CREATE TABLE a (x)")')
    with pytest.raises(ConfigurationError, match="no database"):
        project.database().stamp("20240601_090000_a")
    assert not project.path.exists()


def test_preview_groups_the_sql_by_migration_in_one_run(project):
    three_tables(project)
    project.database().rollback(steps=2)
    steps = project.database().preview()
    assert [(step.id, step.statements) for step in steps] == [
        ("20240602_090000_b", ["CREATE TABLE b (x)"]),
        ("20240603_090000_c", ["CREATE TABLE c (x)"]),
    ]
