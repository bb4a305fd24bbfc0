"""A damaged tracking table is a TrackingTableError naming the file and the row, raised before any change."""

from __future__ import annotations

import pytest

from app_db import DatabaseCorruptError, TrackingTableError

CREATE_NOTE = 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")'
MORE = 'schema.sql("CREATE TABLE more (x)")'
GOOD_TIME = "2024-06-01T09:00:00.000000+00:00"


@pytest.fixture
def migrated(project):
    project.add("001_initial.py", "20240601_090000_initial", CREATE_NOTE)
    project.launch()
    return project


def execute(project, *statements, params=()):
    connection = project.connect()
    for statement in statements:
        connection.execute(statement, params if "?" in statement else ())
    connection.commit()
    connection.close()


def replace_tracking_table(project, columns, row):
    """Rebuild app_db_migrations by hand, as another tool (or an older script) might have."""
    execute(
        project,
        "DROP TABLE app_db_migrations",
        f"CREATE TABLE app_db_migrations ({columns})",
        f"INSERT INTO app_db_migrations VALUES ({', '.join('?' * len(row))})",
        params=row,
    )


def refused(project, call):
    """``call`` raises TrackingTableError; the file is left byte for byte and nothing is backed up."""
    before = project.path.read_bytes()
    with pytest.raises(TrackingTableError) as caught:
        call()
    assert project.path.read_bytes() == before
    assert not (project.path.parent / "backups").exists()
    message = str(caught.value)
    assert str(project.path) in message and "Nothing was changed" in message
    assert isinstance(caught.value, DatabaseCorruptError)  # an app's "damaged file" dialog catches it too
    return caught.value


@pytest.mark.parametrize("value, shown", [
    (None, "applied_at None"),
    ("yesterday", "applied_at 'yesterday'"),
    ("2024-13-45 25:00", "applied_at '2024-13-45 25:00'"),
    (1717232400, "applied_at 1717232400"),
])
def test_an_applied_at_app_db_did_not_write_is_named_with_its_row(migrated, value, shown):
    # applied_at is NOT NULL TEXT in app_db's table; a table made by hand can hold anything.
    replace_tracking_table(migrated, "id TEXT, name TEXT, file TEXT, checksum TEXT, applied_at, duration REAL",
                           ("20240601_090000_initial", "Initial", "001_initial.py", None, value, 0.1))
    migrated.add("002_more.py", "20240602_090000_more", MORE)
    database = migrated.database()

    for call in (database.status, database.register_models, database.pending):
        error = refused(migrated, call)
        assert shown in str(error)
        assert "row 1 (id '20240601_090000_initial')" in str(error)
        assert "UPDATE app_db_migrations SET applied_at = ... WHERE rowid = 1" in str(error)
        assert (error.row, error.column) == (1, "applied_at")
    database.close()


def test_an_extra_not_null_column_is_refused_before_the_batch_starts(migrated):
    replace_tracking_table(
        migrated,
        "id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, file TEXT, checksum TEXT, "
        "applied_at TEXT NOT NULL, duration REAL NOT NULL, machine TEXT NOT NULL",
        ("20240601_090000_initial", "Initial", "001_initial.py", None, GOOD_TIME, 0.1, "laptop"),
    )
    migrated.add("002_more.py", "20240602_090000_more", MORE)

    error = refused(migrated, migrated.database().register_models)

    assert "column machine is NOT NULL without a default" in str(error)
    assert error.column == "machine"
    assert migrated.rows("SELECT name FROM sqlite_master WHERE name = 'more'") == []


def test_a_missing_column_is_named_even_by_a_launch_with_nothing_pending(migrated):
    replace_tracking_table(migrated, "id TEXT PRIMARY KEY, name TEXT, checksum TEXT, applied_at TEXT, duration REAL",
                           ("20240601_090000_initial", "Initial", None, GOOD_TIME, 0.1))

    error = refused(migrated, migrated.database().register_models)

    assert "no column file" in str(error)
    assert "CREATE TABLE app_db_migrations (id TEXT PRIMARY KEY NOT NULL" in str(error)  # what it should look like


@pytest.mark.parametrize("columns, row, shown", [
    ("id TEXT, name TEXT, file TEXT, checksum TEXT, applied_at TEXT, duration REAL",
     (None, "Initial", "001_initial.py", None, GOOD_TIME, 0.1), "row 1 has id None, not a migration id"),
    ("id TEXT, name TEXT, file TEXT, checksum TEXT, applied_at TEXT, duration REAL",
     ("20240601_090000_initial", "Initial", "001_initial.py", None, GOOD_TIME, "slow"), "duration 'slow'"),
])
def test_a_row_app_db_did_not_write_is_named(migrated, columns, row, shown):
    replace_tracking_table(migrated, columns, row)
    migrated.add("002_more.py", "20240602_090000_more", MORE)

    error = refused(migrated, migrated.database().status)

    assert shown in str(error)


def test_an_id_recorded_twice_is_named(migrated):
    execute(
        migrated,
        "CREATE TABLE copy AS SELECT * FROM app_db_migrations",
        "DROP TABLE app_db_migrations",
        "CREATE TABLE app_db_migrations (id TEXT, name TEXT, file TEXT, checksum TEXT, applied_at TEXT, duration REAL)",
        "INSERT INTO app_db_migrations SELECT id, name, file, checksum, applied_at, duration FROM copy",
        "INSERT INTO app_db_migrations SELECT id, name, file, checksum, applied_at, duration FROM copy",
        "DROP TABLE copy",
    )
    migrated.add("002_more.py", "20240602_090000_more", MORE)

    error = refused(migrated, migrated.database().register_models)

    assert "row 2 (id '20240601_090000_initial') records a migration that an earlier row already records" in str(error)


def test_null_names_and_durations_are_still_read(migrated):
    execute(migrated, "DROP TABLE app_db_migrations",
            "CREATE TABLE app_db_migrations (id TEXT PRIMARY KEY, name TEXT, file TEXT, checksum TEXT, applied_at TEXT, duration REAL)",
            f"INSERT INTO app_db_migrations VALUES ('20240601_090000_initial', NULL, '001_initial.py', NULL, '{GOOD_TIME}', NULL)")
    migrated.add("002_more.py", "20240602_090000_more", MORE)

    assert migrated.database().register_models([]).applied == ["20240602_090000_more"]
