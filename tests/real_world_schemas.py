"""Hand-written schemas of long-lived desktop apps, for the rebuild tests.

Written for these tests in the style of an e-book library, a reference
manager, a flashcard collection and a notes app (none is copied from a real
project): DDL typed by people over years of releases, with comments inside
CREATE TABLE, lowercase keywords, mixed-case and quoted names (spaces
included), table-level UNIQUE / PRIMARY KEY (a, b) / CHECK / FOREIGN KEY,
ON DELETE CASCADE children, COLLATE NOCASE, AUTOINCREMENT, DEFAULTs holding
JSON with commas, a CHECK whose text says "NOT NULL", WITHOUT ROWID and
STRICT tables, a generated column, rowid tables keyed by TEXT, FTS4 and FTS5
external-content indexes keyed by rowid, triggers that call a SQL function
the app registers, and views over several tables. Every schema is filled
with thousands of rows, children included, and a few rows deleted (so the
AUTOINCREMENT counters run ahead of the highest id).

Each schema also has ``exercise(connection)``: what the app does next
(inserts that fire the triggers, a delete that cascades), so a test can run
it on the file before and after a migration and compare.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple


def sort_key(title):
    """The app's title_sort(): "The Hobbit" -> "Hobbit, The"; registered on every connection the app opens."""
    if title is None:
        return None
    for article in ("The ", "A ", "An "):
        if title.startswith(article):
            return f"{title[len(article):]}, {article.strip()}"
    return title


def register_functions(connection: sqlite3.Connection) -> None:
    connection.create_function("title_sort", 1, sort_key, deterministic=True)


LIBRARY = """
create table authors ( id integer primary key,
    name text not null collate nocase,   -- as typed by the user
    sort text collate nocase,
    link text not null default "",
    unique(name)
);
create table books ( id integer primary key autoincrement,
    title text not null default 'Unknown' collate nocase,
    sort text collate nocase,
    timestamp timestamp default current_timestamp,
    series_index real not null default 1.0,
    isbn text default "" collate nocase,
    path text not null default "" /* relative to the library folder */,
    flags text not null default '{"read": false, "shelves": ["a", "b"]}',
    rating integer check (rating is null or (rating >= 0 and rating <= 10)),
    last_modified timestamp not null default "2000-01-01 00:00:00+00:00"
);
create table books_authors_link ( id integer primary key,
    book integer not null references books(id) on delete cascade,
    author integer not null references authors(id) on delete cascade,
    unique(book, author)
);
create table comments ( id integer primary key,
    book integer not null references books(id) on delete cascade,
    text text not null collate nocase check (text <> 'NOT NULL'),
    unique(book)
);
create index books_by_sort on books (sort collate nocase);
create index authors_link_by_author on books_authors_link (author);
create trigger books_insert_trg after insert on books
begin
    update books set sort = title_sort(new.title) where id = new.id;
end;
create trigger books_update_trg after update of title on books
begin
    update books set sort = title_sort(new.title) where id = new.id;
end;
create trigger authors_insert_trg after insert on authors
begin
    update authors set sort = title_sort(new.name) where id = new.id;
end;
create view meta as
    select books.id, books.title, books.sort, title_sort(books.isbn || ' ' || books.title) as shelf_mark,
           (select group_concat(name, ' & ') from authors
             where authors.id in (select author from books_authors_link where book = books.id)) as authors,
           (select text from comments where book = books.id) as comment
      from books;
"""


def fill_library(connection: sqlite3.Connection) -> None:
    connection.executescript("""
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 600)
        insert into authors (name) select 'Author ' || i from n;
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000)
        insert into books (title, isbn, path, rating)
            select case when i % 3 = 0 then 'The Book ' || i else 'Book ' || i end,
                   '978' || i, 'Author/Book ' || i, case when i % 4 then i % 11 end from n;
        insert into books_authors_link (book, author) select id, 1 + id % 600 from books;
        insert into books_authors_link (book, author) select id, 1 + (id * 7) % 600 from books
            where id % 5 = 0 and 1 + id % 600 <> 1 + (id * 7) % 600;
        insert into comments (book, text) select id, 'Comment on ' || id from books where id % 2 = 0;
        delete from books where id > 2990;
    """)


