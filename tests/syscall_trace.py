"""The renames, links, deletes and fsyncs a real process makes, in order, as strace reports them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List, NamedTuple, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
MARKER = "/nonexistent-app-db-trace-marker"  # an unlink that fails: "the call returned here" in the trace
CALLS = "fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,link,linkat,mkdir,mkdirat"
LINE = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
ARGUMENT = re.compile(r'"((?:[^"\\]|\\.)*)"|\d+<([^>]*)>')

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (.ci/run installs it)")


class Call(NamedTuple):
    name: str  # fsync, rename, unlink, link, mkdir (the *at variants folded in)
    paths: Tuple[str, ...]  # the paths it names (for fsync: the file or folder synced)
    ok: bool


def trace(code: str, tmp_path: Path) -> List[Call]:
    """Run ``code`` in a new interpreter under strace; its calls, ending at ``mark()`` (which ``code`` may call)."""
    log = tmp_path / "strace.log"
    preamble = f"import os\ndef mark():\n    try:\n        os.unlink({MARKER!r})\n    except OSError:\n        pass\n"
    done = subprocess.run(
        ["strace", "-f", "-qq", "-y", "-e", "signal=none", "-e", f"trace={CALLS}", "-o", str(log),
         sys.executable, "-c", preamble + textwrap.dedent(code) + "\nmark()\n"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    calls = []
    for line in log.read_text().splitlines():
        match = LINE.match(line)
        if not match:
            continue
        name, arguments, result = match.groups()
        paths = tuple(quoted or annotated for quoted, annotated in ARGUMENT.findall(arguments))
        if MARKER in paths:
            break
        name = "fsync" if name == "fdatasync" else re.sub(r"at2?$", "", name)  # renameat2 is a rename
        calls.append(Call(name, paths, int(result) >= 0))
    return calls


def index(calls: List[Call], name: str, path_end: str, start: int = 0) -> int:
    """Where the first ``name`` call at or after ``start`` naming a path that ends with ``path_end`` is (-1: none)."""
    for position in range(start, len(calls)):
        call = calls[position]
        if call.name == name and call.ok and any(path.endswith(path_end) for path in call.paths):
            return position
    return -1
