"""A run's per-batch figures as arrays, and where a saved run's come from.

:class:`BatchSeries` is what the TensorBoard export writes as ``batch_*`` scalars and what
a replay compares step by step. A live run builds one from its
:class:`~model.events.BatchRecord` s (:meth:`BatchSeries.of`); a saved run folder gives
one through :func:`saved_batches` once it keeps its batch history.

:func:`saved_batches` is the hook for the batch history of issue 11 (item 4:
``batches.npz`` beside ``history.csv``, written and read by :mod:`model.runfolder`): it
answers ``None`` until run folders carry it, and the export and the replay then work from
the epoch history alone. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

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

    def __len__(self) -> int:
        return len(self.steps)


def saved_batches(folder: Path) -> BatchSeries | None:
    """The per-batch history the run folder ``folder`` saved, or ``None`` when it has none."""
    return None
