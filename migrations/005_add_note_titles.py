"""Notes get a title of their own; nullable until 006 fills it and 007 requires it."""

import peewee

from app_db import Migration


class AddNoteTitles(Migration):
    id = "20241120_093000_add_note_titles"
    name = "Add note titles"

    def up(self, schema):
        schema.add_column("note", "title", peewee.CharField(null=True))

    def down(self, schema):
        schema.drop_column("note", "title")
