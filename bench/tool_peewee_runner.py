"""Project for peewee's own runner, ``playhouse.migrations`` (peewee >= 4.5).

Each migration declares a frozen model inline and creates it, the way the
runner's documentation recommends for new tables.
"""
from __future__ import annotations

from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

NAME = "peewee runner"


def _migration_source(i: int) -> str:
    return f'''"""Create {spec.table_name(i)}."""
from peewee import AutoField, CharField, IntegerField, Model


def up(migrator, db):
    class {spec.class_name(i)}(Model):
        id = AutoField()
        name = CharField(max_length=255, default="")
        value = IntegerField(null=True)

        class Meta:
            database = db
            table_name = {spec.table_name(i)!r}

    db.create_tables([{spec.class_name(i)}])


def down(migrator, db):
    db.execute_sql({spec.drop_sql(i)!r})
'''


def write_project(root: Path, n: int) -> Project:
    root, migrations, db_path = new_layout(root, "peewee_runner")
    for i in range(1, n + 1):
        (migrations / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(
        root,
        "from peewee import SqliteDatabase\n"
        "from playhouse.migrations import run\n"
        f"run(SqliteDatabase({str(db_path)!r}), {str(migrations)!r})\n",
    )
    return Project(NAME, root, script, db_path, migrations)
