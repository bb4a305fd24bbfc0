"""Backups in production: before migrating a file that has data, never on a fresh install, five of each pruned kind kept, durable."""

from __future__ import annotations

import shutil
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from syscall_trace import index, needs_strace, trace

from app_db import DatabaseCorruptError, SchemaTooNewError
from app_db.backup import backup_database, list_backups


def initial(project):
    project.add("001_initial.py", "20240601_090000_initial",
                'schema.create_table("note", {"body": peewee.TextField()})')


def test_fresh_install_takes_no_backup(project):
    initial(project)
    assert project.database().register_models([]).backup is None
    assert list_backups(project.path) == []


def test_backup_is_taken_before_migrating_a_file_with_data(project):
    initial(project)
    project.database().register_models([])
    project.connect().execute("INSERT INTO note (body) VALUES ('keep me')").connection.commit()
    project.add("002_drop.py", "20240602_090000_drop", 'schema.drop_table("note")')

    report = project.database().register_models([])

    assert report.backup is not None and report.backup.parent == project.path.parent / "backups"
    assert "20240602_090000_drop" in report.backup.name
    copy = sqlite3.connect(report.backup)
    assert copy.execute("SELECT body FROM note").fetchall() == [("keep me",)]
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert not report.backup.with_name(report.backup.name + "-wal").exists()


def test_a_file_made_before_migrations_existed_is_backed_up(project):
    project.path.parent.mkdir(parents=True)
    connection = project.connect()
    connection.execute("CREATE TABLE legacy (x)")
    connection.commit()
    connection.close()
    initial(project)
    assert project.database().register_models([]).backup is not None


def test_only_the_newest_five_backups_are_kept(project):
    initial(project)
    project.database().register_models([])
    made = []
    for number in range(2, 9):
        project.add(f"00{number}_t{number}.py", f"2024060{number}_090000_t{number}", f'schema.sql("CREATE TABLE t{number} (x)")')
        made.append(project.database().register_models([]).backup)
    assert list_backups(project.path) == made[-5:]


def test_no_backup_in_development_or_test(project):
    initial(project)
    project.database(env="development").register_models([])
    project.connect().execute("INSERT INTO note (body) VALUES ('keep me')").connection.commit()
    for number, env in ((2, "development"), (3, "test")):
        migration_id = f"2024060{number}_090000_more{number}"
        project.add(f"00{number}_more{number}.py", migration_id, f'schema.sql("CREATE TABLE more{number} (x)")')
        report = project.database(env=env).register_models([])
        assert report.applied == [migration_id], env  # a migration ran on a file with data: production backs it up
        assert report.backup is None, env
    assert list_backups(project.path) == [] and not (project.path.parent / "backups").exists()


def test_failed_migration_error_points_at_the_backup(project):
    from app_db import MigrationError

    initial(project)
    project.database().register_models([])
    project.add("002_broken.py", "20240602_090000_broken", 'raise RuntimeError("boom")')
    with pytest.raises(MigrationError) as caught:
        project.database().register_models([])
    assert caught.value.backup is not None and caught.value.backup.exists()
    assert str(caught.value.backup) in str(caught.value)


def test_restore_replaces_content_and_keeps_a_backup_of_what_it_replaced(project):
    initial(project)
    database = project.database()
    database.register_models([])
    project.connect().execute("INSERT INTO note (body) VALUES ('old')").connection.commit()
    saved = database.backup(project.root / "saved.sqlite3")
    project.connect().execute("DELETE FROM note").connection.commit()

    safety = database.restore(saved)

    assert project.rows("SELECT body FROM note") == [("old",)]
    assert sqlite3.connect(safety).execute("SELECT count(*) FROM note").fetchone() == (0,)


def test_restore_refuses_a_file_that_is_not_sqlite(project):
    initial(project)
    project.database().register_models([])
    junk = project.root / "junk.sqlite3"
    junk.write_text("not a database")
    before = project.dump()
    with pytest.raises(DatabaseCorruptError, match="junk.sqlite3"):
        project.database().restore(junk)
    assert project.dump() == before


def test_restore_refuses_a_file_from_a_newer_app_version(project):
    initial(project)
    database = project.database()
    database.register_models([])
    newer = database.backup(project.root / "newer.sqlite3")
    connection = sqlite3.connect(newer)
    connection.execute("INSERT INTO app_db_migrations (id, name, file, checksum, applied_at, duration) VALUES ('20991231_000000_future', 'F', 'x.py', NULL, '2099-01-01T00:00:00+00:00', 0)")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaTooNewError, match="20991231_000000_future"):
        database.restore(newer)


def test_failed_launches_do_not_push_out_older_backups(project):
    """Each failing retry backs up the same state again; only the newest of those is kept."""
    from app_db import MigrationError

    initial(project)
    project.database().register_models([])
    project.add("002_more.py", "20240602_090000_more", 'schema.sql("CREATE TABLE more (x)")')
    before_more = project.database().register_models([]).backup
    project.add("003_broken.py", "20240603_090000_broken", 'raise RuntimeError("boom")')
    for _ in range(7):
        with pytest.raises(MigrationError):
            project.database().register_models([])
    backups = list_backups(project.path)
    assert before_more in backups
    assert len([b for b in backups if "20240603_090000_broken" in b.name]) == 1


