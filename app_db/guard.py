"""Guard: SQLite's authorizer around each up() and down(), so no migration can end the batch's transaction.

Python's sqlite3 commits behind a migration's back: ``executescript()``
sends COMMIT first, ``connection.commit()`` and peewee's ``db.commit()``
send COMMIT, and every statement after that commits on its own, out of
reach of the rollback. SQLite asks the authorizer about every statement as
it is prepared, before it runs, so a COMMIT, BEGIN, END or ROLLBACK, or a
PRAGMA that changes journal_mode, synchronous or foreign_keys, is refused
there and the batch can still be rolled back whole. Savepoints
(``db.atomic()`` inside a migration) and every other PRAGMA (the rebuilds'
legacy_alter_table, writable_schema, schema_version, integrity_check) stay
allowed.

The same callback tells the dry run which statements write: whatever
keyword a statement begins with (``WITH ... INSERT``), SQLite reports each
table it inserts into, updates or deletes from, and each object it creates
or drops.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FORBIDDEN_PRAGMAS", "StatementGuard", "guarding"]

#: PRAGMAs a migration may read but not set: app_db owns how the file is kept.
FORBIDDEN_PRAGMAS = frozenset({"journal_mode", "synchronous", "foreign_keys"})
#: PRAGMAs a dry run shows when set: those that write the file's header, and
#: writable_schema, without which the UPDATE of sqlite_master after it reads oddly.
SHOWN_PRAGMAS = frozenset({"user_version", "application_id", "schema_version", "writable_schema"})
BOOKKEEPING_TABLE = "app_db_migrations"

WRITE_ACTIONS = frozenset(
    getattr(sqlite3, name)
    for name in dir(sqlite3)
    if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_"))
    or name
    in ("SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE", "SQLITE_ALTER_TABLE", "SQLITE_REINDEX", "SQLITE_ANALYZE")
)
# For these the table is the second argument (the first is an index,
# trigger or database name); for the rest it is the first.
TABLE_IN_SECOND = frozenset(
    getattr(sqlite3, name)
    for name in dir(sqlite3)
    if name.endswith(("_INDEX", "_TRIGGER")) and name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_"))
) | {sqlite3.SQLITE_ALTER_TABLE}
# Reads, function calls and the like: allowed, and no sign of a write.
QUIET_ACTIONS = frozenset(
    {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
OK, DENY = sqlite3.SQLITE_OK, sqlite3.SQLITE_DENY
TRANSACTION, PRAGMA, ALTER_TABLE = sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_ALTER_TABLE


class StatementGuard:
    """The authorizer callback: refuses what would end the transaction, notes what writes.

    ``refused`` keeps the first statement refused, so a migration that
    catches the error still fails; ``altered`` says an ALTER TABLE was
    prepared; ``shows()`` tells a trace callback whether the statement now
    running writes anything but app_db's own tracking table.
    """

    __slots__ = ("_bookkeeping", "_new_statement", "_shown", "_writes", "altered", "armed", "refused")

    def __init__(self) -> None:
        self.refused: str | None = None
        self.armed = False  # installed: inside an up() or down()
        self.altered = False  # an ALTER TABLE was prepared (a table may have been renamed)
        self._writes = False
        self._bookkeeping = False
        self._new_statement = True
        self._shown: str | None = None

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None
    ) -> int:
        # Called a few times for every statement prepared: the common answers come first.
        if self._new_statement:  # the first question about a statement being prepared
            self._new_statement = False
            self._writes = self._bookkeeping = False
            self._shown = None
        if action in QUIET_ACTIONS:
            return OK
        if action == TRANSACTION:
            return self._refuse(arg1 or "COMMIT")
        if action == PRAGMA:
            if arg2 is not None:
                name = (arg1 or "").lower()
                if name in FORBIDDEN_PRAGMAS:
                    return self._refuse(f"PRAGMA {database + '.' if database else ''}{arg1} = {arg2}")
                self._writes = self._writes or name in SHOWN_PRAGMAS
            return OK
        if action in WRITE_ACTIONS:
            self._writes = True
            if action == ALTER_TABLE:
                self.altered = True
            table = arg2 if action in TABLE_IN_SECOND else arg1
            if table is not None and table.lower() == BOOKKEEPING_TABLE:
                self._bookkeeping = True
        return OK

    def _refuse(self, statement: str) -> int:
        if self.refused is None:
            self.refused = statement
        return DENY

    def shows(self, statement: str) -> bool:
        """For a trace callback: True when ``statement``, now starting to run, writes and should be shown once.

        SQLite traces a statement again at each trigger it fires; those
        repeats (the same text, no new prepare in between) are not shown.
        """
        self._new_statement = True
        if not self.armed or not self._writes or self._bookkeeping or statement == self._shown:
            return False
        self._shown = statement
        return True

    def problem(self) -> str:
        """What the refused statement would have done, and what to write instead."""
        statement = self.refused or ""
        if statement.upper().startswith("PRAGMA"):
            return (
                f"it ran {statement}, which a migration may not change (app_db sets journal_mode, synchronous "
                "and foreign_keys itself, and foreign keys are checked before the batch commits). "
                "Remove that PRAGMA"
            )
        return (
            f"it tried to end the batch's transaction with {statement} (from connection.commit(), db.commit(), "
            "executescript(), or a BEGIN, COMMIT, END or ROLLBACK statement); it was refused before it ran. "
            "app_db commits once, after the whole batch: run one statement at a time with schema.sql(), and use "
            "schema.db.atomic() for a savepoint"
        )


@contextmanager
def guarding(connection: sqlite3.Connection, guard: StatementGuard | None = None) -> Iterator[StatementGuard]:
    """Install ``guard`` (a new one by default) as ``connection``'s authorizer for the block.

    Setting an authorizer makes SQLite re-prepare cached statements, so a
    COMMIT prepared before the block is asked about too.
    """
    guard = guard if guard is not None else StatementGuard()
    guard.refused = None
    guard.altered = False
    guard._new_statement = True
    connection.set_authorizer(guard)
    guard.armed = True
    try:
        yield guard
    finally:
        guard.armed = False
        connection.set_authorizer(None)
