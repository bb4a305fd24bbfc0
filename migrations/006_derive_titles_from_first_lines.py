"""Existing notes were titled by their first line: move that line into the title.

A body "Groceries\\nmilk\\neggs" becomes title "Groceries", body "milk\\neggs".
down() puts the title back as the first line, so no word is lost either way
(only whitespace at the ends of the first line is not restored).
"""

from app_db import Migration


def split_first_line(body):
    """(first line stripped, the rest) of a note body; frozen here on purpose."""
    first, _newline, rest = (body or "").partition("\n")
    return first.strip(), rest


class DeriveTitlesFromFirstLines(Migration):
    id = "20241120_093100_derive_titles_from_first_lines"
    name = "Move first lines into titles"

    def up(self, schema):
        rows = schema.db.execute_sql("SELECT id, body FROM note WHERE title IS NULL").fetchall()
        for note_id, body in rows:
            title, rest = split_first_line(body)
            schema.db.execute_sql("UPDATE note SET title = ?, body = ? WHERE id = ?", (title, rest, note_id))

    def down(self, schema):
        rows = schema.db.execute_sql("SELECT id, title, body FROM note").fetchall()
        for note_id, title, body in rows:
            joined = f"{title or ''}\n{body}" if body else (title or "")
            schema.db.execute_sql("UPDATE note SET title = NULL, body = ? WHERE id = ?", (joined, note_id))
