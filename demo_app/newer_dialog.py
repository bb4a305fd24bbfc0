"""The dialog for notes a newer AppDbNotes saved: quit, open them read-only, or go back to the notes from before.

A newer version changed the file in ways this one does not know, so it will
not write to it. The user picks one of three ways on: quit (and install the
newer version), read the notes without changing them (app_db's
``on_newer="read_only"``), or go back to the copy app_db took just before
the update (``restore_before_newer()``), which says from when it is; the
current file is kept beside it.
"""

from __future__ import annotations

import datetime
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import TYPE_CHECKING, Callable, Optional

from app_db import AppDbError, RestoredBackup, SchemaTooNewError

from .db import APP_NAME, notes_database
from .error_dialog import ErrorDialog, open_folder
from .launch import LaunchProblem, open_notes

if TYPE_CHECKING:
    from .gui import GuiLaunch


def find_backup(path: Optional[Path]) -> Optional[RestoredBackup]:
    """The copy from before the update that "Go back" would restore, or None; only reads."""
    database = notes_database(path)
    try:
        return database.find_backup_before_newer()
    finally:
        database.close()


def go_back(path: Optional[Path]) -> RestoredBackup:
    """Restore the notes from before the update; the newer version's file is kept as a backup (``kept``)."""
    database = notes_database(path)
    try:
        return database.restore_before_newer()
    finally:
        database.close()


def when_text(moment: datetime.datetime) -> str:
    """A backup's time in the user's own time zone: "2 December 2026 at 09:40"."""
    local = moment.astimezone()
    return f"{local.day} {local:%B %Y} at {local:%H:%M}"


def updated_text(error: SchemaTooNewError) -> str:
    """Which version changed the notes and when, as far as the file says."""
    if not error.updated_by or error.updated_by.startswith(("a newer version", "a version that did not say")):
        return f"A newer version of {APP_NAME} changed them"
    who, _, day = error.updated_by.rpartition(" on ")
    try:
        date = datetime.date.fromisoformat(day)
    except ValueError:
        return f"{who} changed them"
    return f"{who} changed them on {date.day} {date:%B %Y}"


class NewerFileDialog:
    """In place of the main window when a newer version saved the notes: three ways on, none of them writes first.

    The launch's error dialog (the same look, details and data folder) with
    this file's choices added before Quit.
    """

    def __init__(
        self,
        root: tk.Tk,
        problem: LaunchProblem,
        error: SchemaTooNewError,
        backup: Optional[RestoredBackup],
        on_quit: Callable[[], None],
        on_read_only: Callable[[], None],
        on_go_back: Callable[[], None],
        open_folder: Callable[[Path], None] = open_folder,
    ) -> None:
        self.backup = backup
        self.restored: Optional[RestoredBackup] = None  # set once "Go back" restored it
        if backup is not None:
            back = (
                f"go back to your notes as they were on {when_text(backup.taken_at)}, before the update (what "
                "you wrote since, in the newer version, is kept in the backups folder)."
            )
        else:
            back = "(there is no copy from before the update to go back to)."
        read_only = "open them read-only, to read and copy them without changing them"
        self.dialog = ErrorDialog(
            root,
            problem.replaced(
                detail=(
                    f"{updated_text(error)}, in ways this version does not know, so this version will not write "
                    "to them. Nothing was changed."
                ),
                next_step=f"{problem.next_step} Or {read_only}{'; or ' if backup is not None else ' '}{back}",
            ),
            on_quit=on_quit,
            open_folder=open_folder,
        )
        self.window = self.dialog.window
        self.headline_label = self.dialog.headline_label
        self.detail_label = self.dialog.detail_label
        self.next_step_label = self.dialog.next_step_label
        self.open_folder_button = self.dialog.open_folder_button
        self.quit_button = self.dialog.quit_button
        buttons = self.quit_button.master
        self.read_only_button = ttk.Button(buttons, text="Open read-only", command=on_read_only)
        self.read_only_button.pack(side="left", padx=(8, 0), before=self.quit_button)
        self.go_back_button: Optional[ttk.Button] = None
        if backup is not None:
            self.go_back_button = ttk.Button(
                buttons, text=f"Go back to {backup.taken_at.astimezone():%d %b %H:%M}", command=on_go_back
            )
            self.go_back_button.pack(side="left", padx=(8, 0), before=self.read_only_button)

    def show_problem(self, text: str) -> None:
        """Say why a choice did not work; the dialog stays, so another can be made."""
        self.dialog.status_var.set(text)

    def close(self) -> None:
        self.dialog.close()


def offer_choices(
    root: tk.Tk,
    path: Optional[Path],
    problem: LaunchProblem,
    error: SchemaTooNewError,
    result: GuiLaunch,
    *,
    open_folder: Callable[[Path], None],
    confirm: Callable[[str], bool],
) -> NewerFileDialog:
    """Put up the dialog; each choice fills ``result`` in place as launch_gui would (the window, or an error)."""
    from .main_window import NotesWindow

    def read_only() -> None:
        try:
            launched = open_notes(path, on_newer="read_only")
            window = NotesWindow(root, launched, confirm=confirm)
        except AppDbError as failure:
            dialog.show_problem(f"Could not open your notes read-only: {failure}")
            return
        dialog.close()
        result.window = window
        # Nothing the user does can be saved: say so, and offer no button that would try.
        for button in (window.save_button, window.delete_button, window.new_button, window.preferences_button):
            button.state(["disabled"])
        for key in ("<Control-s>", "<Control-n>"):
            root.unbind(key)
        root.title(f"{APP_NAME}: {launched.path.name} (read-only)")
        window.show_status(f"Read-only: {updated_text(error).replace(' changed them', ' saved these notes')}.")
        root.deiconify()

    def go_back_now() -> None:
        from .gui import launch_gui

        try:
            restored = go_back(path)
        except AppDbError as failure:
            dialog.show_problem(f"Could not go back: {failure}")
            return
        dialog.close()
        dialog.restored = restored
        again = launch_gui(root, path, open_folder=open_folder, confirm=confirm)
        result.window, result.error_dialog = again.window, again.error_dialog
        if result.window is not None:
            result.window.show_status(
                f"Back to your notes from {when_text(restored.taken_at)}. The newer version's file is kept: "
                f"{restored.kept}"
            )

    dialog = NewerFileDialog(
        root,
        problem,
        error,
        find_backup(path),
        on_quit=root.destroy,
        on_read_only=read_only,
        on_go_back=go_back_now,
        open_folder=open_folder,
    )
    return dialog
