"""LaunchReport reads well, its entries carry names, and a launch logs what it did at the level README lists."""

from __future__ import annotations

import json
import logging
import pickle

from app_db import LaunchReport
from app_db.reports import ReportedMigration

INITIAL, TAGS = "20240601_090000_initial", "20240602_090000_add_tags"


def two_migrations(project):
    project.add("001_initial.py", INITIAL, 'schema.sql("CREATE TABLE note (body TEXT)")', name="Create notes")
    project.add("002_add_tags.py", TAGS, 'schema.sql("CREATE TABLE tag (name TEXT)")', name="Add tags")


def test_applied_entries_are_the_ids_and_carry_each_migrations_name(project):
    two_migrations(project)
    report = project.database().register_models([])
    assert report.applied == [INITIAL, TAGS]  # existing code comparing ids keeps working
    assert [(entry.id, entry.name) for entry in report.applied] == [(INITIAL, "Create notes"), (TAGS, "Add tags")]
    assert type(report.applied[0].id) is str and json.dumps(report.applied) == json.dumps([INITIAL, TAGS])
    assert repr(report).count("ReportedMigration") == 0  # the repr still shows plain ids
    copy = pickle.loads(pickle.dumps(report.applied[1]))
    assert copy == TAGS and copy.name == "Add tags"


def test_str_of_a_migrating_launch_names_the_file_under_home_as_tilde_and_each_migration(project, monkeypatch):
    monkeypatch.setenv("HOME", str(project.root))
    two_migrations(project)
    report = project.database().register_models([])
    assert str(report) == (
        f"Applied 2 migrations to ~/data/app.sqlite3: {INITIAL} (Create notes), {TAGS} (Add tags)."
    )


def test_str_says_up_to_date_when_nothing_was_pending_and_names_the_backup_and_rollback(project, monkeypatch):
    monkeypatch.setenv("HOME", str(project.root))
    two_migrations(project)
    database = project.database()
    database.register_models([])
    assert str(database.register_models([])) == "~/data/app.sqlite3 is up to date: nothing to apply."
    undone = database.rollback()
    assert undone.undone == [TAGS] and undone.undone[0].name == "Add tags"
    assert str(undone).startswith(f"Rolled back 1 migration of ~/data/app.sqlite3: {TAGS} (Add tags); backup at ~/data/backups/")
    assert str(undone).endswith(f"; now at {INITIAL}.")


def test_str_of_a_report_built_by_hand_with_plain_ids_and_no_file():
    report = LaunchReport(None, "test", applied=[INITIAL])
    assert str(report) == f"Applied 1 migration to an in-memory database: {INITIAL}."
    assert ReportedMigration(TAGS).describe() == TAGS


def test_a_migrating_launch_logs_its_completion_and_duration_at_info(project, caplog):
    two_migrations(project)
    with caplog.at_level(logging.INFO, logger="app_db"):
        project.database().register_models([])
    finished = [record for record in caplog.records if record.getMessage().startswith("Applied 2 migration(s)")]
    assert len(finished) == 1 and finished[0].levelno == logging.INFO
    message = finished[0].getMessage()
    assert str(project.path) in message and " s; now at " + TAGS in message


def test_a_launch_with_nothing_pending_logs_its_time_at_debug_only(project, caplog):
    two_migrations(project)
    project.launch()
    with caplog.at_level(logging.INFO, logger="app_db"):
        project.database().register_models([])
    assert caplog.records == []
    with caplog.at_level(logging.DEBUG, logger="app_db"):
        project.database().register_models([])
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.getMessage().startswith(f"{project.path} is up to date")
    assert record.getMessage().endswith(" ms")


def test_a_no_op_launch_in_development_logs_its_time_at_debug_too(project, caplog):
    two_migrations(project)
    project.launch(env="development")
    with caplog.at_level(logging.DEBUG, logger="app_db"):
        project.database(env="development").register_models([])
    assert [record.levelno for record in caplog.records if "is up to date" in record.getMessage()] == [logging.DEBUG]
