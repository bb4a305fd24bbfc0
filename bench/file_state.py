"""Fingerprint of a database file, to prove a no-op launch did not write it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str
    neighbours: tuple[str, ...]
    """Other files next to the database (journals, WAL, backups/)."""


def file_state(db_path: Path) -> FileState:
    stat = db_path.stat()
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    neighbours = tuple(sorted(p.name for p in db_path.parent.iterdir() if p != db_path))
    return FileState(stat.st_size, stat.st_mtime_ns, digest, neighbours)


def describe_change(before: FileState, after: FileState) -> str:
    """Short text of what changed, '' if nothing did."""
    changes = []
    if before.sha256 != after.sha256:
        changes.append("bytes")
    if before.mtime_ns != after.mtime_ns:
        changes.append("mtime")
    if before.neighbours != after.neighbours:
        changes.append("files " + ",".join(sorted(set(after.neighbours) ^ set(before.neighbours))))
    return "+".join(changes)
