"""Helpers for the demo's tests: an older user's database, built from the real migrations, and a virtual X server.

Run as a script to retake the README screenshots under Xvfb (``--rows``: only the splash inside 006):
``python tests/demo_helpers.py`` (needs the apt packages xvfb and imagemagick).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEASE_2 = "20240602_130000_add_user_preferences"  # the last migration the older user's app had

# Notes as release 2 stored them: no title column, the first line was the title.
OLD_NOTES: list[dict] = [
    {"id": 1, "body": "Groceries\nmilk\neggs\nbread", "tags": ["home", "shopping"]},
    {"id": 2, "body": "Release plan\nShip 0.2 on Friday.\n\n- splash\n- migrations", "tags": ["work"]},
    {"id": 3, "body": "  Padded first line  \nthe rest", "tags": []},
    {"id": 4, "body": "One line only", "tags": ["work", "ideas"]},
    {"id": 5, "body": "", "tags": []},
    {"id": 7, "body": "Ünïcödé ✓ title\r\nbody with a CRLF line end", "tags": ["ideas"]},
    {"id": 9, "body": "\nfirst line was empty", "tags": []},
]
OLD_PREFERENCES = {"user_id": "local", "theme": "dark"}
SCREENSHOT_NOTES: list[dict] = [
    {"id": 1, "body": "Groceries\nmilk, eggs, bread\nsomething for the weekend", "tags": ["home", "shopping"]},
    {"id": 2, "body": "Book ideas\nA desktop app that never loses a note, even across upgrades.", "tags": ["ideas"]},
    {"id": 3, "body": "Dentist\nTuesday 9:30, bring the insurance card.", "tags": ["home"]},
    {"id": 4, "body": "Release plan\nShip 0.2 on Friday.\n\n- progress splash\n- error dialogs\n- screenshots",
     "tags": ["release", "work"]},
]


def expected_after_upgrade(body: str) -> tuple[str, str]:
    """(title, body) that migration 006 must make of a release-2 body."""
    first, _newline, rest = body.partition("\n")
    return first.strip(), rest


def build_release_2_database(path: Path, notes: list[dict] | None = None, theme: str = "dark") -> None:
    """A database as an older user has it: the first two migrations, with their rows in it."""
    from demo_app.db import notes_database

    database = notes_database(path)
    database.migrate(to=RELEASE_2)
    database.close()
    insert_release_2_rows(path, notes, theme)


def insert_release_2_rows(path: Path, notes: list[dict] | None = None, theme: str = "dark") -> None:
    """The notes, tags and preferences a user of release 2 has, into a file at release 2."""
    connection = sqlite3.connect(path)
    try:
        with connection:
            tag_ids: dict[str, int] = {}
            for number, note in enumerate(OLD_NOTES if notes is None else notes):
                stamp = f"2024-06-{10 + number:02d} 09:30:00"
                connection.execute(
                    "INSERT INTO note (id, body, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    (note["id"], note["body"], stamp, stamp),
                )
                for name in note["tags"]:
                    if name not in tag_ids:
                        tag_ids[name] = connection.execute("INSERT INTO tag (name) VALUES (?)", (name,)).lastrowid
                    connection.execute(
                        "INSERT INTO note_tag (note_id, tag_id) VALUES (?, ?)", (note["id"], tag_ids[name])
                    )
            connection.execute(
                "INSERT INTO user_preferences (user_id, theme) VALUES (?, ?)",
                (OLD_PREFERENCES["user_id"], theme),
            )
    finally:
        connection.close()


LARGE_TOPICS = ("garden", "invoices", "holiday", "recipes", "meeting", "books", "bicycle", "taxes")


def build_large_notebook(path: Path, count: int, release: str | None = None, theme: str = "light") -> None:
    """A file holding ``count`` notes, written in bulk by SQLite itself; every tenth note is tagged.

    ``release=None``: the current schema, note i titled "Note i about <topic>"
    (one in eight is about "garden"). ``release=RELEASE_2``: an older user's
    file, that title as the body's first line, for migration 006 to move.
    """
    from demo_app.db import notes_database

    database = notes_database(path)
    database.migrate(to=release)
    database.close()
    title = "'Note ' || i || ' about ' || json_extract(:topics, '$[' || (i % 8) || ']')"
    body = "'Written on day ' || (i % 365) || ', with a few more words to search through.'"
    stamp = "datetime('2020-01-01', '+' || i || ' minutes')"
    if release is None:
        columns, values = "id, title, body, created_at, updated_at", f"i, {title}, {body}, {stamp}, {stamp}"
    else:
        columns, values = "id, body, created_at, updated_at", f"i, {title} || char(10) || {body}, {stamp}, {stamp}"
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
                f"INSERT INTO note ({columns}) SELECT {values} FROM n",
                {"count": count, "topics": json.dumps(LARGE_TOPICS)},
            )
            connection.executemany("INSERT INTO tag (name) VALUES (?)", [("home",), ("work",)])
            connection.execute(
                "INSERT INTO note_tag (note_id, tag_id) SELECT id, 1 + (id / 10) % 2 FROM note WHERE id % 10 = 0"
            )
            connection.execute("INSERT INTO user_preferences (user_id, theme) VALUES ('local', ?)", (theme,))
    finally:
        connection.close()


NEWER_MIGRATION = """\
import peewee
from app_db import Migration


