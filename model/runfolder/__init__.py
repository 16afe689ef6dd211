"""The run folder: the one owner of its format, for the command line, the window and the autosave.

One module per concern, each the only code that writes and reads its part:
:mod:`~model.runfolder.layout` (file names, what is a run folder, staged folder swaps),
:mod:`~model.runfolder.history` (``history.csv``), :mod:`~model.runfolder.batches`
(``batches.npz``), :mod:`~model.runfolder.confusion` (``epoch_confusion.npz``), :mod:`~model.runfolder.state`
(``training_state.npz``), :mod:`~model.runfolder.metrics` (``metrics.json``),
:mod:`~model.runfolder.autosave` (the per-epoch checkpoint and ``autosave.json``),
:mod:`~model.runfolder.save` and :mod:`~model.runfolder.load` (a whole folder).

The records it reads and writes (:class:`~model.results.RunResult`,
:class:`~model.results.SavedRun`) live in :mod:`model.results`. Nothing in this package
imports Keras or TensorFlow at import time, so the window imports it at start-up.
"""

from model.runfolder.autosave import AutosaveInfo, read_autosave, write_autosave_status, write_checkpoint
from model.runfolder.batches import batches_csv, read_batches, write_batches
from model.runfolder.confusion import confusion_archive, read_confusion, with_confusion
from model.runfolder.history import estimate_steps_per_epoch, history_csv, read_history_csv
from model.runfolder.layout import (
    AUTOSAVE_FILE,
    BATCHES_FILE,
    BEST_MODEL_FILE,
    CONFIG_FILE,
    CONFUSION_FILE,
    HISTORY_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FOLDER_FILES,
    STATE_FILE,
    check_target,
    claim_folder,
    clean_leftovers,
    copy_run_files,
    is_claimed,
    is_run_folder,
    path_kind,
    remove_folder,
    replace_folder,
)
from model.runfolder.load import load_batches, load_history, load_run, weights_are_finite
from model.runfolder.metrics import (
    diverged_from_metrics,
    end_reason_from_metrics,
    evaluation_from_metrics,
    library_versions,
    run_metrics,
)
from model.runfolder.save import copy_run, save_run
from model.runfolder.state import (
    load_training_state,
    optimizer_state,
    restore_optimizer_state,
    save_training_state,
)

__all__ = [
    "AUTOSAVE_FILE",
    "BATCHES_FILE",
    "BEST_MODEL_FILE",
    "CONFIG_FILE",
    "CONFUSION_FILE",
    "HISTORY_FILE",
    "METRICS_FILE",
    "MODEL_FILE",
    "RUN_FOLDER_FILES",
    "STATE_FILE",
    "AutosaveInfo",
    "batches_csv",
    "check_target",
    "claim_folder",
    "clean_leftovers",
    "confusion_archive",
    "copy_run",
    "copy_run_files",
    "diverged_from_metrics",
    "end_reason_from_metrics",
    "estimate_steps_per_epoch",
    "evaluation_from_metrics",
    "history_csv",
    "is_claimed",
    "is_run_folder",
    "library_versions",
    "load_batches",
    "load_history",
    "load_run",
    "load_training_state",
    "optimizer_state",
    "path_kind",
    "read_batches",
    "read_autosave",
    "read_confusion",
    "read_history_csv",
    "remove_folder",
    "replace_folder",
    "restore_optimizer_state",
    "run_metrics",
    "save_run",
    "save_training_state",
    "weights_are_finite",
    "with_confusion",
    "write_autosave_status",
    "write_batches",
    "write_checkpoint",
]
