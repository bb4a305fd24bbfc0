"""Model diff: what separates the schema the migrations build from the models, as changes to write.

``playhouse.schema_diff`` finds the tables and columns to create and drop;
this module goes past it to column types, NOT NULL, foreign keys, dropped
tables and renames. Each change carries the code that makes it (up) and
undoes it (down), written by field_source.

Ambiguities (a column or table went away while a similar one appeared)
are settled by ``ask`` when there is one; without it the change is the one
that keeps the data (a rename rather than a drop and an add) with a
``# REVIEW:`` comment saying what to change if the guess is wrong.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .field_source import Writer, literal
from .migration import sql_literal
from .reflection import (
    Column,
    IndexInfo,
    TableInfo,
    column_clause,
    model_foreign_key,
    model_indexes,
    model_type,
    read_tables,
    sqlite_affinity,
)
from .schema_text import squeeze

if TYPE_CHECKING:
    import peewee

    from .database import Database

__all__ = ["Ask", "Change", "diff_models", "load_models", "require_models"]

Ask = Callable[[str], bool]


# Which models ----------------------------------------------------------------------------
def load_models(spec: str) -> list[type[peewee.Model]]:
    """The models named by ``"package.module:NAME"`` (a model or a list of them) or ``"package.module"``.

    ``"package.module"`` means every model it defines. For tools and tests that name models by import path.
    """
    import peewee

    module_name, _colon, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"Cannot import the models module {module_name!r} (from {spec!r}): {exc}.") from exc
    if attribute:
        value = getattr(module, attribute, None)
        if value is None:
            raise ConfigurationError(f"{module_name} has no attribute {attribute!r} (from models = {spec!r}).")
        values: list[Any] = [value] if isinstance(value, type) else list(value)
    else:
        defined = [
            value for value in vars(module).values() if isinstance(value, type) and value.__module__ == module.__name__
        ]
        values = [
            value for value in defined if issubclass(value, peewee.Model) and value._meta.fields and table_fields(value)
        ]
    models = [value for value in values if isinstance(value, type) and issubclass(value, peewee.Model)]
    bad = [value for value in values if value not in models]
    if bad or not models:
        raise ConfigurationError(
            f"models = {spec!r} must name a peewee Model, a list of them, or a module defining them; "
            f"got {bad or 'none'}."
        )
    return models


def table_fields(model: type[peewee.Model]) -> list[peewee.Field]:
    """A model's fields, except the bare ``id`` every peewee model has (a base class is not a table)."""
    fields = model._meta.sorted_fields
    return [] if len(fields) == 1 and fields[0].name == "id" and not model._meta.indexes else fields


def require_models(
    database: Database, models: Sequence[type[peewee.Model]] | None, needed_by: str, pass_to: str, outcome: str
) -> list[type[peewee.Model]]:
    """``models``, else ``Database(models=...)``.

    ConfigurationError when both are empty: every table would look dropped.
    """
    models = list(database.models if models is None else models)
    if not models:
        raise ConfigurationError(
            f"{needed_by} needs the app's models: pass them to {pass_to}, e.g. Database(..., models=[Note, Tag]). "
            f"{outcome}"
        )
    return models


# Changes ----------------------------------------------------------------------------------
@dataclass
class Change:
    """One difference and the code that makes it (``up``) and undoes it (``down``)."""

    description: str  # "add column note.archived"
    up: list[str]
    down: list[str]
    comments: list[str] = field(default_factory=list)  # "# REVIEW: ..." lines written above the code
    subject: str = ""  # what is added or dropped: "note.archived", "table tag"
    side: str = ""  # who has the subject: "models" (the schema lacks it), "schema" (the models lack it), "": both
    stored_alike: bool = False  # only the declared type differs (INT, INTEGER): SQLite stores both alike

    def __str__(self) -> str:
        return self.description


def zero_value(declared: str) -> Any:
    """What existing rows get in a new NOT NULL column that has no default."""
    return {"INTEGER": 0, "REAL": 0.0, "NUMERIC": 0}.get(sqlite_affinity(declared), "")


