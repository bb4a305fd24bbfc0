"""The library's wheel carries app_db only: no demo_app, no top-level migrations package in a user's site-packages."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from conftest import REPO


@pytest.mark.packaging
def test_the_wheel_holds_app_db_its_hook_and_types_and_nothing_of_the_demo(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr
    [wheel] = tmp_path.glob("app_db-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"app_db"}
    assert {"app_db/__init__.py", "app_db/py.typed", "app_db/_pyinstaller/hook-app_db.py", "app_db/cli.py"} <= set(names)
    [top_level_txt] = [name for name in names if name.endswith(".dist-info/top_level.txt")] or [None]
    if top_level_txt is not None:
        assert zipfile.ZipFile(wheel).read(top_level_txt).decode().split() == ["app_db"]
    entry_points = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    assert entry_points and "app-db = app_db.cli:main" in zipfile.ZipFile(wheel).read(entry_points[0]).decode()
