"""The demo's real Tk windows under a virtual X server: splash, main window, preferences, error dialogs.

Skipped, with the reason in pytest's summary (-rs), only where Xvfb or Tk is missing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_helpers import (
    LARGE_TOPICS,
    OLD_NOTES,
    RELEASE_2,
    build_large_notebook,
    build_newer_version_database,
    build_release_2_database,
    expected_after_upgrade,
    rows,
    start_virtual_display,
)

pytestmark = pytest.mark.gui

tk = pytest.importorskip("tkinter", reason="this Python has no tkinter (Debian: apt-get install python3-tk)")
from tkinter import font as tkfont  # noqa: E402

from demo_app.error_dialog import ErrorDialog  # noqa: E402
from demo_app.gui import GuiLaunch, launch_gui, run_gui  # noqa: E402
from demo_app.launch import LaunchProblem  # noqa: E402
from demo_app.look import PALETTES  # noqa: E402
from demo_app.main_window import SEARCH_PAUSE_MS  # noqa: E402
from demo_app.note_list import LIST_PADDING  # noqa: E402


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """A private Xvfb for the whole session, ending with this process; DISPLAY points at it."""
    server, reason = start_virtual_display(end_with_this_process=True)
    if server is None:
        pytest.skip(f"GUI tests skipped: no X server could start ({reason})")
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = server.name
    yield server.name
    server.release()
    if previous is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = previous


@pytest.fixture
def app(display: str) -> Iterator[App]:
    runner = App()
    yield runner
    runner.quit()


class App:
    """Launches the demo in fresh Tk roots, as successive runs of the app would."""

    def __init__(self) -> None:
        self.root = None
        self.launch = None
        self.opened_folders: list[Path] = []
        self.splash_seen: list[tuple] = []
        self.splash_titles: list[str] = []

    def start(self, path: Path) -> GuiLaunch:
        self.quit()
        self.root = tk.Tk(className="AppDbNotes")
        self.root.withdraw()
        self.splash_seen = []
        self.splash_titles = []

        def on_splash_step(splash) -> None:
            self.splash_seen.append(
                (splash.message_var.get(), splash.progress["value"], bool(splash.window.winfo_ismapped()))
            )
            self.splash_titles.append(splash.window.title())

        self.launch = launch_gui(
            self.root, path, open_folder=self.opened_folders.append, confirm=lambda _question: True,
            on_splash_step=on_splash_step,
        )
        self.root.update()
        return self.launch

    def toplevel_titles(self) -> list[str]:
        return [child.title() for child in self.root.winfo_children() if isinstance(child, tk.Toplevel)]

    def quit(self) -> None:
        if self.launch is not None and self.launch.window is not None:
            self.launch.window.launched.close()
        if self.root is not None:
            try:
                self.root.destroy()
            except tk.TclError:
                pass  # the app already closed itself (Quit)
        self.root = self.launch = None


def listed(window) -> list[str]:
    return list(window.note_list.get(0, "end"))


def use_scrollbar(scrollbar, *args: str) -> None:
    """What dragging the thumb or clicking the trough does: call the scrollbar's command."""
    scrollbar.tk.eval(f"{scrollbar.cget('command')} {' '.join(args)}")


def type_note(window, title: str, tags: str, body: str) -> None:
    window.new_button.invoke()
    window.title_var.set(title)
    window.tags_var.set(tags)
    window.body_text.insert("1.0", body)
    window.save_button.invoke()


