"""An app keeps its file open in WAL mode while app_db and other processes look at it: no committed row is lost.

On POSIX, closing any descriptor of a file drops every lock the process
holds on it, the one SQLite keeps to say "still open" included. If app_db
opened the live file with Python's open() (a header check in restore(), or
when a second Database opens the same file), another process closing the
file would believe it was the last user, checkpoint, and delete -wal and
-shm while the app still writes into them: what it commits afterwards is
gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from app_db import DatabaseCorruptError

from conftest import REPO

INITIAL = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'

# The app: one Database kept open, as a running desktop app keeps it. It
# says what it did on stdout and waits for the test on stdin.
APP = textwrap.dedent('''
    import sys
    from app_db import Database

    path, migrations, source = sys.argv[1:4]

    def database():
        return Database("TestApp", migrations=migrations, path=path, env="production")

    def say(message):
        print(message, flush=True)
        sys.stdin.readline()

    app = database()
    app.register_models([])
    app.restore(source)
    app.db.execute_sql("INSERT INTO note (body) VALUES ('after restore')")
    settings_dialog = database()
    settings_dialog.status()
    settings_dialog.close()
    second_launch = database()
    second_launch.register_models([])
    second_launch.preview()
    second_launch.close()
    app.db.execute_sql("INSERT INTO note (body) VALUES ('after the second Database')")
    say("ready")
    app.db.execute_sql("INSERT INTO note (body) VALUES ('after the other process')")
    say("written")
''')

OTHER_PROCESS = textwrap.dedent('''
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1])
    connection.execute("SELECT count(*) FROM note").fetchone()
    connection.close()
''')


def start_app(project, source):
    return subprocess.Popen(
        [sys.executable, "-c", APP, str(project.path), str(project.migrations), str(source)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=project.root,
    )


def expect(app, line):
    said = app.stdout.readline().strip()
    assert said == line, (said, app.stderr.read() if app.poll() is not None else "")


def test_an_open_app_loses_no_row_when_app_db_and_another_process_touch_its_file(project):
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    database = project.database()
    database.register_models([])
    database.db.execute_sql("INSERT INTO note (body) VALUES ('kept')")
    source = database.backup(project.root / "saved.sqlite3")
    database.close()

    app = start_app(project, source)
    try:
        expect(app, "ready")
        other = subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(project.path)], capture_output=True, text=True)
        assert other.returncode == 0, other.stderr
        app.stdin.write("\n")
        app.stdin.flush()
        expect(app, "written")

        bodies = [row[0] for row in project.rows("SELECT body FROM note ORDER BY id")]
        assert bodies == ["kept", "after restore", "after the second Database", "after the other process"]
        assert os.path.exists(f"{project.path}-wal") and os.path.exists(f"{project.path}-shm")
    finally:
        app.send_signal(signal.SIGKILL)  # a crash or power cut: only what was committed counts
        app.wait()
        app.stdout.close()
        app.stderr.close()
        app.stdin.close()

    bodies = [row[0] for row in project.rows("SELECT body FROM note ORDER BY id")]
    assert bodies == ["kept", "after restore", "after the second Database", "after the other process"]
    assert project.rows("PRAGMA integrity_check") == [("ok",)]


def test_no_python_open_of_the_database_file_while_app_db_works(project):
    """The audit hook sees every open() Python makes; none may name the live file, its -wal or its -shm."""
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    database = project.database()
    database.migrate(to="20240601_090000_initial")
    source = database.backup(project.root / "saved.sqlite3")
    database.close()
    code = textwrap.dedent(f'''
        import sys
        path = {str(project.path)!r}
        opened = []
        sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" and isinstance(args[0], str)
                         and args[0].startswith(path) else None)
        from app_db import Database
        database = Database("TestApp", migrations={str(project.migrations)!r}, path=path, env="production")
        database.register_models([])
        database.status()
        database.preview_rollback()
        database.restore({str(source)!r})
        database.rollback()
        Database("TestApp", migrations={str(project.migrations)!r}, path=path).status()
        database.backup()
        print(opened)
    ''')
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=project.root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


@pytest.mark.parametrize("content", [b"hello", b"x" * 100, b"a shopping list\n" * 50, b"SQLite format 2\x00" + b"\x00" * 4080])
@pytest.mark.parametrize("look", ["launch", "status", "read-only status", "preview", "backup"])
def test_a_file_that_is_not_sqlite_is_judged_by_sqlite_and_left_byte_for_byte(project, content, look):
    """The header check is SQLite's first read: no journal_mode=wal write, no -wal or -shm, the bytes as they were."""
    project.add("001_initial.py", "20240601_090000_initial", INITIAL)
    project.path.parent.mkdir()
    project.path.write_bytes(content)
    database = project.database()
    call = {
        "launch": lambda: database.register_models([]),
        "status": database.status,
        "read-only status": lambda: database.configured(read_only=True).status(),
        "preview": database.preview,
        "backup": database.backup,
    }[look]

    with pytest.raises(DatabaseCorruptError) as caught:
        call()

    assert str(project.path) in str(caught.value)
    assert project.path.read_bytes() == content
    assert sorted(os.listdir(project.path.parent)) == ["app.sqlite3"]
