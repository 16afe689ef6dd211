"""The run folder's files, what counts as one, and how a whole folder is replaced safely.

A run folder holds:

``model.keras``
    the plain inference model; loads with ``keras.saving.load_model(safe_mode=True)``
    in any Python with Keras, without this project.
``config.json``
    the :class:`~model.config.RunConfig` that produced it.
``history.csv``
    one row per epoch (:mod:`model.runfolder.history`).
``metrics.json``
    test figures, how the run ended, the data, and what is needed to reproduce it
    (:mod:`model.runfolder.metrics`).
``training_state.npz``
    the optimizer's state, so training can be resumed (:mod:`model.runfolder.state`).
``best.keras``, ``autosave.json``
    only in the autosave folder: the best model so far and how far the run got
    (:mod:`model.runfolder.autosave`).

A folder with ``model.keras`` and ``config.json`` is a run folder. Saving replaces a
whole folder at once (:func:`replace_folder`), so a folder on disk always holds one
consistent run, and a save that fails half-way leaves the previous run as it was.

The window imports this module at start-up: it imports nothing heavier than the
standard library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from model.errors import ProjectError

MODEL_FILE: Final = "model.keras"
CONFIG_FILE: Final = "config.json"
HISTORY_FILE: Final = "history.csv"
METRICS_FILE: Final = "metrics.json"
STATE_FILE: Final = "training_state.npz"
BEST_MODEL_FILE: Final = "best.keras"
AUTOSAVE_FILE: Final = "autosave.json"

# What makes a folder a run folder.
REQUIRED_FILES: Final = (MODEL_FILE, CONFIG_FILE)
# What a saved run holds (a copy of a run takes these, and only these).
SAVED_RUN_FILES: Final = (MODEL_FILE, CONFIG_FILE, HISTORY_FILE, METRICS_FILE, STATE_FILE)
# Everything a run folder may hold: the saved run's files and the autosave's bookkeeping.
RUN_FOLDER_FILES: Final = frozenset({*SAVED_RUN_FILES, BEST_MODEL_FILE, AUTOSAVE_FILE})

MODEL_SUFFIXES: Final = (".keras", ".h5", ".hdf5")

PathKind = Literal["run", "model", "config"]


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its model and configuration, at least)."""
    return folder.is_dir() and all((folder / name).is_file() for name in REQUIRED_FILES)


def path_kind(path: Path) -> PathKind:
    """``run`` (a folder), ``model`` (.keras / .h5) or ``config`` (anything else: JSON is tried)."""
    if path.is_dir():
        return "run"
    if path.suffix.lower() in MODEL_SUFFIXES:
        return "model"
    return "config"


def check_target(folder: Path) -> bool:
    """Whether saving a run into ``folder`` replaces an existing run (``True``) or fills a new one.

    Raises:
        ProjectError: ``folder`` is a file, or a folder holding something other than a run:
            saving there would mix the run with, or replace, the user's other files.
    """
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise ProjectError(f"{folder} is a file; choose a folder (a new or empty one) for the run")
    if is_run_folder(folder):
        others = sorted(p.name for p in folder.iterdir() if p.name not in RUN_FOLDER_FILES)
        if others:
            raise ProjectError(
                f"{folder} holds a run and other files ({', '.join(others[:3])}); "
                "choose a new or empty folder so nothing else is replaced"
            )
        return True
    if any(folder.iterdir()):
        raise ProjectError(
            f"{folder} is not empty and is not a run folder; choose a new or empty folder "
            "so that none of its files are replaced"
        )
    return False


def replace_folder(target: Path, fill: Callable[[Path], None]) -> None:
    """Write a folder with ``fill(staging)`` beside ``target``, then swap it in.

    A failure while filling (a full disk, a read-only folder, a model that cannot be
    saved) leaves ``target`` exactly as it was, and the staging folder is removed. The
    swap is two renames in the same parent folder; the old folder is deleted only after
    the new one is in place.

    Raises:
        ProjectError: saying what failed; ``target`` is unchanged. Whatever ``fill``
            raises other than ``OSError`` passes through as it is.
    """
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".saving", dir=parent))
    except OSError as exc:
        raise ProjectError(f"cannot write into {parent}: {exc.strerror or exc}; choose another folder") from None
    old: Path | None = None
    try:
        fill(staging)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except OSError:
                os.rename(old, target)
                old = None
                raise
        else:
            os.rename(staging, target)
    except OSError as exc:
        raise ProjectError(
            f"cannot save to {target}: {exc.strerror or exc}; the previous contents are unchanged"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            if staging.exists():
                shutil.rmtree(staging)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def copy_run_files(source: Path, destination: Path) -> None:
    """Copy a run folder's saved-run files (not the autosave's bookkeeping, nor anything else)."""
    for name in SAVED_RUN_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, destination / name)


def remove_folder(folder: Path) -> None:
    """Delete ``folder`` and what is in it; a folder that is not there is fine."""
    shutil.rmtree(folder, ignore_errors=True)
