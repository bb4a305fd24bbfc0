"""Squash: one baseline migration in place of a long history, and the check that it builds the same thing.

``app-db squash --to ID "description"`` runs the migrations through ID on
a scratch in-memory database (app_db.scratch) and writes a migration whose
up() creates what they left in sqlite_master, with ``replaces`` listing
their ids. How a launch then treats it (run it, record it, or finish the
originals first) is app_db.plan's; ``check_baseline`` builds both sides
again and compares them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from pathlib import Path

    import peewee

    from .database import Database
    from .discovery import KnownMigration
    from .migration import Migration
    from .plan import Plan

__all__ = ["SquashResult", "check_baseline", "check_baselines", "read_built", "squash_migrations"]

logger = logging.getLogger("app_db")

# Tables first (a foreign key may name a table created later: SQLite checks it on use), then the rows, then
# what reads them: indexes, views, and triggers last, so that copying the rows fires none of them.
KIND_ORDER = ("table", "index", "view", "trigger")


# Logged for a caller of squash_migrations; `app-db squash` says it in its own words, so its log leaves it out.
SEED_ROWS_COPIED = (
    "The schema as of %s holds rows (%s): %s copies them into its up() as seed data, so a fresh install "
    "gets them as the originals gave them; review them before committing."
)


@dataclass
class SquashResult:
    """What ``squash_migrations`` wrote: the file, the ids it replaces, and the rows it copies per table."""

    path: Path
    replaces: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # seed data the migrations inserted, copied into up()


@dataclass
class Built:
    """The schema objects (kind, name, SQL) a scratch build left, in a dependency-safe order, and its rows."""

    objects: list[tuple[str, str, str]]
    rows: dict[str, tuple[list[str], list[tuple[object, ...]]]]  # table -> (columns, rows in rowid/key order)
    sequences: list[tuple[str, int]] = field(default_factory=list)  # AUTOINCREMENT counters (sqlite_sequence)
    # A virtual table's state is what SQLite keeps in its shadow tables (an FTS5 index, its config such as
    # rank, a contentless table's terms): copied verbatim, as sqlite3's .dump does, never read back through
    # the virtual table (a contentless one reads back NULLs, and no config is a row of it).
    shadows: dict[str, tuple[list[str], list[tuple[object, ...]]]] = field(default_factory=dict)
    user_version: int = 0  # PRAGMA user_version, which an app may set and read as its own schema number
    virtual_rows: dict[str, int] = field(default_factory=dict)  # virtual table -> its rows (the seed-data warning)


def read_built(db: peewee.SqliteDatabase) -> Built:
    """What the migrations built on ``db``: sqlite_master without app_db's, SQLite's and shadow tables; the rows.

    A virtual table (FTS, R*Tree) is its CREATE VIRTUAL TABLE (which makes
    its shadow tables) and the rows of those shadow tables, read verbatim.
    Each statement is kept exactly as SQLite stores it (comments, case,
    WITHOUT ROWID, STRICT).
    """
    from .reflection import INTERNAL_TABLE, is_virtual, shadow_tables

    shadows = shadow_tables(db)
    listed = db.execute_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    kept = [
        (kind, name, sql)
        for kind, name, table, sql in listed
        if kind in KIND_ORDER
        and not INTERNAL_TABLE.match(name)
        and not INTERNAL_TABLE.match(table)
        and name not in shadows
        and table not in shadows
    ]
    kept.sort(key=lambda item: KIND_ORDER.index(item[0]))  # stable: creation order within a kind
    rows = read_rows(db, [name for kind, name, sql in kept if kind == "table" and not is_virtual(sql)])
    has_counters = db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    counters = db.execute_sql("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall() if has_counters else []
    return Built(
        kept,
        rows,
        [(name, seq) for name, seq in counters if not INTERNAL_TABLE.match(name)],
        read_rows(db, sorted(shadows), keep_empty=True),  # emptied in up() too, whatever CREATE put in them
        db.execute_sql("PRAGMA user_version").fetchone()[0],
        count_virtual_rows(db, [name for kind, name, sql in kept if kind == "table" and is_virtual(sql)]),
    )


def count_virtual_rows(db: peewee.SqliteDatabase, tables: list[str]) -> dict[str, int]:
    """Each virtual table that holds rows -> how many: what the seed-data warning counts (its shadow rows are not)."""
    counts = {name: db.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
    return {name: count for name, count in counts.items() if count}


def read_rows(
    db: peewee.SqliteDatabase, tables: list[str], keep_empty: bool = False
) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """table -> (columns, rows) of each of ``tables`` (that holds rows, unless ``keep_empty``), rowids as stored."""
    import peewee

    rows = {}
    for name in tables:
        columns = [row[1] for row in db.execute_sql(f'PRAGMA table_info("{name}")').fetchall()]
        quoted = ", ".join(f'"{column}"' for column in columns)
        try:  # with each rowid, as stored: an FTS index (content_rowid) and the app may hold on to them
            found = db.execute_sql(f'SELECT rowid, {quoted} FROM "{name}" ORDER BY rowid').fetchall()
            columns = ["rowid", *columns]
        except peewee.OperationalError:  # WITHOUT ROWID: ordered by every column
            found = db.execute_sql(f'SELECT {quoted} FROM "{name}" ORDER BY {quoted}').fetchall()
        if found or keep_empty:
            rows[name] = (columns, [tuple(row) for row in found])
    return rows


def squash_migrations(database: Database, to: str, description: str) -> SquashResult:
    """Write the baseline that replaces every migration through ``to``; the user's file is not opened.

    The file is ``NNN_description.py`` beside the others (the next number,
    an id timestamped now, never over an existing file), as `app-db new`
    names it. Rows the migrations inserted (seed data) are copied into its
    up() and logged as a warning: a fresh install gets what the originals
    gave it. The baseline has no down(): rolling back past it is refused.
    """
    from .autogenerate import name_new_migration, next_file_name, next_id, write_new_file
    from .plan import run_order
    from .scratch import migrated_scratch

    slug, class_name, name, folder = name_new_migration(database, description)
    plan = plan_in_memory(database)
    by_id = {entry.id: entry for entry in plan.known}
    if to not in by_id:
        raise ConfigurationError(f"No migration has the id {to!r}; `app-db status` lists them. Nothing was written.")
    baselines = plan.all_baselines()
    last = run_order(by_id[to], baselines)
    through = [entry for entry in plan.known if run_order(entry, baselines) <= last]
    replaces = sorted({entry.id for entry in through} | {i for e in through for i in baselines.get(e.id, ())})
    for baseline_id, ids in baselines.items():
        if baseline_id not in replaces and not set(ids).isdisjoint(replaces):
            raise ConfigurationError(
                f"{by_id[baseline_id].location} already replaces {len(ids)} of the migrations through {to}: a second "
                "baseline over the same migrations would make a fresh install run both (and fail). Nothing was "
                f"written. To write it again, delete {by_id[baseline_id].location} first; or squash further "
                "(`app-db squash --to` a later id), which replaces that baseline too."
            )
    scratch = migrated_scratch(database, to=to)
    try:
        built = read_built(scratch.db)
    finally:
        scratch.close()
    migration_id = next_id(list(by_id), slug)
    text = render_baseline(migration_id, class_name, name, to, replaces, built)
    target = folder / next_file_name(folder, slug)
    write_new_file(target, text)
    counts = {table: len(found) for table, (_columns, found) in built.rows.items()} | built.virtual_rows
    if counts:
        logger.warning(SEED_ROWS_COPIED, to, ", ".join(f"{table}: {count}" for table, count in counts.items()), target)
    logger.info("Wrote %s, replacing %d migration(s) through %s", target, len(replaces), to)
    return SquashResult(target, replaces, counts)


def render_baseline(migration_id: str, class_name: str, name: str, to: str, replaces: list[str], built: Built) -> str:
    """The text of a baseline migration file (plain literals only, so a launch reads ``replaces`` without importing)."""
    from .field_source import literal

    statements = [(kind, sql) for kind, _name, sql in built.objects]
    lines = [
        f'"""{name.rstrip(".")}: the schema as of {to}, in one migration.',
        "",
        f"Written by `app-db squash`. It replaces the {len(replaces)} migrations listed in ``replaces``: a fresh",
        "install runs only this; a file that has all of them records it without running it; a file part-way",
        "through them runs the rest of them first (while they ship). `app-db check` verifies that it builds",
        "exactly what they build: regenerate it rather than edit it. It has no down(): a squashed history is",
        "not rolled back past its baseline.",
        '"""',
        "",
        "from app_db import Migration",
        "",
        "# sqlite_master as the migrations left it, verbatim: tables, then (after the rows) indexes, views, triggers.",
        "TABLES = [",
        *(f"    {literal(sql)}," for kind, sql in statements if kind == "table"),
        "]",
        "LATER = [",
        *(f"    {literal(sql)}," for kind, sql in statements if kind != "table"),
        "]",
        "# Rows the migrations inserted (seed data): table -> (columns, rows).",
        *render_rows("ROWS", built.rows),
        "# What SQLite keeps for each virtual table (FTS index, config, content), copied verbatim over what",
        "# CREATE VIRTUAL TABLE put in its shadow tables: table -> (columns, rows).",
        *render_rows("SHADOWS", built.shadows),
        "# AUTOINCREMENT counters as the migrations left them (they may run ahead of the highest id).",
        f"SEQUENCES = {built.sequences!r}",
        "# PRAGMA user_version as the migrations left it (0: never set).",
        f"USER_VERSION = {built.user_version!r}",
        "",
        "",
        "def insert_rows(db, table, columns, rows):",
        '    names = ", ".join(f\'"{column}"\' for column in columns)',
        '    marks = ", ".join("?" for _ in columns)',
        "    for row in rows:",
        "        db.execute_sql(f'INSERT INTO \"{table}\" ({names}) VALUES ({marks})', row)",
        "",
        "",
        f"class {class_name}(Migration):",
        f"    id = {literal(migration_id)}",
        f"    name = {literal(name)}",
        "    replaces = [",
        *(f"        {literal(each)}," for each in replaces),
        "    ]",
        "",
        "    def up(self, schema):",
        "        for statement in TABLES:",
        "            schema.db.execute_sql(statement)",
        "        for table, (columns, rows) in ROWS.items():",
        "            insert_rows(schema.db, table, columns, rows)",
        "        for table, (columns, rows) in SHADOWS.items():",
        "            schema.db.execute_sql(f'DELETE FROM \"{table}\"')  # what CREATE VIRTUAL TABLE put there",
        "            insert_rows(schema.db, table, columns, rows)",
        "        for table, seq in SEQUENCES:",
        '            schema.db.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))',
        '            schema.db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))',
        "        for statement in LATER:",
        "            schema.db.execute_sql(statement)",
        "        if USER_VERSION:",
        '            schema.db.execute_sql(f"PRAGMA user_version = {int(USER_VERSION)}")',
    ]
    return "\n".join(lines) + "\n"


