"""Property: any sequence of schema operations, applied with up() and undone with down(), gives back the original schema.

Each operation is one migration (up and its inverse down) on a table with
rows, an AUTOINCREMENT key, an index, a trigger, a view and a child table
(ON DELETE CASCADE). The table's DDL is drawn too, as people write it by
hand: keywords in any case, the four identifier quotings, the table's name
in another case than the operations use, comments (with commas,
parentheses and "NOT NULL" inside), a DEFAULT holding JSON, CHECKs, a
table-level UNIQUE. After the ups, every row keeps its values in the
columns no operation touched; after the downs, schema and rows equal the
original.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import peewee

from app_db import Database, Migration

# name -> (columns it changes, up, down); each a call on the Schema.
OPERATIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "add nullable column": ((), 'schema.add_column("item", "extra", peewee.TextField(null=True))',
                            'schema.drop_column("item", "extra")'),
    "add column with default": ((), 'schema.add_column("item", "rank", peewee.IntegerField(default=7))',
                                'schema.drop_column("item", "rank")'),
    "add index": ((), 'schema.add_index("item", ["weight", "label"], name="item_weight_label")',
                  'schema.drop_index("item", "item_weight_label")'),
    "add unique index": ((), 'schema.add_index("item", ["code"], unique=True, name="item_code")',
                         'schema.drop_index("item", "item_code")'),
    "add not null": (("note",), 'schema.add_not_null("item", "note")', 'schema.drop_not_null("item", "note")'),
    "drop not null": (("label",), 'schema.drop_not_null("item", "label")', 'schema.add_not_null("item", "label")'),
    "alter column type": (("weight",), 'schema.alter_column_type("item", "weight", peewee.TextField())',
                          'schema.alter_column_type("item", "weight", peewee.IntegerField())'),
    "add column default": ((), 'schema.add_column_default("item", "kept", "kept, by default")',
                           'schema.drop_column_default("item", "kept")'),
    "rename column": (("nickname",), 'schema.rename_column("item", "nickname", "alias")',
                      'schema.rename_column("item", "alias", "nickname")'),
    "rename child table": ((), 'schema.rename_table("part", "component")', 'schema.rename_table("component", "part")'),
    "create and drop table": ((), 'schema.create_table("scratch", {"id": peewee.AutoField(), "x": peewee.TextField()})',
                              'schema.drop_table("scratch")'),
}
COLUMNS = ("id", "label", "note", "weight", "code", "nickname", "kept")


# The item table as people write it by hand: how each part is spelled is drawn by hypothesis
# (keyword case, the four identifier quotings, comments, optional constraints), its meaning fixed.
QUOTINGS = ("{}", '"{}"', "[{}]", "`{}`")
ITEM_SPELLINGS = ("item", "Item", "ITEM")


def item_table_sql(draw) -> tuple[str, str]:
    """(the table's name as written, its CREATE TABLE) with every choice drawn from ``draw``."""
    from hypothesis import strategies as st

    case = draw(st.sampled_from([str.upper, str.lower, str.title]))

    def words(text: str) -> str:
        return " ".join(case(word) for word in text.split())

    def name(identifier: str) -> str:
        return draw(st.sampled_from(QUOTINGS)).format(identifier)

    def optional(text: str) -> str:
        return (" " + text) if draw(st.booleans()) else ""

    comments = ["", " -- a comment, with (parentheses)\n  ", " /* legacy, ( NOT NULL */ "]
    table = draw(st.sampled_from(ITEM_SPELLINGS))
    columns = [
        f"{name('id')} INTEGER {words('primary key autoincrement')}",
        f"{name('label')} VARCHAR(255) {words('not null')}" + optional(words("collate nocase")),
        f"{name('note')} TEXT" + optional(words("default") + " '{\"a\": 1, \"b\": [2, 3]}'"),
        f"{name('weight')} INTEGER {words('not null')}" + optional(words("check") + " (weight >= 0)"),
        f"{name('code')} VARCHAR(255) {words('not null')}",
        f"{name('nickname')} TEXT" + optional(words("check") + " (nickname <> 'NOT NULL')"),
        f"{name('kept')} TEXT",
    ]
    columns += [constraint for constraint in (words("unique") + " (code)", words("check") + " (length(label) > 0)")
                if draw(st.booleans())]
    body = ",".join(draw(st.sampled_from(comments)) + "\n  " + column for column in columns)
    return table, f"{words('create table')} {name(table)} ({body}\n)"


def initial_migration(table: str, item_sql: str) -> Migration:
    """The file as an old app version left it: ``item_sql`` and what hangs off it, filled with rows."""

    def up(self, schema):
        schema.sql(item_sql)
        schema.sql("CREATE TABLE part (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL "
                   f"REFERENCES {table} (id) ON DELETE CASCADE, name TEXT)")
        schema.sql(f"CREATE INDEX item_label ON {table} (label)")
        schema.sql("CREATE TABLE item_log (item_id INTEGER)")
        schema.sql(f"CREATE TRIGGER item_logged AFTER INSERT ON {table} BEGIN INSERT INTO item_log VALUES (new.id); END")
        schema.sql(f"CREATE VIEW heavy AS SELECT id, label FROM {table} WHERE weight > 50")
        schema.sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
            f"INSERT INTO {table} (label, note, weight, code, nickname, kept) "
            "SELECT 'item ' || i, 'note ' || i, i % 97, 'C' || i, CASE WHEN i % 4 THEN 'nick' || i END, hex(randomblob(8)) FROM n"
        )
        schema.sql(f"INSERT INTO part (item_id, name) SELECT id, 'part of ' || id FROM {table} WHERE id % 2 = 0")
        schema.sql("DELETE FROM part WHERE item_id > 290")
        schema.sql(f"DELETE FROM {table} WHERE id > 290")  # the sequence stays at 300

    return type("Initial", (Migration,), {"id": "20240101_000000_initial", "up": up})()


