"""Autogenerate: write the migration that brings the migrations' schema to the models.

The command behind ``app-db makemigration`` (and the file naming ``app-db
new`` shares): the migrations run on a scratch database (never the user's
file), model_diff finds the changes, and this module writes them as a
migration a person could have written: ``schema.*`` operations in
``up()``, their inverses in reverse order in ``down()``, no import of the
app's models (migrations are frozen history), never over an existing file.

Where the other steps live: reflection (reading a schema), schema_text
(the schema as lines and as SQL), scratch (scratch databases), model_diff
(the changes), field_source (fields as Python source). Their public names
are importable from here too, as they were before the split.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .field_source import Writer, literal
from .model_diff import Ask, Change, diff_models, load_models, require_models
from .schema_text import describe_schema, schema_sql
from .scratch import migrated_scratch, scratch_database

if TYPE_CHECKING:
    import peewee

    from .database import Database

__all__ = [
    "Change",
    "ask_on_terminal",
    "describe_schema",
    "diff_models",
    "load_models",
    "make_data_migration",
    "make_migration",
    "make_migration_stub",
    "migrated_scratch",
    "migration_names",
    "migrations_folder",
    "next_file_name",
    "next_id",
    "render_migration",
    "require_models",
    "schema_sql",
    "scratch_database",
    "write_new_file",
    "write_scaffold",
]

logger = logging.getLogger("app_db")


def ask_on_terminal(question: str) -> bool:
    """Ask a Y/n question on the terminal (the CLI's interactive mode); Enter answers yes.

    Every question model_diff asks is "was it renamed?", and yes (a rename)
    is the answer that keeps the data, as the choice made without asking.
    """
    while True:
        answer = input(f"{question} [Y/n] ").strip().lower()
        if answer in {"", "y", "yes"}:
            return True
        if answer in {"n", "no"}:
            return False


def migration_names(description: str) -> tuple[str, str, str]:
    """(slug, class name, name) of a new migration described as ``description``.

    The slug (for the id and the file name) is "" when the description has
    no letters or digits. The name has no double quotes, backslashes or
    line breaks, so it can go into a docstring and a string literal as is.
    """
    import unicodedata

    # "Ünïcode" -> "Unicode": accents come apart (NFKD) and only ASCII letters and digits stay.
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    class_name = "".join(part.capitalize() for part in slug.split("_"))
    if not class_name[:1].isalpha():
        class_name = "Migration" + class_name
    name = re.sub(r"""["\\\s]+""", " ", description).strip()
    return slug, class_name, name[:1].upper() + name[1:]


def render_migration(migration_id: str, description: str, changes: Sequence[Change], imports: set[str]) -> str:
    """The text of a migration file: one class, up() making ``changes`` in order, down() undoing them in reverse."""
    _slug, class_name, name = migration_names(description)
    summary = "\n".join(f"- {change.description}" for change in changes)
    lines = [
        f'"""{name.rstrip(".")}.',
        "",
        summary,
        "",
        "Written by `app-db makemigration`: review it (REVIEW and TODO comments first),",
        "then run the tests (assert_reversible) before committing.",
        '"""',
        "",
    ]
    standard = sorted(line for line in imports if line != "import peewee")
    lines += standard + ([""] if standard and "import peewee" in imports else [])
    lines += ["import peewee"] if "import peewee" in imports else []
    lines += [
        "",
        "from app_db import Migration",
        "",
        "",
        f"class {class_name}(Migration):",
        f"    id = {literal(migration_id)}",
        f"    name = {literal(name)}",
        "",
        "    def up(self, schema):",
    ]
    lines += method_body([(change.comments, change.up) for change in changes])
    lines += ["", "    def down(self, schema):"]
    lines += method_body([([], change.down) for change in reversed(changes)])
    text = "\n".join(lines) + "\n"
    return text.replace('"""\n\n\nfrom app_db', '"""\n\nfrom app_db')  # no import peewee: one blank line


def method_body(blocks: Sequence[tuple[list[str], list[str]]]) -> list[str]:
    lines: list[str] = []
    for comments, code in blocks:
        if comments and lines:
            lines.append("")  # a change to review stands apart
        lines += ["        " + line for line in wrap_comments(comments)]
        lines += ["        " + line for line in code]
    if not any(not line.strip().startswith("#") for line in lines):
        lines.append("        pass")
    return lines


def wrap_comments(comments: Sequence[str], width: int = 100) -> list[str]:
    import textwrap

    lines: list[str] = []
    for comment in comments:
        lines += textwrap.wrap(
            comment, width=width, subsequent_indent="#   ", break_long_words=False, break_on_hyphens=False
        )
    return lines


def migrations_folder(source: Any) -> Path:
    """The folder new migration files go to, from ``Database.migrations``; ConfigurationError says why there is none."""
    from .discovery import package_folders

    if source is None:
        raise ConfigurationError(
            "The Database has no migrations= (a folder or a package); give it one. Nothing was written."
        )
    if isinstance(source, list):
        raise ConfigurationError(
            "The Database's migrations= is a list of Migration instances, so there is no folder to write the new "
            "file to; write the class yourself, or switch to a migrations package or folder. Nothing was written."
        )
    if isinstance(source, Path):
        if not source.is_dir():
            raise ConfigurationError(
                f"The migrations folder {source} does not exist; create it (mkdir) first. Nothing was written."
            )
        return source
    folders = package_folders(source)
    if not folders:
        raise ConfigurationError(
            f"The migrations package {source!r} is not a folder on disk (a zip or frozen app?); run app-db from the "
            "source tree. Nothing was written."
        )
    return Path(folders[0])


def next_file_name(folder: Path, slug: str) -> str:
    """``NNN_slug.py``, numbered one past the highest file number in ``folder`` (at least three digits)."""
    numbers = [match.group(1) for match in (re.match(r"(\d+)_.*\.py$", name) for name in os.listdir(folder)) if match]
    width = max([3] + [len(number) for number in numbers])
    return f"{max((int(number) for number in numbers), default=0) + 1:0{width}d}_{slug}.py"


def next_id(known_ids: Sequence[str], slug: str, now: datetime.datetime | None = None) -> str:
    """``YYYYMMDD_HHMMSS_slug`` from the UTC time, later than every known id (ids decide the order)."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp = now.replace(tzinfo=None, microsecond=0)
    if known_ids:
        latest = datetime.datetime.strptime(max(known_ids)[:15], "%Y%m%d_%H%M%S")
        if stamp <= latest:
            stamp = latest + datetime.timedelta(seconds=1)
    return f"{stamp:%Y%m%d_%H%M%S}_{slug}"


def make_migration(
    database: Database,
    description: str,
    interactive: bool = False,
    *,
    models: Sequence[type[peewee.Model]] | None = None,
    ask: Ask | None = None,
    empty: bool = False,
) -> Path | None:
    """Write the migration that brings the migrations' schema to the models; None when they already agree.

    The migrations run on a scratch in-memory database (the user's file is
    not opened). The new file is ``NNN_description.py`` beside the others,
    never over an existing one. ``models`` defaults to
    ``Database(models=...)``. ``interactive`` asks on the terminal about
    ambiguous renames; ``ask`` replaces that question. ``empty`` writes a
    data-migration scaffold instead (see make_data_migration); models are not read.
    """
    if empty:
        return make_data_migration(database, description)
    models = require_models(database, models, "makemigration", "the Database the CLI uses", "Nothing was written.")
    folder = migrations_folder(database.migrations)
    if ask is None and interactive:
        ask = ask_on_terminal
    scratch = migrated_scratch(database)
    writer = Writer()
    try:
        changes = diff_models(scratch.db, models, ask, writer)
        known_ids = [status.id for status in scratch.status()]
    finally:
        scratch.close()
    if not changes:
        logger.info("The models match the schema the migrations produce; no migration written.")
        return None
    slug = migration_names(description)[0] or "migration"
    migration_id = next_id(known_ids, slug)
    text = render_migration(migration_id, description, changes, writer.imports)
    target = folder / next_file_name(folder, slug)
    write_new_file(target, text)
    logger.info("Wrote %s (%d change(s))", target, len(changes))
    return target


def write_new_file(target: Path, text: str) -> None:
    """Create ``target`` holding ``text``; ConfigurationError, and nothing written, if it already exists."""
    try:
        with open(target, "x", encoding="utf-8") as handle:  # "x": never over an existing file
            handle.write(text)
    except FileExistsError:
        raise ConfigurationError(
            f"{target} already exists; app-db never overwrites a migration. Nothing was written."
        ) from None


SCHEMA_MIGRATION_TEMPLATE = '''\
"""{name}."""

import peewee

from app_db import Migration


class {class_name}(Migration):
    id = "{id}"
    name = "{name}"

    def up(self, schema):
        # e.g. schema.create_table("tag", {{"id": peewee.AutoField(), "label": peewee.CharField()}})
        #      schema.add_column("note", "pinned", peewee.BooleanField(default=False))
        raise NotImplementedError("{marker}: up() in {filename}")

    def down(self, schema):
        # Undo up(), last change first. If it cannot be undone, delete down():
        # a rollback then stops before changing anything.
        raise NotImplementedError("{marker}: down() in {filename}")
'''


DATA_MIGRATION_TEMPLATE = '''\
"""{name}.

A data migration, written by `app-db makemigration --empty`: it reads and writes rows through
schema.model(), models of the tables as they stand at this point of the history, reflected from
the database. Never import the app's models here: they change, and this file must not.
"""

from app_db import Migration


class {class_name}(Migration):
    id = "{id}"
    name = "{name}"

    def up(self, schema):
        # e.g. fill a column an earlier migration added, from another one:
        #     Note = schema.model("note")
        #     todo = Note.select(Note.id, Note.body).where(Note.title.is_null())
        #     total = todo.count()
        #     for done, note in enumerate(todo.iterator(), start=1):
        #         schema.bulk_update("note", {{"title": note.body.partition("\\n")[0]}}, {{"id": note.id}})
        #         schema.progress(done, total)  # the app's splash shows it (Database(on_row_progress=...))
        # Rows by the thousand: schema.bulk_insert(table, rows), schema.bulk_update(table, values, where),
        # schema.bulk_delete(table, where); one UPDATE ... FROM of schema.sql() is faster still.
        raise NotImplementedError("{marker}: up() in {filename}")

    def down(self, schema):
        # Put the rows back as up() found them, through schema.model() too. If that cannot be done
        # (data was thrown away), delete down(): a rollback then stops before changing anything.
        raise NotImplementedError("{marker}: down() in {filename}")
'''


def make_migration_stub(database: Database, description: str) -> Path:
    """Write a schema-migration stub (``app-db new``) beside the other migrations; raises until written, as below."""
    return write_scaffold(database, description, SCHEMA_MIGRATION_TEMPLATE)


def make_data_migration(database: Database, description: str) -> Path:
    """Write a data-migration scaffold (``app-db makemigration --empty``) beside the other migrations.

    Its up() and down() raise the stub marker until they are written, so
    an unfinished scaffold can never run, or ship, as a silent no-op.
    """
    return write_scaffold(database, description, DATA_MIGRATION_TEMPLATE)


def name_new_migration(database: Database, description: str) -> tuple[str, str, str, Path]:
    """(slug, class name, name, folder) of a new migration file described as ``description``.

    ConfigurationError, before anything is written, when the description
    has nothing to name it after or there is no folder to write it to.
    """
    slug, class_name, name = migration_names(description)
    if not slug:
        raise ConfigurationError(
            f"{description!r} has no letters or digits to name the migration after; describe the change. "
            "Nothing was written."
        )
    return slug, class_name, name, migrations_folder(database.migrations)


def write_scaffold(database: Database, description: str, template: str) -> Path:
    """Write ``template`` (given name, class_name, id, marker, filename) as the next migration file; its path."""
    from .errors import AppDbError
    from .migration import STUB_MARKER

    slug, class_name, name, folder = name_new_migration(database, description)
    filename = next_file_name(folder, slug)
    try:
        known_ids = [status.id for status in database.status()]
    except AppDbError:  # a broken migration is `check`'s business; the new file is still worth writing
        known_ids = []
    text = template.format(
        name=name, class_name=class_name, id=next_id(known_ids, slug), marker=STUB_MARKER, filename=filename
    )
    target = folder / filename
    write_new_file(target, text)
    logger.info("Wrote %s", target)
    return target
