"""Historical models: peewee Model classes for tables as they stand at one point of the migration history.

A data migration must not import the app's live models: they describe the
newest schema, and a shipped migration runs against the schema of its own
time, forever. So the models are reflected (peewee's
``playhouse.reflection``) from the database itself, inside the batch's
transaction, when the migration asks. They carry the real column names and
types, and foreign keys between the tables reflected together, so joins
work. The reflection is cached until the schema changes, however the
change is made (a Schema operation, ``schema.sql``, ``schema.db.execute_sql``,
a savepoint rolled back): SQLite's ``schema_version`` and the text of
sqlite_master are compared at each call, so a model taken after
``add_column`` sees the new column. Nothing here writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import SchemaOperationError

if TYPE_CHECKING:
    import peewee

    from .migration import Migration

__all__ = ["HistoricalModels", "RowProgress", "where_clause"]

#: How often the app's row-progress callback may be called at most (seconds between calls).
ROW_PROGRESS_SECONDS = 0.1


class HistoricalModels:
    """Reflects and caches the models of one database; the cache lasts as long as the schema does."""

    def __init__(self, db: peewee.SqliteDatabase) -> None:
        self.db = db
        self._version: tuple[int, str] | None = None  # schema_version and the schema's text, when reflected
        self._models: dict[str, type[peewee.Model]] = {}  # real table name -> model, for the schema at _version
        self._names: dict[str, str] = {}  # lower-cased name -> real name, of every table

    def models(self, tables: Sequence[str]) -> list[type[peewee.Model]]:
        """One model per name in ``tables``, in that order, reflected together (foreign keys between them resolve)."""
        self._follow_schema()
        real = [self._real_name(table) for table in tables]
        missing = [name for name in real if name not in self._models]
        if missing:
            from playhouse.reflection import Introspector

            # peewee reflects the tables these reference too, so every foreign key points at a model.
            reflected = Introspector.from_database(self.db).generate_models(
                table_names=sorted(set(missing) | set(self._models)), literal_column_names=True
            )
            self._models.update(reflected)
        return [self._models[name] for name in real]

    def _follow_schema(self) -> None:
        # schema_version alone is not enough: a savepoint rolled back takes it back, and the next change
        # then brings it to a number already seen, with another schema. The text of the schema tells.
        # (Two statements: SQLite reports pragma_schema_version() to the authorizer as if it set the pragma, and a
        # dry run would show the read as a write.)
        version = (
            self.db.execute_sql("PRAGMA schema_version").fetchone()[0],
            self.db.execute_sql("SELECT group_concat(sql, char(0)) FROM sqlite_master").fetchone()[0],
        )
        if version != self._version:
            self._version = version
            self._models = {}
            self._names = {
                name.lower(): name
                for (name,) in self.db.execute_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }

    def _real_name(self, table: str) -> str:
        if not isinstance(table, str):
            raise SchemaOperationError(
                f"schema.model({table!r}): a table is named by a string, not {type(table).__name__}"
            )
        name = self._names.get(table.lower())
        if name is None:
            listed = ", ".join(sorted(name for name in self._names.values() if not name.startswith("app_db_")))
            raise SchemaOperationError(
                f"schema.model({table!r}): there is no table {table!r} at this point of the history "
                f"(its tables: {listed or 'none'}); check the name, or create or rename the table earlier "
                "in this migration or an earlier one"
            )
        return name


def field_for(model: type[peewee.Model], column: Any, operation: str) -> Any:
    """The field of ``model`` stored in ``column`` (found as SQLite finds it, case-insensitively)."""
    if not isinstance(column, str):
        return column  # a Field or expression given as a key: peewee takes it as it is
    for each in model._meta.sorted_fields:
        if each.column_name.lower() == column.lower():
            return each
    columns = ", ".join(each.column_name for each in model._meta.sorted_fields)
    raise SchemaOperationError(
        f"{operation}: table {model._meta.table_name!r} has no column {column!r} (its columns: {columns}); "
        "check the name, or add the column earlier in the migration"
    )


def where_clause(model: type[peewee.Model], where: Any, operation: str) -> Any:
    """``where`` as a peewee expression: a dict of column -> value (all must match; None matches NULL), or as given."""
    import functools
    import operator

    import peewee

    if isinstance(where, Mapping):
        terms = [
            field_for(model, column, operation).is_null()
            if value is None
            else field_for(model, column, operation) == value
            for column, value in where.items()
        ]
        return functools.reduce(operator.and_, terms) if terms else None
    if isinstance(where, peewee.Node):
        return where
    raise SchemaOperationError(
        f"{operation}: where must be a dict of column -> value, or a peewee expression on "
        f"schema.model({model._meta.table_name!r}), not {type(where).__name__} {where!r}; "
        "pass {} to mean every row"
    )


# Fields whose values sqlite3 binds exactly as peewee would write them; the rest go through field.db_value.
def binds_as_is(field: peewee.Field) -> bool:
    import peewee

    plain = (
        peewee.IntegerField,
        peewee.FloatField,
        peewee.CharField,
        peewee.TextField,
        peewee.BooleanField,
        peewee.BareField,
    )
    return isinstance(field, plain) and type(field).db_value is peewee.Field.db_value


#: Rows read from the caller's iterable at a time: memory stays flat, and each batch's check runs in C.
INSERT_BATCH = 10_000


def insert_rows(model: type[peewee.Model], rows: Iterable[Mapping[str, Any]], operation: str) -> int:
    """Insert ``rows`` (dicts of column -> value) into ``model``'s table; returns how many.

    Rows are read a batch at a time (a generator is never held whole).
    Consecutive rows with the same columns make one run: peewee builds its
    INSERT once, and sqlite3's executemany binds each row to it, in C. One
    row per statement means SQLite's limit on variables never applies, and
    it is several times faster than a multi-row insert_many, which converts
    each value in Python.
    """
    import itertools

    count = 0
    statements: dict[tuple[str, ...], tuple[str, list[Any]]] = {}
    iterator = iter(rows)
    while True:
        batch = list(itertools.islice(iterator, INSERT_BATCH))
        if not batch:
            return count
        for run in runs_of(batch, operation, count):
            count += insert_run(model, run, operation, statements)


def runs_of(batch: list[Any], operation: str, before: int) -> Iterator[list[Mapping[str, Any]]]:
    """The runs of rows with the same keys in ``batch``; the common case, one run, is checked in C."""
    from collections.abc import Mapping as AnyMapping

    keys = batch[0].keys() if type(batch[0]) is dict else None
    try:
        if keys and all(map(keys.__eq__, map(dict.keys, batch))):
            yield batch
            return
    except TypeError:  # a row that is not a dict: found below
        pass
    start = 0
    for position, row in enumerate(batch):
        if not isinstance(row, AnyMapping) or not row:
            raise SchemaOperationError(
                f"{operation}: row {before + position} is {row!r}; each row must be a non-empty dict of column -> value"
            )
        if position > start and row.keys() != batch[start].keys():
            yield batch[start:position]
            start = position
    yield batch[start:]


def insert_run(
    model: type[peewee.Model],
    run: list[Mapping[str, Any]],
    operation: str,
    statements: dict[tuple[str, ...], tuple[str, list[Any]]],
) -> int:
    import operator

    columns = tuple(run[0])
    if columns not in statements:
        fields = [field_for(model, column, operation) for column in columns]
        sql, _params = model.insert(dict.fromkeys(fields)).sql()
        converters = [] if all(binds_as_is(each) for each in fields) else [each.db_value for each in fields]
        statements[columns] = (sql, converters)
    sql, converters = statements[columns]
    pick = operator.itemgetter(*columns) if len(columns) > 1 else (lambda row, key=columns[0]: (row[key],))
    values: Iterable[tuple[Any, ...]] = map(pick, run)
    if converters:
        values = (tuple(convert(value) for convert, value in zip(converters, row, strict=False)) for row in values)
    cursor = model._meta.database.cursor()
    cursor.executemany(sql, values)
    return int(cursor.rowcount)


class RowProgress:
    """Passes a data migration's ``schema.progress(done, total)`` to the app, at most about ten times a second.

    The first call and the one that reaches ``total`` always pass, so the
    app sees the start and the end; those in between are dropped when they
    come sooner than ROW_PROGRESS_SECONDS after the last one passed.
    """

    __slots__ = ("_last", "callback", "migration")

    def __init__(self, callback: Callable[[Migration, int, int], None] | None) -> None:
        self.callback = callback
        self.migration: Migration | None = None
        self._last = float("-inf")

    def start(self, migration: Migration) -> None:
        self.migration = migration
        self._last = float("-inf")

    def report(self, done: int, total: int) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if now - self._last < ROW_PROGRESS_SECONDS and not (total > 0 and done == total):  # the end always passes
            return
        self._last = now
        self.callback(self.migration, done, total)  # type: ignore[arg-type]
