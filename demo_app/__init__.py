"""AppDbNotes: a small Tkinter notes app that shows app_db's whole launch flow.

Run it with ``python -m demo_app`` (or ``--headless`` where there is no display).
"""
