"""Every launcher the harness measures, floors first, in round order."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import floors, tool_alembic, tool_app_db, tool_peewee_migrate, tool_peewee_runner, tool_yoyo
from bench.project import Project

FLOOR = "floor"
FLOOR_PEEWEE = "floor+peewee"


@dataclass(frozen=True)
class Tool:
    name: str
    write_project: Callable[[Path, int], Project]
    is_floor: bool = False
    version_of: str = ""
    """Distribution whose version the report prints next to the name."""


ALL_TOOLS: tuple[Tool, ...] = (
    Tool(FLOOR, floors.write_floor, is_floor=True),
    Tool(FLOOR_PEEWEE, floors.write_floor_peewee, is_floor=True, version_of="peewee"),
    Tool(tool_app_db.NAME, tool_app_db.write_project, version_of="app_db"),
    Tool(tool_app_db.NAME_LOCATED, tool_app_db.write_project_located, version_of="app_db"),
    Tool(tool_peewee_runner.NAME, tool_peewee_runner.write_project, version_of="peewee"),
    Tool(tool_peewee_migrate.NAME, tool_peewee_migrate.write_project, version_of="peewee-migrate"),
    Tool(tool_yoyo.NAME, tool_yoyo.write_project, version_of="yoyo-migrations"),
    Tool(tool_alembic.NAME, tool_alembic.write_project, version_of="alembic"),
)

PEER_NAMES = (tool_peewee_runner.NAME, tool_peewee_migrate.NAME, tool_yoyo.NAME, tool_alembic.NAME)


def version(tool: Tool) -> str:
    """Installed version of the tool's distribution, or '' if not installed."""
    from importlib import metadata

    if not tool.version_of:
        return ""
    try:
        return metadata.version(tool.version_of)
    except metadata.PackageNotFoundError:
        return ""
