"""A run's batch-level history, as columns: what the live plots showed, kept for later.

Every :class:`~model.events.BatchRecord` a run reports becomes one row of a
:class:`BatchHistory`: the step, epoch and batch, the batch's loss, accuracy and
learning rate, and per layer the gradient norm, weight norm and layer health (update
ratio, dead and saturated shares). :class:`BatchLog` collects the rows as they arrive
(amortised O(1) appends into preallocated columns, as :class:`model.series.GrowingBuffer`
does) and hands out the history so far without copying it.

The history travels with the run (:attr:`model.results.RunResult.batches`), is saved
beside ``history.csv`` as ``batches.npz`` (:mod:`model.runfolder.batches`, the only
code that knows that file), and an opened run replays it into the plots
(:meth:`BatchHistory.records`), so they show exactly what they showed during training.

The figures are kept in float32, the precision the training step measures them in, so
they read back bit for bit; the learning rate, set from Python, is kept in float64.
Learning-rate changes are not stored apart from the rates: :func:`learning_rate_changes`
finds them in the column, the same way for a live run and an opened one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np

from model.events import BatchRecord

STEP_COLUMNS: Final = ("step", "epoch", "batch")
"""Integer columns (int64), one value per reported batch."""

SCALAR_COLUMNS: Final = ("loss", "accuracy", "learning_rate")
"""Float columns, one value per reported batch (the learning rate in float64, the rest float32)."""

LAYER_COLUMNS: Final = ("grad_norms", "weight_norms", "update_ratios", "dead_shares", "saturated_shares")
"""Float32 columns with one value per layer (shape ``(rows, layers)``); NaN where not measured."""

_DTYPES: Final[dict[str, np.dtype[Any]]] = {
    **{name: np.dtype(np.int64) for name in STEP_COLUMNS},
    "loss": np.dtype(np.float32),
    "accuracy": np.dtype(np.float32),
    "learning_rate": np.dtype(np.float64),
    **{name: np.dtype(np.float32) for name in LAYER_COLUMNS},
}


def column_dtype(name: str) -> np.dtype[Any]:
    """The dtype a column is kept (and saved) in."""
    return _DTYPES[name]


@dataclass(frozen=True, eq=False)
class BatchHistory:
    """Every reported batch of a run, oldest first, as read-only numpy columns.

    Attributes:
        layer_names: the layers with weights, as in :attr:`~model.events.RunStarted.layer_names`.
        step, epoch, batch: 0-based; ``step`` counts over the whole run and increases.
        loss, accuracy, learning_rate: the batch's own figures.
        grad_norms, weight_norms, update_ratios, dead_shares, saturated_shares: shape
            ``(rows, len(layer_names))``, as in :class:`~model.events.BatchRecord`.
    """

    layer_names: tuple[str, ...]
    step: np.ndarray
    epoch: np.ndarray
    batch: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    learning_rate: np.ndarray
    grad_norms: np.ndarray
    weight_norms: np.ndarray
    update_ratios: np.ndarray
    dead_shares: np.ndarray
    saturated_shares: np.ndarray

    def __post_init__(self) -> None:
        n, width = len(self.step), len(self.layer_names)
        for name in (*STEP_COLUMNS, *SCALAR_COLUMNS, *LAYER_COLUMNS):
            column = getattr(self, name)
            shape = (n, width) if name in LAYER_COLUMNS else (n,)
            if not isinstance(column, np.ndarray) or column.shape != shape or column.dtype != _DTYPES[name]:
                raise ValueError(f"column {name}: expected {_DTYPES[name]} of shape {shape}")
            if column.flags.writeable:
                column = column.view()
                column.setflags(write=False)
                object.__setattr__(self, name, column)

    @classmethod
    def empty(cls, layer_names: Sequence[str] = ()) -> BatchHistory:
        return BatchLog(layer_names, capacity=0).history()

    @classmethod
    def from_records(cls, records: Iterable[BatchRecord], layer_names: Sequence[str]) -> BatchHistory:
        log = BatchLog(layer_names)
        for record in records:
            log.append(record)
        return log.history()

    @classmethod
    def from_columns(cls, layer_names: Sequence[str], columns: dict[str, np.ndarray]) -> BatchHistory:
        """From columns of any numeric dtype (converted); raises ``ValueError`` on wrong shapes."""
        converted = {name: np.asarray(columns[name]).astype(_DTYPES[name], copy=False) for name in _DTYPES}
        return cls(tuple(layer_names), **converted)

    def __len__(self) -> int:
        return len(self.step)

    def columns(self) -> dict[str, np.ndarray]:
        """Every column by name (what ``batches.npz`` holds beside the layer names)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "layer_names"}

    def records(self, run_id: int = 0) -> list[BatchRecord]:
        """The rows as records again (throughput and progress, not kept, read 0)."""
        return [
            BatchRecord(
                run_id=run_id,
                epoch=int(self.epoch[i]),
                batch=int(self.batch[i]),
                step=int(self.step[i]),
                loss=float(self.loss[i]),
                accuracy=float(self.accuracy[i]),
                learning_rate=float(self.learning_rate[i]),
                grad_norms=self.grad_norms[i].astype(np.float64),
                weight_norms=self.weight_norms[i].astype(np.float64),
                samples_per_second=0.0,
                progress=0.0,
                seconds_remaining=0.0,
                update_ratios=self.update_ratios[i].astype(np.float64),
                dead_shares=self.dead_shares[i].astype(np.float64),
                saturated_shares=self.saturated_shares[i].astype(np.float64),
            )
            for i in range(len(self))
        ]

    def then(self, later: BatchHistory) -> BatchHistory:
        """This history followed by ``later`` (a resumed run's new batches)."""
        if not len(self):
            return later
        if not len(later):
            return self
        if later.layer_names != self.layer_names:
            raise ValueError("the histories are of different layers")
        joined = {name: np.concatenate([a, b]) for (name, a), b in zip(self.columns().items(), later.columns().values(), strict=True)}
        return BatchHistory(self.layer_names, **joined)


