"""Saving a run folder whole: written beside its target and swapped in once complete.

:func:`save_run` writes a finished run (a :class:`~model.results.RunResult`) and
:func:`copy_run` a run read from disk; both the command line and the window's Save Model
go through them. Either writes every file into a staging folder beside the target and
swaps it in only at the end (:func:`~model.runfolder.layout.replace_folder`), so a run
folder on disk always holds one consistent run: a save that fails half-way leaves the
previous run exactly as it was, never a new model beside an old history.
"""

from __future__ import annotations

import json
from pathlib import Path

from model.fileio import write_text_atomic, write_with_atomic
from model.results import RunResult
from model.runfolder.batches import write_batches
from model.runfolder.confusion import write_confusion
from model.runfolder.history import history_csv
from model.runfolder.layout import (
    BATCHES_FILE,
    CONFIG_FILE,
    CONFUSION_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    STATE_FILE,
    check_target,
    copy_run_files,
    replace_folder,
)
from model.runfolder.metrics import run_metrics
from model.runfolder.state import save_training_state


def write_run_files(result: RunResult, folder: Path) -> None:
    """Write ``result``'s files into ``folder`` (an empty one: :func:`save_run` passes its staging folder)."""
    write_with_atomic(folder / MODEL_FILE, lambda tmp: result.model.save(tmp), suffix=".keras")
    write_text_atomic(folder / CONFIG_FILE, result.config.to_json())
    write_text_atomic(folder / HISTORY_FILE, history_csv(result.history, result.layer_names))
    if result.batches is not None and len(result.batches):
        write_batches(folder / BATCHES_FILE, result.batches)
    write_confusion(folder / CONFUSION_FILE, result.history)
    if result.optimizer_state:
        save_training_state(folder / STATE_FILE, result.optimizer_state, len(result.history))
    write_text_atomic(folder / METRICS_FILE, json.dumps(run_metrics(result), indent=2) + "\n")


def save_run(result: RunResult, folder: str | Path) -> Path:
    """Write the run folder for ``result`` at ``folder``: a new or empty folder, or a run to replace.

    Call :func:`~model.runfolder.layout.check_target` first to ask before replacing a run.

    Raises:
        ProjectError: ``folder`` holds something other than a run, or a file could not be
            written; either way ``folder`` is unchanged. Keras's own save errors pass
            through as they are, with ``folder`` unchanged too.
    Returns:
        The run folder.
    """
    target = Path(folder)
    check_target(target)
    replace_folder(target, lambda staging: write_run_files(result, staging))
    return target


def copy_run(source: Path, folder: str | Path) -> Path:
    """Save a run read from ``source`` at ``folder`` (staged like :func:`save_run`); the run folder.

    Only the saved run's files are copied, not the autosave's bookkeeping nor anything else
    in ``source``. ``source`` may be ``folder`` itself.

    Raises:
        ProjectError: as :func:`save_run`.
    """
    target = Path(folder)
    check_target(target)
    replace_folder(target, lambda staging: copy_run_files(source, staging))
    return target
