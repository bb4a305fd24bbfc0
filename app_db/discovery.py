"""Discover: find the migrations the app ships and learn their ids cheaply, however it was shipped.

A launch with nothing pending must not import or even read a migration: the
tracking table remembers which file holds which id, so listing the names is
enough. A folder on disk (of sources or of bytecode) is listed directly;
anything else (a zip, a PyInstaller or Nuitka bundle) is asked through the
import system: each path entry's finder knows what the packager put in. A
file the table has not seen is identified from its source text (the
``id = "..."`` line), else from the build-time manifest (``app-db manifest``),
and only when neither exists by importing it.
"""

from __future__ import annotations

import os
import re
import sys

from .errors import ConfigurationError, MigrationDefinitionError
from .migration import STUB_MARKER, Migration, check_migration_id

TYPE_CHECKING = False  # typing and pathlib cost a launch milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from types import ModuleType
    from typing import Any

    from .tracking import AppliedMigration

    MigrationsSource = str | os.PathLike[str] | Sequence[Migration] | None

__all__ = [
    "MANIFEST_MODULE",
    "KnownMigration",
    "MigrationFile",
    "checksum_of",
    "describe_packaging",
    "identify_migrations",
    "known_migrations",
    "list_migration_files",
    "list_migration_names",
    "manifest_text",
    "resolve_source",
]

FILE_PATTERN = re.compile(r"\d+_[A-Za-z0-9_]+\.py", re.ASCII)  # ASCII: case is all a file system folds
# Class-level ``id = "..."`` and ``name = "..."`` lines (compiled by re's cache on first use).
ID_LINE = r"""^[ \t]+id[ \t]*(?::[^=\n]*)?=[ \t]*(['"])([^'"\n]*)\1[ \t]*(?:#.*)?\r?$"""  # \r: a CRLF checkout
NAME_LINE = r"""^[ \t]+name[ \t]*(?::[^=\n]*)?=[ \t]*(['"])([^'"\n]*)\1"""
# The build-time record beside the migrations: a module, so every packager's
# "include this package" option ships it with them (a data file needs its own option).
MANIFEST_MODULE = "app_db_manifest"
SUFFIXES = (".py", ".pyc")  # a .pyc beside no .py: a build that ships bytecode only


