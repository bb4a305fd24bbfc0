"""The script packagers freeze (PyInstaller, cx_Freeze, Nuitka): ``python -m demo_app`` as a plain file.

A packager starts one script, which cannot use the package's relative
imports, so this file imports the package by its full name.
"""

import sys

from demo_app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
