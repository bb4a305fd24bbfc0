"""The reliability suite: each fault a launch can meet, repeated on real files by real processes.

Every scenario ends with PRAGMA integrity_check = ok, an empty
PRAGMA foreign_key_check, the database equal row for row to the state before
the batch or the state after it (never between), and a normal launch that
completes.

    python -m pytest tests/stress              # the CI scale (also part of the normal suite)
    APP_DB_STRESS=full python -m pytest tests/stress
    python -m tests.stress --full              # every scenario, then the README's Markdown table
"""
