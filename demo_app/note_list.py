"""The notes list as a virtual list: a Listbox that holds only the rows on screen.

A Listbox filled with every note took 20 s to appear with 400,000 notes. This
one asks a NoteListing for the visible page whenever it scrolls or resizes,
and drives its scrollbar from the row count, so opening, scrolling and jumping
to the end cost a page read whatever the size of the notebook.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Callable, Dict, List, Optional

from .look import style_plain_widget
from .notes import NoteListing, NoteSummary

UNTITLED = "Untitled"
LIST_PADDING = 6  # px between the list's border and its text
ROWS_BEFORE_FIRST_LAYOUT = 40  # until Tk tells the real height: more than a window shows


def row_text(summary: NoteSummary) -> str:
    return ("★ " if summary.pinned else "") + (summary.title or UNTITLED)


class NoteList:
    """A scrollable list of notes; ``on_select(note_id)`` runs when the user picks a row.

    ``listbox`` holds the visible rows only; ``ids`` are their note ids and
    ``first`` the position of the top row in the whole list.
    """

    def __init__(self, parent: tk.Misc, on_select: Callable[[int], None]) -> None:
        self.on_select = on_select
        self.listing: Optional[NoteListing] = None
        self.first = 0
        self.rows = ROWS_BEFORE_FIRST_LAYOUT
        self.ids: List[int] = []
        self.selected_id: Optional[int] = None
        self.frame = ttk.Frame(parent)
        self.listbox = tk.Listbox(
            self.frame, activestyle="none", exportselection=False, width=28, font="TkDefaultFont", height=1
        )
        self.scrollbar = ttk.Scrollbar(self.frame, orient="vertical", command=self.yview)
        self.scrollbar.pack(side="right", fill="y")  # packed first: a narrow pane squeezes the list, not it
        self.listbox.pack(side="left", fill="both", expand=True)
        self.listbox.bind("<<ListboxSelect>>", lambda _event: self.picked())
        self.listbox.bind("<Configure>", lambda _event: self.fit_rows())
        for sequence, move in (("<Up>", -1), ("<Down>", 1), ("<Prior>", "-page"), ("<Next>", "page"),
                               ("<Home>", "home"), ("<End>", "end")):
            self.listbox.bind(sequence, lambda _event, move=move: self.move_selection(move))
        for sequence, units in (("<Button-4>", -3), ("<Button-5>", 3)):  # X11's wheel
            self.listbox.bind(sequence, lambda _event, units=units: self.scroll_by(units))
        self.listbox.bind("<MouseWheel>", lambda event: self.scroll_by(-3 if event.delta > 0 else 3))  # Windows, macOS

    # -- what is shown ---------------------------------------------------------

    @property
    def total(self) -> int:
        return self.listing.total if self.listing is not None else 0

    def show(self, listing: NoteListing, select_id: Optional[int] = None) -> None:
        """Show ``listing``: a new search from its top; the same one re-read (after a save, a delete)
        scrolled just enough to bring ``select_id``, else the open note, into view."""
        new_search = self.listing is None or listing.search != self.listing.search
        self.listing = listing
        if select_id is not None:
            self.selected_id = select_id
        position = listing.position(self.selected_id) if self.selected_id is not None and not new_search else None
        if new_search:
            self.first = 0
        if position is None:
            self.fill()
        else:
            self.scroll_to(position)

    def fill(self) -> None:
        """Read the visible page and put it in the Listbox; the scrollbar follows."""
        self.first = max(0, min(self.first, self.total - self.rows))
        page = self.listing.page(self.first, self.rows) if self.listing is not None else []
        self.ids = [summary.id for summary in page]
        self.listbox.delete(0, "end")
        if page:
            self.listbox.insert("end", *[row_text(summary) for summary in page])
        self.highlight()
        if self.total:
            self.scrollbar.set(self.first / self.total, min(1.0, (self.first + self.rows) / self.total))
        else:
            self.scrollbar.set(0.0, 1.0)

    def highlight(self) -> None:
        self.listbox.selection_clear(0, "end")
        if self.selected_id in self.ids:
            row = self.ids.index(self.selected_id)
            self.listbox.selection_set(row)
            self.listbox.activate(row)

    def restyle(self, palette: Dict[str, str]) -> None:
        """Colours from the theme; rows refitted, since the font size sets how many fit."""
        style_plain_widget(self.listbox, palette)
        self.listbox.configure(borderwidth=LIST_PADDING)  # a flat border in the list's colour: padding for the text
        self.fit_rows()

    def fit_rows(self) -> None:
        """As many rows as fit the Listbox's height, so it never scrolls on its own."""
        if self.listbox.winfo_height() <= 1:
            return  # not laid out yet: <Configure> calls again once it is
        inner = self.listbox.winfo_height() - 2 * (
            int(self.listbox.cget("borderwidth")) + int(self.listbox.cget("highlightthickness"))
        )
        line = int(self.listbox.tk.call("font", "metrics", self.listbox.cget("font"), "-linespace"))
        rows = max(1, inner // (line + 2 * int(self.listbox.cget("selectborderwidth"))))
        if rows != self.rows:
            self.rows = rows
            self.fill()

    # -- scrolling and choosing --------------------------------------------------

    def yview(self, *args: str) -> None:
        """The scrollbar's command: ``moveto FRACTION`` or ``scroll N units|pages``."""
        if args[0] == "moveto":
            self.first = round(float(args[1]) * self.total)
        elif args[0] == "scroll":
            self.first += int(args[1]) * (self.rows if args[2] == "pages" else 1)
        self.fill()

    def scroll_by(self, units: int) -> str:
        self.first += units
        self.fill()
        return "break"  # the Listbox's own wheel binding has nothing to scroll

    def scroll_to(self, position: int) -> None:
        """Scroll the least distance that brings row ``position`` into view."""
        if position < self.first:
            self.first = position
        elif position >= self.first + self.rows:
            self.first = position - self.rows + 1
        self.fill()

    def picked(self) -> None:
        selection = self.listbox.curselection()
        if not selection or selection[0] >= len(self.ids):
            return
        note_id = self.ids[selection[0]]
        if note_id != self.selected_id:
            self.selected_id = note_id
            self.on_select(note_id)

    def move_selection(self, move) -> str:
        """Up/Down/Page Up/Page Down/Home/End: move the selection across pages, not just this one."""
        if not self.total:
            return "break"
        current = self.listing.position(self.selected_id) if self.selected_id is not None else None
        if move == "home":
            target = 0
        elif move == "end":
            target = self.total - 1
        else:
            step = self.rows if move in ("page", "-page") else abs(move)
            step = -step if move in (-1, "-page") else step
            target = self.first if current is None else current + step
        target = max(0, min(target, self.total - 1))
        self.scroll_to(target)
        row = target - self.first
        if 0 <= row < len(self.ids):
            self.listbox.selection_clear(0, "end")
            self.listbox.selection_set(row)
            self.picked()
            self.highlight()
        return "break"

    def select(self, note_id: int) -> None:
        """Mark ``note_id`` as the open note (highlighted when on screen); on_select is not called."""
        self.selected_id = note_id
        self.highlight()

    def clear_selection(self) -> None:
        self.selected_id = None
        self.listbox.selection_clear(0, "end")
