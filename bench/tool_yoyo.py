"""Project for yoyo-migrations, launched the way its documentation shows:
``with backend.lock(): backend.apply_migrations(backend.to_apply(...))``."""
from __future__ import annotations

from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

NAME = "yoyo"


def _migration_source(i: int) -> str:
    return f'''"""Create {spec.table_name(i)}."""
from yoyo import step

steps = [step({spec.create_sql(i)!r}, {spec.drop_sql(i)!r})]
'''


def write_project(root: Path, n: int) -> Project:
    root, migrations, db_path = new_layout(root, "yoyo")
    for i in range(1, n + 1):
        (migrations / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(
        root,
        "from yoyo import get_backend, read_migrations\n"
        f"backend = get_backend('sqlite:///' + {str(db_path)!r})\n"
        f"migrations = read_migrations({str(migrations)!r})\n"
        "with backend.lock():\n"
        "    backend.apply_migrations(backend.to_apply(migrations))\n",
    )
    return Project(NAME, root, script, db_path, migrations)
