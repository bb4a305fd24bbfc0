"""Every note now has a title (006): make it NOT NULL.

SQLite cannot add NOT NULL in place, so this rebuilds ``note``, the table that
``note_tag`` references; app_db keeps the tags, indexes and ids intact.
"""

from app_db import Migration


class RequireNoteTitles(Migration):
    id = "20241120_093200_require_note_titles"
    name = "Require a title on every note"

    def up(self, schema):
        schema.add_not_null("note", "title")

    def down(self, schema):
        schema.drop_not_null("note", "title")
