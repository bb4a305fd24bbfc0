"""The windowed launch: splash while migrating, then the main window or an error dialog."""

from __future__ import annotations

import sys
import tkinter as tk
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

from app_db import AppDbError, Migration, SchemaTooNewError

from .error_dialog import ErrorDialog, open_folder
from .launch import describe_problem, move_aside, open_notes, progress_text
from .main_window import NotesWindow, ask_to_confirm
from .splash import Splash


@dataclass
class GuiLaunch:
    """What launch_gui put on screen; updated in place when the user starts over from a dialog."""

    window: Optional[NotesWindow] = None
    error_dialog: Optional[ErrorDialog] = None
    newer_dialog: Optional[object] = None  # demo_app.newer_dialog.NewerFileDialog, for a newer version's file
    splash_texts: List[str] = field(default_factory=list)
    row_texts: List[str] = field(default_factory=list)  # the splash's line at each report of a data migration
    moved_aside: Optional[Path] = None


def launch_gui(
    root: tk.Tk,
    path: Optional[Path] = None,
    *,
    open_folder: Callable[[Path], None] = open_folder,
    confirm: Callable[[str], bool] = ask_to_confirm,
    on_splash_step: Optional[Callable[[Splash], None]] = None,
    on_splash_rows: Optional[Callable[[Splash], None]] = None,
) -> GuiLaunch:
    """Run the launch inside ``root`` (kept withdrawn until the main window is ready)."""
    result = GuiLaunch()
    splash: Optional[Splash] = None

    def before_migrating(pending: list, fresh_install: bool) -> None:
        nonlocal splash
        splash = Splash(root, len(pending), fresh_install)

    def on_progress(index: int, total: int, migration: Migration) -> None:
        fresh_install = splash is not None and splash.fresh_install
        result.splash_texts.append(progress_text(index, total, migration, fresh_install=fresh_install))
        if splash is not None:
            splash.show_step(index, total, migration)
            if on_splash_step is not None:
                on_splash_step(splash)

    def keep_alive() -> None:
        if splash is not None:
            splash.keep_alive()

    def on_row_progress(migration: Migration, done: int, rows: int) -> None:
        if splash is not None:
            splash.show_rows(migration, done, rows)
            result.row_texts.append(splash.message_var.get())
            if on_splash_rows is not None:
                on_splash_rows(splash)

    try:
        launched = open_notes(path, on_progress=on_progress, before_migrating=before_migrating, keep_alive=keep_alive,
                              on_row_progress=on_row_progress)
    except BaseException as error:
        if splash is not None:  # whatever stopped the update (rolled back), the splash must not stay up
            splash.close(completed=False)
        if not isinstance(error, AppDbError):
            raise
        problem = describe_problem(error)
        if isinstance(error, SchemaTooNewError):  # quit, read-only, or back to the notes from before the update
            from .newer_dialog import offer_choices

            result.newer_dialog = offer_choices(root, path, problem, error, result, open_folder=open_folder,
                                                confirm=confirm)
            return result

        def start_fresh() -> None:
            assert problem.damaged_file is not None
            result.moved_aside = move_aside(problem.damaged_file)
            if result.error_dialog is not None:
                result.error_dialog.close()
            again = launch_gui(root, path, open_folder=open_folder, confirm=confirm, on_splash_step=on_splash_step)
            result.window, result.error_dialog = again.window, again.error_dialog
            result.splash_texts.extend(again.splash_texts)

        result.error_dialog = ErrorDialog(
            root,
            problem,
            on_quit=root.destroy,
            open_folder=open_folder,
            on_start_fresh=start_fresh if problem.damaged_file is not None else None,
        )
        return result
    if splash is not None:
        splash.close()
    result.window = NotesWindow(root, launched, confirm=confirm)
    root.deiconify()
    return result


def run_gui(path: Optional[Path] = None, on_first_window: Optional[Callable[[tk.Tk], None]] = None) -> int:
    """``python -m demo_app``: 0 when the notes window opened, 1 after a launch error, 2 with no display.

    ``on_first_window(root)`` runs once the notes window is on screen, filled
    and idle: what `python -m bench` times.
    """
    try:
        root = tk.Tk(className="AppDbNotes")
    except tk.TclError as error:
        print(f"Cannot open a window ({error}). Run `python -m demo_app --headless` instead.", file=sys.stderr)
        return 2
    root.withdraw()
    result = launch_gui(root, path)
    if on_first_window is not None and result.window is not None:

        def first_idle() -> None:
            if not root.winfo_ismapped():  # mapped by the X server, not merely asked to be
                root.after(5, first_idle)
                return
            root.update_idletasks()  # the list sized and filled for that window
            on_first_window(root)

        root.after_idle(first_idle)
    root.mainloop()
    if result.window is not None:
        result.window.launched.close()
        return 0
    return 1
