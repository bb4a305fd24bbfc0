"""Real builds of the demo for tests/test_packaging.py and the bench: PyInstaller, cx_Freeze, a zipapp of bytecode.

Each build runs the exact command README's "Shipping your app" shows (the
strings below; a test checks that README holds them), in a copy of the
repository laid out as an app is: ``demo_app/migrations/`` inside
``demo_app/`` (the repository keeps it at ``migrations/`` and maps it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PYINSTALLER_ONEDIR = (
    "pyinstaller --noconfirm --name AppDbNotes --paths . --collect-submodules demo_app.migrations demo_app/frozen.py"
)
PYINSTALLER_ONEFILE = (
    "pyinstaller --noconfirm --onefile --name AppDbNotes --paths . --collect-submodules demo_app.migrations "
    "demo_app/frozen.py"
)
PYINSTALLER_PLAIN = "pyinstaller --noconfirm --name AppDbNotes --paths . demo_app/frozen.py"  # the mistake: no migrations
CX_FREEZE = (
    "cxfreeze --script demo_app/frozen.py --target-name AppDbNotes --target-dir dist/AppDbNotes "
    "build_exe --include-path . --packages demo_app.migrations"
)
ZIPAPP = [
    "rm -rf build/zipapp && mkdir -p build/zipapp dist && cp -r app_db demo_app build/zipapp/",
    "cp demo_app/frozen.py build/zipapp/__main__.py",
    "python -m compileall -b -q build/zipapp",
    "find build/zipapp \\( -name '*.py' -o -name __pycache__ \\) -prune -exec rm -rf {} +",
    "cd build/zipapp && python -m zipfile -c ../../dist/AppDbNotes.pyz *",
]
NUITKA = (
    "python -m nuitka --standalone --include-package=demo_app.migrations --output-dir=dist "
    "--output-filename=AppDbNotes demo_app/frozen.py"
)
# The frozen floor for the bench: what any frozen peewee app pays, built by the same packager.
FLOOR_SCRIPT = """\
import sys

import peewee

database = peewee.SqliteDatabase(sys.argv[1])
database.connect()
database.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
database.close()
"""
PYINSTALLER_FLOOR = "pyinstaller --noconfirm --name Floor floor.py"

CLEARED = ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE", "PYTHONPATH")  # the child's environment is its own
BUILDS = ("pyinstaller-onedir", "pyinstaller-onefile", "cx_freeze", "zipapp")
# Nuitka compiles the standard library and peewee to C: about 15 minutes on 2 cores, too long for CI,
# so its tests run only when asked: APP_DB_TEST_NUITKA=1 python -m pytest -m packaging.
NUITKA_WANTED = os.environ.get("APP_DB_TEST_NUITKA") == "1"


class BuildFailed(Exception):
    """A packager's command failed; the message holds its output."""


def stage_app(target: Path, migrations: Sequence[str] | None = None) -> Path:
    """A copy of app_db and the demo laid out as an app is, with the demo's migrations (or only ``migrations``)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "app_db", target / "app_db", ignore=ignore)
    shutil.copytree(REPO / "demo_app", target / "demo_app", ignore=ignore)
    shutil.copytree(REPO / "migrations", target / "demo_app" / "migrations", ignore=ignore)
    if migrations is not None:
        folder = target / "demo_app" / "migrations"
        for path in folder.glob("[0-9]*.py"):
            if path.name not in migrations:
                path.unlink()
        write_manifest(folder)
    return target


def write_manifest(folder: Path) -> None:
    """What `app-db manifest` writes, for a staged folder (the CLI would import the repository's demo instead)."""
    from app_db.discovery import MANIFEST_MODULE, identify_migrations, list_migration_files, manifest_text

    known = identify_migrations(list_migration_files(str(folder), against_manifest=False), {}, read_all=True)
    (folder / f"{MANIFEST_MODULE}.py").write_text(manifest_text(known), encoding="utf-8")


def run_commands(commands: Sequence[str], cwd: Path, timeout: float = 600) -> None:
    """Run each command with bash in ``cwd``, the venv's tools first on PATH; BuildFailed with the output."""
    bin_folder = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_folder + os.pathsep + os.environ.get("PATH", "")}
    for name in CLEARED:
        env.pop(name, None)
    # The app's root on the path, as README says: PyInstaller's --collect-submodules imports the package before
    # --paths counts, and the demo is not installed (app_db's wheel carries app_db only).
    env["PYTHONPATH"] = str(cwd)
    for command in commands:
        finished = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        if finished.returncode != 0:
            raise BuildFailed(f"`{command}` failed ({finished.returncode}):\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")


class BuiltApp:
    """A built demo: the command that starts it and the environment it needs."""

    def __init__(self, kind: str, command: list[str], pythonpath: str | None = None, folder: Path | None = None) -> None:
        self.kind = kind
        self.command = command
        self.folder = folder  # where the packager ran (its build/ and dist/)
        self.env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        if pythonpath:
            self.env["PYTHONPATH"] = pythonpath

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *args], capture_output=True, text=True, env=self.env, timeout=timeout)


def build(kind: str, workspace: Path, migrations: Sequence[str] | None = None) -> BuiltApp:
    """Build the demo with ``kind`` in ``workspace`` (with only ``migrations``, as an older release)."""
    source = stage_app(workspace / "app", migrations)
    commands = {
        "pyinstaller-onedir": ([PYINSTALLER_ONEDIR], "dist/AppDbNotes/AppDbNotes"),
        "pyinstaller-onefile": ([PYINSTALLER_ONEFILE], "dist/AppDbNotes"),
        "pyinstaller-plain": ([PYINSTALLER_PLAIN], "dist/AppDbNotes/AppDbNotes"),
        "cx_freeze": ([CX_FREEZE], "dist/AppDbNotes/AppDbNotes"),
        "zipapp": (ZIPAPP, "dist/AppDbNotes.pyz"),
        "nuitka": ([NUITKA], "dist/frozen.dist/AppDbNotes"),  # opt-in: about 15 minutes on 2 cores
    }
    if kind not in commands:
        raise ValueError(f"unknown build {kind!r}")
    steps, product = commands[kind]
    run_commands(steps, source)
    if kind == "zipapp":
        # -S keeps site's .pth files out: the editable install's finder would import app_db and
        # the demo from the repository instead of the archive. peewee and platformdirs come from the venv.
        import peewee

        return BuiltApp(kind, [sys.executable, "-S", str(source / product)], str(Path(peewee.__file__).parent), source)
    return BuiltApp(kind, [str(source / product)], folder=source)


def packagers_missing() -> list[str]:
    """The packagers this machine lacks (`pip install -e ".[packaging]"` brings them)."""
    missing = []
    for module in ("PyInstaller", "cx_Freeze", "nuitka"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing
