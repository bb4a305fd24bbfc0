"""No migration can end the batch's transaction: each way is refused before it runs, with the file as it was."""

from __future__ import annotations

import pytest

from app_db import MigrationError

INITIAL = '''
schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES note (id), label TEXT)")
for number in range(20):
    schema.sql("INSERT INTO note (body) VALUES (?)", (f"note {number}",))
    schema.sql("INSERT INTO tag (note_id, label) VALUES (?, 'x')", (number + 1,))
'''

# Each way Python's sqlite3 and peewee let a migration end the transaction,
# after a change that must not survive.
ENDINGS = {
    "peewee db.commit()": "schema.db.commit()",
    "connection.commit()": "schema.db.connection().commit()",
    "executescript()": "schema.db.connection().executescript(\"INSERT INTO note (body) VALUES ('from a script');\")",
    "COMMIT statement": 'schema.sql("COMMIT")',
    "END statement": 'schema.sql("END TRANSACTION")',
    "ROLLBACK statement": 'schema.sql("ROLLBACK")',
    "peewee db.rollback()": "schema.db.rollback()",
    "BEGIN statement": 'schema.sql("BEGIN")',
    "journal_mode": 'schema.sql("PRAGMA journal_mode = DELETE")',
    "synchronous": 'schema.sql("PRAGMA main.synchronous = OFF")',
    "foreign_keys": 'schema.sql("pragma Foreign_Keys = ON")',
}
SHOWN = {
    "peewee db.commit()": "COMMIT",
    "connection.commit()": "COMMIT",
    "executescript()": "COMMIT",
    "COMMIT statement": "COMMIT",
    "END statement": "COMMIT",
    "ROLLBACK statement": "ROLLBACK",
    "peewee db.rollback()": "ROLLBACK",
    "BEGIN statement": "BEGIN",
    "journal_mode": "PRAGMA journal_mode = DELETE",
    "synchronous": "PRAGMA main.synchronous = OFF",
    "foreign_keys": "PRAGMA Foreign_Keys = ON",
}


@pytest.fixture
def populated(project):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.launch()
    return project


def file_state(project):
    """Everything a user could lose: schema, rows, tracking table, and the file's bytes."""
    return project.dump(), project.path.read_bytes()


@pytest.mark.parametrize("way", sorted(ENDINGS))
def test_a_migration_that_ends_the_transaction_is_refused_with_the_file_as_before(populated, way):
    populated.add("002_clean_up.py", "20240602_090000_clean_up", f'''
        schema.sql("DELETE FROM tag")
        schema.sql("DELETE FROM note WHERE id > 10")
        {ENDINGS[way]}
        schema.sql("DELETE FROM note")
    ''')
    populated.add("003_later.py", "20240603_090000_later", 'schema.sql("CREATE TABLE later (x)")')
    before = file_state(populated)
    database = populated.database(env="test", path=populated.path)  # no backup: only the batch itself

    with pytest.raises(MigrationError) as caught:
        database.register_models([])
    database.close()

    message = str(caught.value)
    assert "20240602_090000_clean_up" in message and "002_clean_up.py" in message
    assert SHOWN[way] in message
    assert "Nothing was changed; the database is still at 20240601_090000_initial" in message
    assert caught.value.migration.id == "20240602_090000_clean_up"
    assert file_state(populated) == before
    assert populated.applied() == ["20240601_090000_initial"]


def test_a_migration_that_catches_the_refusal_and_goes_on_still_fails(populated):
    populated.add("002_sneaky.py", "20240602_090000_sneaky", '''
        schema.sql("DELETE FROM tag")
        try:
            schema.db.commit()
        except Exception:
            pass
        schema.sql("DELETE FROM note")
    ''')
    before = file_state(populated)
    database = populated.database(env="test", path=populated.path)

    with pytest.raises(MigrationError, match="COMMIT"):
        database.register_models([])
    database.close()

    assert file_state(populated) == before