def exercise_library(connection: sqlite3.Connection) -> None:
    connection.execute("pragma foreign_keys = on")
    connection.execute("insert into books (title, timestamp) values ('The New Arrival', '2024-06-01 10:00:00')")
    connection.execute("insert into authors (name) values ('A. Newcomer')")
    connection.execute("update books set title = 'An Old Friend' where id = 7")
    connection.execute("delete from books where id = 10")  # its links and comment cascade
    connection.commit()


REFERENCES = """
CREATE TABLE itemTypes (
    itemTypeID INTEGER PRIMARY KEY,
    typeName TEXT NOT NULL,
    display INT DEFAULT 1,
    UNIQUE (typeName)
);
CREATE TABLE items (
    itemID INTEGER PRIMARY KEY,
    itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    libraryID INT NOT NULL,
    "key" TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0,
    synced INT NOT NULL DEFAULT 0,
    UNIQUE (libraryID, "key"),
    FOREIGN KEY (itemTypeID) REFERENCES itemTypes(itemTypeID)
);
CREATE TABLE itemData (
    itemID INT,
    fieldID INT,
    valueID,
    PRIMARY KEY (itemID, fieldID),
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE collections (
    collectionID INTEGER PRIMARY KEY,
    collectionName TEXT NOT NULL,
    parentCollectionID INT DEFAULT NULL,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    [key] TEXT NOT NULL,
    FOREIGN KEY (parentCollectionID) REFERENCES collections(collectionID) ON DELETE CASCADE,
    CHECK (parentCollectionID <> collectionID)
);
CREATE TABLE collectionItems (
    collectionID INT NOT NULL,
    itemID INT NOT NULL,
    orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (collectionID, itemID),
    FOREIGN KEY (collectionID) REFERENCES collections(collectionID) ON DELETE CASCADE,
    FOREIGN KEY (itemID) REFERENCES items(itemID) ON DELETE CASCADE
);
CREATE TABLE "sync queue" (
    "object type" INT NOT NULL,
    "object key" TEXT NOT NULL COLLATE NOCASE,
    `last check` INT,
    tries INT NOT NULL DEFAULT 0,
    PRIMARY KEY ("object type", "object key")
);
CREATE TABLE fulltextContent (
    itemID INTEGER PRIMARY KEY REFERENCES items(itemID) ON DELETE CASCADE,
    content TEXT NOT NULL,
    indexedChars INT
);
CREATE VIRTUAL TABLE fulltextIndex USING fts4(content="fulltextContent", content);
CREATE TRIGGER fulltextContent_ai AFTER INSERT ON fulltextContent BEGIN
    INSERT INTO fulltextIndex(docid, content) VALUES (new.itemID, new.content);
END;
CREATE TRIGGER fulltextContent_bd BEFORE DELETE ON fulltextContent BEGIN
    DELETE FROM fulltextIndex WHERE docid = old.itemID;
END;
CREATE TRIGGER items_touch AFTER UPDATE OF version ON items BEGIN
    UPDATE items SET synced = 0 WHERE itemID = new.itemID;
END;
CREATE INDEX itemData_fieldID ON itemData(fieldID);
CREATE INDEX collectionItems_itemID ON collectionItems(itemID);
CREATE VIEW itemsInCollections AS
    SELECT C.collectionName, I.itemID, I."key", T.typeName
      FROM collections C JOIN collectionItems CI USING (collectionID)
      JOIN items I ON I.itemID = CI.itemID JOIN itemTypes T ON T.itemTypeID = I.itemTypeID;
"""


def fill_references(connection: sqlite3.Connection) -> None:
    connection.executescript("""
        INSERT INTO itemTypes (typeName) VALUES ('book'), ('journalArticle'), ('webpage'), ('note');
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
        INSERT INTO items (itemTypeID, libraryID, "key", version)
            SELECT 1 + i % 4, 1 + i % 2, printf('K%07d', i), i % 13 FROM n;
        INSERT INTO itemData (itemID, fieldID, valueID) SELECT itemID, 1, 'title of ' || itemID FROM items;
        INSERT INTO itemData (itemID, fieldID, valueID) SELECT itemID, 2, itemID * 3 FROM items WHERE itemID % 3 = 0;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
        INSERT INTO collections (collectionName, parentCollectionID, [key])
            SELECT 'Collection ' || i, CASE WHEN i > 10 THEN 1 + i % 10 END, printf('C%05d', i) FROM n;
        INSERT INTO collectionItems (collectionID, itemID, orderIndex) SELECT 1 + itemID % 60, itemID, itemID FROM items;
        INSERT INTO "sync queue" ("object type", "object key", `last check`)
            SELECT 1 + itemID % 3, "key", itemID * 100 FROM items WHERE itemID % 4 = 0;
        INSERT INTO fulltextContent (itemID, content, indexedChars)
            SELECT itemID, 'full text of item ' || itemID || CASE WHEN itemID % 7 = 0 THEN ' with sevens' ELSE '' END,
                   itemID FROM items WHERE itemID % 2 = 1;
    """)


