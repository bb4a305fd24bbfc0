"""Windows' and macOS's rules, checked on Linux: paths, names, OS errors, the console, a suite that collects anywhere.

Windows paths are handled by ``ntpath`` (what ``os.path`` is on Windows), either
through a PureWindowsPath or with ``os.path`` patched to ``ntpath``; the URIs
are then handed to the real SQLite, whose URI parser is the same on every
platform.
"""

from __future__ import annotations

import errno
import ntpath
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path, PureWindowsPath
from urllib.parse import unquote

import pytest

from app_db import ConfigurationError, Database, DatabaseNotWritableError, MigrationDefinitionError
from app_db.connection import connect_read_only, connect_writable, open_database, read_only_uri
from app_db.paths import ensure_folder, explain_unusable_path, locate_database

from conftest import REPO, migration_source

SCRIPT = Path(sys.executable).with_name("app-db")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "app_db"]
INITIAL = "20240601_090000_initial"
CREATE_NOTE = 'schema.create_table("note", {"id": peewee.AutoField(), "body": peewee.TextField()})'


def windows_file_of(uri: str) -> str:
    """The file a Windows build of SQLite opens for ``uri``, by the rules of sqlite.org/uri.html.

    The authority must be empty or "localhost" (anything else is "invalid uri
    authority" without SQLITE_ALLOW_URI_AUTHORITY); %HH escapes are decoded as
    UTF-8; a "/" before a drive letter is dropped; the Windows VFS takes "/"
    as "\\".
    """
    assert uri.startswith("file:"), uri
    rest, _, query = uri[len("file:"):].partition("?")
    assert "#" not in rest, f"an unescaped '#' ends SQLite's file name early: {uri}"
    if rest.startswith("//"):
        authority, slash, rest = rest[2:].partition("/")
        assert authority in ("", "localhost"), f"SQLite refuses the authority {authority!r} in {uri}"
        rest = slash + rest
    name = unquote(rest, encoding="utf-8", errors="strict")
    if len(name) >= 3 and name[0] == "/" and name[2] == ":" and name[1].isalpha():
        name = name[1:]
    return name.replace("/", "\\")


WINDOWS_PATHS = {
    "drive letter": r"C:\Users\Ada\AppData\Local\Acme\Notes\app.sqlite3",
    "mapped drive": r"Z:\Shared Notes\app.sqlite3",
    "UNC share": r"\\server\share\Notes\app.sqlite3",
    "UNC share with spaces and non-ASCII": r"\\nas.local\Ada's files\日本 #1\50% done?.sqlite3",
    "extended-length drive": r"\\?\C:\Data\app.sqlite3",
    "extended-length UNC": r"\\?\UNC\server\share\app.sqlite3",
}
SAME_FILE = {  # the extended-length forms name the same file as their plain form
    "extended-length drive": r"C:\Data\app.sqlite3",
    "extended-length UNC": r"\\server\share\app.sqlite3",
}


# Read-only URIs -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(WINDOWS_PATHS))
def test_read_only_uri_of_a_windows_path_is_one_sqlite_accepts_and_names_that_file(kind):
    path = WINDOWS_PATHS[kind]
    uri = read_only_uri(PureWindowsPath(path))

    assert uri.endswith("?mode=ro")
    assert windows_file_of(uri) == SAME_FILE.get(kind, path)
    # The real SQLite parses the URI as a Windows build would (the parser is the same): a refused
    # authority is "invalid uri authority"; an accepted URI only fails to find the file here.
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        sqlite3.connect(uri, uri=True).execute("SELECT 1")


def test_read_only_uri_of_a_unc_path_keeps_the_authority_empty():
    """Regression: Path.as_uri() gave file://server/share/..., which SQLite refuses."""
    assert read_only_uri(PureWindowsPath(r"\\server\share\n.db")) == "file:////server/share/n.db?mode=ro"
    assert read_only_uri(PureWindowsPath(r"C:\My Data\n.db")) == "file:///C:/My%20Data/n.db?mode=ro"


def test_read_only_uri_follows_os_path_so_on_windows_a_plain_string_is_a_windows_path(monkeypatch):
    monkeypatch.setattr(os, "path", ntpath)
    uri = read_only_uri(r"\\server\share\Notes\app.sqlite3")
    monkeypatch.undo()

    assert uri == "file:////server/share/Notes/app.sqlite3?mode=ro"


