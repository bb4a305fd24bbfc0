"""Schema text: the app's schema written out, as sorted lines to compare and as SQL to review.

``describe_schema`` gives lines where equal lines mean an equal schema
(what assert_reversible compares); ``schema_sql`` gives the SQL that
``app-db schema`` prints, one column per line. The small SQL scanner
below (quotes and parentheses) is this module's own; it is to give way
to app_db.ddl's tokenizer once that lands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .reflection import INTERNAL_TABLE, column_clause, is_virtual, read_tables, shadow_tables
from .scratch import latest_id, migrated_scratch

if TYPE_CHECKING:
    import peewee

    from .database import Database

__all__ = [
    "describe_schema",
    "format_create_table",
    "matching_paren",
    "render_schema_sql",
    "scan",
    "schema_sql",
    "split_top_level",
    "squeeze",
    "tidy",
]


def describe_schema(db: peewee.SqliteDatabase) -> list[str]:
    """The app's schema as sorted, normalised lines: equal lines mean an equal schema.

    Columns are listed by name, not position: SQLite can only append a
    column, so a down() that re-adds a dropped column cannot put it back in
    place, and nothing reads columns by position but ``SELECT *``.
    Constraint-made indexes are described by their columns, not by
    SQLite's generated names.
    """
    lines: list[str] = []
    for table in read_tables(db).values():
        flags = " AUTOINCREMENT" if re.search(r"\bAUTOINCREMENT\b", table.sql, re.I) else ""
        flags += " WITHOUT ROWID" if re.search(r"\bWITHOUT\s+ROWID\b", table.sql, re.I) else ""
        lines.append(f"table {table.name}{flags}")
        for column in sorted(table.columns.values(), key=lambda column: column.name):
            lines.append(f"table {table.name}: column {column_clause(column)}")
        for index in sorted(table.indexes.values(), key=lambda index: index.name):
            if index.sql is None:  # named by SQLite after the constraint's position
                lines.append(
                    f"table {table.name}: {'unique' if index.unique else 'key'} ({', '.join(index.columns or ())})"
                )
            else:
                lines.append(f"table {table.name}: index {index.name}: {squeeze(index.sql)}")
    for kind, name, sql in db.execute_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger', 'table') ORDER BY type, name"
    ):
        if kind != "table":
            lines.append(f"{kind} {name}: {squeeze(sql)}")
        elif is_virtual(sql):  # its shadow tables come and go with it
            lines.append(f"virtual table {name}: {squeeze(sql)}")
    return sorted(lines)


def schema_sql(database: Database, at: str | None = None) -> str:
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


def render_schema_sql(db: peewee.SqliteDatabase, at: str | None) -> str:
    rows = db.execute_sql("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    shadows = shadow_tables(db)  # made by their virtual table's CREATE, not by one of their own
    objects = [row for row in rows if not INTERNAL_TABLE.match(row[2]) and row[2] not in shadows]
    header = [
        f"-- Schema after {at}" if at else "-- Schema with no migration applied",
        "-- Written by `app-db schema`; regenerate it, do not edit it.",
    ]
    blocks: list[str] = []
    for _kind, name, _table, sql in sorted((row for row in objects if row[0] == "table"), key=lambda row: row[1]):
        block = [format_create_table(sql) + ";"]
        for kind in ("index", "trigger"):
            block.extend(
                tidy(row[3]) + ";"
                for row in sorted(objects, key=lambda row: row[1])
                if row[0] == kind and row[2] == name
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


def scan(sql: str) -> Iterator[tuple[int, str, int, bool]]:
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


def split_top_level(body: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
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
    out: list[str] = []
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
