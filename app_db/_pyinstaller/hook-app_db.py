"""PyInstaller hook for app_db (PyInstaller finds it through app_db's pyinstaller40 entry point).

app_db imports its steps inside the functions that need them, so that a
launch with nothing pending stays light; a frozen app may still run any of
them (a migration, a backup, ``app-db status`` or ``check`` through the app).
Collect every module but the pytest plugin, which would drag pytest in.

The app's own migrations are named only as a string (``migrations="myapp.migrations"``),
so no hook can see them: include them with ``--collect-submodules myapp.migrations``.
"""

from PyInstaller.compat import is_win  # type: ignore[import-untyped]
from PyInstaller.utils.hooks import collect_submodules  # type: ignore[import-untyped]

hiddenimports = collect_submodules(
    "app_db", filter=lambda name: name != "app_db.testing" and not name.startswith("app_db._pyinstaller")
)

# app_db imports ctypes only on Windows (the CLI's console colours). A bundle that holds ctypes has
# PyInstaller's bootstrap import it at every start, before the app runs (pyimod03_ctypes): milliseconds
# of each no-op launch. hook-platformdirs.py beside this one drops the other importer, platformdirs' Windows module.
if not is_win:
    excludedimports = ["ctypes"]
