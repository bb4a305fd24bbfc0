"""Reflection: the schema read from a database or from the models, as the same small records.

The database side builds on peewee's introspection (``get_columns`` and
``get_foreign_keys``, which playhouse.reflection uses too; the latter
resolves a bare ``REFERENCES parent`` to the parent's primary key) and
reads indexes from SQLite's own lists, which peewee's leave incomplete. The model
side asks peewee how it would write each field, so both sides compare as
equals. Nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .migration import quote

if TYPE_CHECKING:
    import peewee

__all__ = [
    "INTERNAL_TABLE",
    "Column",
    "ForeignKey",
    "IndexInfo",
    "TableInfo",
    "column_clause",
    "model_foreign_key",
    "model_indexes",
    "model_type",
    "normalise_type",
    "read_tables",
    "shadow_tables",
    "sqlite_affinity",
]

#: Tables app_db or SQLite own: never part of the app's schema.
INTERNAL_TABLE = re.compile(r"^(app_db_|sqlite_)")


@dataclass
class ForeignKey:
    table: str
    column: str
    on_delete: str = ""  # "" for SQLite's NO ACTION
    on_update: str = ""


@dataclass
class Column:
    name: str
    type: str  # the declared type, normalised ("VARCHAR(255)")
    not_null: bool
    primary_key: bool
    default: str | None  # the DEFAULT clause's SQL text, as SQLite keeps it
    foreign_key: ForeignKey | None = None


@dataclass
class IndexInfo:
    name: str
    table: str
    columns: tuple[str, ...] | None  # None: an expression index
    unique: bool
    sql: str | None  # None: made by a UNIQUE or PRIMARY KEY constraint
    partial: bool = False


@dataclass
class TableInfo:
    name: str
    sql: str
    columns: dict[str, Column] = field(default_factory=dict)  # in table order
    indexes: dict[str, IndexInfo] = field(default_factory=dict)


def normalise_type(declared: str) -> str:
    """``varchar ( 255 )`` -> ``VARCHAR(255)``: how types are compared."""
    text = re.sub(r"\s+", " ", declared.strip().upper())
    return re.sub(r"\s*([(),])\s*", lambda m: m.group(1) + (" " if m.group(1) == "," else ""), text).strip()


def sqlite_affinity(declared: str) -> str:
    """SQLite's type affinity rules (https://sqlite.org/datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


#: What FTS3/4, FTS5 and R*Tree name the tables they keep their data in: ``<virtual table>_<suffix>``.
SHADOW_SUFFIXES = (
    "content",
    "segments",
    "segdir",
    "docsize",
    "stat",
    "data",
    "idx",
    "config",
    "node",
    "rowid",
    "parent",
)


# The database side ---------------------------------------------------------------------
def read_tables(db: peewee.SqliteDatabase) -> dict[str, TableInfo]:
    """Every table of the app with columns, foreign keys and indexes.

    Not app_db's nor SQLite's own, not virtual tables (FTS, R*Tree) nor the
    shadow tables they keep their data in: no model describes those.
    """
    tables: dict[str, TableInfo] = {}
    rows = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    shadows = shadow_tables(db)
    for name, sql in rows:
        if INTERNAL_TABLE.match(name) or is_virtual(sql) or name in shadows:
            continue
        table = tables[name] = TableInfo(name, sql or "")
        for column in db.get_columns(name):
            table.columns[column.name] = Column(
                column.name, normalise_type(column.data_type or ""), not column.null, column.primary_key, column.default
            )
        for key in db.get_foreign_keys(name):
            if key.column in table.columns:
                table.columns[key.column].foreign_key = ForeignKey(
                    key.dest_table,
                    key.dest_column or "id",
                    no_action_as_empty(key.on_delete),
                    no_action_as_empty(key.on_update),
                )
        # Not peewee's get_indexes: it lists sqlite_master only, which lacks a WITHOUT ROWID table's key,
        # and it has no partial flag.
        for row in db.execute_sql(f"PRAGMA index_list({quote(name)})"):
            index_name, unique, origin, partial = row[1], bool(row[2]), row[3], bool(row[4])
            columns = [info[2] for info in db.execute_sql(f"PRAGMA index_info({quote(index_name)})")]
            found = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index_name,))
            index_sql = found.fetchone()
            made_by_create_index = index_sql is not None and origin == "c"  # not by a UNIQUE or PRIMARY KEY constraint
            table.indexes[index_name] = IndexInfo(
                index_name,
                name,
                None if None in columns else tuple(columns),
                unique,
                index_sql[0] if made_by_create_index else None,
                partial,
            )
    return tables


def is_virtual(sql: str | None) -> bool:
    return re.match(r"\s*CREATE\s+VIRTUAL\b", sql or "", re.I) is not None


def shadow_tables(db: peewee.SqliteDatabase) -> set[str]:
    """The tables virtual tables keep their data in (``note_search_data`` of an FTS5 ``note_search``)."""
    import peewee

    try:  # SQLite 3.37+ says so itself; an older one ignores the unknown pragma and returns nothing
        listed = db.execute_sql("PRAGMA main.table_list").fetchall()
    except peewee.DatabaseError:  # a virtual table whose module this connection lacks
        listed = []
    if listed:
        return {row[1] for row in listed if row[2] == "shadow"}
    rows = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    names = {name for name, _sql in rows}
    return {f"{name}_{suffix}" for name, sql in rows if is_virtual(sql) for suffix in SHADOW_SUFFIXES} & names


def no_action_as_empty(action: str | None) -> str:
    return "" if action in (None, "NO ACTION") else str(action)


def column_clause(column: Column) -> str:
    """The column as one line of normalised DDL (how describe_schema lists it, and messages quote it)."""
    text = f"{column.name} {column.type or '(no type)'}"
    if column.primary_key:
        text += " PRIMARY KEY"
    if column.not_null:
        text += " NOT NULL"
    if column.default is not None:
        text += f" DEFAULT {column.default}"
    if column.foreign_key is not None:
        key = column.foreign_key
        text += f" REFERENCES {key.table}({key.column})"
        text += f" ON DELETE {key.on_delete}" if key.on_delete else ""
        text += f" ON UPDATE {key.on_update}" if key.on_update else ""
    return text


# The model side ------------------------------------------------------------------------
def model_type(db: peewee.SqliteDatabase, model_field: peewee.Field) -> str:
    """The column type peewee would declare for ``model_field`` on ``db``, normalised."""
    context = db.get_sql_context()
    return normalise_type(context.sql(model_field.ddl_datatype(context)).query()[0])


def model_foreign_key(model_field: peewee.Field) -> ForeignKey | None:
    import peewee

    if not isinstance(model_field, peewee.ForeignKeyField):
        return None
    return ForeignKey(
        model_field.rel_model._meta.table_name,
        model_field.rel_field.column_name,
        (model_field.on_delete or "").upper(),
        (model_field.on_update or "").upper(),
    )


def model_indexes(model: type[peewee.Model]) -> tuple[set[tuple[tuple[str, ...], bool]], set[str]]:
    """Plain indexes as (columns, unique), and the names of partial or expression ones."""
    from playhouse.schema_diff import _model_indexes

    plain: set[tuple[tuple[str, ...], bool]]
    named: set[str]
    plain, named = _model_indexes(model)
    return plain, named
