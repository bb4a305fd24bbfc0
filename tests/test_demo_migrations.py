"""The demo's own migration tests, written as an app team would write theirs with app_db.testing."""

from __future__ import annotations

from app_db.testing import assert_models_match, assert_reversible, migration_tester  # noqa: F401 (the fixture)
from demo_app.db import database
from demo_app.models import MODELS

BEFORE_TITLES = "20241120_093000_add_note_titles"
TITLES_DERIVED = "20241120_093100_derive_titles_from_first_lines"


def test_every_demo_migration_is_reversible():
    assert_reversible(database)


def test_the_demo_models_match_its_migrations():
    assert_models_match(database, MODELS)


def test_first_lines_of_old_notes_become_their_titles(migration_tester):
    tester = migration_tester(database)
    tester.migrate_to(BEFORE_TITLES)  # title exists, still NULL: what 1.x wrote
    tester.db.execute_sql(
        "INSERT INTO note (id, body, created_at, updated_at, pinned) VALUES "
        "(1, 'Groceries\nmilk\neggs', '2024-01-01', '2024-01-01', 0), "
        "(2, '  One line only  ', '2024-01-01', '2024-01-01', 0), "
        "(3, '', '2024-01-01', '2024-01-01', 0)"
    )
    tester.migrate_to(TITLES_DERIVED)
    assert tester.rows("SELECT id, title, body FROM note ORDER BY id") == [
        (1, "Groceries", "milk\neggs"),
        (2, "One line only", ""),
        (3, "", ""),
    ]
    tester.migrate_to()  # titles become NOT NULL: every old note has one
    assert tester.rows("SELECT count(*) FROM note WHERE title IS NULL") == [(0,)]


def test_rolling_back_the_data_migration_puts_titles_back_as_first_lines(migration_tester):
    tester = migration_tester(database)
    tester.migrate_to(BEFORE_TITLES)
    tester.db.execute_sql(
        "INSERT INTO note (body, created_at, updated_at, pinned) VALUES ('Groceries\nmilk', '2024-01-01', '2024-01-01', 0)"
    )
    tester.migrate_to(TITLES_DERIVED)
    tester.migrate_to(BEFORE_TITLES)
    assert tester.rows("SELECT title, body FROM note") == [(None, "Groceries\nmilk")]
