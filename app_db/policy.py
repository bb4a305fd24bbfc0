"""Policy: what each environment does, as data: README's "Environments" table, one row per object.

Database asks its policy (resolved once per Database) instead of comparing
environment names; tests/test_policy.py reads README's table and compares
it with POLICIES cell by cell, so the two cannot drift apart.
"""

from __future__ import annotations

__all__ = ["POLICIES", "Policy", "policy_for"]


class Policy:
    """One environment's rules: where its file is, whether it backs up, how it treats changes and drift."""

    __slots__ = ("backups", "changed", "drift", "file", "name")

    def __init__(self, name: str, *, file: str, backups: bool, changed: str, drift: bool) -> None:
        self.name = name
        self.file = file  # "per-user", "dev-file" (beside it, -dev), "memory" (unless a path is given)
        self.backups = backups  # a pre-update (and before-rollback) backup of a file that has tables
        self.changed = changed  # an applied migration whose source changed: "warn", "refuse" or "ignore"
        self.drift = drift  # compare models with the schema after every launch (SchemaDriftError)

    @property
    def checks_every_launch(self) -> bool:
        """Whether even a launch with nothing pending reads every migration (for changes) and the schema (drift).

        Such an environment skips the no-op fast path, which trusts the
        tracking table's file names.
        """
        return self.changed == "refuse" or self.drift

    def __repr__(self) -> str:
        return (
            f"Policy({self.name!r}, file={self.file!r}, backups={self.backups}, "
            f"changed={self.changed!r}, drift={self.drift})"
        )


POLICIES = {
    "production": Policy("production", file="per-user", backups=True, changed="warn", drift=False),
    "development": Policy("development", file="dev-file", backups=False, changed="refuse", drift=True),
    "test": Policy("test", file="memory", backups=False, changed="ignore", drift=False),
}


def policy_for(env: str) -> Policy:
    """The policy of ``env``, a name resolve_environment already checked."""
    return POLICIES[env]
