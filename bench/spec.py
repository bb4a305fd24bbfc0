"""The one migration history every tool's generated project contains.

Migration i creates table ``t{i}`` with the same three columns in every
tool, so that the tools differ only in how they decide and record what to run.
"""
from __future__ import annotations

import datetime

COLUMNS_SQL = "id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, value INTEGER"
"""The DDL each tool's migration produces, written out for the SQL-based tools."""

_FIRST_MIGRATION_AT = datetime.datetime(2024, 1, 1, 0, 0, 0)


def table_name(i: int) -> str:
    """Table created by migration ``i`` (1-based)."""
    return f"t{i}"


def class_name(i: int) -> str:
    """CamelCase name for migration ``i``'s class, e.g. ``CreateT7``."""
    return f"CreateT{i}"


def file_stem(i: int) -> str:
    """File name without ``.py``: three-digit prefix, as peewee-migrate requires."""
    return f"{i:03d}_create_{table_name(i)}"


def timestamp_id(i: int) -> str:
    """A real date/time id (``YYYYMMDD_HHMMSS_description``), one second apart."""
    moment = _FIRST_MIGRATION_AT + datetime.timedelta(seconds=i)
    return f"{moment:%Y%m%d_%H%M%S}_create_{table_name(i)}"


def create_sql(i: int) -> str:
    return f"CREATE TABLE {table_name(i)} ({COLUMNS_SQL})"


def drop_sql(i: int) -> str:
    return f"DROP TABLE {table_name(i)}"
