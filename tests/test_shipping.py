"""Migrations shipped without their sources (bytecode only, zipped, frozen) are found, identified and verified.

The packagers themselves run in test_packaging.py; these build the same
layouts by hand (compileall, zipfile), so they run in every `pytest`.
"""

from __future__ import annotations

import compileall
import logging
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app_db import ConfigurationError, Database, MigrationDefinitionError, SchemaTooNewError
from app_db.discovery import MANIFEST_MODULE, checksum_of, identify_migrations, list_migration_files, manifest_text

from conftest import migration_source

REPO = Path(__file__).resolve().parent.parent
SOURCES = {
    "001_initial.py": migration_source(
        "20240601_090000_initial", 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'
    ),
    "002_add_title.py": migration_source(
        "20240602_090000_add_title", 'schema.add_column("note", "title", peewee.CharField(default=""))', name="Titles"
    ),
}


def write_sources(folder: Path, sources: dict[str, str] = SOURCES, package: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if package:
        (folder / "__init__.py").write_text("")
    for name, text in sources.items():
        (folder / name).write_text(text)
    return folder


def write_manifest(folder: Path) -> None:
    known = identify_migrations(list_migration_files(str(folder), against_manifest=False), {}, read_all=True)
    (folder / f"{MANIFEST_MODULE}.py").write_text(manifest_text(known))


def strip_sources(folder: Path) -> None:
    """What cx_Freeze and `compileall -b` builds ship: NNN_x.pyc beside no NNN_x.py."""
    assert compileall.compile_dir(str(folder), legacy=True, quiet=1)
    for path in folder.rglob("*.py"):
        path.unlink()


def tracking(path: Path):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT id, name, file, checksum FROM app_db_migrations ORDER BY id").fetchall()
    finally:
        connection.close()


def expected_tracking():
    return [
        ("20240601_090000_initial", "Initial", "001_initial.py", checksum_of(SOURCES["001_initial.py"].encode())),
        ("20240602_090000_add_title", "Titles", "002_add_title.py", checksum_of(SOURCES["002_add_title.py"].encode())),
    ]


@pytest.fixture
def zipped_package(tmp_path, monkeypatch):
    """zipped_package(with_manifest) -> a package name inside a zip of bytecode on sys.path (removed afterwards)."""
    made = []

    def make(with_manifest: bool) -> str:
        name = f"shippedapp{len(made)}_{os.getpid()}"
        stage = tmp_path / f"stage{len(made)}"
        write_sources(stage / name / "migrations", package=True)
        (stage / name / "__init__.py").write_text("")
        if with_manifest:
            write_manifest(stage / name / "migrations")
        strip_sources(stage)
        archive = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in sorted(stage.rglob("*.pyc")):
                zipped.write(path, path.relative_to(stage).as_posix())
        monkeypatch.syspath_prepend(str(archive))
        made.append(name)
        return f"{name}.migrations"

    yield make
    for module in [module for module in sys.modules if module.split(".")[0] in made]:
        del sys.modules[module]


def test_a_folder_of_bytecode_applies_every_migration_recording_the_checksums_of_its_sources(tmp_path):
    folder = write_sources(tmp_path / "migrations")
    write_manifest(folder)
    strip_sources(folder)
    path = tmp_path / "app.sqlite3"
    report = Database("ShipApp", migrations=folder, path=path).register_models([])
    assert report.applied == ["20240601_090000_initial", "20240602_090000_add_title"]
    assert tracking(path) == expected_tracking()
    assert all(status.checksum_verifiable and not status.checksum_changed for status in Database("ShipApp", migrations=folder, path=path).status())


def test_bytecode_without_a_manifest_records_no_checksum_and_says_so(tmp_path, caplog):
    folder = write_sources(tmp_path / "migrations")
    strip_sources(folder)
    path = tmp_path / "app.sqlite3"
    with caplog.at_level(logging.WARNING, logger="app_db"):
        Database("ShipApp", migrations=folder, path=path).register_models([])
    assert "No checksum can be recorded for 001_initial.py, 002_add_title.py" in caplog.text
    assert [row[:3] for row in tracking(path)] == [row[:3] for row in expected_tracking()]
    assert [status.checksum_verifiable for status in Database("ShipApp", migrations=folder, path=path).status()] == [False, False]


def test_a_later_release_shipping_sources_again_finds_a_bytecode_builds_file_up_to_date(tmp_path):
    """The issue's worst case: the next release (sources again) failed with "Table 'note' already exists"."""
    folder = write_sources(tmp_path / "migrations")
    write_manifest(folder)
    strip_sources(folder)
    path = tmp_path / "app.sqlite3"
    Database("ShipApp", migrations=folder, path=path).register_models([])
    for pyc in folder.glob("*.pyc"):
        pyc.unlink()
    write_sources(folder)
    assert Database("ShipApp", migrations=folder, path=path).register_models([]).applied == []
    assert not any(status.checksum_changed for status in Database("ShipApp", migrations=folder, path=path, env="development").status())
    assert Database("ShipApp", migrations=folder, path=path, env="development").register_models([]).applied == []


def test_a_build_missing_a_migration_its_manifest_lists_is_refused_not_a_partial_success(tmp_path):
    """A hidden-imports list not updated, or a stale installed copy collected: the launch must not apply the rest."""
    folder = write_sources(tmp_path / "migrations")
    write_manifest(folder)
    strip_sources(folder)
    (folder / "002_add_title.pyc").unlink()
    path = tmp_path / "app.sqlite3"
    with pytest.raises(ConfigurationError, match=r"lists 1 migration\(s\) that this app does not contain: 002_add_title.py"):
        Database("ShipApp", migrations=folder, path=path).register_models([])
    assert not path.exists()  # nothing applied, no file left


def test_a_zip_of_bytecode_is_identified_from_its_manifest_without_importing_a_migration(zipped_package, tmp_path):
    package = zipped_package(with_manifest=True)
    database = Database("ShipApp", migrations=package, path=tmp_path / "app.sqlite3")
    assert [entry.id for entry in database.pending()] == ["20240601_090000_initial", "20240602_090000_add_title"]
    assert not [module for module in sys.modules if module.startswith(package + ".0")]
    assert database.register_models([]).applied == ["20240601_090000_initial", "20240602_090000_add_title"]
    assert tracking(tmp_path / "app.sqlite3") == expected_tracking()


def test_a_zip_of_bytecode_without_a_manifest_is_identified_by_importing_and_flagged_unverifiable(zipped_package, tmp_path):
    package = zipped_package(with_manifest=False)
    path = tmp_path / "app.sqlite3"
    assert Database("ShipApp", migrations=package, path=path).register_models([]).applied == [
        "20240601_090000_initial",
        "20240602_090000_add_title",
    ]
    statuses = Database("ShipApp", migrations=package, path=path).status()
    assert [status.checksum_verifiable for status in statuses] == [False, False]
    assert statuses[0].file == f"{package}.001_initial (001_initial.py)"  # the module, not a path inside the zip


def test_a_package_that_ships_no_migration_is_a_configuration_error_and_creates_no_file(tmp_path, monkeypatch):
    package = tmp_path / "src" / "emptyshipapp" / "migrations"
    write_sources(package, {}, package=True)
    (package.parent / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    path = tmp_path / "data" / "app.sqlite3"
    with pytest.raises(ConfigurationError, match="'emptyshipapp.migrations' holds no NNN_description.py file"):
        Database("ShipApp", migrations="emptyshipapp.migrations", path=path).register_models([])
    assert not path.exists()
    for module in [module for module in sys.modules if module.startswith("emptyshipapp")]:
        del sys.modules[module]


def test_a_missing_migrations_package_is_a_configuration_error_and_creates_no_file(tmp_path):
    path = tmp_path / "app.sqlite3"
    with pytest.raises(ConfigurationError, match="'nosuchshipapp.migrations'"):
        Database("ShipApp", migrations="nosuchshipapp.migrations", path=path).register_models([])
    assert not path.exists()


def test_a_file_recording_migrations_when_the_app_finds_none_is_not_called_newer(tmp_path):
    folder = write_sources(tmp_path / "migrations")
    path = tmp_path / "app.sqlite3"
    Database("ShipApp", migrations=folder, path=path).register_models([])
    for source in folder.glob("*.py"):
        source.unlink()
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match="found no migration at all") as raised:
        Database("ShipApp", migrations=folder, path=path).register_models([])
    assert not isinstance(raised.value, SchemaTooNewError)
    assert path.read_bytes() == before


def test_a_broken_migration_on_a_fresh_install_leaves_no_file_behind(tmp_path):
    broken = migration_source("20240601_090000_broken", "schema.sql(")  # its id reads fine; the import fails
    folder = write_sources(tmp_path / "migrations", {"001_broken.py": broken})
    path = tmp_path / "app.sqlite3"
    with pytest.raises(MigrationDefinitionError, match="001_broken.py"):
        Database("ShipApp", migrations=folder, path=path).register_models([])
    assert sorted(os.listdir(tmp_path)) == ["migrations"]


def test_pending_on_a_missing_file_does_not_create_it(tmp_path):
    folder = write_sources(tmp_path / "migrations")
    path = tmp_path / "app.sqlite3"
    assert len(Database("ShipApp", migrations=folder, path=path).pending()) == 2
    assert not path.exists()


APP_MODULE = """
from pathlib import Path
from app_db import Database
database = Database("ShipApp", migrations=Path(__file__).resolve().parent / "migrations", path=Path(__file__).resolve().parent / "app.sqlite3")
"""


def app_db(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE")}
    return subprocess.run(
        [sys.executable, "-m", "app_db", "--database", "shipapp:database", *args],
        capture_output=True, text=True, cwd=root, env=env, timeout=60,
    )


def test_the_manifest_command_writes_what_check_verifies_and_check_reports_it_out_of_date(tmp_path):
    write_sources(tmp_path / "migrations")
    (tmp_path / "shipapp.py").write_text(APP_MODULE)
    written = app_db(tmp_path, "manifest")
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == str(tmp_path / "migrations" / f"{MANIFEST_MODULE}.py")
    assert app_db(tmp_path, "check").returncode == 0
    edited = tmp_path / "migrations" / "002_add_title.py"
    edited.write_text(edited.read_text().replace('default=""', 'default="untitled"'))
    stale = app_db(tmp_path, "check")
    assert stale.returncode == 1
    assert f"{MANIFEST_MODULE} is out of date for 002_add_title.py" in stale.stdout and "app-db manifest" in stale.stdout
    assert app_db(tmp_path, "manifest").returncode == 0
    assert app_db(tmp_path, "check").returncode == 0


def test_a_migration_deleted_after_the_manifest_was_written_is_named_and_the_manifest_command_still_runs(tmp_path):
    write_sources(tmp_path / "migrations")
    (tmp_path / "shipapp.py").write_text(APP_MODULE)
    assert app_db(tmp_path, "manifest").returncode == 0
    (tmp_path / "migrations" / "002_add_title.py").unlink()  # an unreleased migration, dropped
    with pytest.raises(ConfigurationError, match=r"002_add_title.py\. Nothing was changed\. .*run `app-db manifest`"):
        Database("ShipApp", migrations=tmp_path / "migrations", path=tmp_path / "app.sqlite3").register_models([])
    refused = app_db(tmp_path, "migrate")  # the command line too leaves no file behind
    assert refused.returncode != 0 and "002_add_title.py" in refused.stderr, refused.stderr
    assert not (tmp_path / "app.sqlite3").exists()
    assert app_db(tmp_path, "manifest").returncode == 0  # the remedy it names works
    assert app_db(tmp_path, "migrate").returncode == 0


def test_status_and_check_say_when_checksums_cannot_be_verified(tmp_path):
    write_sources(tmp_path / "migrations")
    strip_sources(tmp_path / "migrations")
    (tmp_path / "shipapp.py").write_text(APP_MODULE)
    Database("ShipApp", migrations=tmp_path / "migrations", path=tmp_path / "app.sqlite3").register_models([])
    status = app_db(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "! checksum not verifiable" in status.stdout and "2 migrations whose checksum cannot be verified" in status.stdout
    check = app_db(tmp_path, "check", "--file")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "warning: 001_initial.py, 002_add_title.py ship without their source" in check.stdout
    assert "records no checksum for 001_initial.py, 002_add_title.py" in check.stdout


def test_the_demos_manifest_matches_its_migrations():
    known = identify_migrations(list_migration_files(str(REPO / "migrations"), against_manifest=False), {}, read_all=True)
    assert (REPO / "migrations" / f"{MANIFEST_MODULE}.py").read_text() == manifest_text(known)


def test_pyinstaller_finds_app_dbs_hook_through_the_entry_point():
    from importlib.metadata import entry_points

    [entry] = [entry for entry in entry_points(group="pyinstaller40") if entry.value.startswith("app_db.")]
    [folder] = entry.load()()
    assert (Path(folder) / "hook-app_db.py").is_file()


@pytest.mark.parametrize(
    "packager, option",
    [
        ("pyinstaller", "--collect-submodules nosuchshipapp.migrations"),
        ("cx_freeze", "--packages=nosuchshipapp.migrations"),
    ],
)
def test_a_frozen_app_missing_its_migrations_is_told_the_packagers_option(packager, option, tmp_path, monkeypatch):
    """How the message reads inside each packager (the real builds run in test_packaging.py)."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    if packager == "pyinstaller":
        monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    else:
        monkeypatch.setitem(sys.modules, "__startup__", sys)  # cx_Freeze's start-up module
    path = tmp_path / "app.sqlite3"
    with pytest.raises(ConfigurationError) as raised:
        Database("ShipApp", migrations="nosuchshipapp.migrations", path=path).register_models([])
    assert option in str(raised.value) and "__init__.py" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="name the migrations by package"):
        Database("ShipApp", migrations=tmp_path / "myapp" / "migrations", path=path).register_models([])
    assert not path.exists()