def test_restore_recovers_a_damaged_file_by_moving_it_aside(project):
    initial(project)
    database = project.database()
    database.register_models([])
    connection = project.connect()  # closed, not left to the garbage collector: the file is replaced below
    connection.execute("INSERT INTO note (body) VALUES ('saved')").connection.commit()
    connection.close()
    saved = database.backup(project.root / "saved.sqlite3")
    database.close()
    for companion in ("-wal", "-shm"):  # a -wal would hold the pages SQLite reads: not damaged then
        project.path.with_name(project.path.name + companion).unlink(missing_ok=True)
    project.path.write_bytes(b"garbage" * 100)

    aside = project.database().restore(saved)

    assert aside.read_bytes() == b"garbage" * 100
    assert project.rows("SELECT body FROM note") == [("saved",)]


def update_backups(project, count):
    """``count`` launches, each adding a migration, so each takes a pre-update backup."""
    made = []
    for number in range(2, 2 + count):
        project.add(f"{number:03d}_t{number}.py", f"202406{number:02d}_090000_t{number}", f'schema.sql("CREATE TABLE t{number} (x)")')
        made.append(project.database().register_models([]).backup)
    return made


def test_manual_backups_are_never_pruned_and_never_push_out_pre_update_ones(project):
    initial(project)
    project.database().register_models([])
    updates = update_backups(project, 5)
    manual = [project.database().backup() for _ in range(8)]
    assert list_backups(project.path) == sorted(updates + manual)


def test_the_migration_commits_with_synchronous_full_and_the_app_keeps_its_own_setting(project):
    initial(project)
    seen = []
    database = project.database(on_progress=lambda index, total, migration: seen.append(
        database.db.execute_sql("PRAGMA synchronous").fetchone()[0]))

    database.register_models([])

    assert seen == [2]  # FULL: the COMMIT is fsynced, so the launch returns only once it is on the disk
    assert database.db.execute_sql("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again for the app's writes


@needs_strace
def test_the_pre_update_backup_is_on_the_disk_before_anything_is_pruned_and_the_migration_before_the_launch_returns(project, tmp_path):
    initial(project)
    project.database().register_models([])
    project.connect().execute("INSERT INTO note (body) VALUES ('keep me')").connection.commit()
    oldest = update_backups(project, 5)[0]
    project.add("007_more.py", "20240607_090000_more", 'schema.sql("CREATE TABLE more (x)")')

    calls = trace(f"""
        from app_db import Database
        report = Database("TestApp", path={str(project.path)!r}, migrations={str(project.migrations)!r}, env="production").register_models([])
        assert report.applied == ["20240607_090000_more"]
    """, tmp_path)

    synced = index(calls, "fsync", "-before-20240607_090000_more.sqlite3.partial")
    renamed = index(calls, "rename", "-before-20240607_090000_more.sqlite3", synced)
    folder_synced = index(calls, "fsync", "/backups", renamed)
    pruned = index(calls, "unlink", oldest.name)
    committed = index(calls, "fsync", "app.sqlite3-wal", folder_synced)
    assert 0 <= synced < renamed < folder_synced < pruned, calls
    assert committed > folder_synced, calls  # the COMMIT fsynced before register_models returned


# Backup sets matched as NTFS and APFS compare names -------------------------------------------------------------
def make_database(path: Path) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE note (body TEXT)")
    connection.commit()
    connection.close()
    return path


def test_backups_named_in_another_case_or_in_nfd_are_pruned_as_one_set(tmp_path):
    path = make_database(tmp_path / "Crème.sqlite3")  # NFC, as typed
    folder = tmp_path / "backups"
    folder.mkdir()
    def nfd(text):
        return unicodedata.normalize("NFD", text)  # how HFS+ lists a name

    spellings = [nfd("Crème"), "CRÈME", nfd("crème"), "Crème", nfd("CRÈME"), "crème"]
    olds = []
    for number, stem in enumerate(spellings):
        olds.append(folder / f"{stem}-2024010{number}-090000-000000-before-2024010{number}_090000_m{number}.sqlite3")
        shutil.copyfile(path, olds[-1])

    newest = backup_database(path, label="before-20240601_090000_new")

    assert sorted(folder.iterdir()) == sorted(olds[2:] + [newest])  # the two oldest went, however spelled
    assert list_backups(path) == olds[2:] + [newest]  # oldest first, by time


def test_a_backup_into_the_backups_folder_spelled_another_way_still_prunes_and_keeps_the_newest(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    try:
        (tmp_path / "link").symlink_to(real, target_is_directory=True)  # as /var is to /private/var on macOS
    except OSError as exc:
        pytest.skip(f"cannot create a symbolic link here: {exc}")
    path = make_database(tmp_path / "link" / "app.sqlite3")
    label = "before-20240610_090000_new"
    olds = [backup_database(path, label=f"before-2024060{number}_090000_m{number}") for number in range(4)]
    olds.append(backup_database(path, label=label))  # a failed launch before the same migration

    newest = backup_database(path, label=label, destination=real / "backups" / f"app-20991231-000000-000000-{label}.sqlite3")

    assert newest.is_file()
    assert [entry.name for entry in list_backups(path)] == [entry.name for entry in olds[:4]] + [newest.name]
