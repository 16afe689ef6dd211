"""The autosave: a run folder rewritten after every epoch, and what it says about the run.

While a run trains, :func:`write_checkpoint` rewrites its checkpoint folder (the
window's autosave, the command line's output folder) after each epoch, staged and swapped
in whole like any save (:func:`~model.runfolder.layout.replace_folder`), so the folder
always holds one epoch's consistent state: ``model.keras`` with the latest epoch-end
weights, ``best.keras`` with the best so far, the configuration, the whole history (a
resumed run's earlier epochs included) and batch history, the optimizer state, and ``autosave.json``,
whose ``status`` is ``running`` until the run ends and ``finished`` after. A crash or a
killed process then loses at most the epoch in progress, and at the next start
:func:`read_autosave` tells the window whether there is an interrupted run to offer.

Nothing here imports Keras: the model and optimizer are passed in.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from model.batches import BatchHistory
from model.config import RunConfig
from model.events import EpochRecord
from model.fileio import write_text_atomic, write_with_atomic
from model.reading import JsonError, loads_json, read_capped
from model.runfolder.batches import write_batches
from model.runfolder.confusion import write_confusion
from model.runfolder.history import history_csv
from model.runfolder.layout import (
    AUTOSAVE_FILE,
    BATCHES_FILE,
    BEST_MODEL_FILE,
    CONFIG_FILE,
    CONFUSION_FILE,
    HISTORY_FILE,
    MODEL_FILE,
    STATE_FILE,
    replace_folder,
)
from model.runfolder.state import optimizer_state, save_training_state

AutosaveStatus = Literal["running", "finished"]


@dataclass(frozen=True)
class AutosaveInfo:
    """What ``autosave.json`` says about the last autosaved run."""

    status: AutosaveStatus
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
        raw = loads_json(read_capped(folder / AUTOSAVE_FILE, 64 * 1024))
    except (OSError, JsonError):
        return None
    if not isinstance(raw, dict):
        return None
    status, done, total, best = raw.get("status"), raw.get("epochs_done"), raw.get("epochs"), raw.get("best_epoch")
    if status not in ("running", "finished") or not isinstance(done, int) or not isinstance(total, int):
        return None
    if isinstance(done, bool) or isinstance(total, bool) or not 0 <= done <= total:
        return None
    return AutosaveInfo(status, done, total, best if isinstance(best, int) else None)


def write_autosave_status(
    folder: Path, status: AutosaveStatus, epochs_done: int, total_epochs: int, best_epoch: int | None
) -> None:
    """Write ``autosave.json``: how far the run got (``best_epoch`` 0-based here, 1-based in the file)."""
    info = {
        "status": status,
        "epochs_done": epochs_done,
        "epochs": total_epochs,
        "best_epoch": None if best_epoch is None else best_epoch + 1,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_text_atomic(folder / AUTOSAVE_FILE, json.dumps(info, indent=2) + "\n")


def write_checkpoint(
    folder: Path,
    *,
    model: Any,
    config: RunConfig,
    history: Sequence[EpochRecord],
    layer_names: Sequence[str],
    optimizer: Any,
    total_epochs: int,
    best_epoch: int | None,
    is_best: bool,
    batches: BatchHistory | None = None,
) -> None:
    """Rewrite the autosave in ``folder`` for the run as it is at the end of an epoch.

    Args:
        folder: the autosave folder (created if needed).
        model: the Keras inference model, with this epoch's weights.
        config: the run's configuration.
        history: every epoch so far, a resumed run's earlier ones included.
        layer_names: the layers with weights, as in the history's columns.
        optimizer: the Keras optimizer, whose state is saved for a resume.
        total_epochs: how many epochs the run will have when it completes.
        best_epoch: the best epoch so far (0-based), if any.
        is_best: this epoch is the best so far: ``best.keras`` gets the same model.
        batches: every batch reported so far, a resumed run's earlier ones included
            (rewritten whole: see :mod:`model.runfolder.batches` for the cost).

    Raises:
        ProjectError: the folder could not be written (it is unchanged), or another run
            is writing it.
    """
    earlier_best = folder / BEST_MODEL_FILE

    def fill(staging: Path) -> None:
        write_with_atomic(staging / MODEL_FILE, lambda tmp: model.save(tmp), suffix=".keras")
        if is_best:
            # The same weights: copy the file rather than serialize the model a second time.
            shutil.copyfile(staging / MODEL_FILE, staging / BEST_MODEL_FILE)
        elif best_epoch is not None and earlier_best.is_file():
            shutil.copyfile(earlier_best, staging / BEST_MODEL_FILE)  # written by this run's best epoch
        write_text_atomic(staging / CONFIG_FILE, config.to_json())
        write_text_atomic(staging / HISTORY_FILE, history_csv(history, layer_names))
        if batches is not None and len(batches):
            write_batches(staging / BATCHES_FILE, batches)
        write_confusion(staging / CONFUSION_FILE, history)
        save_training_state(staging / STATE_FILE, optimizer_state(optimizer), len(history))
        write_autosave_status(staging, "running", len(history), total_epochs, best_epoch)

    replace_folder(folder, fill)
