"""Reading a run folder back: the one place that knows how each file is read.

:func:`load_run` reads what :func:`~model.runfolder.save.save_run` (or the autosave)
wrote, including folders written before a file gained a column or a key, and checks every
file before anything is returned: a damaged file raises
:class:`~model.errors.ModelFileError` naming the file and the problem, whatever is in it
(a named pipe, a file of gigabytes, numbers of thousands of digits, a header claiming
terabytes). Temporary files that a killed save left inside the folder are removed, unless
another run is writing the folder now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np

from model.batches import BatchHistory
from model.config import load_config
from model.errors import ModelFileError, ProjectError
from model.events import EpochRecord
from model.fileio import remove_leftovers
from model.reading import JsonError, is_regular_file, loads_json, os_error_reason, read_capped
from model.results import SavedRun
from model.runfolder.batches import read_batches
from model.runfolder.confusion import read_confusion, with_confusion
from model.runfolder.history import estimate_steps_per_epoch, read_history_csv
from model.runfolder.layout import (
    BATCHES_FILE,
    CONFIG_FILE,
    CONFUSION_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    STATE_FILE,
    is_claimed,
)
from model.runfolder.metrics import data_from_metrics, diverged_from_metrics, steps_from_metrics
from model.runfolder.state import load_training_state

MAX_HISTORY_BYTES: Final = 64 * 1024 * 1024  # 100,000 epochs of 100 layers
MAX_METRICS_BYTES: Final = 16 * 1024 * 1024


def _read_text(path: Path, limit: int, label: str) -> str:
    try:
        return read_capped(path, limit).decode("utf-8")
    except OSError as exc:
        raise ModelFileError(f"{label}: {os_error_reason(exc)}") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{label}: is not UTF-8 text; the file is damaged") from None


def weights_are_finite(model: Any) -> bool:
    """Whether every weight of ``model`` is a finite number (a diverged run's are not)."""
    return all(bool(np.all(np.isfinite(w))) for w in model.get_weights())


def load_history(folder: Path) -> tuple[list[EpochRecord], tuple[str, ...]]:
    """A run folder's epoch history (with its confusion timeline) and layer names, without
    loading its model: empty when the folder has no ``history.csv``.

    Raises:
        ModelFileError: naming the damaged file.
    """
    history: list[EpochRecord] = []
    names: tuple[str, ...] = ()
    if is_regular_file(folder / HISTORY_FILE):
        label = f"{folder.name}/{HISTORY_FILE}"
        history, names = read_history_csv(_read_text(folder / HISTORY_FILE, MAX_HISTORY_BYTES, label), label)
    if is_regular_file(folder / CONFUSION_FILE):
        history = with_confusion(history, read_confusion(folder / CONFUSION_FILE, f"{folder.name}/{CONFUSION_FILE}"))
    return history, names


def load_batches(folder: Path, layer_names: tuple[str, ...] | None = None) -> BatchHistory | None:
    """A run folder's batch history (``batches.npz``), ``None`` for folders without one.

    Args:
        layer_names: the layers of the folder's ``history.csv``, when it has one: a batch
            history of other layers is refused.

    Raises:
        ModelFileError: naming the damaged file.
    """
    if not is_regular_file(folder / BATCHES_FILE):
        return None
    batches = read_batches(folder / BATCHES_FILE, f"{folder.name}/{BATCHES_FILE}")
    if layer_names is not None and batches.layer_names != layer_names:
        raise ModelFileError(
            f"{folder.name}/{BATCHES_FILE}: its layers ({', '.join(batches.layer_names[:3])}) are not those of "
            f"{HISTORY_FILE}; remove it to open the run without its batch curves"
        )
    return batches


def load_run(folder: str | Path) -> SavedRun:
    """Read a run folder written by :func:`~model.runfolder.save.save_run` (or an autosave).

    Raises:
        ModelFileError: naming the damaged or missing file.
    """
    from model.modelio import load_model_safe

    folder = Path(folder)
    try:
        is_folder = folder.is_dir()
    except (OSError, ValueError):
        is_folder = False
    if not is_folder:
        raise ModelFileError(f"{folder}: not a run folder; open a folder holding {MODEL_FILE} and {CONFIG_FILE}")
    if not is_claimed(folder):
        remove_leftovers(folder)
    try:
        config = load_config(folder / CONFIG_FILE)
    except ProjectError as exc:
        raise ModelFileError(f"{folder.name}/{CONFIG_FILE}: {exc}") from None
    model = load_model_safe(folder / MODEL_FILE)
    history, names = load_history(folder)
    batches = load_batches(folder, names if history else None)
    metrics: dict[str, Any] = {}
    if is_regular_file(folder / METRICS_FILE):
        label = f"{folder.name}/{METRICS_FILE}"
        try:
            loaded = loads_json(_read_text(folder / METRICS_FILE, MAX_METRICS_BYTES, label))
        except JsonError as exc:
            raise ModelFileError(f"{label}: not valid JSON ({exc})") from None
        metrics = loaded if isinstance(loaded, dict) else {}
    state: dict[str, np.ndarray] = {}
    if is_regular_file(folder / STATE_FILE):
        state, epochs_done = load_training_state(folder / STATE_FILE)
        if epochs_done != len(history):
            state = {}  # from another point of the run than the history: not safe to resume with
    steps = steps_from_metrics(metrics) or estimate_steps_per_epoch(history, config.batch_size)
    return SavedRun(
        folder=folder,
        config=config,
        model=model,
        history=history,
        layer_names=names,
        metrics=metrics,
        optimizer_state=state,
        steps_per_epoch=steps,
        data=data_from_metrics(metrics),
        diverged=diverged_from_metrics(metrics) or not weights_are_finite(model),
        batches=batches,
    )
