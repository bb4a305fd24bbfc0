"""What the windows do to the data, kept free of Tk so the headless mode and tests share it."""

from __future__ import annotations

import re
from datetime import datetime

from .models import Note, NoteTag, Tag, UserPreferences

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at every start
if TYPE_CHECKING:
    from collections.abc import Iterable

    import peewee

# The database file is already per OS user, so one preferences row is enough;
# the seed's user_id column would tell apart accounts of a synced app.
LOCAL_USER = "local"
THEMES = ("light", "dark")
FONT_SIZES = range(8, 25)


class NoteSummary:
    """One line of the notes list (a plain class: dataclasses would cost the launch its import)."""

    __slots__ = ("id", "pinned", "title")

    def __init__(self, id: int, title: str, pinned: bool) -> None:
        self.id = id
        self.title = title
        self.pinned = pinned

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteSummary):
            return NotImplemented
        return (self.id, self.title, self.pinned) == (other.id, other.title, other.pinned)

    def __hash__(self) -> int:
        return hash((self.id, self.title, self.pinned))

    def __repr__(self) -> str:
        return f"NoteSummary(id={self.id!r}, title={self.title!r}, pinned={self.pinned!r})"


def parse_tags(text: str) -> list[str]:
    """'Work, ideas  work' -> ['ideas', 'work']: commas or spaces, case-folded, unique."""
    return sorted({word.lower() for word in re.split(r"[,\s]+", text) if word})


LIST_ORDER = (Note.pinned.desc(), Note.updated_at.desc(), Note.id.desc())  # pinned first, then newest


def matching_notes(search: str = "") -> peewee.ModelSelect:
    """Notes matching every word of ``search`` in title, body or tags, in the list's order."""
    query = Note.select(Note.id, Note.title, Note.pinned)
    for word in search.split():
        pattern = f"%{word}%"
        tagged = NoteTag.select(NoteTag.note).join(Tag).where(Tag.name ** pattern)
        query = query.where((Note.title ** pattern) | (Note.body ** pattern) | Note.id.in_(tagged))
    return query.order_by(*LIST_ORDER)


def list_notes(search: str = "", offset: int = 0, limit: int | None = None) -> list[NoteSummary]:
    """The notes matching ``search``, from row ``offset``, at most ``limit`` of them (None: all)."""
    query = matching_notes(search)
    if limit is not None or offset:
        query = query.limit(limit).offset(offset)
    return [NoteSummary(note.id, note.title, bool(note.pinned)) for note in query]


def count_notes() -> int:
    return Note.select().count()


class NoteListing:
    """The notes list for one search, read a page at a time, so a window never loads 400,000 rows.

    Without a search, pages come straight from the index on the list's order
    (LIMIT/OFFSET steps along that index). A search has to
    read every note once anyway (LIKE '%word%' uses no index), so it keeps the
    matching ids, in order, from that one pass: pages and positions then cost
    no scan. It is a snapshot: make a new one after a save or a delete.
    """

    def __init__(self, search: str = "") -> None:
        self.search = search.strip()
        self.matches: list[int] | None = None
        if self.search:
            # the raw cursor: peewee's row wrappers would triple the time for 400,000 matches
            cursor = Note._meta.database.execute(matching_notes(self.search).select(Note.id))
            self.matches = [row[0] for row in cursor]
            self.total = len(self.matches)
        else:
            self.total = count_notes()

    def page(self, first: int, count: int) -> list[NoteSummary]:
        """Rows ``first`` .. ``first + count - 1`` of the list (fewer at its end)."""
        if count <= 0 or first >= self.total:
            return []
        if self.matches is None:
            return list_notes(offset=max(first, 0), limit=count)
        ids = self.matches[max(first, 0):first + count]
        found = {note.id: note for note in Note.select(Note.id, Note.title, Note.pinned).where(Note.id.in_(ids))}
        return [NoteSummary(i, found[i].title, bool(found[i].pinned)) for i in ids if i in found]

    def position(self, note_id: int) -> int | None:
        """Where note ``note_id`` is in the list, from 0; None when it is not in it."""
        if self.matches is not None:
            try:
                return self.matches.index(note_id)
            except ValueError:
                return None
        note = Note.select(Note.pinned, Note.updated_at).where(Note.id == note_id).first()
        if note is None:
            return None
        # Three counts over ranges of the (pinned, updated_at) index rather than one row-value
        # comparison, which SQLite answers by scanning the whole index.
        same_pin = Note.pinned == note.pinned
        before = (
            Note.select().where(Note.pinned > note.pinned).count()
            + Note.select().where(same_pin & (Note.updated_at > note.updated_at)).count()
            + Note.select().where(same_pin & (Note.updated_at == note.updated_at) & (Note.id > note_id)).count()
        )
        return before


def get_note(note_id: int) -> Note:
    return Note.get_by_id(note_id)


def note_tags(note_id: int) -> list[str]:
    query = Tag.select(Tag.name).join(NoteTag).where(NoteTag.note == note_id).order_by(Tag.name)
    return [tag.name for tag in query]


def save_note(note_id: int | None, title: str, body: str, tags: Iterable[str], pinned: bool = False) -> int:
    """Create (``note_id=None``) or update a note and its tags in one transaction; returns its id.

    A note deleted meanwhile by something else holding the file (another
    instance, a sync tool) is created again: the text being saved is never lost.
    """
    with Note._meta.database.atomic():
        now = datetime.now()
        note = Note.get_or_none(Note.id == note_id) if note_id is not None else None
        if note is None:
            note = Note.create(title=title.strip(), body=body, pinned=pinned, created_at=now, updated_at=now)
        else:
            note.title, note.body, note.pinned, note.updated_at = title.strip(), body, pinned, now
            note.save()
        NoteTag.delete().where(NoteTag.note == note.id).execute()
        for name in tags:
            tag, _created = Tag.get_or_create(name=name)
            NoteTag.create(note=note.id, tag=tag.id)
        Tag.delete().where(Tag.id.not_in(NoteTag.select(NoteTag.tag))).execute()
        return note.id


def delete_note(note_id: int) -> None:
    """Delete a note; its tag links go with it (ON DELETE CASCADE), unused tags too."""
    with Note._meta.database.atomic():
        Note.delete_by_id(note_id)
        Tag.delete().where(Tag.id.not_in(NoteTag.select(NoteTag.tag))).execute()


def load_preferences() -> UserPreferences:
    """This user's preferences row, created with the defaults on first use."""
    preferences, _created = UserPreferences.get_or_create(user_id=LOCAL_USER)
    return preferences


def save_preferences(theme: str, font_size: int) -> UserPreferences:
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES}, not {theme!r}")
    preferences = load_preferences()
    preferences.theme = theme
    preferences.font_size = max(min(int(font_size), FONT_SIZES[-1]), FONT_SIZES[0])
    preferences.save()
    return preferences
