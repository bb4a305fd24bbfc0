"""Squashed histories: a baseline (``replaces``) in place of the migrations it stands for, on real files."""

from __future__ import annotations

import sqlite3

import pytest
from real_world_schemas import SCHEMAS, migration_body, register_functions

from app_db import IrreversibleMigrationError, MigrationDefinitionError
from app_db.squash import check_baselines, squash_migrations

A, B, C, D = "20240601_090000_a", "20240602_090000_b", "20240603_090000_c", "20240604_090000_d"


def marker_imports(project, name):
    """Module-level code that leaves a mark when the file is imported: originals must not be."""
    return f"open({str(project.root / ('imported-' + name))!r}, 'a').close()"


def write_history(project, count=3):
    """001 note, 002 tag (with a seed row), 003 note.title; each leaves a mark when imported."""
    sources = [
        ("001_a.py", A, 'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")'),
        ("002_b.py", B, 'schema.sql("CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT UNIQUE)")\n'
                        "schema.sql(\"INSERT INTO tag (label) VALUES ('starred')\")"),
        ("003_c.py", C, 'schema.sql("ALTER TABLE note ADD COLUMN title TEXT NOT NULL DEFAULT \'\'")\n'
                        'schema.sql("CREATE INDEX note_title ON note (title)")'),
    ]
    for filename, migration_id, up in sources[:count]:
        project.add(filename, migration_id, up, imports=marker_imports(project, filename))


def squash(project, to=C, description="baseline one"):
    result = squash_migrations(project.database(), to, description)
    for mark in project.root.glob("imported-*"):
        mark.unlink()  # squashing ran the originals on a scratch database: only the launch is watched
    return result


def baseline_id(result):
    return next(line.split('"')[1] for line in result.path.read_text().splitlines() if line.startswith("    id = "))


def user_schema(project):
    return [line for line in project.dump() if "app_db_migrations" not in line]


def imported(project):
    return sorted(mark.name.removeprefix("imported-") for mark in project.root.glob("imported-*"))


def test_squash_writes_the_next_file_with_every_id_through_to_and_a_timestamped_id(project):
    write_history(project)
    result = squash(project)
    assert result.path.name == "004_baseline_one.py"
    assert result.replaces == [A, B, C]
    assert baseline_id(result) > C
    assert result.rows == {"tag": 1}  # the seed row is copied, and said


def test_fresh_install_runs_only_the_baseline_and_counts_the_shipped_originals_as_applied(project):
    write_history(project)
    reference = project.root / "reference.sqlite3"
    project.database(path=reference).register_models([])  # what the originals build
    result = squash(project)
    report = project.database().register_models([])
    assert report.applied == [baseline_id(result)]
    assert imported(project) == []  # no original was even imported
    assert project.applied() == sorted([A, B, C, baseline_id(result)])
    assert user_schema(project) == [line for line in sorted(sqlite3.connect(reference).iterdump())
                                    if "app_db_migrations" not in line]
    assert project.database()._is_up_to_date([])  # the next launch is the no-op launch


def test_file_with_every_original_applied_records_the_baseline_without_running_it(project):
    write_history(project)
    project.launch()
    before = user_schema(project)
    result = squash(project)
    result.path.write_text(result.path.read_text().replace(
        "    def up(self, schema):\n", "    def up(self, schema):\n        raise RuntimeError('must not run')\n"))
    assert not project.database()._is_up_to_date([])  # a file the table does not know: not the no-op launch
    report = project.database().register_models([])
    assert report.applied == []  # nothing ran
    assert report.recorded == [baseline_id(result)]
    assert report.recorded[0].name == "Baseline one"
    assert "recorded 1 migration without running" in str(report)
    assert user_schema(project) == before
    assert baseline_id(result) in project.applied()
    assert project.database()._is_up_to_date([])


def test_file_part_way_through_runs_the_rest_of_the_originals_then_records_the_baseline(project):
    write_history(project, count=1)
    project.launch()
    write_history(project)
    result = squash(project)
    report = project.database().register_models([])
    assert report.applied == [B, C]  # what ran
    assert report.recorded == [baseline_id(result)]
    assert imported(project) == ["002_b.py", "003_c.py"]
    assert project.rows("SELECT label FROM tag") == [("starred",)]
    assert project.database()._is_up_to_date([])


