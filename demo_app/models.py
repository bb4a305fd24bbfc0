"""The live models: what the app reads and writes today.

They describe the schema after the last migration; the migrations never import
them. ``register_models`` binds them to the launch's database, so no database
is named here.
"""

from __future__ import annotations

from datetime import datetime

import peewee


class BaseModel(peewee.Model):
    class Meta:
        database = None  # bound at launch by Database.register_models


class Note(BaseModel):
    title = peewee.CharField(default="")
    body = peewee.TextField(default="")
    pinned = peewee.BooleanField(default=False)
    created_at = peewee.DateTimeField(default=datetime.now)
    updated_at = peewee.DateTimeField(default=datetime.now)

    class Meta:
        table_name = "note"
        indexes = ((("pinned", "updated_at"), False),)


class Tag(BaseModel):
    name = peewee.CharField(unique=True)

    class Meta:
        table_name = "tag"


class NoteTag(BaseModel):
    note = peewee.ForeignKeyField(Note, backref="note_tags", on_delete="CASCADE")
    tag = peewee.ForeignKeyField(Tag, backref="note_tags", on_delete="CASCADE")

    class Meta:
        table_name = "note_tag"
        indexes = ((("note", "tag"), True),)


class UserPreferences(BaseModel):
    user_id = peewee.CharField(unique=True)
    theme = peewee.CharField(default="light")
    font_size = peewee.IntegerField(default=11)

    class Meta:
        table_name = "user_preferences"


MODELS = [Note, Tag, NoteTag, UserPreferences]
