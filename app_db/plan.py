"""Plan: from the migrations the app knows and those the file records, what to run, or why not.

Pure: nothing here reads or writes the database or the migration files
(beyond a KnownMigration's checksum, which the caller asks for, and its
text, or compiled code where no source ships, to learn whether it is a
baseline that replaces others: see read_replaces).
"""

from __future__ import annotations

from .errors import (
    AppDbError,
    ConfigurationError,
    IrreversibleMigrationError,
    MigrationDefinitionError,
    SchemaTooNewError,
)

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from .discovery import KnownMigration
    from .migration import Migration
    from .tracking import AppliedMigration

__all__ = [
    "Finding",
    "Plan",
    "Step",
    "plan_migrations",
    "refuse_irreversible",
    "resolve_id",
]


class Step:
    """One migration to run, and which way: ``up`` applies it, ``down`` undoes it.

    Two directions only record, in the same transaction: ``record`` (a
    baseline whose replaced migrations the file already has) and ``cover``
    (an original a baseline replaces, counted as applied through it).
    """

    __slots__ = ("direction", "entry")

    def __init__(self, entry: KnownMigration, direction: str) -> None:
        self.entry = entry
        self.direction = direction  # "up", "down", "record" or "cover"

    @property
    def runs(self) -> bool:
        """True when this step calls up() or down(); False when it is only recorded."""
        return self.direction in ("up", "down")

    @property
    def id(self) -> str:
        return self.entry.id

    def __repr__(self) -> str:
        return f"Step({self.entry.id}, {self.direction})"


TOLD_ONLY = frozenset({"unrecorded-checksum", "unverifiable-source", "newer-compatible"})  # said, never a failure