def test_file_part_way_through_with_the_rest_deleted_is_refused_naming_what_is_missing(project):
    write_history(project, count=1)
    project.launch()
    write_history(project)
    squash(project)
    (project.migrations / "002_b.py").unlink()
    (project.migrations / "003_c.py").unlink()
    before = project.path.read_bytes()
    with pytest.raises(MigrationDefinitionError, match=rf"1 of the 3 .*004_baseline_one.py.*{B}, {C}.*Nothing was"):
        project.database().register_models([])
    assert project.path.read_bytes() == before


def test_baseline_squashed_in_the_middle_runs_before_the_later_migrations(project):
    write_history(project)
    project.add("004_d.py", D, 'schema.sql("ALTER TABLE note ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")')
    result = squash(project)  # --to C, while D (older id than the baseline) is newer history
    assert result.path.name == "005_baseline_one.py"
    report = project.database().register_models([])
    assert report.applied == [baseline_id(result), D]
    assert [row[1] for row in project.rows("PRAGMA table_info(note)")] == ["id", "body", "title", "pinned"]


def test_migrate_to_an_id_inside_the_squashed_history_runs_the_originals_through_it(project):
    write_history(project)
    result = squash(project)
    assert project.database().migrate(to=B).applied == [A, B]
    assert project.applied() == [A, B]
    report = project.database().register_models([])  # then as part-way through
    assert (report.applied, report.recorded) == ([C], [baseline_id(result)])
    assert project.database()._is_up_to_date([])


def test_fresh_file_with_only_the_baseline_recorded_records_the_shipped_originals_once(project):
    write_history(project)
    result = squash(project)
    originals = {path.name: path.read_text() for path in project.migrations.glob("00[123]_*.py")}
    for name in originals:
        (project.migrations / name).unlink()
    project.launch()  # a build that shipped the baseline alone
    assert project.applied() == [baseline_id(result)]
    for name, text in originals.items():
        (project.migrations / name).write_text(text)
    database = project.database()
    assert not database._is_up_to_date([])  # three files the table does not know: the full plan, not the fast path
    assert database.register_models([]).applied == []
    assert imported(project) == []
    assert project.applied() == sorted([A, B, C, baseline_id(result)])
    assert project.database()._is_up_to_date([])


def test_originals_deleted_after_the_baseline_is_recorded_are_not_a_newer_apps(project):
    write_history(project)
    project.launch()
    squash(project)
    project.launch()
    for path in project.migrations.glob("00[123]_*.py"):
        path.unlink()
    before = project.path.read_bytes()
    assert project.database().register_models([]).applied == []
    assert project.path.read_bytes() == before


def test_a_history_squashed_twice_runs_only_the_newest_baseline_on_a_fresh_install(project):
    write_history(project)
    first = baseline_id(squash(project))
    project.add("005_d.py", "20990101_000000_d", 'schema.sql("CREATE TABLE d (x)")')
    second = squash(project, to="20990101_000000_d", description="baseline two")
    assert second.replaces == sorted([A, B, C, first, "20990101_000000_d"])
    assert project.database().register_models([]).applied == [baseline_id(second)]
    assert check_baselines(project.database()) == []
    assert project.database()._is_up_to_date([])


def test_rollback_past_a_baseline_is_refused_and_after_it_allowed(project):
    write_history(project)
    result = squash(project)
    project.add("005_d.py", "20990101_000000_d", 'schema.sql("CREATE TABLE d (x)")', down='schema.drop_table("d")')
    project.launch()
    assert project.database().rollback().undone == ["20990101_000000_d"]
    before = project.dump()
    with pytest.raises(IrreversibleMigrationError, match=rf"{baseline_id(result)}.*baseline.*005|004_baseline"):
        project.database().rollback(steps=1)
    assert project.dump() == before


def test_check_passes_a_baseline_that_builds_what_the_originals_build(project):
    write_history(project)
    squash(project)
    assert check_baselines(project.database()) == []


def test_check_catches_a_baseline_edited_by_hand(project):
    write_history(project)
    result = squash(project)
    result.path.write_text(result.path.read_text().replace("label TEXT UNIQUE", "label TEXT"))
    (problem,) = check_baselines(project.database())
    assert problem[0].endswith("004_baseline_one.py")
    assert "does not build the schema" in problem[1] and "tag" in problem[1]