def continued(prior: BatchHistory | None, new: BatchHistory) -> BatchHistory:
    """A resumed run's saved batches followed by its new ones (the new alone when the layers differ)."""
    if prior is None or prior.layer_names != new.layer_names:
        return new
    return prior.then(new)


def learning_rate_changes(steps: np.ndarray, rates: np.ndarray) -> list[tuple[int, float]]:
    """``(step, new rate)`` at every reported batch whose learning rate differs from the one before.

    Rates that differ by less than one part in a million are the same rate (a rate set
    again to its own value is no change).
    """
    if len(rates) < 2:
        return []
    previous, current = rates[:-1], rates[1:]
    changed = ~np.isclose(current, previous, rtol=1e-6, atol=0.0)
    return [(int(steps[i + 1]), float(rates[i + 1])) for i in np.flatnonzero(changed)]


def per_layer(values: Any, width: int) -> np.ndarray:
    """A record's per-layer figures at ``width`` (NaN for layers it has no figure for).

    The usual record's array (one figure per layer) comes back as it is: callers copy it
    into their own buffers and never change it.
    """
    if isinstance(values, np.ndarray) and values.shape == (width,):
        return values
    row = np.full(width, np.nan)
    given = np.asarray(values, dtype=np.float64).ravel()[:width]
    row[: len(given)] = given
    return row


class BatchLog:
    """A :class:`BatchHistory` being written: append records, read the history so far.

    :meth:`history` returns read-only views of the rows filled so far; later appends
    never change them (they write past the end, or into new arrays once full).
    """

    def __init__(self, layer_names: Sequence[str], capacity: int = 1024) -> None:
        self.layer_names = tuple(layer_names)
        self._size = 0
        self._columns = self._allocate(max(0, capacity))

    def _allocate(self, capacity: int) -> dict[str, np.ndarray]:
        width = len(self.layer_names)
        return {
            name: np.full((capacity, width) if name in LAYER_COLUMNS else (capacity,), 0 if name in STEP_COLUMNS else np.nan, dtype)
            for name, dtype in _DTYPES.items()
        }

    def __len__(self) -> int:
        return self._size

    def append(self, record: BatchRecord) -> None:
        capacity = len(self._columns["step"])
        if self._size == capacity:
            grown = self._allocate(max(1024, 2 * capacity))
            for name, column in self._columns.items():
                grown[name][: self._size] = column[: self._size]
            self._columns = grown
        i, width, c = self._size, len(self.layer_names), self._columns
        c["step"][i], c["epoch"][i], c["batch"][i] = record.step, record.epoch, record.batch
        c["loss"][i], c["accuracy"][i], c["learning_rate"][i] = record.loss, record.accuracy, record.learning_rate
        for name in LAYER_COLUMNS:
            c[name][i] = per_layer(getattr(record, name), width)
        self._size += 1

    def history(self) -> BatchHistory:
        """The rows so far (no copy)."""
        return BatchHistory(self.layer_names, **{name: column[: self._size] for name, column in self._columns.items()})
