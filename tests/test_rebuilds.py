"""Rebuild operations on hand-written schemas of long-lived apps: nothing but the intended change.

Every case runs one operation (add_not_null, drop_not_null,
add_column_default, drop_column_default, alter_column_type) on one table of a schema from real_world_schemas, naming
the table and the column in another case than the DDL, in a real launch on
a real file. Afterwards: integrity_check ok, foreign_key_check unchanged
(the old orphans are still there, no new ones), every row of every table
with its rowid unchanged, sqlite_master identical except the target
column's own definition, the FTS indexes pass their integrity check and
find the same rows, the views return the same rows, the AUTOINCREMENT
counters unchanged; and what the app does next (triggers, cascades) has
the same effect as on the file before the migration.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import peewee
import pytest
from real_world_schemas import SCHEMAS, RealWorldSchema, build, register_functions

from app_db import Database, Migration
from app_db.ddl import read_create_table
from app_db.reflection import sqlite_affinity as affinity

# A new type of the same affinity for each affinity (so the stored values must come through unchanged).
SAME_AFFINITY = {"INTEGER": "INT8", "TEXT": "CLOB", "REAL": "FLOAT8", "NUMERIC": "DECIMAL(12, 4)"}
SAME_AFFINITY_STRICT = {"INTEGER": "INT", "INT": "INTEGER", "TEXT": "ANY", "REAL": "ANY", "BLOB": "ANY"}


def typed_field(type_text: str, null: bool) -> peewee.Field:
    return type("Typed", (peewee.Field,), {"field_type": type_text})(null=null)


def ordinary_tables(connection: sqlite3.Connection) -> list[str]:
    """The app's own tables: not virtual, not SQLite's, not an FTS index's shadow tables."""
    virtual = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")]
    tables = []
    for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                      "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"):
        if not any(name.startswith(fts + "_") for fts in virtual):
            tables.append(name)
    return tables


