"""Testing: a pytest plugin for an app's own migration tests.

Registered through the ``pytest11`` entry point, so an app that installs
app_db gets, with no import:

- the ``migration_tester`` fixture: ``tester = migration_tester(database)``
  gives a fresh file for the app's Database; ``tester.migrate_to(id)``
  brings it to any point of the history, ``tester.db`` runs the SQL of that
  time, ``tester.migrate_to(later_id)`` goes on, and the test asserts what
  the data became (Room's MigrationTestHelper);
- ``assert_reversible(database)``: every migration's down() gives back the
  schema from before its up(), and up() runs again;
- ``assert_models_match(database, models)``: the models and the schema
  all the migrations build agree (the drift check as a test).

Everything runs on scratch files; the user's database is never opened.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .drift import find_drift
from .errors import ConfigurationError
from .model_diff import require_models
from .plan import resolve_id
from .schema_text import describe_schema
from .scratch import latest_id, migrated_scratch, scratch_database

if TYPE_CHECKING:
    import peewee

    from .database import Database

__all__ = ["MigrationTester", "assert_models_match", "assert_reversible", "migration_tester"]


class MigrationTester:
    """A fresh database file for ``database``'s migrations, moved through its history on demand."""

    def __init__(self, database: Database, path: Path) -> None:
        self.path = path
        self.database = scratch_database(database, path)
        self.ids = [status.id for status in self.database.status()]

    @property
    def db(self) -> peewee.SqliteDatabase:
        """The open peewee database: ``tester.db.execute_sql(...)`` with the schema of the current point."""
        return self.database.db

    @property
    def current(self) -> str | None:
        """The id of the newest applied migration (None: none applied)."""
        return latest_id(self.database)

    def migrate_to(self, migration_id: str | None = None) -> MigrationTester:
        """Apply (or roll back) migrations until ``migration_id`` is the newest applied; None: all of them.

        ``migration_id`` may be short, as on the command line: a unique
        prefix of an id, or a file's number or name (``"002"``).
        """
        __tracebackhide__ = True
        if migration_id is not None:
            try:
                migration_id = resolve_id(migration_id, self.database.status())
            except ConfigurationError as exc:
                known = "\n  ".join(self.ids) or "(none)"
                raise AssertionError(f"{exc} Known:\n  {known}") from None
        current = self.current
        if migration_id is not None and current is not None and migration_id < current:
            self.database.rollback(to=migration_id)
        else:
            self.database.migrate(to=migration_id)
        return self

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query."""
        rows: list[tuple[Any, ...]] = self.db.execute_sql(sql, params).fetchall()
        return rows

    def schema(self) -> list[str]:
        """The schema now, as the normalised lines assert_reversible compares."""
        return describe_schema(self.db)

    def close(self) -> None:
        self.database.close()


@pytest.fixture
def migration_tester(tmp_path: Path) -> Iterator[Callable[[Database], MigrationTester]]:
    """A factory: ``migration_tester(database)`` -> a MigrationTester on a new file under tmp_path."""
    testers: list[MigrationTester] = []

    def make(database: Database) -> MigrationTester:
        tester = MigrationTester(database, tmp_path / f"migration-test-{len(testers) + 1}.sqlite3")
        testers.append(tester)
        return tester

    yield make
    for tester in testers:
        tester.close()


def assert_reversible(database: Database) -> None:
    """Every migration's down() restores the schema from before its up(), and up() runs again.

    Migrations are applied one at a time on a scratch file: up, down, up.
    Fails naming the first migration that has no down(), raises, or leaves
    a different schema, with a diff of the normalised schemas (tables,
    columns by name, indexes, foreign keys, views, triggers).
    """
    __tracebackhide__ = True
    with tempfile.TemporaryDirectory(prefix="app-db-reversible-") as folder:
        scratch = scratch_database(database, Path(folder) / "reversible.sqlite3")
        try:
            statuses = scratch.status()
            for status in statuses:
                label = f"{status.id} ({status.file})" if status.file else status.id
                before = describe_schema(scratch.db)
                step(partial(scratch.migrate, to=status.id), f"Migration {label}: up() failed")
                after = describe_schema(scratch.db)
                step(partial(scratch.rollback, steps=1), f"Migration {label}: down() failed after up()")
                restored = describe_schema(scratch.db)
                if restored != before:
                    raise AssertionError(
                        f"Migration {label}: down() does not undo up(); the schema after up() then down() "
                        f"differs from the schema before up() (- before, + after down):\n"
                        + schema_diff(before, restored)
                    )
                step(
                    partial(scratch.migrate, to=status.id),
                    f"Migration {label}: up() failed when run again after down()",
                )
                again = describe_schema(scratch.db)
                if again != after:
                    raise AssertionError(
                        f"Migration {label}: up() run again after down() gives another schema than the first time "
                        "(- first, + again):\n" + schema_diff(after, again)
                    )
        finally:
            scratch.close()


def step(action: Callable[[], Any], message: str) -> None:
    __tracebackhide__ = True
    try:
        action()
    except Exception as exc:
        raise AssertionError(f"{message}: {exc}") from exc


def schema_diff(before: Sequence[str], after: Sequence[str]) -> str:
    lines = difflib.unified_diff(list(before), list(after), "before", "after", lineterm="", n=1)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def assert_models_match(database: Database, models: Sequence[type[peewee.Model]] | None = None) -> None:
    """``models`` (default: ``Database(models=...)``) and the schema all the migrations build agree.

    Tables, columns, types (as SQLite stores them: INT matches an
    IntegerField), NOT NULL, foreign keys and indexes are compared, as
    ``app-db check`` compares them;
    the failure lists each difference and the command that writes the
    missing migration. ConfigurationError when there are no models to compare.
    """
    __tracebackhide__ = True
    models = require_models(
        database, models, "assert_models_match", "the Database or to assert_models_match", "Nothing was compared."
    )
    scratch = migrated_scratch(database)
    try:
        changes = find_drift(scratch.db, models)  # app-db check's own comparison
    finally:
        scratch.close()
    if changes:
        listed = "\n".join(f"  {change.description}" for change in changes)
        raise AssertionError(
            "The models and the schema the migrations produce disagree; a migration is missing:\n"
            f"{listed}\n"
            'Write it with `app-db makemigration "describe the change"`, review it, and run the tests again.'
        )
