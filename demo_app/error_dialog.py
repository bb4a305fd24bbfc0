"""The dialog a launch error becomes: what happened, that the data is safe, and the next step."""

from __future__ import annotations

import os
import subprocess
import sys
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from typing import Callable, Optional

from .launch import LaunchProblem
from .look import apply_look, style_plain_widget


def open_folder(folder: Path) -> None:
    """Show ``folder`` in the system's file manager."""
    if sys.platform == "win32":
        os.startfile(folder)  # type: ignore[attr-defined]  # Windows only
    elif sys.platform == "darwin":
        subprocess.Popen(["open", str(folder)])
    else:
        subprocess.Popen(["xdg-open", str(folder)])


class ErrorDialog:
    """A window that replaces the main window when the launch fails."""

    def __init__(
        self,
        root: tk.Tk,
        problem: LaunchProblem,
        on_quit: Callable[[], None],
        open_folder: Callable[[Path], None] = open_folder,
        on_start_fresh: Optional[Callable[[], None]] = None,
    ) -> None:
        self.problem = problem
        self.open_folder_with = open_folder
        palette = apply_look(root, "light", 11)
        self.window = tk.Toplevel(root)
        self.window.title(problem.title)
        self.window.protocol("WM_DELETE_WINDOW", on_quit)
        self.window.resizable(False, False)
        body = ttk.Frame(self.window, padding=20)
        body.pack(fill="both", expand=True)

        icon = tk.Canvas(body, width=40, height=40, highlightthickness=0, background=palette["background"])
        icon.create_oval(2, 2, 38, 38, fill="#d1242f", outline="")
        icon.create_text(20, 20, text="!", fill="white", font=("TkDefaultFont", 18, "bold"))
        icon.grid(row=0, column=0, rowspan=3, sticky="n", padx=(0, 16))

        wrap = 470
        self.headline_label = ttk.Label(body, text=problem.headline, style="Headline.TLabel", wraplength=wrap)
        self.headline_label.grid(row=0, column=1, sticky="w")
        self.detail_label = ttk.Label(body, text=problem.detail, wraplength=wrap, justify="left")
        self.detail_label.grid(row=1, column=1, sticky="w", pady=(8, 0))
        self.next_step_label = ttk.Label(
            body, text=f"What you can do: {problem.next_step}", wraplength=wrap, justify="left"
        )
        self.next_step_label.grid(row=2, column=1, sticky="w", pady=(8, 0))

        details = ttk.Frame(body)  # a traceback can be long: the details scroll, the dialog keeps its size
        details.grid(row=3, column=1, sticky="we", pady=(12, 0))
        self.details_text = tk.Text(details, height=6, width=64, wrap="word", padx=6, pady=4)
        style_plain_widget(self.details_text, palette)
        self.details_scroll = ttk.Scrollbar(details, orient="vertical", command=self.details_text.yview)
        self.details_text.configure(yscrollcommand=self.details_scroll.set)
        self.details_text.insert("1.0", problem.technical)
        self.details_text.configure(state="disabled")  # read-only, still selectable for copying
        self.details_text.pack(side="left", fill="both", expand=True)
        self.details_scroll.pack(side="left", fill="y")

        self.status_var = tk.StringVar(value=f"Data folder: {problem.folder}" if problem.folder else "")
        ttk.Label(body, textvariable=self.status_var, style="Muted.TLabel", wraplength=wrap).grid(
            row=4, column=1, sticky="w", pady=(8, 0)
        )

        buttons = ttk.Frame(body)
        buttons.grid(row=5, column=0, columnspan=2, sticky="e", pady=(16, 0))
        self.copy_button = ttk.Button(buttons, text="Copy details", command=self.copy_details)
        self.copy_button.pack(side="left")
        self.open_folder_button: Optional[ttk.Button] = None
        if problem.folder is not None:
            self.open_folder_button = ttk.Button(buttons, text="Open data folder", command=self.show_folder)
            self.open_folder_button.pack(side="left", padx=(8, 0))
        self.start_fresh_button: Optional[ttk.Button] = None
        if on_start_fresh is not None and problem.damaged_file is not None:
            self.start_fresh_button = ttk.Button(
                buttons, text="Move it aside and start empty", command=on_start_fresh
            )
            self.start_fresh_button.pack(side="left", padx=(8, 0))
        self.quit_button = ttk.Button(buttons, text="Quit", style="Accent.TButton", command=on_quit)
        self.quit_button.pack(side="left", padx=(8, 0))
        self.quit_button.focus_set()
        self.window.bind("<Escape>", lambda _event: on_quit())

    def show_folder(self) -> None:
        folder = self.problem.folder
        if folder is None:
            return
        try:
            self.open_folder_with(folder)
        except OSError as error:
            self.status_var.set(f"Could not open a file manager ({error}). The folder is: {folder}")

    def copy_details(self) -> None:
        self.window.clipboard_clear()
        self.window.clipboard_append(self.problem.technical)
        self.status_var.set("Details copied: paste them into your message to the developers.")

    def close(self) -> None:
        self.window.destroy()
