"""The run folder: everything a finished (or stopped) run leaves on disk.

``model.keras``
    the plain inference model; loads with ``keras.saving.load_model(safe_mode=True)``
    in any Python with Keras, without this project.
``config.json``
    the :class:`~model.config.RunConfig` that produced it.
``history.csv``
    one row per epoch: a column per metric, per layer's mean gradient norm and weight norm.
``metrics.json``
    test accuracy and loss, per-class precision / recall / accuracy, the confusion matrix,
    how the run ended, the dataset, and the library versions, seed and date needed to
    reproduce it.

Every file is written atomically.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.events import EpochRecord
from model.fileio import write_text_atomic, write_with_atomic

if TYPE_CHECKING:
    from model.training import RunResult

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"


def library_versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }


def history_csv(history: Sequence[EpochRecord], layer_names: Sequence[str]) -> str:
    """The epoch history as CSV text (epochs numbered from 1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "samples_per_second"]
    header += [f"grad_norm_{name}" for name in layer_names]
    header += [f"weight_norm_{name}" for name in layer_names]
    header.append("note")
    writer.writerow(header)

    def num(value: float | None) -> str:
        return "" if value is None else repr(float(value))

    for rec in history:
        row = [
            str(rec.epoch + 1),
            num(rec.loss),
            num(rec.accuracy),
            num(rec.val_loss),
            num(rec.val_accuracy),
            num(rec.learning_rate),
            f"{rec.seconds:.3f}",
            f"{rec.samples_per_second:.1f}",
        ]
        row += [num(v) for v in rec.grad_norms]
        row += [num(v) for v in rec.weight_norms]
        row.append(rec.note)
        writer.writerow(row)
    return out.getvalue()


def run_metrics(result: RunResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "test_accuracy": None,
        "test_loss": None,
    }
    if result.evaluation is not None:
        metrics.update(result.evaluation.to_dict())
    metrics.update(
        {
            "finished": {
                "reason": result.finished.reason,
                "message": result.finished.message,
                "epochs_completed": result.finished.epochs_completed,
                "best_epoch": None if result.best_epoch is None else result.best_epoch + 1,
            },
            "seed": result.config.seed,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "layer_names": list(result.layer_names),
        }
    )
    if extra:
        metrics.update(extra)
    return metrics


def save_run(result: RunResult, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write the run folder for ``result`` into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    write_with_atomic(out / MODEL_FILE, lambda tmp: result.model.save(tmp), suffix=".keras")
    write_text_atomic(out / CONFIG_FILE, result.config.to_json())
    write_text_atomic(out / HISTORY_FILE, history_csv(result.history, result.layer_names))
    write_text_atomic(out / METRICS_FILE, json.dumps(run_metrics(result, extra), indent=2) + "\n")
    return out
