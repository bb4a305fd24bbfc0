"""Preview: the SQL a migrate or rollback would run, found by running the same loop on an in-memory copy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .connection import call_on_connect, connect_read_only
from .discovery import KnownMigration
from .guard import StatementGuard
from .migration import Migration
from .runner import Session, run_steps

if TYPE_CHECKING:
    import peewee

__all__ = ["preview_statements"]


def preview_statements(
    path: Path | None,
    known: Sequence[KnownMigration],
    direction: str = "up",
    *,
    to: str | None = None,
    count: int | None = 1,
    on_connect: Callable[[peewee.SqliteDatabase], None] | None = None,
) -> list[tuple[Migration, list[str]]]:
    """The SQL each step would run, in order, as (migration, statements); the file is only read.

    The same loop (run_steps) runs for real, planned by the same function,
    but on an in-memory copy of the file made with the backup API (given the
    app's ``on_connect``, so its SQL functions work there too), so what is
    shown is what would happen, data migrations included. A statement is
    shown when SQLite says it writes (see app_db.guard), whatever keyword it
    begins with; reads and app_db's own bookkeeping are left out.
    """
    import peewee

    # No statement cache: every statement is prepared, so the guard is asked
    # about each one, just before the trace callback sees it run.
    memory = peewee.SqliteDatabase(":memory:", pragmas=[("foreign_keys", 1)], cached_statements=0)
    memory.connect()
    if on_connect is not None:
        call_on_connect(on_connect, memory, path)
    guard = StatementGuard()
    steps_run: list[tuple[Migration, list[str]]] = []

    def trace(statement: str) -> None:
        if guard.shows(statement) and steps_run:
            steps_run[-1][1].append(statement)

    def start_step(index: int, total: int, migration: Migration) -> None:
        steps_run.append((migration, []))

    try:
        if path is not None and path.exists():
            source = connect_read_only(path)
            try:
                source.backup(memory.connection())
            finally:
                source.close()
        memory.connection().set_trace_callback(trace)
        session = Session(memory, None, direction, to=to, count=count, on_progress=start_step, guard=guard)
        run_steps(session, known)
    finally:
        memory.close()
    return steps_run
