"""Plan: from the migrations the app knows and those the file records, what to run, or why not.

Pure: nothing here reads or writes the database or the migration files
(beyond a KnownMigration's checksum, which the caller asks for).
"""

from __future__ import annotations

from .errors import ConfigurationError, MigrationDefinitionError, SchemaTooNewError

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from .discovery import KnownMigration
    from .tracking import AppliedMigration

__all__ = ["Plan", "is_up_to_date", "plan_migrations"]


class Plan:
    """What the app knows, what the file records, and the difference."""

    __slots__ = ("applied", "known", "pending", "unknown_applied")

    def __init__(
        self,
        known: list[KnownMigration],
        applied: dict[str, AppliedMigration],
        pending: list[KnownMigration] | None = None,
        unknown_applied: list[str] | None = None,
    ) -> None:
        self.known = known  # sorted by id
        self.applied = applied
        self.pending = pending or []
        self.unknown_applied = unknown_applied or []  # recorded, but the app ships no such migration

    @property
    def current(self) -> str | None:
        """The newest applied id: where the schema is now."""
        return max(self.applied) if self.applied else None

    def raise_if_too_new(self, path: Path | None) -> None:
        """SchemaTooNewError when the file records migrations this app version does not have.

        ConfigurationError instead when the app found no migration at all:
        they were left out of the app, not superseded by a newer one.
        """
        if not self.unknown_applied:
            return
        if not self.known:
            raise ConfigurationError(
                f"The database {path or '(in memory)'} records {len(self.unknown_applied)} migration(s) but this app "
                "found no migration at all, so its migrations were left out (when it was packaged?) or it looks in the "
                "wrong place; it is not a newer version's file. Nothing was changed. Ship the migrations with the app "
                "(README: Shipping your app) or point migrations= at them.",
                path=path,
            )
        shown = ", ".join(self.unknown_applied[:5]) + (" ..." if len(self.unknown_applied) > 5 else "")
        raise SchemaTooNewError(
            f"The database {path or '(in memory)'} was updated by a newer version of this app "
            f"(it records migrations this version does not have: {shown}). Nothing was changed. "
            "Install the newer version of the app, or restore a backup made before the update.",
            unknown_ids=self.unknown_applied,
            path=path,
        )

    def changed_checksums(self) -> list[KnownMigration]:
        """Applied migrations whose source differs from what was applied (reads their text)."""
        changed = []
        for migration in self.known:
            record = self.applied.get(migration.id)
            if record is None or record.checksum is None:
                continue
            if not migration.accepts_checksum(record.checksum):
                changed.append(migration)
        return changed

    def unverifiable_checksums(self) -> list[KnownMigration]:
        """Migrations whose checksum cannot be compared: no source or manifest shipped, or applied without one."""
        return [
            migration
            for migration in self.known
            if migration.checksum() is None
            or (migration.id in self.applied and self.applied[migration.id].checksum is None)
        ]

    def up_to(self, target: str) -> list[KnownMigration]:
        """The pending migrations through ``target``; ``target`` must be known."""
        if target not in {m.id for m in self.known}:
            raise ConfigurationError(f"No migration has the id {target!r}; `app-db status` lists them.")
        return [m for m in self.pending if m.id <= target]


def plan_migrations(known: Sequence[KnownMigration], applied: dict[str, AppliedMigration]) -> Plan:
    """Order ``known`` by id and work out what is pending and what is unknown.

    Duplicate ids (compared case-insensitively: on a case-insensitive file
    system or to a person they are the same) raise MigrationDefinitionError.
    """
    by_id: dict[str, KnownMigration] = {}
    for migration in known:
        twin = by_id.get(migration.id.lower())
        if twin is not None:
            raise MigrationDefinitionError(
                f"Two migrations share the id {migration.id!r}: {twin.location} and {migration.location}. "
                "Give the newer one a new id (a later timestamp); nothing was changed.",
                file=migration.location,
            )
        by_id[migration.id.lower()] = migration
    ordered = sorted(known, key=lambda m: m.id)
    known_ids = {m.id for m in ordered}
    return Plan(
        known=ordered,
        applied=dict(applied),
        pending=[m for m in ordered if m.id not in applied],
        unknown_applied=sorted(set(applied) - known_ids),
    )


def is_up_to_date(file_names: Sequence[str], recorded: Sequence[tuple[str, str | None]]) -> bool:
    """Nothing pending and nothing unknown, judged from names alone: every file recorded, every record's file present.

    ``recorded`` holds (id, file name) rows of the tracking table.
    """
    return len(recorded) == len(file_names) and {file for _, file in recorded} == set(file_names)