def install_squashed(project, up):
    """One migration ``up``, squashed; check passes; a fresh install from the baseline alone."""
    project.add("001_a.py", A, up)
    squash(project, to=A)
    assert check_baselines(project.database()) == []
    (project.migrations / "001_a.py").unlink()
    project.launch()


def test_baseline_keeps_an_autoincrement_counter_that_runs_ahead_of_the_rows(project):
    install_squashed(project, 'schema.sql("CREATE TABLE job (id INTEGER PRIMARY KEY AUTOINCREMENT, x)")\n'
                              'schema.sql("INSERT INTO job (x) VALUES (1), (2), (3)")\n'
                              'schema.sql("DELETE FROM job WHERE id > 1")')
    connection = project.connect()
    connection.execute("INSERT INTO job (x) VALUES (4)")
    assert connection.execute("SELECT max(id) FROM job").fetchone() == (4,)  # as after the originals: 3 was used


def test_seed_rows_of_every_storage_class_come_back_equal(project):
    install_squashed(project, 'schema.sql("CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID")\n'
                              "schema.sql(\"INSERT INTO kv VALUES ('int', 7), ('real', 1e999), ('text', 'it''s'), "
                              "('blob', x'00ff'), ('null', NULL), ('neg', -2.5)\")")
    assert dict(project.rows("SELECT k, v FROM kv")) == {
        "int": 7, "real": float("inf"), "text": "it's", "blob": b"\x00\xff", "null": None, "neg": -2.5}


def test_check_passes_a_hand_written_baseline_that_says_the_same_in_other_words(project):
    write_history(project, count=1)
    project.add("001_b.py", B, 'schema.sql("ALTER TABLE note ADD COLUMN title TEXT NOT NULL DEFAULT \'\'")')
    project.write("002_baseline.py", """from app_db import Migration


class Baseline(Migration):
    id = "20990101_000000_baseline"
    replaces = ["20240601_090000_a", "20240602_090000_b"]

    def up(self, schema):
        # typed by hand: other keyword case, quotes and blanks
        schema.sql('create table if not exists "note"(id integer primary key,  "body" text not null, '
                   "title text NOT NULL default '')")
""")
    assert check_baselines(project.database()) == []


@pytest.mark.parametrize("edit", [("body TEXT NOT NULL", "body TEXT NOT NULL CHECK (body <> '')"),
                                  ("body TEXT NOT NULL", "body TEXT NOT NULL COLLATE NOCASE"),
                                  ("DEFAULT ''", "DEFAULT 'x'")])
def test_check_catches_an_edited_constraint_that_the_column_list_does_not_show(project, edit):
    write_history(project)
    result = squash(project)
    text = result.path.read_text()
    assert edit[0] in text
    result.path.write_text(text.replace(edit[0], edit[1], 1))
    (problem,) = check_baselines(project.database())
    assert "does not build the schema" in problem[1]


def test_check_catches_a_baseline_whose_seed_rows_differ(project):
    write_history(project)
    result = squash(project)
    result.path.write_text(result.path.read_text().replace("'starred'", "'flagged'"))
    (problem,) = check_baselines(project.database())
    assert "starred" in problem[1]


def run_cli(project, *argv):
    """``app-db ARGV`` in a real second process, on the project's Database."""
    from conftest import REPO, run_python

    (project.root / "appdb_spec.py").write_text(
        f"from app_db import Database\ndatabase = Database('T', migrations={str(project.migrations)!r}, "
        f"path={str(project.path)!r})\n")
    return run_python(f"import sys; from app_db.cli import main; sys.exit(main({list(argv)!r} + ['--database', "
                      "'appdb_spec:database']))", cwd=project.root, env={"PYTHONPATH": f"{REPO}:{project.root}"})


def test_app_db_squash_writes_the_baseline_and_warns_about_seed_rows(project):
    write_history(project)
    done = run_cli(project, "squash", "--to", "003", "baseline one")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("004_baseline_one.py")
    assert "seed data" in done.stdout and "tag (1)" in done.stdout
    assert (done.stdout + done.stderr).count("seed data") == 1  # said once: not again by the log


