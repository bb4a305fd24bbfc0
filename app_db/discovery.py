"""Discover: find migration files (folder, package, zip) and learn their ids cheaply.

A launch with nothing pending must not import or even read a migration: the
tracking table remembers which file holds which id, so listing the names is
enough. Files the table has not seen are read as text and their id taken from
the ``id = "..."`` line; a module is imported only to run it (or when its id
is not a plain string literal).
"""

from __future__ import annotations

import os
import re
import sys

from .errors import ConfigurationError, MigrationDefinitionError
from .migration import STUB_MARKER, Migration, check_migration_id

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Iterable, List, Mapping, Optional, Sequence, Union

    MigrationsSource = Union[str, "os.PathLike[str]", Sequence[Migration], None]

__all__ = [
    "KnownMigration",
    "MigrationFile",
    "checksum_of",
    "identify_migrations",
    "list_migration_files",
    "list_migration_names",
    "resolve_source",
]

FILE_PATTERN = re.compile(r"\d+_[A-Za-z0-9_]+\.py")
# Class-level ``id = "..."`` and ``name = "..."`` lines (compiled by re's cache on first use).
ID_LINE = r"""^[ \t]+id[ \t]*(?::[^=\n]*)?=[ \t]*(['"])([^'"\n]*)\1[ \t]*(?:#.*)?\r?$"""  # \r: a CRLF checkout
NAME_LINE = r"""^[ \t]+name[ \t]*(?::[^=\n]*)?=[ \t]*(['"])([^'"\n]*)\1"""

def checksum_of(source: bytes) -> str:
    """sha256 of a migration's text with line endings normalised (a CRLF checkout is no change)."""
    import hashlib

    return hashlib.sha256(source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


class MigrationFile:
    """One ``NNN_description.py`` in a folder, a package or a zip archive.

    Plain slots, no Path per file: a launch lists hundreds of these and
    usually reads none of them.
    """

    __slots__ = ("name", "folder", "package", "entry")

    def __init__(self, name: str, folder: Optional[str], package: Optional[str] = None, entry: Any = None) -> None:
        self.name = name
        self.folder = folder  # the folder holding it; None inside an archive
        self.package = package  # import as package.<stem>; None: load from the path
        self.entry = entry  # an importlib.resources Traversable inside an archive, else None

    @property
    def location(self) -> str:
        """How messages show the file: its path, or package/file inside an archive."""
        return os.path.join(self.folder, self.name) if self.folder is not None else f"{self.package}/{self.name}"

    def __repr__(self) -> str:
        return f"<MigrationFile {self.location}>"

    def read_bytes(self) -> bytes:
        try:
            if self.entry is not None:
                return self.entry.read_bytes()
            with open(self.location, "rb") as source:
                return source.read()
        except OSError as exc:
            raise MigrationDefinitionError(f"Cannot read migration {self.location}: {exc}", file=self.location) from exc

    def load_module(self) -> ModuleType:
        """Import the file, turning any failure into an error that names it."""
        import hashlib
        import importlib
        import importlib.util

        stem = self.name[:-3]
        try:
            if self.package is not None:
                return importlib.import_module(f"{self.package}.{stem}")
            folder_key = hashlib.sha1(os.path.dirname(self.location).encode()).hexdigest()[:10]
            module_name = f"_app_db_migration_{folder_key}_{stem}"
            spec = importlib.util.spec_from_file_location(module_name, self.location)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_name, None)
                raise
            return module
        except Exception as exc:
            raise MigrationDefinitionError(
                f"Cannot import migration {self.location}: {type(exc).__name__}: {exc}. "
                "Fix the file; nothing was changed.",
                file=self.location,
            ) from exc