def default_index_name(table: str, columns: Sequence[str]) -> str:
    from playhouse.migrate import make_index_name

    name: str = make_index_name(table, list(columns))
    return name


def diff_models(
    db: peewee.SqliteDatabase,
    models: Sequence[type[peewee.Model]],
    ask: Ask | None = None,
    writer: Writer | None = None,
) -> list[Change]:
    """The changes that bring the schema in ``db`` to the models, in the order up() makes them.

    ``ask`` settles ambiguous pairs (a column or table that went away while
    a similar one appeared): True means a rename. Without it, renames are
    assumed (no data is lost) and marked for review.
    """
    import peewee
    from playhouse.schema_diff import diff_models as peewee_diff

    writer = writer or Writer()
    sort_models = peewee.sort_models  # type: ignore[attr-defined]  # missing from peewee-stubs
    models = [model for model in sort_models(models) if not getattr(model._meta, "extension_module", None)]
    tables = read_tables(db)
    base = peewee_diff(db, models)  # peewee finds the tables and columns; types, nulls, keys are ours
    created = list(base.create_tables)
    covered = {model._meta.table_name for model in models}
    dropped = sorted(name for name in tables if name not in covered)

    creates: list[Change] = []
    table_renames: list[Change] = []
    renamed: set[str] = set()  # new names of renamed tables
    for model in created:
        table = model._meta.table_name
        twin = find_renamed_table(db, model, [tables[name] for name in dropped])
        if twin is not None and settle(
            ask,
            f"Was table {twin.name} renamed to {table}? "
            f"(y: rename it, keeping its rows; n: drop {twin.name}, create {table})",
        ):
            dropped.remove(twin.name)
            change = Change(
                f"rename table {twin.name} to {table}",
                [f"schema.rename_table({literal(twin.name)}, {literal(table)})"],
                [f"schema.rename_table({literal(table)}, {literal(twin.name)})"],
            )
            if ask is None:
                change.comments.append(
                    f"# REVIEW: table {twin.name} is gone from the models and {table} is new, with the same columns: "
                    f"taken as a rename (its rows are kept). If {table} is really a new table, replace this with "
                    f"schema.drop_table({literal(twin.name)}) and a create_table({literal(table)}, ...)."
                )
            table_renames.append(change)
            tables[table] = tables.pop(twin.name)
            tables[table].name = table
            renamed.add(table)
            continue
        creates.append(create_table_change(model, writer))

    changes: list[Change] = creates + table_renames
    created_tables = {model._meta.table_name for model in created} - renamed
    for model in models:
        table = model._meta.table_name
        if table in tables and table not in created_tables:
            changes.extend(table_changes(db, model, tables[table], ask, writer))
    for name in reversed(order_for_drop(tables, dropped)):
        changes.append(drop_table_change(tables[name], writer))
    return changes


def settle(ask: Ask | None, question: str) -> bool:
    """The answer to an ambiguity; without anyone to ask, the choice that keeps the data."""
    return True if ask is None else bool(ask(question))


def find_renamed_table(
    db: peewee.SqliteDatabase, model: type[peewee.Model], candidates: Sequence[TableInfo]
) -> TableInfo | None:
    wanted = {(f.column_name, model_type(db, f), not f.null or f.primary_key) for f in model._meta.sorted_fields}
    for table in candidates:
        have = {(c.name, c.type, c.not_null or c.primary_key) for c in table.columns.values()}
        if have == wanted:
            return table
    return None


def order_for_drop(tables: dict[str, TableInfo], names: Sequence[str]) -> list[str]:
    """``names`` with referenced tables before the tables that reference them (the order to create them)."""
    ordered: list[str] = []
    pending = list(names)
    while pending:
        for name in pending:
            parents = {c.foreign_key.table for c in tables[name].columns.values() if c.foreign_key}
            if not (parents & (set(pending) - {name})):
                ordered.append(name)
                pending.remove(name)
                break
        else:  # a cycle: any order will do, SQLite checks keys at commit
            ordered.extend(pending)
            break
    return ordered