def render_rows(variable: str, tables: dict[str, tuple[list[str], list[tuple[object, ...]]]]) -> list[str]:
    """``variable = {table: (columns, [rows])}`` as source lines, one row per line."""
    from .field_source import literal

    lines = [f"{variable} = {{"]
    for table, (columns, found) in tables.items():
        lines.append(f"    {literal(table)}: ({columns!r}, [")
        lines += [f"        ({''.join(python_value(value) + ', ' for value in row).rstrip()})," for row in found]
        lines.append("    ]),")
    return [*lines, "}"]


def plan_in_memory(database: Database) -> Plan:
    """Every migration the app ships, each read, planned against an empty in-memory database."""
    from .scratch import scratch_database

    scratch = scratch_database(database)
    try:
        return scratch.plan()
    finally:
        scratch.close()


def python_value(value: object) -> str:
    """A column value as Python source that reads back as the same value (inf and NaN included)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return f"float({str(value)!r})"
    return repr(value)


def check_baselines(database: Database) -> list[tuple[str, str]]:
    """(file, problem) for each baseline that does not build exactly what the migrations it replaces build."""
    plan = plan_in_memory(database)
    by_id = {entry.id: entry for entry in plan.known}
    problems = []
    for baseline_id, replaces in plan.all_baselines().items():
        problem = check_baseline(database, by_id[baseline_id], [by_id[i] for i in replaces if i in by_id])
        if problem is not None:
            problems.append((by_id[baseline_id].location or baseline_id, problem))
    return problems


def check_baseline(database: Database, baseline: KnownMigration, originals: list[KnownMigration]) -> str | None:
    """None when ``baseline`` alone builds what ``originals`` build (schema and rows), else the first difference.

    Both run on scratch in-memory databases, each on its own, with the
    app's on_connect. Originals no longer shipped cannot be compared: that is
    said, not passed over.
    """
    from .plan import read_replaces

    replaces = read_replaces(baseline)
    where = baseline.location or baseline.id
    absent = [each for each in replaces if each not in {entry.id for entry in originals}]
    if absent:
        return (
            None
            if not originals
            else (
                f"{where}: {len(absent)} of the migrations it replaces are not shipped ({absent[0]} ...), so it cannot "
                "be compared with them; ship them all while it is checked, or delete them all once no file needs them."
            )
        )
    left = describe_build(database, [entry.load() for entry in originals])
    right = describe_build(database, [baseline.load()])
    if left == right:
        return None
    import difflib

    diff = [line for line in difflib.unified_diff(left, right, lineterm="", n=0) if line[:1] in "+-"]
    diff = [line for line in diff if not line.startswith(("+++", "---"))]
    first_missing = next((line[1:] for line in diff if line.startswith("-")), None)
    first_extra = next((line[1:] for line in diff if line.startswith("+")), None)
    said = []
    if first_missing is not None:
        said.append(f"the migrations build {first_missing!r}, the baseline does not")
    if first_extra is not None:
        said.append(f"the baseline builds {first_extra!r}, the migrations do not")
    return (
        f"{where} does not build the schema of the {len(replaces)} migrations it replaces: {'; '.join(said)}. "
        f"A baseline must build exactly what they build: delete this one, then write it again (`app-db squash --to "
        f'{max(replaces)} "description"`), or revert the edit.'
    )


# An SQL token: a string literal, a quoted identifier, a comment, blanks, punctuation, or a run of anything else.
SQL_TOKEN = r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/|\s+|[(),;]|[^'"`\[\s(),;]+"""


