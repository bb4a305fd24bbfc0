"""Run one script as a whole ``python`` process; time it and read its peak RSS.

``os.posix_spawn`` + ``os.wait4`` rather than ``subprocess``: the spawn path
adds as little of the parent's overhead to the wall time as possible.

Peak RSS is *not* wait4's ``ru_maxrss``: Linux keeps the high-water mark of
the memory a process had before ``execve``, and a spawned child starts out
sharing the parent's (vfork), so every child would report the harness's own
RSS. Instead the script runs under a three-line wrapper that, once it is
done, writes ``VmHWM`` from ``/proc/self/status``: the peak of the new
image only. The wrapper costs every launch, floors included, the same.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path


class LaunchFailed(RuntimeError):
    """A measured process exited non-zero; its stderr is in the message."""


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_rss_kib: int
    cpu_seconds: float = 0.0
    """User + system time of the process (wait4): on a shared machine it moves less with the others' load."""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment, minus what would skew a child, plus ``extra``.

    Bytecode caching stays on (an installed app has its .pyc files); a
    warm-up launch writes them before anything is timed.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC")}
    env["APP_ENV"] = "production"
    env.update(extra or {})
    return env


_WRAPPER = """\
import sys
script, report = sys.argv[1], sys.argv[2]
sys.argv[:] = [script]
sys.path[0] = script.rpartition("/")[0]
with open(script, "rb") as source:
    code = compile(source.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script, "__builtins__": __builtins__})
with open("/proc/self/status") as status:
    peak = next(line for line in status if line.startswith("VmHWM:"))
with open(report, "w") as out:
    out.write(peak.split()[1])
"""


def run_script(script: Path, env: dict[str, str], python_args: tuple[str, ...] = (),
               stderr_path: Path | None = None) -> Sample:
    """Spawn ``python [python_args] script`` and wait for it; raise if it fails."""
    stderr_path = stderr_path or script.with_suffix(".stderr")
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(stderr_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    rss_path = script.with_suffix(".rss")
    argv = [sys.executable, *python_args, "-c", _WRAPPER, str(script), str(rss_path)]
    started = time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise LaunchFailed(f"{script} exited {code}:\n{stderr_path.read_text()[-3000:]}")
    return Sample(seconds, int(rss_path.read_text()), usage.ru_utime + usage.ru_stime)
