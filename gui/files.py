"""The file locations that need Qt: where the window autosaves its runs, the user's handwriting, comparisons.

Everything about the run folder itself (what is one, saving it staged, reading it back,
the autosave's status) lives in :mod:`model.runfolder`, which the command line shares; the
recent-files list lives in :mod:`model.session.document`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def default_autosave_dir() -> Path:
    """``<app data>/autosave/current``: where every run is checkpointed while it trains."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".gradient-lab") / "autosave" / "current"


def default_handwriting_dir() -> Path:
    """``<app data>/handwriting``, beside the autosave folder: the user's labelled drawings."""
    return default_autosave_dir().parent.parent / "handwriting"


def recent_label(entry: str) -> str:
    """How Open Recent shows a path: its name, then its folder (``~`` for home), so two
    ``run.json`` files in different folders can be told apart."""
    path = Path(entry)
    folder = str(path.parent)
    home = str(Path.home())
    if folder == home or folder.startswith(home + "/"):
        folder = "~" + folder[len(home):]
    return f"{path.name or entry}  —  {folder}".replace("&", "&&")  # not a mnemonic


def default_comparisons_dir() -> Path:
    """``<app data>/comparisons``: one folder per comparison the Compare tab runs."""
    return default_autosave_dir().parent.parent / "comparisons"
