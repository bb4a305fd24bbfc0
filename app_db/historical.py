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


def insert_rows(
    model: type[peewee.Model], rows: Iterable[Any], operation: str, fields: Sequence[Any] | None = None
) -> int:
    """Insert ``rows`` into ``model``'s table; returns how many.

    Rows are dicts of column -> value, or, with ``fields`` (column names,
    as peewee's ``insert_many`` takes them), tuples of values in that order:
    the form for big tables, since a tuple costs the caller less to build
    than a dict and is bound as it is. Rows are read a batch at a time (a
    generator is never held whole). Each run of rows with the same columns
    is one INSERT, built once by peewee, that sqlite3's executemany binds
    each row to, in C. One row per statement means SQLite's limit on
    variables never applies, and it is several times faster than a
    multi-row insert_many, which converts each value in Python.
    """
    import itertools

    count = 0
    statements: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}
    iterator = iter(rows)
    columns = None if fields is None else checked_fields(fields, operation)
    while True:
        batch = list(itertools.islice(iterator, INSERT_BATCH))
        if not batch:
            return count
        if columns is not None:
            count += insert_values(model, columns, batch, operation, count, statements)
            continue
        for run in runs_of(batch, operation, count):
            count += insert_run(model, run, operation, statements)


def checked_fields(fields: Any, operation: str) -> tuple[Any, ...]:
    """``fields`` as a tuple of column names (or the model's Fields): non-empty, each once."""
    import peewee

    columns = (fields,) if isinstance(fields, (str, peewee.Field)) else tuple(fields)
    if isinstance(fields, str) or not columns or not all(isinstance(each, (str, peewee.Field)) for each in columns):
        raise SchemaOperationError(
            f"{operation}: fields must be a list of column names, one per value of each row, not {fields!r}"
        )
    names = [each if isinstance(each, str) else each.column_name for each in columns]
    lowered = [name.lower() for name in names]  # SQLite's column names ignore case
    repeated = [name for name in names if lowered.count(name.lower()) > 1]
    if repeated:
        raise SchemaOperationError(
            f"{operation}: fields names {', '.join(repeated)} more than once; name each column once"
        )
    return columns


def insert_values(
    model: type[peewee.Model],
    columns: tuple[Any, ...],
    batch: list[Any],
    operation: str,
    before: int,
    statements: dict[tuple[Any, ...], tuple[str, list[Any]]],
) -> int:
    """Insert one batch of value rows (one value per column, in order); sqlite3 checks each row's length, in C."""
    import sqlite3

    # sqlite3 binds any sequence, a string too (one character per column): every row's type is checked, in C.
    if not set(map(type, batch)) <= VALUE_ROW_TYPES:
        for position, row in enumerate(batch):
            if not is_value_row(row):
                raise SchemaOperationError(bad_values_message(operation, columns, before + position, row))
    sql, converters = prepared_insert(model, columns, operation, statements)
    values: Iterable[Any] = batch
    if converters:
        values = (tuple(convert(value) for convert, value in zip(converters, row, strict=True)) for row in batch)
    cursor = model._meta.database.cursor()
    try:
        cursor.executemany(sql, values)
    except (sqlite3.ProgrammingError, ValueError) as exc:  # a row of the wrong length or kind: name it
        for position, row in enumerate(batch):
            if not is_value_row(row) or len(row) != len(columns):
                raise SchemaOperationError(bad_values_message(operation, columns, before + position, row)) from exc
        raise
    return int(cursor.rowcount)


VALUE_ROW_TYPES = {tuple, list}  # the rows checked in C; another sequence is checked in Python


def is_value_row(row: Any) -> bool:
    """A tuple, list or other sequence of values; a string is one value, not a row of characters."""
    return isinstance(row, Sequence) and not isinstance(row, (str, bytes, bytearray))


def bad_values_message(operation: str, columns: tuple[Any, ...], position: int, row: Any) -> str:
    names = ", ".join(each if isinstance(each, str) else each.column_name for each in columns)
    return (
        f"{operation}: row {position} is {row!r}; with fields= each row must be a tuple (or list) of "
        f"{len(columns)} value{'s' if len(columns) != 1 else ''}, one per field ({names}), in that order"
        + ("; rows that are dicts name their own columns: leave out fields=" if isinstance(row, Mapping) else "")
    )


def runs_of(batch: list[Any], operation: str, before: int) -> Iterator[list[Mapping[str, Any]]]:
    """The runs of rows with the same keys in ``batch``; the common case, one run, is checked in C."""
    keys = batch[0].keys() if type(batch[0]) is dict else None
    try:
        if keys and all(map(keys.__eq__, map(dict.keys, batch))):
            yield batch
            return
    except TypeError:  # a row that is not a dict: found below
        pass
    start = 0
    for position, row in enumerate(batch):
        if not isinstance(row, Mapping) or not row:
            raise SchemaOperationError(
                f"{operation}: row {before + position} is {row!r}; each row must be a non-empty dict of "
                "column -> value" + (" (or pass fields= with rows as tuples)" if is_value_row(row) else "")
            )
        if position > start and row.keys() != batch[start].keys():
            yield batch[start:position]
            start = position
    yield batch[start:]


def prepared_insert(
    model: type[peewee.Model],
    columns: tuple[Any, ...],
    operation: str,
    statements: dict[tuple[Any, ...], tuple[str, list[Any]]],
) -> tuple[str, list[Any]]:
    """The INSERT of ``columns`` (peewee writes it, once per set of columns) and the converters its values need."""
    if columns not in statements:
        fields = [field_for(model, column, operation) for column in columns]
        sql, _params = model.insert(dict.fromkeys(fields)).sql()
        converters = [] if all(binds_as_is(each) for each in fields) else [each.db_value for each in fields]
        statements[columns] = (sql, converters)
    return statements[columns]


def insert_run(
    model: type[peewee.Model],
    run: list[Mapping[str, Any]],
    operation: str,
    statements: dict[tuple[Any, ...], tuple[str, list[Any]]],
) -> int:
    import operator

    columns = tuple(run[0])
    sql, converters = prepared_insert(model, columns, operation, statements)
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