class AddAttachments(Migration):
    id = "20250301_120000_add_attachments"
    name = "Add attachments"

    def up(self, schema):
        schema.create_table("attachment", {"id": peewee.AutoField(), "name": peewee.CharField()})

    def down(self, schema):
        schema.drop_table("attachment")
"""


def build_newer_version_database(path: Path, workspace: Path) -> None:
    """A file migrated by a future release: the demo's migrations plus one this version lacks."""
    import importlib.resources

    from app_db import Database

    newer = workspace / "newer_release_migrations"
    shipped = Path(str(importlib.resources.files("demo_app.migrations")))
    shutil.copytree(shipped, newer, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    (newer / "008_add_attachments.py").write_text(NEWER_MIGRATION)
    newer_app = Database("AppDbNotes", migrations=newer, path=path)
    newer_app.migrate()
    newer_app.close()


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def tags_by_note(path: Path) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for note_id, name in rows(
        path, "SELECT note_tag.note_id, tag.name FROM note_tag JOIN tag ON tag.id = note_tag.tag_id ORDER BY tag.name"
    ):
        found.setdefault(note_id, []).append(name)
    return found


# -- a virtual X server -----------------------------------------------------------


class VirtualDisplay:
    """An Xvfb server on a free display number, ready once its socket exists."""

    def __init__(self, process: subprocess.Popen, number: int, ends_with_this_process: bool = False) -> None:
        self.process = process
        self.number = number
        self.name = f":{number}"
        self.ends_with_this_process = ends_with_this_process

    def release(self) -> None:
        """Done with the display: stop the server now, unless it ends with this process (see start_virtual_display)."""
        if not self.ends_with_this_process:
            self.stop()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_virtual_display(
    width: int = 1280, height: int = 800, end_with_this_process: bool = False
) -> tuple[VirtualDisplay | None, str]:
    """(display, "") or (None, why it could not start).

    ``end_with_this_process`` (Linux): the server gets SIGTERM once this process has exited, for a process
    that opened Tk windows on it. Tk keeps its connection to the display until the process exits, even
    after every root was destroyed, and Xlib ends the process at once ("XIO: fatal IO error") when the
    server goes first: a pytest-xdist worker died that way after its last GUI test.
    """
    executable = shutil.which("Xvfb")
    end_with_parent = None
    if end_with_this_process and sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)

        def end_with_parent() -> None:  # in the child, between fork and exec
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if executable is None:
        return None, "Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)"
    reason = "no free display number"
    for number in range(91, 140):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        process = subprocess.Popen(
            [executable, f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=end_with_parent,
        )
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None and not socket.exists():
            time.sleep(0.02)
        if socket.exists() and process.poll() is None:
            return VirtualDisplay(process, number, ends_with_this_process=end_with_parent is not None), ""
        if process.poll() is None:
            process.kill()
        process.wait()
        reason = f"Xvfb :{number} exited: {(process.stderr.read() or b'').decode(errors='replace').strip()[-300:]}"
        # another server may have taken this number meanwhile: try the next one
    return None, reason


# -- screenshots for the README -----------------------------------------------------


def window_screenshot(window, target: Path) -> None:
    """Save one Tk toplevel as a PNG with ImageMagick's ``import``."""
    window.update()
    frame = window.winfo_toplevel().wm_frame()
    subprocess.run(["import", "-window", str(int(frame, 16)), str(target)], check=True)


@contextmanager
def screenshot_session() -> Iterator[Path]:
    """A private Xvfb (DISPLAY set) and a temporary folder, for as long as screenshots are taken."""
    import tempfile

    display, reason = start_virtual_display()
    if display is None:
        raise SystemExit(f"Cannot take screenshots: {reason}")
    os.environ["DISPLAY"] = display.name
    try:
        # Windows cannot delete a file a window may still hold open: leave it to the OS's temp cleanup.
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as folder:
            yield Path(folder)
    finally:
        display.stop()


def take_readme_screenshots(docs: Path) -> None:
    """docs/demo-splash.png during a real upgrade, demo-main.png after it, demo-error.png for a failed one."""
    import tkinter as tk

    with screenshot_session() as folder:
        from demo_app.gui import launch_gui

        path = Path(folder) / "notes.sqlite3"
        build_release_2_database(path, notes=SCREENSHOT_NOTES, theme="light")
        root = tk.Tk(className="AppDbNotes")
        root.withdraw()

        def on_splash_step(splash) -> None:
            if "(2 of" in splash.message_var.get():
                window_screenshot(splash.window, docs / "demo-splash.png")

        launched = launch_gui(root, path, on_splash_step=on_splash_step)
        window = launched.window
        assert window is not None
        window.root.geometry("900x540+0+0")
        window.open_note(window.note_ids[0])  # the newest: Release plan
        window.pinned_var.set(True)
        window.save_button.invoke()
        window.show_status(window.launch_summary())
        window_screenshot(window.root, docs / "demo-main.png")
        window.launched.close()
        root.destroy()

        broken = Path(folder) / "broken.sqlite3"  # a release-2 file where 004's index name is taken
        build_release_2_database(broken, notes=SCREENSHOT_NOTES)
        connection = sqlite3.connect(broken)
        connection.execute("CREATE INDEX note_pinned_updated_at ON note (updated_at)")
        connection.commit()
        connection.close()
        root = tk.Tk(className="AppDbNotes")
        root.withdraw()
        failed = launch_gui(root, broken)
        assert failed.error_dialog is not None
        window_screenshot(failed.error_dialog.window, docs / "demo-error.png")
        root.destroy()


def take_row_progress_screenshot(docs: Path, notes: int = 200_000) -> None:
    """docs/demo-splash-rows.png: the splash inside 006 on a large old notebook, once it passes a third of the notes."""
    import tkinter as tk

    with screenshot_session() as folder:
        from demo_app.gui import launch_gui

        path = Path(folder) / "notes.sqlite3"
        build_large_notebook(path, notes, release=RELEASE_2)
        root = tk.Tk(className="AppDbNotes")
        root.withdraw()
        taken = []

        def on_splash_rows(splash) -> None:
            if not taken and splash.progress["value"] >= 3 + 1 / 3 and not splash.message_var.get().endswith("100%"):
                window_screenshot(splash.window, docs / "demo-splash-rows.png")
                taken.append(splash.message_var.get())

        launched = launch_gui(root, path, on_splash_rows=on_splash_rows)
        assert launched.window is not None and taken, launched.row_texts
        launched.window.launched.close()
        root.destroy()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if sys.argv[1:] == ["--rows"]:
        take_row_progress_screenshot(REPO / "docs")
        print("Wrote docs/demo-splash-rows.png")
    else:
        take_readme_screenshots(REPO / "docs")
        take_row_progress_screenshot(REPO / "docs")
        print("Wrote docs/demo-splash.png, docs/demo-main.png, docs/demo-error.png and docs/demo-splash-rows.png")
