"""README's "Environments" table and app_db/policy.py say the same thing, cell by cell."""

from __future__ import annotations

from app_db.policy import POLICIES

from conftest import REPO


def read_environments_table() -> dict:
    """{environment: {column: cell}} from the first table under README's "## Environments"."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Environments\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        if not row.startswith("| `"):
            break
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[cells[0].strip("`")] = dict(zip(header[1:], cells[1:]))
    return table


# What each README wording means, in the policy's terms.
FILE_WORDS = {"per-user": "the per-user file", "dev-file": "a separate file beside it", "memory": "`:memory:`"}
CHANGED_WORDS = {"warn": "warning", "refuse": "`MigrationDefinitionError`", "ignore": "not checked"}


def test_readme_environments_table_is_the_policy_table():
    table = read_environments_table()
    assert sorted(table) == sorted(POLICIES)
    for name, policy in POLICIES.items():
        row = table[name]
        assert row["file"].startswith(FILE_WORDS[policy.file]), (name, row["file"])
        assert (row["backups"] != "none") == policy.backups, (name, row["backups"])
        assert row["changed applied migration"].startswith(CHANGED_WORDS[policy.changed]), name
        assert ("SchemaDriftError" in row["model drift"]) == policy.drift, (name, row["model drift"])
        assert (row["model drift"] == "not checked") == (not policy.drift), name


def test_every_environment_has_a_policy_and_database_reads_it(project):
    for name, policy in POLICIES.items():
        assert project.database(env=name).policy is policy


def test_database_asks_its_policy_and_never_compares_environment_names():
    source = (REPO / "app_db" / "database.py").read_text(encoding="utf-8")
    for name in POLICIES:
        assert f'"{name}"' not in source, f"database.py names the {name} environment; ask self.policy instead"
