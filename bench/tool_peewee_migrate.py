"""Project for peewee-migrate (``Router(db, migrate_dir).run()``)."""
from __future__ import annotations

from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

NAME = "peewee-migrate"


def _migration_source(i: int) -> str:
    return f'''"""Create {spec.table_name(i)}."""
import peewee as pw


def migrate(migrator, database, *, fake=False):
    @migrator.create_model
    class {spec.class_name(i)}(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=255, default="")
        value = pw.IntegerField(null=True)

        class Meta:
            table_name = {spec.table_name(i)!r}


def rollback(migrator, database, *, fake=False):
    migrator.remove_model({spec.table_name(i)!r})
'''


def write_project(root: Path, n: int) -> Project:
    root, migrations, db_path = new_layout(root, "peewee_migrate")
    for i in range(1, n + 1):
        (migrations / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(
        root,
        "from peewee import SqliteDatabase\n"
        "from peewee_migrate import Router\n"
        f"Router(SqliteDatabase({str(db_path)!r}), migrate_dir={str(migrations)!r}).run()\n",
    )
    return Project(NAME, root, script, db_path, migrations)
