"""Pinned notes stay at the top of the list: a flag, and an index for that ordering."""

import peewee

from app_db import Migration


class AddPinnedNotes(Migration):
    id = "20240903_164500_add_pinned_notes"
    name = "Add pinned notes"

    def up(self, schema):
        schema.add_column("note", "pinned", peewee.BooleanField(default=False))
        schema.add_index("note", ["pinned", "updated_at"], name="note_pinned_updated_at")

    def down(self, schema):
        schema.drop_index("note", "note_pinned_updated_at")
        schema.drop_column("note", "pinned")
