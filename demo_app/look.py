"""Theme and font size from the user's preferences, applied to ttk styles and Tk's named fonts."""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk
from typing import Dict

PALETTES: Dict[str, Dict[str, str]] = {
    "light": {
        "background": "#f3f3f1",
        "surface": "#ffffff",
        "text": "#1f2328",
        "muted": "#656d76",
        "border": "#d0d7de",
        "accent": "#2f6fde",
        "on_accent": "#ffffff",
        "pressed": "#e3e6ea",
    },
    "dark": {
        "background": "#1e2127",
        "surface": "#282c34",
        "text": "#e6e6e6",
        "muted": "#9aa4af",
        "border": "#3b4048",
        "accent": "#4c8dff",
        "on_accent": "#ffffff",
        "pressed": "#353a43",
    },
}
NAMED_FONTS = ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont", "TkCaptionFont", "TkFixedFont")


def apply_look(root: tk.Misc, theme: str, font_size: int) -> Dict[str, str]:
    """Restyle every ttk widget and resize Tk's named fonts; returns the palette for plain Tk widgets."""
    palette = PALETTES.get(theme, PALETTES["light"])
    for name in NAMED_FONTS:
        tkfont.nametofont(name, root=root).configure(size=font_size)
    style = ttk.Style(root)
    style.theme_use("clam")
    style.configure(
        ".",
        background=palette["background"],
        foreground=palette["text"],
        fieldbackground=palette["surface"],
        bordercolor=palette["border"],
        lightcolor=palette["background"],
        darkcolor=palette["background"],
        troughcolor=palette["pressed"],
        selectbackground=palette["accent"],
        selectforeground=palette["on_accent"],
        insertcolor=palette["text"],
        arrowcolor=palette["text"],
        focuscolor=palette["accent"],
    )
    style.map(
        "TButton",
        background=[("pressed", palette["pressed"]), ("active", palette["pressed"])],
        foreground=[("disabled", palette["muted"])],
    )
    style.configure("Accent.TButton", background=palette["accent"], foreground=palette["on_accent"])
    style.map("Accent.TButton", background=[("pressed", palette["accent"]), ("active", palette["accent"])])
    style.map(
        "TCheckbutton",
        background=[("active", palette["background"])],
        indicatorbackground=[("selected", palette["accent"]), ("!selected", palette["surface"])],
    )
    style.map("TRadiobutton", background=[("active", palette["background"])],
              indicatorbackground=[("selected", palette["accent"]), ("!selected", palette["surface"])])
    style.map("TEntry", fieldbackground=[("readonly", palette["background"])])
    style.configure("TCheckbutton", indicatorforeground=palette["on_accent"])
    style.configure("TRadiobutton", indicatorforeground=palette["on_accent"])
    style.configure("Muted.TLabel", foreground=palette["muted"])
    style.configure("Headline.TLabel", font=bold_font(root, "AppDbNotesHeadline", 2))
    style.configure("Card.TFrame", background=palette["surface"], bordercolor=palette["border"], relief="solid")
    style.configure("Card.TLabel", background=palette["surface"])
    style.configure("CardMuted.TLabel", background=palette["surface"], foreground=palette["muted"])
    style.configure("CardTitle.TLabel", background=palette["surface"], font=bold_font(root, "AppDbNotesTitle", 6))
    style.configure("Horizontal.TProgressbar", background=palette["accent"], troughcolor=palette["pressed"])
    root.option_add("*TCombobox*Listbox.background", palette["surface"])
    root.option_add("*TCombobox*Listbox.foreground", palette["text"])
    if isinstance(root, (tk.Tk, tk.Toplevel)):
        root.configure(background=palette["background"])
    return palette


def bold_font(root: tk.Misc, name: str, bigger_by: int) -> str:
    """A named bold font a few points above the default, following the user's font size.

    Named in Tk itself: a Python Font object would delete the font when collected.
    """
    base = tkfont.nametofont("TkDefaultFont", root=root).actual()
    if name not in root.tk.splitlist(root.tk.call("font", "names")):
        root.tk.call("font", "create", name)
    root.tk.call("font", "configure", name, "-family", base["family"], "-size", abs(int(base["size"])) + bigger_by, "-weight", "bold")
    return name


def style_plain_widget(widget: tk.Widget, palette: Dict[str, str]) -> None:
    """Colour a classic Tk Listbox or Text, which ttk styles do not reach."""
    widget.configure(
        background=palette["surface"],
        foreground=palette["text"],
        selectbackground=palette["accent"],
        selectforeground=palette["on_accent"],
        highlightbackground=palette["border"],
        highlightcolor=palette["accent"],
        highlightthickness=1,
        borderwidth=0,
        relief="flat",
    )
    if isinstance(widget, tk.Text):
        widget.configure(insertbackground=palette["text"])