def test_a_commit_prepared_by_an_earlier_batch_is_refused_too(populated):
    """Python's sqlite3 caches prepared statements; the runner's own COMMIT of the first batch is in that cache."""
    populated.add("002_first.py", "20240602_090000_first", 'schema.sql("CREATE TABLE first (x)")')
    populated.add("003_commits.py", "20240603_090000_commits", '''
        schema.sql("DELETE FROM tag")
        schema.db.execute_sql("COMMIT")
    ''')
    database = populated.database(env="test", path=populated.path)
    database.migrate(to="20240602_090000_first")
    rows_before = populated.rows("SELECT count(*) FROM tag")

    with pytest.raises(MigrationError, match="COMMIT"):
        database.migrate()
    database.close()

    assert populated.rows("SELECT count(*) FROM tag") == rows_before == [(20,)]
    assert populated.applied() == ["20240601_090000_initial", "20240602_090000_first"]


def test_a_commit_in_the_last_migration_cannot_sneak_orphans_past_the_foreign_key_check(populated):
    populated.add("002_orphans.py", "20240602_090000_orphans", '''
        schema.sql("DELETE FROM note WHERE id <= 5")
        schema.db.connection().executescript("SELECT 1;")
    ''')
    before = file_state(populated)
    database = populated.database(env="test", path=populated.path)

    with pytest.raises(MigrationError):
        database.register_models([])
    database.close()

    assert file_state(populated) == before
    assert populated.rows("PRAGMA foreign_key_check") == []


def test_a_down_that_commits_is_refused_and_the_rollback_changes_nothing(populated):
    populated.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")',
                  down='schema.sql("DROP TABLE more")\nschema.db.commit()')
    database = populated.database(env="test", path=populated.path)
    database.migrate()
    database.close()
    before = file_state(populated)

    with pytest.raises(MigrationError, match="COMMIT") as caught:
        populated.database(env="test", path=populated.path).rollback()

    assert "002_more.py" in str(caught.value)
    assert file_state(populated) == before


def test_savepoints_and_the_pragmas_rebuilds_need_still_work_inside_a_migration(populated):
    populated.add("002_careful.py", "20240602_090000_careful", '''
        with schema.db.atomic():
            schema.sql("INSERT INTO note (body) VALUES ('kept')")
        try:
            with schema.db.atomic():
                schema.sql("INSERT INTO note (body) VALUES ('undone')")
                raise ValueError("changed my mind")
        except ValueError:
            pass
        assert schema.db.execute_sql("PRAGMA foreign_keys").fetchone() == (0,)
        assert schema.db.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)
        schema.sql("PRAGMA legacy_alter_table = ON")
        schema.sql("PRAGMA legacy_alter_table = OFF")
        version = schema.db.execute_sql("PRAGMA schema_version").fetchone()[0]
        schema.sql("PRAGMA writable_schema = ON")
        schema.sql(f"PRAGMA schema_version = {version + 1}")
        schema.sql("PRAGMA writable_schema = OFF")
        assert schema.db.execute_sql("PRAGMA integrity_check").fetchone() == ("ok",)
        schema.sql("PRAGMA user_version = 7")
    ''')

    report = populated.database().register_models([])

    assert report.applied == ["20240602_090000_careful"]
    bodies = [row[0] for row in populated.rows("SELECT body FROM note WHERE body IN ('kept', 'undone')")]
    assert bodies == ["kept"]
    assert populated.rows("PRAGMA user_version") == [(7,)]


def test_the_guard_is_gone_after_the_batch_so_the_app_can_commit(populated):
    database = populated.database()
    database.register_models([])
    db = database.db
    db.execute_sql("BEGIN")
    db.execute_sql("INSERT INTO note (body) VALUES ('after launch')")
    db.execute_sql("COMMIT")
    db.pragma("synchronous", 0)
    database.close()
    assert populated.rows("SELECT count(*) FROM note WHERE body = 'after launch'") == [(1,)]


@pytest.mark.parametrize("then", ["", 'schema.sql("DELETE FROM note")'], ids=["last-statement", "then-more"])
def test_a_migration_that_closes_the_connection_is_a_migration_error_with_the_file_as_before(populated, then):
    populated.add("002_closes.py", "20240602_090000_closes", f'''
        schema.sql("DELETE FROM tag")
        schema.db.connection().close()
        {then}
    ''')
    before = file_state(populated)
    database = populated.database(env="test", path=populated.path)

    with pytest.raises(MigrationError, match="closed the database connection") as caught:
        database.register_models([])
    database.close()

    assert "002_closes.py" in str(caught.value)
    assert file_state(populated) == before
