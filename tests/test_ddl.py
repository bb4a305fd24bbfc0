"""app_db.ddl: SQLite's CREATE TABLE read as tokens, edited one column at a time, the rest kept as written."""

from __future__ import annotations

import sqlite3

import pytest

from app_db.ddl import DdlError, read_create_table, tokenize

HAND_WRITTEN = """create table "My Books" ( -- a comment, with a comma (and parentheses)
  id integer primary key autoincrement,
  [Title] varchar(255) not null /* required, always */ collate nocase,
  `sort key` text,
  'legacy name' text default 'x',
  meta text default '{"a": 1, "b": [2, 3]}' check (meta <> 'NOT NULL' and json_valid(meta)),
  author_id int references authors(id) on delete cascade not deferrable initially deferred not null,
  price decimal(10, 2) default -1.5 constraint positive check (price >= -1.5),
  doubled int generated always as (id * 2) virtual,
  unique (Title, author_id) on conflict replace,
  check (doubled > 0),
  foreign key (author_id) references authors(id)
)"""


def test_tokens_cover_the_statement_exactly():
    assert "".join(token.text for token in tokenize(HAND_WRITTEN)) == HAND_WRITTEN


def test_the_four_identifier_quotings_and_both_comment_forms_are_read_as_sqlite_reads_them():
    table = read_create_table(HAND_WRITTEN)
    assert table.name == "My Books"
    assert [column.name for column in table.columns] == [
        "id", "Title", "sort key", "legacy name", "meta", "author_id", "price", "doubled"]
    kinds = {column.name: [constraint.kind for constraint in column.constraints] for column in table.columns}
    assert kinds["Title"] == ["not null", "collate"]
    assert kinds["meta"] == ["default", "check"]  # the "NOT NULL" inside the CHECK is text, not a constraint
    assert kinds["author_id"] == ["references", "not null"]  # NOT DEFERRABLE belongs to REFERENCES
    assert kinds["price"] == ["default", "check"]
    assert kinds["doubled"] == ["generated"]
    assert table.column("TITLE") is table.column("title")  # names compare case-insensitively


def test_removing_not_null_changes_only_that_constraint():
    table = read_create_table(HAND_WRITTEN)
    title = table.column("title")
    edited = table.splice(table.removing(title.find("not null")))
    assert edited == HAND_WRITTEN.replace("varchar(255) not null /*", "varchar(255) /*")


def test_a_new_type_and_not_null_land_inside_the_column_and_nowhere_else():
    table = read_create_table(HAND_WRITTEN)
    meta = table.column("META")
    edited = table.splice(table.replacing_type(meta, "BLOB") + table.appending(meta, "NOT NULL"))
    assert edited == HAND_WRITTEN.replace(
        "meta text default '{\"a\": 1, \"b\": [2, 3]}' check (meta <> 'NOT NULL' and json_valid(meta)),",
        "meta BLOB default '{\"a\": 1, \"b\": [2, 3]}' check (meta <> 'NOT NULL' and json_valid(meta)) NOT NULL,")


def test_table_options_are_recognised_and_kept():
    table = read_create_table("CREATE TABLE t (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID, STRICT")
    assert table.without_rowid and table.strict
    assert table.renamed("t2").endswith(") WITHOUT ROWID, STRICT")


def test_every_edit_sqlite_accepts():
    table = read_create_table(HAND_WRITTEN)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY)")
    for column in table.columns:
        if column.generated:
            continue
        edits = table.removing(column.find("not null")) if column.not_null else table.appending(column, "NOT NULL")
        connection.execute(table.renamed(f"copy of {column.name}", table.splice(edits)))


@pytest.mark.parametrize("sql, problem", [
    ("CREATE TABLE t (a TEXT DEFAULT 'open", "quote ' opened at character 31 is never closed"),
    ("CREATE TABLE t (a TEXT, [b TEXT)", "'[' at character 24 is never closed"),
    ("CREATE TABLE t (a TEXT CHECK (a > 0)", "never closed"),
    ("CREATE VIRTUAL TABLE t USING fts5(a)", "'VIRTUAL' at line 1 ('VIRTUAL TABLE t USING fts5(a)') where TABLE was expected"),
    ("CREATE TABLE t (a TEXT NOT DEFERRABLE)", "'DEFERRABLE' at line 1 ('DEFERRABLE)') where NULL was expected"),
    ("CREATE TABLE t (a TEXT,, b)", "an empty definition (two commas)"),
])
def test_what_cannot_be_read_is_named_with_its_place(sql, problem):
    with pytest.raises(DdlError) as raised:
        read_create_table(sql)
    assert problem in str(raised.value)


