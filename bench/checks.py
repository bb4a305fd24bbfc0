"""Side-effect checks of a no-op launch, run once per tool outside the timing:
fsync calls and writes under strace, and migration files the process opened."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from bench.launch import child_env
from bench.project import Project

_OPENED_MIGRATIONS = r'''
import runpy, sys
script, migrations = sys.argv[1], sys.argv[2]
opened = set()

def note_open(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(migrations):
        opened.add(args[0])

sys.addaudithook(note_open)
runpy.run_path(script, run_name="__main__")
print(len(opened))
'''

_SYSCALL = re.compile(r"^(?:\d+\s+)?(\w+)\(")


@dataclass(frozen=True)
class SideEffects:
    fsyncs: int | None
    """fsync/fdatasync calls; None when strace is not installed."""
    db_writes: dict[str, int] | None
    """write/pwrite calls on files in the database's directory, by file:
    ``db`` (the database itself), ``-wal``, ``-shm`` (WAL index), ``-journal``, ``other``."""
    migration_files_opened: int
    """Files under the migrations directory opened (source or .pyc)."""


def _which_file(line: str, db_name: str) -> str:
    for suffix in ("-wal", "-shm", "-journal"):
        if db_name + suffix + ">" in line:
            return suffix
    return "db" if db_name + ">" in line else "other"


def _strace_counts(project: Project) -> tuple[int | None, dict[str, int] | None]:
    if shutil.which("strace") is None:
        return None, None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as trace:
        subprocess.run(
            ["strace", "-f", "-qq", "-y", "-o", trace.name,
             "-e", "trace=fsync,fdatasync,write,pwrite64,pwritev,pwritev2",
             sys.executable, str(project.script)],
            env=child_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = trace.read().splitlines()
    data_dir = str(project.db_path.parent)
    fsyncs = 0
    writes: dict[str, int] = {}
    for line in lines:
        match = _SYSCALL.match(line)
        if match is None:
            continue
        if match.group(1) in ("fsync", "fdatasync"):
            fsyncs += 1
        elif data_dir in line:
            which = _which_file(line, project.db_path.name)
            writes[which] = writes.get(which, 0) + 1
    return fsyncs, writes


def _migration_files_opened(project: Project) -> int:
    if project.migrations_dir is None:
        return 0
    done = subprocess.run(
        [sys.executable, "-c", _OPENED_MIGRATIONS, str(project.script), str(project.migrations_dir)],
        env=child_env(), check=True, capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1])


def side_effects(project: Project) -> SideEffects:
    """Launch the (already migrated) project twice more and record what it did."""
    fsyncs, writes = _strace_counts(project)
    return SideEffects(fsyncs, writes, _migration_files_opened(project))
