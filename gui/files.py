"""File handling for the window that needs Qt: the autosave folder and the recent-files list.

Everything about the run folder itself (what is one, saving it staged, reading it back,
the autosave's status) lives in :mod:`model.runfolder`, which the command line shares.
Nothing here shows a widget.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from PySide6.QtCore import QStandardPaths

RECENT_LIMIT: Final = 8


def default_autosave_dir() -> Path:
    """``<app data>/autosave/current``: where every run is checkpointed while it trains."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".gradient-lab") / "autosave" / "current"


# ------------------------------------------------------------------ recent files


def updated_recent(entries: Sequence[str], path: Path, limit: int = RECENT_LIMIT) -> list[str]:
    """``entries`` with ``path`` moved (or added) to the front, at most ``limit`` long."""
    key = str(path.resolve())
    return [key, *[e for e in entries if e != key]][:limit]


def recent_from_setting(value: object) -> list[str]:
    """The recent-files list as QSettings gives it back (a list, a string, or nothing)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str) and v]
    return []


# ------------------------------------------------------------------ resuming


class WeightsOnly:
    """Stands in for a saved model when resuming: only its weights, read in the GUI thread.

    The loaded model keeps answering the canvas in the GUI thread while the run's thread
    starts; Keras is not thread-safe, so the run gets a copy of the weights, not the model.
    """

    def __init__(self, weights: list[np.ndarray]) -> None:
        self._weights = weights

    def get_weights(self) -> list[np.ndarray]:
        return self._weights
