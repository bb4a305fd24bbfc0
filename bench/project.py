"""A generated benchmark project: where its launch script and database live."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """One tool's project with N migrations, ready to be launched.

    The database sits alone in ``data/`` so that a fresh install can wipe the
    directory, journals and app_db's ``backups/`` included.
    """

    tool: str
    root: Path
    script: Path
    db_path: Path
    migrations_dir: Path | None

    def reset_database(self) -> None:
        """Remove the database and everything next to it (journals, backups)."""
        shutil.rmtree(self.db_path.parent, ignore_errors=True)
        self.db_path.parent.mkdir(parents=True)


def new_layout(root: Path, tool: str) -> tuple[Path, Path, Path]:
    """Create ``root`` with ``migrations/`` and ``data/``; return (root, migrations, db)."""
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    (root / "data").mkdir()
    return root, migrations, root / "data" / f"{tool}.sqlite3"


def write_script(root: Path, source: str) -> Path:
    """Write the launch script a measured process runs."""
    script = root / "launch.py"
    script.write_text(source)
    return script
