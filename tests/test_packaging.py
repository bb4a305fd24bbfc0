"""The demo built for real by each packager, launched as a user launches it: fresh, again, over an older build's file.

Each build runs once per session (about a minute for all of them on 2
cores); ``pytest -m "not packaging"`` skips them. The commands are README's.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from packaging_builds import (
    BUILDS,
    CX_FREEZE,
    NUITKA,
    NUITKA_WANTED,
    PYINSTALLER_ONEDIR,
    PYINSTALLER_ONEFILE,
    REPO,
    ZIPAPP,
    BuiltApp,
    build,
    packagers_missing,
)

from demo_helpers import OLD_NOTES, RELEASE_2, expected_after_upgrade, insert_release_2_rows, rows

pytestmark = pytest.mark.packaging

ALL_MIGRATIONS = 7
RELEASE_2_FILES = ["001_initial_schema.py", "002_add_user_preferences.py"]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):
    """build(kind) -> BuiltApp, each kind built once per session."""
    missing = packagers_missing()
    cache: dict[str, BuiltApp] = {}

    def get(kind: str) -> BuiltApp:
        if kind == "nuitka" and not NUITKA_WANTED:
            pytest.skip("the Nuitka build takes about 15 minutes on 2 cores: APP_DB_TEST_NUITKA=1 runs it")
        needs = {"pyinstaller": "PyInstaller", "cx_freeze": "cx_Freeze", "nuitka": "nuitka"}.get(kind.split("-")[0])
        if needs in missing:
            pytest.skip(f"{needs} is not installed: pip install -e '.[packaging]' (nuitka: pip install nuitka)")
        if kind not in cache:
            migrations = RELEASE_2_FILES if kind == "zipapp-release-2" else None
            cache[kind] = build(kind.replace("-release-2", ""), tmp_path_factory.mktemp(kind), migrations)
        return cache[kind]

    return get


@pytest.fixture(scope="session")
def source_records(tmp_path_factory: pytest.TempPathFactory):
    """The tracking table a run from source writes on a fresh install: what every build must write."""
    path = tmp_path_factory.mktemp("source") / "notes.sqlite3"
    finished = subprocess.run(
        [sys.executable, "-m", "demo_app", "--headless", "--path", str(path)], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    return tracking(path)


def tracking(path: Path):
    return rows(path, "SELECT id, name, file, checksum FROM app_db_migrations ORDER BY id")


def launch(app: BuiltApp, path: Path, *args: str) -> subprocess.CompletedProcess:
    finished = app.run("--headless", "--path", str(path), *args)
    assert "Traceback" not in finished.stderr, finished.stderr
    return finished


@pytest.mark.parametrize("kind", [*BUILDS, "nuitka"])
def test_a_fresh_install_applies_every_migration_recording_what_a_run_from_source_records(built, source_records, kind, tmp_path):
    path = tmp_path / "notes.sqlite3"
    finished = launch(built(kind), path)
    assert finished.returncode == 0, finished.stderr
    assert f"Set up a new notebook with {ALL_MIGRATIONS} migrations" in finished.stdout
    assert "checksum" not in finished.stderr  # no "cannot be recorded" warning
    assert tracking(path) == source_records  # ids, names, file names and checksums, none NULL
    assert all(checksum for *_, checksum in source_records)


@pytest.mark.parametrize("kind", [*BUILDS, "nuitka"])
def test_a_second_launch_of_the_build_is_a_no_op(built, kind, tmp_path):
    path = tmp_path / "notes.sqlite3"
    assert launch(built(kind), path).returncode == 0
    before = (path.read_bytes(), tracking(path))
    finished = launch(built(kind), path)
    assert finished.returncode == 0, finished.stderr
    assert "Up to date: no migration was pending." in finished.stdout
    assert (path.read_bytes(), tracking(path)) == before
    assert not (path.parent / "backups").exists()


@pytest.mark.parametrize("kind", [*BUILDS, "nuitka"])
def test_a_file_made_by_an_older_build_upgrades_keeping_its_rows_with_a_backup(built, kind, tmp_path):
    path = tmp_path / "notes.sqlite3"
    older = launch(built("zipapp-release-2"), path)  # release 2, shipped as a zip of bytecode
    assert older.returncode == 0, older.stderr
    assert [row[0] for row in tracking(path)][-1] == RELEASE_2
    insert_release_2_rows(path)

    finished = launch(built(kind), path)

    assert finished.returncode == 0, finished.stderr
    assert f"Applied {ALL_MIGRATIONS - len(RELEASE_2_FILES)} migrations" in finished.stdout
    assert f"Notes: {len(OLD_NOTES)}" in finished.stdout
    assert "changed" not in finished.stderr  # the older build's checksums are this build's
    titles = dict(rows(path, "SELECT id, title FROM note"))
    assert titles == {note["id"]: expected_after_upgrade(note["body"])[0] for note in OLD_NOTES}
    backup = Path(re.search(r"Backup taken before migrating: (.+)", finished.stdout).group(1))
    assert backup.parent == path.parent / "backups"
    assert sqlite3.connect(backup).execute("SELECT count(*) FROM note").fetchone() == (len(OLD_NOTES),)


@pytest.mark.parametrize("kind", [*BUILDS, "nuitka"])
def test_status_and_check_run_from_the_built_app(built, kind, tmp_path):
    path = tmp_path / "notes.sqlite3"
    assert launch(built(kind), path).returncode == 0
    status = built(kind).run("--app-db", "status", "--path", str(path))
    assert status.returncode == 0, status.stderr
    assert "up to date, at 20241120_093200_require_note_titles" in status.stdout
    assert "not verifiable" not in status.stdout
    check = built(kind).run("--app-db", "check", "--path", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"ok: {ALL_MIGRATIONS} migrations valid; {path} is up to date." in check.stdout
    assert "warning" not in check.stdout


@pytest.mark.parametrize("kind", ["pyinstaller-onefile", "zipapp"])
def test_the_built_app_names_migrations_by_module_and_file_not_by_an_unpack_folder(built, kind, tmp_path):
    path = tmp_path / "notes.sqlite3"
    assert launch(built(kind), path).returncode == 0
    status = built(kind).run("--app-db", "status", "--json", "--path", str(path))
    assert status.returncode == 0, status.stderr
    files = re.findall(r'"file": "([^"]+)"', status.stdout)
    assert files[0] == "demo_app.migrations.001_initial_schema (001_initial_schema.py)"
    assert len(files) == ALL_MIGRATIONS and not any("_MEI" in file or "/tmp" in file for file in files)


def test_a_pyinstaller_build_without_the_migrations_says_how_to_include_them_and_creates_no_file(built, tmp_path):
    plain = built("pyinstaller-plain")
    path = tmp_path / "notes.sqlite3"
    finished = launch(plain, path)
    assert finished.returncode == 1
    assert "frozen by PyInstaller" in finished.stderr and "--collect-submodules demo_app.migrations" in finished.stderr
    assert "__init__.py" not in finished.stderr
    assert not path.exists() and not Path(f"{path}-wal").exists()


def test_a_pyinstaller_build_without_the_migrations_does_not_call_a_users_file_newer(built, tmp_path):
    path = tmp_path / "notes.sqlite3"
    assert launch(built("pyinstaller-onedir"), path).returncode == 0
    before = path.read_bytes()
    finished = launch(built("pyinstaller-plain"), path)
    assert finished.returncode == 1
    assert "--collect-submodules demo_app.migrations" in finished.stderr and "newer" not in finished.stderr
    assert path.read_bytes() == before


def test_a_pyinstaller_build_of_the_demo_runs_no_pkgutil_hook_at_every_start(built):
    """The guard behind the frozen launch figure: pkgutil in the bundle makes PyInstaller import it (and typing)
    at each start, before the app runs, so discovery lists PyInstaller's archive without it."""
    analysis = built("pyinstaller-onedir").folder / "build" / "AppDbNotes" / "Analysis-00.toc"
    hooks = set(re.findall(r"pyi_rth_\w+", analysis.read_text()))
    assert hooks and "pyi_rth_pkgutil" not in hooks, hooks


@pytest.mark.skipif(sys.platform == "win32", reason="a Windows build keeps ctypes: platformdirs needs it there")
def test_a_pyinstaller_build_of_the_demo_holds_no_ctypes_off_windows(built):
    """The other guard behind the frozen launch figure: a bundle that holds ctypes has PyInstaller's bootstrap
    import it at every start; app_db's hooks leave out its only importers, used on Windows alone."""
    archive = (built("pyinstaller-onedir").folder / "build" / "AppDbNotes" / "PYZ-00.toc").read_text()
    assert "('ctypes'" not in archive and "('platformdirs.windows'" not in archive
    assert "('platformdirs.unix'" in archive or "('platformdirs.macos'" in archive


def test_readme_shows_the_commands_these_builds_run():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for command in [PYINSTALLER_ONEDIR, PYINSTALLER_ONEFILE, CX_FREEZE, NUITKA, *ZIPAPP]:
        assert command in readme, command