def normalise_sql(sql: str) -> str:
    """``sql`` as compared by check: what it says, not how it is typed.

    Case, blanks, comments and identifier quotes do not count; string
    literals do, as does every clause (a CHECK, a COLLATE, STRICT).
    """
    import re

    parts = []
    for token in re.findall(SQL_TOKEN, sql, re.S):
        if token.startswith("'"):
            parts.append(token)
        elif token[0] in '"`[':
            parts.append(token[1:-1].lower())
        elif token.startswith(("--", "/*")) or token.isspace():
            parts.append(" ")
        else:
            parts.append(token.lower())
    text = re.sub(r"\s*([(),;])\s*", r"\1", re.sub(r"\s+", " ", "".join(parts))).strip()
    return re.sub(r"^create (table|index|unique index|view|trigger) if not exists ", r"create \1 ", text)


def describe_build(database: Database, migrations: list[Migration]) -> list[str]:
    """The normalised lines of what ``migrations`` alone build on a scratch database: schema and rows."""
    from .schema_text import describe_schema
    from .scratch import scratch_database

    scratch = scratch_database(database)
    scratch._migrations = list(migrations)
    try:
        scratch.migrate()
        built = read_built(scratch.db)
        lines = describe_schema(scratch.db)
        lines += [f"{kind} {name.lower()}: {normalise_sql(sql)}" for kind, name, sql in built.objects]
        for what, tables in (("row", built.rows), ("shadow table row", built.shadows)):
            for table, (columns, found) in sorted(tables.items()):
                lines += [f"{what} of {table}: {dict(zip(columns, row, strict=True))!r}" for row in found]
        lines.append(f"PRAGMA user_version: {built.user_version}")
        lines += [f"AUTOINCREMENT counter of {table}: {seq}" for table, seq in built.sequences]
        return sorted(lines)
    finally:
        scratch.close()
