"""Autogenerate: compare the models with the schema the migrations produce, and write the migration.

The migrations run on a scratch in-memory database (never the user's file);
the models are compared with what they built. ``playhouse.schema_diff``
finds the tables and columns to create and drop; this module goes past it
to column types, NOT NULL, foreign keys, dropped tables and renames, and
writes the result as a migration a person could have written: ``schema.*``
operations in ``up()``, their inverses in reverse order in ``down()``, no
import of the app's models (migrations are frozen history).

Ambiguities are settled by ``ask`` (a y/N question) when there is one;
without it the file gets the version that keeps the data (a rename rather
than a drop and an add) and a ``# REVIEW:`` comment saying what to change
if the guess is wrong.
"""

from __future__ import annotations

import datetime
import importlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from .errors import ConfigurationError
from .migration import quote, sql_literal

if TYPE_CHECKING:
    import peewee

    from .database import Database

__all__ = [
    "Change",
    "ask_on_terminal",
    "describe_schema",
    "diff_models",
    "load_models",
    "make_migration",
    "migrated_scratch",
    "migration_names",
    "migrations_folder",
    "next_file_name",
    "next_id",
    "render_migration",
    "require_models",
    "schema_sql",
    "scratch_database",
    "write_new_file",
]

logger = logging.getLogger("app_db")

Ask = Callable[[str], bool]

#: Tables app_db or SQLite own: never part of the app's schema.
INTERNAL_TABLE = re.compile(r"^(app_db_|sqlite_)")


# Reading the schema ---------------------------------------------------------------
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
    default: Optional[str]  # the DEFAULT clause's SQL text, as SQLite keeps it
    foreign_key: Optional[ForeignKey] = None


@dataclass
class IndexInfo:
    name: str
    table: str
    columns: Optional[Tuple[str, ...]]  # None: an expression index
    unique: bool
    sql: Optional[str]  # None: made by a UNIQUE or PRIMARY KEY constraint
    partial: bool = False


@dataclass
class TableInfo:
    name: str
    sql: str
    columns: Dict[str, Column] = field(default_factory=dict)  # in table order
    indexes: Dict[str, IndexInfo] = field(default_factory=dict)


def normalise_type(declared: str) -> str:
    """``varchar ( 255 )`` -> ``VARCHAR(255)``: how types are compared."""
    text = re.sub(r"\s+", " ", declared.strip().upper())
    return re.sub(r"\s*([(),])\s*", lambda m: m.group(1) + (" " if m.group(1) == "," else ""), text).strip()


def read_tables(db: "peewee.SqliteDatabase") -> Dict[str, TableInfo]:
    """Every table of the app (not app_db's nor SQLite's own) with columns, foreign keys and indexes."""
    tables: Dict[str, TableInfo] = {}
    rows = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    for name, sql in rows:
        if INTERNAL_TABLE.match(name) or (sql or "").upper().startswith("CREATE VIRTUAL"):
            continue
        table = tables[name] = TableInfo(name, sql or "")
        for _cid, column, declared, not_null, default, pk in db.execute_sql(f"PRAGMA table_info({quote(name)})"):
            table.columns[column] = Column(column, normalise_type(declared or ""), bool(not_null), bool(pk), default)
        for row in db.execute_sql(f"PRAGMA foreign_key_list({quote(name)})"):
            _id, _seq, target, source, to, on_update, on_delete = row[:7]
            if source in table.columns:
                table.columns[source].foreign_key = ForeignKey(
                    target, to or "id", "" if on_delete == "NO ACTION" else on_delete, "" if on_update == "NO ACTION" else on_update
                )
        for row in db.execute_sql(f"PRAGMA index_list({quote(name)})"):
            index_name, unique, origin, partial = row[1], bool(row[2]), row[3], bool(row[4])
            columns = [info[2] for info in db.execute_sql(f"PRAGMA index_info({quote(index_name)})")]
            index_sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index_name,)).fetchone()
            table.indexes[index_name] = IndexInfo(
                index_name,
                name,
                None if None in columns else tuple(columns),
                unique,
                index_sql[0] if index_sql and origin == "c" else None,
                partial,
            )
    return tables