class KnownMigration:
    """A migration the app ships, identified with as little I/O as possible."""

    __slots__ = ("id", "name", "file", "location", "source", "instance", "_text")

    def __init__(
        self,
        id: str,
        name: str,
        file: Optional[str],
        location: Optional[str],
        source: Optional[MigrationFile] = None,
        instance: Optional[Migration] = None,
        text: Optional[bytes] = None,
    ) -> None:
        self.id = id
        self.name = name
        self.file = file  # the file name recorded in the tracking table
        self.location = location
        self.source = source
        self.instance = instance
        self._text = text

    def __repr__(self) -> str:
        return f"<KnownMigration {self.id} {self.location or ''}>"

    def text(self) -> Optional[bytes]:
        if self._text is None:
            if self.source is not None:
                self._text = self.source.read_bytes()
            elif self.instance is not None:
                import inspect

                try:
                    self._text = inspect.getsource(type(self.instance)).encode()
                except (OSError, TypeError):
                    return None
        return self._text

    def checksum(self) -> Optional[str]:
        text = self.text()
        return checksum_of(text) if text is not None else None

    def load(self) -> Migration:
        """The Migration instance, imported and checked on first use."""
        if self.instance is None:
            assert self.source is not None
            module = self.source.load_module()
            self.instance = migration_from_module(module, self.source.location)
            if self.instance.id != self.id:
                raise MigrationDefinitionError(
                    f"{self.source.location}: the class says id {self.instance.id!r} but the file was "
                    f"identified as {self.id!r}; write the id as one plain string literal "
                    f"(id = \"...\") and never change it once shipped.",
                    file=self.source.location,
                )
            if f"{STUB_MARKER}: up()".encode() in (self.text() or b""):
                raise MigrationDefinitionError(
                    f"{self.source.location}: up() is still the stub `app-db new` wrote. Write the migration "
                    "(or delete the file); nothing was changed.",
                    file=self.source.location,
                )
        return self.instance


def migration_from_module(module: ModuleType, location: str) -> Migration:
    """The one Migration subclass defined in ``module``, instantiated and checked."""
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Migration)
        and value is not Migration
        and value.__module__ == module.__name__
    ]
    if len(classes) != 1:
        found = ", ".join(sorted(cls.__name__ for cls in classes)) or "none"
        raise MigrationDefinitionError(
            f"{location} must define exactly one subclass of app_db.Migration; found {found}. "
            "Put each migration in its own file.",
            file=location,
        )
    cls = classes[0]
    check_migration_id(getattr(cls, "id", None), location)
    if not callable(getattr(cls, "up", None)):
        raise MigrationDefinitionError(
            f"{location}: {cls.__name__} has no up(self, schema) method; every migration needs one.",
            file=location,
        )
    instance = cls()
    instance.file = location
    return instance


def resolve_source(migrations: MigrationsSource) -> Union[str, List[Migration], None]:
    """Check what Database(migrations=...) was given.

    Returns an absolute folder path (a string), a dotted package name (never
    absolute, so the two cannot be confused), or a list of instances.
    """
    if migrations is None:
        return None
    if isinstance(migrations, (list, tuple)):
        for item in migrations:
            if not isinstance(item, Migration):
                raise ConfigurationError(
                    f"migrations= list holds {item!r}, which is not an app_db.Migration instance."
                )
            check_migration_id(getattr(item, "id", None), type(item).__qualname__)
            if item.file is None:
                item.file = getattr(sys.modules.get(type(item).__module__), "__file__", None)
        return list(migrations)
    if isinstance(migrations, os.PathLike) or (isinstance(migrations, str) and ("/" in migrations or os.sep in migrations)):
        folder = os.path.expanduser(os.fspath(migrations))
        if not os.path.isabs(folder):
            raise ConfigurationError(
                f"migrations={folder!r} is a relative folder, which would depend on where the "
                "app was started; pass Path(__file__).parent / 'migrations' or a package name."
            )
        return os.path.normpath(folder)
    if isinstance(migrations, str) and all(part.isidentifier() for part in migrations.split(".")):
        return migrations
    raise ConfigurationError(
        f"migrations={migrations!r} is neither a package name ('myapp.migrations'), "
        "an absolute folder path, nor a list of Migration instances."
    )


