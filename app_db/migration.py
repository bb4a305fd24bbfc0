"""The Migration base class, and the schema operations handed to up() and down().

Schema mirrors the Sequelize QueryInterface the seed app used, one method per
operation, each run at once on Peewee's ``playhouse.migrate`` (which owns the
SQL generation and SQLite's table rebuilds). app_db adds only what a rebuild
would otherwise lose: the table's triggers and its AUTOINCREMENT sequence.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

TYPE_CHECKING = False  # typing costs a launch milliseconds; annotations are strings here
if TYPE_CHECKING:
    from typing import Any, ClassVar, Iterator, Mapping, Optional, Sequence

    import peewee

__all__ = ["ID_PATTERN", "STUB_MARKER", "Migration", "Schema", "check_migration_id"]

logger = logging.getLogger("app_db")

STUB_MARKER = "write this migration"  # in the NotImplementedError of the stubs `app-db new` writes

ID_PATTERN = r"(\d{8})_(\d{6})_([A-Za-z0-9_]+)"


class Migration:
    """One step of the schema's history; subclass it once per migration file.

    ``id`` (``YYYYMMDD_HHMMSS_description``) decides the order and is what the
    database records; never change it once shipped. ``up(schema)`` makes the
    change, ``down(schema)`` undoes it. Both run inside the launch's single
    transaction: do not commit, and do not call ``executescript()``.
    """

    id: ClassVar[str]
    name: ClassVar[str] = ""
    #: Where this migration came from (set when it is loaded from a file).
    file: Optional[str] = None

    if TYPE_CHECKING:
        # Declared for the type checker only, so that a subclass's up()/down() are checked against these; at
        # run time the class has neither, so a migration without down() stays irreversible (see reversible)
        # and one without up() is refused when its file is read.
        def up(self, schema: Schema) -> None: ...

        def down(self, schema: Schema) -> None: ...

    def __repr__(self) -> str:
        return f"<Migration {getattr(self, 'id', '?')}>"

    @property
    def label(self) -> str:
        """The id and, when known, the file: how messages name this migration."""
        return f"{self.id} ({self.file})" if self.file else self.id

    @property
    def reversible(self) -> bool:
        return callable(getattr(self, "down", None))


def check_migration_id(value: Any, where: str) -> str:
    """``value`` if it is a well-formed id with a real date and time, else a MigrationDefinitionError."""
    from .errors import MigrationDefinitionError

    example = "20240602_130000_add_user_preferences"
    if not isinstance(value, str):
        raise MigrationDefinitionError(
            f"{where}: id must be a string like {example!r}, not {type(value).__name__} {value!r}. "
            "Nothing was changed.",
            file=where,
        )
    match = re.fullmatch(ID_PATTERN, value)
    if match is None:
        raise MigrationDefinitionError(
            f"{where}: id {value!r} does not match YYYYMMDD_HHMMSS_description "
            f"(letters, digits and underscores), e.g. {example!r}. Nothing was changed.",
            file=where,
        )
    import datetime

    try:
        datetime.datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        raise MigrationDefinitionError(
            f"{where}: id {value!r} does not start with a real date and time (YYYYMMDD_HHMMSS); "
            "use the time the migration was written, in UTC. Nothing was changed.",
            file=where,
        ) from None
    return value


class Schema:
    """The operations a migration's up() and down() may use; each runs immediately.

    ``schema.db`` is the peewee database, for data migrations
    (``schema.db.execute_sql(...)``) inside the same transaction.
    """

    def __init__(self, db: "peewee.SqliteDatabase") -> None:
        from playhouse.migrate import SqliteMigrator

        self.db = db
        self._migrator = SqliteMigrator(db)

    # Tables -----------------------------------------------------------------
    def create_table(self, table: str, columns: Mapping[str, "peewee.Field"]) -> None:
        """Create ``table`` with ``columns`` (name -> peewee field) and the indexes they ask for.

        As in peewee, a table given no primary key gets an ``id`` AutoField.
        A table that already exists with exactly these columns (register_models
        created it from a model before this migration was written) is kept,
        with the indexes added; any other existing table is an error.
        """
        model = self._model(table, columns)
        existing = {column.name for column in self.db.get_columns(table)}
        if not existing:
            model.create_table(safe=False)
            return
        wanted = {model_field.column_name for model_field in model._meta.sorted_fields}
        if existing != wanted:
            raise ValueError(
                f"Table {table!r} already exists with columns {sorted(existing)}, not {sorted(wanted)}. "
                "Rename or alter it in this migration instead of creating it."
            )
        logger.info("Table %s already exists with these columns (created from a model); kept", table)
        model._schema.create_indexes(safe=True)

    def drop_table(self, table: str) -> None:
        self._run(self._migrator.drop_table(table))

    def rename_table(self, old_name: str, new_name: str) -> None:
        self._run(self._migrator.rename_table(old_name, new_name))

    # Columns ----------------------------------------------------------------
    def add_column(self, table: str, column: str, field: "peewee.Field") -> None:
        """Add ``column``; a NOT NULL column needs a default, which fills the existing rows."""
        import peewee

        field = field.clone() if hasattr(field, "clone") else field
        if not field.null and field.default is not None and not callable(field.default):
            # SQLite adds "NOT NULL DEFAULT x" in place; peewee's generic path
            # would rebuild the whole table to set NOT NULL afterwards.
            literal = sql_literal(field.db_value(field.default))
            field.constraints = list(field.constraints or []) + [peewee.SQL(f"DEFAULT {literal}")]
            self._run(self._migrator.add_column(table, column, field, allow_not_null=True))
        else:
            self._run(self._migrator.add_column(table, column, field))

    def drop_column(self, table: str, column: str) -> None:
        self._run(self._migrator.drop_column(table, column))

    def rename_column(self, table: str, old_name: str, new_name: str) -> None:
        self._run(self._migrator.rename_column(table, old_name, new_name))

    def add_not_null(self, table: str, column: str) -> None:
        """Make ``column`` NOT NULL (a table rebuild on SQLite < 3.53); rows holding NULL there are refused."""
        nulls = self.db.execute_sql(
            f"SELECT count(*) FROM {quote(table)} WHERE {quote(column)} IS NULL"
        ).fetchone()[0]
        if nulls:
            raise ValueError(
                f"Cannot make {table}.{column} NOT NULL: {nulls} row(s) hold NULL there. "
                f"Fill them first in the same migration, e.g. "
                f"schema.sql(\"UPDATE {table} SET {column} = '' WHERE {column} IS NULL\")."
            )
        with self._rebuilding(table):
            self._run(self._migrator.add_not_null(table, column))

    def drop_not_null(self, table: str, column: str) -> None:
        with self._rebuilding(table):
            self._run(self._migrator.drop_not_null(table, column))

    def alter_column_type(self, table: str, column: str, field: "peewee.Field") -> None:
        """Give ``column`` the type (and nullability) of ``field``; a table rebuild."""
        with self._rebuilding(table):
            self._run(self._migrator.alter_column_type(table, column, field))

    def foreign_key(self, table: str, column: str = "id", **field_options: Any) -> "peewee.ForeignKeyField":
        """A ForeignKeyField to ``table.column`` for create_table or add_column.

        Migrations must not import the app's models (they change; history does
        not), so this points at the table by name. ``column`` is an integer key.
        """
        import peewee

        key = peewee.AutoField() if column == "id" else peewee.IntegerField(primary_key=True)
        target = self._model(table, {column: key})
        # The Field itself, not its name: add_column() uses the key unbound,
        # before any model resolves a name to a field.
        return peewee.ForeignKeyField(target, field=target._meta.fields[column], **field_options)

    # Indexes and raw SQL ------------------------------------------------------
    def add_index(self, table: str, columns: Sequence[str], unique: bool = False, name: Optional[str] = None) -> None:
        self._run(self._migrator.add_index(table, tuple(columns), unique=unique, name=name))

    def drop_index(self, table: str, name: str) -> None:
        self._run(self._migrator.drop_index(table, name))

    def sql(self, statement: str, params: Optional[Sequence[Any]] = None) -> Any:
        """Run one SQL statement (several in one string are refused by SQLite); returns the cursor."""
        return self.db.execute_sql(statement, params)

    # Internals ----------------------------------------------------------------
    def _run(self, operation: Any) -> None:
        operation.run()

    def _model(self, table: str, columns: Mapping[str, "peewee.Field"]) -> type:
        import peewee

        meta = type("Meta", (), {"database": self.db, "table_name": table})
        attrs: dict = {"Meta": meta, "__module__": __name__}
        for column, field in columns.items():
            attrs[column] = field.clone() if hasattr(field, "clone") else field
        return type(table, (peewee.Model,), attrs)  # peewee names indexes after the class

    @contextmanager
    def _rebuilding(self, table: str) -> Iterator[None]:
        """Keep what SQLite drops with a table while peewee rebuilds it.

        DROP TABLE takes the table's triggers with it and resets its
        AUTOINCREMENT counter (ids of deleted rows would come back). And with
        legacy_alter_table off, renaming the rebuilt table into place fails
        when a view reads the table, because the view is checked while the
        name is missing; legacy mode renames without rewriting views.
        """
        triggers = self.db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        ).fetchall()
        sequence = self._sequence(table)
        self.db.execute_sql("PRAGMA legacy_alter_table = ON")
        try:
            yield
        finally:
            self.db.execute_sql("PRAGMA legacy_alter_table = OFF")
        existing = {row[0] for row in self.db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        for name, sql in triggers:
            if name not in existing:
                self.db.execute_sql(sql)
        if sequence is not None and (self._sequence(table) or 0) < sequence:
            self.db.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
            self.db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, sequence))

    def _sequence(self, table: str) -> Optional[int]:
        has_sequences = self.db.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        ).fetchone()
        if not has_sequences:
            return None
        row = self.db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        return row[0] if row else None


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """``value`` written as an SQL literal, for DEFAULT clauses (which cannot take parameters)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"