VALID_STATEMENTS = [
    "CREATE TABLE t(a, b)",
    'CREATE TABLE "t"("a"/*c*/INT/*d*/,--e\n"b" TEXT)',
    "CREATE TABLE t(a INT PRIMARY KEY ASC ON CONFLICT REPLACE, b INT NULL, c TEXT CONSTRAINT nn NOT NULL ON CONFLICT FAIL)",
    "CREATE TABLE t(a UNSIGNED BIG INT, b DOUBLE PRECISION, c CHARACTER VARYING(20), e NUMERIC(10, -2))",
    "CREATE TABLE t(a INT DEFAULT -1, b INT DEFAULT +1, c DEFAULT TRUE, d DEFAULT CURRENT_TIMESTAMP, e DEFAULT x'AB', "
    "f DEFAULT NULL, g DEFAULT (1 + 2), h DEFAULT 1e-5, i DEFAULT 0x1F, j DEFAULT \"\")",
    "CREATE TABLE t(a COLLATE \"nocase\", b TEXT COLLATE rtrim NOT NULL)",
    "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE t(a REFERENCES p MATCH FULL ON UPDATE SET NULL ON DELETE SET DEFAULT "
    "DEFERRABLE INITIALLY IMMEDIATE NOT NULL, b INT REFERENCES p(id) ON DELETE NO ACTION NOT DEFERRABLE)",
    "CREATE TABLE t(a INT CONSTRAINT pk PRIMARY KEY, b INT, CONSTRAINT u UNIQUE (b) ON CONFLICT IGNORE, "
    "CONSTRAINT c CHECK (b > a), FOREIGN KEY (b) REFERENCES t (a) ON DELETE CASCADE)",
    "CREATE TABLE t(a INT, b INT, PRIMARY KEY(a, b)) WITHOUT ROWID",
    "CREATE TABLE t(a INT NOT NULL, b INT GENERATED ALWAYS AS (a * 2) STORED, c AS (a + 1), d TEXT AS (lower('X')) VIRTUAL)",
    "CREATE TABLE t(text text not null, key text, \"order\" int, [group] int, `select` int, 'from' text)",
    "CREATE TABLE t(a INTEGER PRIMARY KEY NOT NULL UNIQUE CHECK(a>0) DEFAULT 1 COLLATE BINARY REFERENCES t)",
    "CREATE TABLE \"naïve café\"(\"prix €\" REAL NOT NULL, x TEXT)",
    "CREATE TABLE t(a INT, b TEXT) STRICT",
    "CREATE TABLE IF NOT EXISTS main.t(a INT NOT NULL)",
]


@pytest.mark.parametrize("script", VALID_STATEMENTS)
def test_every_statement_sqlite_accepts_is_read_and_each_edit_is_accepted_too(script):
    connection = sqlite3.connect(":memory:")
    connection.executescript(script)
    sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 't' OR name LIKE 'naïve%'").fetchone()[0]
    table = read_create_table(sql)
    info = [row[1] for row in connection.execute(f'PRAGMA table_xinfo("{table.name}")')]
    assert [column.name for column in table.columns] == info
    for index, column in enumerate(table.columns):
        edits = table.removing(column.find("not null")) if column.not_null else table.appending(column, "NOT NULL")
        edits += table.replacing_type(column, "BLOB" if not table.strict else "ANY") if not column.generated else []
        connection.execute(table.renamed(f"copy {index}", table.splice(edits)))
        copied = {row[1]: row for row in connection.execute(f'PRAGMA table_xinfo("copy {index}")')}
        assert bool(copied[column.name][3]) != column.not_null or column.name in (
            row[1] for row in connection.execute(f'PRAGMA table_xinfo("{table.name}")') if row[5])
