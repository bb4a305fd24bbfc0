"""Field source: peewee fields written as Python source, the way a person writes them in a migration.

A migration is frozen history, so a field is written as plain peewee
(``peewee.CharField(null=True)``, ``schema.foreign_key("note")``), never
as the app's own classes; what cannot be written so is returned as a note
for a ``# REVIEW:`` comment. Fields come from the models (what up() adds)
or from the database (what down() puts back).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .reflection import Column, model_foreign_key, sqlite_affinity

if TYPE_CHECKING:
    import peewee

__all__ = ["Writer", "field_class_for", "literal", "python_default"]


class Writer:
    """Python source for fields and operations, in the project's style; collects the imports it needs."""

    def __init__(self) -> None:
        self.imports: set[str] = set()

    def model_field(self, model_field: peewee.Field) -> tuple[str, list[str]]:
        """(source, notes) of a model's field as a migration writes it: plain peewee, no app classes."""
        import peewee

        notes: list[str] = []
        if isinstance(model_field, peewee.ForeignKeyField):
            key = model_foreign_key(model_field)
            assert key is not None
            args = [literal(key.table)] + ([literal(key.column)] if key.column != "id" else [])
            args += ["null=True"] if model_field.null else []
            args += ["unique=True"] if model_field.unique else []
            args += [f"on_delete={literal(model_field.on_delete)}"] if model_field.on_delete else []
            args += [f"on_update={literal(model_field.on_update)}"] if model_field.on_update else []
            return f"schema.foreign_key({', '.join(args)})", notes
        cls = next(klass for klass in type(model_field).__mro__ if klass.__module__ == "peewee")
        if cls is not type(model_field):
            notes.append(f"{type(model_field).__name__} is written as its peewee base {cls.__name__}")
        args = []
        if model_field.primary_key and not isinstance(model_field, peewee.AutoField):
            args.append("primary_key=True")
        if model_field.unique:
            args.append("unique=True")
        elif model_field.index:
            args.append("index=True")
        if model_field.null:
            args.append("null=True")
        if isinstance(model_field, peewee.CharField) and model_field.max_length != 255:
            args.append(f"max_length={model_field.max_length!r}")
        if isinstance(model_field, peewee.DecimalField):
            args += [f"max_digits={model_field.max_digits!r}"] if model_field.max_digits != 10 else []
            args += [f"decimal_places={model_field.decimal_places!r}"] if model_field.decimal_places != 5 else []
        if model_field.default is not None:
            default = self.default(model_field.default)
            if default is None:
                notes.append(f"default {model_field.default!r} must be written by hand")
            else:
                args.append(f"default={default}")
        for constraint in model_field.constraints or ():
            if isinstance(constraint, peewee.SQL):
                args.append(f"constraints=[peewee.SQL({literal(constraint.sql)})]")
        self.imports.add("import peewee")
        return f"peewee.{cls.__name__}({', '.join(args)})", notes

    def default(self, value: Any) -> str | None:
        import enum

        from playhouse.migrations import _handle_common_default

        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, (str, int, float, bool, bytes)):
            return literal(value)
        args: list[str] = []
        imports: set[str] = set()
        if _handle_common_default(value, args, imports):  # datetime.datetime.now and friends
            self.imports.update(imports)
            return args[0].split("=", 1)[1]
        return None

    def reflected_field(self, column: Column, *, in_create: bool, index: bool = True) -> str:
        """Source for a column as the database has it (to re-create what up() removes).

        ``in_create``: the field goes to create_table or alter_column_type,
        whose DDL does not carry a Python default, so a DEFAULT clause is
        written as a constraint; add_column writes it from ``default=``.
        """
        if column.foreign_key is not None:
            key = column.foreign_key
            args = [literal(key.table)] + ([literal(key.column)] if key.column != "id" else [])
            args += [] if column.not_null else ["null=True"]
            args += [] if index else ["index=False"]
            args += [f"on_delete={literal(key.on_delete)}"] if key.on_delete else []
            args += [f"on_update={literal(key.on_update)}"] if key.on_update else []
            return f"schema.foreign_key({', '.join(args)})"
        self.imports.add("import peewee")
        cls, args = field_class_for(column.type)
        if column.primary_key:
            if cls == "IntegerField":
                return "peewee.AutoField()"
            args.append("primary_key=True")
        if not column.not_null and not column.primary_key:
            args.append("null=True")
        if column.default is not None:
            value = python_default(column.default)
            if in_create or value is None or not column.not_null:
                args.append(f"constraints=[peewee.SQL({literal('DEFAULT ' + column.default)})]")
            else:
                args.append(f"default={literal(value)}")
        return f"peewee.{cls}({', '.join(args)})"


def field_class_for(declared: str) -> tuple[str, list[str]]:
    """The peewee field (and its arguments) that writes the declared type ``declared`` on SQLite."""
    match = re.match(r"^([A-Z ]+?)\s*(?:\((\d+)(?:, (\d+))?\))?$", declared)
    base = match.group(1) if match else declared
    if base == "VARCHAR":
        size = match.group(2) if match else None
        return "CharField", ([f"max_length={size}"] if size and size != "255" else [])
    if base == "DECIMAL":
        digits, places = (match.group(2), match.group(3)) if match else (None, None)
        args = [f"max_digits={digits}"] if digits and digits != "10" else []
        return "DecimalField", args + ([f"decimal_places={places}"] if places and places != "5" else [])
    simple = {
        "INTEGER": "IntegerField",
        "TEXT": "TextField",
        "REAL": "FloatField",
        "BLOB": "BlobField",
        "DATETIME": "DateTimeField",
        "DATE": "DateField",
        "TIME": "TimeField",
    }
    if base in simple:
        return simple[base], []
    affinity = sqlite_affinity(declared)
    nearest = {"INTEGER": "IntegerField", "TEXT": "TextField", "REAL": "FloatField", "BLOB": "BlobField"}
    return nearest.get(affinity, "DecimalField"), []


def python_default(sql: str) -> Any:
    """The Python value of a DEFAULT clause's literal, or None when it is an expression."""
    if re.fullmatch(r"-?\d+", sql):
        return int(sql)
    if re.fullmatch(r"-?\d*\.\d+", sql):
        return float(sql)
    if len(sql) >= 2 and sql[0] == sql[-1] == "'":
        return sql[1:-1].replace("''", "'")
    return None


def literal(value: Any) -> str:
    """``value`` as Python source, strings in double quotes as the project writes them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
