"""The demo's newer-file dialog under a virtual X server: quit, open read-only, or go back to the notes from before.

The user's history, on a real file: this version of AppDbNotes made the file
and wrote a note; a newer version (2.0, one more migration) updated it (a
production launch, so it backed the file up first) and wrote another; then
this version starts again. ``python tests/test_newer_demo.py`` retakes
docs/demo-newer.png (needs Xvfb and ImageMagick).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_helpers import NEWER_MIGRATION, REPO, rows, screenshot_session, window_screenshot

pytestmark = pytest.mark.gui

tk = pytest.importorskip("tkinter", reason="this Python has no tkinter (Debian: apt-get install python3-tk)")

from test_demo_gui import display  # noqa: E402, F401  # the GUI tests' one Xvfb for the session

from app_db import AppDbError, Database  # noqa: E402
from demo_app import notes  # noqa: E402
from demo_app.gui import launch_gui  # noqa: E402
from demo_app.launch import open_notes  # noqa: E402

NEWER_ID = "20250301_120000_add_attachments"


def build_history(path: Path, workspace: Path, keep_backups: bool = True) -> None:
    """This version's notes, then the newer version's update and its own note (see the module docstring)."""
    launched = open_notes(path)
    notes.load_preferences()  # as the first window does: creates the preferences row
    notes.save_note(None, "Written in 1.0", "before the update", ["old"])
    launched.close()
    newer = workspace / "newer_release_migrations"
    shipped = Path(str(importlib.resources.files("demo_app.migrations")))
    shutil.copytree(shipped, newer, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    (newer / "008_add_attachments.py").write_text(NEWER_MIGRATION)
    newer_app = Database("AppDbNotes", migrations=newer, path=path, app_version="2.0", env="production")
    newer_app.migrate()
    newer_app.db.execute_sql("INSERT INTO note (title, body, created_at, updated_at, pinned) "
                             "VALUES ('Written in 2.0', 'after the update', '2026-01-01', '2026-01-01', 0)")
    newer_app.close()
    if not keep_backups:
        shutil.rmtree(path.parent / "backups")


def fingerprint(path: Path) -> dict:
    hashes = {suffix: hashlib.sha256(Path(f"{path}{suffix}").read_bytes()).hexdigest()
              for suffix in ("", "-wal") if os.path.exists(f"{path}{suffix}")}
    return {"hashes": hashes, "listing": sorted(os.listdir(path.parent))}


@pytest.fixture
def root(display: str) -> Iterator[tk.Tk]:
    window = tk.Tk(className="AppDbNotes")
    window.withdraw()
    yield window
    try:
        window.destroy()
    except tk.TclError:
        pass  # Quit destroyed it


def start(root: tk.Tk, path: Path, opened: list | None = None):
    launch = launch_gui(root, path, open_folder=(opened if opened is not None else []).append,
                        confirm=lambda _question: True)
    root.update()
    return launch


def test_the_newer_file_dialog_offers_quit_read_only_and_going_back_saying_from_when(root, tmp_path):
    path = tmp_path / "notes.sqlite3"
    build_history(path, tmp_path)
    before = fingerprint(path)

    launch = start(root, path)

    dialog = launch.newer_dialog
    assert launch.window is None and launch.error_dialog is None
    assert dialog.headline_label.cget("text") == "Your notes were saved by a newer version of AppDbNotes."
    assert "AppDbNotes 2.0 changed them on " in dialog.detail_label.cget("text")
    assert dialog.backup is not None and dialog.backup.backup.name.endswith(f"-before-{NEWER_ID}.sqlite3")
    when = dialog.backup.taken_at.astimezone()
    assert f"as they were on {when.day} {when:%B %Y} at {when:%H:%M}, before the update" in dialog.next_step_label.cget("text")
    assert [dialog.quit_button.cget("text"), dialog.read_only_button.cget("text")] == ["Quit", "Open read-only"]
    assert dialog.go_back_button.cget("text") == f"Go back to {when:%d %b %H:%M}"
    assert dialog.window.winfo_ismapped()
    assert fingerprint(path) == before  # the dialog only looked


def test_open_read_only_shows_the_notes_and_nothing_can_change_the_file(root, tmp_path):
    path = tmp_path / "notes.sqlite3"
    build_history(path, tmp_path)
    before = fingerprint(path)
    launch = start(root, path)

    launch.newer_dialog.read_only_button.invoke()
    root.update()

    window = launch.window
    assert window is not None and launch.window.launched.database.db is not None
    assert root.title() == "AppDbNotes: notes.sqlite3 (read-only)"
    assert sorted(window.note_list.get(0, "end")) == ["Written in 1.0", "Written in 2.0"]
    assert "Read-only: AppDbNotes 2.0 saved these notes on" in window.status_var.get()
    assert window.save_button.instate(["disabled"]) and window.new_button.instate(["disabled"])
    with pytest.raises(AppDbError, match="it is open read-only"):
        notes.save_note(None, "Lost", "never written", [])
    window.launched.close()
    assert fingerprint(path) == before


def test_go_back_restores_the_notes_from_before_the_update_and_keeps_the_newer_file(root, tmp_path):
    path = tmp_path / "notes.sqlite3"
    build_history(path, tmp_path)
    launch = start(root, path)
    dialog = launch.newer_dialog

    dialog.go_back_button.invoke()
    root.update()

    window = launch.window
    assert window is not None
    assert list(window.note_list.get(0, "end")) == ["Written in 1.0"]
    assert NEWER_ID not in [row[0] for row in rows(path, "SELECT id FROM app_db_migrations")]
    restored = dialog.restored
    assert restored.kept is not None and restored.kept.is_file()
    assert ("Written in 2.0",) in rows(restored.kept, "SELECT title FROM note")  # the newer version's work is kept
    assert window.status_var.get().startswith("Back to your notes from ")
    assert str(restored.kept) in window.status_var.get()
    notes.save_note(None, "Written after going back", "", [])  # the file is this version's again
    window.launched.close()


def test_without_a_backup_from_before_the_update_the_dialog_offers_quit_and_read_only(root, tmp_path):
    path = tmp_path / "notes.sqlite3"
    build_history(path, tmp_path, keep_backups=False)

    dialog = start(root, path).newer_dialog

    assert dialog.backup is None and dialog.go_back_button is None
    assert "there is no copy from before the update to go back to" in dialog.next_step_label.cget("text")
    dialog.quit_button.invoke()  # quits the app
    with pytest.raises(tk.TclError):
        root.winfo_exists()


def take_newer_screenshot(docs: Path) -> None:
    """docs/demo-newer.png: the newer-file dialog, with a backup to go back to."""
    with screenshot_session() as folder:
        path = Path(folder) / "notes.sqlite3"
        build_history(path, Path(folder))
        window = tk.Tk(className="AppDbNotes")
        window.withdraw()
        launch = launch_gui(window, path)
        window_screenshot(launch.newer_dialog.window, docs / "demo-newer.png")
        window.destroy()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    take_newer_screenshot(REPO / "docs")
    print("Wrote docs/demo-newer.png")
