"""The first release: notes, tags, and the link between them."""

import peewee

from app_db import Migration


class InitialSchema(Migration):
    id = "20240601_090000_initial_schema"
    name = "Create notes and tags"

    def up(self, schema):
        schema.create_table("note", {
            "id": peewee.AutoField(),
            "body": peewee.TextField(default=""),
            "created_at": peewee.DateTimeField(),
            "updated_at": peewee.DateTimeField(),
        })
        schema.create_table("tag", {
            "id": peewee.AutoField(),
            "name": peewee.CharField(),
        })
        schema.add_index("tag", ["name"], unique=True, name="tag_name")
        # foreign keys are indexed by default (note_tag_note_id, note_tag_tag_id)
        schema.create_table("note_tag", {
            "id": peewee.AutoField(),
            "note_id": schema.foreign_key("note", on_delete="CASCADE"),
            "tag_id": schema.foreign_key("tag", on_delete="CASCADE"),
        })
        schema.add_index("note_tag", ["note_id", "tag_id"], unique=True, name="note_tag_note_id_tag_id")

    def down(self, schema):
        schema.drop_table("note_tag")
        schema.drop_table("tag")
        schema.drop_table("note")
