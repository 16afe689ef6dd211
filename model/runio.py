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
``training_state.npz``
    the optimizer's state (step count, momenta) at the end of the run, so training can be
    resumed where it stopped.

Every file is written atomically. :func:`load_run` reads a run folder back, checking
every file and raising :class:`~model.errors.ModelFileError` with the file name and the
problem when one is damaged.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.config import RunConfig, load_config
from model.errors import ModelFileError, ProjectError
from model.events import EpochRecord
from model.fileio import write_bytes_atomic, write_text_atomic, write_with_atomic

if TYPE_CHECKING:
    from model.training import RunResult

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
STATE_FILE = "training_state.npz"


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


def _float_or_none(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def read_history_csv(text: str, source: str = "history.csv") -> tuple[list[EpochRecord], tuple[str, ...]]:
    """Parse :func:`history_csv` output back into epoch records and layer names."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise ValueError("the file is empty")
        header = rows[0]
        grad_cols = [i for i, h in enumerate(header) if h.startswith("grad_norm_")]
        weight_cols = [i for i, h in enumerate(header) if h.startswith("weight_norm_")]
        names = tuple(header[i][len("grad_norm_") :] for i in grad_cols)
        col = {h: i for i, h in enumerate(header)}
        records = []
        for n, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ValueError(f"line {n} has {len(row)} cells, the header {len(header)}")
            records.append(
                EpochRecord(
                    run_id=0,
                    epoch=int(row[col["epoch"]]) - 1,
                    loss=float(row[col["loss"]]),
                    accuracy=float(row[col["accuracy"]]),
                    val_loss=_float_or_none(row[col["val_loss"]]),
                    val_accuracy=_float_or_none(row[col["val_accuracy"]]),
                    learning_rate=float(row[col["learning_rate"]]),
                    grad_norms=np.array([float(row[i]) for i in grad_cols]),
                    weight_norms=np.array([float(row[i]) for i in weight_cols]),
                    seconds=float(row[col["seconds"]]),
                    samples_per_second=float(row[col["samples_per_second"]]),
                    note=row[col["note"]],
                )
            )
        if [r.epoch for r in records] != list(range(len(records))):
            raise ValueError("the epochs are not numbered 1, 2, 3, ...")
    except (KeyError, ValueError, IndexError, csv.Error) as exc:
        raise ModelFileError(f"{source}: not a training history written by this app ({exc})") from None
    return records, names


def optimizer_state(optimizer: Any) -> dict[str, np.ndarray]:
    """The optimizer's variables by position (``000_adam/iteration`` ...), as numpy arrays."""
    return {f"{i:03d}_{v.path}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}


def restore_optimizer_state(optimizer: Any, weights: Any, state: dict[str, np.ndarray]) -> None:
    """Load :func:`optimizer_state` output into ``optimizer`` (built for ``weights``)."""
    optimizer.build(weights)
    variables = list(optimizer.variables)
    arrays = [state[k] for k in sorted(state)]
    if len(arrays) != len(variables) or any(tuple(a.shape) != tuple(v.shape) for a, v in zip(arrays, variables, strict=False)):
        raise ModelFileError(
            "the saved optimizer state does not match this model and optimizer "
            "(was the optimizer or a layer changed?); resume without it or retrain"
        )
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def save_training_state(path: Path, state: dict[str, np.ndarray], epochs_done: int) -> None:
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {"__epochs_done__": np.array(epochs_done), **state}
    np.savez(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


def load_training_state(path: Path) -> tuple[dict[str, np.ndarray], int]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError) as exc:
        raise ModelFileError(f"{path.name}: the saved optimizer state is damaged ({exc}); resume is not possible") from None
    epochs_done = int(arrays.pop("__epochs_done__", np.array(-1)))
    return arrays, epochs_done


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
    if result.optimizer_state:
        save_training_state(out / STATE_FILE, result.optimizer_state, len(result.history))
    write_text_atomic(out / METRICS_FILE, json.dumps(run_metrics(result, extra), indent=2) + "\n")
    return out


@dataclass
class SavedRun:
    """A run folder read back: enough to show it, use its model, or resume training."""

    folder: Path
    config: RunConfig
    model: Any
    history: list[EpochRecord]
    layer_names: tuple[str, ...]
    metrics: dict[str, Any]
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)


def load_run(folder: str | Path) -> SavedRun:
    """Read a run folder written by :func:`save_run` (or an autosave).

    Raises:
        ModelFileError: naming the damaged or missing file.
    """
    from model.modelio import load_model_safe

    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: not a run folder; open a folder holding model.keras and config.json")
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
    return SavedRun(folder, config, model, history, names, metrics, state)