def test_read_only_uri_follows_pathlib_so_on_windows_a_plain_string_is_a_windows_path(monkeypatch):
    import pathlib

    monkeypatch.setattr(pathlib, "Path", PureWindowsPath)

    assert read_only_uri(r"Z:\Notes\app.sqlite3") == "file:///Z:/Notes/app.sqlite3?mode=ro"


def assert_reads_only(connection: sqlite3.Connection, body: str) -> None:
    """``connection`` sees the one note ``body`` and cannot write; closed afterwards."""
    try:
        assert connection.execute("SELECT body FROM note").fetchall() == [(body,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("INSERT INTO note VALUES ('never')")
    finally:
        connection.close()


def test_a_unc_uri_opens_the_real_file_through_sqlite(tmp_path):
    r"""On Linux //tmp/x is /tmp/x, so \\tmp\...\notes.sqlite3 is a UNC path that really exists here."""
    path = tmp_path / "notes.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE note (body TEXT)")
        connection.execute("INSERT INTO note VALUES ('via a share')")
    connection.close()
    unc = PureWindowsPath("\\\\" + "\\".join(path.parts[1:]))
    assert unc.drive.startswith("\\\\")

    uri = read_only_uri(unc)

    assert uri.startswith("file:////")
    assert_reads_only(sqlite3.connect(uri, uri=True), "via a share")


@pytest.mark.parametrize("name", ["My Data", "notes #1", "what?", "100% sure", "日本", "a&b=c;d"])
def test_a_path_with_characters_uris_treat_specially_opens_read_only_for_real(tmp_path, name):
    folder = tmp_path / name / name
    folder.mkdir(parents=True)
    path = folder / f"{name}.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE note (body TEXT)")
        connection.execute("INSERT INTO note VALUES ('kept')")
    connection.close()
    before = path.read_bytes()

    assert_reads_only(connect_read_only(path), "kept")
    database = open_database(path, read_only=True)
    try:
        assert database.execute_sql("SELECT body FROM note").fetchall() == [("kept",)]
    finally:
        database.close()

    assert path.read_bytes() == before
    assert sorted(os.listdir(folder)) == [f"{name}.sqlite3"]  # the same file, not one beside it


# Locating the file --------------------------------------------------------------------------------------------------
def locate(**options):
    options.setdefault("app_author", None)
    options.setdefault("filename", "app.sqlite3")
    options.setdefault("path", None)
    options.setdefault("env", "production")
    return locate_database("Notes", **options)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_app_db_path_in_quotes_as_windows_set_keeps_them_is_used_without_them(monkeypatch, tmp_path, quote):
    target = tmp_path / "My Data" / "n.db"
    monkeypatch.setenv("APP_DB_PATH", f"{quote}{target}{quote}")

    assert locate() == str(target)


def test_app_db_path_in_quotes_on_windows_is_the_drive_path_inside(monkeypatch):
    monkeypatch.setenv("APP_DB_PATH", '"C:\\My Data\\n.db"')
    monkeypatch.setattr(os, "path", ntpath)
    located = locate()
    monkeypatch.undo()

    assert located == "C:\\My Data\\n.db"


def test_a_rooted_path_without_a_drive_is_refused_on_windows_saying_why(monkeypatch):
    monkeypatch.setattr(os, "path", ntpath)
    with pytest.raises(ConfigurationError) as caught:
        locate(path="\\data\\n.db")
    monkeypatch.undo()

    message = str(caught.value)
    assert "'\\\\data\\\\n.db'" in message and "no drive letter" in message
    assert "C:\\Data\\app.sqlite3" in message


@pytest.mark.parametrize("given", ["C:data\\n.db", "data\\n.db"])
def test_a_drive_relative_or_relative_path_is_refused_on_windows_as_relative(monkeypatch, given):
    monkeypatch.setattr(os, "path", ntpath)
    with pytest.raises(ConfigurationError, match="is relative"):
        locate(path=given)


@pytest.mark.parametrize("given", ["C:\\Data\\n.db", "c:/data/n.db", "\\\\server\\share\\n.db", "\\\\?\\C:\\n.db"])
def test_full_windows_paths_are_accepted_on_windows(monkeypatch, given):
    monkeypatch.setattr(os, "path", ntpath)
    located = locate(path=given)
    expected = ntpath.normpath(given)
    monkeypatch.undo()

    assert located == expected


def test_the_per_user_file_on_windows_has_no_repeated_app_folder_without_app_author(monkeypatch):
    """platformdirs with appauthor=None would give %LOCALAPPDATA%\\Notes\\Notes; app_db passes False."""
    import platformdirs

    calls = []
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda name, author: calls.append((name, author)) or "/data")
    locate()
    locate(app_author="Acme")

    assert calls == [("Notes", False), ("Notes", "Acme")]


