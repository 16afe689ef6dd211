"""Test-set figures for a trained model: accuracy, loss, per-class scores, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

_EPS = 1e-7


@dataclass(frozen=True)
class Evaluation:
    """How a model does on held-out data.

    ``class_accuracy[k]`` is the share of class ``k``'s samples classified correctly (the
    per-class recall). ``confusion[i, j]`` counts samples of true class ``i`` predicted as
    ``j``. ``y_true`` and ``probabilities`` are kept so a view can show the misclassified
    samples of any confusion cell.
    """

    loss: float
    accuracy: float
    precision: np.ndarray
    recall: np.ndarray
    class_accuracy: np.ndarray
    confusion: np.ndarray
    class_names: tuple[str, ...]
    y_true: np.ndarray
    probabilities: np.ndarray

    @property
    def y_pred(self) -> np.ndarray:
        return np.asarray(np.argmax(self.probabilities, axis=1))

    def misclassified(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices (into the evaluated set) of samples of ``true_class`` read as ``predicted_class``."""
        return np.flatnonzero((self.y_true == true_class) & (self.y_pred == predicted_class))

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_accuracy": self.accuracy,
            "test_loss": self.loss,
            "per_class": [
                {
                    "class": name,
                    "precision": float(self.precision[k]),
                    "recall": float(self.recall[k]),
                    "accuracy": float(self.class_accuracy[k]),
                    "support": int(self.confusion[k].sum()),
                }
                for k, name in enumerate(self.class_names)
            ],
            "confusion_matrix": self.confusion.tolist(),
        }


def loss_value(loss: str, y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean data loss (no regularization term) for integer labels and predicted outputs."""
    n, k = probabilities.shape
    onehot = np.zeros((n, k), dtype=np.float64)
    onehot[np.arange(n), y_true] = 1.0
    p = probabilities.astype(np.float64)
    if loss == "crossentropy":
        # Keras renormalises and clips predictions the same way.
        p = p / np.clip(p.sum(axis=1, keepdims=True), _EPS, None)
        return float(-np.mean(np.sum(onehot * np.log(np.clip(p, _EPS, 1 - _EPS)), axis=1)))
    if loss == "mse":
        return float(np.mean((onehot - p) ** 2))
    if loss == "hinge":
        pos = np.sum(onehot * p, axis=1)
        neg = np.max((1.0 - onehot) * p, axis=1)
        return float(np.mean(np.maximum(0.0, neg - pos + 1.0)))
    raise ValueError(f"unknown loss {loss!r}")


def evaluate_predictions(
    y_true: np.ndarray, probabilities: np.ndarray, class_names: tuple[str, ...], loss: str
) -> Evaluation:
    """Score predicted class probabilities against integer labels."""
    labels = list(range(len(class_names)))
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.argmax(probabilities, axis=1)
    precision, recall, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    confusion = confusion_matrix(y_true, y_pred, labels=labels)
    support = confusion.sum(axis=1)
    class_accuracy = np.divide(
        np.diag(confusion), support, out=np.zeros(len(labels), dtype=np.float64), where=support > 0
    )
    return Evaluation(
        loss=loss_value(loss, y_true, probabilities),
        accuracy=float(np.mean(y_pred == y_true)) if len(y_true) else float("nan"),
        precision=np.asarray(precision, dtype=np.float64),
        recall=np.asarray(recall, dtype=np.float64),
        class_accuracy=class_accuracy,
        confusion=np.asarray(confusion, dtype=np.int64),
        class_names=tuple(class_names),
        y_true=y_true,
        probabilities=np.asarray(probabilities, dtype=np.float32),
    )
