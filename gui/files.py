"""File handling for the window, kept apart from its widgets so it can be tested alone.

What kind of thing a path is (configuration, run folder, Keras model), the recent-files
list, the autosave folder and what it says about an interrupted run, and saving a run
folder so that a failed save never leaves a half-written folder behind: the new folder
is written beside the old one and swapped in only once it is complete.

Nothing here shows a widget; the window turns the :class:`~model.errors.ProjectError`
raised here into a message for the user.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from PySide6.QtCore import QStandardPaths

from model.errors import ProjectError
from model.events import EpochRecord

RECENT_LIMIT: Final = 8
CONFIG_SUFFIXES: Final = (".json",)
MODEL_SUFFIXES: Final = (".keras", ".h5", ".hdf5")
# What makes a folder a run folder (model.runio's file names; not imported: it loads numpy only).
RUN_FOLDER_FILES: Final = ("model.keras", "config.json")
RUN_FOLDER_EXTRAS: Final = (
    "history.csv",
    "metrics.json",
    "training_state.npz",
    "best.keras",
    "autosave.json",
)
AUTOSAVE_FILE: Final = "autosave.json"  # model.callbacks.AUTOSAVE_FILE, which imports Keras


def default_autosave_dir() -> Path:
    """``<app data>/autosave/current``: where every run is checkpointed while it trains."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".gradient-lab") / "autosave" / "current"


def path_kind(path: Path) -> str:
    """``run`` (a folder), ``model`` (.keras / .h5) or ``config`` (anything else: JSON is tried)."""
    if path.is_dir():
        return "run"
    if path.suffix.lower() in MODEL_SUFFIXES:
        return "model"
    return "config"


def is_run_folder(folder: Path) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in RUN_FOLDER_FILES)


def check_run_folder_target(folder: Path) -> bool:
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
        allowed = set(RUN_FOLDER_FILES) | set(RUN_FOLDER_EXTRAS)
        others = sorted(p.name for p in folder.iterdir() if p.name not in allowed)
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
    saved) leaves ``target`` exactly as it was. The swap is two renames in the same
    parent folder; the old folder is deleted only after the new one is in place.

    Raises:
        ProjectError: saying what failed; ``target`` is unchanged.
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
    """Copy a run folder's files (not anything else in it) into ``destination``."""
    for name in (*RUN_FOLDER_FILES, *RUN_FOLDER_EXTRAS):
        if name in ("autosave.json", "best.keras"):
            continue  # autosave bookkeeping; a saved run does not need it
        if (source / name).is_file():
            shutil.copy2(source / name, destination / name)


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


# ------------------------------------------------------------------ autosave


@dataclass(frozen=True)
class AutosaveInfo:
    """What ``autosave.json`` says about the last autosaved run."""

    status: str  # running | finished
    epochs_done: int
    epochs: int
    best_epoch: int | None  # 1-based, as written

    @property
    def interrupted(self) -> bool:
        """The app ended (killed, crashed) while the run was still training."""
        return self.status == "running"

    def question(self) -> str:
        best = f" (best epoch {self.best_epoch})" if self.best_epoch is not None else ""
        return f"A run was interrupted after epoch {self.epochs_done} of {self.epochs}{best}. Open it?"


def read_autosave(folder: Path) -> AutosaveInfo | None:
    """The autosave status in ``folder``, or ``None`` when there is none (or it is unreadable)."""
    try:
        raw = json.loads((folder / AUTOSAVE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    status, done, total, best = raw.get("status"), raw.get("epochs_done"), raw.get("epochs"), raw.get("best_epoch")
    if status not in ("running", "finished") or not isinstance(done, int) or not isinstance(total, int):
        return None
    return AutosaveInfo(status, done, total, best if isinstance(best, int) else None)


def remove_folder(folder: Path) -> None:
    """Delete ``folder`` and what is in it; a folder that is not there is fine."""
    shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ showing a saved run


def estimate_steps_per_epoch(history: Sequence[EpochRecord], batch_size: int | str) -> int:
    """Batches per epoch of a saved history that does not say (samples = rate x time)."""
    full = [r for r in history if "partial epoch" not in r.note and r.seconds > 0]
    if not full:
        return 1
    samples = max(1, round(full[0].samples_per_second * full[0].seconds))
    if batch_size == "full":
        return 1
    return max(1, math.ceil(samples / int(batch_size)))


def evaluation_from_metrics(metrics: dict[str, Any]) -> Any | None:
    """An :class:`~model.evaluation.Evaluation` for the results table, from ``metrics.json``.

    The per-sample labels and probabilities are not saved, so they are empty: the table
    and the summary are right, the misclassified test images are not known.
    """
    try:
        per_class = metrics["per_class"]
        confusion = np.asarray(metrics["confusion_matrix"], dtype=np.int64)
        accuracy = float(metrics["test_accuracy"])
        loss = float(metrics["test_loss"])
        names = tuple(str(c["class"]) for c in per_class)
        precision = np.array([float(c["precision"]) for c in per_class])
        recall = np.array([float(c["recall"]) for c in per_class])
        class_accuracy = np.array([float(c["accuracy"]) for c in per_class])
    except (KeyError, TypeError, ValueError):
        return None
    if confusion.shape != (len(names), len(names)):
        return None
    from model.evaluation import Evaluation

    return Evaluation(
        loss=loss,
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        class_accuracy=class_accuracy,
        confusion=confusion,
        class_names=names,
        y_true=np.zeros(0, dtype=np.int64),
        probabilities=np.zeros((0, len(names)), dtype=np.float32),
    )


class WeightsOnly:
    """Stands in for a saved model when resuming: only its weights, read in the GUI thread.

    The loaded model keeps answering the canvas in the GUI thread while the run's thread
    starts; Keras is not thread-safe, so the run gets a copy of the weights, not the model.
    """

    def __init__(self, weights: list[np.ndarray]) -> None:
        self._weights = weights

    def get_weights(self) -> list[np.ndarray]:
        return self._weights
