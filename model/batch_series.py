"""A run's per-batch figures as arrays, and where a saved run's come from.

:class:`BatchSeries` is what the TensorBoard export writes as ``batch_*`` scalars and what
a replay compares step by step. A live run builds one from its
:class:`~model.events.BatchRecord` s (:meth:`BatchSeries.of`); a saved run folder gives
one from its ``batches.npz`` (:meth:`BatchSeries.from_history` of
:func:`model.runfolder.load_batches`); folders written before that file existed have none,
and the export and the replay then work from the epoch history alone. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from model.batches import BatchHistory
from model.events import BatchRecord


@dataclass(frozen=True)
class BatchSeries:
    """Per reported batch: its step over the run, loss, accuracy, learning rate and layer norms."""

    steps: NDArray[np.int64]
    losses: NDArray[np.float64]
    accuracies: NDArray[np.float64]
    learning_rates: NDArray[np.float64]
    grad_norms: NDArray[np.float64] = field(repr=False)  # (batches, layers)

    @classmethod
    def of(cls, records: Sequence[BatchRecord]) -> BatchSeries:
        width = max((len(r.grad_norms) for r in records), default=0)
        norms = np.full((len(records), width), np.nan)
        for i, r in enumerate(records):
            norms[i, : len(r.grad_norms)] = r.grad_norms
        return cls(
            np.array([r.step for r in records], dtype=np.int64),
            np.array([r.loss for r in records], dtype=np.float64),
            np.array([r.accuracy for r in records], dtype=np.float64),
            np.array([r.learning_rate for r in records], dtype=np.float64),
            norms,
        )

    @classmethod
    def from_history(cls, history: BatchHistory) -> BatchSeries:
        """The figures of a saved batch history (``batches.npz``, :func:`model.runfolder.load_batches`)."""
        return cls(
            np.asarray(history.step, dtype=np.int64),
            np.asarray(history.loss, dtype=np.float64),
            np.asarray(history.accuracy, dtype=np.float64),
            np.asarray(history.learning_rate, dtype=np.float64),
            np.asarray(history.grad_norms, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.steps)


