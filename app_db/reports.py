"""Reports: what a launch or command did, what a preview would run, and each migration's state, as public records."""

from __future__ import annotations

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds; annotations are strings
if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from .plan import Plan

__all__ = [
    "LaunchReport",
    "MigrationStatus",
    "ReportedMigration",
    "RestoredBackup",
    "StepPreview",
    "as_path",
    "status_records",
]


class ReportedMigration(str):
    """One migration a LaunchReport lists: its id, as a ``str`` (``report.applied == ["2024..."]`` holds), and ``name``.

    A string, so code that compares or joins the ids keeps working; ``.id``
    and ``.name`` spare an app the join with ``pending()`` for its message.
    """

    name: str

    def __new__(cls, id: str, name: str = "") -> ReportedMigration:
        entry = super().__new__(cls, id)
        entry.name = name
        return entry

    @property
    def id(self) -> str:
        return str(self[:])  # a plain str

    def describe(self) -> str:
        """``id (name)``, or the id alone when it has no name."""
        return f"{self.id} ({self.name})" if self.name else self.id


class LaunchReport:
    """What register_models(), migrate(), rollback() or stamp() did to the file.

    ``applied``: ids applied (stamp: recorded without running), oldest
    first; ``undone``: ids rolled back, newest first; ``backup``: the copy
    taken just before, or None; ``current``: the newest applied id after it
    (None also when register_models() found nothing to do: it reads no id).
    ``newer_compatible``: the ids a newer app version applied that this one
    does not know, all recorded backward compatible, so the file was used as
    it is (else []). ``read_only``: the file was opened read-only because a
    newer version migrated it (``on_newer="read_only"``). ``recorded``: the
    baselines (app-db squash) only recorded, not run, because the file had
    every migration they replace; never in ``applied``.
    """

    __slots__ = ("_path", "applied", "backup", "current", "env", "newer_compatible", "read_only", "recorded", "undone")

    def __init__(
        self,
        path: str | Path | None,
        env: str,
        applied: list[str] | None = None,
        backup: Path | None = None,
        undone: list[str] | None = None,
        current: str | None = None,
        newer_compatible: list[str] | None = None,
        read_only: bool = False,
        recorded: list[str] | None = None,
    ) -> None:
        self._path = path
        self.env = env
        self.applied = applied or []
        self.backup = backup
        self.undone = undone or []
        self.current = current
        self.newer_compatible = newer_compatible or []
        self.read_only = read_only
        self.recorded = recorded or []

    @property
    def path(self) -> Path | None:
        """The database file (None: in memory)."""
        return as_path(self._path)

    def __str__(self) -> str:
        """One sentence for a log or a status line: what was done to which file, the backup, where it is now."""
        where = display_path(self._path)
        if self.undone:
            text = f"Rolled back {count(self.undone)} of {where}: {describe(self.undone)}"
        elif self.applied:
            text = f"Applied {count(self.applied)} to {where}: {describe(self.applied)}"
        elif not self.recorded:
            return f"{where} is up to date: nothing to apply."
        else:
            text = f"Nothing to apply to {where}"
        if self.recorded:
            text += f"; recorded {count(self.recorded)} without running: {describe(self.recorded)} (baseline)"
        if self.backup is not None:
            text += f"; backup at {display_path(self.backup)}"
        if self.undone:
            text += f"; now at {self.current}" if self.current else "; no migration is applied now"
        return text + "."

    def __repr__(self) -> str:
        undone = f", undone={self.undone!r}" if self.undone else ""
        newer = f", newer_compatible={self.newer_compatible!r}" if self.newer_compatible else ""
        newer += ", read_only=True" if self.read_only else ""
        newer += f", recorded={self.recorded!r}" if self.recorded else ""
        return (
            f"LaunchReport(path={self.path!r}, env={self.env!r}, applied={self.applied!r}{undone}, "
            f"backup={self.backup!r}, current={self.current!r}{newer})"
        )


class RestoredBackup:
    """The backup restore_before_newer() put back (or would): its file, when it was taken, and the copy kept.

    ``kept`` is the copy of the file it replaced (None before restoring, or
    when there was nothing to keep).
    """

    __slots__ = ("backup", "kept", "taken_at")

    def __init__(self, backup: Path, taken_at: datetime, kept: Path | None = None) -> None:
        self.backup = backup
        self.taken_at = taken_at  # UTC, from the backup's name
        self.kept = kept

    def __repr__(self) -> str:
        return f"RestoredBackup({str(self.backup)!r}, taken_at={self.taken_at.isoformat()}, kept={self.kept!r})"


