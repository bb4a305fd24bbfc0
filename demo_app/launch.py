"""The launch flow both front ends share, and what each launch error means to a user.

Open the file, say what is pending (so the GUI can put up its splash before the
backup and the first migration start), migrate and bind the models. An error
becomes a LaunchProblem: plain words, the next step, and the folder to open.
"""

from __future__ import annotations

from pathlib import Path

from app_db import AppDbError, Database, DatabaseCorruptError, MigrationError, SchemaTooNewError

from .db import APP_NAME, notes_database
from .models import MODELS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at every start
if TYPE_CHECKING:
    from collections.abc import Callable

    from app_db import Migration

    from .db import ProgressCallback


# Plain classes, not dataclasses: importing dataclasses (and the inspect machinery it brings) and building
# the classes costs milliseconds at every start, and these are made once per launch.
class Launched:
    """What a successful launch did; ``database`` stays open while the app runs."""

    __slots__ = ("applied", "backup", "database", "fresh_install", "path", "recorded")

    def __init__(
        self,
        database: Database,
        path: Path,
        applied: list | None = None,
        backup: Path | None = None,
        fresh_install: bool = False,
        recorded: list | None = None,
    ) -> None:
        self.database = database
        self.path = path
        self.applied = applied if applied is not None else []  # the migrations run (each has .id and .name), in order
        self.backup = backup
        self.fresh_install = fresh_install  # the file had no migration recorded: a first start, not an upgrade
        self.recorded = recorded if recorded is not None else []  # baselines recorded without running

    def close(self) -> None:
        self.database.close()


class LaunchProblem:
    """A launch error in the words a dialog or a terminal shows."""

    __slots__ = ("damaged_file", "detail", "folder", "headline", "next_step", "technical", "title")

    def __init__(
        self,
        title: str,
        headline: str,
        detail: str,
        next_step: str,
        folder: Path | None,
        technical: str,
        damaged_file: Path | None = None,
    ) -> None:
        self.title = title
        self.headline = headline
        self.detail = detail
        self.next_step = next_step
        self.folder = folder  # what "Open data folder" opens
        self.technical = technical  # app_db's own message, for a support request
        self.damaged_file = damaged_file  # set when moving the file aside is the way out

    def replaced(self, **changes: object) -> LaunchProblem:
        """A copy with some fields changed (the newer-file dialog rewords one)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return LaunchProblem(**fields)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LaunchProblem):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LaunchProblem(title={self.title!r}, headline={self.headline!r})"


def open_notes(
    path: Path | None = None,
    on_progress: ProgressCallback | None = None,
    before_migrating: Callable[[list, bool], None] | None = None,
    keep_alive: Callable[[], None] | None = None,
    on_row_progress: Callable[[Migration, int, int], None] | None = None,
    on_newer: str = "refuse",
) -> Launched:
    """Migrate the notes database and bind the models; raises AppDbError.

    ``before_migrating(pending, fresh_install)`` runs only when migrations are
    pending, so a launch with nothing to do shows no splash at all. ``keep_alive()`` is
    app_db's: called about every 0.1 s inside long SQLite steps, never with
    the database usable. ``on_row_progress(migration, done, total)`` is a
    data migration's own progress (app_db calls it at most ~10 times a second).
    """
    database = notes_database(path, on_progress=on_progress, keep_alive=keep_alive, on_row_progress=on_row_progress,
                              on_newer=on_newer)  # "read_only": the newer-file dialog's choice
    try:
        pending = database.pending()
        fresh_install = bool(pending) and all(entry.pending for entry in database.status())
        if pending and before_migrating is not None:
            before_migrating(pending, fresh_install)
        report = database.register_models(MODELS)
    except BaseException:
        database.close()
        raise
    return Launched(
        database=database,
        path=Path(report.path),
        applied=list(report.applied),  # each entry has .id and .name
        backup=report.backup,
        fresh_install=fresh_install,
        recorded=list(report.recorded),
    )


def progress_text(
    index: int, total: int, migration: Migration, done: int = 0, rows: int = 0, fresh_install: bool = False
) -> str:
    """The splash's line, also printed by --headless; with ``rows``, how far the step is, as a percentage.

    A first start has no data to update: it sets the notebook up.
    """
    doing = "Setting up your notes" if fresh_install else "Updating your data"
    text = f"{doing} ({index} of {total}): {migration.name}"
    return f"{text}, {100 * done // rows}%" if rows else text


def describe_problem(error: AppDbError) -> LaunchProblem:
    """Turn a launch error into what the user reads and can do next."""
    path = Path(error.path) if getattr(error, "path", None) else None
    data_folder = path.parent if path is not None else None
    technical = technical_details(error)
    if isinstance(error, MigrationError):
        backup = Path(error.backup) if error.backup else None
        where_backup = (
            f"A copy of your notes from before the update is in {backup}."
            if backup is not None
            else "No backup was needed: the file was not touched."
        )
        return LaunchProblem(
            title=f"{APP_NAME} could not update your notes",
            headline="Your notes could not be updated for this version of the app.",
            detail=(
                f'The update step "{error.migration.name}" failed, so it was undone: '
                f"your notes are exactly as they were before this launch. {where_backup}"
            ),
            next_step=(
                "Go back to the version you used before, and send the details below "
                "to the developers so they can fix the update."
            ),
            folder=backup.parent if backup is not None else data_folder,
            technical=technical,
        )
    if isinstance(error, SchemaTooNewError):
        count = len(error.unknown_ids)
        changes = "a change" if count == 1 else f"{count} changes"
        return LaunchProblem(
            title=f"Your notes need a newer {APP_NAME}",
            headline=f"Your notes were saved by a newer version of {APP_NAME}.",
            detail=(
                f"That version made {changes} to the file that this version does not know, "
                "so it will not open it rather than risk damaging it. Nothing was changed."
            ),
            next_step=f"Install the latest version of {APP_NAME} to open your notes.",
            folder=data_folder,
            technical=technical,
        )
    if isinstance(error, DatabaseCorruptError):
        backups = data_folder / "backups" if data_folder is not None else None
        return LaunchProblem(
            title=f"{APP_NAME} cannot read your notes",
            headline="Your notes file is damaged or is not a notes file.",
            detail=f"{path} could not be read. It was not changed.",
            next_step=(
                "Restore a copy from the backups folder, or move the damaged file aside "
                "and start with an empty notebook (the damaged file is kept)."
            ),
            folder=backups if backups is not None and backups.is_dir() else data_folder,
            technical=technical,
            damaged_file=path,
        )
    return LaunchProblem(
        title=f"{APP_NAME} could not open your notes",
        headline="Your notes could not be opened.",
        detail=str(error),
        next_step="Follow the advice above, then start the app again.",
        folder=data_folder,
        technical=technical,
    )


def technical_details(error: BaseException) -> str:
    """The error and its cause, one per line: what a bug report needs."""
    lines = [f"{type(error).__name__}: {error}"]
    migration = getattr(error, "migration", None)
    if migration is not None:
        lines.append(f"Migration: {migration.id} ({getattr(migration, 'file', '') or 'no file'})")
    cause = error.__cause__
    if cause is not None:
        lines.append(f"Cause: {type(cause).__name__}: {cause}")
    return "\n".join(lines)


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal/-shm) so the next launch starts empty; returns the new name.

    Every connection to it is closed by then (open_notes closes its own on
    an error); raises AppDbError, with nothing moved, when another program
    still holds it.
    """
    from app_db.restore import move_damaged_aside  # only when the user asks: not on every launch

    return move_damaged_aside(path)
