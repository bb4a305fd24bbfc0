"""Preferences: theme and font size, saved in the ``user_preferences`` table."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Callable

from .notes import FONT_SIZES, THEMES


class PreferencesDialog:
    """A small window over the main one; Save hands the values to ``on_save``."""

    def __init__(self, parent: tk.Misc, theme: str, font_size: int, on_save: Callable[[str, int], None]) -> None:
        self.on_save = on_save
        self.window = tk.Toplevel(parent)
        self.window.title("Preferences")
        self.window.transient(parent.winfo_toplevel())
        self.window.resizable(False, False)
        body = ttk.Frame(self.window, padding=18)
        body.pack(fill="both", expand=True)

        ttk.Label(body, text="Theme").grid(row=0, column=0, sticky="w")
        self.theme_var = tk.StringVar(value=theme)
        themes = ttk.Frame(body)
        themes.grid(row=0, column=1, sticky="w", padx=(12, 0))
        for name in THEMES:
            ttk.Radiobutton(themes, text=name.capitalize(), value=name, variable=self.theme_var).pack(
                side="left", padx=(0, 10)
            )

        ttk.Label(body, text="Font size").grid(row=1, column=0, sticky="w", pady=(12, 0))
        self.font_size_var = tk.StringVar(value=str(font_size))
        self.font_size_box = ttk.Spinbox(
            body, from_=FONT_SIZES[0], to=FONT_SIZES[-1], textvariable=self.font_size_var, width=5
        )
        self.font_size_box.grid(row=1, column=1, sticky="w", padx=(12, 0), pady=(12, 0))

        buttons = ttk.Frame(body)
        buttons.grid(row=2, column=0, columnspan=2, sticky="e", pady=(18, 0))
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.close)
        self.cancel_button.pack(side="left")
        self.save_button = ttk.Button(buttons, text="Save", style="Accent.TButton", command=self.save)
        self.save_button.pack(side="left", padx=(8, 0))
        self.window.bind("<Return>", lambda _event: self.save())
        self.window.bind("<Escape>", lambda _event: self.close())
        self.window.protocol("WM_DELETE_WINDOW", self.close)

    def chosen_font_size(self, fallback: int = 11) -> int:
        try:
            return int(self.font_size_var.get())
        except ValueError:
            return fallback

    def save(self) -> None:
        self.on_save(self.theme_var.get(), self.chosen_font_size())
        self.close()

    def close(self) -> None:
        self.window.destroy()
