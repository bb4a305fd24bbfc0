"""Users asked for bigger text: a font size beside the theme."""

import peewee

from app_db import Migration


class AddFontSizePreference(Migration):
    id = "20240715_101500_add_font_size_preference"
    name = "Add font size preference"

    def up(self, schema):
        schema.add_column("user_preferences", "font_size", peewee.IntegerField(default=11))

    def down(self, schema):
        schema.drop_column("user_preferences", "font_size")
