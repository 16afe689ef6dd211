"""The confusion timeline: a run's validation confusion matrix epoch by epoch, as views want it.

Each :class:`~model.events.EpochRecord` of a run with validation data carries
``val_confusion``, summed by the training step's validation pass from the predictions it
makes anyway (no extra pass; see :meth:`model.builder.InstrumentedModel.test_step`), and
the run folder keeps them (:mod:`model.runfolder.confusion`). This module turns them into
what the Results tab shows: :class:`ConfusionTimeline` (the epochs that have a matrix, the
matrices, and each class's accuracy per epoch for the plot) and
:func:`evaluation_from_confusion` (an :class:`~model.evaluation.Evaluation` holding only a
matrix, for the confusion view's epoch slider).

Numpy only; no Qt, no Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from model.evaluation import Evaluation
from model.events import EpochRecord

FloatArray = NDArray[np.float64]


def per_class_accuracy(confusion: NDArray[np.integer]) -> FloatArray:
    """Each true class's share read correctly (its recall); NaN for a class with no sample."""
    matrix = np.asarray(confusion, dtype=np.float64)
    support = matrix.sum(axis=1)
    out = np.full(len(matrix), np.nan)
    np.divide(np.diag(matrix), support, out=out, where=support > 0)
    return out


def evaluation_from_confusion(
    confusion: NDArray[np.integer], class_names: Sequence[str], loss: float = float("nan")
) -> Evaluation:
    """An :class:`Evaluation` that holds a confusion matrix and the figures it implies.

    It has no per-sample labels or probabilities (``y_true`` is empty): a view can show
    the matrix and per-class figures but no images.
    """
    matrix = np.asarray(confusion, dtype=np.int64)
    k = len(matrix)
    predicted = matrix.sum(axis=0).astype(np.float64)
    diagonal = np.diag(matrix).astype(np.float64)
    precision = np.divide(diagonal, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.nan_to_num(per_class_accuracy(matrix))
    total = int(matrix.sum())
    names = tuple(class_names) if len(class_names) == k else tuple(str(i) for i in range(k))
    return Evaluation(
        loss=float(loss),
        accuracy=float(diagonal.sum() / total) if total else float("nan"),
        precision=precision,
        recall=recall,
        class_accuracy=recall,
        confusion=matrix,
        class_names=names,
        y_true=np.zeros(0, dtype=np.int64),
        probabilities=np.zeros((0, k), dtype=np.float32),
    )


@dataclass(frozen=True)
class ConfusionTimeline:
    """The epochs of a run that have a validation confusion matrix, in order."""

    epochs: tuple[int, ...] = ()  # 0-based
    matrices: tuple[NDArray[np.int64], ...] = field(default=(), repr=False)
    val_losses: tuple[float, ...] = ()

    @classmethod
    def of(cls, history: Sequence[EpochRecord]) -> ConfusionTimeline:
        kept = [r for r in history if r.val_confusion is not None]
        return cls(
            tuple(r.epoch for r in kept),
            tuple(np.asarray(r.val_confusion, dtype=np.int64) for r in kept),
            tuple(float("nan") if r.val_loss is None else r.val_loss for r in kept),
        )

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def classes(self) -> int:
        return len(self.matrices[0]) if self.matrices else 0

    def accuracy_per_epoch(self) -> FloatArray:
        """Shape ``(epochs, classes)``: each class's validation accuracy at each epoch's end."""
        if not self.matrices:
            return np.zeros((0, 0))
        return np.stack([per_class_accuracy(m) for m in self.matrices])

    def evaluation(self, index: int, class_names: Sequence[str]) -> Evaluation:
        """The ``index``-th matrix as an :class:`Evaluation` (no images)."""
        return evaluation_from_confusion(self.matrices[index], class_names, self.val_losses[index])

    def most_improved(self, class_names: Sequence[str]) -> str:
        """One line on how the classes moved from the first epoch to the last, for people."""
        if len(self) < 2:
            return ""
        accuracy = self.accuracy_per_epoch()
        change = np.nan_to_num(accuracy[-1] - accuracy[0])
        last = np.nan_to_num(accuracy[-1], nan=1.0)
        names = list(class_names) if len(class_names) == self.classes else [str(k) for k in range(self.classes)]
        best, worst = int(np.argmax(change)), int(np.argmin(last))
        return (
            f"from epoch {self.epochs[0] + 1} to {self.epochs[-1] + 1}, class {names[best]} gained most "
            f"({change[best]:+.1%}); class {names[worst]} is hardest now ({last[worst]:.1%})"
        )