def describe_schema(db: "peewee.SqliteDatabase") -> List[str]:
    """The app's schema as sorted, normalised lines: equal lines mean an equal schema.

    Columns are listed by name, not position: SQLite can only append a
    column, so a down() that re-adds a dropped column cannot put it back in
    place, and nothing reads columns by position but ``SELECT *``.
    Constraint-made indexes are described by their columns, not by
    SQLite's generated names.
    """
    lines: List[str] = []
    for table in read_tables(db).values():
        flags = " AUTOINCREMENT" if re.search(r"\bAUTOINCREMENT\b", table.sql, re.I) else ""
        flags += " WITHOUT ROWID" if re.search(r"\bWITHOUT\s+ROWID\b", table.sql, re.I) else ""
        lines.append(f"table {table.name}{flags}")
        for column in sorted(table.columns.values(), key=lambda column: column.name):
            lines.append(f"table {table.name}: column {column_clause(column)}")
        for index in sorted(table.indexes.values(), key=lambda index: index.name):
            if index.sql is None:  # named by SQLite after the constraint's position
                lines.append(f"table {table.name}: {'unique' if index.unique else 'key'} ({', '.join(index.columns or ())})")
            else:
                lines.append(f"table {table.name}: index {index.name}: {squeeze(index.sql)}")
    for kind, name, sql in db.execute_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY type, name"
    ):
        lines.append(f"{kind} {name}: {squeeze(sql)}")
    return sorted(lines)


def column_clause(column: Column) -> str:
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


# The schema as SQL (app-db schema) ---------------------------------------------------
def schema_sql(database: "Database", at: Optional[str] = None) -> str:
    """The app's schema as SQL after every migration (or through ``at``), in a stable order.

    Each table is followed by its indexes and triggers, tables by name, then
    the views; one column per line, so a schema change shows as a small
    diff in review. The migrations run on a scratch in-memory database; the
    user's file is not read.
    """
    scratch = migrated_scratch(database, to=at)
    try:
        return render_schema_sql(scratch.db, at or latest_id(scratch))
    finally:
        scratch.close()


def render_schema_sql(db: "peewee.SqliteDatabase", at: Optional[str]) -> str:
    rows = db.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    objects = [row for row in rows if not INTERNAL_TABLE.match(row[2])]
    header = [
        f"-- Schema after {at}" if at else "-- Schema with no migration applied",
        "-- Written by `app-db schema`; regenerate it, do not edit it.",
    ]
    blocks: List[str] = []
    for _kind, name, _table, sql in sorted((row for row in objects if row[0] == "table"), key=lambda row: row[1]):
        block = [format_create_table(sql) + ";"]
        for kind in ("index", "trigger"):
            block.extend(
                tidy(row[3]) + ";" for row in sorted(objects, key=lambda row: row[1]) if row[0] == kind and row[2] == name
            )
        blocks.append("\n".join(block))
    blocks.extend(tidy(row[3]) + ";" for row in sorted(objects, key=lambda row: row[1]) if row[0] == "view")
    return "\n".join(header) + "\n\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


def format_create_table(sql: str) -> str:
    """A CREATE TABLE with one column or constraint per line."""
    start = sql.find("(")
    end = matching_paren(sql, start) if start != -1 else -1
    if end == -1:
        return squeeze(sql)
    items = split_top_level(sql[start + 1 : end])
    head, tail = squeeze(sql[:start]), squeeze(sql[end + 1 :])
    return head + " (\n" + ",\n".join("    " + squeeze(item) for item in items) + "\n)" + (" " + tail if tail else "")


def scan(sql: str):
    """Yield (index, char, depth, quoted) over ``sql``, tracking parentheses outside quotes."""
    depth, quote_char = 0, None
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    for index, char in enumerate(sql):
        if quote_char is not None:
            yield index, char, depth, True
            if char == closing[quote_char]:
                quote_char = None
            continue
        if char in closing:
            quote_char = char
            yield index, char, depth, True
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        yield index, char, depth, False


def matching_paren(sql: str, start: int) -> int:
    for index, char, depth, quoted in scan(sql):
        if index > start and not quoted and char == ")" and depth == 0:
            return index
    return -1


def split_top_level(body: str) -> List[str]:
    items, current = [], []
    for _index, char, depth, quoted in scan(body):
        if char == "," and depth == 0 and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def squeeze(sql: str) -> str:
    """Runs of whitespace outside quotes become one space."""
    out: List[str] = []
    for _index, char, _depth, quoted in scan(sql.strip()):
        if not quoted and char.isspace():
            if out and out[-1] != " ":
                out.append(" ")
            continue
        out.append(char)
    return "".join(out).strip()


def tidy(sql: str) -> str:
    """Trailing whitespace removed from every line (a trigger keeps its layout)."""
    return "\n".join(line.rstrip() for line in sql.strip().splitlines())


# The scratch database -------------------------------------------------------------------
def scratch_database(database: "Database", path: Any = ":memory:") -> "Database":
    """A copy of ``database`` on a scratch file (in memory by default), in the test environment; the caller closes it."""
    scratch = database.configured(path=path, env="test", read_only=False)
    scratch.on_progress = None  # the app's splash screen has no business here
    return scratch