def create_table_change(model: type[peewee.Model], writer: Writer) -> Change:
    table = model._meta.table_name
    lines = [f"schema.create_table({literal(table)}, {{"]
    comments: list[str] = []
    for model_field in model._meta.sorted_fields:
        source, notes = writer.model_field(model_field)
        lines.append(f"    {literal(model_field.column_name)}: {source},")
        comments += [f"# REVIEW: {table}.{model_field.column_name}: {note}" for note in notes]
    lines.append("})")
    field_indexes = {
        (tuple(f.column_name for f in [model_field]), bool(model_field.unique))
        for model_field in model._meta.sorted_fields
        if model_field.index or model_field.unique
    }
    plain, named = model_indexes(model)
    for columns, unique in sorted(plain - field_indexes):
        lines.append(add_index_line(table, columns, unique))
    comments += [
        f"# TODO: {table}: index {name} (partial or expression) must be written by hand" for name in sorted(named)
    ]
    return Change(
        f"create table {table}", lines, [f"schema.drop_table({literal(table)})"], comments, f"table {table}", "models"
    )


def drop_table_change(table: TableInfo, writer: Writer) -> Change:
    lines = [f"schema.create_table({literal(table.name)}, {{"]
    for column in table.columns.values():
        lines.append(f"    {literal(column.name)}: {writer.reflected_field(column, in_create=True, index=False)},")
    lines.append("})")
    for index in sorted(table.indexes.values(), key=lambda index: index.name):
        lines.append(recreate_index_line(index))
    return Change(
        f"drop table {table.name}",
        [f"schema.drop_table({literal(table.name)})"],
        lines,
        [
            f"# REVIEW: table {table.name} is not in the models any more: dropping it deletes its rows (down() "
            "brings the table back, empty)."
        ],
        f"table {table.name}",
        "schema",
    )


def add_index_line(table: str, columns: Sequence[str], unique: bool, name: str | None = None) -> str:
    args = [literal(table), "[" + ", ".join(literal(column) for column in columns) + "]"]
    args += ["unique=True"] if unique else []
    args += [f"name={literal(name)}"] if name and name != default_index_name(table, columns) else []
    return f"schema.add_index({', '.join(args)})"


def recreate_index_line(index: IndexInfo) -> str:
    if index.sql is None:
        columns = ", ".join(index.columns or ())
        return f"# TODO: {index.table}: the UNIQUE constraint on ({columns}) must be re-created by hand"
    if index.columns is None or index.partial:
        return f"schema.sql({literal(squeeze(index.sql))})"
    return add_index_line(index.table, index.columns, index.unique, index.name)