def test_fresh_install_splash_then_notes_and_preferences_persist(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    window = app.start(path).window
    assert window is not None
    # a first start sets the notebook up: no data to update, nothing to back up
    assert app.splash_seen[0] == ("Setting up your notes (1 of 7): Create notes and tags", 0, True)
    assert app.splash_seen[-1][0] == "Setting up your notes (7 of 7): Require a title on every note"
    assert app.launch.splash_texts[0] == app.splash_seen[0][0]
    assert app.splash_titles == ["AppDbNotes: setting up your notes"] * 7
    assert [seen[1] for seen in app.splash_seen] == list(range(7))
    assert app.toplevel_titles() == []  # the splash is gone once the main window shows
    assert window.root.state() == "normal"
    assert listed(window) == []
    assert window.status_var.get() == f"No notes yet. They will be kept in {path}"  # no "0 note(s)", no migrations

    type_note(window, "Groceries", "Home, shopping", "milk\neggs")
    type_note(window, "Release plan", "work", "Ship on Friday.")
    assert listed(window) == ["Release plan", "Groceries"]
    window.preferences_button.invoke()
    dialog = window.preferences_dialog
    assert (dialog.theme_var.get(), dialog.font_size_var.get()) == ("light", "11")
    dialog.theme_var.set("dark")
    dialog.font_size_var.set("16")
    dialog.save_button.invoke()
    assert not dialog.window.winfo_exists()
    assert tkfont.nametofont("TkTextFont").cget("size") == 16

    window = app.start(path).window  # the next launch: a new Tk, the same file
    assert app.splash_seen == [] and app.launch.splash_texts == []  # nothing pending: no splash
    assert listed(window) == ["Release plan", "Groceries"]
    window.note_list.selection_clear(0, "end")
    window.note_list.selection_set(1)
    window.note_list.event_generate("<<ListboxSelect>>")
    app.root.update()
    assert window.title_var.get() == "Groceries"
    assert window.tags_var.get() == "home, shopping"
    assert window.body_text.get("1.0", "end-1c") == "milk\neggs"
    assert tkfont.nametofont("TkTextFont").cget("size") == 16
    assert window.body_text.cget("background") == PALETTES["dark"]["surface"]
    assert rows(path, "SELECT theme, font_size FROM user_preferences") == [("dark", 16)]


def test_search_edit_pin_and_delete(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    window = app.start(path).window
    type_note(window, "Groceries", "home", "milk")
    type_note(window, "Dentist", "home health", "Tuesday 9:30")
    type_note(window, "Release plan", "work", "Ship on Friday")

    window.search_var.set("home")  # a tag
    assert listed(window) == ["Dentist", "Groceries"]
    window.search_var.set("friday")  # the body, any case
    assert listed(window) == ["Release plan"]
    window.search_var.set("")

    window.open_note(window.note_ids[listed(window).index("Groceries")])
    window.pinned_var.set(True)
    window.title_var.set("Groceries for Sunday")
    window.save_button.invoke()
    assert listed(window)[0] == "★ Groceries for Sunday"

    window.open_note(window.note_ids[listed(window).index("Dentist")])
    window.delete_button.invoke()
    assert listed(window) == ["★ Groceries for Sunday", "Release plan"]
    assert rows(path, "SELECT name FROM tag ORDER BY name") == [("home",), ("work",)]  # "health" went with it

    window = app.start(path).window
    assert listed(window) == ["★ Groceries for Sunday", "Release plan"]


def test_upgrade_shows_each_step_and_opens_the_transformed_notes(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    window = app.start(path).window
    assert window is not None
    assert [seen[0] for seen in app.splash_seen] == [
        "Updating your data (1 of 5): Add font size preference",
        "Updating your data (2 of 5): Add pinned notes",
        "Updating your data (3 of 5): Add note titles",
        "Updating your data (4 of 5): Move first lines into titles",
        "Updating your data (5 of 5): Require a title on every note",
    ]
    assert app.splash_titles == ["AppDbNotes: updating your data"] * 5
    assert all(seen[2] for seen in app.splash_seen)  # on screen at every step
    titles = {expected_after_upgrade(note["body"])[0] or "Untitled" for note in OLD_NOTES}
    assert set(listed(window)) == titles
    window.open_note(1)
    assert (window.title_var.get(), window.tags_var.get()) == ("Groceries", "home, shopping")
    assert window.body_text.get("1.0", "end-1c") == "milk\neggs\nbread"
    assert window.body_text.cget("background") == PALETTES["dark"]["surface"]  # release 2's theme kept
    assert window.status_var.get() == f"Your notes were updated for this version of AppDbNotes · 7 notes in {path}"


def test_a_failed_migration_becomes_a_dialog_and_changes_nothing(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    connection = sqlite3.connect(path)  # say a power user's tool left an index where 004 puts its own
    connection.execute("CREATE INDEX note_pinned_updated_at ON note (updated_at)")
    connection.commit()
    connection.close()
    before = rows(path, "SELECT * FROM note ORDER BY id")

    launch = app.start(path)

    assert launch.window is None
    dialog = launch.error_dialog
    assert dialog.headline_label.cget("text") == "Your notes could not be updated for this version of the app."
    detail = dialog.detail_label.cget("text")
    assert '"Add pinned notes" failed' in detail
    assert "your notes are exactly as they were" in detail
    backups = list((tmp_path / "backups").glob("*"))
    assert len(backups) == 1 and str(backups[0]) in detail
    assert "note_pinned_updated_at" in dialog.details_text.get("1.0", "end")
    dialog.open_folder_button.invoke()
    assert app.opened_folders == [backups[0].parent]
    assert app.toplevel_titles() == ["AppDbNotes could not update your notes"]  # the splash is gone
    assert rows(path, "SELECT count(*) FROM app_db_migrations") == [(2,)]
    assert rows(path, "SELECT * FROM note ORDER BY id") == before
    dialog.quit_button.invoke()  # quits the app
    with pytest.raises(tk.TclError):
        app.root.winfo_exists()


def test_a_file_from_a_newer_version_gets_a_dialog(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_newer_version_database(path, tmp_path)
    before = path.read_bytes()

    dialog = app.start(path).newer_dialog  # demo_app/newer_dialog.py; tests/test_newer_demo.py has its choices
    assert dialog.headline_label.cget("text") == "Your notes were saved by a newer version of AppDbNotes."
    assert "Nothing was changed" in dialog.detail_label.cget("text")
    assert "Install the latest version" in dialog.next_step_label.cget("text")
    dialog.open_folder_button.invoke()
    assert app.opened_folders == [tmp_path]
    assert path.read_bytes() == before


def test_a_corrupt_file_can_be_moved_aside_for_an_empty_notebook(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"\x00garbage" * 512)
    launch = app.start(path)
    dialog = launch.error_dialog
    assert dialog.headline_label.cget("text") == "Your notes file is damaged or is not a notes file."
    assert dialog.start_fresh_button is not None
    dialog.start_fresh_button.invoke()
    app.root.update()
    assert launch.window is not None and launch.error_dialog is None
    assert listed(launch.window) == []
    assert launch.moved_aside.read_bytes() == b"\x00garbage" * 512  # kept, under a new name
    assert launch.moved_aside.parent == tmp_path


def test_the_status_line_counts_notes_in_plain_words(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    window = app.start(path).window
    type_note(window, "Groceries", "", "milk")
    window = app.start(path).window  # nothing pending: no word about updates
    assert window.status_var.get() == f"1 note in {path}"
    type_note(window, "Dentist", "", "Tuesday")
    window.search_var.set("tuesday")
    assert window.status_var.get() == '1 note matches "tuesday"'
    window.search_var.set("nowhere")
    assert window.status_var.get() == 'No note matches "nowhere"'
    window.search_var.set("")
    assert window.status_var.get() == "2 notes"


@pytest.mark.slow
def test_400000_notes_open_as_one_screenful_and_scroll_to_the_oldest(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_large_notebook(path, 400_000)
    window = app.start(path).window
    view = window.notes_view

    assert 5 <= window.note_list.size() == view.rows < 100  # only the rows on screen, never 400,000
    assert window.note_list.bbox(view.rows - 1) is not None  # and every one of them fits
    assert listed(window)[0] == "Note 400000 about garden"  # the newest first
    assert window.title_var.get() == "Note 400000 about garden"  # and open
    assert window.status_var.get() == f"400,000 notes in {path}"
    first, last = view.scrollbar.get()
    assert first == 0 and 0 < last < 0.001

    use_scrollbar(view.scrollbar, "moveto", "1.0")
    app.root.update()
    assert listed(window)[-1] == "Note 1 about invoices"
    assert view.scrollbar.get()[1] == 1.0
    use_scrollbar(view.scrollbar, "scroll", "-1", "pages")
    assert listed(window)[-1] == f"Note {1 + view.rows} about {LARGE_TOPICS[(1 + view.rows) % 8]}"

    window.note_list.focus_force()  # the keyboard reaches past the screenful too
    app.root.update()
    window.note_list.event_generate("<End>")
    assert window.title_var.get() == "Note 1 about invoices"
    window.note_list.event_generate("<Home>")
    assert window.title_var.get() == "Note 400000 about garden"
    window.note_list.event_generate("<Down>")
    assert window.title_var.get() == "Note 399999 about taxes"
    assert window.note_list.curselection() == (1,)
    use_scrollbar(view.scrollbar, "moveto", "0.5")
    halfway = listed(window)

    window.search_var.set("garden")  # a large notebook searches once typing pauses, not at each key
    assert window.pending_search is not None and listed(window) == halfway
    paused = tk.BooleanVar(app.root)
    app.root.after(SEARCH_PAUSE_MS + 1, paused.set, True)  # Tk runs due timers in order: the search's first
    app.root.wait_variable(paused)
    assert window.status_var.get() == '50,000 notes match "garden"'
    assert view.first == 0  # a new search starts at its top, wherever the list was
    assert listed(window)[:2] == ["Note 400000 about garden", "Note 399992 about garden"]
    use_scrollbar(view.scrollbar, "moveto", "1.0")
    assert listed(window)[-1] == "Note 8 about garden"


def test_a_note_saved_deep_in_a_large_list_moves_to_the_top_in_view(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_large_notebook(path, 50_000)
    window = app.start(path).window
    use_scrollbar(window.notes_view.scrollbar, "moveto", "0.5")
    window.note_list.selection_set(3)
    window.note_list.event_generate("<<ListboxSelect>>")
    opened = window.title_var.get()
    assert opened == listed(window)[3]
    window.body_text.insert("end", " Edited.")
    window.save_button.invoke()
    assert listed(window)[0] == opened and window.note_list.curselection() == (0,)
    assert window.notes_view.first == 0
    window.delete_button.invoke()  # the next note takes its place in the editor
    assert window.title_var.get() == listed(window)[0] == "Note 50000 about garden"
    assert window.notes_view.total == 49_999


def test_list_text_is_padded_from_the_lists_border(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    window = app.start(path).window
    type_note(window, "Groceries", "", "milk")
    x, y, _width, _height = window.note_list.bbox(0)
    border = int(window.note_list.cget("highlightthickness"))
    assert x - border >= LIST_PADDING and y - border >= LIST_PADDING
    for scrollbar in (window.notes_view.scrollbar, window.body_scroll):  # not squeezed out by a narrow pane
        assert scrollbar.winfo_ismapped() and scrollbar.winfo_width() >= 8


def test_the_error_dialogs_details_scroll_to_their_last_line(app: App, tmp_path: Path) -> None:
    app.start(tmp_path / "notes.sqlite3")
    technical = "\n".join(f"Traceback line {number}" for number in range(1, 61))
    problem = LaunchProblem(title="t", headline="h", detail="d", next_step="n", folder=None, technical=technical)
    dialog = ErrorDialog(app.root, problem, on_quit=lambda: None)
    app.root.update()
    assert dialog.details_text.bbox("60.0") is None  # too long to show at once
    assert dialog.details_scroll.get()[1] < 1.0  # and the scrollbar says so
    use_scrollbar(dialog.details_scroll, "moveto", "1.0")
    app.root.update()
    assert dialog.details_text.bbox("60.0") is not None
    assert dialog.details_scroll.get()[1] == 1.0
    dialog.close()


@pytest.mark.slow
def test_the_splash_handles_events_inside_a_table_rebuild_through_keep_alive(app: App, project) -> None:
    """A rebuild reports no rows: only app_db's keep_alive, calling the splash's, gives Tk control inside it."""
    from demo_app.splash import Splash

    project.add("001_big.py", "20240601_090000_big", '''
        schema.sql("CREATE TABLE big (id INTEGER PRIMARY KEY, x INTEGER NOT NULL)")
        schema.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) "
                   "INSERT INTO big SELECT i, i FROM n")
    ''')
    project.launch()
    project.add("002_retype.py", "20240602_090000_retype",
                'schema.alter_column_type("big", "x", peewee.CharField(null=False))')  # the 12-step copy
    app.root = tk.Tk(className="AppDbNotes")
    app.root.withdraw()
    splash = Splash(app.root, 1)
    handled_during_the_step = []
    migrating = True

    def on_progress(index, total, migration) -> None:
        splash.show_step(index, total, migration)  # repaints, then the step starts: only keep_alive can run this
        app.root.after(0, lambda: handled_during_the_step.append(migrating))

    database = project.database(on_progress=on_progress, keep_alive=splash.keep_alive)
    assert database.register_models([]).applied == ["20240602_090000_retype"]
    migrating = False
    database.close()
    app.root.update()
    assert handled_during_the_step == [True]
    assert splash.keep_alive_calls >= 1
    assert project.rows("SELECT typeof(x), count(*) FROM big GROUP BY 1") == [("text", 400_000)]
    splash.close()


def test_closing_the_splash_mid_update_lets_the_update_finish_and_the_notes_open(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    app.root = tk.Tk(className="AppDbNotes")
    app.root.withdraw()

    def on_splash_step(splash) -> None:
        if "(2 of 5)" in splash.message_var.get():
            splash.window.destroy()  # as a window manager's close would

    app.launch = launch_gui(app.root, path, on_splash_step=on_splash_step)
    assert app.launch.error_dialog is None and app.launch.window is not None
    assert len(app.launch.splash_texts) == 5  # every step ran, the later ones without a splash
    assert rows(path, "SELECT count(*) FROM app_db_migrations") == [(7,)]
    assert app.toplevel_titles() == []
    assert set(listed(app.launch.window)) == {expected_after_upgrade(note["body"])[0] or "Untitled" for note in OLD_NOTES}


def test_an_exception_inside_the_update_takes_the_splash_down_and_changes_nothing(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_release_2_database(path)
    before = rows(path, "SELECT * FROM note ORDER BY id")
    app.root = tk.Tk(className="AppDbNotes")
    app.root.withdraw()

    def on_splash_step(splash) -> None:
        if "(3 of 5)" in splash.message_var.get():
            raise KeyboardInterrupt  # Ctrl-C in the terminal that started the app

    with pytest.raises(KeyboardInterrupt):
        launch_gui(app.root, path, on_splash_step=on_splash_step)
    assert app.toplevel_titles() == []  # the splash is not left on screen
    assert rows(path, "SELECT id FROM app_db_migrations ORDER BY id") == [
        ("20240601_090000_initial_schema",), (RELEASE_2,)]
    assert rows(path, "SELECT * FROM note ORDER BY id") == before


@pytest.mark.slow
def test_the_splash_handles_events_inside_a_long_data_migration(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo_app.splash import Splash

    monkeypatch.setattr(Splash, "STILL_WORKING_AFTER", 0.0)  # say so at once, not after 3 s
    path = tmp_path / "notes.sqlite3"
    build_large_notebook(path, 200_000, release=RELEASE_2)  # long enough steps on a fast machine too
    root = tk.Tk(className="AppDbNotes")
    root.withdraw()
    app.root = root
    seen_by_event: list[float] = []
    still_working: list[str] = []

    splashes = []

    def on_splash_step(splash) -> None:  # called once the step's text is on screen, before the step runs
        splashes.append(splash)
        if splash.message_var.get().startswith("Updating your data (4 of 5)"):
            # 006 rewrites every note in Python (007's add_not_null is an in-place change: too quick to test)
            root.after(0, lambda: seen_by_event.append(splash.progress["value"]))
            root.after(0, lambda: still_working.append(splash.still_working_var.get()))

    app.launch = launch_gui(root, path, on_splash_step=on_splash_step)
    assert app.launch.window is not None
    # The event ran while its step was still going (progress at 3, or within the step once 006
    # reports its rows), not after the next step began (4): Tk got control inside the step.
    assert len(seen_by_event) == 1 and 3 <= seen_by_event[0] < 4, seen_by_event
    assert all(text.startswith("Still working on this step (") for text in still_working), still_working
    assert splashes[-1].keep_alive_calls >= 1  # the demo hands its splash's keep_alive to app_db


def test_run_gui_reports_its_first_window_once_it_is_on_screen(display: str, tmp_path: Path) -> None:
    seen = []

    def on_first_window(root) -> None:  # what `python -m bench` times
        seen.append((root.winfo_ismapped(), root.title()))
        root.destroy()

    assert run_gui(tmp_path / "notes.sqlite3", on_first_window=on_first_window) == 0
    assert seen == [(1, "AppDbNotes: notes.sqlite3")]


def test_a_bigger_font_or_a_smaller_window_shows_fewer_rows_each_fully(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_large_notebook(path, 1_000)
    window = app.start(path).window
    view = window.notes_view
    at_11_pt = view.rows
    window.save_preferences("light", 20)
    app.root.update()
    assert window.note_list.size() == view.rows < at_11_pt
    assert window.note_list.bbox(view.rows - 1) is not None
    window.root.geometry("900x420")
    app.root.update()
    assert window.note_list.size() == view.rows < at_11_pt
    assert window.note_list.bbox(view.rows - 1) is not None
    assert listed(window)[0] == "Note 1000 about garden"


def test_edits_survive_another_process_deleting_the_open_note_and_adding_many(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    window = app.start(path).window
    type_note(window, "Groceries", "home", "milk")
    type_note(window, "Dentist", "", "Tuesday")
    window.open_note(window.note_ids[listed(window).index("Groceries")])
    window.body_text.insert("end", "\neggs")  # being edited while, elsewhere, a sync tool changes the file
    script = (
        "import sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1])\n"
        "with connection:\n"
        "    connection.execute(\"DELETE FROM note WHERE title = 'Groceries'\")\n"
        "    connection.executemany(\"INSERT INTO note (title, body, pinned, created_at, updated_at) "
        "VALUES (?, '', 0, '2020-01-01 00:00:00', '2020-01-01 00:00:00')\", [(f'Synced {i}',) for i in range(500)])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)

    window.save_button.invoke()
    assert window.status_var.get() == 'Saved "Groceries".'
    assert rows(path, "SELECT title, body FROM note WHERE title = 'Groceries'") == [("Groceries", "milk\neggs")]
    assert listed(window)[:3] == ["Groceries", "Dentist", "Synced 499"]
    assert window.notes_view.total == 502
    use_scrollbar(window.notes_view.scrollbar, "moveto", "1.0")
    assert listed(window)[-1] == "Synced 0"


@pytest.mark.slow
def test_the_splash_shows_a_percentage_inside_the_first_line_to_title_migration(app: App, tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    build_large_notebook(path, 200_000, release=RELEASE_2)
    bars: list[float] = []
    root = tk.Tk(className="AppDbNotes")
    root.withdraw()
    app.root = root
    app.launch = launch_gui(root, path, on_splash_rows=lambda splash: bars.append(float(splash.progress["value"])))
    assert app.launch.window is not None
    step = "Updating your data (4 of 5): Move first lines into titles, "
    assert app.launch.row_texts and all(text.startswith(step) for text in app.launch.row_texts), app.launch.row_texts
    percentages = [int(text[len(step):].rstrip("%")) for text in app.launch.row_texts]
    assert percentages[0] == 0 and percentages[-1] == 100 and percentages == sorted(percentages), percentages
    assert all(3 <= bar <= 4 for bar in bars) and bars[-1] == 4  # the bar moves within the fourth step
    assert len(percentages) <= 2 + 10 * 30  # throttled: ~10 a second at most, never one per note