def migrated_scratch(database: "Database", to: Optional[str] = None, path: Any = ":memory:") -> "Database":
    """A scratch copy of ``database`` (see scratch_database) migrated through ``to`` (default: all); closed if that fails."""
    scratch = scratch_database(database, path)
    try:
        scratch.migrate(to=to)
    except BaseException:
        scratch.close()
        raise
    return scratch


def latest_id(database: "Database") -> Optional[str]:
    applied = [status.id for status in database.status() if not status.pending]
    return applied[-1] if applied else None


# The model side -------------------------------------------------------------------------
def load_models(spec: str) -> List[type]:
    """The models named by ``"package.module:NAME"`` (a model or a list of them) or ``"package.module"`` (all it defines).

    For tools and tests that name models by import path.
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
        values = [value] if isinstance(value, type) else list(value)
    else:
        values = [value for value in vars(module).values() if isinstance(value, type) and value.__module__ == module.__name__]
        values = [value for value in values if issubclass(value, peewee.Model) and value._meta.fields and table_fields(value)]
    bad = [value for value in values if not (isinstance(value, type) and issubclass(value, peewee.Model))]
    if bad or not values:
        raise ConfigurationError(
            f"models = {spec!r} must name a peewee Model, a list of them, or a module defining them; got {bad or 'none'}."
        )
    return values


def table_fields(model: type) -> List["peewee.Field"]:
    """A model's fields, except the bare ``id`` every peewee model has (a base class is not a table)."""
    fields = model._meta.sorted_fields  # type: ignore[attr-defined]
    return [] if len(fields) == 1 and fields[0].name == "id" and not model._meta.indexes else fields  # type: ignore[attr-defined]


def model_type(db: "peewee.SqliteDatabase", model_field: "peewee.Field") -> str:
    context = db.get_sql_context()
    return normalise_type(context.sql(model_field.ddl_datatype(context)).query()[0])


def model_foreign_key(model_field: "peewee.Field") -> Optional[ForeignKey]:
    import peewee

    if not isinstance(model_field, peewee.ForeignKeyField):
        return None
    return ForeignKey(
        model_field.rel_model._meta.table_name,
        model_field.rel_field.column_name,
        (model_field.on_delete or "").upper(),
        (model_field.on_update or "").upper(),
    )


def model_indexes(model: type) -> Tuple[Set[Tuple[Tuple[str, ...], bool]], Set[str]]:
    """Plain indexes as (columns, unique), and the names of partial or expression ones."""
    from playhouse.schema_diff import _model_indexes

    return _model_indexes(model)


# Changes ----------------------------------------------------------------------------------
@dataclass
class Change:
    """One difference and the code that makes it (``up``) and undoes it (``down``)."""

    description: str  # "add column note.archived"
    up: List[str]
    down: List[str]
    comments: List[str] = field(default_factory=list)  # "# REVIEW: ..." lines written above the code

    def __str__(self) -> str:
        return self.description


