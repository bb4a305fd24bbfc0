"""Project for Alembic + SQLAlchemy: ``command.upgrade(config, "head")``.

The script directory gets a minimal online-only ``env.py``; the config is
built in code, as an app that ships no ``alembic.ini`` would do.
"""
from __future__ import annotations

from pathlib import Path

from bench import spec
from bench.project import Project, new_layout, write_script

NAME = "alembic"

_ENV_PY = '''"""Online-only environment: one engine, one connection, no logging setup."""
from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''


def _revision(i: int) -> str:
    return f"r{i:04d}"


def _migration_source(i: int) -> str:
    down = repr(_revision(i - 1)) if i > 1 else "None"
    return f'''"""Create {spec.table_name(i)}."""
import sqlalchemy as sa
from alembic import op

revision = {_revision(i)!r}
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        {spec.table_name(i)!r},
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Integer, nullable=True),
    )


def downgrade():
    op.drop_table({spec.table_name(i)!r})
'''


def write_project(root: Path, n: int) -> Project:
    root, migrations, db_path = new_layout(root, "alembic")
    (migrations / "env.py").write_text(_ENV_PY)
    versions = migrations / "versions"
    versions.mkdir()
    for i in range(1, n + 1):
        (versions / f"{spec.file_stem(i)}.py").write_text(_migration_source(i))
    script = write_script(
        root,
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "config = Config()\n"
        f"config.set_main_option('script_location', {str(migrations)!r})\n"
        f"config.set_main_option('sqlalchemy.url', 'sqlite:///' + {str(db_path)!r})\n"
        "command.upgrade(config, 'head')\n",
    )
    return Project(NAME, root, script, db_path, versions)