def table_changes(
    db: peewee.SqliteDatabase, model: type[peewee.Model], table: TableInfo, ask: Ask | None, writer: Writer
) -> list[Change]:
    """Column, type, NOT NULL, foreign key and index changes of one existing table, in up() order."""
    name = table.name
    fields = {f.column_name: f for f in model._meta.sorted_fields}
    added = [column for column in fields if column not in table.columns]
    removed = [column for column in table.columns if column not in fields]

    renames: dict[str, str] = {}  # old -> new
    for new in added:
        signature = (model_type(db, fields[new]), not fields[new].null, model_foreign_key(fields[new]))
        for old in removed:
            column = table.columns[old]
            if old in renames or (column.type, column.not_null, column.foreign_key) != signature:
                continue
            if settle(
                ask,
                f"Was {name}.{old} renamed to {name}.{new}? "
                f"(y: rename it, keeping its values; n: drop {old}, add {new})",
            ):
                renames[old] = new
            break
    added = [column for column in added if column not in renames.values()]
    removed = [column for column in removed if column not in renames]

    index_drops, column_changes, index_adds = [], [], []
    # Indexes: pair the database's with the model's by (columns, unique), after the renames.
    plain, named = model_indexes(model)
    auto = {
        ((column,), bool(fields[column].unique)) for column in added if fields[column].index or fields[column].unique
    }
    wanted = set(plain)
    for index in sorted(table.indexes.values(), key=lambda index: index.name):
        if (
            index.sql is None
            and index.columns is not None
            and len(index.columns) == 1
            and index.columns[0] in table.columns
            and table.columns[index.columns[0]].primary_key
        ):
            continue  # the primary key's own index
        if index.name in named:
            named.discard(index.name)
            continue
        columns = tuple(renames.get(column, column) for column in index.columns) if index.columns else None
        if columns is not None and not index.partial and (columns, index.unique) in wanted:
            wanted.discard((columns, index.unique))
            continue
        if index.sql is None:
            index_drops.append(
                Change(
                    f"drop unique constraint {name}({', '.join(index.columns or ())})",
                    [],
                    [],
                    [
                        f"# TODO: {name}: the UNIQUE constraint on ({', '.join(index.columns or ())}) is part of "
                        "the table; removing it needs a table rebuild written by hand"
                    ],
                )
            )
            continue
        index_drops.append(
            Change(
                f"drop index {name}.{index.name}",
                [f"schema.drop_index({literal(name)}, {literal(index.name)})"],
                [recreate_index_line(index)],
            )
        )
    for index_name in sorted(named):
        index_adds.append(
            Change(
                f"add index {name}.{index_name}",
                [],
                [],
                [f"# TODO: {name}: index {index_name} (partial or expression) must be written by hand"],
            )
        )
    for columns, unique in sorted(wanted - auto):
        index_adds.append(
            Change(
                f"add {'unique ' if unique else ''}index {name}({', '.join(columns)})",
                [add_index_line(name, columns, unique)],
                [f"schema.drop_index({literal(name)}, {literal(default_index_name(name, columns))})"],
            )
        )

    for old, new in renames.items():
        change = Change(
            f"rename column {name}.{old} to {new}",
            [f"schema.rename_column({literal(name)}, {literal(old)}, {literal(new)})"],
            [f"schema.rename_column({literal(name)}, {literal(new)}, {literal(old)})"],
        )
        if ask is None:
            change.comments.append(
                f"# REVIEW: {name}.{old} is gone from the models and {name}.{new} is new, with the same type: taken "
                f"as a rename (the values are kept). If {new} is really a new column, replace this line with "
                f"schema.drop_column({literal(name)}, {literal(old)}) and "
                f"schema.add_column({literal(name)}, {literal(new)}, ...)."
            )
        column_changes.append(change)
    for old in removed:
        column_changes.append(drop_column_change(name, table.columns[old], writer))
    for new in added:
        column_changes.append(add_column_change(db, name, fields[new], writer))
    for column_name, model_field in fields.items():
        if column_name in added or (column_name not in table.columns and column_name not in renames.values()):
            continue
        old = next((o for o, n in renames.items() if n == column_name), column_name)
        column_changes.extend(alter_column_changes(db, name, table.columns[old], model_field, writer))
    return index_drops + column_changes + index_adds


def add_column_change(db: peewee.SqliteDatabase, table: str, model_field: peewee.Field, writer: Writer) -> Change:
    column = model_field.column_name
    source, notes = writer.model_field(model_field)
    comments = [f"# REVIEW: {table}.{column}: {note}" for note in notes]
    down = []
    if model_field.index or model_field.unique:
        down.append(f"schema.drop_index({literal(table)}, {literal(default_index_name(table, [column]))})")
    down.append(f"schema.drop_column({literal(table)}, {literal(column)})")
    if not model_field.null and model_field.default is None:
        # peewee refuses a NOT NULL column without a value for the rows that exist.
        fill = zero_value(model_type(db, model_field))
        nullable = model_field.clone()
        nullable.null = True
        nullable.name, nullable.column_name = model_field.name, model_field.column_name
        nullable_source, _ = writer.model_field(nullable)
        comments.append(
            f"# REVIEW: {table}.{column} is NOT NULL without a default: existing rows get {sql_literal(fill)}; "
            "change the UPDATE if they need another value."
        )
        up = [
            f"schema.add_column({literal(table)}, {literal(column)}, {nullable_source})",
            f"schema.sql({literal(f'UPDATE {table} SET {column} = {sql_literal(fill)} WHERE {column} IS NULL')})",
            f"schema.add_not_null({literal(table)}, {literal(column)})",
        ]
        return Change(f"add column {table}.{column}", up, down, comments, f"{table}.{column}", "models")
    return Change(
        f"add column {table}.{column}",
        [f"schema.add_column({literal(table)}, {literal(column)}, {source})"],
        down,
        comments,
        f"{table}.{column}",
        "models",
    )


