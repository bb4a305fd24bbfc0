"""Existing notes were titled by their first line: move that line into the title.

A body "Groceries\\nmilk\\neggs" becomes title "Groceries", body "milk\\neggs".
down() puts the title back as the first line, so no word is lost either way
(only whitespace at the ends of the first line is not restored).

Rewritten with schema.model and bulk_update after it shipped: it changes the
same rows in the same way as the raw-SQL text that ran before, whose checksum
it lists in replaces_checksums, so files that ran that text are not told it
changed. It reports its progress, which the splash shows as a percentage.
"""

from app_db import Migration


def split_first_line(body):
    """(first line stripped, the rest) of a note body; frozen here on purpose."""
    first, _newline, rest = (body or "").partition("\n")
    return first.strip(), rest


class DeriveTitlesFromFirstLines(Migration):
    id = "20241120_093100_derive_titles_from_first_lines"
    name = "Move first lines into titles"
    replaces_checksums = ("ee7ccb35b285cc21b6f3da0f7fa41991025ff6fe743b56a069b258518c822928",)

    def up(self, schema):
        Note = schema.model("note")  # the note table as it is now: title added by 005, still nullable
        untitled = list(Note.select(Note.id, Note.body).where(Note.title.is_null()).tuples())
        for done, (note_id, body) in enumerate(untitled, start=1):
            title, rest = split_first_line(body)
            schema.bulk_update("note", {"title": title, "body": rest}, {"id": note_id})
            schema.progress(done, len(untitled))

    def down(self, schema):
        Note = schema.model("note")
        notes = list(Note.select(Note.id, Note.title, Note.body).tuples())
        for done, (note_id, title, body) in enumerate(notes, start=1):
            joined = f"{title or ''}\n{body}" if body else (title or "")
            schema.bulk_update("note", {"title": None, "body": joined}, {"id": note_id})
            schema.progress(done, len(notes))