WINDOWS_INVALID_NAMES = [
    "CON", "con.sqlite3", "Prn.db", "AUX", "nul", "NUL.tar.gz", "nul .txt", "COM1", "com9.sqlite3", "LPT1",
    "lpt9.db", "CONOUT$", "notes:2.db", 'say "hi".db', "a<b.db", "a>b.db", "a|b.db", "why?.db", "all*.db",
    "sub/app.db", "sub\\app.db", "tab\there.db", "new\nline.db", "app.sqlite3.", "app.sqlite3 ", ".", "..",
]


@pytest.mark.parametrize("name", WINDOWS_INVALID_NAMES)
def test_a_file_name_windows_cannot_create_is_refused_on_every_platform(name):
    with pytest.raises(ConfigurationError) as caught:
        locate(filename=name)

    assert repr(name) in str(caught.value) and "filename=" in str(caught.value)


@pytest.mark.parametrize("name", ["app.sqlite3", "CONSOLE.db", "com10.db", "lpt.db", "nul_backup.db", "日本.sqlite3", ".notes"])
def test_names_windows_allows_are_accepted(name):
    assert locate(filename=name).endswith(os.sep + name)


def test_a_bad_file_name_is_refused_even_when_a_path_is_given_so_the_developer_learns_it(tmp_path):
    database = Database("Notes", filename="aux.sqlite3", path=tmp_path / "dev.sqlite3", migrations=[])

    with pytest.raises(ConfigurationError, match="AUX is a device name on Windows"):
        database.register_models([])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("option, value", [("app_name", "Notes: 2024"), ("app_author", "Acme|Corp"), ("app_name", "Notes.")])
def test_an_app_name_or_author_windows_cannot_use_as_a_folder_is_refused(option, value):
    options = {"app_author": None}
    options[option] = value
    with pytest.raises(ConfigurationError, match=f"{option}="):
        locate_database(options.pop("app_name", "Notes"), filename="app.sqlite3", path=None, env="production", **options)


# What the OS says, told plainly -------------------------------------------------------------------------------------
def posix_message(path: Path) -> str:
    """The message a real launch on Linux gives for ``path``."""
    with pytest.raises(DatabaseNotWritableError) as caught:
        Database("Notes", path=path, migrations=[]).register_models([])
    return str(caught.value)


def test_a_path_under_a_regular_file_gives_the_posix_message_for_windows_error_3(tmp_path, monkeypatch):
    (tmp_path / "blocker").write_text("a file where the data folder should be")
    path = tmp_path / "blocker" / "data" / "app.sqlite3"
    expected = posix_message(path)

    def mkdir_as_windows(folder, *args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, "The system cannot find the path specified", folder, 3)

    monkeypatch.setattr(os, "makedirs", mkdir_as_windows)
    with pytest.raises(DatabaseNotWritableError) as caught:
        ensure_folder(str(path))

    assert str(caught.value) == expected
    assert f"{tmp_path / 'blocker'} is a file, not a folder" in expected
    assert (tmp_path / "blocker").read_text() == "a file where the data folder should be"


def test_a_folder_where_the_file_should_be_gives_the_posix_message_for_windows_permission_error(tmp_path):
    path = tmp_path / "app.sqlite3"
    path.mkdir()
    expected = posix_message(path)

    # On Windows, opening a folder raises PermissionError (WinError 5) rather than IsADirectoryError:
    # the message is judged from the disk, so it is the same.
    explained = explain_unusable_path(str(path))

    assert explained is not None and str(explained) == expected
    assert "is a folder, not a database file" in expected


def test_a_drive_that_is_not_connected_is_named_as_such(monkeypatch):
    def mkdir_as_windows(folder, *args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, "The system cannot find the path specified", folder, 3)

    monkeypatch.setattr(os, "makedirs", mkdir_as_windows)
    monkeypatch.setattr(os, "path", ntpath)
    with pytest.raises(DatabaseNotWritableError) as caught:
        ensure_folder("Q:\\Notes\\app.sqlite3")
    monkeypatch.undo()

    assert "Q:\\ does not exist (a network drive that is not connected" in str(caught.value)


def test_an_ordinary_missing_folder_is_not_called_unusable(tmp_path):
    assert explain_unusable_path(str(tmp_path / "new" / "app.sqlite3")) is None


