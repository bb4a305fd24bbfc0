"""Existing notes were titled by their first line: move that line into the title.

A body "Groceries\\nmilk\\neggs" becomes title "Groceries", body "milk\\neggs".
down() puts the title back as the first line, so no word is lost either way
(only whitespace at the ends of the first line is not restored).

Rewritten with schema.model and bulk_update after it shipped: it changes the
same rows in the same way as the raw-SQL text that ran before, whose checksum
it lists in replaces_checksums, so files that ran that text are not told it
changed. It reports its progress, which the splash shows as a percentage.
"""

from contextlib import contextmanager

import peewee

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
        untitled = Note.title.is_null()
        total = Note.select().where(untitled).count()
        with splitting_functions(schema, total) as (first_line, rest):
            # One UPDATE: SQLite walks the rows and calls the frozen Python split for each (both sides read the old body).
            schema.bulk_update("note", {"title": first_line(Note.body), "body": rest(Note.body)}, untitled)

    def down(self, schema):
        Note = schema.model("note")
        joined = peewee.Case(None, [(peewee.fn.coalesce(Note.body, "") == "", peewee.fn.coalesce(Note.title, ""))],
                             peewee.fn.coalesce(Note.title, "").concat("\n").concat(Note.body))
        schema.bulk_update("note", {"title": None, "body": joined}, {})


@contextmanager
def splitting_functions(schema, total):
    """SQL functions (first line, rest) over split_first_line for the block; the first one reports progress."""
    connection = schema.db.connection()
    done = 0

    def first_line(body):
        nonlocal done
        done += 1
        schema.progress(done, total)
        return split_first_line(body)[0]

    names = ("demo_006_first_line", "demo_006_rest")
    connection.create_function(names[0], 1, first_line)
    connection.create_function(names[1], 1, lambda body: split_first_line(body)[1], deterministic=True)
    try:
        yield getattr(peewee.fn, names[0]), getattr(peewee.fn, names[1])
    finally:
        for name in names:
            connection.create_function(name, 1, None)
