"""A Qt (PySide6) splash while a worker thread migrates: the worker's signals reach the widgets on Qt's thread.

Qt's widgets are used from the main thread only, and each thread has its own Database: the worker migrates with
a configured() copy (the splash's callbacks are this launch's only) and closes it, then the main thread's
register_models() finds nothing pending and binds the models there. open_database(database, models) needs a
QApplication and returns the LaunchReport, or None when the user closed the splash (the worker's keep_alive then
raises, which stops the update and rolls it back). Any other error the worker met is raised here, on the main
thread, after the splash is gone.
"""

import threading

from PySide6.QtCore import QEventLoop, QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from app_db import CallbackError


class UpdateCancelled(Exception):
    """The user closed the splash; raised from keep_alive in the worker, it stops and rolls back the update."""


class Update(QObject):
    """The worker's side: runs the migration and reports through signals (queued to the main thread)."""

    progress = Signal(int, int, str)
    finished = Signal(object, object)  # the LaunchReport or None, the error or None

    def __init__(self, database, models):
        super().__init__()
        self.database, self.models = database, models
        self.cancelled = threading.Event()

    def keep_alive(self):  # runs in the worker, inside SQLite's progress handler: no widgets, no database here
        if self.cancelled.is_set():
            raise UpdateCancelled()

    def run(self):
        update = self.database.configured(
            on_progress=lambda index, total, migration: self.progress.emit(index, total, migration.name),
            keep_alive=self.keep_alive,
        )
        try:
            self.finished.emit(update.register_models(self.models), None)
        except BaseException as error:  # handed to the main thread, which raises it
            self.finished.emit(None, error)
        finally:
            update.close()  # its connection belongs to this thread


class Splash(QWidget):
    def __init__(self, update):
        super().__init__()
        self.setWindowTitle("Updating")
        self.update_job = update
        self.label = QLabel("Updating your data...")
        self.bar = QProgressBar()
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        update.progress.connect(self.show_progress, Qt.ConnectionType.QueuedConnection)

    def show_progress(self, index, total, name):
        self.label.setText(f"Updating your data ({index} of {total}): {name}")
        self.bar.setRange(0, total)
        self.bar.setValue(index - 1)

    def closeEvent(self, event):  # the user closed the window: stop the worker at its next keep_alive
        self.update_job.cancelled.set()
        event.ignore()  # the splash goes once the worker has rolled back


def open_database(database, models):
    if not database.pending():
        return database.register_models(models)  # the usual launch: no window, no thread

    update = Update(database, models)
    splash = Splash(update)
    loop = QEventLoop()
    outcome = {}

    def finish(report, error):
        outcome.update(report=report, error=error)
        loop.quit()

    update.finished.connect(finish, Qt.ConnectionType.QueuedConnection)
    splash.show()
    worker = threading.Thread(target=update.run, name="app_db update", daemon=True)
    worker.start()
    loop.exec()
    worker.join()
    splash.hide()
    splash.deleteLater()
    error = outcome["error"]
    if isinstance(error, CallbackError) and isinstance(error.__cause__, UpdateCancelled):
        return None  # closed by the user: nothing was changed
    if error is not None:
        raise error
    database.register_models(models)  # on this thread: nothing pending now, binds the models here
    return outcome["report"]
