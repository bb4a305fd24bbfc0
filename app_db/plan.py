"""Plan: from the migrations the app knows and those the file records, what to run, or why not.

Pure: nothing here reads or writes the database or the migration files
(beyond a KnownMigration's checksum, which the caller asks for).
"""

from __future__ import annotations

from .errors import ConfigurationError, IrreversibleMigrationError, MigrationDefinitionError, SchemaTooNewError

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from .discovery import KnownMigration
    from .migration import Migration
    from .tracking import AppliedMigration

__all__ = [
    "Finding",
    "Plan",
    "Step",
    "find_duplicates",
    "find_misnumbered",
    "find_stubs",
    "is_up_to_date",
    "plan_migrations",
    "refuse_irreversible",
    "resolve_id",
]


class Step:
    """One migration to run, and which way: ``up`` applies it, ``down`` undoes it."""

    __slots__ = ("direction", "entry")

    def __init__(self, entry: KnownMigration, direction: str) -> None:
        self.entry = entry
        self.direction = direction  # "up" or "down"

    @property
    def id(self) -> str:
        return self.entry.id

    def __repr__(self) -> str:
        return f"Step({self.entry.id}, {self.direction})"


TOLD_ONLY = frozenset({"unrecorded-checksum", "unverifiable-source"})  # said, never a failure: nothing to fix