def test_status_shows_the_baseline_and_what_it_replaces(project):
    write_history(project)
    project.launch()
    result = squash(project)
    project.launch()
    done = run_cli(project, "status")
    assert done.returncode == 0, done.stderr
    assert "(baseline: replaces 3 migrations)" in done.stdout
    assert done.stdout.count(f"(replaced by baseline {baseline_id(result)})") == 3


def test_app_db_check_fails_naming_the_baseline_file(project):
    write_history(project)
    result = squash(project)
    result.path.write_text(result.path.read_text().replace("CREATE INDEX note_title", "CREATE INDEX note_title2"))
    done = run_cli(project, "check")
    assert done.returncode == 1, done.stderr
    assert "004_baseline_one.py does not build the schema" in done.stdout
    assert "note_title" in done.stdout
    assert "delete this one, then write it again" in done.stdout  # never two baselines at once


SEEDS = {  # rows the app's early migrations inserted: a WITHOUT ROWID table, a trigger calling an app function
    "notes": "INSERT INTO settings VALUES ('seeded.theme', 'light'), ('seeded.locale', 'fr_FR')",
    "notes_fts": "INSERT INTO notes (id, title, body, created_time, updated_time) VALUES ('s1', 'Seed', 'seeded elevens', "
                 "1, 1), ('s2', 'Gone', 'deleted', 1, 1), ('s3', 'Seed', 'more elevens', 1, 1)",  # the FTS rows by trigger
    "notes_gap": "DELETE FROM notes WHERE id = 's2'",  # rowids with a gap: the FTS index is keyed by them
    "library": "INSERT INTO authors (name) VALUES ('The Anonymous'), ('An Other')",
    "references": "INSERT INTO itemTypes (typeName) VALUES ('seeded book'), ('seeded article')",
    "flashcards": "INSERT INTO col (id, crt, mod) VALUES (99, 1600000000, 1600000000)",
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))  # every schema, each with seed rows
def test_squash_of_a_real_world_schema_gives_a_fresh_install_that_works_like_the_originals(project, name):
    schema = SCHEMAS[name]
    ddl = migration_body(schema)
    project.add("001_initial.py", A, ddl)
    project.add("002_more.py", B, "schema.sql('CREATE TABLE later (id INTEGER PRIMARY KEY, x TEXT)')\n"
                                  "schema.sql('CREATE INDEX later_x ON later (x)')\n"
                                  f"schema.sql({SEEDS[name]!r})" + "".join(
                                      f"\nschema.sql({SEEDS[extra]!r})" for extra in SEEDS if extra.startswith(name + "_")))

    def on_connect(db):
        register_functions(db.connection())

    reference = project.root / "reference.sqlite3"
    project.database(path=reference, on_connect=on_connect).register_models([])
    result = squash_migrations(project.database(on_connect=on_connect), B, "baseline")
    assert check_baselines(project.database(on_connect=on_connect)) == []
    assert project.database(on_connect=on_connect).register_models([]).applied == [baseline_id(result)]
    assert "WITHOUT ROWID" in result.path.read_text() or name != "notes"
    for path in (reference, project.path):
        connection = sqlite3.connect(path)
        register_functions(connection)
        schema.fill(connection)
        schema.exercise(connection)
        connection.close()
    squashed, original = sqlite3.connect(project.path), sqlite3.connect(reference)
    table = SEEDS[name].split()[2]
    assert squashed.execute(f"SELECT * FROM {table}").fetchall() == original.execute(f"SELECT * FROM {table}").fetchall()
    for query in schema.searches:
        assert squashed.execute(query).fetchall() == original.execute(query).fetchall()
    master = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'app_db%' ORDER BY name"
    assert squashed.execute(master).fetchall() == original.execute(master).fetchall()


def test_bytecode_only_build_runs_the_baseline_without_importing_the_originals(project):
    from test_shipping import strip_sources, write_manifest

    write_history(project)
    baseline = baseline_id(squash(project))
    write_manifest(project.migrations)
    strip_sources(project.migrations)  # what a frozen app ships: .pyc files and the manifest
    assert not list(project.migrations.glob("*.py"))
    assert project.database().register_models([]).applied == [baseline]
    assert imported(project) == []
    assert project.applied() == sorted([A, B, C, baseline])