PLAIN_ITEM = ("item", "CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, label VARCHAR(255) NOT NULL, note TEXT, "
              "weight INTEGER NOT NULL, code VARCHAR(255) NOT NULL, nickname TEXT, kept TEXT)")


def operation_migration(index: int, name: str) -> Migration:
    _, up, down = OPERATIONS[name]
    namespace: dict = {"peewee": peewee}
    exec(f"def up(self, schema):\n    {up}\n\ndef down(self, schema):\n    {down}\n", namespace)
    cls = type(f"Op{index}", (Migration,), {"id": f"20240102_{index:06d}_op", "name": name,
                                            "up": namespace["up"], "down": namespace["down"]})
    return cls()


def shape(connection: sqlite3.Connection) -> list[tuple]:
    """The schema as structure (columns, indexes, foreign keys, triggers, views, sequences), not SQL text."""
    described: list[tuple] = []
    objects = connection.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex%' ORDER BY type, name"
    ).fetchall()
    for kind, name, table, sql in objects:
        if kind == "table":
            described.append(("table", name, tuple(connection.execute(f'PRAGMA table_info("{name}")').fetchall()),
                              tuple(connection.execute(f'PRAGMA foreign_key_list("{name}")').fetchall())))
        elif kind == "index":
            columns = tuple(row[2] for row in connection.execute(f'PRAGMA index_info("{name}")'))
            unique = "UNIQUE" in (sql or "").upper()
            described.append(("index", name, table, columns, unique))
        else:
            described.append((kind, name, table, " ".join((sql or "").split())))
    described.append(("sequence", tuple(connection.execute("SELECT * FROM sqlite_sequence ORDER BY name").fetchall())))
    return described


