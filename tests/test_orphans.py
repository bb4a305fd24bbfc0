"""Foreign-key violations already in the file are told apart from new ones by row, through renames and rebuilds."""

from __future__ import annotations

import pytest

from app_db import MigrationError

INITIAL = '''
schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
schema.sql("""CREATE TABLE Tag (
    id INTEGER PRIMARY KEY,
    note_id INTEGER REFERENCES note (id) ON DELETE CASCADE,
    label TEXT
)""")
schema.sql("CREATE TABLE link (note_id INTEGER NOT NULL REFERENCES note (id), word TEXT NOT NULL, PRIMARY KEY (note_id, word)) WITHOUT ROWID")
for number in range(1, 11):
    schema.sql("INSERT INTO note (id, body) VALUES (?, ?)", (number, f"note {number}"))
    schema.sql("INSERT INTO Tag (note_id, label) VALUES (?, 'x')", (number,))
    schema.sql("INSERT INTO link (note_id, word) VALUES (?, 'w')", (number,))
'''


@pytest.fixture
def orphaned(project):
    """A file whose older app version left one orphan in Tag (rowid 11) and one in link."""
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.launch()
    connection = project.connect()  # foreign keys off, as in an old app
    connection.execute("INSERT INTO Tag (id, note_id, label) VALUES (11, 999, 'orphan')")
    connection.execute("INSERT INTO link (note_id, word) VALUES (999, 'orphan')")
    connection.commit()
    connection.close()
    return project


def violations(project):
    return sorted(((table.lower(), rowid) for table, rowid, *_ in project.rows("PRAGMA foreign_key_check")), key=repr)


@pytest.mark.parametrize("up", [
    'schema.rename_table("Tag", "label")',
    'schema.rename_table("note", "memo")',
    'schema.rename_table("link", "note_word")',
    'schema.sql("ALTER TABLE tag RENAME TO label")\nschema.sql("ALTER TABLE note RENAME TO memo")',
    'schema.rename_table("Tag", "label")\nschema.add_not_null("label", "label")',
    'schema.rename_table("Tag", "label")\nschema.alter_column_type("label", "label", peewee.CharField(null=True))',
], ids=["child", "parent", "without-rowid-child", "both", "child-renamed-then-rebuilt", "child-renamed-then-retyped"])
def test_renaming_a_table_does_not_make_old_orphans_look_new(orphaned, up):
    orphaned.add("002_rename.py", "20240602_090000_rename", up)
    before = violations(orphaned)

    report = orphaned.database().register_models([])

    assert report.applied == ["20240602_090000_rename"]
    assert sorted(map(repr, (rowid for _, rowid in violations(orphaned)))) == sorted(map(repr, (rowid for _, rowid in before)))


def test_a_rename_in_one_migration_and_a_rebuild_in_the_next_keep_old_orphans_old(orphaned):
    orphaned.add("002_rename.py", "20240602_090000_rename", 'schema.rename_table("Tag", "label")')
    orphaned.add("003_rebuild.py", "20240603_090000_rebuild", 'schema.add_not_null("label", "label")')

    assert orphaned.database().register_models([]).applied == ["20240602_090000_rename", "20240603_090000_rebuild"]


def refused(project, shown):
    """A launch refuses the batch with a message that shows ``shown``; the file is as before."""
    before = project.dump()
    with pytest.raises(MigrationError) as caught:
        project.database().register_models([])
    assert shown in str(caught.value)
    assert project.dump() == before


def test_a_new_orphan_in_a_renamed_table_is_refused_naming_its_row(orphaned):
    orphaned.add("002_rename.py", "20240602_090000_rename", '''
        schema.rename_table("Tag", "label")
        schema.sql("UPDATE label SET note_id = 555 WHERE id = 4")
    ''')

    refused(orphaned, "1 row(s) of label point to missing note rows (rowid 4)")


def test_a_new_orphan_is_refused_even_when_an_old_one_in_the_same_table_was_fixed(orphaned):
    """Counting per table would see one orphan before and one after, and let the new one in."""
    orphaned.add("002_swap.py", "20240602_090000_swap", '''
        schema.sql("DELETE FROM Tag WHERE id = 11")
        schema.sql("DELETE FROM note WHERE id = 3")
    ''')
    # The CASCADE does not fire (foreign keys are off while migrating), so Tag row 3 loses its note.

    refused(orphaned, "row(s) of Tag point to missing note rows (rowid 3)")


def test_a_new_orphan_in_a_without_rowid_table_is_refused(orphaned):
    orphaned.add("002_orphan_link.py", "20240602_090000_orphan_link", '''
        schema.rename_table("link", "note_word")
        schema.sql("INSERT INTO note_word (note_id, word) VALUES (777, 'new')")
    ''')

    refused(orphaned, "1 row(s) of note_word point to missing note rows")


def test_a_dry_run_of_a_rename_with_old_orphans_shows_the_statements(orphaned):
    """The dry run runs on an in-memory copy, where the "before" list is taken at the start."""
    orphaned.add("002_rename.py", "20240602_090000_rename", 'schema.rename_table("Tag", "label")')

    statements = [statement for step in orphaned.database().preview() for statement in step.statements]

    assert statements == ['ALTER TABLE "Tag" RENAME TO "label"']