def test_a_backup_from_before_the_squash_restores_into_an_app_that_ships_only_the_baseline(project):
    write_history(project)
    project.launch()
    backup = project.database().backup(project.root / "before-squash.sqlite3")
    baseline = baseline_id(squash(project))
    for path in project.migrations.glob("00[123]_*.py"):
        path.unlink()
    project.launch()
    project.database().restore(backup)  # its ids are the baseline's originals, not a newer app's
    assert project.database().register_models([]).recorded == [baseline]
    assert project.rows("SELECT label FROM tag") == [("starred",)]


def test_migrations_given_as_instances_with_a_baseline_make_the_next_launch_a_no_op(project):
    import peewee  # noqa: F401

    from app_db import Migration

    class First(Migration):
        id = A

        def up(self, schema):
            raise AssertionError("replaced by the baseline: must not run")

    class Baseline(Migration):
        id = D
        replaces = [A]  # noqa: RUF012

        def up(self, schema):
            schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY)")

    database = project.database(migrations=[First(), Baseline()])
    assert database.register_models([]).applied == [D]
    assert project.applied() == [A, D]
    assert project.database(migrations=[First(), Baseline()])._is_up_to_date([])


def test_launch_killed_while_recording_a_baseline_leaves_the_file_as_it_was(project):
    """SIGKILL after the baseline is recorded but before COMMIT: nothing of it stays; the next launch records it."""
    import subprocess
    import sys
    import time

    write_history(project)
    project.launch()
    before = project.dump()
    baseline = baseline_id(squash(project))
    marker, block = project.root / "inside", project.root / "block"
    block.touch()
    project.add("005_slow.py", "20990101_000000_slow",  # runs after the baseline is recorded, in the same transaction
                f"import os, time\nopen({str(marker)!r}, 'w').close()\n"
                f"while os.path.exists({str(block)!r}):\n    time.sleep(0.01)")
    child = subprocess.Popen([sys.executable, "-c", (
        "from app_db import Database\n"
        f"Database('T', migrations={str(project.migrations)!r}, path={str(project.path)!r}).register_models([])")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None and time.monotonic() < deadline, "the child never reached the migration"
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    block.unlink()
    assert project.rows("PRAGMA integrity_check") == [("ok",)]
    assert project.dump() == before
    report = project.database().register_models([])
    assert (report.recorded, report.applied) == ([baseline], ["20990101_000000_slow"])


def test_simultaneous_fresh_installs_run_the_baseline_once(project):
    """Three processes start together on no file: one runs the baseline, the others find it done under the lock."""
    import json
    import subprocess
    import sys

    write_history(project)
    baseline = baseline_id(squash(project))
    go = project.root / "go"
    code = (
        "import json, os, time\n"
        "from app_db import Database\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.005)\n"
        f"report = Database('T', migrations={str(project.migrations)!r}, path={str(project.path)!r}).register_models([])\n"
        "print(json.dumps(report.applied))"
    )
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    go.touch()
    results = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], [err for _, err in results]
    applied = sorted(json.loads(out) for out, _ in results)
    assert applied == [[], [], [baseline]]
    assert project.applied() == sorted([A, B, C, baseline])
    assert imported(project) == []


# What SQLite keeps for a virtual table, PRAGMA user_version, and the counts a launch reports -------------------
FTS_UP = "\n".join([
    'schema.sql("CREATE VIRTUAL TABLE help_fts USING fts5(topic, body)")',
    "schema.sql(\"INSERT INTO help_fts(help_fts, rank) VALUES ('rank', 'bm25(10.0, 1.0)')\")",
    "schema.sql(\"INSERT INTO help_fts(topic, body) VALUES ('Export', 'save your notes as markdown')\")",
    "schema.sql(\"CREATE VIRTUAL TABLE tag_idx USING fts5(name, content='')\")",  # contentless: reads back NULLs
    "schema.sql(\"INSERT INTO tag_idx(rowid, name) VALUES (1, 'gardening'), (2, 'recipes')\")",
    'schema.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")',
    "schema.sql(\"INSERT INTO note (id, body) VALUES (7, 'tomatoes need sun')\")",
    "schema.sql(\"CREATE VIRTUAL TABLE note_fts USING fts5(body, content='note', content_rowid='id')\")",
    "schema.sql(\"INSERT INTO note_fts(note_fts) VALUES ('rebuild')\")",
    "schema.sql(\"INSERT INTO note_fts(note_fts, rank) VALUES ('automerge', 2)\")",
    'schema.sql("CREATE VIRTUAL TABLE old_fts USING fts4(body)")',
    "schema.sql(\"INSERT INTO old_fts(body) VALUES ('an fts4 row')\")",
    'schema.sql("PRAGMA user_version = 7")',
])


def test_squash_keeps_fts_indexes_their_config_and_user_version_for_a_fresh_install(project):
    project.add("001_search.py", A, FTS_UP)
    squash(project, to=A)
    fresh = project.root / "fresh.sqlite3"
    assert project.database(path=fresh).register_models([]).applied == [baseline_id_in(project)]
    db = sqlite3.connect(fresh)
    assert db.execute("SELECT rowid FROM tag_idx WHERE tag_idx MATCH 'gardening'").fetchall() == [(1,)]
    assert ("rank", "bm25(10.0, 1.0)") in db.execute("SELECT k, v FROM help_fts_config").fetchall()
    assert ("automerge", 2) in db.execute("SELECT k, v FROM note_fts_config").fetchall()
    assert db.execute("SELECT rowid FROM note_fts WHERE note_fts MATCH 'tomatoes'").fetchall() == [(7,)]
    assert db.execute("SELECT body FROM old_fts WHERE old_fts MATCH 'fts4'").fetchall() == [("an fts4 row",)]
    assert db.execute("PRAGMA user_version").fetchone() == (7,)
    for table in ("help_fts", "tag_idx", "note_fts"):
        db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")  # raises on a damaged index
    assert check_baselines(project.database()) == []


def baseline_id_in(project):
    (path,) = [path for path in project.migrations.glob("*.py") if "replaces = [" in path.read_text()]
    return next(line.split('"')[1] for line in path.read_text().splitlines() if line.startswith("    id = "))


@pytest.mark.parametrize("lost", [
    ("('rank', 'bm25(10.0, 1.0)',),", ""),  # a config row of the FTS5 table
    ("USER_VERSION = 7", "USER_VERSION = 0"),
])
def test_check_fails_a_baseline_that_lost_a_virtual_tables_state_or_the_user_version(project, lost):
    project.add("001_search.py", A, FTS_UP)
    result = squash(project, to=A)
    text = result.path.read_text()
    assert lost[0] in text
    result.path.write_text(text.replace(lost[0], lost[1]))
    (problem,) = check_baselines(project.database())
    assert "help_fts_config" in problem[1] or "user_version" in problem[1]


def test_check_fails_a_baseline_whose_contentless_index_is_emptied(project):
    project.add("001_search.py", A, FTS_UP)
    result = squash(project, to=A)
    lines = result.path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith('    "tag_idx_data"'))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("    ]),"))
    result.path.write_text("".join(lines[: start + 1] + lines[end:]))  # the index's blocks gone
    (problem,) = check_baselines(project.database())
    assert "tag_idx_data" in problem[1]