class Finding:
    """Something odd about a plan, with the one message every command gives for it.

    ``kind``: "changed" (applied, then edited), "out-of-order" (pending but
    older than the newest applied), "unverifiable" (no checksum to compare),
    "unrecorded-checksum" (applied without one), "not-shipped" (recorded, no such
    migration here: too new, or migrations left out), "newer-compatible" (recorded
    by a newer version, all backward compatible: the launch uses the file as it is).
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
    """What the app knows, what the file records, and the difference.

    With baselines (``Migration.replaces``, see app_db.squash): ``pending``
    holds what runs or, for a baseline whose replaced migrations the file
    already has, is only recorded (``recorded_only``); ``covered`` holds the
    replaced originals still shipped, recorded as applied through their
    baseline without running; ``missing`` the replaced ids a file still needs
    but this app no longer ships, per baseline.
    """

    __slots__ = (
        "_all_baselines",
        "applied",
        "baselines",
        "covered",
        "known",
        "missing",
        "pending",
        "recorded_only",
        "unknown_applied",
    )

    def __init__(
        self,
        known: list[KnownMigration],
        applied: dict[str, AppliedMigration],
        pending: list[KnownMigration] | None = None,
        unknown_applied: list[str] | None = None,
        *,
        baselines: dict[str, tuple[str, ...]] | None = None,
        covered: list[KnownMigration] | None = None,
        recorded_only: set[str] | None = None,
        missing: dict[str, list[str]] | None = None,
    ) -> None:
        self.known = known  # sorted by id
        self.applied = applied
        self.pending = pending or []  # in the order they run
        self.unknown_applied = unknown_applied or []  # recorded, but the app ships no such migration
        self.baselines = baselines or {}  # baseline id -> the ids it replaces (those this plan had to read)
        self.covered = covered or []
        self.recorded_only = recorded_only or set()
        self.missing = missing or {}
        self._all_baselines: dict[str, tuple[str, ...]] | None = None

    def all_baselines(self) -> dict[str, tuple[str, ...]]:
        """Every known baseline -> the ids it replaces (reads each migration's text once; for rollback and status)."""
        if self._all_baselines is None:
            self._all_baselines = {entry.id: ids for entry in self.known if (ids := read_replaces(entry))}
        return self._all_baselines

    def replaced_by(self) -> dict[str, str]:
        """Each id a known baseline replaces -> that baseline's id (reads every migration's text)."""
        return {original: baseline for baseline, ids in self.all_baselines().items() for original in ids}

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
        compatible, behind = self.newer_compatible, self.pending_before_newer()
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

    def pending_before_newer(self) -> list[str]:
        """This app's pending ids older than the newest backward-compatible unknown one: running them is refused."""
        compatible = self.newer_compatible
        return [entry.id for entry in self.pending if compatible and entry.id < compatible[-1]]

    def uses_newer_as_is(self) -> bool:
        """Whether the launch uses a newer version's file as it is (its unknown ids all backward compatible)."""
        if not self.newer_compatible:
            return False
        try:
            self.raise_if_too_new(None)  # the launch's own judgement, not a copy of it
        except AppDbError:
            return False
        return True

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
        """The pending migrations through ``target`` (in run order); ``target`` must be known."""
        by_id = {m.id: m for m in self.known}
        if target not in by_id:
            raise ConfigurationError(f"No migration has the id {target!r}; `app-db status` lists them.")
        last = run_order(by_id[target], self.baselines)
        return [m for m in self.pending if run_order(m, self.baselines) <= last]

    def steps_up(self, target: str | None = None) -> list[Step]:
        """What migrate(target) runs or records: the pending migrations (through ``target``), in run order.

        A baseline whose replaced migrations the file has is a ``record``
        step; the shipped originals a baseline replaces are ``cover`` steps,
        once their baseline is applied or among these steps. A ``target``
        older than the newest applied migration is refused: migrating only
        goes forward, and doing nothing would look like success.
        """
        newer = [migration_id for migration_id in self.applied if target and migration_id > target]
        if target and target in self.applied and newer:
            raise ConfigurationError(
                f"{target} is older than {max(newer)}, which is applied: migrate only goes forward. Nothing was "
                f"changed. To undo what came after {target}, roll back to it (`app-db rollback --to {target}`, "
                f"or rollback(to={target!r}))."
            )
        if target is not None:
            skipped = [b for b, ids in self.baselines.items() if target in ids and b not in self.applied]
            if skipped:  # stopping inside a squashed history: its originals run, as they did before the baseline
                return self.without_baselines(skipped, target).steps_up(target)
        chosen = self.up_to(target) if target else self.pending
        steps = [Step(entry, "record" if entry.id in self.recorded_only else "up") for entry in chosen]
        through = {entry.id for entry in chosen} | set(self.applied)
        replaced_by = {original: baseline for baseline, ids in self.baselines.items() for original in ids}
        steps += [Step(entry, "cover") for entry in self.covered if replaced_by.get(entry.id) in through]
        return sorted(steps, key=lambda step: run_order(step.entry, self.baselines))

    def without_baselines(self, skipped: Sequence[str], target: str) -> Plan:
        """This plan without the baselines ``skipped``; each original they replace through ``target`` must ship."""
        known_ids = {entry.id for entry in self.known}
        for baseline in skipped:
            absent = [
                i for i in self.baselines[baseline] if i <= target and i not in known_ids and i not in self.applied
            ]
            if absent:
                raise ConfigurationError(
                    f"Cannot stop at {target}: it is inside the history that the baseline {baseline} replaces, and "
                    f"this app no longer ships {', '.join(absent[:5])}. Nothing was changed; go to {baseline} or later."
                )
        fewer = {b: ids for b, ids in self.baselines.items() if b not in skipped}
        candidates = [entry for entry in self.known if entry.id not in self.applied]
        unknown = set(self.applied) - known_ids
        return plan_with_baselines(self.known, self.applied, candidates, unknown, fewer)

    def raise_if_history_missing(self, steps: Sequence[Step], path: Path | None) -> None:
        """MigrationDefinitionError when a baseline to record needs originals this app no longer ships.

        The file applied some of the migrations the baseline replaces; the
        rest must run one by one, and their files were deleted.
        """
        for step in steps:
            missing = self.missing.get(step.id)
            if step.direction == "record" and missing:
                done = [original for original in self.baselines[step.id] if original in self.applied]
                shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
                raise MigrationDefinitionError(
                    f"The database {path or '(in memory)'} applied {len(done)} of the {len(self.baselines[step.id])} "
                    f"migrations that the baseline {step.entry.location} replaces, and still needs {shown}, which "
                    "this app no longer ships. Nothing was changed. Ship those migration files again (from version "
                    "control) beside the baseline; or bring the file up to date with an earlier release of the app "
                    "that has them, then start this one.",
                    file=step.entry.location,
                    path=path,
                )

    def steps_down(self, steps: int | None = 1, to: str | None = None) -> list[Step]:
        """What rollback(steps, to) runs: the newest applied migrations (all after ``to``), newest first.

        Refuses, before anything runs, a count out of range, a ``to`` that is
        not applied, and a migration this app version does not ship.
        """
        baselines = self.all_baselines() if self.known else {}
        by_id = {entry.id: entry for entry in self.known}
        newest_first = sorted(
            self.applied,
            key=lambda applied_id: run_order(by_id[applied_id], baselines) if applied_id in by_id else (applied_id,),
            reverse=True,
        )
        if not newest_first:
            return []  # nothing is applied: nothing to undo
        if to is not None:
            if to not in self.applied:
                raise ConfigurationError(
                    f"{to} is not applied, so there is nothing to roll back to. Nothing was changed; "
                    "`app-db status` lists what is applied."
                )
            undo_ids = newest_first[: newest_first.index(to)]
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
        replaced_by = self.replaced_by() if baselines else {}
        for migration_id in undo_ids:
            baseline = migration_id if migration_id in baselines else replaced_by.get(migration_id)
            if baseline is not None:
                raise IrreversibleMigrationError(
                    f"Cannot roll back {migration_id}: "
                    + ("it is" if baseline == migration_id else f"{baseline}, which replaces it, is")
                    + f" a baseline ({by_id[baseline].location}) standing for {len(baselines[baseline])} squashed "
                    "migrations, and a squashed history is not rolled back past its baseline. Nothing was changed. "
                    "Roll back only the migrations after it, or restore a backup (`app-db restore FILE`).",
                    file=by_id[baseline].location,
                )
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
            steps = self.steps_up(to)
            self.raise_if_history_missing(steps, path)
            return steps
        return self.steps_down(None if to is not None else count, to)

    def current_after(self, steps: Sequence[Step]) -> str | None:
        """Where the schema will be once ``steps`` have run."""
        ids = set(self.applied)
        for step in steps:
            (ids.discard if step.direction == "down" else ids.add)(step.id)
        return max(ids) if ids else None

    def findings(self, path: Path | None, to_run: Sequence[Step] | None = None) -> list[Finding]:
        """What is odd about this plan (reads the migrations' text for checksums), one message per finding.

        ``to_run``: only the steps about to run are judged for order and
        unverifiable checksums (all pending ones when None).
        """
        where = str(path) if path is not None else "(in memory)"
        running = [step.entry for step in to_run] if to_run is not None else self.pending
        if self.uses_newer_as_is():  # what the launch decides (raise_if_too_new): usable, and told
            found = [
                Finding(
                    "newer-compatible",
                    migration_id,
                    self.applied[migration_id].file,
                    f"{where} records {migration_id}, which this app does not have: {self.updated_by()} applied it, "
                    "recorded as backward compatible, so this version uses the file as it is.",
                )
                for migration_id in self.unknown_applied
            ]
        else:
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
            if finding.kind in ("not-shipped", "newer-compatible")
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
    from .definitions import find_duplicates

    for duplicate in find_duplicates(known)[:1]:
        raise MigrationDefinitionError(duplicate.message, file=duplicate.file)
    ordered = sorted(known, key=lambda m: m.id)
    known_ids = {m.id for m in ordered}
    candidates = [m for m in ordered if m.id not in applied]
    unknown = set(applied) - known_ids
    # Only the files about to be read anyway are asked whether they are baselines; the applied ones only
    # when something could be a replaced original (older than the newest applied, or recorded but not shipped).
    baselines = {m.id: ids for m in candidates if (ids := read_replaces(m))}
    newest = max(applied) if applied else None
    if unknown or (newest is not None and any(m.id < newest for m in candidates)):
        baselines.update({m.id: ids for m in ordered if m.id in applied and (ids := read_replaces(m))})
    if not baselines:
        return Plan(known=ordered, applied=dict(applied), pending=candidates, unknown_applied=sorted(unknown))
    return plan_with_baselines(ordered, dict(applied), candidates, unknown, baselines)


def plan_with_baselines(
    ordered: list[KnownMigration],
    applied: dict[str, AppliedMigration],
    candidates: list[KnownMigration],
    unknown: set[str],
    baselines: dict[str, tuple[str, ...]],
) -> Plan:
    """The plan when baselines are involved: the three cases of a squashed history (README: Squashing a long history).

    Nothing of a baseline's ids applied: it runs, and the originals still
    shipped are covered. All of them applied: it is only recorded. Some: the
    rest of the originals run, then it is recorded (``missing``: those not shipped).
    """
    known_ids = {m.id for m in ordered}
    refuse_overlapping_baselines(ordered, baselines)
    replaced_by = {original: baseline for baseline, ids in baselines.items() for original in ids}
    begun = {baseline for baseline, ids in baselines.items() if not applied.keys().isdisjoint(ids)}
    pending, covered, recorded_only, missing = [], [], set(), {}
    for entry in candidates:
        baseline = replaced_by.get(entry.id)
        if baseline is not None and (baseline in applied or baseline not in begun):
            covered.append(entry)  # through a baseline that ran (or runs now) here; so is a baseline squashed again
        elif entry.id in baselines:
            if entry.id in begun:
                recorded_only.add(entry.id)
                missing[entry.id] = [i for i in baselines[entry.id] if i not in applied and i not in known_ids]
            pending.append(entry)
        else:
            pending.append(entry)  # an ordinary migration, or an original the file is part-way through
    pending.sort(key=lambda entry: run_order(entry, baselines))
    return Plan(
        known=ordered,
        applied=applied,
        pending=pending,
        unknown_applied=sorted(unknown - replaced_by.keys()),  # originals deleted after squashing are not unknown
        baselines=baselines,
        covered=covered,
        recorded_only=recorded_only,
        missing=missing,
    )


def refuse_overlapping_baselines(ordered: list[KnownMigration], baselines: dict[str, tuple[str, ...]]) -> None:
    """MigrationDefinitionError when two baselines replace the same migration and neither replaces the other.

    A fresh install would run both, and the second fails on tables the
    first made. A baseline squashed again replaces the older one: allowed.
    """
    import itertools

    where = {m.id: m.location or m.id for m in ordered}
    for (a, a_ids), (b, b_ids) in itertools.combinations(sorted(baselines.items()), 2):
        shared = sorted(set(a_ids) & set(b_ids))
        if shared and a not in b_ids and b not in a_ids:
            raise MigrationDefinitionError(
                f"Two baselines replace the same migration {shared[0]}"
                + (f" (and {len(shared) - 1} more)" if len(shared) > 1 else "")
                + f": {where.get(a, a)} and {where.get(b, b)}. A fresh install would run both. Nothing was changed; "
                "delete one of them; `app-db check` then compares the other with the migrations it replaces.",
                file=where.get(b, b),
            )


def run_order(entry: KnownMigration, baselines: dict[str, tuple[str, ...]]) -> tuple[str, int, str]:
    """Where ``entry`` runs: by id, except that a baseline takes the place of the newest migration it replaces."""
    ids = baselines.get(entry.id)
    return (max(ids), 1, entry.id) if ids else (entry.id, 0, "")


# A class-level ``replaces = [...]``, and the plain form `app-db squash` writes: string literals only.
REPLACES_ASSIGNED = r"^[ \t]+replaces[ \t]*(?::[^=\n]*)?="
REPLACES_LINE = REPLACES_ASSIGNED + r"[ \t]*[\[(]([^\])]*)[\])]"
LITERAL_LIST = r"""(?:\s|#[^\n]*|(['"])[^'"\n]*\1|,)*"""


def read_replaces(entry: KnownMigration) -> tuple[str, ...]:
    """The ids the migration replaces (``Migration.replaces``); () for an ordinary migration.

    Read from the source text like the id; imported only when the text
    does not say it plainly (no source shipped, or a computed list).
    """
    import re

    from .migration import ID_PATTERN

    declared: Any = ()
    text = entry.text() if entry.instance is None else None
    if text is not None and b"replaces" not in text:
        return ()  # the usual migration: one look at text read anyway
    decoded = text.decode("utf-8", errors="replace") if text is not None else None
    if decoded is not None and not re.search(REPLACES_ASSIGNED, decoded, re.M):
        return ()
    found = re.findall(REPLACES_LINE, decoded, re.M) if decoded is not None else []
    if len(found) == 1 and re.fullmatch(LITERAL_LIST, found[0]):
        declared = [match[1] for match in re.findall(r"""(['"])([^'"\n]*)\1""", found[0])]
    elif decoded is None and entry.instance is None and not bytecode_assigns_replaces(entry):
        return ()  # shipped as bytecode only: its compiled class never assigns replaces, so no import is needed
    else:
        declared = getattr(entry.load(), "replaces", None) or ()
    if isinstance(declared, str) or not all(isinstance(each, str) for each in declared):
        raise MigrationDefinitionError(
            f"{entry.location}: replaces must be a list of migration ids (strings), not {declared!r}. "
            "Nothing was changed.",
            file=entry.location,
        )
    ids = tuple(declared)
    malformed = [each for each in ids if re.fullmatch(ID_PATTERN, each) is None]  # ids only: hundreds, at a launch
    if malformed:
        raise MigrationDefinitionError(
            f"{entry.location}: replaces lists {malformed[0]!r}, which is not a migration id "
            "(YYYYMMDD_HHMMSS_description). Nothing was changed.",
            file=entry.location,
        )
    if entry.id in ids:
        raise MigrationDefinitionError(
            f"{entry.location}: the baseline {entry.id} lists itself in replaces; list the migrations it stands "
            "for. Nothing was changed.",
            file=entry.location,
        )
    return ids


def bytecode_assigns_replaces(entry: KnownMigration) -> bool:
    """Whether the compiled module of a migration shipped without source assigns a name ``replaces`` anywhere.

    Read without running it: the .pyc on disk, or the code object its
    importer (zip, frozen bundle) hands out. True when that cannot be told.
    """
    source = entry.source
    try:
        if source is None:
            return True
        if source.folder is not None and source.shipped.endswith(".pyc"):
            import marshal
            import os

            with open(os.path.join(source.folder, source.shipped), "rb") as compiled:
                code = marshal.loads(compiled.read()[16:])  # after the 16-byte header (PEP 552)
        else:
            spec = source.finder.find_spec(source.module) if source.finder is not None else None
            code = spec.loader.get_code(source.module) if spec is not None and spec.loader is not None else None
    except Exception:  # an unreadable file is told apart by the import that follows
        return True
    pending = [code]
    while pending:
        current = pending.pop()
        if not hasattr(current, "co_names"):
            return True
        if "replaces" in current.co_names:
            return True
        pending += [const for const in current.co_consts if hasattr(const, "co_names")]
    return False
