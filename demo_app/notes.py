"""What the windows do to the data, kept free of Tk so the headless mode and tests share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, List, Optional

from .models import Note, NoteTag, Tag, UserPreferences

# The database file is already per OS user, so one preferences row is enough;
# the seed's user_id column would tell apart accounts of a synced app.
LOCAL_USER = "local"
THEMES = ("light", "dark")
FONT_SIZES = range(8, 25)


@dataclass(frozen=True)
class NoteSummary:
    """One line of the notes list."""

    id: int
    title: str
    pinned: bool


def parse_tags(text: str) -> List[str]:
    """'Work, ideas  work' -> ['ideas', 'work']: commas or spaces, case-folded, unique."""
    return sorted({word.lower() for word in re.split(r"[,\s]+", text) if word})


def list_notes(search: str = "") -> List[NoteSummary]:
    """Notes matching ``search`` in title, body or tags; pinned first, then newest."""
    query = Note.select(Note.id, Note.title, Note.pinned)
    words = search.split()
    for word in words:
        pattern = f"%{word}%"
        tagged = NoteTag.select(NoteTag.note).join(Tag).where(Tag.name ** pattern)
        query = query.where((Note.title ** pattern) | (Note.body ** pattern) | Note.id.in_(tagged))
    query = query.order_by(Note.pinned.desc(), Note.updated_at.desc(), Note.id.desc())
    return [NoteSummary(note.id, note.title, bool(note.pinned)) for note in query]


def count_notes() -> int:
    return Note.select().count()


def get_note(note_id: int) -> Note:
    return Note.get_by_id(note_id)


def note_tags(note_id: int) -> List[str]:
    query = Tag.select(Tag.name).join(NoteTag).where(NoteTag.note == note_id).order_by(Tag.name)
    return [tag.name for tag in query]


def save_note(note_id: Optional[int], title: str, body: str, tags: Iterable[str], pinned: bool = False) -> int:
    """Create (``note_id=None``) or update a note and its tags in one transaction; returns its id."""
    with Note._meta.database.atomic():
        now = datetime.now()
        if note_id is None:
            note = Note.create(title=title.strip(), body=body, pinned=pinned, created_at=now, updated_at=now)
        else:
            note = Note.get_by_id(note_id)
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
