"""The two floors: what any launch that opens the file must pay anyway.

``floor`` is python + ``import sqlite3`` + open + one SELECT; ``floor+peewee``
adds ``import peewee``, the least a peewee app pays before its first window.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

_QUERY = f"SELECT count(*) FROM {spec.table_name(1)}"


def _write(root: Path, name: str, extra_import: str) -> Project:
    root, _, db_path = new_layout(root, name.replace("+", "_"))
    with sqlite3.connect(db_path) as con:
        con.execute(spec.create_sql(1))
    con.close()
    script = write_script(
        root,
        f"import sqlite3\n{extra_import}"
        f"con = sqlite3.connect({str(db_path)!r})\n"
        f"con.execute({_QUERY!r}).fetchone()\n",
    )
    return Project(name, root, script, db_path, None)


def write_floor(root: Path, n: int) -> Project:
    return _write(root, "floor", "")


def write_floor_peewee(root: Path, n: int) -> Project:
    return _write(root, "floor+peewee", "import peewee\n")