def test_squash_refuses_a_second_baseline_over_the_same_migrations_naming_the_first(project):
    from app_db import ConfigurationError

    write_history(project)
    squash(project)
    files = sorted(project.migrations.glob("*.py"))
    with pytest.raises(ConfigurationError, match=r"004_baseline_one\.py already replaces 3 of the migrations"):
        squash(project, description="baseline two")
    assert sorted(project.migrations.glob("*.py")) == files  # nothing written


def test_two_baselines_replacing_the_same_migration_are_refused_naming_both_files(project):
    write_history(project)
    first = squash(project)
    text = first.path.read_text().replace(baseline_id(first), "20990101_000000_baseline_two")
    (project.migrations / "005_baseline_two.py").write_text(text)  # written by hand, or by an older app-db
    with pytest.raises(MigrationDefinitionError, match=r"004_baseline_one\.py and .*005_baseline_two\.py"):
        project.database().register_models([])
    assert not project.path.exists() or project.applied() == []
    done = run_cli(project, "check")
    assert done.returncode == 1
    assert "Two baselines replace the same migration" in done.stdout and "005_baseline_two.py" in done.stdout
    assert done.stdout.count("Two baselines replace") == 1  # said once, though the fresh build and the baselines fail


def test_app_db_migrate_counts_what_ran_apart_from_the_baseline_it_only_recorded(project):
    write_history(project, count=1)
    project.launch()
    write_history(project)
    result = squash(project)
    done = run_cli(project, "migrate")
    assert done.returncode == 0, done.stderr
    assert "(1/2)" in done.stdout and "(2/2)" in done.stdout
    assert "Applied 2 migrations" in done.stdout
    assert f"Recorded the baseline {baseline_id(result)} without running it" in done.stdout
    assert "Applied 3" not in done.stdout