# Durability per platform ------------------------------------------------------------------------------------------------
def sync_settings(connection) -> tuple:
    return tuple(connection.execute(f"PRAGMA {name}").fetchone()[0] for name in ("fullfsync", "checkpoint_fullfsync"))


@pytest.mark.parametrize("platform, expected", [("darwin", (1, 1)), ("linux", (0, 0)), ("win32", (0, 0))])
def test_connections_that_write_use_fullfsync_exactly_when_the_platform_is_macos(tmp_path, monkeypatch, platform, expected):
    monkeypatch.setattr(sys, "platform", platform)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_initial.py").write_text(migration_source(INITIAL, CREATE_NOTE))
    database = Database("SyncTest", migrations=tmp_path / "migrations", path=tmp_path / "app.sqlite3")
    database.register_models([])
    try:
        assert sync_settings(database.db.connection()) == expected  # the app's connection, which migrates
    finally:
        database.close()
    copy = connect_writable(tmp_path / "copy.sqlite3")  # what backups and restores write through
    try:
        assert sync_settings(copy) == expected
    finally:
        copy.close()


def test_a_launch_backup_and_restore_work_when_the_platform_reports_macos(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")  # F_FULLFSYNC is missing from Linux's fcntl: fsync stands in
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_initial.py").write_text(migration_source(INITIAL, CREATE_NOTE))
    database = Database("SyncTest", migrations=tmp_path / "migrations", path=tmp_path / "app.sqlite3")
    database.register_models([])
    database.db.execute_sql("INSERT INTO note (body) VALUES ('kept')")
    copy = database.backup()
    database.db.execute_sql("DELETE FROM note")
    database.restore(copy)

    assert database.db.execute_sql("SELECT body FROM note").fetchall() == [("kept",)]
    database.close()


# Paths from a command line: made absolute, never resolved ----------------------------------------------------------
@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A folder reached through a symbolic link, as a mapped drive or macOS's /var -> /private/var is."""
    (tmp_path / "real").mkdir()
    try:
        (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    except OSError as exc:  # Windows without the privilege to create one
        pytest.skip(f"cannot create a symbolic link here: {exc}")
    return tmp_path / "link"


def test_the_cli_keeps_a_path_as_the_user_named_it_not_resolved(app, linked):
    result = run_cli(app, "path", "--path", os.path.relpath(linked / "app.sqlite3", app))

    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == str(linked / "app.sqlite3")


def test_the_demo_keeps_a_path_as_the_user_named_it_not_resolved(linked, monkeypatch, capsys):
    from demo_app.__main__ import main

    monkeypatch.chdir(linked.parent)
    assert main(["--headless", "--path", os.path.join("link", "notes.sqlite3")]) == 0

    assert str(linked / "notes.sqlite3") in capsys.readouterr().out


def test_backup_and_restore_name_the_files_as_the_user_did_not_resolved(tmp_path, linked):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_initial.py").write_text(migration_source(INITIAL, CREATE_NOTE))
    database = Database("PathTest", migrations=tmp_path / "migrations", path=linked / "app.sqlite3")
    database.register_models([])

    copy = database.backup(linked / "copy.sqlite3")
    assert copy == linked / "copy.sqlite3"
    database.restore(copy)
    with pytest.raises(ConfigurationError, match="from itself"):  # the same file, however it is spelled
        database.restore(linked.parent / "real" / "app.sqlite3")
    database.close()


def test_the_cli_backup_and_restore_print_the_paths_as_the_user_named_them(app, linked):
    database = str(linked / "app.sqlite3")
    assert run_cli(app, "migrate", "--path", database).returncode == 0

    backup = run_cli(app, "backup", "--path", database, os.path.relpath(linked / "copy.sqlite3", app))
    restore = run_cli(app, "restore", "--path", database, str(linked / "copy.sqlite3"))

    assert backup.returncode == 0 and backup.stdout.decode().strip() == str(linked / "copy.sqlite3"), backup.stderr
    assert restore.returncode == 0, restore.stderr
    assert f"from {linked / 'copy.sqlite3'}." in restore.stdout.decode()


# The command line's console -----------------------------------------------------------------------------------------
APP = '''
from pathlib import Path
from app_db import Database

database = Database("CliTest", migrations=Path(__file__).resolve().parent / "migrations")
'''


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "myapp.py").write_text(APP)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_initial.py").write_text(migration_source(INITIAL, CREATE_NOTE, name="Initial 日本"))
    return tmp_path


def run_cli(app: Path, *args: str, env: dict = None, **options) -> subprocess.CompletedProcess:
    full_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("APP_", "PYTHONIO", "NO_COLOR")) or key == "APP_DB_STRICT_FILES"  # the suite's test mode
    }
    full_env.update(env or {})
    if "stdout" not in options:
        options["capture_output"] = True
    return subprocess.run(COMMAND + ["--database", "myapp:database", *args], env=full_env, cwd=app, timeout=60, **options)


