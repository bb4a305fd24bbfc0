"""What the numbers were measured on, printed next to every table."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(python: str) -> str:
    """One line: CPU, cores, OS, the child interpreter's Python and SQLite."""
    probe = subprocess.run(
        [python, "-c", "import platform, sqlite3; print(platform.python_version(), sqlite3.sqlite_version)"],
        capture_output=True, text=True, check=True).stdout.split()
    return (f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {probe[0]}, SQLite {probe[1]}")


def startup_extras(python: str, env: dict[str, str]) -> list[str]:
    """Non-stdlib modules the interpreter imports before running any script.

    A ``.pth`` file that imports code (setuptools' editable finder, a CA
    injector) adds its cost to every launch and flattens the ratios.
    """
    code = "import sys; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    stdlib = sys.stdlib_module_names
    return sorted({name for name in loaded if name.split(".")[0] not in stdlib and name != "__main__"
                   and not name.startswith("_distutils_hack")})


def sqlite_version() -> str:
    return sqlite3.sqlite_version