def list_migration_files(source: str) -> List[MigrationFile]:
    """The migration files in a folder (an absolute path) or a package, by name; nothing is read or imported."""
    package = None if os.path.isabs(source) else source
    folders = [source] if package is None else package_folders(source)
    if folders is not None:
        return [
            MigrationFile(name, folder, package=package)
            for folder in folders
            for name in sorted(list_folder(folder))
            if is_migration_name(name, folder)
        ]
    # A zipped or frozen app: let importlib.resources read inside the archive.
    from importlib.resources import files as resource_files

    root = resource_files(source)
    return [
        MigrationFile(entry.name, None, package=source, entry=entry)
        for entry in sorted(root.iterdir(), key=lambda entry: entry.name)
        if is_migration_name(entry.name, source)
    ]


def list_migration_names(source: str) -> List[str]:
    """The names of the files that look like migrations, unchecked: the cheapest look a launch can take.

    Enough to tell that nothing changed since the tracking table recorded
    the files (each was checked when it was applied); anything else goes
    through list_migration_files().
    """
    folders = [source] if os.path.isabs(source) else package_folders(source)
    if folders is None:
        return [migration_file.name for migration_file in list_migration_files(source)]
    return [name for folder in folders for name in list_folder(folder) if name.endswith(".py") and name[:1].isdigit()]


def package_folders(package: str) -> Optional[List[str]]:
    """The folders of a migrations package, or None when it lives inside an archive."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(f"Cannot find the migrations package {package!r}: {exc}.") from exc
    if spec is None or spec.submodule_search_locations is None:
        raise ConfigurationError(
            f"migrations={package!r} is not an importable package; add an __init__.py to the folder "
            "or pass the folder's absolute path."
        )
    folders = list(spec.submodule_search_locations)
    return folders if all(os.path.isdir(folder) for folder in folders) else None


def list_folder(folder: str) -> List[str]:
    try:
        return os.listdir(folder)
    except OSError as exc:
        raise ConfigurationError(f"Cannot list the migrations folder {folder}: {exc.strerror or exc}.") from exc


def is_migration_name(name: str, where: str) -> bool:
    """True for ``NNN_description.py``; a .py starting with a digit but misnamed is an error, not skipped."""
    if not name.endswith(".py") or not name[:1].isdigit():
        return False
    if FILE_PATTERN.fullmatch(name) is None:
        raise MigrationDefinitionError(
            f"{where}: {name} looks like a migration but is not named NNN_description.py "
            "(digits, an underscore, then letters, digits and underscores); rename it.",
            file=name,
        )
    return True


def identify_migrations(
    files: Iterable[MigrationFile], recorded_files: Mapping[str, "tuple[str, str]"], *, read_all: bool = False
) -> List[KnownMigration]:
    """A KnownMigration per file; ``recorded_files`` maps file name -> (id, name) from the tracking table.

    A recorded file is trusted without reading it unless ``read_all``.
    """
    known = []
    for migration_file in files:
        recorded = recorded_files.get(migration_file.name)
        if recorded is not None and not read_all:
            known.append(KnownMigration(recorded[0], recorded[1], migration_file.name, migration_file.location, migration_file))
            continue
        text = migration_file.read_bytes()
        entry = KnownMigration("", "", migration_file.name, migration_file.location, migration_file, text=text)
        decoded = text.decode("utf-8", errors="replace")
        ids = re.findall(ID_LINE, decoded, re.M)
        if len(ids) == 1:
            entry.id = check_migration_id(ids[0][1], migration_file.location)
            names = re.findall(NAME_LINE, decoded, re.M)
            entry.name = names[0][1] if len(names) == 1 else ""
        else:
            # Not a single plain literal: import to learn the id (and check the file).
            entry.id = "?"
            instance = migration_from_module(migration_file.load_module(), migration_file.location)
            entry.id, entry.name, entry.instance = instance.id, instance.name, instance
        known.append(entry)
    return known


def identify_instances(instances: Sequence[Migration]) -> List[KnownMigration]:
    return [
        KnownMigration(m.id, m.name, os.path.basename(m.file) if m.file else None, m.file, instance=m) for m in instances
    ]