def test_the_cli_on_a_cp1252_pipe_escapes_what_it_cannot_encode_and_exits_0(app):
    path = app / "日本" / "app.sqlite3"
    assert run_cli(app, "migrate", "--path", str(path)).returncode == 0

    result = run_cli(app, "status", "--path", str(path), env={"PYTHONIOENCODING": "cp1252"})

    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr and result.stderr == b""
    out = result.stdout.decode("cp1252")
    assert str(app / "\\u65e5\\u672c" / "app.sqlite3") in out
    assert "Initial \\u65e5\\u672c" in out


def test_an_error_naming_a_non_ascii_path_on_a_cp1252_pipe_is_one_escaped_line(app):
    folder = app / "日本"
    folder.mkdir()
    (folder / "app.sqlite3").write_text("a shopping list, not a database\n")

    result = run_cli(app, "status", "--path", str(folder / "app.sqlite3"), env={"PYTHONIOENCODING": "cp1252"})

    assert result.returncode == 1
    lines = result.stderr.decode("cp1252").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "\\u65e5\\u672c" in lines[0], lines


def test_the_cli_writing_to_a_closed_pipe_is_quiet_and_exits_0(app):
    reader, writer = os.pipe()
    os.close(reader)  # the reader went away before the first line, as `app-db status | head -0`
    try:
        result = run_cli(app, "status", "--path", str(app / "app.sqlite3"), stdout=writer, stderr=subprocess.PIPE)
    finally:
        os.close(writer)

    assert result.returncode == 0
    assert result.stderr == b""