class StepPreview:
    """What one migration would run in a preview: its id and name, the direction, and its SQL statements."""

    __slots__ = ("direction", "id", "name", "statements")

    def __init__(self, id: str, name: str, direction: str, statements: list[str]) -> None:
        self.id = id
        self.name = name
        self.direction = direction  # "up" (migrate) or "down" (rollback)
        self.statements = statements  # each statement SQLite reports as writing, in order

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StepPreview):
            return NotImplemented
        return (self.id, self.name, self.direction, self.statements) == (
            other.id,
            other.name,
            other.direction,
            other.statements,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable statements: compared, not hashed

    def __repr__(self) -> str:
        return f"StepPreview({self.id!r}, {self.direction}, {len(self.statements)} statement(s))"


class MigrationStatus:
    """One migration, known to the app or recorded in the file."""

    __slots__ = (
        "app_version",
        "applied_at",
        "checksum_changed",
        "checksum_verifiable",
        "file",
        "id",
        "known",
        "name",
    )

    def __init__(
        self,
        id: str,
        name: str,
        file: str | None,
        applied_at: datetime | None,
        checksum_changed: bool = False,
        known: bool = True,
        checksum_verifiable: bool = True,
        app_version: str | None = None,
    ) -> None:
        self.id = id
        self.app_version = app_version  # the app version that applied it, when recorded
        self.name = name
        self.file = file
        self.applied_at = applied_at  # None while pending
        self.checksum_changed = checksum_changed  # applied, but its source changed since
        self.known = known  # False: recorded by a newer app version, no file here
        # False: no checksum to compare (the app ships no source or manifest, or the record has none),
        # so checksum_changed cannot be told.
        self.checksum_verifiable = checksum_verifiable

    def __repr__(self) -> str:
        state = "pending" if self.applied_at is None else f"applied {self.applied_at.isoformat()}"
        flags = ("" if self.known else ", unknown") + (", changed" if self.checksum_changed else "")
        flags += "" if self.checksum_verifiable or not self.known else ", unverifiable"
        return f"MigrationStatus({self.id}, {state}{flags})"

    @property
    def pending(self) -> bool:
        return self.applied_at is None


def count(entries: list[str]) -> str:
    return f"{len(entries)} migration" + ("" if len(entries) == 1 else "s")


def describe(entries: list[str]) -> str:
    return ", ".join(entry.describe() if isinstance(entry, ReportedMigration) else entry for entry in entries)


def display_path(value: str | Path | None) -> str:
    """The file as a person reads it: the home folder as ``~`` (None: in memory)."""
    if value is None:
        return "an in-memory database"
    import os.path

    text, home = str(value), os.path.expanduser("~")
    if home not in ("~", os.sep) and text.startswith(home + os.sep):
        return "~" + text[len(home) :]
    return text


def as_path(value: str | Path | None) -> Path | None:
    """``value`` as a Path; pathlib is imported only when someone asks for one."""
    if value is None:
        return None
    from pathlib import Path

    return Path(value)


def status_records(plan: Plan) -> list[MigrationStatus]:
    """One MigrationStatus per migration of ``plan``, known or recorded, oldest first (reads checksums)."""
    changed = {entry.id for entry in plan.changed_checksums()}
    unverifiable = {entry.id for entry in plan.unverifiable_checksums()}
    entries = [
        MigrationStatus(
            id=entry.id,
            name=(plan.applied[entry.id].name if entry.id in plan.applied else "") or entry.name,
            file=entry.location,
            applied_at=plan.applied[entry.id].applied_at if entry.id in plan.applied else None,
            checksum_changed=entry.id in changed,
            checksum_verifiable=entry.id not in unverifiable,
            app_version=plan.applied[entry.id].app_version if entry.id in plan.applied else None,
        )
        for entry in plan.known
    ]
    entries.extend(
        MigrationStatus(
            id=record.id,
            name=record.name,
            file=record.file,
            applied_at=record.applied_at,
            known=False,
            app_version=record.app_version,
        )
        for record in (plan.applied[migration_id] for migration_id in plan.unknown_applied)
    )
    shipped = {entry.id for entry in plan.known}  # applied originals a baseline replaces, their files since deleted:
    entries.extend(
        MigrationStatus(id=record.id, name=record.name, file=record.file, applied_at=record.applied_at)
        for record in plan.applied.values()
        if record.id not in shipped and record.id not in plan.unknown_applied
    )
    return sorted(entries, key=lambda entry: entry.id)
