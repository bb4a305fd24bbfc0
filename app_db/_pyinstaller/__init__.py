"""PyInstaller finds app_db's hook here, through the ``pyinstaller40`` entry point in pyproject.toml.

Nothing to import at run time; only PyInstaller's build reads this package.
"""

import os

__all__ = ["get_hook_dirs"]


def get_hook_dirs() -> list[str]:
    return [os.path.dirname(__file__)]
