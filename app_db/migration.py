"""The Migration base class, and the schema operations handed to up() and down().

Schema mirrors the Sequelize QueryInterface the seed app used, one method per
operation, each run at once. Most are Peewee's ``playhouse.migrate`` (SQL
generation, native ALTER TABLE). The column changes SQLite cannot make with
ALTER TABLE (NOT NULL, a type) edit the table's own CREATE TABLE with
app_db.ddl and then follow SQLite's documented procedures: in place when
the stored rows stay valid, the 12-step copy otherwise.
"""

from __future__ import annotations

import logging
import re

from .errors import SchemaOperationError

TYPE_CHECKING = False  # typing costs a launch milliseconds; annotations are strings here
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any, ClassVar

    import peewee

    from .ddl import ColumnDefinition, TableDefinition

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
    file: str | None = None
    #: sha256 checksums of earlier texts of this file that did exactly what this one does (a rewrite
    #: that changes no row): files that recorded one of them are not told the migration changed.
    replaces_checksums: ClassVar[tuple[str, ...]] = ()
    #: True declares that an app version which does not know this migration can still use the file
    #: (a new table, a nullable column, an index): it is recorded, and such an app then opens the file.
    backward_compatible: ClassVar[bool] = False
    #: A baseline (``app-db squash``) lists the ids of the migrations whose combined schema it builds: a fresh
    #: install runs it instead of them, and a file that has them all records it without running it.
    replaces: ClassVar[list[str]] = []

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

    day, time = match.group(1), match.group(2)
    try:  # the constructor, not strptime: a fresh install checks every shipped id, and strptime is pure Python
        datetime.datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(time[:2]), int(time[2:4]), int(time[4:]))
    except ValueError:
        raise MigrationDefinitionError(
            f"{where}: id {value!r} does not start with a real date and time (YYYYMMDD_HHMMSS); "
            "use the time the migration was written, in UTC. Nothing was changed.",
            file=where,
        ) from None
    return value


