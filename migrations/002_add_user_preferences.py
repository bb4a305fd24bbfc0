"""Per-user settings (theme first); the seed's own example migration."""

import peewee

from app_db import Migration


class AddUserPreferences(Migration):
    id = "20240602_130000_add_user_preferences"
    name = "Add user preferences table"

    def up(self, schema):
        schema.create_table("user_preferences", {
            "id": peewee.AutoField(),
            "user_id": peewee.CharField(),
            "theme": peewee.CharField(default="light"),
        })
        schema.add_index("user_preferences", ["user_id"], unique=True)

    def down(self, schema):
        schema.drop_table("user_preferences")
