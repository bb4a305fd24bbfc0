"""The main window: the notes list with search on the left, the editor on the right."""

from __future__ import annotations

import tkinter as tk
from tkinter import messagebox, ttk
from typing import Callable, List, Optional

from . import notes
from .db import APP_NAME
from .launch import Launched
from .look import apply_look, style_plain_widget
from .note_list import UNTITLED, NoteList
from .notes import NoteListing
from .preferences_dialog import PreferencesDialog

INSTANT_SEARCH_LIMIT = 20_000  # up to this many notes a search is quick enough to run at each keystroke
SEARCH_PAUSE_MS = 300  # above, wait for a pause in typing (a search then reads every note once)


def ask_to_confirm(question: str) -> bool:
    return messagebox.askyesno(APP_NAME, question, icon="warning")


class NotesWindow:
    """Builds its widgets inside ``root``; the models must already be bound (see launch.open_notes).

    ``confirm`` asks before a delete; tests pass their own answer.
    """

    def __init__(self, root: tk.Tk, launched: Launched, confirm: Callable[[str], bool] = ask_to_confirm) -> None:
        self.root = root
        self.launched = launched
        self.confirm = confirm
        self.current_id: Optional[int] = None
        self.loaded = ("", "", "", False)  # what the editor showed when the note was opened
        self.preferences_dialog: Optional[PreferencesDialog] = None
        self.notebook_size = 0  # notes in the whole notebook, whatever the search
        self.pending_search: Optional[str] = None  # the after() id of a search waiting for a pause

        root.title(f"{APP_NAME}: {launched.path.name}")
        root.geometry("900x540")
        root.minsize(640, 380)

        toolbar = ttk.Frame(root, padding=(10, 10, 10, 6))
        toolbar.pack(fill="x")
        ttk.Label(toolbar, text="Search").pack(side="left")
        self.search_var = tk.StringVar()
        self.search_entry = ttk.Entry(toolbar, textvariable=self.search_var, width=30)
        self.search_entry.pack(side="left", padx=(6, 0))
        self.search_var.trace_add("write", lambda *_args: self.search_changed())
        self.search_entry.bind("<Return>", lambda _event: self.search_now())
        self.preferences_button = ttk.Button(toolbar, text="Preferences…", command=self.open_preferences)
        self.preferences_button.pack(side="right")
        self.new_button = ttk.Button(toolbar, text="New note", command=self.new_note)
        self.new_button.pack(side="right", padx=(0, 8))

        self.status_var = tk.StringVar()
        self.status_label = ttk.Label(root, textvariable=self.status_var, style="Muted.TLabel", padding=(10, 4, 10, 6))
        self.status_label.pack(fill="x", side="bottom")  # packed before the panes so they cannot squeeze it out

        panes = ttk.PanedWindow(root, orient="horizontal")
        panes.pack(fill="both", expand=True, padx=10)

        self.notes_view = NoteList(panes, on_select=self.on_select)
        self.note_list = self.notes_view.listbox
        panes.add(self.notes_view.frame, weight=1)

        editor = ttk.Frame(panes, padding=(12, 0, 0, 0))
        editor.columnconfigure(1, weight=1)
        editor.rowconfigure(3, weight=1)
        ttk.Label(editor, text="Title").grid(row=0, column=0, sticky="w", padx=(0, 8))
        self.title_var = tk.StringVar()
        self.title_entry = ttk.Entry(editor, textvariable=self.title_var)
        self.title_entry.grid(row=0, column=1, sticky="we", pady=2)
        ttk.Label(editor, text="Tags").grid(row=1, column=0, sticky="w", padx=(0, 8))
        self.tags_var = tk.StringVar()
        self.tags_entry = ttk.Entry(editor, textvariable=self.tags_var)
        self.tags_entry.grid(row=1, column=1, sticky="we", pady=2)
        self.pinned_var = tk.BooleanVar(value=False)
        self.pinned_check = ttk.Checkbutton(editor, text="Pinned to the top", variable=self.pinned_var)
        self.pinned_check.grid(row=2, column=1, sticky="w", pady=2)
        body_frame = ttk.Frame(editor)
        body_frame.grid(row=3, column=0, columnspan=2, sticky="nsew", pady=(6, 0))
        self.body_text = tk.Text(body_frame, wrap="word", undo=True, padx=8, pady=6, font="TkTextFont")
        self.body_scroll = ttk.Scrollbar(body_frame, orient="vertical", command=self.body_text.yview)
        self.body_text.configure(yscrollcommand=self.body_scroll.set)
        self.body_scroll.pack(side="right", fill="y")  # packed first, as the list's: never squeezed out
        self.body_text.pack(side="left", fill="both", expand=True)
        actions = ttk.Frame(editor)
        actions.grid(row=4, column=0, columnspan=2, sticky="e", pady=8)
        self.delete_button = ttk.Button(actions, text="Delete", command=self.delete)
        self.delete_button.pack(side="left")
        self.save_button = ttk.Button(actions, text="Save", style="Accent.TButton", command=self.save)
        self.save_button.pack(side="left", padx=(8, 0))
        panes.add(editor, weight=3)

        root.bind("<Control-s>", lambda _event: self.save())
        root.bind("<Control-n>", lambda _event: self.new_note())
        root.bind("<Control-f>", lambda _event: self.search_entry.focus_set())

        preferences = notes.load_preferences()
        self.apply_preferences(preferences.theme, preferences.font_size)
        self.refresh()
        if self.note_ids:
            self.open_note(self.note_ids[0])
            self.notes_view.select(self.current_id)
        else:
            self.new_note()
        self.show_status(self.launch_summary())

    @property
    def note_ids(self) -> List[int]:
        """The ids of the rows on screen, top first (the list holds no others)."""
        return self.notes_view.ids

    # -- reading the editor ------------------------------------------------

    def editor_values(self) -> tuple:
        return (
            self.title_var.get().strip(),
            self.tags_var.get().strip(),
            self.body_text.get("1.0", "end-1c"),
            bool(self.pinned_var.get()),
        )

    def is_dirty(self) -> bool:
        return self.editor_values() != self.loaded

    # -- actions -----------------------------------------------------------

    def refresh(self, select_id: Optional[int] = None) -> NoteListing:
        """Re-read the list for the current search, scrolled to ``select_id`` or the open note."""
        search = self.search_var.get()
        if search.strip() and self.notebook_size > INSTANT_SEARCH_LIMIT:
            self.show_status(f"Searching {self.notebook_size:,} notes…")
            self.status_label.update_idletasks()  # the search takes a moment: say so first
        listing = NoteListing(search)
        if not listing.search:
            self.notebook_size = listing.total
        self.notes_view.selected_id = self.current_id
        self.notes_view.show(listing, select_id=select_id)
        return listing

    def search_changed(self) -> None:
        """Search as the user types; in a large notebook, once typing pauses."""
        if self.notebook_size <= INSTANT_SEARCH_LIMIT:
            self.search_now()
        else:
            self.cancel_pending_search()
            self.pending_search = self.root.after(SEARCH_PAUSE_MS, self.search_now)

    def cancel_pending_search(self) -> None:
        if self.pending_search is not None:
            self.root.after_cancel(self.pending_search)
            self.pending_search = None

    def search_now(self) -> None:
        self.cancel_pending_search()
        listing = self.refresh()
        if listing.search:
            self.show_status(count_text(listing.total, "note matches", "notes match", none="No note matches")
                             + f' "{listing.search}"')
        else:
            self.show_status(count_text(listing.total, "note", "notes", none="No notes yet"))

    def on_select(self, note_id: int) -> None:
        if note_id == self.current_id:
            return
        if self.is_dirty():  # switching away keeps edits, as notes apps do
            self.save(refresh=False)
            self.open_note(note_id)
            self.refresh(select_id=note_id)  # the saved note moved to the top
        else:
            self.open_note(note_id)

    def open_note(self, note_id: int) -> None:
        note = notes.get_note(note_id)
        self.current_id = note_id
        self.show_in_editor(note.title, ", ".join(notes.note_tags(note_id)), note.body, bool(note.pinned))

    def show_in_editor(self, title: str, tags: str, body: str, pinned: bool) -> None:
        self.title_var.set(title)
        self.tags_var.set(tags)
        self.pinned_var.set(pinned)
        self.body_text.delete("1.0", "end")
        self.body_text.insert("1.0", body)
        self.body_text.edit_reset()
        self.loaded = self.editor_values()

    def new_note(self) -> None:
        if self.current_id is not None and self.is_dirty():
            self.save(refresh=False)
        self.current_id = None
        self.notes_view.clear_selection()
        self.show_in_editor("", "", "", False)
        self.title_entry.focus_set()

    def save(self, refresh: bool = True) -> None:
        title, tags, body, pinned = self.editor_values()
        if self.current_id is None and not (title or body):
            self.show_status("Nothing to save: write a title or some text first.")
            return
        self.current_id = notes.save_note(self.current_id, title, body, notes.parse_tags(tags), pinned)
        self.loaded = self.editor_values()
        if refresh:
            self.refresh(select_id=self.current_id)
        self.show_status(f'Saved "{title or UNTITLED}".')

    def delete(self) -> None:
        if self.current_id is None:
            self.new_note()
            return
        title = self.title_var.get().strip() or UNTITLED
        if not self.confirm(f'Delete the note "{title}"? This cannot be undone.'):
            return
        position = self.notes_view.listing.position(self.current_id) if self.notes_view.listing else None
        notes.delete_note(self.current_id)
        self.current_id = None
        self.notes_view.clear_selection()
        listing = self.refresh()
        following = listing.page(min(position or 0, listing.total - 1), 1) if listing.total else []
        if following:  # the note that took its place, as mail and notes apps do
            self.open_note(following[0].id)
            self.notes_view.select(self.current_id)
        else:
            self.new_note()
        self.show_status(f'Deleted "{title}".')

    def open_preferences(self) -> None:
        if self.preferences_dialog is not None and self.preferences_dialog.window.winfo_exists():
            self.preferences_dialog.window.lift()
            return
        current = notes.load_preferences()
        self.preferences_dialog = PreferencesDialog(
            self.root, current.theme, current.font_size, on_save=self.save_preferences
        )

    def save_preferences(self, theme: str, font_size: int) -> None:
        saved = notes.save_preferences(theme, font_size)
        self.apply_preferences(saved.theme, saved.font_size)
        self.show_status(f"Preferences saved: {saved.theme} theme, {saved.font_size} pt.")

    def apply_preferences(self, theme: str, font_size: int) -> None:
        palette = apply_look(self.root, theme, font_size)
        self.notes_view.restyle(palette)
        style_plain_widget(self.body_text, palette)

    # -- status --------------------------------------------------------------

    def launch_summary(self) -> str:
        """The status line after the launch: the notebook, and whether this version updated it."""
        where = f"{self.launched.path}"
        if self.launched.fresh_install:
            return f"No notes yet. They will be kept in {where}"
        counted = count_text(self.notebook_size, "note", "notes", none="No notes yet")
        if self.launched.applied:
            return f"Your notes were updated for this version of {APP_NAME} · {counted} in {where}"
        return f"{counted} in {where}"

    def show_status(self, text: str) -> None:
        self.status_var.set(text)


def count_text(count: int, one: str, many: str, none: str) -> str:
    """'No notes yet', '1 note', '400,000 notes'."""
    if count == 0:
        return none
    return f"1 {one}" if count == 1 else f"{count:,} {many}"