class Schema:
    """The operations a migration's up() and down() may use; each runs immediately.

    ``schema.db`` is the peewee database, inside the same transaction; data
    migrations read and write rows through ``schema.model(table)`` and the
    bulk operations.
    """

    def __init__(
        self, db: peewee.SqliteDatabase, on_row_progress: Callable[[Migration, int, int], None] | None = None
    ) -> None:
        from playhouse.migrate import SqliteMigrator

        from .historical import HistoricalModels, RowProgress

        self.db = db
        self._migrator = SqliteMigrator(db)
        self._historical = HistoricalModels(db)
        self.row_progress = RowProgress(on_row_progress)  # the runner tells it which migration runs

    # Tables -----------------------------------------------------------------
    def create_table(self, table: str, columns: Mapping[str, peewee.Field]) -> None:
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
                "If the database was made before this migration existed, adopt it with `app-db stamp ID` (it records "
                "the migrations it already has without running them); otherwise rename or alter the table in this "
                "migration instead of creating it"
            )
        logger.info("Table %s already exists with these columns (created from a model); kept", table)
        model._schema.create_indexes(safe=True)  # type: ignore[attr-defined]  # peewee-stubs lack Model._schema

    def drop_table(self, table: str) -> None:
        self._run(self._migrator.drop_table(table))

    def rename_table(self, old_name: str, new_name: str) -> None:
        self._run(self._migrator.rename_table(old_name, new_name))

    # Columns ----------------------------------------------------------------
    def add_column(self, table: str, column: str, field: peewee.Field) -> None:
        """Add ``column``; a NOT NULL column needs a default, which fills the existing rows."""
        import peewee

        field = field.clone() if hasattr(field, "clone") else field
        if not field.null and field.default is not None and not callable(field.default):
            # SQLite adds "NOT NULL DEFAULT x" in place; peewee's generic path
            # would rebuild the whole table to set NOT NULL afterwards.
            literal = sql_literal(field.db_value(field.default))
            field.constraints = [*(field.constraints or []), peewee.SQL(f"DEFAULT {literal}")]
            self._run(self._migrator.add_column(table, column, field, allow_not_null=True))
        else:
            self._run(self._migrator.add_column(table, column, field))

    #: SQLite 3.35 added ALTER TABLE DROP COLUMN; before it, drop_column rebuilds the table.
    #: None: decide from the SQLite in use (a test may force either path).
    native_drop_column: bool | None = None

    def drop_column(self, table: str, column: str) -> None:
        """Drop ``column``: ALTER TABLE DROP COLUMN, or on older SQLite the 12-step copy without it.

        Either way a column that something else uses (a key, an index, a
        constraint, another column, a trigger or a view) is refused; the
        rebuild judges that conservatively, by any mention of the name.
        """
        native = self.native_drop_column
        if native if native is not None else self.db.server_version >= (3, 35, 0):
            self._run(self._migrator.drop_column(table, column))
            return
        from .ddl import DdlError, mentions

        definition, found = self._column_definition("drop_column", table, column)
        try:
            sql = definition.splice(definition.dropping(found))
        except DdlError as exc:
            raise SchemaOperationError(f"drop_column({table!r}, {column!r}): {exc}; drop the table instead") from None
        users = (
            [f"table {definition.name}'s own definition"]
            if mentions(definition.sql[: found.name_token.start] + definition.sql[found.end :], found.name)
            else []
        )
        users += [
            f"{kind} {name}"
            for kind, name, sql_text in self.db.execute_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND (type IN ('trigger', 'view') "
                "OR (type = 'index' AND tbl_name = ? COLLATE NOCASE))",
                (definition.name,),
            )
            if mentions(sql_text, found.name)
        ]
        if users:
            raise SchemaOperationError(
                f"drop_column({table!r}, {column!r}): {', '.join(users)} use(s) column {definition.name}.{found.name}; "
                "drop or change those first in the same migration (SQLite before 3.35 cannot drop a column itself, "
                "so app_db rebuilds the table)"
            )
        self._copy_rows(definition, sql)

    def rename_column(self, table: str, old_name: str, new_name: str) -> None:
        """Rename a column (SQLite's ALTER TABLE ... RENAME COLUMN); the same name in any case is refused as a no-op."""
        definition, found = self._column_definition("rename_column", table, old_name)
        if found.name == new_name:
            raise self._no_change(
                f"rename_column({table!r}, {old_name!r}, {new_name!r})",
                definition,
                found,
                f"is already called {new_name!r}",
            )
        self._run(self._migrator.rename_column(definition.name, found.name, new_name))

    def add_not_null(self, table: str, column: str) -> None:
        """Make ``column`` NOT NULL, in place (no row is copied); rows holding NULL there are refused, counted."""
        definition, found = self._column_definition("add_not_null", table, column)
        if found.not_null:
            raise self._no_change("add_not_null", definition, found, "is already NOT NULL")
        implied = self._implied_not_null(definition, found)
        if implied:
            raise self._no_change("add_not_null", definition, found, implied)
        self._refuse_nulls(definition, found)
        self._rewrite_in_place(definition, definition.splice(definition.appending(found, "NOT NULL")))

    def drop_not_null(self, table: str, column: str) -> None:
        """Let ``column`` hold NULL, in place (no row is copied); every other part of its definition stays."""
        definition, found = self._column_definition("drop_not_null", table, column)
        if not found.not_null:
            raise self._no_change("drop_not_null", definition, found, "has no NOT NULL constraint to drop")
        implied = self._implied_not_null(definition, found)
        if implied:
            raise self._no_change("drop_not_null", definition, found, implied)
        self._rewrite_in_place(definition, definition.splice(definition.removing(found.find("not null"))))

    def add_column_default(self, table: str, column: str, default: Any) -> None:
        """Give ``column`` a DEFAULT for rows inserted from now on (or replace its DEFAULT), in place.

        ``default`` is a value (written as an SQL literal) or ``peewee.SQL``
        for an expression, e.g. ``peewee.SQL("CURRENT_TIMESTAMP")``. Stored
        rows are not touched: a DEFAULT only fills inserts that omit the column.
        """
        import peewee

        definition, found = self._column_definition("add_column_default", table, column)
        if isinstance(default, peewee.SQL):
            text = default.sql if default.sql.lstrip().startswith("(") else f"({default.sql})"
        elif default is None or callable(default):
            raise SchemaOperationError(
                f"add_column_default({table!r}, {column!r}, {default!r}): the default must be a value or peewee.SQL "
                "(a Python callable runs in the app, not in SQLite); use drop_column_default to remove one"
            )
        else:
            text = sql_literal(default)
        current = [" ".join(definition.sql[each.start : each.end].split()[1:]) for each in found.find("default")]
        if current == [text]:
            raise self._no_change(
                f"add_column_default({table!r}, {column!r}, {default!r})",
                definition,
                found,
                f"already has DEFAULT {text}",
            )
        self._rewrite_in_place(definition, definition.splice(definition.replacing(found, "default", f"DEFAULT {text}")))

    def drop_column_default(self, table: str, column: str) -> None:
        """Remove ``column``'s DEFAULT, in place; inserts that omit the column then store NULL (or fail NOT NULL)."""
        definition, found = self._column_definition("drop_column_default", table, column)
        if not found.find("default"):
            raise self._no_change("drop_column_default", definition, found, "has no DEFAULT to drop")
        self._rewrite_in_place(definition, definition.splice(definition.removing(found.find("default"))))

    def alter_column_type(self, table: str, column: str, field: peewee.Field) -> None:
        """Give ``column`` the type of ``field``; a table rebuild that copies every row with its rowid.

        Only the type changes, plus what a peewee field always states: its
        nullability (``null=True`` drops NOT NULL, ``null=False`` adds it).
        A ``collation`` on the field replaces the column's COLLATE; everything
        else of the definition (DEFAULT, CHECK, REFERENCES, PRIMARY KEY,
        UNIQUE, comments) stays as written. A field's ``default`` is peewee's,
        applied by Python on insert, so it does not touch the column's DEFAULT.
        """
        import peewee

        definition, found = self._column_definition("alter_column_type", table, column)
        call = f"alter_column_type({table!r}, {column!r}, {type(field).__name__}(...))"
        if (
            isinstance(field, peewee.ForeignKeyField)
            or field.primary_key
            or field.unique
            or field.index
            or field.constraints
        ):
            raise SchemaOperationError(
                f"{call}: alter_column_type changes a column's type (and NULL, COLLATE); it cannot add "
                "a foreign key, primary key, UNIQUE, index or constraints; pass a plain field, "
                "and use add_index(..., unique=True) for uniqueness"
            )
        context = self.db.get_sql_context()
        type_text = context.sql(field.ddl_datatype(context)).query()[0]
        edits = []
        if "".join(found.type.split()).upper() != "".join(type_text.split()).upper():
            edits += definition.replacing_type(found, type_text)
        if field.null and found.not_null:
            edits += definition.removing(found.find("not null"))
        elif not field.null and not found.not_null:
            self._refuse_nulls(definition, found)
            edits += definition.appending(found, "NOT NULL")
        if field.collation:
            edits += definition.replacing(found, "collate", f"COLLATE {field.collation}")
        sql = definition.splice(edits)
        if " ".join(sql.split()).upper() == " ".join(definition.sql.split()).upper():
            raise self._no_change(call, definition, found, f"already has type {type_text} and this nullability")
        self._copy_rows(definition, sql)

    def foreign_key(self, table: str, column: str = "id", **field_options: Any) -> peewee.ForeignKeyField:
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
    def add_index(self, table: str, columns: Sequence[str], unique: bool = False, name: str | None = None) -> None:
        self._run(self._migrator.add_index(table, tuple(columns), unique=unique, name=name))

    def drop_index(self, table: str, name: str) -> None:
        self._run(self._migrator.drop_index(table, name))

    def sql(self, statement: str, params: Sequence[Any] | None = None) -> Any:
        """Run one SQL statement (several in one string are refused by SQLite); returns the cursor."""
        return self.db.execute_sql(statement, params)

    # Data: historical models, bulk operations, progress -------------------------
    def model(self, table: str) -> type[peewee.Model]:
        """A peewee Model for ``table`` as it stands now, at this point of the history; never the app's live model.

        Reflected from the database inside the batch's transaction, with the
        real column names (as the fields' names too) and types. Taken again
        after a schema change, even in the same migration, it is rebuilt:
        a column added a line before is there. The name is found as SQLite
        finds it, case-insensitively.
        """
        return self._historical.models([table])[0]

    def models(self, *tables: str) -> list[type[peewee.Model]]:
        """The models of ``tables``, in that order, reflected together so that foreign keys between them join.

        ``Note, Tag, NoteTag = schema.models("note", "tag", "note_tag")``.
        """
        return self._historical.models(tables)

    def bulk_insert(self, table: str, rows: Iterable[Any], fields: Sequence[str] | None = None) -> int:
        """Insert ``rows``, dicts of column -> value, into ``table``; returns the number of rows inserted.

        A column a row leaves out gets the column's DEFAULT (or NULL); rows
        may differ in which columns they give. With ``fields`` (column names,
        as peewee's ``insert_many`` takes them), each row is a tuple of values
        in that order: the form for big tables, as fast as ``executemany`` of
        tuples. Like every operation it runs in the batch's transaction: if
        the migration fails, none of it stays.
        """
        from .historical import insert_rows

        return insert_rows(self.model(table), rows, f"bulk_insert({table!r}, ...)", fields)

    def bulk_update(self, table: str, values: Mapping[str, Any], where: Any) -> int:
        """Set ``values`` (column -> value or expression) on the rows of ``table`` matching ``where``; returns how many.

        ``where`` is a dict of column -> value that all must match (None
        matches NULL; ``{}`` matches every row), or a peewee expression on
        ``schema.model(table)``.
        """
        from collections.abc import Mapping as AnyMapping

        from .historical import field_for, where_clause

        operation = f"bulk_update({table!r}, ...)"
        model = self.model(table)
        if not isinstance(values, AnyMapping) or not values:
            raise SchemaOperationError(
                f"{operation}: values must be a non-empty dict of column -> value, not {values!r}"
            )
        query = model.update({field_for(model, column, operation): value for column, value in values.items()})
        condition = where_clause(model, where, operation)
        return int((query.where(condition) if condition is not None else query).execute())

    def bulk_delete(self, table: str, where: Any) -> int:
        """Delete the rows of ``table`` matching ``where`` (as bulk_update; ``{}``: every row); returns how many."""
        from .historical import where_clause

        model = self.model(table)
        query = model.delete()
        condition = where_clause(model, where, f"bulk_delete({table!r}, ...)")
        return int((query.where(condition) if condition is not None else query).execute())

    def progress(self, done: int, total: int) -> None:
        """Tell the app how far this data migration is (``done`` of ``total`` rows); call it as often as you like.

        The app's ``Database(on_row_progress=...)`` gets it as
        ``callback(migration, done, total)``, at most about ten times a
        second (the first call and the one reaching ``total`` always). A dry
        run has no callback, so there it costs nothing.
        """
        self.row_progress.report(done, total)

    # Internals ----------------------------------------------------------------
    def _run(self, operation: Any) -> None:
        operation.run()

    def _model(self, table: str, columns: Mapping[str, peewee.Field]) -> type[peewee.Model]:
        import peewee

        meta = type("Meta", (), {"database": self.db, "table_name": table})
        attrs: dict[str, object] = {"Meta": meta, "__module__": __name__}
        for column, field in columns.items():
            attrs[column] = field.clone() if hasattr(field, "clone") else field
        return type(table, (peewee.Model,), attrs)  # peewee names indexes after the class

    # Rebuilds ---------------------------------------------------------------------
    # Why not peewee's SqliteMigrator for these: below SQLite 3.53 it splits
    # the stored column list with regular expressions and regenerates the
    # altered column from the field, so it loses DEFAULT, COLLATE,
    # REFERENCES, CHECK and WITHOUT ROWID, cannot read table constraints,
    # comments or quoted names, and copies rows without their rowid. Here
    # the table's own statement is edited token by token (app_db.ddl) and
    # SQLite's documented procedures run on it.
    def _column_definition(self, operation: str, table: str, column: str) -> tuple[TableDefinition, ColumnDefinition]:
        """The parsed statement of ``table`` and the definition of ``column``, both found case-insensitively."""
        from .ddl import DdlError, read_create_table

        row = self.db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE", (table,)
        ).fetchone()
        if row is None:
            raise SchemaOperationError(f"{operation}({table!r}, {column!r}): there is no table {table!r}")
        name, sql = row
        try:
            definition = read_create_table(sql)
        except DdlError as exc:
            kind = (
                "virtual table (FTS, R*Tree...), whose columns SQLite cannot alter"
                if sql.lstrip()[:14].upper().startswith("CREATE VIRTUAL")
                else "table"
            )
            raise SchemaOperationError(
                f"{operation}({table!r}, {column!r}): cannot read the CREATE TABLE statement of {kind} {name!r}: "
                f"{exc}; write this change as schema.sql(...) statements instead "
                "(SQLite's ALTER TABLE page lists the steps), and please report the statement to app_db"
            ) from None
        definition.name = name  # as sqlite_master spells it, which is what SQLite looks triggers and sequences up by
        found = definition.column(column)
        if found is None:
            columns = ", ".join(each.name for each in definition.columns)
            raise SchemaOperationError(
                f"{operation}({table!r}, {column!r}): table {name!r} has no column {column!r} (its columns: {columns})"
            )
        return definition, found

    def _no_change(self, operation: str, definition: TableDefinition, found: ColumnDefinition, why: str) -> Exception:
        if not operation.endswith(")"):
            operation = f"{operation}({definition.name!r}, {found.name!r})"
        return SchemaOperationError(
            f"{operation} would change nothing: column {definition.name}.{found.name} {why}; "
            "remove the call, or check the table and column names"
        )

    def _implied_not_null(self, definition: TableDefinition, found: ColumnDefinition) -> str:
        """Why SQLite never lets ``found`` hold NULL whatever its NOT NULL says, or ""."""
        keys = [row[1] for row in self.db.execute_sql(f"PRAGMA table_info({quote(definition.name)})") if row[5]]
        if found.name not in keys:
            return ""
        if definition.without_rowid:
            return "is part of the PRIMARY KEY of a WITHOUT ROWID table, which SQLite keeps NOT NULL itself"
        declared = found.type.upper()
        descending = any(
            token.keyword == "DESC" for constraint in found.find("primary key") for token in constraint.tokens
        )
        if len(keys) == 1 and declared == "INTEGER" and not descending:
            return "is the table's rowid (INTEGER PRIMARY KEY), which is never NULL"
        return ""

    def _refuse_nulls(self, definition: TableDefinition, found: ColumnDefinition) -> None:
        table, column = definition.name, found.name
        nulls = self.db.execute_sql(f"SELECT count(*) FROM {quote(table)} WHERE {quote(column)} IS NULL").fetchone()[0]
        if nulls:
            raise SchemaOperationError(
                f"Cannot make {table}.{column} NOT NULL: {nulls} row(s) hold NULL there. "
                f"Fill them first in the same migration, e.g. "
                f"schema.sql('UPDATE {sql_name(table)} SET {sql_name(column)} = ... WHERE {sql_name(column)} IS NULL')"
            )

    def _rewrite_in_place(self, definition: TableDefinition, sql: str) -> None:
        """Store ``sql`` as the table's statement without touching a row.

        SQLite's ALTER TABLE page, "making other kinds of table schema
        changes": for a change that leaves every stored row valid (a
        constraint dropped, or NOT NULL added once no NULL remains), write
        sqlite_schema under writable_schema and bump schema_version so every
        connection re-reads it. It runs in the launch's transaction, so a
        rollback undoes it. The page ends with PRAGMA integrity_check, which
        reads every row: the cost this path exists to avoid; and the only
        rule it could find broken, NOT NULL, was counted before. So the check is the one that matters for a
        text edit: SQLite re-reads the statement and reports exactly the
        columns and nullability the edited text declares.
        """
        from .ddl import read_create_table

        version = self.db.execute_sql("PRAGMA schema_version").fetchone()[0]
        self.db.execute_sql("PRAGMA writable_schema = ON")
        try:
            self.db.execute_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, definition.name)
            )
            self.db.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
        finally:
            self.db.execute_sql("PRAGMA writable_schema = OFF")
        declared = read_create_table(sql)
        expected = [(column.name, column.not_null) for column in declared.columns]
        try:  # the first statement after the bump re-reads the schema, the new text included
            info = self.db.execute_sql(f"PRAGMA table_xinfo({quote(definition.name)})").fetchall()
        except Exception as exc:
            # SQLite calls a statement it refuses to read "malformed database schema"; the file is
            # fine: the runner rolls the rewrite back with the rest of the batch.
            reason = str(exc).split(" - ", 1)[-1]
            raise SchemaOperationError(
                f"SQLite refuses the new definition of table {definition.name!r}: {reason}. The change "
                "cannot be made as written"
            ) from None
        reported = [(row[1], bool(row[3])) for row in info]
        if declared.without_rowid:  # SQLite makes the key's columns NOT NULL itself
            keys = {row[1] for row in info if row[5]}
            expected = [(name, not_null or name in keys) for name, not_null in expected]
        if reported != expected:
            raise SchemaOperationError(
                f"After rewriting the statement of table {definition.name!r}, SQLite reports its columns as "
                f"{reported}, not {expected}. Please report this "
                "statement to app_db"
            )

    def _copy_rows(self, definition: TableDefinition, sql: str) -> None:
        """Rebuild the table as ``sql`` by SQLite's 12 steps, keeping rowids, indexes, triggers and the sequence.

        New table, copy (rowid included, generated columns left to SQLite),
        drop, rename, then restore what DROP TABLE takes with it: indexes,
        triggers, the AUTOINCREMENT counter. Foreign keys are off (the
        runner), so nothing cascades. legacy_alter_table keeps the rename
        from re-checking views that read the table, and afterwards the
        app's own text of the statement is stored again (a rename rewrites
        the name's spelling).
        """
        from .ddl import read_create_table

        name = definition.name
        attached = self.db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? COLLATE NOCASE "
            "AND sql IS NOT NULL ORDER BY type = 'trigger', rowid",
            (name,),
        ).fetchall()
        sequence = self._sequence(name)
        kept = {column.name.lower() for column in read_create_table(sql).columns}  # all but a dropped one
        columns = [
            row[1]
            for row in self.db.execute_sql(f"PRAGMA table_xinfo({quote(name)})")
            if row[6] == 0 and row[1].lower() in kept
        ]
        if not definition.without_rowid:
            taken = {column.lower() for column in columns}
            rowid = next((alias for alias in ("rowid", "_rowid_", "oid") if alias not in taken), None)
            if rowid is None:
                raise SchemaOperationError(
                    f"Cannot rebuild table {name!r}: its columns named rowid, _rowid_ and oid hide the rowid, which "
                    "the copy must keep"
                )
            columns = [rowid, *columns]
        listed = ", ".join(quote(column) if column not in ("rowid", "_rowid_", "oid") else column for column in columns)
        temporary = f"{name}__app_db_rebuild"
        self.db.execute_sql("PRAGMA legacy_alter_table = ON")
        try:
            self.db.execute_sql(definition.renamed(temporary, sql))
            self.db.execute_sql(f"INSERT INTO {quote(temporary)} ({listed}) SELECT {listed} FROM {quote(name)}")
            self.db.execute_sql(f"DROP TABLE {quote(name)}")
            self.db.execute_sql(f"ALTER TABLE {quote(temporary)} RENAME TO {quote(name)}")
        finally:
            self.db.execute_sql("PRAGMA legacy_alter_table = OFF")
        self._rewrite_in_place(definition, sql)
        for (statement,) in attached:
            self.db.execute_sql(statement)
        if self._sequence(name) != sequence:  # the copy set it to the highest id left, or created it
            self.db.execute_sql("DELETE FROM sqlite_sequence WHERE name = ? COLLATE NOCASE", (name,))
            if sequence is not None:
                self.db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, sequence))

    def _sequence(self, table: str) -> int | None:
        has_sequences = self.db.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
        ).fetchone()
        if not has_sequences:
            return None
        row = self.db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ? COLLATE NOCASE", (table,)).fetchone()
        return row[0] if row else None


def sql_name(identifier: str) -> str:
    """``identifier`` as it can stand in SQL: bare when it is a plain word, else double-quoted."""
    plain = identifier.isidentifier() and identifier.isascii()
    return identifier if plain else quote(identifier)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: Any) -> str:
    """``value`` written as an SQL literal, for DEFAULT clauses (which cannot take parameters)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value != value:
        raise SchemaOperationError("NaN cannot be a DEFAULT: SQLite stores it as NULL; use None or a number")
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "9e999" if value > 0 else "-9e999"  # SQLite's spelling of infinity (repr's 'inf' would be a name)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"
