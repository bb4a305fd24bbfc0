"""A Tk splash while app_db migrates, on the main thread: keep_alive repaints it between SQLite's steps.

open_database(database, models) migrates with a configured() copy of the module-level database (the splash's
callbacks are this launch's only), closes it, and binds the models through ``database`` itself (nothing is
pending by then: two reads). It returns the copy's LaunchReport, or None when the user closed the splash (the
update was rolled back and the file is as it was: quit, and the next start tries again). Any other AppDbError is
raised after the splash is gone, for the app's own error dialog.
"""

import tkinter as tk
from tkinter import ttk

from app_db import CallbackError


class UpdateCancelled(Exception):
    """The user closed the splash; raised from keep_alive, it stops and rolls back the update."""


def open_database(database, models):
    if not database.pending():
        return database.register_models(models)  # the usual launch: no window at all

    root = tk.Tk()
    root.title("Updating")
    label = ttk.Label(root, text="Updating your data...", padding=16)
    label.pack()
    bar = ttk.Progressbar(root, length=320, mode="determinate")
    bar.pack(padx=16, pady=(0, 16))
    closed = []
    root.protocol("WM_DELETE_WINDOW", lambda: closed.append(True))

    def on_progress(index, total, migration):
        label["text"] = f"Updating your data ({index} of {total}): {migration.name}"
        bar["maximum"], bar["value"] = total, index - 1
        keep_alive()

    def keep_alive():  # app_db calls it about every 0.1 s; it must not use the database
        root.update()  # repaint and handle events (the close button only sets `closed`)
        if closed:
            raise UpdateCancelled()

    update = database.configured(on_progress=on_progress, keep_alive=keep_alive)
    try:
        report = update.register_models(models)
    except CallbackError:
        return None  # closed by the user: nothing was changed
    finally:
        update.close()
        try:
            root.destroy()
        except tk.TclError:
            pass  # already destroyed
    database.register_models(models)  # nothing pending now: binds the models to the app's own database
    return report
