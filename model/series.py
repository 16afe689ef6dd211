"""What the live training plots show about a run, as plain numpy arrays.

Records from a run are appended to growing numpy buffers (:class:`GrowingBuffer`) as they
arrive, so a run with batch size 1 costs one array append per batch; the GUI's curves are
redrawn from those buffers on a timer (see :mod:`gui.plots`), never once per record.
:class:`RunSeries` holds one run: batch and epoch figures, their debiased moving averages
(:class:`DebiasedEma`), and per-layer gradient norms.

The gradient norms are the point of the app, so the judgement about them lives here, not
in the view: :meth:`RunSeries.grad_verdicts` says in words which layers vanish or explode
(:data:`VANISHING_GRAD_NORM`, :data:`EXPLODING_GRAD_NORM`), and :meth:`RunSeries.heatmap`
bins the layers x steps history of ``log10 ‖∇W‖`` into at most
:data:`HEATMAP_MAX_COLUMNS` columns with a fixed colour range (:data:`HEATMAP_LEVELS`).

This module is numpy only (no Qt, no Keras): it is the plots' model, so it sits in the
core, where strict typing and Qt-free tests cover it, and a Qt-free run session or the
command line can ask for the same verdicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.events import BatchRecord, EpochRecord

VANISHING_GRAD_NORM: Final = 1e-5
"""A layer whose recent gradient norm is below this barely learns any more."""

EXPLODING_GRAD_NORM: Final = 1e3
"""A layer whose recent gradient norm is above this is likely to diverge."""

RECENT_BATCHES: Final = 20
"""How many of the latest reported batches the vanishing/exploding verdict looks at."""

SMOOTHING: Final = 0.9
"""Weight of the past in the exponential moving average of batch loss and accuracy."""

GRAD_FLOOR: Final = 1e-12
"""Zero gradient norms are drawn at this value so they stay visible on the log scale."""

HEATMAP_LEVELS: Final = (-8.0, 4.0)
"""Fixed colour range of the heat map (log10 ‖∇W‖), so colours mean the same in every run."""

HEATMAP_MAX_COLUMNS: Final = 1024
"""Wider histories are averaged into this many columns before drawing."""

FloatArray = NDArray[np.float64]


class GrowingBuffer:
    """Rows of floats with amortised O(1) appends; :attr:`view` is what a curve plots.

    Capacity doubles when full, so appending ``n`` rows costs ``O(n)`` in total and the
    array handed to pyqtgraph is a view, never a copy made per refresh.
    """

    def __init__(self, width: int = 1, capacity: int = 256) -> None:
        self._width = width
        self._data: FloatArray = np.full((capacity, width), np.nan)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def width(self) -> int:
        return self._width

    def append(self, row: ArrayLike) -> None:
        if self._size == len(self._data):
            grown = np.full((2 * len(self._data), self._width), np.nan)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size] = row
        self._size += 1

    def clear(self) -> None:
        self._size = 0

    @property
    def view(self) -> FloatArray:
        """The filled rows, shape ``(n, width)``."""
        return self._data[: self._size]

    def column(self, index: int = 0) -> FloatArray:
        return self._data[: self._size, index]


class DebiasedEma:
    """Exponential moving averages, one per component, with Adam's bias correction.

    Without the correction the first values would be pulled towards zero. A non-finite
    input leaves its component's average unchanged (a NaN loss does not poison it).
    """

    def __init__(self, width: int, weight: float = SMOOTHING) -> None:
        self._weight = weight
        self._sum: FloatArray = np.zeros(width)
        self._norm: FloatArray = np.zeros(width)

    def update(self, values: FloatArray) -> FloatArray:
        """Fold ``values`` in; the current averages (NaN where nothing finite came yet)."""
        ok = np.isfinite(values)
        w = self._weight
        self._sum[ok] = w * self._sum[ok] + (1 - w) * values[ok]
        self._norm[ok] = w * self._norm[ok] + (1 - w)
        out = np.full(len(self._sum), np.nan)
        np.divide(self._sum, self._norm, out=out, where=self._norm > 0)
        return out


@dataclass
class RunSeries:
    """Everything the plots show about one run, in plain arrays."""

    layer_names: tuple[str, ...] = ()
    steps_per_epoch: int = 0
    # Per reported batch: step, loss, smoothed loss, accuracy, smoothed accuracy.
    batches: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(5))
    # Per reported batch and layer: the gradient norm, and its average in log space.
    grad_norms: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(1))
    grad_smooth: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(1))
    # Per epoch: step at its end, loss, accuracy, validation loss, validation accuracy.
    epochs: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(5))
    # Per epoch and layer: the epoch's mean gradient norm (also what a saved history holds).
    epoch_grads: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(1))
    markers: list[tuple[int, str]] = field(default_factory=list)
    _metrics_ema: DebiasedEma = field(default_factory=lambda: DebiasedEma(2))
    _grad_ema: DebiasedEma = field(default_factory=lambda: DebiasedEma(1))

    def reset(self, layer_names: tuple[str, ...], steps_per_epoch: int) -> None:
        width = max(1, len(layer_names))
        self.layer_names = layer_names
        self.steps_per_epoch = steps_per_epoch
        self.batches = GrowingBuffer(5)
        self.grad_norms = GrowingBuffer(width)
        self.grad_smooth = GrowingBuffer(width)
        self.epochs = GrowingBuffer(5)
        self.epoch_grads = GrowingBuffer(width)
        self.markers = []
        self._metrics_ema = DebiasedEma(2)
        self._grad_ema = DebiasedEma(width)

    def add_batch(self, rec: BatchRecord) -> None:
        loss_ema, acc_ema = self._metrics_ema.update(np.array([rec.loss, rec.accuracy], dtype=np.float64))
        self.batches.append([rec.step, rec.loss, loss_ema, rec.accuracy, acc_ema])
        norms = np.full(self.grad_norms.width, np.nan)
        given = np.asarray(rec.grad_norms, dtype=np.float64).ravel()[: self.grad_norms.width]
        norms[: len(given)] = given
        self.grad_norms.append(norms)
        # Per-batch norms scatter over an order of magnitude; averaging their logarithms
        # gives each layer a readable trend on the log axis (the heat map keeps the raw).
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(np.maximum(norms, GRAD_FLOOR))
        self.grad_smooth.append(10.0 ** self._grad_ema.update(logs))

    def add_epoch(self, rec: EpochRecord) -> None:
        end_step = (rec.epoch + 1) * self.steps_per_epoch - 1
        if len(self.batches):
            # A stopped run ends part-way through its last epoch.
            end_step = min(end_step, int(self.batches.column(0)[-1]))
        self.epochs.append(
            [end_step, rec.loss, rec.accuracy, _or_nan(rec.val_loss), _or_nan(rec.val_accuracy)]
        )
        norms = np.full(self.epoch_grads.width, np.nan)
        given = np.asarray(rec.grad_norms, dtype=np.float64).ravel()[: self.epoch_grads.width]
        norms[: len(given)] = given
        self.epoch_grads.append(norms)

    @property
    def last_step(self) -> int:
        return int(self.batches.column(0)[-1]) if len(self.batches) else -1

    def recent_grad_norms(self, count: int = RECENT_BATCHES) -> FloatArray:
        """Median gradient norm per layer over the last ``count`` reported batches.

        Non-finite norms count as infinitely large: a NaN gradient has exploded.
        """
        recent = self.grad_norms.view[-count:]
        if not len(recent):
            return np.full(len(self.layer_names), np.nan)
        return np.median(np.where(np.isfinite(recent), recent, np.inf), axis=0)

    def grad_verdicts(self) -> dict[str, str]:
        """``{layer name: "vanishing ..." | "exploding ..."}`` for the layers in trouble."""
        verdicts: dict[str, str] = {}
        for name, norm in zip(self.layer_names, self.recent_grad_norms(), strict=False):
            if norm < VANISHING_GRAD_NORM:
                verdicts[name] = f"vanishing (‖∇W‖ ≈ {norm:.1e} < {VANISHING_GRAD_NORM:.0e})"
            elif norm > EXPLODING_GRAD_NORM:
                shown = "non-finite" if not math.isfinite(norm) else f"≈ {norm:.1e}"
                verdicts[name] = f"exploding (‖∇W‖ {shown} > {EXPLODING_GRAD_NORM:.0e})"
        return verdicts

    def heatmap(self, max_columns: int = HEATMAP_MAX_COLUMNS) -> tuple[FloatArray, float, float]:
        """``(image, first_step, step_span)``: log10 norms, layers x (binned) steps."""
        norms = self.grad_norms.view
        steps = self.batches.column(0)
        if not len(norms):
            return np.zeros((max(1, len(self.layer_names)), 0)), 0.0, 0.0
        top = HEATMAP_LEVELS[1]
        logs = np.where(np.isfinite(norms), np.log10(np.maximum(norms, GRAD_FLOOR)), top)
        n = len(logs)
        bin_size = max(1, math.ceil(n / max_columns))
        if bin_size > 1:
            full = (n // bin_size) * bin_size
            binned = logs[:full].reshape(-1, bin_size, logs.shape[1]).mean(axis=1)
            if full < n:
                binned = np.vstack([binned, logs[full:].mean(axis=0, keepdims=True)])
            logs = binned
        # The columns are spread evenly over the steps they cover (report_every may skip some).
        first = float(steps[0])
        span = float(steps[-1] - steps[0]) + 1.0
        return np.ascontiguousarray(logs.T), first, span


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
