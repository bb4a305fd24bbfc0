"""Project for app_db: ``Database(...).register_models([T1])`` in production."""
from __future__ import annotations

from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

NAME = "app_db"
NAME_LOCATED = "app_db via platformdirs"


def _migration_source(i: int) -> str:
    table = spec.table_name(i)
    return f'''"""Create {table}."""
import peewee

from app_db import Migration


class {spec.class_name(i)}(Migration):
    id = {spec.timestamp_id(i)!r}
    name = "Create {table}"

    def up(self, schema):
        schema.create_table({table!r}, {{
            "id": peewee.AutoField(),
            "name": peewee.CharField(max_length=255, default=""),
            "value": peewee.IntegerField(null=True),
        }})

    def down(self, schema):
        schema.drop_table({table!r})
'''


def launch_source(migrations: Path, db_path: Path, located: bool = False) -> str:
    """The app's start-up: declare the model it uses, open, register.

    ``located``: no path= (as a shipped app does), so the file is found in the
    per-user data folder by platformdirs, pointed at the project by XDG_DATA_HOME.
    """
    where = "" if located else f", path={str(db_path)!r}"
    prelude = f"import os\nos.environ['XDG_DATA_HOME'] = {str(db_path.parent.parent)!r}\n" if located else ""
    return prelude + f'''import peewee
from app_db import Database


class T1(peewee.Model):
    id = peewee.AutoField()
    name = peewee.CharField(max_length=255, default="")
    value = peewee.IntegerField(null=True)

    class Meta:
        table_name = "t1"


Database("BenchApp", migrations={str(migrations)!r}{where}).register_models([T1])
'''


def write_project(root: Path, n: int) -> Project:
    root, migrations, db_path = new_layout(root, "app_db")
    for i in range(1, n + 1):
        (migrations / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(root, launch_source(migrations, db_path))
    return Project(NAME, root, script, db_path, migrations)


def write_project_located(root: Path, n: int) -> Project:
    """The same project, but the file is located by platformdirs: what a shipped app's launch pays."""
    root, migrations, _ = new_layout(root, "app_db_located")
    db_path = root / "xdg" / "BenchApp" / "app.sqlite3"
    db_path.parent.mkdir(parents=True)
    for i in range(1, n + 1):
        (migrations / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(root, launch_source(migrations, db_path, located=True))
    return Project(NAME_LOCATED, root, script, db_path, migrations)