def rows(connection: sqlite3.Connection, columns: Sequence[str], renamed: dict[str, str]) -> list[tuple]:
    selected = ", ".join(f'"{renamed.get(column, column)}"' for column in columns)
    return connection.execute(f"SELECT {selected} FROM item ORDER BY id").fetchall()


def check_round_trip(folder: Path, names: Sequence[str], item: tuple[str, str] = PLAIN_ITEM) -> None:
    """Apply ``names`` (one migration each) in one launch, check, roll all back, check; AssertionError if not.

    ``item`` is the item table's name as its DDL writes it and that DDL; the
    operations name it "item" whatever case the DDL uses.
    """
    path = folder / "app.sqlite3"
    migrations = [initial_migration(*item), *(operation_migration(index, name) for index, name in enumerate(names, start=1))]
    first = Database("PropertyApp", path=path, migrations=migrations[:1], env="development")
    first.register_models([])
    first.close()
    connection = sqlite3.connect(path)
    original_shape, original_rows = shape(connection), rows(connection, COLUMNS, {})
    other_tables = {table: connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() for table in ("part", "item_log")}
    connection.close()

    database = Database("PropertyApp", path=path, migrations=migrations, env="development")
    assert database.migrate().applied == [migration.id for migration in migrations[1:]]
    database.close()
    touched = {column for name in names for column in OPERATIONS[name][0]}
    untouched = [column for column in COLUMNS if column not in touched]
    renamed = {"nickname": "alias"} if "rename column" in names else {}
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert rows(connection, untouched, renamed) == [tuple(row[COLUMNS.index(c)] for c in untouched) for row in original_rows]
    part = "component" if "rename child table" in names else "part"
    assert connection.execute(f'SELECT * FROM "{part}" ORDER BY rowid').fetchall() == other_tables["part"]
    connection.close()

    database = Database("PropertyApp", path=path, migrations=migrations, env="development")
    assert database.rollback(steps=len(names)).undone == [migration.id for migration in reversed(migrations[1:])]
    database.close()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        assert shape(connection) == original_shape
        assert rows(connection, COLUMNS, {}) == original_rows
        for table, contents in other_tables.items():
            assert connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall() == contents, table
    finally:
        connection.close()


def property_round_trips(runs: int, root: Path):
    """Run the property on ``runs`` sequences that hypothesis draws (and shrinks, if one fails)."""
    import tempfile

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from .scenarios import Outcome

    outcome = Outcome("Property: random operation sequences, up then down (hypothesis)", runs,
                      f"sequences of {len(OPERATIONS)} operations (rebuilds, renames, indexes, columns, tables) on an "
                      "item table whose hand-written DDL is drawn too (keyword case, the four quotings, comments, "
                      "CHECK, UNIQUE, DEFAULT holding JSON): after up, rows in untouched columns unchanged; "
                      "after down, schema and every row as before")
    tried: list[tuple[str, ...]] = []
    tables: list[str] = []

    @settings(max_examples=runs, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(sorted(OPERATIONS)), min_size=1, max_size=len(OPERATIONS), unique=True), st.data())
    def round_trip(names: list[str], data) -> None:
        item = item_table_sql(data.draw)
        tried.append(tuple(names))
        tables.append(item[1])
        with tempfile.TemporaryDirectory(dir=root) as folder:
            check_round_trip(Path(folder), names, item)

    root.mkdir(parents=True, exist_ok=True)
    try:
        round_trip()
    except Exception as exc:  # hypothesis re-raises the shrunk failure
        outcome.failures.append(f"{type(exc).__name__}: {exc} (last sequence tried: {tried[-1] if tried else None}, "
                                f"on {tables[-1] if tables else None!r})")
    outcome.runs = len(tried)
    outcome.survived = len(tried) - (1 if outcome.failures else 0)
    outcome.notes = (f"{len(set(tried))} distinct sequences, up to {max(map(len, tried), default=0)} operations long, "
                     f"on {len(set(tables))} distinct hand-written item tables")
    return outcome
