"""The splash shown while migrations run, so a long upgrade never looks like a hang."""

from __future__ import annotations

import time
import tkinter as tk
from tkinter import ttk

from app_db import Migration

from .db import APP_NAME
from .launch import progress_text
from .look import apply_look


class Splash:
    """A borderless window with the step being applied and a progress bar.

    The migrations run on Tk's thread (SQLite connections stay on the thread
    that opened them), so each step repaints the window before it starts, and
    ``keep_alive`` (app_db calls it about every 0.1 s inside a long step, such
    as a table rebuild) lets Tk repaint and handle events in between: the
    window never freezes, and after a few seconds says the step is still going.
    """

    STILL_WORKING_AFTER = 3.0  # s into one step before the splash says it is still working

    def __init__(self, root: tk.Tk, total: int, fresh_install: bool = False) -> None:
        apply_look(root, "light", 11)
        self.total = total
        self.fresh_install = fresh_install  # a first start: nothing to back up or update, the notebook is set up
        self.window = tk.Toplevel(root)
        self.window.title(f"{APP_NAME}: {'setting up your notes' if fresh_install else 'updating your data'}")
        self.window.overrideredirect(True)
        card = ttk.Frame(self.window, style="Card.TFrame", padding=(28, 22))
        card.pack(fill="both", expand=True)
        ttk.Label(card, text=APP_NAME, style="CardTitle.TLabel").pack(anchor="w")
        self.message_var = tk.StringVar(
            value="Setting up your notes…" if fresh_install else "Backing up your data before updating it…"
        )
        self.message_label = ttk.Label(card, textvariable=self.message_var, style="Card.TLabel", width=48)
        self.message_label.pack(anchor="w", pady=(14, 8))
        self.step_started = time.monotonic()
        self.index = 1
        self.keep_alive_calls = 0
        self.progress = ttk.Progressbar(card, orient="horizontal", length=420, mode="determinate", maximum=total)
        self.progress.pack(fill="x")
        self.still_working_var = tk.StringVar(value="")
        ttk.Label(card, textvariable=self.still_working_var, style="CardMuted.TLabel").pack(anchor="w", pady=(6, 0))
        if not fresh_install:
            ttk.Label(
                card,
                text="A backup is kept, and an update that fails is undone.",
                style="CardMuted.TLabel",
            ).pack(anchor="w", pady=(2, 0))
        self.center()
        self.window.update()

    def center(self) -> None:
        self.window.update_idletasks()
        width, height = self.window.winfo_reqwidth(), self.window.winfo_reqheight()
        x = (self.window.winfo_screenwidth() - width) // 2
        y = (self.window.winfo_screenheight() - height) // 3
        self.window.geometry(f"+{x}+{y}")

    def show_step(self, index: int, total: int, migration: Migration) -> None:
        """Called before migration ``index`` (from 1) of ``total`` runs."""
        self.step_started = time.monotonic()
        self.index = index
        if not self.is_shown():
            return
        self.still_working_var.set("")
        self.message_var.set(progress_text(index, total, migration, fresh_install=self.fresh_install))
        self.progress.configure(maximum=total, value=index - 1)
        self.handle_events()

    def show_rows(self, migration: Migration, done: int, rows: int) -> None:
        """A data migration's own progress (``done`` of ``rows``): the step's line gets a percentage, the bar moves within the step."""
        if not self.is_shown():
            return
        self.message_var.set(progress_text(self.index, self.total, migration, done, rows, self.fresh_install))
        self.progress.configure(value=self.index - 1 + (done / rows if rows else 0))
        self.repaint()

    def keep_alive(self) -> None:
        """app_db's ``keep_alive``, from SQLite's progress handler: only Tk's window is touched, never the database.

        Nothing else is on screen during a launch (the notes window opens
        after it), so no event handled here can reach the database either.
        """
        self.keep_alive_calls += 1
        if self.is_shown():
            self.repaint()

    def repaint(self) -> None:
        """Say the step is still going once it has taken a while, then let Tk repaint and handle events."""
        elapsed = time.monotonic() - self.step_started
        if elapsed >= self.STILL_WORKING_AFTER:
            self.still_working_var.set(f"Still working on this step ({elapsed:.0f} s)…")
        self.handle_events()

    def handle_events(self) -> None:
        try:
            self.window.update()
        except tk.TclError:
            pass  # an event handler ended Tk meanwhile: the update must still finish, never be interrupted by it

    def is_shown(self) -> bool:
        """False once the window is closed (by a window manager, the app, Tk ending): the update goes on without it."""
        try:
            return bool(self.window.winfo_exists())
        except tk.TclError:
            return False  # the whole Tk application is gone

    def close(self, completed: bool = True) -> None:
        """Take the splash down (a full bar first when the update completed); nothing to do if it is already gone."""
        if not self.is_shown():
            return
        if completed:
            self.progress.configure(value=self.total)
            self.handle_events()
        self.window.destroy()