class Writer:
    """Python source for fields and operations, in the project's style; collects the imports it needs."""

    def __init__(self) -> None:
        self.imports: Set[str] = set()

    def model_field(self, model_field: "peewee.Field") -> Tuple[str, List[str]]:
        """(source, notes) of a model's field as a migration writes it: plain peewee, no app classes."""
        import peewee

        notes: List[str] = []
        if isinstance(model_field, peewee.ForeignKeyField):
            key = model_foreign_key(model_field)
            assert key is not None
            args = [literal(key.table)] + ([literal(key.column)] if key.column != "id" else [])
            args += ["null=True"] if model_field.null else []
            args += ["unique=True"] if model_field.unique else []
            args += [f"on_delete={literal(model_field.on_delete)}"] if model_field.on_delete else []
            args += [f"on_update={literal(model_field.on_update)}"] if model_field.on_update else []
            return f"schema.foreign_key({', '.join(args)})", notes
        cls = next(klass for klass in type(model_field).__mro__ if klass.__module__ == "peewee")
        if cls is not type(model_field):
            notes.append(f"{type(model_field).__name__} is written as its peewee base {cls.__name__}")
        args = []
        if model_field.primary_key and not isinstance(model_field, peewee.AutoField):
            args.append("primary_key=True")
        if model_field.unique:
            args.append("unique=True")
        elif model_field.index:
            args.append("index=True")
        if model_field.null:
            args.append("null=True")
        if isinstance(model_field, peewee.CharField) and model_field.max_length != 255:
            args.append(f"max_length={model_field.max_length!r}")
        if isinstance(model_field, peewee.DecimalField):
            args += [f"max_digits={model_field.max_digits!r}"] if model_field.max_digits != 10 else []
            args += [f"decimal_places={model_field.decimal_places!r}"] if model_field.decimal_places != 5 else []
        if model_field.default is not None:
            default = self.default(model_field.default)
            if default is None:
                notes.append(f"default {model_field.default!r} must be written by hand")
            else:
                args.append(f"default={default}")
        for constraint in model_field.constraints or ():
            if isinstance(constraint, peewee.SQL):
                args.append(f"constraints=[peewee.SQL({literal(constraint.sql)})]")
        self.imports.add("import peewee")
        return f"peewee.{cls.__name__}({', '.join(args)})", notes

    def default(self, value: Any) -> Optional[str]:
        import enum

        from playhouse.migrations import _handle_common_default

        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, (str, int, float, bool, bytes)):
            return literal(value)
        args: List[str] = []
        imports: Set[str] = set()
        if _handle_common_default(value, args, imports):  # datetime.datetime.now and friends
            self.imports.update(imports)
            return args[0].split("=", 1)[1]
        return None

    def reflected_field(self, column: Column, *, in_create: bool, index: bool = True) -> str:
        """Source for a column as the database has it (to re-create what up() removes).

        ``in_create``: the field goes to create_table or alter_column_type,
        whose DDL does not carry a Python default, so a DEFAULT clause is
        written as a constraint; add_column writes it from ``default=``.
        """
        if column.foreign_key is not None:
            key = column.foreign_key
            args = [literal(key.table)] + ([literal(key.column)] if key.column != "id" else [])
            args += [] if column.not_null else ["null=True"]
            args += [] if index else ["index=False"]
            args += [f"on_delete={literal(key.on_delete)}"] if key.on_delete else []
            args += [f"on_update={literal(key.on_update)}"] if key.on_update else []
            return f"schema.foreign_key({', '.join(args)})"
        self.imports.add("import peewee")
        cls, args = field_class_for(column.type)
        if column.primary_key:
            if cls == "IntegerField":
                return "peewee.AutoField()"
            args.append("primary_key=True")
        if not column.not_null and not column.primary_key:
            args.append("null=True")
        if column.default is not None:
            value = python_default(column.default)
            if in_create or value is None or not column.not_null:
                args.append(f"constraints=[peewee.SQL({literal('DEFAULT ' + column.default)})]")
            else:
                args.append(f"default={literal(value)}")
        return f"peewee.{cls}({', '.join(args)})"


def field_class_for(declared: str) -> Tuple[str, List[str]]:
    """The peewee field (and its arguments) that writes the declared type ``declared`` on SQLite."""
    match = re.match(r"^([A-Z ]+?)\s*(?:\((\d+)(?:, (\d+))?\))?$", declared)
    base = match.group(1) if match else declared
    if base == "VARCHAR":
        size = match.group(2) if match else None
        return "CharField", ([f"max_length={size}"] if size and size != "255" else [])
    if base == "DECIMAL":
        digits, places = (match.group(2), match.group(3)) if match else (None, None)
        args = [f"max_digits={digits}"] if digits and digits != "10" else []
        return "DecimalField", args + ([f"decimal_places={places}"] if places and places != "5" else [])
    simple = {
        "INTEGER": "IntegerField",
        "TEXT": "TextField",
        "REAL": "FloatField",
        "BLOB": "BlobField",
        "DATETIME": "DateTimeField",
        "DATE": "DateField",
        "TIME": "TimeField",
    }
    if base in simple:
        return simple[base], []
    affinity = sqlite_affinity(declared)
    nearest = {"INTEGER": "IntegerField", "TEXT": "TextField", "REAL": "FloatField", "BLOB": "BlobField"}
    return nearest.get(affinity, "DecimalField"), []


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


def python_default(sql: str) -> Any:
    """The Python value of a DEFAULT clause's literal, or None when it is an expression."""
    if re.fullmatch(r"-?\d+", sql):
        return int(sql)
    if re.fullmatch(r"-?\d*\.\d+", sql):
        return float(sql)
    if len(sql) >= 2 and sql[0] == sql[-1] == "'":
        return sql[1:-1].replace("''", "'")
    return None