class WindowsClosedPipe:
    """stdout as Windows has it once the reader of the pipe is gone: every write fails with EINVAL."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text):
        raise OSError(errno.EINVAL, "Invalid argument")

    def flush(self):
        raise OSError(errno.EINVAL, "Invalid argument")

    def isatty(self):
        return False


def test_a_closed_pipe_on_windows_einval_is_quiet_and_exits_0(app, monkeypatch, capsys):
    from app_db import cli

    monkeypatch.chdir(app)
    monkeypatch.syspath_prepend(str(app))
    monkeypatch.setattr(sys, "stdout", WindowsClosedPipe())

    assert cli.main(["--database", "myapp:database", "path", "--path", str(app / "app.sqlite3")]) == 0
    assert capsys.readouterr().err == ""


def test_einval_from_anything_but_writing_the_output_is_still_an_error(app, monkeypatch, capsys):
    from app_db import cli

    def fails(args, out):
        raise OSError(errno.EINVAL, "Invalid argument", "some.file")

    monkeypatch.chdir(app)
    monkeypatch.syspath_prepend(str(app))
    monkeypatch.setattr(cli, "cmd_path", fails)

    assert cli.main(["--database", "myapp:database", "path", "--path", str(app / "app.sqlite3")]) == 1
    assert "Invalid argument" in capsys.readouterr().err


class Terminal:
    def isatty(self):
        return True


class Pipe:
    def isatty(self):
        return False


@pytest.mark.parametrize(
    "stream, environ, platform, expected",
    [
        (Terminal(), {}, "linux", True),
        (Terminal(), {}, "darwin", True),
        (Pipe(), {}, "linux", False),
        (Terminal(), {"NO_COLOR": "1"}, "linux", False),
        (Terminal(), {"TERM": "dumb"}, "darwin", False),
        (Pipe(), {"WT_SESSION": "x", "TERM": "xterm-256color"}, "win32", False),
        (Terminal(), {}, "win32", False),  # a legacy console where virtual-terminal processing cannot be switched on
        (Terminal(), {"WT_SESSION": "x"}, "win32", False),  # inherited by a classic console: no proof
        (Terminal(), {"ANSICON": "1"}, "win32", True),
        (Terminal(), {"ConEmuANSI": "ON"}, "win32", True),
        (Terminal(), {"TERM": "xterm"}, "win32", True),
        (Terminal(), {"ANSICON": "1", "NO_COLOR": "1"}, "win32", False),
    ],
)
def test_colours_only_where_the_console_shows_them(stream, environ, platform, expected):
    from app_db.cli import supports_colour

    assert supports_colour(stream, environ, platform) is expected


def test_colours_on_a_windows_console_once_virtual_terminal_processing_is_on(monkeypatch):
    from app_db import cli

    monkeypatch.setattr(cli, "enable_virtual_terminal", lambda stream: True)

    assert cli.supports_colour(Terminal(), {}, "win32") is True
    assert cli.supports_colour(Pipe(), {}, "win32") is False


@pytest.mark.posix_only(reason="a pseudo-terminal (pty)")
def test_the_cli_colours_a_real_terminal_and_not_with_no_color(app):
    import pty

    def on_terminal(env: dict) -> str:
        main, secondary = pty.openpty()
        try:
            result = run_cli(app, "status", "--path", str(app / "app.sqlite3"), env=env, stdout=secondary,
                             stderr=subprocess.PIPE)
        finally:
            os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        assert result.returncode == 0, result.stderr
        return b"".join(chunks).decode()

    assert "\x1b[" in on_terminal({"TERM": "xterm"})
    assert "\x1b[" not in on_terminal({"TERM": "xterm", "NO_COLOR": "1"})


# A suite that collects on Windows -----------------------------------------------------------------------------------
WINDOWS_LIKE = '''
import os, signal, sys
# Libraries that pick their own platform module at import (platformdirs.unix) load first, as on Linux.
import platformdirs, peewee, pytest, hypothesis, subprocess, tempfile
# What a Windows Python lacks: collecting our suite must not need any of it.
for name in ("geteuid", "getuid", "getgid", "setuid", "setgid", "setgroups", "fork", "getpwnam"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGKILL", "SIGXFSZ", "SIGALRM", "SIGHUP"):
    if hasattr(signal, name):
        delattr(signal, name)
for module in ("resource", "fcntl", "pwd", "grp", "termios", "pty"):
    sys.modules[module] = None
'''


@pytest.mark.slow
def test_the_suite_collects_without_the_posix_only_parts_of_python(tmp_path):
    """Regression: os.geteuid() inside skipif and a top-level `import resource` stopped collection on Windows."""
    (tmp_path / "sitecustomize.py").write_text(WINDOWS_LIKE)
    env = {key: value for key, value in os.environ.items() if not key.startswith("APP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO)])

    def collect(extra_env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(REPO / "tests")],
            capture_output=True, text=True, cwd=REPO, env={**env, **extra_env}, timeout=300,
        )

    windows_like = collect({})
    assert "sitecustomize" in subprocess.run(
        [sys.executable, "-c", "import sys; print(list(sys.modules))"], capture_output=True, text=True, env=env
    ).stdout, "the Windows-like sitecustomize was not loaded"

    assert windows_like.returncode == 0, windows_like.stdout[-3000:] + windows_like.stderr[-3000:]
    assert "error" not in windows_like.stdout.splitlines()[-1]
    normal = collect({"PYTHONPATH": str(REPO)})
    assert windows_like.stdout.split()[-5:-3] == normal.stdout.split()[-5:-3]  # "N tests collected in 2s"


def test_the_stress_child_imports_without_resource():
    code = textwrap.dedent(WINDOWS_LIKE) + "\nimport runpy; runpy.run_path(sys.argv[1], run_name='child_module')\n"
    result = subprocess.run([sys.executable, "-c", code, str(REPO / "tests" / "stress" / "child.py")],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr


def test_two_migration_files_that_differ_only_in_case_are_refused_before_any_write(project) -> None:
    project.add("001_initial.py", "20240601_090000_initial", "schema.sql('CREATE TABLE note (body TEXT)')")
    project.launch()
    before = project.dump()
    project.add("002_Tags.py", "20240602_090000_tags", "schema.sql('CREATE TABLE tag (name TEXT)')")
    project.add("002_tags.py", "20240602_090001_tags_again", "schema.sql('CREATE TABLE label (name TEXT)')")
    with pytest.raises(MigrationDefinitionError, match="differ only in case") as caught:
        project.launch()
    assert "002_Tags.py" in str(caught.value) and "002_tags.py" in str(caught.value)
    assert project.dump() == before
    assert project.applied() == ["20240601_090000_initial"]


def test_a_migration_file_numbered_with_other_scripts_digits_is_refused_as_misnamed(project) -> None:
    project.add("\u0661\u0662_arabic_digits.py", "20240601_090000_initial", "schema.sql('SELECT 1')")
    with pytest.raises(MigrationDefinitionError, match="not named NNN_description.py"):
        project.launch()
