"""What the live training plots show about a run, as plain numpy arrays.

Records from a run are appended to growing numpy buffers (:class:`GrowingBuffer`) as they
arrive, so a run with batch size 1 costs one array append per batch; the GUI's curves are
redrawn from those buffers on a timer (see :mod:`gui.plots`), never once per record.
:class:`RunSeries` holds one run: batch and epoch figures, their debiased moving averages
(:class:`DebiasedEma`), and per-layer gradient norms.

The gradient norms are the point of the app, so the judgement about them lives here, not
in the view: :meth:`RunSeries.grad_verdicts` says in words which layers vanish or explode
(:data:`VANISHING_GRAD_NORM`, :data:`EXPLODING_GRAD_NORM`), :meth:`RunSeries.diagnoses`
asks :mod:`model.diagnosis` what is wrong and what to try, and :meth:`RunSeries.heatmap`
bins the layers x steps history of one of the :data:`LAYER_METRICS` (``log10 ‖∇W‖``,
``log10 ‖ΔW‖/‖W‖``, the dead or the saturated share) into at most
:data:`HEATMAP_MAX_COLUMNS` columns with a fixed colour range per metric.

Learning-rate changes are found in the records' learning rates
(:func:`model.batches.learning_rate_changes`'s rule, one record at a time) and become
:attr:`RunSeries.markers`, so a change made by a schedule, by the user while paused, or
read back from a saved run is marked the same way.

This module is numpy only (no Qt, no Keras): it is the plots' model, so it sits in the
core, where strict typing and Qt-free tests cover it, and a Qt-free run session or the
command line can ask for the same verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.batches import per_layer
from model.diagnosis import (
    EXPLODING_GRAD_NORM,
    RECENT_BATCHES,
    VANISHING_GRAD_NORM,
    Diagnosis,
    Evidence,
    RunContext,
    diagnose,
    median,
)
from model.events import BatchRecord, EpochRecord

__all__ = [
    "EXPLODING_GRAD_NORM",
    "GRAD_FLOOR",
    "HEATMAP_LEVELS",
    "HEATMAP_MAX_COLUMNS",
    "LAYER_METRICS",
    "RECENT_BATCHES",
    "SMOOTHING",
    "VANISHING_GRAD_NORM",
    "DebiasedEma",
    "GrowingBuffer",
    "LayerMetric",
    "RunSeries",
]

SMOOTHING: Final = 0.9
"""Weight of the past in the exponential moving average of batch loss and accuracy."""

GRAD_FLOOR: Final = 1e-12
"""Zero gradient norms are drawn at this value so they stay visible on the log scale."""

HEATMAP_LEVELS: Final = (-8.0, 4.0)
"""Fixed colour range of the heat map (log10 ‖∇W‖), so colours mean the same in every run."""

HEATMAP_MAX_COLUMNS: Final = 1024
"""Wider histories are averaged into this many columns before drawing."""


@dataclass(frozen=True)
class LayerMetric:
    """A per-layer figure the plots can show: as curves, and as the heat map's colour.

    ``log`` metrics are drawn on a log axis and coloured by their ``log10``; ``levels`` is
    the heat map's fixed colour range (of the log10 for ``log`` metrics).
    """

    key: str
    choice: str  # its name in a selector
    title: str
    axis_label: str
    colour_label: str
    log: bool
    levels: tuple[float, float]


LAYER_METRICS: Final = {
    "gradients": LayerMetric("gradients", "‖∇W‖ gradient norm", "Gradient norm per layer", "‖∇W‖ (L2 norm)", "log10 ‖∇W‖", True, HEATMAP_LEVELS),
    # 1e-3 is healthy: the middle of the range.
    "updates": LayerMetric(
        "updates", "‖ΔW‖/‖W‖ update ratio", "Update ratio per layer (about 1e-3 is healthy)", "‖ΔW‖ / ‖W‖", "log10 ‖ΔW‖/‖W‖", True, (-7.0, 1.0)
    ),
    "dead": LayerMetric("dead", "dead ReLU units", "Dead ReLU units per layer", "share of units at 0 for the batch", "dead share", False, (0.0, 1.0)),
    "saturation": LayerMetric(
        "saturation", "saturated sigmoid/tanh", "Saturated sigmoid/tanh outputs per layer", "share of outputs saturated", "saturated share", False, (0.0, 1.0)
    ),
}
"""The per-layer figures, by key, in the order the plots offer them."""

_HEALTH_FIELDS: Final = {"updates": "update_ratios", "dead": "dead_shares", "saturation": "saturated_shares"}

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

    def extend(self, rows: ArrayLike) -> None:
        """Append several rows at once (shape ``(n, width)``)."""
        block = np.asarray(rows, dtype=np.float64).reshape(-1, self._width)
        end = self._size + len(block)
        if end > len(self._data):
            grown = np.full((max(end, 2 * len(self._data)), self._width), np.nan)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = block
        self._size = end

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

    def update_rows(self, rows: FloatArray) -> FloatArray:
        """Fold each row of ``rows`` (shape ``(n, width)``) in, in order; the averages after
        each row (NaN where nothing finite came yet).

        Row by row, so the figures do not depend on how records were grouped on their way
        (one at a time, or a worker's bundle).
        """
        ok = np.isfinite(rows)
        w = self._weight
        sums = np.empty_like(rows, dtype=np.float64)
        norms = np.empty_like(rows, dtype=np.float64)
        total, norm = self._sum, self._norm
        for i in range(len(rows)):
            np.copyto(total, w * total + (1 - w) * rows[i], where=ok[i])
            np.copyto(norm, w * norm + (1 - w), where=ok[i])
            sums[i], norms[i] = total, norm
        out = np.full(rows.shape, np.nan)
        np.divide(sums, norms, out=out, where=norms > 0)
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
    # Per reported batch: the learning rate; and per layer the health figures and their averages.
    rates: GrowingBuffer = field(default_factory=lambda: GrowingBuffer(1))
    health: dict[str, GrowingBuffer] = field(default_factory=dict)
    health_smooth: dict[str, GrowingBuffer] = field(default_factory=dict)
    # One average over a batch's every smoothed figure (loss, accuracy, then per layer the
    # gradient norm and each health figure), in log space where ``_log`` is set: one numpy
    # pass per batch instead of five (a record costs the window's thread less).
    _ema: DebiasedEma = field(default_factory=lambda: DebiasedEma(2))
    _log: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(2, dtype=bool))

    def __post_init__(self) -> None:
        self._reset_health(max(1, len(self.layer_names)))

    def _reset_health(self, width: int) -> None:
        self.rates = GrowingBuffer(1)
        self.health = {key: GrowingBuffer(width) for key in _HEALTH_FIELDS}
        self.health_smooth = {key: GrowingBuffer(width) for key in _HEALTH_FIELDS}
        logs = [np.zeros(2, dtype=bool), np.ones(width, dtype=bool)]  # loss, accuracy; gradient norms
        logs += [np.full(width, LAYER_METRICS[key].log) for key in _HEALTH_FIELDS]
        self._log = np.concatenate(logs)
        self._ema = DebiasedEma(len(self._log))

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
        self._reset_health(width)

    def add_batch(self, rec: BatchRecord) -> tuple[int, str] | None:
        """Append one record; the learning-rate marker it adds, if its rate is a new one."""
        markers = self.add_batches((rec,))
        return markers[0] if markers else None

    def add_batches(self, records: Sequence[BatchRecord]) -> list[tuple[int, str]]:
        """Append records in order; the learning-rate markers they add (where a rate is new).

        One numpy pass over the whole group: the window takes a worker's bundle of records
        (a tenth of a second's worth) at once, and per record the same figures cost its
        thread several times as much. The result is the same as one :meth:`add_batch` each.
        """
        if not records:
            return []
        previous_step = self.last_step
        previous_rate = float(self.rates.column(0)[-1]) if len(self.rates) else None
        width = self.grad_norms.width
        fields = ("grad_norms", *_HEALTH_FIELDS.values())
        # Per record: loss, accuracy, then per layer the gradient norm and each health figure.
        values = np.array(
            [np.concatenate(([r.loss, r.accuracy], *(per_layer(getattr(r, f), width) for f in fields))) for r in records],
            dtype=np.float64,
        )
        raw = values.copy()
        logs = self._log
        # Per-batch norms scatter over an order of magnitude; averaging their logarithms
        # gives each layer a readable trend on the log axis (the heat map keeps the raw).
        with np.errstate(divide="ignore", invalid="ignore"):
            values[:, logs] = np.log10(np.maximum(values[:, logs], GRAD_FLOOR))
            smooth = self._ema.update_rows(values)
            smooth[:, logs] = 10.0 ** smooth[:, logs]
        steps = np.array([r.step for r in records], dtype=np.float64)
        rates = np.array([r.learning_rate for r in records], dtype=np.float64)
        self.batches.extend(np.column_stack((steps, raw[:, 0], smooth[:, 0], raw[:, 1], smooth[:, 1])))
        self.rates.extend(rates[:, np.newaxis])
        self.grad_norms.extend(raw[:, 2 : 2 + width])
        self.grad_smooth.extend(smooth[:, 2 : 2 + width])
        for i, key in enumerate(_HEALTH_FIELDS):
            columns = slice(2 + (i + 1) * width, 2 + (i + 2) * width)
            self.health[key].extend(raw[:, columns])
            self.health_smooth[key].extend(smooth[:, columns])
        added: list[tuple[int, str]] = []
        for rec in records:
            rate = float(rec.learning_rate)
            new_rate = previous_rate is not None and not math.isclose(rate, previous_rate, rel_tol=1e-6, abs_tol=0.0)
            # Not when already marked (by the session, the moment the user set it).
            if new_rate and not any(previous_step < step <= rec.step for step, _ in self.markers):
                marker = (rec.step, f"lr → {rec.learning_rate:g}")
                self.markers.append(marker)
                added.append(marker)
            previous_rate, previous_step = rate, rec.step
        return added

    def add_epoch(self, rec: EpochRecord) -> None:
        end_step = (rec.epoch + 1) * self.steps_per_epoch - 1
        if len(self.batches):
            # A stopped run ends part-way through its last epoch.
            end_step = min(end_step, int(self.batches.column(0)[-1]))
        self.epochs.append(
            [end_step, rec.loss, rec.accuracy, _or_nan(rec.val_loss), _or_nan(rec.val_accuracy)]
        )
        self.epoch_grads.append(per_layer(rec.grad_norms, self.epoch_grads.width))

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
        return median(np.where(np.isfinite(recent), recent, np.inf))

    def layer_values(self, key: str) -> FloatArray:
        """The raw per-batch values of one of :data:`LAYER_METRICS`, shape (batches, layers)."""
        return self.grad_norms.view if key == "gradients" else self.health[key].view

    def layer_smooth(self, key: str) -> FloatArray:
        """Their moving averages (in log space for log metrics): what the curves show."""
        return self.grad_smooth.view if key == "gradients" else self.health_smooth[key].view

    def evidence(self) -> Evidence:
        """The batches so far, for :func:`model.diagnosis.diagnose` (views, no copies)."""
        b = self.batches.view
        return Evidence(
            self.layer_names,
            b[:, 0],
            b[:, 1],
            b[:, 3],
            self.rates.column(0),
            self.grad_norms.view,
            self.health["updates"].view,
            self.health["dead"].view,
            self.health["saturation"].view,
        )

    def diagnoses(self, context: RunContext | None = None) -> list[Diagnosis]:
        """What is wrong with the run as of its latest batch, and what to try (errors first)."""
        return diagnose(self.evidence(), context)

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

    def heatmap(self, max_columns: int = HEATMAP_MAX_COLUMNS, metric: str = "gradients") -> tuple[FloatArray, float, float]:
        """``(image, first_step, step_span)``: one of :data:`LAYER_METRICS`, layers x (binned) steps.

        Log metrics are given as their log10; an infinite value (an exploded gradient) as
        the top of the colour range; NaN (not measured: a layer the figure does not apply
        to) stays NaN, which the heat map leaves blank.
        """
        spec = LAYER_METRICS[metric]
        values = self.layer_values(metric)
        steps = self.batches.column(0)
        if not len(values):
            return np.zeros((max(1, len(self.layer_names)), 0)), 0.0, 0.0
        top = spec.levels[1]
        if spec.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log10(np.maximum(values, GRAD_FLOOR))
            # A gradient that is not finite has exploded; NaN elsewhere is "not measured".
            missing = np.isnan(values) if metric != "gradients" else np.zeros(values.shape, dtype=bool)
            logs = np.where(np.isfinite(logs), logs, top)
            logs[missing] = np.nan
        else:
            logs = values.copy()
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