def literal(value: Any) -> str:
    """``value`` as Python source, strings in double quotes as the project writes them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def zero_value(declared: str) -> Any:
    """What existing rows get in a new NOT NULL column that has no default."""
    return {"INTEGER": 0, "REAL": 0.0, "NUMERIC": 0}.get(sqlite_affinity(declared), "")


def default_index_name(table: str, columns: Sequence[str]) -> str:
    from playhouse.migrate import make_index_name

    return make_index_name(table, list(columns))


def diff_models(
    db: "peewee.SqliteDatabase",
    models: Sequence[type],
    ask: Optional[Ask] = None,
    writer: Optional[Writer] = None,
) -> List[Change]:
    """The changes that bring the schema in ``db`` to the models, in the order up() makes them.

    ``ask`` settles ambiguous pairs (a column or table that went away while
    a similar one appeared): True means a rename. Without it, renames are
    assumed (no data is lost) and marked for review.
    """
    import peewee
    from playhouse.schema_diff import diff_models as peewee_diff

    writer = writer or Writer()
    models = [model for model in peewee.sort_models(models) if not getattr(model._meta, "extension_module", None)]
    tables = read_tables(db)
    base = peewee_diff(db, models)  # peewee finds the tables and columns; types, nulls, keys are ours
    created = list(base.create_tables)
    covered = {model._meta.table_name for model in models}
    dropped = sorted(name for name in tables if name not in covered)

    creates: List[Change] = []
    table_renames: List[Change] = []
    renamed: Set[str] = set()  # new names of renamed tables
    for model in created:
        table = model._meta.table_name
        twin = find_renamed_table(db, model, [tables[name] for name in dropped])
        if twin is not None and settle(
            ask,
            f"Was table {twin.name} renamed to {table}? (y: rename it, keeping its rows; n: drop {twin.name}, create {table})",
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

    changes: List[Change] = creates + table_renames
    created_tables = {model._meta.table_name for model in created} - renamed
    for model in models:
        table = model._meta.table_name
        if table in tables and table not in created_tables:
            changes.extend(table_changes(db, model, tables[table], ask, writer))
    for name in reversed(order_for_drop(tables, dropped)):
        changes.append(drop_table_change(tables[name], writer))
    return changes


def settle(ask: Optional[Ask], question: str) -> bool:
    """The answer to an ambiguity; without anyone to ask, the choice that keeps the data."""
    return True if ask is None else bool(ask(question))


def find_renamed_table(db: "peewee.SqliteDatabase", model: type, candidates: Sequence[TableInfo]) -> Optional[TableInfo]:
    wanted = {
        (f.column_name, model_type(db, f), not f.null or f.primary_key) for f in model._meta.sorted_fields  # type: ignore[attr-defined]
    }
    for table in candidates:
        have = {(c.name, c.type, c.not_null or c.primary_key) for c in table.columns.values()}
        if have == wanted:
            return table
    return None


def order_for_drop(tables: Dict[str, TableInfo], names: Sequence[str]) -> List[str]:
    """``names`` with referenced tables before the tables that reference them (the order to create them)."""
    ordered: List[str] = []
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


def create_table_change(model: type, writer: Writer) -> Change:
    table = model._meta.table_name  # type: ignore[attr-defined]
    lines = [f"schema.create_table({literal(table)}, {{"]
    comments: List[str] = []
    for model_field in model._meta.sorted_fields:  # type: ignore[attr-defined]
        source, notes = writer.model_field(model_field)
        lines.append(f"    {literal(model_field.column_name)}: {source},")
        comments += [f"# REVIEW: {table}.{model_field.column_name}: {note}" for note in notes]
    lines.append("})")
    field_indexes = {(tuple(f.column_name for f in [model_field]), bool(model_field.unique)) for model_field in model._meta.sorted_fields if model_field.index or model_field.unique}  # type: ignore[attr-defined]
    plain, named = model_indexes(model)
    for columns, unique in sorted(plain - field_indexes):
        lines.append(add_index_line(table, columns, unique))
    comments += [f"# TODO: {table}: index {name} (partial or expression) must be written by hand" for name in sorted(named)]
    return Change(f"create table {table}", lines, [f"schema.drop_table({literal(table)})"], comments)


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
        [f"# REVIEW: table {table.name} is not in the models any more: dropping it deletes its rows (down() "
         "brings the table back, empty)."],
    )


def add_index_line(table: str, columns: Sequence[str], unique: bool, name: Optional[str] = None) -> str:
    args = [literal(table), "[" + ", ".join(literal(column) for column in columns) + "]"]
    args += ["unique=True"] if unique else []
    args += [f"name={literal(name)}"] if name and name != default_index_name(table, columns) else []
    return f"schema.add_index({', '.join(args)})"


def recreate_index_line(index: IndexInfo) -> str:
    if index.sql is None:
        return f"# TODO: {index.table}: the UNIQUE constraint on ({', '.join(index.columns or ())}) must be re-created by hand"
    if index.columns is None or index.partial:
        return f"schema.sql({literal(squeeze(index.sql))})"
    return add_index_line(index.table, index.columns, index.unique, index.name)


def table_changes(
    db: "peewee.SqliteDatabase", model: type, table: TableInfo, ask: Optional[Ask], writer: Writer
) -> List[Change]:
    """Column, type, NOT NULL, foreign key and index changes of one existing table, in up() order."""
    name = table.name
    fields = {f.column_name: f for f in model._meta.sorted_fields}  # type: ignore[attr-defined]
    added = [column for column in fields if column not in table.columns]
    removed = [column for column in table.columns if column not in fields]

    renames: Dict[str, str] = {}  # old -> new
    for new in added:
        signature = (model_type(db, fields[new]), not fields[new].null, model_foreign_key(fields[new]))
        for old in removed:
            column = table.columns[old]
            if old in renames or (column.type, column.not_null, column.foreign_key) != signature:
                continue
            if settle(ask, f"Was {name}.{old} renamed to {name}.{new}? (y: rename it, keeping its values; n: drop {old}, add {new})"):
                renames[old] = new
            break
    added = [column for column in added if column not in renames.values()]
    removed = [column for column in removed if column not in renames]

    index_drops, column_changes, index_adds = [], [], []
    # Indexes: pair the database's with the model's by (columns, unique), after the renames.
    plain, named = model_indexes(model)
    auto = {((column,), bool(fields[column].unique)) for column in added if fields[column].index or fields[column].unique}
    wanted = set(plain)
    for index in sorted(table.indexes.values(), key=lambda index: index.name):
        if index.sql is None and index.columns is not None and len(index.columns) == 1 and index.columns[0] in table.columns and table.columns[index.columns[0]].primary_key:
            continue  # the primary key's own index
        if index.name in named:
            named.discard(index.name)
            continue
        columns = tuple(renames.get(column, column) for column in index.columns) if index.columns else None
        if columns is not None and not index.partial and (columns, index.unique) in wanted:
            wanted.discard((columns, index.unique))
            continue
        if index.sql is None:
            index_drops.append(Change(
                f"drop unique constraint {name}({', '.join(index.columns or ())})", [], [],
                [f"# TODO: {name}: the UNIQUE constraint on ({', '.join(index.columns or ())}) is part of the table; "
                 "removing it needs a table rebuild written by hand"],
            ))
            continue
        index_drops.append(Change(
            f"drop index {name}.{index.name}",
            [f"schema.drop_index({literal(name)}, {literal(index.name)})"],
            [recreate_index_line(index)],
        ))
    for index_name in sorted(named):
        index_adds.append(Change(f"add index {name}.{index_name}", [], [], [f"# TODO: {name}: index {index_name} (partial or expression) must be written by hand"]))
    for columns, unique in sorted(wanted - auto):
        index_adds.append(Change(
            f"add {'unique ' if unique else ''}index {name}({', '.join(columns)})",
            [add_index_line(name, columns, unique)],
            [f"schema.drop_index({literal(name)}, {literal(default_index_name(name, columns))})"],
        ))

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
                f"schema.drop_column({literal(name)}, {literal(old)}) and schema.add_column({literal(name)}, {literal(new)}, ...)."
            )
        column_changes.append(change)
    for old in removed:
        column_changes.append(drop_column_change(name, table.columns[old], writer))
    for new in added:
        column_changes.append(add_column_change(db, name, fields[new], writer))
    for column_name, model_field in fields.items():
        if column_name in added or column_name not in table.columns and column_name not in renames.values():
            continue
        old = next((o for o, n in renames.items() if n == column_name), column_name)
        column_changes.extend(alter_column_changes(db, name, table.columns[old], model_field, writer))
    return index_drops + column_changes + index_adds


def add_column_change(db: "peewee.SqliteDatabase", table: str, model_field: "peewee.Field", writer: Writer) -> Change:
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
        return Change(f"add column {table}.{column}", up, down, comments)
    return Change(f"add column {table}.{column}", [f"schema.add_column({literal(table)}, {literal(column)}, {source})"], down, comments)


def drop_column_change(table: str, column: Column, writer: Writer) -> Change:
    comments = [f"# REVIEW: {table}.{column.name} is not in the models any more: dropping it deletes its values "
                "(down() brings the column back, without them)."]
    if column.not_null and column.default is None:
        fill = zero_value(column.type)
        nullable = Column(column.name, column.type, False, False, None, column.foreign_key)
        down = [
            f"schema.add_column({literal(table)}, {literal(column.name)}, {writer.reflected_field(nullable, in_create=False)})",
            f"schema.sql({literal(f'UPDATE {table} SET {column.name} = {sql_literal(fill)} WHERE {column.name} IS NULL')})",
            f"schema.add_not_null({literal(table)}, {literal(column.name)})",
        ]
    else:
        down = [f"schema.add_column({literal(table)}, {literal(column.name)}, {writer.reflected_field(column, in_create=False)})"]
    return Change(f"drop column {table}.{column.name}", [f"schema.drop_column({literal(table)}, {literal(column.name)})"], down, comments)


def alter_column_changes(
    db: "peewee.SqliteDatabase", table: str, column: Column, model_field: "peewee.Field", writer: Writer
) -> List[Change]:
    changes: List[Change] = []
    if column.primary_key or model_field.primary_key:
        return changes
    name = model_field.column_name
    wanted_type = model_type(db, model_field)
    wanted_key = model_foreign_key(model_field)
    if (wanted_key or None) != (column.foreign_key or None):
        before = column_clause(column).split(" ", 1)[1]
        changes.append(Change(
            f"change foreign key {table}.{name}", [], [],
            [f"# TODO: {table}.{name}: its foreign key changes ({before or 'none'} -> "
             f"{'REFERENCES ' + wanted_key.table + '(' + wanted_key.column + ')' if wanted_key else 'none'}); "
             "SQLite cannot alter a foreign key in place: rebuild the table by hand (create the new table, "
             "copy the rows, drop the old one, rename)."],
        ))
        return changes
    if wanted_type != column.type and wanted_key is None:
        source, notes = writer.model_field(model_field)
        changes.append(Change(
            f"change type of {table}.{name}: {column.type} -> {wanted_type}"
            + ("" if column.not_null == (not model_field.null) else (" NOT NULL" if not model_field.null else " NULL")),
            [f"schema.alter_column_type({literal(table)}, {literal(name)}, {source})"],
            [f"schema.alter_column_type({literal(table)}, {literal(name)}, {writer.reflected_field(column, in_create=True)})"],
            [f"# REVIEW: {table}.{name}: {note}" for note in notes],
        ))
        return changes
    if column.not_null and model_field.null:
        changes.append(Change(
            f"drop NOT NULL from {table}.{name}",
            [f"schema.drop_not_null({literal(table)}, {literal(name)})"],
            [f"schema.add_not_null({literal(table)}, {literal(name)})"],
        ))
    elif not column.not_null and not model_field.null:
        up, comments = [], []
        default = model_field.default
        if default is not None and not callable(default):
            value = sql_literal(model_field.db_value(default))
            up.append(f"schema.sql({literal(f'UPDATE {table} SET {name} = {value} WHERE {name} IS NULL')})")
        else:
            comments.append(f"# REVIEW: rows holding NULL in {table}.{name} must be filled first: add_not_null refuses them.")
        up.append(f"schema.add_not_null({literal(table)}, {literal(name)})")
        changes.append(Change(f"add NOT NULL to {table}.{name}", up, [f"schema.drop_not_null({literal(table)}, {literal(name)})"], comments))
    return changes


# Writing the file ------------------------------------------------------------------------------
def ask_on_terminal(question: str) -> bool:
    """Ask a y/N question on the terminal (the CLI's interactive mode)."""
    while True:
        answer = input(f"{question} [y/N] ").strip().lower()
        if answer in {"", "n", "no"}:
            return False
        if answer in {"y", "yes"}:
            return True


def migration_names(description: str) -> Tuple[str, str, str]:
    """(slug, class name, name) of a new migration described as ``description``.

    The slug (for the id and the file name) is "" when the description has
    no letters or digits. The name has no double quotes, backslashes or
    line breaks, so it can go into a docstring and a string literal as is.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", description.lower()).strip("_")
    class_name = "".join(part.capitalize() for part in slug.split("_"))
    if not class_name[:1].isalpha():
        class_name = "Migration" + class_name
    name = re.sub(r"""["\\\s]+""", " ", description).strip()
    return slug, class_name, name[:1].upper() + name[1:]


def render_migration(migration_id: str, description: str, changes: Sequence[Change], imports: Set[str]) -> str:
    """The text of a migration file: one class, up() making ``changes`` in order, down() undoing them in reverse."""
    _slug, class_name, name = migration_names(description)
    summary = "\n".join(f"- {change.description}" for change in changes)
    lines = [
        f'"""{name.rstrip(".")}.',
        "",
        summary,
        "",
        "Written by `app-db makemigration`: review it (REVIEW and TODO comments first),",
        "then run the tests (assert_reversible) before committing.",
        '"""',
        "",
    ]
    standard = sorted(line for line in imports if line != "import peewee")
    lines += standard + ([""] if standard and "import peewee" in imports else [])
    lines += ["import peewee"] if "import peewee" in imports else []
    lines += [
        "",
        "from app_db import Migration",
        "",
        "",
        f"class {class_name}(Migration):",
        f"    id = {literal(migration_id)}",
        f"    name = {literal(name)}",
        "",
        "    def up(self, schema):",
    ]
    lines += method_body([(change.comments, change.up) for change in changes])
    lines += ["", "    def down(self, schema):"]
    lines += method_body([([], change.down) for change in reversed(changes)])
    text = "\n".join(lines) + "\n"
    return text.replace('"""\n\n\nfrom app_db', '"""\n\nfrom app_db')  # no import peewee: one blank line


def method_body(blocks: Sequence[Tuple[List[str], List[str]]]) -> List[str]:
    lines: List[str] = []
    for comments, code in blocks:
        if comments and lines:
            lines.append("")  # a change to review stands apart
        lines += ["        " + line for line in wrap_comments(comments)]
        lines += ["        " + line for line in code]
    if not any(not line.strip().startswith("#") for line in lines):
        lines.append("        pass")
    return lines


def wrap_comments(comments: Sequence[str], width: int = 100) -> List[str]:
    import textwrap

    lines: List[str] = []
    for comment in comments:
        lines += textwrap.wrap(comment, width=width, subsequent_indent="#   ", break_long_words=False, break_on_hyphens=False)
    return lines


def migrations_folder(source: Any) -> Path:
    """The folder new migration files go to, from ``Database.migrations``; ConfigurationError says why there is none."""
    from .discovery import package_folders

    if source is None:
        raise ConfigurationError("The Database has no migrations= (a folder or a package); give it one. Nothing was written.")
    if isinstance(source, list):
        raise ConfigurationError(
            "The Database's migrations= is a list of Migration instances, so there is no folder to write the new "
            "file to; write the class yourself, or switch to a migrations package or folder. Nothing was written."
        )
    if isinstance(source, Path):
        if not source.is_dir():
            raise ConfigurationError(f"The migrations folder {source} does not exist; create it (mkdir) first. Nothing was written.")
        return source
    folders = package_folders(source)
    if not folders:
        raise ConfigurationError(
            f"The migrations package {source!r} is not a folder on disk (a zip or frozen app?); run app-db from the "
            "source tree. Nothing was written."
        )
    return Path(folders[0])


def next_file_name(folder: Path, slug: str) -> str:
    """``NNN_slug.py``, numbered one past the highest file number in ``folder`` (at least three digits)."""
    numbers = [match.group(1) for match in (re.match(r"(\d+)_.*\.py$", name) for name in os.listdir(folder)) if match]
    width = max([3] + [len(number) for number in numbers])
    return f"{max((int(number) for number in numbers), default=0) + 1:0{width}d}_{slug}.py"


def next_id(known_ids: Sequence[str], slug: str, now: Optional[datetime.datetime] = None) -> str:
    """``YYYYMMDD_HHMMSS_slug`` from the UTC time, later than every known id (ids decide the order)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    stamp = now.replace(tzinfo=None, microsecond=0)
    if known_ids:
        latest = datetime.datetime.strptime(max(known_ids)[:15], "%Y%m%d_%H%M%S")
        if stamp <= latest:
            stamp = latest + datetime.timedelta(seconds=1)
    return f"{stamp:%Y%m%d_%H%M%S}_{slug}"


def make_migration(
    database: "Database",
    description: str,
    interactive: bool = False,
    *,
    models: Optional[Sequence[type]] = None,
    ask: Optional[Ask] = None,
) -> Optional[Path]:
    """Write the migration that brings the migrations' schema to the models; None when they already agree.

    The migrations run on a scratch in-memory database (the user's file is
    not opened). The new file is ``NNN_description.py`` beside the others,
    never over an existing one. ``models`` defaults to
    ``Database(models=...)``. ``interactive`` asks on the terminal about
    ambiguous renames; ``ask`` replaces that question.
    """
    models = require_models(database, models, "makemigration", "the Database the CLI uses", "Nothing was written.")
    folder = migrations_folder(database.migrations)
    if ask is None and interactive:
        ask = ask_on_terminal
    scratch = migrated_scratch(database)
    writer = Writer()
    try:
        changes = diff_models(scratch.db, models, ask, writer)
        known_ids = [status.id for status in scratch.status()]
    finally:
        scratch.close()
    if not changes:
        logger.info("The models match the schema the migrations produce; no migration written.")
        return None
    slug = migration_names(description)[0] or "migration"
    migration_id = next_id(known_ids, slug)
    text = render_migration(migration_id, description, changes, writer.imports)
    target = folder / next_file_name(folder, slug)
    write_new_file(target, text)
    logger.info("Wrote %s (%d change(s))", target, len(changes))
    return target


def require_models(
    database: "Database", models: Optional[Sequence[type]], needed_by: str, pass_to: str, outcome: str
) -> List[type]:
    """``models``, else ``Database(models=...)``; ConfigurationError when both are empty (every table would look dropped)."""
    models = list(database.models if models is None else models)
    if not models:
        raise ConfigurationError(
            f"{needed_by} needs the app's models: pass them to {pass_to}, e.g. Database(..., models=[Note, Tag]). {outcome}"
        )
    return models


def write_new_file(target: Path, text: str) -> None:
    """Create ``target`` holding ``text``; ConfigurationError, and nothing written, if it already exists."""
    try:
        with open(target, "x", encoding="utf-8") as handle:  # "x": never over an existing file
            handle.write(text)
    except FileExistsError:
        raise ConfigurationError(f"{target} already exists; app-db never overwrites a migration. Nothing was written.") from None
