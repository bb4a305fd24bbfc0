"""Definitions: what is wrong with the migration files themselves, every file read and every problem found.

What `app-db check` asks of a repository or a build (a file that cannot be
listed, identified or imported, a duplicate id, a stub left in, numbers out
of step with ids, a stale manifest), and what a launch refuses before it
plans (a duplicate id). Findings, not exceptions, so check reports them all.
"""

from __future__ import annotations

import os

from .discovery import (
    MANIFEST_MODULE,
    KnownMigration,
    identify_instances,
    identify_migrations,
    list_migration_files,
)
from .errors import AppDbError
from .migration import STUB_MARKER, Migration
from .plan import Finding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "check_definitions",
    "check_manifest",
    "find_duplicates",
    "find_misnumbered",
    "find_stubs",
    "find_unloadable",
]


def check_definitions(
    source: str | os.PathLike[str] | list[Migration] | None,
) -> tuple[list[KnownMigration], list[Finding]]:
    """Every migration of a resolved ``source`` read and loaded, and what is wrong with them, without stopping.

    The findings: a file that cannot be listed, identified or imported, a
    duplicate id, a stub left in, numbers out of step with ids, a stale
    manifest (see check_manifest). Returns every migration identified,
    problems or not (what ``check --json`` counts).
    """
    if source is None:
        return [], []
    found: list[Finding] = []
    known: list[KnownMigration] = []
    if isinstance(source, list):
        known = identify_instances(source)
    else:
        try:
            files = list_migration_files(os.fspath(source), against_manifest=False)
        except AppDbError as exc:
            return [], [Finding("definition", None, getattr(exc, "file", None), str(exc))]
        for migration_file in files:
            try:
                known.extend(identify_migrations([migration_file], {}, read_all=True))
            except AppDbError as exc:
                found.append(Finding("definition", None, migration_file.location, str(exc)))
    found += find_duplicates(known)
    unloadable = find_unloadable(known)
    loaded = [entry for entry in known if entry.id not in {finding.migration_id for finding in unloadable}]
    found += unloadable + find_stubs(loaded) + find_misnumbered(known) + check_manifest(known)
    return known, found


def find_unloadable(entries: Sequence[KnownMigration]) -> list[Finding]:
    """Each of ``entries`` that cannot be imported and checked (a syntax error, a bad class, a stub up()).

    A launch imports every pending migration before its first write, so
    these are the files it would refuse (MigrationDefinitionError).
    """
    found = []
    for entry in entries:
        try:
            entry.load()
        except AppDbError as exc:
            found.append(Finding("definition", entry.id, entry.location, str(exc)))
    return found


def check_manifest(known: Sequence[KnownMigration]) -> list[Finding]:
    """The manifest (when there is one) must match the sources; a migration with neither cannot be verified.

    Findings: "stale-manifest" (a problem) and "unverifiable-source" (told, not a failure).
    """
    sources = [entry.source for entry in known if entry.source is not None]
    if not sources:
        return []
    manifest = sources[0].manifest
    entries = manifest.entries
    where = f"{manifest.package}.{MANIFEST_MODULE}" if manifest.package else MANIFEST_MODULE
    stale, unverifiable = [], []
    for entry in known:
        if entry.text() is None:
            if entry.checksum() is None:
                unverifiable.append(entry.file or entry.id)
        elif entries and entries.get(entry.file or "") != (entry.id, entry.name, entry.checksum()):
            stale.append(entry.file or entry.id)
    found = []
    if unverifiable:
        found.append(
            Finding(
                "unverifiable-source",
                None,
                where,
                f"{', '.join(unverifiable)} ship without their source and {where} has no entry for them, so their "
                "checksums cannot be verified (nor recorded); run `app-db manifest` in the source tree before "
                "building.",
            )
        )
    shipped = {entry.file for entry in known}
    stale += sorted(file for file in entries if file not in shipped)
    if stale:
        found.append(
            Finding(
                "stale-manifest",
                None,
                where,
                f"{where} is out of date for {', '.join(stale)}: a build without sources would identify or verify "
                "them wrongly. Run `app-db manifest` and commit the file.",
            )
        )
    return found


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