class Finding:
    """Something odd about a plan, with the one message every command gives for it.

    ``kind``: "changed" (applied, then edited), "out-of-order" (pending but
    older than the newest applied), "unverifiable" (no checksum to compare),
    "unrecorded-checksum" (applied without one), "not-shipped" (recorded, no such
    migration here: too new, or migrations left out).
    """

    __slots__ = ("file", "kind", "message", "migration_id")

    def __init__(self, kind: str, migration_id: str | None, file: str | None, message: str) -> None:
        self.kind = kind
        self.migration_id = migration_id
        self.file = file
        self.message = message

    @property
    def is_problem(self) -> bool:
        """Whether app-db check fails on it; the others are told, as warnings."""
        return self.kind not in TOLD_ONLY

    def __repr__(self) -> str:
        return f"Finding({self.kind!r}, {self.migration_id!r})"


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
        return self.current_after([])

    def raise_if_too_new(self, path: Path | None) -> None:
        """SchemaTooNewError when the file records migrations this app version does not have.

        Not raised when every one of them was recorded ``backward_compatible``
        (see newer_compatible) and this app has nothing pending older than
        them: it may use the file as it is. ConfigurationError instead when
        the app found no migration at all (they were left out of the app), or
        knows none of those the file records (another app's file, or one from
        before this app used app_db): neither is a newer version's file.
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
        shipped = {entry.file: entry for entry in self.known if entry.file}
        for unknown in self.unknown_applied:
            record = self.applied.get(unknown)  # restore() plans a source's ids with no records
            recorded_file = record.file if record is not None else None
            renamed = shipped.get(recorded_file) if recorded_file else None
            if renamed is not None and renamed.id != unknown:
                raise MigrationDefinitionError(
                    f"{renamed.location} was applied to {path or '(in memory)'} as {unknown!r} but now declares the "
                    f"id {renamed.id!r}. A shipped migration's id must never change (the database records it). "
                    f"Nothing was changed; put the id {unknown!r} back, and give new work a new file.",
                    file=renamed.location,
                    path=path,
                )
        self.raise_if_foreign(path)
        shown = ", ".join(self.unknown_applied[:5]) + (" ..." if len(self.unknown_applied) > 5 else "")
        compatible = self.newer_compatible
        behind = [entry.id for entry in self.pending if compatible and entry.id < compatible[-1]]
        if compatible and not behind:
            return  # a newer version's changes this one can live with: use the file as it is
        where, updated_by = path or "(in memory)", self.updated_by()
        if behind:
            problem = (
                f"(updated by {updated_by}; its migrations {shown}, which this version does not have, are backward "
                f"compatible, but this version would run {', '.join(behind)} after them, out of the order every other "
                "copy ran them in). Nothing was changed. Install the newer version of the app."
            )
        else:
            problem = (
                f"(updated by {updated_by}; it records migrations this version does not have: {shown}). Nothing was "
                "changed. Install the newer version of the app, or restore a backup made before the update."
            )
        raise SchemaTooNewError(
            f"The database {where} was updated by a newer version of this app {problem}",
            unknown_ids=self.unknown_applied,
            path=path,
            updated_by=updated_by,
        )

    def raise_if_foreign(self, path: Path | None) -> None:
        """ConfigurationError when the file records migrations, none of which this app knows: not its file."""
        known_ids = {entry.id for entry in self.known}
        if not self.applied or known_ids & set(self.applied):
            return
        shown = ", ".join(sorted(self.applied)[:3]) + (" ..." if len(self.applied) > 3 else "")
        raise ConfigurationError(
            f"The database {path or '(in memory)'} records {len(self.applied)} migration(s) ({shown}), none of which "
            "this app has, so it is another app's file, or one from before this app used app_db (or from a version "
            "that squashed its history); it is not a newer version's file. Nothing was changed. Check the path "
            "(path=, $APP_DB_PATH), or move the file aside to start a new database.",
            path=path,
        )

    @property
    def newer_compatible(self) -> list[str]:
        """The unknown ids, oldest first, when every one is recorded backward compatible; else [].

        Such a file was migrated by a newer app version whose changes this
        one can live with (a new table, a nullable column, an index).
        """
        records = [self.applied.get(migration_id) for migration_id in self.unknown_applied]
        if records and all(record is not None and record.backward_compatible for record in records):
            return list(self.unknown_applied)
        return []

    def updated_by(self) -> str:
        """Who ran the newest migration this app does not know, and when: "AppDbNotes 1.5.0 on 2026-11-02".

        Names what the newest unknown record says (rows written before app_db
        recorded versions name only the day).
        """
        records = [self.applied[migration_id] for migration_id in self.unknown_applied if migration_id in self.applied]
        if not records:
            return "a newer version of this app"
        newest = max(records, key=lambda record: (record.applied_at, record.id))
        who = " ".join(part for part in (newest.app_name, newest.app_version) if part) or "a version that did not say"
        return f"{who} on {newest.applied_at.date().isoformat()}"

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

    def steps_up(self, target: str | None = None) -> list[Step]:
        """What migrate(target) runs: the pending migrations (through ``target``), oldest first.

        A ``target`` older than the newest applied migration is refused:
        migrating only goes forward, and doing nothing would look like success.
        """
        newer = [migration_id for migration_id in self.applied if target and migration_id > target]
        if target and target in self.applied and newer:
            raise ConfigurationError(
                f"{target} is older than {max(newer)}, which is applied: migrate only goes forward. Nothing was "
                f"changed. To undo what came after {target}, roll back to it (`app-db rollback --to {target}`, "
                f"or rollback(to={target!r}))."
            )
        return [Step(entry, "up") for entry in (self.up_to(target) if target else self.pending)]

    def steps_down(self, steps: int | None = 1, to: str | None = None) -> list[Step]:
        """What rollback(steps, to) runs: the newest applied migrations (all after ``to``), newest first.

        Refuses, before anything runs, a count out of range, a ``to`` that is
        not applied, and a migration this app version does not ship.
        """
        newest_first = sorted(self.applied, reverse=True)
        if not newest_first:
            return []  # nothing is applied: nothing to undo
        if to is not None:
            if to not in self.applied:
                raise ConfigurationError(
                    f"{to} is not applied, so there is nothing to roll back to. Nothing was changed; "
                    "`app-db status` lists what is applied."
                )
            undo_ids = [migration_id for migration_id in newest_first if migration_id > to]
        else:
            if steps is None or steps < 1:
                raise ConfigurationError(f"steps must be 1 or more, not {steps!r}.")
            if steps > len(newest_first):
                raise ConfigurationError(
                    f"Cannot roll back {steps} migrations: only {len(newest_first)} "
                    f"{'is' if len(newest_first) == 1 else 'are'} applied. Nothing was "
                    f"changed. Ask for {len(newest_first)} or fewer (rolling back all of them empties the database)."
                )
            undo_ids = newest_first[:steps]
        by_id = {entry.id: entry for entry in self.known}
        for migration_id in undo_ids:
            if migration_id not in by_id:
                raise IrreversibleMigrationError(
                    f"Cannot roll back {migration_id}: this app version does not ship it (a newer version "
                    "applied it). Nothing was changed."
                )
        return [Step(by_id[migration_id], "down") for migration_id in undo_ids]

    def steps(
        self, direction: str, to: str | None = None, count: int | None = 1, path: Path | None = None
    ) -> list[Step]:
        """What runs, decided once: ``up`` (migrate, through ``to``) or ``down`` (roll back ``count``, or to ``to``).

        Every command asks this: the launch, migrate, rollback, their dry
        runs, and the loop again under the lock. ``up`` refuses a file that a
        newer app version migrated (SchemaTooNewError).
        """
        if direction == "up":
            self.raise_if_too_new(path)
            return self.steps_up(to)
        return self.steps_down(None if to is not None else count, to)

    def current_after(self, steps: Sequence[Step]) -> str | None:
        """Where the schema will be once ``steps`` have run."""
        ids = set(self.applied)
        for step in steps:
            (ids.add if step.direction == "up" else ids.discard)(step.id)
        return max(ids) if ids else None

    def findings(self, path: Path | None, to_run: Sequence[Step] | None = None) -> list[Finding]:
        """What is odd about this plan (reads the migrations' text for checksums), one message per finding.

        ``to_run``: only the steps about to run are judged for order and
        unverifiable checksums (all pending ones when None).
        """
        where = str(path) if path is not None else "(in memory)"
        running = [step.entry for step in to_run] if to_run is not None else self.pending
        found = [
            Finding(
                "not-shipped",
                migration_id,
                self.applied[migration_id].file,
                f"{where} records {migration_id}, which this app does not have: a newer version migrated it "
                "(or a migration file was deleted or its id renamed).",
            )
            for migration_id in self.unknown_applied
        ]
        found += [
            Finding(
                "changed",
                entry.id,
                entry.location,
                f"Migration {entry.id} ({entry.location}) changed since it was applied to {where}. Shipped "
                "migrations are history: revert the edit and put the change in a new migration.",
            )
            for entry in self.changed_checksums()
        ]
        current = self.current
        found += [
            Finding(
                "out-of-order",
                entry.id,
                entry.location,
                f"Migration {entry.id} ({entry.location}) is pending but older than the newest applied one, {current}, "
                f"which {where} already has (merged from a branch?): it runs out of order, and a fresh install runs "
                "it first. Make sure they do not depend on the order, or give it an id later than every applied one.",
            )
            for entry in running
            if current is not None and entry.id < current
        ]
        unverifiable, unrecorded = [], []
        for entry in self.unverifiable_checksums():
            if entry.id in self.applied and self.applied[entry.id].checksum is None:
                unrecorded.append(entry)
            elif entry in running:
                unverifiable.append(entry)
        if unrecorded:
            found.append(
                Finding(
                    "unrecorded-checksum",
                    unrecorded[0].id,
                    unrecorded[0].location,
                    f"{where} records no checksum for {name_each(unrecorded)} "
                    "(applied by a build that shipped neither their source nor a manifest), so whether they changed "
                    "since cannot be verified.",
                )
            )
        if unverifiable:  # one finding for the batch: a build without sources lacks them all at once
            found.append(
                Finding(
                    "unverifiable",
                    unverifiable[0].id,
                    unverifiable[0].location,
                    "No checksum can be recorded for "
                    + name_each(unverifiable)
                    + ": the app ships neither their source nor a manifest (`app-db manifest` writes one to ship "
                    "with them), so an edit made after they ran will go unnoticed.",
                )
            )
        return found

    def check_file(self, path: Path | None) -> list[Finding]:
        """What ``app-db check --file`` says about the file: the findings and what is pending.

        "unverifiable" is left to the check of the sources (check_manifest),
        which words it for the build; a recorded id this app lacks is filed
        under the database, not under a migration file it does not have.
        """
        where = str(path) if path is not None else "(in memory)"
        found = [
            Finding(finding.kind, finding.migration_id, where, finding.message)
            if finding.kind == "not-shipped"
            else finding
            for finding in self.findings(path)
            if finding.kind != "unverifiable"
        ]
        if self.pending:
            count = len(self.pending)
            found.append(
                Finding(
                    "pending",
                    self.pending[0].id,
                    where,
                    f"{where} has {count} pending migration{'' if count == 1 else 's'} "
                    f"({', '.join(entry.id for entry in self.pending)}); run `app-db migrate`.",
                )
            )
        return found


def resolve_id(given: str, migrations: Sequence[object], what: str = "migration") -> str:
    """The id ``given`` names among ``migrations`` (each with ``id`` and ``file``).

    The id itself, a unique prefix of one, or a file's number or name
    (``002``, ``002_add_title``); ConfigurationError when none or several
    match. The one reading of a short id: the CLI's ``--to``, ``--at`` and
    ``stamp``, and migration_tester.migrate_to.
    """
    from pathlib import PurePath

    ids = [getattr(migration, "id", "") for migration in migrations]
    if given in ids:
        return given
    matches = []
    for migration in migrations:
        migration_id, file = getattr(migration, "id", ""), getattr(migration, "file", None)
        name = PurePath(file).name if file else ""
        if migration_id.startswith(given) or (name and (PurePath(name).stem == given or name.startswith(given + "_"))):
            matches.append(migration_id)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigurationError(f"{given!r} matches several {what}s: {', '.join(matches)}; give more of the id.")
    raise ConfigurationError(f"No {what} has the id {given!r}; `app-db status` lists them.")


def name_each(entries: Sequence[KnownMigration]) -> str:
    """The entries by file name, or by id where files do not tell them apart (instances defined in one module)."""
    files = [entry.file or entry.id for entry in entries]
    return ", ".join(files if len(set(files)) == len(files) else [entry.id for entry in entries])


def refuse_irreversible(migrations: Sequence[Migration], path: Path | None) -> None:
    """IrreversibleMigrationError, before any change, for the first of ``migrations`` that has no down()."""
    for migration in migrations:
        if not migration.reversible:
            raise IrreversibleMigrationError(
                f"Cannot roll back {migration.label}: it has no down(self, schema) method. "
                "Nothing was changed. Write a down() that undoes up(), or roll back fewer steps.",
                file=migration.file,
                path=path,
            )


def plan_migrations(known: Sequence[KnownMigration], applied: dict[str, AppliedMigration]) -> Plan:
    """Order ``known`` by id and work out what is pending and what is unknown.

    Duplicate ids (compared case-insensitively: on a case-insensitive file
    system or to a person they are the same) raise MigrationDefinitionError.
    """
    for duplicate in find_duplicates(known)[:1]:
        raise MigrationDefinitionError(duplicate.message, file=duplicate.file)
    ordered = sorted(known, key=lambda m: m.id)
    known_ids = {m.id for m in ordered}
    return Plan(
        known=ordered,
        applied=dict(applied),
        pending=[m for m in ordered if m.id not in applied],
        unknown_applied=sorted(set(applied) - known_ids),
    )


def find_duplicates(known: Sequence[KnownMigration]) -> list[Finding]:
    """Each migration whose id another one already has (compared case-insensitively), as a "duplicate" finding."""
    by_id: dict[str, KnownMigration] = {}
    found = []
    for migration in known:
        twin = by_id.setdefault(migration.id.lower(), migration)
        if twin is not migration:
            found.append(
                Finding(
                    "duplicate",
                    migration.id,
                    migration.location,
                    f"{migration.location}: id {migration.id!r} is also used by {twin.location}. Give the newer "
                    "one a new id (a later timestamp); nothing was changed.",
                )
            )
    return found


def find_misnumbered(known: Sequence[KnownMigration]) -> list[Finding]:
    """Files that share a number, or whose numbers do not follow their ids: they run by id, people read numbers."""
    import itertools

    numbered = [
        (int(entry.file.split("_", 1)[0]), entry)
        for entry in known
        if entry.file and entry.file.split("_", 1)[0].isdigit()
    ]
    found = []
    seen: dict[int, KnownMigration] = {}
    for number, entry in numbered:
        if number in seen and seen[number].location != entry.location:
            found.append(
                Finding(
                    "misnumbered",
                    entry.id,
                    entry.location,
                    f"{entry.location}: number {number} is also used by {seen[number].location} "
                    "(two branches each added one?); renumber the newer file.",
                )
            )
        seen.setdefault(number, entry)
    by_number = sorted(numbered, key=lambda item: (item[0], item[1].id))
    for (number_a, a), (number_b, b) in itertools.pairwise(by_number):
        if number_a != number_b and a.id > b.id:
            found.append(
                Finding(
                    "misnumbered",
                    b.id,
                    b.location,
                    f"{b.location}: its id {b.id} is older than {a.id} of {a.location}, yet its number is higher; "
                    "they run in id order, so renumber the files to match.",
                )
            )
    return found


def find_stubs(known: Sequence[KnownMigration]) -> list[Finding]:
    """Each migration whose down() is still the stub `app-db new` wrote, as a "stub" finding (reads their text).

    A stub up() is refused when the migration is loaded; a stub down()
    would only fail at rollback, so it is found here.
    """
    from .migration import STUB_MARKER

    return [
        Finding(
            "stub",
            entry.id,
            entry.location,
            f"{entry.location}: down() is still the stub `app-db new` wrote (raise NotImplementedError); "
            "write it, or delete down() if the migration cannot be undone.",
        )
        for entry in known
        if f"{STUB_MARKER}: down()".encode() in (entry.text() or b"")
    ]


def is_up_to_date(file_names: Sequence[str], recorded: Sequence[tuple[str, str | None]]) -> bool:
    """Nothing pending and nothing unknown, judged from names alone: every file recorded, every record's file present.

    ``recorded`` holds (id, file name) rows of the tracking table.
    """
    return len(recorded) == len(file_names) and {file for _, file in recorded} == set(file_names)
