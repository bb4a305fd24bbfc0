"""Shared fixtures: a project folder where each test writes its migrations as small strings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

# Windows refuses to rename or delete a file that is open; make Linux refuse it too, in this
# process and every child it starts (stress suite included), before app_db.files reads it.
os.environ.setdefault("APP_DB_STRICT_FILES", "1")  # APP_DB_STRICT_FILES=0 switches it off

from app_db import Database  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# The demo runs from the checkout (app_db's wheel carries app_db only): every process a test starts finds it here,
# wherever its current folder is (packaging builds clear PYTHONPATH: a built app has only what it ships).
os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])


def migration_source(migration_id: str, up: str, down: str = "schema.sql('SELECT 1')", name: str = "", imports: str = "") -> str:
    """The text of a migration file with one class; ``up``/``down`` are method bodies."""
    body = textwrap.indent(textwrap.dedent(up).strip(), " " * 8)
    undo = textwrap.indent(textwrap.dedent(down).strip(), " " * 8) if down is not None else None
    lines = [
        "import peewee",
        "from app_db import Migration",
        imports,
        "",
        "",
        "class Step(Migration):",
        f"    id = {migration_id!r}",
        f"    name = {name or migration_id.split('_', 2)[2].replace('_', ' ').capitalize()!r}",
        "",
        "    def up(self, schema):",
        body,
    ]
    if undo is not None:
        lines += ["", "    def down(self, schema):", undo]
    return "\n".join(lines) + "\n"


class Project:
    """A temporary app: a migrations folder and a database file, both under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.migrations = root / "migrations"
        self.migrations.mkdir()
        self.path = root / "data" / "app.sqlite3"

    def write(self, filename: str, source: str) -> Path:
        target = self.migrations / filename
        target.write_text(source)
        return target

    def add(self, filename: str, migration_id: str, up: str, down: str = "schema.sql('SELECT 1')", **kwargs) -> Path:
        return self.write(filename, migration_source(migration_id, up, down, **kwargs))

    def database(self, **options) -> Database:
        options.setdefault("migrations", self.migrations)
        options.setdefault("path", self.path)
        options.setdefault("env", "production")
        return Database("TestApp", **options)

    def launch(self, **options) -> None:
        """A launch that migrates the file, then lets it go (as an app that quit)."""
        database = self.database(**options)
        database.register_models([])
        database.close()

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def rows(self, sql: str, params=()) -> list[tuple]:
        connection = self.connect()
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def dump(self) -> list[str]:
        """Schema and rows, in a stable order: equal dumps mean an equal database."""
        connection = self.connect()
        try:
            return sorted(connection.iterdump())
        finally:
            connection.close()

    def applied(self) -> list[str]:
        try:
            return [row[0] for row in self.rows("SELECT id FROM app_db_migrations ORDER BY id")]
        except sqlite3.OperationalError:
            return []


def platform_lacks(marker: str) -> str:
    """Why this platform cannot run a test marked ``marker`` (registered in pyproject.toml), or ''."""
    if marker == "posix_only" and os.name != "posix":
        return "needs POSIX"
    if marker == "needs_root":
        geteuid = getattr(os, "geteuid", None)  # absent on Windows: never call it at collection
        if geteuid is None or geteuid() != 0:
            return "needs root"
    return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the marker's reason, each test the platform cannot run: by marker, never by a call at import."""
    for item in items:
        for name in ("posix_only", "needs_root"):
            marker = item.get_closest_marker(name)
            lacking = platform_lacks(name) if marker is not None else ""
            if lacking:
                reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
                item.add_marker(pytest.mark.skip(reason=f"{lacking}: {reason}" if reason else lacking))


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield Project(tmp_path)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the environment of the machine that runs it."""
    for name in ("APP_ENV", "APP_DB_PATH", "APP_DB_DATABASE"):
        monkeypatch.delenv(name, raising=False)


def run_python(code: str, *, env: dict = None, cwd: Path = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (a real second process, as a second app launch is)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    for name in ("APP_ENV", "APP_DB_PATH"):
        if env is None or name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )
