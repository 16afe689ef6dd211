"""Reading a run folder back: the one place that knows how each file is read.

:func:`load_run` reads what :func:`~model.runfolder.save.save_run` (or the autosave)
wrote, including folders written before a file gained a column or a key, and checks every
file before anything is returned: a damaged file raises
:class:`~model.errors.ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from model.config import load_config
from model.errors import ModelFileError, ProjectError
from model.events import EpochRecord
from model.results import SavedRun
from model.runfolder.history import estimate_steps_per_epoch, read_history_csv
from model.runfolder.layout import CONFIG_FILE, HISTORY_FILE, METRICS_FILE, MODEL_FILE, STATE_FILE
from model.runfolder.metrics import data_from_metrics, steps_from_metrics
from model.runfolder.state import load_training_state


def load_run(folder: str | Path) -> SavedRun:
    """Read a run folder written by :func:`~model.runfolder.save.save_run` (or an autosave).

    Raises:
        ModelFileError: naming the damaged or missing file.
    """
    from model.modelio import load_model_safe

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: not a run folder; open a folder holding {MODEL_FILE} and {CONFIG_FILE}")
    try:
        config = load_config(folder / CONFIG_FILE)
    except ProjectError as exc:
        raise ModelFileError(f"{folder.name}/{CONFIG_FILE}: {exc}") from None
    model = load_model_safe(folder / MODEL_FILE)
    history: list[EpochRecord] = []
    names: tuple[str, ...] = ()
    if (folder / HISTORY_FILE).is_file():
        try:
            text = (folder / HISTORY_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"{folder.name}/{HISTORY_FILE}: cannot be read ({exc})") from None
        history, names = read_history_csv(text, f"{folder.name}/{HISTORY_FILE}")
    metrics: dict[str, Any] = {}
    if (folder / METRICS_FILE).is_file():
        try:
            loaded = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ModelFileError(f"{folder.name}/{METRICS_FILE}: not valid JSON ({exc})") from None
        metrics = loaded if isinstance(loaded, dict) else {}
    state: dict[str, np.ndarray] = {}
    if (folder / STATE_FILE).is_file():
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
    )
