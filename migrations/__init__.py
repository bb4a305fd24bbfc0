"""The notes demo's schema history, one file per change, oldest first.

Installed as ``demo_app.migrations`` (see pyproject.toml), never as a
top-level ``migrations`` package that could clash with a user's own. These
files are frozen history: they use plain peewee fields and SQL, never the
app's live models, so a later change to the models cannot rewrite the past.
"""
