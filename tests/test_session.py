"""The one write transaction: what it leaves behind when something other than SQLite fails inside it."""

from __future__ import annotations

import pytest

import app_db.transaction


def test_an_error_raised_after_begin_outside_a_migration_surfaces_and_rolls_back(project, monkeypatch):
    project.add("001_initial.py", "20240601_090000_initial", "schema.sql('CREATE TABLE note (id INTEGER PRIMARY KEY)')")
    project.launch()
    project.add("002_tags.py", "20240602_090000_tags", "schema.sql('CREATE TABLE tag (id INTEGER PRIMARY KEY)')")
    before = project.dump()

    def broken_cleanup(path):
        raise RuntimeError("cleanup exploded")

    # A fault injected where remove_leftovers runs: after BEGIN IMMEDIATE, before the migrations' own block.
    monkeypatch.setattr(app_db.transaction, "remove_leftovers", broken_cleanup)
    database = project.database()
    synchronous = database.db.execute_sql("PRAGMA synchronous").fetchone()[0]
    with pytest.raises(RuntimeError, match="cleanup exploded"):
        database.register_models([])
    connection = database.db.connection()
    assert not connection.in_transaction
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == synchronous  # the app's own setting again
    assert database.db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    database.close()
    assert project.dump() == before
    monkeypatch.undo()
    project.launch()
    assert project.applied() == ["20240601_090000_initial", "20240602_090000_tags"]


def test_configured_gives_one_launch_its_own_callbacks_and_leaves_the_module_level_database_alone(project):
    project.add("001_initial.py", "20240601_090000_initial", "schema.sql('CREATE TABLE note (id INTEGER PRIMARY KEY)')")
    database = project.database()
    seen, kept_alive = [], []
    launch = database.configured(on_progress=lambda index, total, migration: seen.append((index, total, migration.id)),
                                 keep_alive=lambda: kept_alive.append(1))
    launch.register_models([])
    launch.close()
    assert seen == [(1, 1, "20240601_090000_initial")]
    assert database.on_progress is None and database.keep_alive is None
    assert launch.configured().on_progress is launch.on_progress  # left out: kept


def three_applied(project):
    for number, letter in enumerate("abc", start=1):
        project.add(f"00{number}_{letter}.py", f"2024060{number}_090000_{letter}",
                    f'schema.sql("CREATE TABLE {letter} (x)")', down=f'schema.sql("DROP TABLE {letter}")')
    project.launch()


def test_a_rollback_preview_shows_exactly_the_steps_the_rollback_then_undoes(project):
    three_applied(project)
    before = project.dump()
    preview = project.database().preview_rollback(to="20240601_090000_a")
    assert project.dump() == before
    assert [(step.direction, step.statements) for step in preview] == [
        ("down", ["DROP TABLE c"]), ("down", ["DROP TABLE b"])
    ]
    report = project.database().rollback(to="20240601_090000_a")
    assert report.undone == [step.id for step in preview]
    assert report.current == "20240601_090000_a" and report.applied == []


def test_pending_returns_public_records_not_the_plans_own_entries(project):
    from app_db import MigrationStatus

    three_applied(project)
    project.database().rollback(steps=2)
    pending = project.database().pending()
    assert all(type(entry) is MigrationStatus and entry.pending for entry in pending)
    assert [entry.id for entry in pending] == ["20240602_090000_b", "20240603_090000_c"]


def test_a_changed_migration_is_worded_once_for_the_warning_the_refusal_and_the_plan(project, caplog):
    import logging

    from app_db import MigrationDefinitionError

    project.add("001_initial.py", "20240601_090000_initial", "schema.sql('CREATE TABLE note (id INTEGER PRIMARY KEY)')")
    project.launch()
    project.add("001_initial.py", "20240601_090000_initial", "schema.sql('CREATE TABLE note (id INTEGER PRIMARY KEY, x)')")
    project.add("002_tags.py", "20240602_090000_tags", "schema.sql('CREATE TABLE tag (id INTEGER PRIMARY KEY)')")
    [finding] = [f for f in project.database().plan().findings(project.path) if f.kind == "changed"]
    with pytest.raises(MigrationDefinitionError) as refused:
        project.database(env="development").register_models([])
    assert finding.message in str(refused.value)
    with caplog.at_level(logging.WARNING, logger="app_db"):
        project.database(env="production").register_models([])
    assert finding.message in caplog.text
