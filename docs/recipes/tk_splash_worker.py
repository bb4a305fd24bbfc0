"""A Tk splash while a worker thread migrates: the worker posts to a queue, and after() reads it on Tk's thread.

Tk is used from the main thread only, and each thread has its own Database: the worker migrates with a
configured() copy (the splash's callbacks are this launch's only) and closes it, then the main thread's
register_models() finds nothing pending and binds the models there. open_database(database, models) returns the LaunchReport, or None when the user closed the splash
(the worker's keep_alive then raises, which stops the update and rolls it back). Any other error the worker met
is raised here, on the main thread, after the splash is gone.
"""

import queue
import threading
import tkinter as tk
from tkinter import ttk

from app_db import CallbackError


class UpdateCancelled(Exception):
    """The user closed the splash; raised from keep_alive in the worker, it stops and rolls back the update."""


def open_database(database, models):
    if not database.pending():
        return database.register_models(models)  # the usual launch: no window, no thread

    root = tk.Tk()
    root.title("Updating")
    label = ttk.Label(root, text="Updating your data...", padding=16)
    label.pack()
    bar = ttk.Progressbar(root, length=320, mode="determinate")
    bar.pack(padx=16, pady=(0, 16))
    messages = queue.Queue()
    cancelled = threading.Event()
    root.protocol("WM_DELETE_WINDOW", cancelled.set)  # the worker stops at its next keep_alive
    outcome = {}

    def keep_alive():  # runs in the worker, inside SQLite's progress handler: no Tk, no database here
        if cancelled.is_set():
            raise UpdateCancelled()

    def migrate():
        update = database.configured(
            on_progress=lambda index, total, migration: messages.put((index, total, migration.name)),
            keep_alive=keep_alive,
        )
        try:
            outcome["report"] = update.register_models(models)
        except BaseException as error:  # handed to the main thread, which raises it
            outcome["error"] = error
        finally:
            update.close()  # its connection belongs to this thread
            messages.put(None)

    def poll():
        while True:
            try:
                message = messages.get_nowait()
            except queue.Empty:
                root.after(50, poll)
                return
            if message is None:
                root.quit()
                return
            index, total, name = message
            label["text"] = f"Updating your data ({index} of {total}): {name}"
            bar["maximum"], bar["value"] = total, index - 1

    worker = threading.Thread(target=migrate, name="app_db update", daemon=True)
    worker.start()
    root.after(50, poll)
    root.mainloop()
    worker.join()
    root.destroy()
    error = outcome.get("error")
    if isinstance(error, CallbackError) and isinstance(error.__cause__, UpdateCancelled):
        return None  # closed by the user: nothing was changed
    if error is not None:
        raise error
    database.register_models(models)  # on this thread: nothing pending now, binds the models here
    return outcome["report"]