def drop_column_change(table: str, column: Column, writer: Writer) -> Change:
    comments = [
        f"# REVIEW: {table}.{column.name} is not in the models any more: dropping it deletes its values "
        "(down() brings the column back, without them)."
    ]
    if column.not_null and column.default is None:
        fill = zero_value(column.type)
        nullable = Column(column.name, column.type, False, False, None, column.foreign_key)
        fill_nulls = f"UPDATE {table} SET {column.name} = {sql_literal(fill)} WHERE {column.name} IS NULL"
        down = [
            f"schema.add_column({literal(table)}, {literal(column.name)}, "
            f"{writer.reflected_field(nullable, in_create=False)})",
            f"schema.sql({literal(fill_nulls)})",
            f"schema.add_not_null({literal(table)}, {literal(column.name)})",
        ]
    else:
        source = writer.reflected_field(column, in_create=False)
        down = [f"schema.add_column({literal(table)}, {literal(column.name)}, {source})"]
    return Change(
        f"drop column {table}.{column.name}",
        [f"schema.drop_column({literal(table)}, {literal(column.name)})"],
        down,
        comments,
        f"{table}.{column.name}",
        "schema",
    )


def alter_column_changes(
    db: peewee.SqliteDatabase, table: str, column: Column, model_field: peewee.Field, writer: Writer
) -> list[Change]:
    changes: list[Change] = []
    if column.primary_key or model_field.primary_key:
        return changes
    name = model_field.column_name
    wanted_type = model_type(db, model_field)
    wanted_key = model_foreign_key(model_field)
    if (wanted_key or None) != (column.foreign_key or None):
        before = column_clause(column).split(" ", 1)[1]
        changes.append(
            Change(
                f"change foreign key {table}.{name}",
                [],
                [],
                [
                    f"# TODO: {table}.{name}: its foreign key changes ({before or 'none'} -> "
                    f"{'REFERENCES ' + wanted_key.table + '(' + wanted_key.column + ')' if wanted_key else 'none'}); "
                    "SQLite cannot alter a foreign key in place: rebuild the table by hand (create the new table, "
                    "copy the rows, drop the old one, rename)."
                ],
            )
        )
        return changes
    if wanted_type != column.type and wanted_key is None:
        source, notes = writer.model_field(model_field)
        reflected = writer.reflected_field(column, in_create=True)
        changes.append(
            Change(
                f"change type of {table}.{name}: {column.type} -> {wanted_type}"
                + (
                    ""
                    if column.not_null == (not model_field.null)
                    else (" NOT NULL" if not model_field.null else " NULL")
                ),
                [f"schema.alter_column_type({literal(table)}, {literal(name)}, {source})"],
                [f"schema.alter_column_type({literal(table)}, {literal(name)}, {reflected})"],
                [f"# REVIEW: {table}.{name}: {note}" for note in notes],
                stored_alike=sqlite_affinity(wanted_type) == sqlite_affinity(column.type)
                and column.not_null == (not model_field.null),
            )
        )
        return changes
    if column.not_null and model_field.null:
        changes.append(
            Change(
                f"drop NOT NULL from {table}.{name}",
                [f"schema.drop_not_null({literal(table)}, {literal(name)})"],
                [f"schema.add_not_null({literal(table)}, {literal(name)})"],
            )
        )
    elif not column.not_null and not model_field.null:
        up, comments = [], []
        default = model_field.default
        if default is not None and not callable(default):
            value = sql_literal(model_field.db_value(default))
            up.append(f"schema.sql({literal(f'UPDATE {table} SET {name} = {value} WHERE {name} IS NULL')})")
        else:
            comments.append(
                f"# REVIEW: rows holding NULL in {table}.{name} must be filled first: add_not_null refuses them."
            )
        up.append(f"schema.add_not_null({literal(table)}, {literal(name)})")
        changes.append(
            Change(
                f"add NOT NULL to {table}.{name}",
                up,
                [f"schema.drop_not_null({literal(table)}, {literal(name)})"],
                comments,
            )
        )
    return changes
