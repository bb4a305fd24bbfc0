"""PyInstaller hook for platformdirs, in place of pyinstaller-hooks-contrib's while app_db is installed.

It collects what that one does, the module of the platform the build runs on
(platformdirs picks it at run time, so nothing names it statically), and leaves
platformdirs' Windows module out of a build for another system: that module is
imported only on Windows, and it imports ctypes, which PyInstaller's bootstrap
then imports at every start of the app (see hook-app_db.py). PyInstaller
builds for the system it runs on, so the Windows build keeps it.
"""

from PyInstaller.compat import is_darwin, is_win  # type: ignore[import-untyped]

if is_win:
    hiddenimports = ["platformdirs", "platformdirs.windows"]
else:
    hiddenimports = ["platformdirs", "platformdirs.macos" if is_darwin else "platformdirs.unix"]
    excludedimports = ["platformdirs.windows"]
