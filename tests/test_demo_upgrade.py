"""End to end, without a display: the demo's real migrations on real files, through ``python -m demo_app --headless``."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from demo_app.__main__ import main
from demo_app.db import notes_database
from demo_app.headless import run_headless
from demo_app.launch import open_notes

from demo_helpers import (
    OLD_NOTES,
    RELEASE_2,
    build_newer_version_database,
    build_release_2_database,
    expected_after_upgrade,
    rows,
    tags_by_note,
)

ALL_IDS = [
    "20240601_090000_initial_schema",
    "20240602_130000_add_user_preferences",
    "20240715_101500_add_font_size_preference",
    "20240903_164500_add_pinned_notes",
    "20241120_093000_add_note_titles",
    "20241120_093100_derive_titles_from_first_lines",
    "20241120_093200_require_note_titles",
]


def applied_ids(path: Path) -> list:
    return [row[0] for row in rows(path, "SELECT id FROM app_db_migrations ORDER BY id")]


def test_an_older_users_notes_survive_the_upgrade_transformed(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    old_rows = rows(path, "SELECT id, created_at, updated_at FROM note ORDER BY id")
    old_tags = tags_by_note(path)

    finished = subprocess.run(
        [sys.executable, "-m", "demo_app", "--headless", "--path", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert f"Database: {path}" in finished.stdout
    assert "Updating your data (1 of 5): Add font size preference" in finished.stdout
    assert "Applied 5 migrations" in finished.stdout
    assert f"Notes: {len(OLD_NOTES)}" in finished.stdout
    assert applied_ids(path) == ALL_IDS
    notes = {row[0]: row[1:] for row in rows(path, "SELECT id, title, body, pinned FROM note")}
    assert sorted(notes) == [note["id"] for note in OLD_NOTES]
    for note in OLD_NOTES:
        title, body = expected_after_upgrade(note["body"])
        assert notes[note["id"]] == (title, body, 0), note
    assert notes[1] == ("Groceries", "milk\neggs\nbread", 0)
    assert rows(path, "SELECT id, created_at, updated_at FROM note ORDER BY id") == old_rows
    assert tags_by_note(path) == old_tags  # note_tag rows survived the rebuild of note
    assert rows(path, "SELECT user_id, theme, font_size FROM user_preferences") == [("local", "dark", 11)]
    assert rows(path, "PRAGMA foreign_key_check") == []
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    # the NOT NULL from 007 is real, and the column index from 004 is there
    with pytest.raises(sqlite3.IntegrityError):
        rows(path, "INSERT INTO note (body, created_at, updated_at, pinned, title) VALUES ('', '', '', 0, NULL)")
    assert ("note_pinned_updated_at",) in rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")

    backup_line = next(line for line in finished.stdout.splitlines() if line.startswith("Backup taken"))
    backup = Path(backup_line.split(": ", 1)[1])
    assert backup.is_file()
    assert applied_ids(backup) == ALL_IDS[:2]
    assert rows(backup, "SELECT id, body FROM note ORDER BY id") == [(n["id"], n["body"]) for n in OLD_NOTES]


def test_fresh_install_then_nothing_pending(tmp_path: Path) -> None:
    path = tmp_path / "new" / "notes.sqlite3"
    out = io.StringIO()
    assert run_headless(path, out=out) == 0
    first = out.getvalue()
    assert f"Database: {path}" in first
    assert "Setting up your notes (1 of 7): Create notes and tags" in first  # a first start, not an update
    assert "Set up a new notebook with 7 migrations" in first
    assert "Notes: none yet" in first
    assert "Backup" not in first  # nothing worth backing up yet
    out = io.StringIO()
    assert run_headless(path, out=out) == 0
    assert "Up to date: no migration was pending." in out.getvalue()
    assert "Updating your data" not in out.getvalue()
    assert applied_ids(path) == ALL_IDS


def test_relative_path_on_the_command_line_means_the_current_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--headless", "--path", "here.sqlite3"]) == 0
    assert f"Database: {tmp_path / 'here.sqlite3'}" in capsys.readouterr().out


def test_every_migration_rolls_back_to_release_2_and_forward_again(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    before = rows(path, "SELECT id, body, created_at FROM note ORDER BY id")
    open_notes(path).close()

    database = notes_database(path)
    undone = database.rollback(to=RELEASE_2).undone
    database.close()

    assert undone == list(reversed(ALL_IDS[2:]))
    assert applied_ids(path) == ALL_IDS[:2]
    columns = [row[1] for row in rows(path, "PRAGMA table_info(note)")]
    assert columns == ["id", "body", "created_at", "updated_at"]
    assert [row[1] for row in rows(path, "PRAGMA table_info(user_preferences)")] == ["id", "user_id", "theme"]
    after = rows(path, "SELECT id, body, created_at FROM note ORDER BY id")
    for (note_id, old_body, created), (same_id, body, same_created) in zip(before, after):
        title, rest = expected_after_upgrade(old_body)
        assert (same_id, same_created) == (note_id, created)
        # every word comes back; only whitespace around the first line may not
        assert body == (f"{title}\n{rest}" if rest else title)
    assert tags_by_note(path) == {n["id"]: sorted(n["tags"]) for n in OLD_NOTES if n["tags"]}

    open_notes(path).close()
    assert applied_ids(path) == ALL_IDS


def test_a_corrupt_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    garbage = b"this is not a database, it is a shopping list\n" * 100
    path.write_bytes(garbage)
    out, err = io.StringIO(), io.StringIO()
    assert run_headless(path, out=out, err=err) == 1
    message = err.getvalue()
    assert "Your notes file is damaged or is not a notes file." in message
    assert "It was not changed." in message
    assert f"Data folder: {tmp_path}" in message
    assert path.read_bytes() == garbage


def test_a_file_from_a_newer_version_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_newer_version_database(path, tmp_path)
    before = path.read_bytes()

    err = io.StringIO()
    assert run_headless(path, out=io.StringIO(), err=err) == 1
    assert "saved by a newer version of AppDbNotes" in err.getvalue()
    assert "Install the latest version" in err.getvalue()
    assert path.read_bytes() == before


def schema_of(path: Path) -> list:
    return rows(path, "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")


def test_a_fresh_install_has_the_same_schema_as_an_upgraded_file(tmp_path: Path) -> None:
    fresh, upgraded = tmp_path / "fresh.sqlite3", tmp_path / "upgraded.sqlite3"
    open_notes(fresh).close()
    build_release_2_database(upgraded)
    open_notes(upgraded).close()
    assert schema_of(fresh) == schema_of(upgraded)
