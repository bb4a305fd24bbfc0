"""Drift: the models against the file's tables, so a missing migration is caught in development, not by a user."""

from __future__ import annotations

from .errors import SchemaDriftError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import peewee

__all__ = ["check_models"]


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
        listed = ", ".join(f"{table}.{column}" for table, column in missing)
        raise SchemaDriftError(
            f"The models have column(s) the database lacks: {listed}. A migration is missing: "
            "add one that creates them (`app-db new` or `app-db makemigration`).",
            missing=missing,
            path=path,
        )