def checksum_of(source: bytes) -> str:
    """sha256 of a migration's text with line endings normalised (a CRLF checkout is no change)."""
    import hashlib

    return hashlib.sha256(source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


class Manifest:
    """The ``app_db_manifest`` module beside the migrations, read on first use: file -> (id, name, checksum)."""

    __slots__ = ("_entries", "folder", "package")

    def __init__(self, package: str | None, folder: str | None) -> None:
        self.package = package
        self.folder = folder
        self._entries: dict[str, tuple[str, str, str]] | None = None

    @property
    def entries(self) -> dict[str, tuple[str, str, str]]:
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    def _load(self) -> dict[str, tuple[str, str, str]]:
        import importlib
        import importlib.util

        location = (
            f"{self.package}.{MANIFEST_MODULE}" if self.package else os.path.join(self.folder or "", MANIFEST_MODULE)
        )
        try:
            if self.package is not None:
                try:
                    module = importlib.import_module(location)
                except ModuleNotFoundError as exc:
                    if exc.name != location:
                        raise
                    return {}
            else:
                path = next((location + suffix for suffix in SUFFIXES if os.path.isfile(location + suffix)), None)
                if path is None:
                    return {}
                spec = importlib.util.spec_from_file_location(f"_app_db_manifest_{abs(hash(path))}", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            entries = dict(module.MIGRATIONS)
            for file, (migration_id, name, checksum) in entries.items():
                if not (isinstance(migration_id, str) and isinstance(name, str) and isinstance(checksum, str)):
                    raise TypeError(f"the entry for {file} is not (id, name, checksum) strings")
            return entries
        except Exception as exc:
            raise MigrationDefinitionError(
                f"Cannot read the migrations manifest {location}: {type(exc).__name__}: {exc}. "
                "Write it again with `app-db manifest` (from the source tree); nothing was changed.",
                file=location,
            ) from exc


class MigrationFile:
    """One ``NNN_description.py`` migration, wherever it lives.

    ``name`` is the source file's name, what the tracking table records,
    even when only its bytecode shipped (``shipped``, on disk) or the
    packager keeps it inside its own archive (``finder``, the import system's).
    Plain slots, no Path per file: a launch lists hundreds of these and
    usually reads none of them.
    """

    __slots__ = ("finder", "folder", "manifest", "name", "package", "shipped")

    def __init__(
        self,
        name: str,
        folder: str | None,
        package: str | None = None,
        shipped: str | None = None,
        finder: Any = None,
        manifest: Manifest | None = None,
    ) -> None:
        self.name = name
        self.folder = folder  # the folder holding it on disk; None inside an archive or bundle
        self.package = package  # import as package.<stem>; None: load from the path
        self.shipped = shipped or name  # the file on disk: name, or its .pyc when no source shipped
        self.finder = finder  # the import system's finder for it, when it is not a file on disk
        self.manifest = manifest if manifest is not None else Manifest(package, folder)

    @property
    def module(self) -> str | None:
        return f"{self.package}.{self.name[:-3]}" if self.package is not None else None

    @property
    def location(self) -> str:
        """How messages show the file: its path; in a frozen app or an archive, its module and file name."""
        if self.folder is not None and not is_frozen():
            return os.path.join(self.folder, self.shipped)
        if self.module is not None:
            return f"{self.module} ({self.shipped})"
        return f"{self.shipped} in the app's {show_folder(self.folder or '')} folder"

    def __repr__(self) -> str:
        return f"<MigrationFile {self.location}>"

    def read_source(self) -> bytes | None:
        """The source text as shipped, or None when only bytecode (or compiled code) shipped."""
        if self.folder is not None:
            if not self.shipped.endswith(".py"):
                return None
            try:
                with open(os.path.join(self.folder, self.shipped), "rb") as source:
                    return source.read()
            except OSError as exc:
                raise MigrationDefinitionError(
                    f"Cannot read migration {self.location}: {exc}", file=self.location
                ) from exc
        return read_source_from_importer(self.finder, self.module or "")

    def manifest_entry(self) -> tuple[str, str, str] | None:
        return self.manifest.entries.get(self.name)

    def load_module(self) -> ModuleType:
        """Import the file, turning any failure into an error that names it."""
        import hashlib
        import importlib
        import importlib.util

        try:
            if self.module is not None:
                return importlib.import_module(self.module)
            path = os.path.join(self.folder or "", self.shipped)
            folder_key = hashlib.sha1(os.path.dirname(path).encode()).hexdigest()[:10]
            module_name = f"_app_db_migration_{folder_key}_{self.name[:-3]}"
            spec = importlib.util.spec_from_file_location(module_name, path)
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


def read_source_from_importer(finder: Any, module: str) -> bytes | None:
    """A module's source bytes from its path entry's finder, or None (bytecode, compiled code, no source kept)."""
    try:
        spec = finder.find_spec(module)
        loader = spec.loader if spec is not None else None
        if loader is None:
            return None
        origin = spec.origin or ""
        if origin.endswith(".py") and hasattr(loader, "get_data"):
            try:
                data: bytes = loader.get_data(origin)  # the bytes as written, whatever their encoding
                return data
            except OSError:
                pass
        text = loader.get_source(module) if hasattr(loader, "get_source") else None
        return text.encode("utf-8") if text is not None else None
    except (ImportError, OSError, TypeError, ValueError, UnicodeError):
        return None


class KnownMigration:
    """A migration the app ships, identified with as little I/O as possible."""

    __slots__ = ("_text", "file", "id", "instance", "location", "name", "source")

    def __init__(
        self,
        id: str,
        name: str,
        file: str | None,
        location: str | None,
        source: MigrationFile | None = None,
        instance: Migration | None = None,
        text: bytes | None = None,
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

    def text(self) -> bytes | None:
        """The source text, or None where the app ships none (bytecode only, frozen, compiled)."""
        if self._text is None:
            if self.source is not None:
                self._text = self.source.read_source()
            elif self.instance is not None:
                import inspect

                try:
                    self._text = inspect.getsource(type(self.instance)).encode()
                except (OSError, TypeError):
                    return None
        return self._text

    def checksum(self) -> str | None:
        """sha256 of the source text; without the text, the one the manifest recorded from it; else None."""
        text = self.text()
        if text is not None:
            return checksum_of(text)
        entry = self.source.manifest_entry() if self.source is not None else None
        return entry[2] if entry is not None else None

    def accepts_checksum(self, recorded: str) -> bool:
        """Whether ``recorded`` (what a file holds for this migration) still matches it, or cannot be compared.

        It matches this source's checksum, or one the migration lists in
        ``replaces_checksums``: an edit declared to do exactly what the text
        that ran did (read by importing the file, only when the checksums differ).
        """
        checksum = self.checksum()
        if checksum is None or checksum == recorded:
            return True
        from .errors import AppDbError

        try:
            return recorded in tuple(getattr(self.load(), "replaces_checksums", ()))
        except AppDbError:  # a file that does not load is `check`'s business; here it simply changed
            return False

    def load(self) -> Migration:
        """The Migration instance, imported and checked on first use."""
        if self.instance is None:
            assert self.source is not None
            module = self.source.load_module()
            self.instance = migration_from_module(module, self.source.location)
            if self.instance.id != self.id:
                recorded = self.source.manifest_entry() if self._text is None else None
                where = (
                    " (taken from the manifest, which is out of date: run `app-db manifest` and rebuild)"
                    if recorded
                    else ""
                )
                raise MigrationDefinitionError(
                    f"{self.source.location}: the class says id {self.instance.id!r} but the file was "
                    f"identified as {self.id!r}{where}; write the id as one plain string literal "
                    f'(id = "...") and never change it once shipped.',
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


def resolve_source(migrations: MigrationsSource) -> str | list[Migration] | None:
    """Check what Database(migrations=...) was given.

    Returns an absolute folder path (a string), a dotted package name (never
    absolute, so the two cannot be confused), or a list of instances.
    """
    if migrations is None:
        return None
    if isinstance(migrations, (list, tuple)):
        for item in migrations:
            if not isinstance(item, Migration):
                raise ConfigurationError(f"migrations= list holds {item!r}, which is not an app_db.Migration instance.")
            check_migration_id(getattr(item, "id", None), type(item).__qualname__)
            if item.file is None:
                item.file = getattr(sys.modules.get(type(item).__module__), "__file__", None)
        return list(migrations)
    if isinstance(migrations, os.PathLike) or (
        isinstance(migrations, str) and ("/" in migrations or os.sep in migrations)
    ):
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


def list_migration_files(source: str, *, against_manifest: bool = True) -> list[MigrationFile]:
    """The migrations in a folder (an absolute path) or a package, by file name; nothing is read or imported.

    A package that yields none is a ConfigurationError saying how the app
    seems to have been shipped and what to include: a launch that found no
    migration would otherwise create the tables from the models and record nothing.
    """
    if os.path.isabs(source):
        manifest = Manifest(None, source)
        files = [
            MigrationFile(name, source, shipped=shipped, manifest=manifest)
            for name, shipped in list_folder_files(source)
        ]
        refuse_names_one_file_system_merges(files)
        if against_manifest:
            refuse_files_the_manifest_lists_but_the_app_lacks(files, manifest, source)
        return files
    folders = package_folders(source)
    manifest = Manifest(source, None)
    files = [
        MigrationFile(name, folder, package=source, shipped=shipped, manifest=manifest)
        for folder in folders or ()
        for name, shipped in list_folder_files(folder)
    ]
    if not files:
        # A zip, a frozen bundle or compiled code: ask the import system what the packager put in.
        files = [
            MigrationFile(name, None, package=source, finder=finder, manifest=manifest)
            for name, finder in list_package_modules(source)
        ]
    if not files:
        raise ConfigurationError(explain_no_migrations(source))
    refuse_names_one_file_system_merges(files)
    if against_manifest:
        refuse_files_the_manifest_lists_but_the_app_lacks(files, manifest, source)
    return files


def refuse_files_the_manifest_lists_but_the_app_lacks(
    files: Sequence[MigrationFile], manifest: Manifest, source: str
) -> None:
    """ConfigurationError when the manifest names a migration the app does not contain.

    The manifest is written from the source tree before a build, so a file it
    lists and the build lacks was left out by the packaging (a hidden-imports
    list not updated, a stale installed copy collected instead of the tree):
    a launch would otherwise apply the others and report success.
    """
    missing = sorted(set(manifest.entries) - {migration_file.name for migration_file in files})
    if not missing:
        return
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    how, option = describe_packaging()
    if option:
        package = source if not os.path.isabs(source) else "myapp.migrations"
        fix = (
            f"This app was {how} without them: {option.format(package=package)} (with PyInstaller, check that it "
            "collected the package from your source tree, not an older installed copy)."
        )
    else:
        fix = "They were deleted or renamed since the manifest was written: run `app-db manifest`."
    raise ConfigurationError(
        f"The migrations manifest of {source} lists {len(missing)} migration(s) that this app does not contain: "
        f"{shown}. Nothing was changed. {fix}"
    )


def refuse_names_one_file_system_merges(files: Sequence[MigrationFile]) -> None:
    """MigrationDefinitionError for two files whose names differ only in case, on every platform.

    NTFS and APFS compare names case-insensitively: ``001_Init.py`` and
    ``001_init.py`` are two migrations on Linux but one file there, so a
    Windows or macOS user would silently lose one. The names are ASCII
    (FILE_PATTERN), so case is the only difference those file systems fold.
    """
    seen: dict[str, MigrationFile] = {}
    for migration_file in files:
        twin = seen.setdefault(migration_file.name.casefold(), migration_file)
        if twin is not migration_file:
            raise MigrationDefinitionError(
                f"{twin.location} and {migration_file.location} differ only in case: on Windows and macOS they "
                "are one file, so one migration would silently go missing there. Nothing was changed. Rename one "
                "(a new number and description), or merge them.",
                file=migration_file.location,
            )


def list_migration_names(source: str) -> list[str]:
    """The file names of the migrations, unchecked: the cheapest look a launch can take.

    Enough to tell that nothing changed since the tracking table recorded
    the files (each was checked when it was applied); anything else goes
    through list_migration_files().
    """
    folders = [source] if os.path.isabs(source) else package_folders(source)
    if folders is not None:
        names = {
            name[:-1] if name.endswith(".pyc") else name
            for folder in folders
            for name in list_folder(folder)
            if name[:1].isdigit() and name.endswith(SUFFIXES)
        }
        if names or folders == [source]:
            return list(names)
    return [migration_file.name for migration_file in list_migration_files(source)]


def package_folders(package: str) -> list[str] | None:
    """The folders of a migrations package, or None when it lives inside an archive or a bundle."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot find the migrations package {package!r}: {exc}. {explain_how_to_include(package)}"
        ) from exc
    if spec is None:
        raise ConfigurationError(
            f"The migrations package {package!r} is not importable. {explain_how_to_include(package)}"
        )
    if spec.submodule_search_locations is None:
        raise ConfigurationError(
            f"migrations={package!r} is a module, not a package; name the package that holds the "
            "NNN_description.py files, or pass the folder's absolute path."
        )
    folders = list(spec.submodule_search_locations)
    return folders if folders and all(os.path.isdir(folder) for folder in folders) else None


def list_package_modules(package: str) -> list[tuple[str, Any]]:
    """(file name, finder) of the package's migration modules, as the import system lists them.

    Each path entry's finder is asked what it holds: PyInstaller's frozen
    importer by its table of contents, a zipimport archive by its listing,
    any other finder (Nuitka's, for one) through ``pkgutil``. pkgutil is
    imported only for those: it imports typing, and a PyInstaller app that
    contains pkgutil imports it at every start (its run-time hook), which
    would cost every launch milliseconds.
    """
    import importlib

    try:
        locations = importlib.import_module(package).__path__
    except Exception as exc:
        raise ConfigurationError(
            f"Cannot import the migrations package {package!r}: {type(exc).__name__}: {exc}."
        ) from exc
    found: dict[str, Any] = {}
    for location in locations:
        finder = find_path_finder(location)
        for stem in list_finder_modules(finder, package) if finder is not None else ():
            if is_migration_name(stem + ".py", package):
                found.setdefault(stem + ".py", finder)
    return sorted(found.items())


def find_path_finder(location: str) -> Any:
    """The finder the import system uses for one path entry (cached as the import system caches it), or None."""
    finder = sys.path_importer_cache.get(location)
    if finder is None:
        for hook in sys.path_hooks:
            try:
                finder = hook(location)
            except ImportError:
                continue
            sys.path_importer_cache[location] = finder
            break
    return finder


def list_finder_modules(finder: Any, package: str) -> list[str]:
    """The names of the plain modules (not packages) ``finder`` holds for ``package``."""
    import zipimport

    toc_tree = getattr(sys.modules.get("pyimod02_importers"), "get_pyz_toc_tree", None)
    if toc_tree is not None and type(finder).__name__ == "PyiFrozenFinder":
        node: Any = toc_tree()  # PyInstaller's archive as a tree: package -> {name: subtree or leaf}
        for part in package.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return [name for name, entry in node.items() if not isinstance(entry, dict)] if isinstance(node, dict) else []
    if isinstance(finder, zipimport.zipimporter):
        import zipfile

        try:
            with zipfile.ZipFile(finder.archive) as archive:
                names = archive.namelist()
        except (OSError, zipfile.BadZipFile) as exc:
            raise ConfigurationError(
                f"Cannot read the archive {finder.archive} that holds {package!r}: {exc}."
            ) from exc
        inside = [name[len(finder.prefix) :] for name in names if name.startswith(finder.prefix)]
        return sorted({name.rsplit(".", 1)[0] for name in inside if "/" not in name and name.endswith(SUFFIXES)})
    if hasattr(finder, "iter_modules"):
        return [name for name, is_package in finder.iter_modules("") if not is_package]
    import importlib

    try:
        pkgutil = importlib.import_module("pkgutil")  # by name, so that packagers do not see it (see above)
    except ImportError:
        return []
    return [name for name, is_package in pkgutil.iter_importer_modules(finder) if not is_package]


def list_folder(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot list the migrations folder {show_folder(folder)}: {exc.strerror or exc}."
            + (f" {explain_frozen_folder()}" if is_frozen() else "")
        ) from exc


def explain_frozen_folder() -> str:
    """What to do when a frozen app looks for its migrations in a folder: packagers ship packages, not folders."""
    how, option = describe_packaging()
    return (
        f"This app was {how}, and packagers ship modules, not folders: name the migrations by package "
        f'(migrations="myapp.migrations") and {option.format(package="myapp.migrations")}, or ship the folder '
        "with the app as data."
    )


def list_folder_files(folder: str) -> list[tuple[str, str]]:
    """(source file name, file on disk) per migration in ``folder``, sorted; its .pyc where no .py shipped."""
    found: dict[str, str] = {}
    for shipped in list_folder(folder):
        if shipped.endswith(".pyc") and is_migration_name(shipped[:-1], folder):
            found.setdefault(shipped[:-1], shipped)
        elif is_migration_name(shipped, folder):
            found[shipped] = shipped  # the source wins over a legacy .pyc beside it
    return sorted(found.items())


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
    files: Iterable[MigrationFile], recorded_files: Mapping[str, tuple[str, str]], *, read_all: bool = False
) -> list[KnownMigration]:
    """A KnownMigration per file; ``recorded_files`` maps file name -> (id, name) from the tracking table.

    A recorded file is trusted without reading it unless ``read_all``. An
    unrecorded one is identified from its source text, else from the
    manifest, else (nothing else can tell) by importing it.
    """
    known = []
    for migration_file in files:
        recorded = recorded_files.get(migration_file.name)
        if recorded is not None and not read_all:
            known.append(
                KnownMigration(recorded[0], recorded[1], migration_file.name, migration_file.location, migration_file)
            )
            continue
        text = migration_file.read_source()
        entry = KnownMigration("", "", migration_file.name, migration_file.location, migration_file, text=text)
        ids = []
        if text is not None:
            decoded = text.decode("utf-8", errors="replace")
            ids = re.findall(ID_LINE, decoded, re.M)
        manifested = migration_file.manifest_entry() if text is None else None
        if len(ids) == 1:
            entry.id = check_migration_id(ids[0][1], migration_file.location)
            names = re.findall(NAME_LINE, decoded, re.M)
            entry.name = names[0][1] if len(names) == 1 else ""
        elif manifested is not None:
            entry.id = check_migration_id(manifested[0], migration_file.location)
            entry.name = manifested[1]
        else:
            # Not a single plain literal, or no text and no manifest: import to learn the id (and check the file).
            entry.id = "?"
            instance = migration_from_module(migration_file.load_module(), migration_file.location)
            entry.id, entry.name, entry.instance = instance.id, instance.name, instance
        known.append(entry)
    return known


def identify_instances(instances: Sequence[Migration]) -> list[KnownMigration]:
    return [
        KnownMigration(m.id, m.name, os.path.basename(m.file) if m.file else None, m.file, instance=m)
        for m in instances
    ]


def manifest_text(known: Sequence[KnownMigration]) -> str:
    """The ``app_db_manifest.py`` that records ``known`` (each must have its source text)."""
    lines = [
        '"""Written by `app-db manifest`: each migration\'s file, id, name and the sha256 of its source.',
        "",
        "Builds that ship bytecode only (frozen apps, zips of .pyc files) take ids and checksums from here,",
        "so they record what a run from source records. Write it again after adding a migration (`app-db check`",
        "says when it is out of date) and ship it with the migrations; never edit it by hand.",
        '"""',
        "",
        "MIGRATIONS = {",
    ]
    for entry in sorted(known, key=lambda entry: entry.file or ""):
        checksum = entry.checksum() if entry.text() is not None else None
        if checksum is None or entry.file is None:
            raise ConfigurationError(
                f"{entry.location} has no source text here, so no manifest can be written for it; "
                "run `app-db manifest` from the source tree. Nothing was written."
            )
        lines.append(f"    {entry.file!r}: ({entry.id!r}, {entry.name!r}, {checksum!r}),")
    lines.append("}")
    return "\n".join(lines) + "\n"


# How the app was shipped: what error messages tell the developer to include ------
def is_frozen() -> bool:
    """True in an app a packager built (PyInstaller, cx_Freeze, Nuitka, py2exe ...)."""
    return bool(getattr(sys, "frozen", False)) or "__compiled__" in globals()


def describe_packaging() -> tuple[str, str]:
    """(how the app seems to have been shipped, the option that includes a package: ``{package}`` in it)."""
    if hasattr(sys, "_MEIPASS"):
        return (
            "frozen by PyInstaller",
            "rebuild it with `--collect-submodules {package}` (or list the modules in hiddenimports in the .spec file)",
        )
    if "__compiled__" in globals():
        return "compiled by Nuitka", "rebuild it with `--include-package={package}`"
    if getattr(sys, "frozen", False):
        if "__startup__" in sys.modules:  # cx_Freeze's start-up module
            return "frozen by cx_Freeze", "rebuild it with `--packages={package}` (build_exe's packages option)"
        return "frozen", "include the package {package} with all its modules when building it"
    archive = next((entry for entry in sys.path[:1] if os.path.isfile(entry)), None)
    if archive is not None:
        return (
            f"run from the archive {archive}",
            "put the package {package} with its NNN_description.py (or .pyc) files in the archive",
        )
    return "run from source", ""


def explain_how_to_include(package: str | None) -> str:
    """The sentence that tells a developer how to ship the migrations, for the way this app was shipped."""
    how, option = describe_packaging()
    if not option:
        return "Add an __init__.py to its folder (a package) or pass the folder's absolute path."
    option = option.format(package=package or "myapp.migrations")
    return f"This app was {how} without its migrations: {option}."


def explain_no_migrations(package: str) -> str:
    how, option = describe_packaging()
    if option:
        return (
            f"The migrations package {package!r} holds no migration: this app was {how} without them, so it would "
            f"create its tables without running (or recording) a single migration. Nothing was changed; "
            f"{option.format(package=package)}."
        )
    return (
        f"The migrations package {package!r} holds no NNN_description.py file (nor its .pyc), so a launch would create "
        "the tables without running (or recording) a single migration. Nothing was changed. Add the first "
        'migration (`app-db new "initial schema"`), or pass migrations=None while the app has none.'
    )


def show_folder(folder: str) -> str:
    """A folder as a message shows it: inside a frozen app, relative to the app.

    A onefile app's unpack folder is temporary, so its full path means nothing to a reader.
    """
    root = getattr(sys, "_MEIPASS", None) or (os.path.dirname(sys.executable) if is_frozen() else None)
    if root and os.path.abspath(folder).startswith(os.path.abspath(root) + os.sep):
        return os.path.relpath(folder, root)
    return folder


def known_migrations(
    source: str | list[Migration] | None, applied: dict[str, AppliedMigration] | None = None, read_all: bool = False
) -> list[KnownMigration]:
    """The migrations the app ships, from a resolved ``source`` (a folder, a package name or instances).

    ``applied`` lends the tracking table's record of each file's id and
    name, so a file already applied need not be imported to be identified.
    """
    if source is None:
        return []
    if isinstance(source, list):
        return identify_instances(source)
    recorded = {record.file: (record.id, record.name) for record in (applied or {}).values() if record.file}
    return identify_migrations(list_migration_files(source), recorded, read_all=read_all)
