"""``metrics.json``: how a run did and how it ended, written the same way by every frontend.

Keys (:func:`run_metrics`):

``test_accuracy``, ``test_loss``
    ``null`` when the run was not evaluated (no test data, or the weights became NaN);
``per_class``, ``confusion_matrix``
    only when it was evaluated (:meth:`model.evaluation.Evaluation.to_dict`);
``finished``
    ``reason`` (an :class:`~model.events.EndReason` value), ``message``,
    ``epochs_completed``, ``best_epoch`` (1-based, or ``null``);
``steps_per_epoch``
    batches per epoch, for the plots' batch axis;
``diverged``
    ``true`` when the saved weights are not finite numbers (training diverged and no
    epoch ended with finite weights): the model's answers mean nothing;
``diagnoses``
    what :func:`model.diagnosis.diagnose_run` found in the batch history (the same the
    command line printed): a list of ``{kind, severity, title, finding, why, remedies,
    layers, first_step, last_step}``, empty when nothing was wrong or no batches were kept;
``dataset``
    ``{"name", "source", "split"}`` (``split``: the split's one-line description), or
    ``null`` when the run was not told which data it had;
``seed``, ``date``, ``versions``, ``layer_names``
    what is needed to reproduce and read the run.

The readers here take whatever JSON a file holds and never raise: a missing or odd value
reads as "not known", so an old or hand-edited file still opens.
"""

from __future__ import annotations

import datetime as _dt
import platform
from typing import TYPE_CHECKING, Any

import numpy as np

from model.diagnosis import RunContext, diagnose_run
from model.events import EndReason
from model.results import DataInfo, RunResult

if TYPE_CHECKING:
    from model.evaluation import Evaluation


def library_versions() -> dict[str, str]:
    """The versions of Python and of the libraries a run's figures depend on."""
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


def run_metrics(result: RunResult) -> dict[str, Any]:
    """The content of ``metrics.json`` for ``result`` (the same keys from the CLI and the window)."""
    metrics: dict[str, Any] = {
        "test_accuracy": None,
        "test_loss": None,
    }
    if result.evaluation is not None:
        metrics.update(result.evaluation.to_dict())
    data = result.data
    metrics.update(
        {
            "finished": {
                "reason": result.finished.reason,
                "message": result.finished.message,
                "epochs_completed": result.finished.epochs_completed,
                "best_epoch": None if result.best_epoch is None else result.best_epoch + 1,
            },
            "steps_per_epoch": result.steps_per_epoch,
            "diverged": result.diverged,
            "diagnoses": [d.to_dict() for d in run_diagnoses(result)],
            "dataset": None if data is None else {"name": data.name, "source": data.source, "split": data.description},
            "seed": result.config.seed,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "layer_names": list(result.layer_names),
        }
    )
    return metrics


def run_diagnoses(result: RunResult) -> list[Any]:
    """What was wrong with the run, from its batch history (``[]`` when it kept none)."""
    if result.batches is None or not len(result.batches):
        return []
    return diagnose_run(result.batches, RunContext.from_config(result.config))


def end_reason_from_metrics(metrics: dict[str, Any]) -> EndReason:
    """How the saved run ended; ``completed`` when the file does not say (or says something unknown)."""
    finished = metrics.get("finished")
    reason = finished.get("reason") if isinstance(finished, dict) else None
    try:
        return EndReason(reason)
    except ValueError:
        return EndReason.COMPLETED


def steps_from_metrics(metrics: dict[str, Any]) -> int | None:
    """The saved batches per epoch, or ``None`` when the file does not say."""
    steps = metrics.get("steps_per_epoch")
    return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1 else None


def diverged_from_metrics(metrics: dict[str, Any]) -> bool:
    """Whether the saved run says its weights diverged (older files do not say: ``False``)."""
    return metrics.get("diverged") is True


def data_from_metrics(metrics: dict[str, Any]) -> DataInfo | None:
    """Which data the saved run used, or ``None`` when the file does not say."""
    raw = metrics.get("dataset")
    if not isinstance(raw, dict):
        return None
    name, source, split = raw.get("name"), raw.get("source"), raw.get("split")
    if not all(isinstance(v, str) for v in (name, source, split)):
        return None
    return DataInfo(name=str(name), source=str(source), description=str(split))


def evaluation_from_metrics(metrics: dict[str, Any]) -> Evaluation | None:
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
    except (KeyError, TypeError, ValueError, OverflowError):
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
