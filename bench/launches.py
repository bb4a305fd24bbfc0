"""No-op and fresh-install launches of every tool, interleaved round by round.

Each round launches every tool once (A B C ..., the start rotating by one
each round) so that the machine's drift - frequency scaling, page cache, a
neighbour's load - lands on all tools alike instead of on whichever ran last.
"""
from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import spec
from bench.file_state import describe_change, file_state
from bench.launch import LaunchFailed, Sample, child_env, run_script
from bench.project import Project
from bench.tools import Tool


@dataclass
class ToolRuns:
    """Samples of one tool at one N."""

    noop: list[Sample] = field(default_factory=list)
    fresh: list[Sample] = field(default_factory=list)
    noop_writes: set[str] = field(default_factory=set)
    """What any no-op launch changed in or next to the database file."""
    error: str = ""


def rotated(items: list, start: int) -> list:
    if not items:
        return []
    start %= len(items)
    return items[start:] + items[:start]


def check_migrated(project: Project, n: int) -> None:
    """Fail loudly if a fresh launch did not create all N tables."""
    con = sqlite3.connect(f"file:{project.db_path}?mode=ro", uri=True)
    try:
        names = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    missing = [spec.table_name(i) for i in range(1, n + 1) if spec.table_name(i) not in names]
    if missing:
        raise LaunchFailed(f"{project.tool}: fresh launch left {len(missing)} tables missing, e.g. {missing[:3]}")


def prepare(tools: list[Tool], root: Path, n: int, log: Callable[[str], None]) -> dict[str, Project]:
    """Generate every project, migrate it once (fresh) and launch it once more
    (no-op), which also writes the .pyc files. A tool that fails is left out."""
    env = child_env()
    projects: dict[str, Project] = {}
    for tool in tools:
        project = tool.write_project(root / tool.name.replace(" ", "_").replace("+", "_"), n)
        try:
            if not tool.is_floor:
                project.reset_database()
                run_script(project.script, env)
                check_migrated(project, n)
            run_script(project.script, env)
        except LaunchFailed as failure:
            log(f"  ! {tool.name} left out at N={n}: {str(failure).strip().splitlines()[-1]}")
            continue
        projects[tool.name] = project
    return projects


def _drop(name: str, failure: LaunchFailed, names: list[str], runs: dict[str, ToolRuns],
          log: Callable[[str], None]) -> None:
    """Take a tool that failed mid-run out of the remaining rounds, keeping its error."""
    runs[name].error = str(failure).strip().splitlines()[-1]
    names.remove(name)
    log(f"  ! {name} failed and is left out of the remaining rounds: {runs[name].error}")


def measure_noop(projects: dict[str, Project], rounds: int, runs: dict[str, ToolRuns],
                 log: Callable[[str], None]) -> None:
    env = child_env()
    names = list(projects)
    for round_index in range(rounds):
        for name in rotated(list(names), round_index):
            project = projects[name]
            before = file_state(project.db_path)
            try:
                runs[name].noop.append(run_script(project.script, env))
            except LaunchFailed as failure:
                _drop(name, failure, names, runs, log)
                continue
            change = describe_change(before, file_state(project.db_path))
            if change:
                runs[name].noop_writes.add(change)


def measure_fresh(projects: dict[str, Project], rounds: int, runs: dict[str, ToolRuns],
                  log: Callable[[str], None]) -> None:
    env = child_env()
    names = list(projects)
    for round_index in range(rounds):
        for name in rotated(list(names), round_index):
            projects[name].reset_database()
            try:
                runs[name].fresh.append(run_script(projects[name].script, env))
            except LaunchFailed as failure:
                _drop(name, failure, names, runs, log)


def run_launches(tools: list[Tool], root: Path, ns: list[int], noop_rounds: int, fresh_rounds: int,
                 log: Callable[[str], None] = lambda text: print(text, file=sys.stderr)
                 ) -> tuple[dict[int, dict[str, ToolRuns]], dict[int, dict[str, Project]]]:
    """Measure every tool at every N; returns runs and projects by N, then tool name."""
    results: dict[int, dict[str, ToolRuns]] = {}
    all_projects: dict[int, dict[str, Project]] = {}
    for n in ns:
        log(f"N={n}: generating and migrating {len(tools)} projects")
        projects = prepare(tools, root / f"n{n}", n, log)
        runs = {name: ToolRuns() for name in projects}
        log(f"N={n}: {noop_rounds} no-op rounds")
        measure_noop(projects, noop_rounds, runs, log)
        migrating = {name: p for name, p in projects.items() if p.migrations_dir is not None}
        if fresh_rounds:
            log(f"N={n}: {fresh_rounds} fresh-install rounds")
            measure_fresh(migrating, fresh_rounds, runs, log)
        results[n] = runs
        all_projects[n] = projects
    return results, all_projects
