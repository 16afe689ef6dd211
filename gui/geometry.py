"""Where the main window was and how its splitters were set, remembered between sessions.

Kept apart from :mod:`gui.main_window` so the window stays composition. The window's
geometry and its splitters' states go to the ``QSettings`` the window was given (tests
pass their own); a first start, or a state that does not restore, gets 1440x900.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QSplitter, QWidget

DEFAULT_SIZE = (1440, 900)


def restore(window: QWidget, settings: QSettings, splitters: Sequence[QSplitter]) -> None:
    """Put ``window`` and its ``splitters`` back as :func:`save` left them."""
    geometry = settings.value("geometry")
    if isinstance(geometry, QByteArray) and window.restoreGeometry(geometry):
        states = settings.value("splitters")
        if isinstance(states, list) and len(states) == len(splitters):
            for splitter, state in zip(splitters, states, strict=True):
                splitter.restoreState(QByteArray(state))
    else:
        window.resize(*DEFAULT_SIZE)


def save(window: QWidget, settings: QSettings, splitters: Sequence[QSplitter]) -> None:
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("splitters", [splitter.saveState() for splitter in splitters])
    settings.sync()