def exercise_references(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("INSERT INTO items (itemTypeID, libraryID, \"key\", dateAdded, dateModified) "
                       "VALUES (2, 1, 'KNEW0001', '2024-06-01 10:00:00', '2024-06-01 10:00:00')")
    connection.execute("INSERT INTO fulltextContent (itemID, content) VALUES (last_insert_rowid(), 'fresh sevens text')")
    connection.execute("UPDATE items SET version = version + 1, synced = 1 WHERE itemID = 21")
    connection.execute("DELETE FROM fulltextContent WHERE itemID = 7")
    connection.execute("DELETE FROM collections WHERE collectionID = 3")  # children collections and links cascade
    connection.execute("DELETE FROM items WHERE itemID = 9")
    connection.commit()


FLASHCARDS = """
create table col (
    id integer primary key,
    crt integer not null,
    mod integer not null,
    conf text not null default '{"nextPos": 1, "estTimes": true, "activeDecks": [1], "sortType": "noteFld"}',
    models text not null default '{}',
    tags text not null default '{}'
);
create table notes (
    id integer primary key,   /* 0 */
    guid text not null,       /* 1 */
    mid integer not null,     /* 2 */
    mod integer not null,     /* 3 */
    usn integer not null,     /* 4 */
    tags text not null,       /* 5 */
    flds text not null,       /* 6 */
    sfld integer not null,    /* 7 */
    csum integer not null,    /* 8 */
    flags integer not null,   /* 9 */
    data text not null,       /* 10 */
    sort_field text generated always as (lower(flds)) virtual
);
create table cards (
    id integer primary key,
    nid integer not null references notes (id) on delete cascade,
    did integer not null,
    ord integer not null,
    due integer not null,
    ivl integer not null,
    factor integer not null,
    reps integer not null,
    odue integer not null default 0,
    data text not null default ''
);
create table revlog (
    id integer primary key,
    cid integer not null,
    usn integer not null,
    ease integer not null,
    ivl integer not null,
    lastIvl integer not null,
    time integer not null,
    type integer not null
);
create table fields (
    ntid integer not null,
    ord integer not null,
    name text not null collate nocase,
    config blob not null,
    primary key (ntid, ord)
) without rowid, strict;
create table deck_config (
    id integer primary key not null,
    name text not null collate nocase,
    mtime_secs integer not null,
    usn integer not null,
    config blob,
    kind any
) strict;
create table graves (
    oid integer not null,
    type integer not null,
    usn integer not null,
    primary key (oid, type)
) without rowid;
create unique index idx_notes_guid on notes (guid);
create index ix_cards_nid on cards (nid);
create index ix_revlog_cid on revlog (cid);
create unique index idx_fields_name_ntid on fields (name, ntid);
create trigger notes_deleted after delete on notes
begin
    insert or replace into graves (oid, type, usn) values (old.id, 1, -1);
end;
create trigger cards_sorted after insert on cards
begin
    update cards set data = title_sort('The ' || new.id) where id = new.id;
end;
create view due_cards as
    select c.id, c.due, n.sfld, n.sort_field from cards c join notes n on n.id = c.nid where c.ivl > 3;
"""


def fill_flashcards(connection: sqlite3.Connection) -> None:
    connection.executescript("""
        insert into col (id, crt, mod) values (1, 1600000000, 1700000000);
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000)
        insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)
            select 1600000000000 + i, printf('g%08x', i * 2654435761 % 4294967296), 1, 1700000000 + i, -1,
                   ' vocab ', 'Front ' || i || char(31) || 'Back ' || i, i, i * 31 % 100000, 0, '' from n;
        insert into cards (id, nid, did, ord, due, ivl, factor, reps)
            select id + 1000000, id, 1, 0, id % 365, id % 17, 2500, id % 9 from notes;
        insert into cards (id, nid, did, ord, due, ivl, factor, reps)
            select id + 2000000, id, 1, 1, id % 300, id % 11, 2500, id % 5 from notes where id % 2 = 0;
        insert into revlog (id, cid, usn, ease, ivl, lastIvl, time, type)
            select id + 5000000, id, -1, 1 + id % 4, ivl, ivl - 1, 3000 + id % 7000, 1 from cards;
        insert into fields (ntid, ord, name, config) values (1, 0, 'Front', x'00'), (1, 1, 'Back', x'01');
        insert into deck_config (id, name, mtime_secs, usn, config, kind) values
            (1, 'Default', 1700000000, 0, x'0a0b', 'normal'), (2, 'Cram', 1700000001, 0, null, 7);
        delete from notes where id % 97 = 0;
    """)


def exercise_flashcards(connection: sqlite3.Connection) -> None:
    connection.execute("pragma foreign_keys = on")
    connection.execute("insert into notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data) "
                       "values (1700000000001, 'gNEW', 1, 1, -1, '', 'New' || char(31) || 'Card', 0, 0, 0, '')")
    connection.execute("insert into cards (id, nid, did, ord, due, ivl, factor, reps) "
                       "values (9000001, 1700000000001, 1, 0, 1, 5, 2500, 0)")
    connection.execute("delete from notes where id = 1600000000005")  # cards cascade, a grave appears
    connection.commit()


NOTES = """
CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT "",
    created_time INT NOT NULL,   -- milliseconds since the epoch
    updated_time INT NOT NULL,
    parent_id TEXT NOT NULL DEFAULT ""
);
CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    parent_id TEXT NOT NULL DEFAULT "",
    title TEXT NOT NULL DEFAULT "",
    body TEXT NOT NULL DEFAULT "" CHECK (body IS NOT NULL OR is_conflict = 1),
    created_time INT NOT NULL,
    updated_time INT NOT NULL,
    is_conflict INT NOT NULL DEFAULT 0,
    latitude NUMERIC NOT NULL DEFAULT 0,
    author TEXT NOT NULL DEFAULT "",
    source_url TEXT NOT NULL DEFAULT "",
    is_todo INT NOT NULL DEFAULT 0,
    todo_due INT NOT NULL DEFAULT 0,
    `order` NUMERIC NOT NULL DEFAULT 0,
    markup_language INT NOT NULL DEFAULT 1, -- 1 = Markdown, 2 = HTML
    "user data" TEXT NOT NULL DEFAULT '{"pinned": false, "colour": "red, then blue"}'
);
CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT "" COLLATE NOCASE,
    created_time INT NOT NULL
);
CREATE TABLE note_tags (
    id TEXT PRIMARY KEY,
    note_id TEXT NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    created_time INT NOT NULL
);
CREATE TABLE "item changes" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    "item type" INT NOT NULL,
    "item id" TEXT NOT NULL,
    type INT NOT NULL,
    created_time INT NOT NULL
);
CREATE TABLE settings (`key` TEXT PRIMARY KEY, `value` TEXT) WITHOUT ROWID;
CREATE VIRTUAL TABLE notes_fts USING fts5(title, body, content='notes', content_rowid='rowid');
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
    INSERT INTO "item changes" ("item type", "item id", type, created_time) VALUES (1, new.id, 1, new.created_time);
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO "item changes" ("item type", "item id", type, created_time) VALUES (1, old.id, 3, old.updated_time);
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, title, body) VALUES ('delete', old.rowid, old.title, old.body);
    INSERT INTO notes_fts(rowid, title, body) VALUES (new.rowid, new.title, new.body);
    INSERT INTO "item changes" ("item type", "item id", type, created_time)
        VALUES (1, new.id, 2, length(title_sort(new.title)));
END;
CREATE INDEX notes_title ON notes (title);
CREATE INDEX notes_updated_time ON notes (updated_time);
CREATE INDEX note_tags_note_id ON note_tags (note_id);
CREATE VIEW tagged_notes AS
    SELECT notes.id, notes.title, tags.title AS tag, folders.title AS folder
      FROM notes JOIN note_tags ON note_tags.note_id = notes.id JOIN tags ON tags.id = note_tags.tag_id
      LEFT JOIN folders ON folders.id = notes.parent_id;
"""


def fill_notes(connection: sqlite3.Connection) -> None:
    connection.executescript("""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
        INSERT INTO folders (id, title, created_time, updated_time) SELECT printf('f%031x', i), 'Folder ' || i, i, i FROM n;
        -- ids are random hex, so the rowid is the only order the FTS index knows
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
        INSERT INTO notes (id, parent_id, title, body, created_time, updated_time, latitude)
            SELECT printf('%032x', (i * 2654435761) % 4294967311), printf('f%031x', 1 + i % 40),
                   CASE WHEN i % 5 = 0 THEN 'The note ' ELSE 'Note ' END || i,
                   'Body of note ' || i || CASE WHEN i % 11 = 0 THEN ' mentions elevens' ELSE '' END,
                   1600000000000 + i, 1600000000000 + i * 2, i / 7.0 FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
        INSERT INTO tags (id, title, created_time) SELECT printf('t%031x', i), 'tag ' || i, i FROM n;
        INSERT INTO note_tags (id, note_id, tag_id, created_time)
            SELECT 'nt' || notes.rowid, notes.id, printf('t%031x', 1 + notes.rowid % 50), notes.rowid
              FROM notes WHERE notes.rowid % 3 <> 0;
        INSERT INTO settings VALUES ('theme', 'dark'), ('sync.target', '7'), ('locale', 'en_GB');
        DELETE FROM notes WHERE rowid % 10 = 3;
        DELETE FROM "item changes" WHERE id > 3200;
    """)


def exercise_notes(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("INSERT INTO notes (id, title, body, created_time, updated_time) "
                       "VALUES ('new-note', 'The fresh one', 'mentions elevens too', 1, 2)")
    connection.execute("UPDATE notes SET title = 'The renamed' WHERE rowid = 20")
    connection.execute("DELETE FROM notes WHERE rowid = 22")  # its tags cascade; the FTS row goes
    connection.commit()


class RealWorldSchema(NamedTuple):
    name: str
    ddl: str
    fill: Callable[[sqlite3.Connection], None]
    exercise: Callable[[sqlite3.Connection], None]
    fts: list[str]  # full-text tables: checked with their 'integrity-check' command
    searches: list[str]  # queries whose results must not change


SCHEMAS: dict[str, RealWorldSchema] = {
    schema.name: schema
    for schema in (
        RealWorldSchema("library", LIBRARY, fill_library, exercise_library, [], [
            "SELECT id, title, sort FROM books WHERE sort LIKE 'Book 1%' ORDER BY id"]),
        RealWorldSchema("references", REFERENCES, fill_references, exercise_references, ["fulltextIndex"], [
            "SELECT docid FROM fulltextIndex WHERE fulltextIndex MATCH 'sevens' ORDER BY docid",
            "SELECT itemID, content FROM fulltextContent WHERE itemID IN "
            "(SELECT docid FROM fulltextIndex WHERE fulltextIndex MATCH 'sevens') ORDER BY itemID"]),
        RealWorldSchema("flashcards", FLASHCARDS, fill_flashcards, exercise_flashcards, [], [
            "SELECT id, sort_field FROM notes WHERE sort_field LIKE 'front 1%' ORDER BY id"]),
        RealWorldSchema("notes", NOTES, fill_notes, exercise_notes, ["notes_fts"], [
            "SELECT id, title FROM notes WHERE rowid IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH 'elevens') "
            "ORDER BY id",
            "SELECT rowid, title FROM notes_fts WHERE notes_fts MATCH 'note' ORDER BY rowid LIMIT 50"]),
    )
}


def migration_body(schema: RealWorldSchema) -> str:
    """The schema's DDL as the body of an up(): one ``schema.sql()`` per statement (a trigger's body holds semicolons)."""
    statements, current = [], ""
    for line in schema.ddl.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return "\n".join(f"schema.sql({statement!r})" for statement in statements)


def build(schema: RealWorldSchema, path: Path) -> Path:
    """The file as the app's old versions left it: its DDL, its rows, WAL mode."""
    connection = sqlite3.connect(path)
    register_functions(connection)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.executescript(schema.ddl)
    schema.fill(connection)
    for table in schema.fts:
        connection.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
    connection.commit()
    connection.close()
    return path
