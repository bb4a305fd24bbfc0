"""Drift: the models against a schema, so a missing migration is caught in development, not by a user.

Every drift message is worded here, saying which side is behind ("the
models lack note.archived, which the migrations add"): the development
launch's check (check_models, cheap: column names only) and app-db check's
comparisons of the models with what the migrations build and with a real
file (compare_models, through model_diff). The fix is told once, after the
differences, not on each one.
"""

from __future__ import annotations

from .errors import SchemaDriftError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import peewee

    from .model_diff import Change

__all__ = ["DRIFT_HINT", "Side", "check_models", "compare_models", "describe_change", "file_side", "find_drift"]

DRIFT_HINT = (
    'Write the missing migration with `app-db makemigration "describe the change"` (or bring the models in line '
    "with the migrations), then check again."
)


class Side:
    """The schema the models are compared with, as a sentence names it."""

    __slots__ = ("have", "lack", "noun")

    def __init__(self, noun: str, lack: str, have: str) -> None:
        self.noun = noun  # "the migrations"
        self.lack = lack  # "lack" / "lacks"
        self.have = have  # "add" / "has": what this side does with a column the models lack


MIGRATIONS = Side("the migrations", "lack", "add")


def file_side(path: Path | str | None) -> Side:
    """A database file as the other side: "the database /home/ada/app.sqlite3"."""
    return Side(f"the database {path or '(in memory)'}", "lacks", "has")


def describe_change(change: Change, side: Side) -> str:
    """One difference, naming the side that is behind."""
    if change.side == "models":  # the models have it, the schema does not
        return f"{side.noun} {side.lack} {change.subject}, which the models have"
    if change.side == "schema":
        return f"the models lack {change.subject}, which {side.noun} {side.have}"
    return f"to match the models, {side.noun} would have to {change.description}"


def find_drift(db: peewee.SqliteDatabase, models: Sequence[type]) -> list[Change]:
    """What separates the schema in ``db`` from ``models``: tables, columns, types, NOT NULL, keys, indexes.

    Only reads ``db``. Types are compared as SQLite stores them: a column
    declared INT (as hand-written DDL often has it) matches an IntegerField
    (INTEGER), NUMERIC a DecimalField. An ambiguous pair (a column gone, a
    similar one new) is what it is, a drop and an add, not guessed a rename.
    """
    from .model_diff import diff_models

    return [change for change in diff_models(db, models, ask=lambda question: False) if not change.stored_alike]


def compare_models(db: peewee.SqliteDatabase, models: Sequence[type], side: Side) -> list[str]:
    """Each difference find_drift finds, worded by describe_change."""
    return [describe_change(change, side) for change in find_drift(db, models)]


def check_models(db: peewee.SqliteDatabase, models: Sequence[type], path: Path | None) -> None:
    """SchemaDriftError when a model has a column its (existing) table lacks."""
    missing: list[tuple[str, str]] = []
    for model in models:
        table = model._meta.table_name  # type: ignore[attr-defined]
        columns = {column.name for column in db.get_columns(table)}
        if not columns:
            continue
        missing.extend(
            (table, model_field.column_name)
            for model_field in model._meta.sorted_fields  # type: ignore[attr-defined]
            if model_field.column_name not in columns
        )
    if missing:
        side = file_side(path)
        listed = ", ".join(f"{table}.{column}" for table, column in missing)
        raise SchemaDriftError(
            f"{capitalized(side.noun)} {side.lack} {listed}, which the models have: a migration is missing. "
            + DRIFT_HINT,
            missing=missing,
            path=path,
        )


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