def rebuild_cases(schema: RealWorldSchema, path: Path) -> list[tuple]:
    """(operation, table, column, new type or None) for every table: the first column each operation applies to."""
    connection = sqlite3.connect(path)
    cases = []
    try:
        strict = {row[1] for row in connection.execute("PRAGMA table_list") if row[5]}
        for table in ordinary_tables(connection):
            definition = read_create_table(connection.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0])
            info = {row[1]: row for row in connection.execute(f'PRAGMA table_xinfo("{table}")')}
            plain = [column for column in definition.columns if not info[column.name][5] and not column.generated]
            drop = next((column for column in plain if column.not_null), None)
            if drop is not None:
                cases.append(("drop_not_null", table, drop.name, None))
            add = next((column for column in plain if not column.not_null and not connection.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column.name}" IS NULL LIMIT 1').fetchone()), None)
            if add is not None:
                cases.append(("add_not_null", table, add.name, None))
            with_default = next((column for column in plain if column.find("default")), None)
            if with_default is not None:
                cases.append(("drop_column_default", table, with_default.name, None))
            without_default = next((column for column in plain if not column.find("default")), None)
            if without_default is not None:
                cases.append(("add_column_default", table, without_default.name, None))
            for column in plain:
                declared = column.type
                mapping = SAME_AFFINITY_STRICT if table in strict else SAME_AFFINITY
                new_type = mapping.get(declared.upper() if table in strict else affinity(declared))
                if new_type is not None:
                    cases.append(("alter_column_type", table, column.name, new_type))
                    break
    finally:
        connection.close()
    return cases


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("real-world")
    return {name: build(schema, folder / f"{name}.sqlite3") for name, schema in SCHEMAS.items()}


@pytest.fixture(scope="session")
def originals(templates, tmp_path_factory) -> dict[str, tuple[dict, dict]]:
    """Per schema, its snapshot and the snapshot after the app's next actions, both before any migration.

    The same for every case of a schema, so read once per schema (lazily), not once per case.
    """
    folder = tmp_path_factory.mktemp("originals")

    class Originals(dict):
        def __missing__(self, name: str) -> tuple[dict, dict]:
            (folder / name).mkdir()
            path = checkpointed_copy(templates[name], folder / name)
            self[name] = snapshot(path, SCHEMAS[name]), exercised(path, SCHEMAS[name], folder / name)
            return self[name]

    return Originals()


def _all_cases() -> list[tuple]:
    import tempfile

    cases = []
    with tempfile.TemporaryDirectory() as folder:
        for name, schema in SCHEMAS.items():
            path = build(schema, Path(folder) / f"{name}.sqlite3")
            cases += [(name, *case) for case in rebuild_cases(schema, path)]
    return cases


CASES = _all_cases()


def snapshot(path: Path, schema: RealWorldSchema) -> dict:
    """Everything a user could lose, read back through a plain sqlite3 connection."""
    connection = sqlite3.connect(path)
    register_functions(connection)
    try:
        for table in schema.fts:  # raises "database disk image is malformed" when the index and rowids disagree
            connection.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        without_rowid = {row[1] for row in connection.execute("PRAGMA table_list") if row[4]}
        rows = {}
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND sql NOT LIKE 'CREATE VIRTUAL%' AND name <> 'sqlite_sequence'"):
            select = f'SELECT * FROM "{table}"' if table in without_rowid else f'SELECT rowid, * FROM "{table}"'
            rows[table] = sorted(connection.execute(select).fetchall(), key=repr)
        views = {name: sorted(connection.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
                 for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        return {
            "integrity": connection.execute("PRAGMA integrity_check").fetchall(),
            "foreign keys": sorted(connection.execute("PRAGMA foreign_key_check").fetchall()),
            "master": {(kind, name): (table, sql) for kind, name, table, sql in
                       connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")},
            "columns": {table: connection.execute(f'PRAGMA table_xinfo("{table}")').fetchall() for table in rows},
            "rows": rows,
            "views": views,
            "searches": [connection.execute(query).fetchall() for query in schema.searches],
            "sequence": connection.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall()
            if "sqlite_sequence" in rows or connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() else [],
        }
    finally:
        connection.close()


def exercised(path: Path, schema: RealWorldSchema, folder: Path) -> dict | None:
    """The snapshot after the app's next actions, on a copy of ``path``; None if the app's insert is now refused."""
    copy = folder / f"exercised-{path.name}"
    shutil.copyfile(path, copy)
    connection = sqlite3.connect(copy)
    register_functions(connection)
    try:
        schema.exercise(connection)
    except sqlite3.IntegrityError as exc:
        return {"refused": str(exc)}
    finally:
        connection.close()
    return snapshot(copy, schema)


def checkpointed_copy(template: Path, folder: Path) -> Path:
    connection = sqlite3.connect(template)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    path = folder / "app.sqlite3"
    shutil.copyfile(template, path)
    return path


def operation_migration(operation: str, table: str, column: str, new_type: str | None, nullable: bool) -> Migration:
    def up(self, schema):
        if operation == "alter_column_type":
            schema.alter_column_type(table, column, typed_field(new_type, null=nullable))
        elif operation == "add_column_default":
            schema.add_column_default(table, column, 7)
        else:
            getattr(schema, operation)(table, column)

    return type("Change", (Migration,), {"id": "20240601_090000_change", "name": operation, "up": up})()


def run_migration(path: Path, migration: Migration) -> None:
    database = Database("RealWorldApp", path=path, migrations=[migration], env="development")
    try:
        database.migrate()
    finally:
        database.close()


def column_span(sql: str, column: str) -> tuple[int, int]:
    found = read_create_table(sql).column(column)
    return found.name_token.start, found.end


def assert_only_the_column_changed(before: dict, after: dict, table: str, column: str) -> None:
    """sqlite_master and table_xinfo as before, except the one column's definition."""
    old_master, new_master = dict(before["master"]), dict(after["master"])
    old_sql, new_sql = old_master.pop(("table", table))[1], new_master.pop(("table", table))[1]
    assert new_master == old_master
    start, end = column_span(old_sql, column)
    new_start, new_end = column_span(new_sql, column)
    assert new_start == start and new_sql[:start] == old_sql[:start], "text before the column changed"
    assert new_sql[new_end:] == old_sql[end:], "text after the column changed"
    old_columns, new_columns = dict(before["columns"]), dict(after["columns"])
    old_info, new_info = old_columns.pop(table), new_columns.pop(table)
    assert new_columns == old_columns
    assert [row for row in new_info if row[1] != column] == [row for row in old_info if row[1] != column]


@pytest.mark.parametrize("schema_name, operation, table, column, new_type", CASES,
                         ids=[f"{case[0]}-{case[2]}-{case[1]}-{case[3]}" for case in CASES])
def test_a_rebuild_of_a_hand_written_table_keeps_everything_but_the_intended_change(
        templates, originals, tmp_path, schema_name, operation, table, column, new_type):
    schema = SCHEMAS[schema_name]
    path = checkpointed_copy(templates[schema_name], tmp_path)
    before, next_before = originals[schema_name]
    old_info = {row[1]: row for row in before["columns"][table]}[column]

    # The migration names the table and the column in another case than the DDL.
    run_migration(path, operation_migration(operation, table.swapcase(), column.swapcase(), new_type,
                                            nullable=not old_info[3]))

    after = snapshot(path, schema)
    assert after["integrity"] == [("ok",)]
    assert after["foreign keys"] == before["foreign keys"]
    tracking = after["rows"].pop("app_db_migrations")
    assert len(tracking) == 1
    after["master"] = {key: value for key, value in after["master"].items() if "app_db_migrations" not in key[1]}
    after["columns"].pop("app_db_migrations")
    for key in ("rows", "views", "searches", "sequence"):
        assert after[key] == before[key], key
    assert_only_the_column_changed(before, after, table, column)
    new_info = {row[1]: row for row in after["columns"][table]}[column]
    if operation == "alter_column_type":
        assert (new_info[2], new_info[3]) == (new_type, old_info[3])
    elif operation.endswith("_default"):
        assert new_info[:4] == old_info[:4] and new_info[4] == ("7" if operation == "add_column_default" else None)
        return  # the app's next inserts that omit the column store something else: that is the change
    else:
        assert (new_info[2], new_info[3]) == (old_info[2], 1 if operation == "add_not_null" else 0)

    next_after = exercised(path, schema, tmp_path)
    if operation == "add_not_null" and "refused" in next_after:
        assert f"NOT NULL constraint failed: {table}.{column}" in next_after["refused"]
        return
    next_after["rows"].pop("app_db_migrations")
    for key in ("rows", "views", "searches", "sequence", "foreign keys"):
        assert next_after[key] == next_before[key], key


def test_every_schema_gives_every_operation_cases():
    counted = {(case[0], case[1]) for case in CASES}
    assert counted == {(name, operation) for name in SCHEMAS
                       for operation in ("add_not_null", "drop_not_null", "alter_column_type",
                                         "add_column_default", "drop_column_default")}
    assert len(CASES) >= 80