def test_a_migration_after_the_baseline_writes_to_its_copied_indexes_in_the_same_transaction(project):
    """The index copied into the shadow tables is the one SQLite uses next: no stale copy of the empty CREATE's."""
    project.add("001_search.py", A, FTS_UP + '\nschema.sql("CREATE VIRTUAL TABLE place USING rtree(id, x0, x1)")'
                "\nschema.sql(\"INSERT INTO place VALUES (1, 0, 5)\")")
    squash(project, to=A)
    project.add("009_more.py", "20991231_000000_more", "\n".join([  # after the baseline, in the same batch
        "schema.sql(\"INSERT INTO help_fts(topic, body) VALUES ('Import', 'read markdown')\")",
        "schema.sql(\"INSERT INTO tag_idx(rowid, name) VALUES (3, 'travel')\")",
        "schema.sql(\"INSERT INTO old_fts(body) VALUES ('a second fts4 row')\")",
        "schema.sql(\"INSERT INTO place VALUES (2, 10, 20)\")",
    ]))
    fresh = project.root / "fresh.sqlite3"
    assert len(project.database(path=fresh).register_models([]).applied) == 2
    db = sqlite3.connect(fresh)
    for table in ("help_fts", "tag_idx", "old_fts"):
        db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    assert db.execute("SELECT topic FROM help_fts WHERE help_fts MATCH 'markdown' ORDER BY rank").fetchall() == [
        ("Import",), ("Export",)]
    assert db.execute("SELECT rowid FROM tag_idx WHERE tag_idx MATCH 'gardening OR travel'").fetchall() == [(1,), (3,)]
    assert db.execute("SELECT count(*) FROM old_fts WHERE old_fts MATCH 'fts4'").fetchone() == (2,)
    assert db.execute("SELECT id FROM place WHERE x1 >= 4 ORDER BY id").fetchall() == [(1,), (2,)]
    assert db.execute("SELECT rtreecheck('place')").fetchone() == ("ok",)


def test_the_demos_headless_launch_says_a_baseline_it_only_recorded_was_not_applied(tmp_path):
    """The demo squashed through its newest migration, on a file that has them all: nothing runs, nothing is 'applied'."""
    import os
    import shutil

    from conftest import REPO, run_python

    checkout = tmp_path / "checkout"  # a copy: squash writes its baseline beside the demo's migrations
    for folder in ("demo_app", "migrations"):
        shutil.copytree(REPO / folder, checkout / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (checkout / "migrations" / "app_db_manifest.py").unlink()  # a baseline not in it would be said out of date
    env = {"PYTHONPATH": f"{checkout}{os.pathsep}{REPO}"}
    path = tmp_path / "notes.sqlite3"
    headless = ("import sys; from pathlib import Path; from demo_app.headless import run_headless; "
                f"sys.exit(run_headless(Path({str(path)!r})))")
    first = run_python(headless, env=env, cwd=tmp_path)  # not the checkout: python -c puts the cwd first
    assert first.returncode == 0 and "Set up a new notebook with 7 migrations" in first.stdout, first.stdout + first.stderr
    squashed = run_python("from demo_app.db import database; from app_db.squash import squash_migrations; "
                          "print(squash_migrations(database, '20241120_093200_require_note_titles', 'baseline').path)",
                          env=env, cwd=tmp_path)
    assert squashed.returncode == 0, squashed.stderr
    again = run_python(headless, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Applied" not in again.stdout
    assert "Recorded " in again.stdout and "Baseline without running it" in again.stdout
    assert (checkout / "migrations" / "008_baseline.py").exists() and not (REPO / "migrations" / "008_baseline.py").exists()
