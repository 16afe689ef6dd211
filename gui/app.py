"""Start the desktop application: ``run_app(argv)`` is what ``main.py`` calls.

The window is shown first and TensorFlow is imported afterwards in a background thread
(:mod:`gui.tf_loader`), so the window appears in about a second instead of after the
several seconds ``import tensorflow`` takes; Train is enabled once the import is done.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QWindow
from PySide6.QtWidgets import QApplication

from gui import tf_loader
from gui.dialogs import APPLICATION, ORGANIZATION
from gui.main_window import MainWindow
from model import quiet

EXIT_IMPORT_WAIT_S: Final = 30.0
"""At exit, how long to let an unfinished TensorFlow import end (an import cannot be cut)."""


def create_app(argv: list[str]) -> QApplication:
    """The ``QApplication``, named so that ``QSettings`` finds the user's settings."""
    # TensorFlow's start-up chatter is not for the user (main.py has done this already,
    # before anything could import TensorFlow; this is for other ways in).
    quiet.configure(quiet.is_verbose())
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Gradient Lab")
    return app


class _AfterFirstExpose(QObject):
    """Calls ``callback`` once, in the event loop, after ``window`` is first on screen."""

    def __init__(self, window: QWindow, callback: Callable[[], None]) -> None:
        super().__init__(window)
        self._callback = callback
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Expose and isinstance(watched, QWindow) and watched.isExposed():
            watched.removeEventFilter(self)
            # The expose event paints the window; start once that has happened.
            QTimer.singleShot(0, self._callback)
        return False


def show_window(settings: QSettings | None = None) -> MainWindow:
    """Create and show the main window; load TensorFlow and the data counts once it is drawn.

    The background import holds Python's GIL for much of its work, so starting it before
    the first paint would delay the window by as much.
    """
    window = MainWindow(settings)
    window.show()
    handle = window.windowHandle()
    if handle is not None and not handle.isExposed():
        _AfterFirstExpose(handle, window.start_loading)
    else:
        QTimer.singleShot(0, window.start_loading)
    return window


def run_app(argv: list[str]) -> int:
    """Run Gradient Lab until its window closes; the process exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(argv)
    window = show_window()
    # Ctrl+C in the terminal closes the window the normal way (stopping a run first). Qt's
    # loop never runs Python code on its own, so a timer lets the signal handler run.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    code = app.exec()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # A daemon thread still inside `import tensorflow` can crash the interpreter's shutdown.
    if not tf_loader.wait(EXIT_IMPORT_WAIT_S):
        print("Gradient Lab: TensorFlow was still loading at exit.", file=sys.stderr)
    return code
