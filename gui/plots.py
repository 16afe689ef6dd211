"""Live training plots: loss, accuracy and per-layer gradient norms.

Records from a run are appended to growing numpy buffers (:class:`GrowingBuffer`) as they
arrive; the curves, created once per run, are redrawn from those buffers by a ``QTimer``
at most :data:`REFRESH_INTERVAL_MS` apart and only when something changed (the pattern of
pyqtgraph's ``scrollingPlots`` example). So a run with batch size 1 costs the GUI one
array append per batch, not one redraw.

The gradient-norm view is the point of the app: one curve per layer on a log scale plus a
layers x steps heat map of ``log10 ‖∇W‖``, so a vanishing or exploding layer stands out,
and a verdict in words (:data:`VANISHING_GRAD_NORM`, :data:`EXPLODING_GRAD_NORM`).

Run ``python -m gui.plots`` to see the panel on its own, fed with synthetic records.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from html import escape
from pathlib import Path
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QShowEvent
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from model.events import BatchRecord, EpochRecord, RunStarted
from model.fileio import write_with_atomic

VANISHING_GRAD_NORM: Final = 1e-5
"""A layer whose recent gradient norm is below this barely learns any more."""

EXPLODING_GRAD_NORM: Final = 1e3
"""A layer whose recent gradient norm is above this is likely to diverge."""

RECENT_BATCHES: Final = 20
"""How many of the latest reported batches the vanishing/exploding verdict looks at."""

REFRESH_INTERVAL_MS: Final = 33
"""At most about 30 redraws a second, however fast records arrive."""

MAX_REFRESH_INTERVAL_MS: Final = 500
"""At least two redraws a second while records arrive, however slow drawing is."""

FRAME_BUDGET: Final = 0.1
"""The share of the GUI thread that redrawing may take while a run streams in.

A redraw costs the GUI thread (and, through Python's GIL, the training thread) several
milliseconds; on a slow or busy machine 30 of them a second would slow training down
noticeably. The refresh interval therefore grows to ten times the measured cost of the
last redraws, between :data:`REFRESH_INTERVAL_MS` and :data:`MAX_REFRESH_INTERVAL_MS`.
"""

SMOOTHING: Final = 0.9
"""Weight of the past in the exponential moving average of batch loss and accuracy."""

GRAD_FLOOR: Final = 1e-12
"""Zero gradient norms are drawn at this value so they stay visible on the log scale."""

HEATMAP_LEVELS: Final = (-8.0, 4.0)
"""Fixed colour range of the heat map (log10 ‖∇W‖), so colours mean the same in every run."""

HEATMAP_MAX_COLUMNS: Final = 1024
"""Wider histories are averaged into this many columns before drawing."""

# Okabe-Ito, then a few more: distinguishable with common colour-vision deficiencies.
LAYER_COLORS: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#8C564B",
    "#7F7F7F",
)
TRAIN_COLOR: Final = "#0072B2"
VALIDATION_COLOR: Final = "#D55E00"
MARKER_COLOR: Final = "#7B3294"


class GrowingBuffer:
    """Rows of floats with amortised O(1) appends; :attr:`view` is what a curve plots.

    Capacity doubles when full, so appending ``n`` rows costs ``O(n)`` in total and the
    array handed to pyqtgraph is a view, never a copy made per refresh.
    """

    def __init__(self, width: int = 1, capacity: int = 256) -> None:
        self._width = width
        self._data = np.full((capacity, width), np.nan)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def width(self) -> int:
        return self._width

    def append(self, row: float | np.ndarray | list[float]) -> None:
        if self._size == len(self._data):
            grown = np.full((2 * len(self._data), self._width), np.nan)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size] = row
        self._size += 1

    def clear(self) -> None:
        self._size = 0

    @property
    def view(self) -> np.ndarray:
        """The filled rows, shape ``(n, width)``."""
        return self._data[: self._size]

    def column(self, index: int = 0) -> np.ndarray:
        return self._data[: self._size, index]


class DebiasedEma:
    """Exponential moving averages, one per component, with Adam's bias correction.

    Without the correction the first values would be pulled towards zero. A non-finite
    input leaves its component's average unchanged (a NaN loss does not poison it).
    """

    def __init__(self, width: int, weight: float = SMOOTHING) -> None:
        self._weight = weight
        self._sum = np.zeros(width)
        self._norm = np.zeros(width)

    def update(self, values: np.ndarray) -> np.ndarray:
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

    def recent_grad_norms(self, count: int = RECENT_BATCHES) -> np.ndarray:
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

    def heatmap(self, max_columns: int = HEATMAP_MAX_COLUMNS) -> tuple[np.ndarray, float, float]:
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


class _TimedPlotWidget(pg.PlotWidget):  # type: ignore[misc] # pyqtgraph has no type hints
    """A PlotWidget that adds the time it spends painting to its owner's meter.

    pyqtgraph paints a changed scene later, from the event loop, so the cost of a redraw
    can only be seen here, not around the ``setData`` calls that caused it.
    """

    def __init__(self, meter: list[float], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._meter = meter

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self._meter[0] += time.perf_counter() - started


def set_curve(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """Give ``curve`` its points; non-finite values (a NaN loss, say) become gaps.

    pyqtgraph's auto-range warns on a curve with no finite value at all, so such a curve
    is emptied instead.
    """
    finite = np.isfinite(y)
    if finite.all():
        curve.setData(x, y)
    elif finite.any():
        curve.setData(x, np.where(finite, y, np.nan), connect="finite")
    else:
        curve.setData([], [])


def _render_svg(plot: pg.PlotItem, path: Path) -> None:
    """Draw ``plot`` as vector graphics into ``path``.

    Qt's own SVG painter, not pyqtgraph's SVGExporter: with Qt 6.11 that exporter fails on
    the path data Qt now writes (pyqtgraph issue #3485).
    """
    source = plot.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle(plot.titleLabel.text)
    painter = QPainter(generator)
    try:
        plot.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


class TrainingPlots(QWidget):
    """Loss, accuracy and gradient-norm plots for the current run (and, faintly, the last).

    Feed it with :meth:`start_run`, :meth:`add_batch`, :meth:`add_epoch` and
    :meth:`mark`; it redraws itself on a timer. The owner filters out stale runs first.

    Signals:
        flagsChanged(dict): the vanishing/exploding verdicts changed.
    """

    flagsChanged = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = RunSeries()
        self._previous: RunSeries | None = None
        self._dirty = False
        self._frame_ms = 0.0  # smoothed cost of one redraw
        self._paint_seconds = [0.0]  # painting time since the last refresh
        self._flags: dict[str, str] = {}
        self._grad_curves: list[pg.PlotDataItem] = []
        self._grad_epoch_curves: list[pg.PlotDataItem] = []
        self._previous_grad_curves: list[pg.PlotDataItem] = []
        self._marker_lines: list[pg.InfiniteLine] = []

        palette = self.palette()
        self._background = palette.color(QPalette.ColorRole.Base)
        self._foreground = palette.color(QPalette.ColorRole.Text)

        self.keep_previous = QCheckBox("Keep previous run")
        self.keep_previous.setToolTip("Show the last run's curves faintly for comparison")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all curves, of this run and the previous one")
        self.readout = QLabel("Hover over a plot to read its values")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.flags_label = QLabel()
        self.flags_label.setWordWrap(True)
        self.flags_label.setTextFormat(Qt.TextFormat.RichText)

        self.loss_plot = self._make_plot("Loss", "loss")
        self.accuracy_plot = self._make_plot("Accuracy", "accuracy")
        self.grad_plot = self._make_plot("Gradient norm per layer (smoothed)", "‖∇W‖ (L2 norm)")
        self.grad_plot.setLogMode(y=True)
        self.heatmap_plot = self._make_plot("log10 ‖∇W‖ per layer", "")
        self.heatmap_plot.invertY(True)
        self.heatmap_plot.setMouseEnabled(y=False)
        for plot in (self.accuracy_plot, self.grad_plot, self.heatmap_plot):
            plot.setXLink(self.loss_plot)

        # Keys and legends are labels beside the plots, not pyqtgraph legends inside them:
        # those hid the newest points and were redrawn, in Python, with every frame.
        self.curves_key = QLabel(self._curves_key_html())
        self.curves_key.setTextFormat(Qt.TextFormat.RichText)
        self.curves_key.setWordWrap(True)
        self.curves_key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.grad_legend = QLabel()
        self.grad_legend.setTextFormat(Qt.TextFormat.RichText)
        self.grad_legend.setWordWrap(True)
        self._make_curves()
        self._make_heatmap()
        self._set_heatmap_ticks()

        self._widgets = {
            plot: _TimedPlotWidget(self._paint_seconds, background=self._background, plotItem=plot)
            for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot, self.heatmap_plot)
        }
        self._crosshairs = {
            plot: pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(self._foreground, width=1, style=Qt.PenStyle.DotLine)
            )
            for plot in self._widgets
        }
        for plot, line in self._crosshairs.items():
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        # Hover readout through a rate-limited proxy: at most 30 lookups a second.
        self._hover_proxies = [
            pg.SignalProxy(widget.scene().sigMouseMoved, rateLimit=30, slot=self._make_hover(plot))
            for plot, widget in self._widgets.items()
        ]

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_INTERVAL_MS)

        self._build_layout()
        self._connect()

    # ------------------------------------------------------------------ construction

    def _make_plot(self, title: str, y_label: str) -> pg.PlotItem:
        plot = pg.PlotItem(title=title)
        plot.titleLabel.setText(title, color=self._foreground, size="10pt")
        plot.setLabel("bottom", "step (batches)", color=self._foreground.name())
        plot.getAxis("bottom").enableAutoSIPrefix(False)
        if y_label:
            plot.setLabel("left", y_label, color=self._foreground.name())
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setPen(self._foreground)
            plot.getAxis(axis).setTextPen(self._foreground)
        plot.showGrid(x=True, y=True, alpha=0.15)
        for axis in ("left", "bottom"):
            # Cached as pixmaps: a new point dirties the whole view, axes and grid included,
            # and replaying their drawing every frame cost more than drawing the curves.
            plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setMenuEnabled(False)
        return plot

    def _make_curves(self) -> None:
        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(70)
        self.loss_batch_curve = self.loss_plot.plot(pen=pg.mkPen(faint), name="batch loss")
        self.loss_smooth_curve = self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR), name="smoothed")
        self.loss_epoch_curve = self.loss_plot.plot(
            pen=None, symbol="o", symbolSize=7, symbolBrush=TRAIN_COLOR, symbolPen=None, name="epoch (train)"
        )
        self.val_loss_curve = self.loss_plot.plot(
            pen=pg.mkPen(VALIDATION_COLOR),
            symbol="s",
            symbolSize=7,
            symbolBrush=VALIDATION_COLOR,
            symbolPen=None,
            name="epoch (validation)",
        )
        self.accuracy_batch_curve = self.accuracy_plot.plot(pen=pg.mkPen(faint))
        self.accuracy_smooth_curve = self.accuracy_plot.plot(pen=pg.mkPen(TRAIN_COLOR))
        self.accuracy_epoch_curve = self.accuracy_plot.plot(
            pen=None, symbol="o", symbolSize=7, symbolBrush=TRAIN_COLOR, symbolPen=None
        )
        self.val_accuracy_curve = self.accuracy_plot.plot(
            pen=pg.mkPen(VALIDATION_COLOR),
            symbol="s",
            symbolSize=7,
            symbolBrush=VALIDATION_COLOR,
            symbolPen=None,
        )
        # The previous run: faint and dashed.
        prev_pen = pg.mkPen(QColor(128, 128, 128, 140), style=Qt.PenStyle.DashLine)
        self.previous_loss_curve = pg.PlotDataItem(pen=prev_pen)
        self.previous_val_loss_curve = pg.PlotDataItem(
            pen=prev_pen, symbol="s", symbolSize=5, symbolBrush=QColor(128, 128, 128, 120), symbolPen=None
        )
        self.previous_accuracy_curve = pg.PlotDataItem(pen=prev_pen)
        self.previous_val_accuracy_curve = pg.PlotDataItem(
            pen=prev_pen, symbol="s", symbolSize=5, symbolBrush=QColor(128, 128, 128, 120), symbolPen=None
        )
        for plot, curves in (
            (self.loss_plot, (self.previous_loss_curve, self.previous_val_loss_curve)),
            (self.accuracy_plot, (self.previous_accuracy_curve, self.previous_val_accuracy_curve)),
        ):
            for curve in curves:
                curve.setZValue(-10)
                plot.addItem(curve)
        self.accuracy_plot.setYRange(0, 1, padding=0.02)

    def _make_heatmap(self) -> None:
        self.heatmap_image = pg.ImageItem(axisOrder="row-major")
        self.heatmap_plot.addItem(self.heatmap_image)
        self.heatmap_colorbar = pg.ColorBarItem(
            values=HEATMAP_LEVELS,
            colorMap="viridis",
            interactive=False,
            width=12,
            label="log10 ‖∇W‖",
        )
        self.heatmap_colorbar.setImageItem(self.heatmap_image, insert_in=self.heatmap_plot)
        axis = self.heatmap_colorbar.getAxis("right")
        axis.setPen(self._foreground)
        axis.setTextPen(self._foreground)

    def _build_layout(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.curves_key, 1)
        header.addWidget(self.keep_previous)
        header.addWidget(self.clear_button)

        grid = QGridLayout()
        grid.setSpacing(4)
        grid.addWidget(self._widgets[self.loss_plot], 0, 0)
        grid.addWidget(self._widgets[self.accuracy_plot], 0, 1)
        grid.addWidget(self._widgets[self.grad_plot], 1, 0)
        grid.addWidget(self._widgets[self.heatmap_plot], 1, 1)
        grid.addWidget(self.grad_legend, 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.flags_label, 2, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.readout, 3, 0, 1, 2)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(header)
        layout.addLayout(grid, 1)

    def _connect(self) -> None:
        self._timer.timeout.connect(self._on_refresh_timer)
        self.clear_button.clicked.connect(self._on_clear_clicked)

    # ------------------------------------------------------------------ feeding

    def start_run(self, info: RunStarted, history: Sequence[EpochRecord] = ()) -> None:
        """Begin plotting a new run; the old one becomes the faint comparison if kept.

        ``history`` is the saved history of a resumed run: its epochs are drawn first, so
        the new ones continue them (``info.initial_epoch`` says where).
        """
        self._previous = self.series if self.keep_previous.isChecked() and len(self.series.batches) else None
        self.series = RunSeries()
        self.series.reset(tuple(info.layer_names), info.steps_per_epoch)
        for record in history:
            self.series.add_epoch(record)
        # The whole run's width from the start: the x axis then never changes while
        # points arrive (cheaper to draw), and the curves show how far the run has got.
        first = 0 if history else info.initial_epoch * info.steps_per_epoch
        last = info.epochs * info.steps_per_epoch - 1
        if self._previous is not None:
            last = max(last, self._previous.last_step)
        self.loss_plot.setXRange(first, max(last, first + 1), padding=0.02)
        self._clear_markers()
        self._make_grad_curves()
        self._show_previous()
        self._set_heatmap_ticks()
        self._schedule()

    def add_batch(self, rec: BatchRecord) -> None:
        """Append one batch's figures; drawn at the next refresh."""
        self.series.add_batch(rec)
        self._schedule()

    def add_epoch(self, rec: EpochRecord) -> None:
        """Append one epoch's averages (training and validation)."""
        self.series.add_epoch(rec)
        self._schedule()

    def show_history(
        self, history: Sequence[EpochRecord], layer_names: tuple[str, ...], steps_per_epoch: int
    ) -> None:
        """Show a saved run's epoch figures (per-batch figures are not saved, so none are drawn).

        ``steps_per_epoch`` places each epoch on the step axis, as during training, so a
        resumed run's batches line up after them.
        """
        self._previous = self.series if self.keep_previous.isChecked() and len(self.series.batches) else None
        self.series = RunSeries()
        self.series.reset(tuple(layer_names), max(1, steps_per_epoch))
        for record in history:
            self.series.add_epoch(record)
        last = max(1, len(history) * self.series.steps_per_epoch - 1)
        self.loss_plot.setXRange(0, last, padding=0.02)
        self._clear_markers()
        self._make_grad_curves()
        self._show_previous()
        self._set_heatmap_ticks()
        self._dirty = True
        self.refresh()

    def epoch_numbers(self) -> list[int]:
        """The 1-based epoch number of each epoch point drawn, from its place on the step axis."""
        steps = self.series.epochs.column(0)
        per = max(1, self.series.steps_per_epoch)
        return [int(step) // per + 1 for step in steps]

    def export_images(self, base: Path, fmt: str) -> list[Path]:
        """Write each plot to ``<base>-loss.<fmt>``, ``-accuracy``, ``-gradients``, ``-heatmap``.

        ``fmt`` is ``png`` or ``svg``. Every file is written atomically; the paths written
        are returned.

        Raises:
            ProjectError: a file cannot be written (the earlier ones stay written).
        """
        from pyqtgraph.exporters import ImageExporter

        self.refresh()
        written = []
        for suffix, plot in self.plot_items().items():
            target = base.with_name(f"{base.name}-{suffix}.{fmt}")
            if fmt == "svg":
                write_with_atomic(target, partial(_render_svg, plot), suffix=".svg")
            else:
                exporter = ImageExporter(plot)
                # Twice the on-screen size, for print; pyqtgraph wants whole pixels.
                exporter.parameters()["width"] = max(1, int(plot.sceneBoundingRect().width()) * 2)
                write_with_atomic(target, lambda tmp, e=exporter: e.export(str(tmp)), suffix=".png")
            written.append(target)
        return written

    def plot_items(self) -> dict[str, pg.PlotItem]:
        """The plots by the short name used for exported files."""
        return {
            "loss": self.loss_plot,
            "accuracy": self.accuracy_plot,
            "gradients": self.grad_plot,
            "heatmap": self.heatmap_plot,
        }

    def mark(self, step: int, text: str) -> None:
        """Draw a labelled vertical line at ``step`` (e.g. a learning-rate change)."""
        self.series.markers.append((step, text))
        self._add_marker_lines(step, text)

    def clear(self) -> None:
        """Remove every curve, marker and heat-map column, of this run and the previous."""
        self._previous = None
        self.series.reset(self.series.layer_names, self.series.steps_per_epoch)
        self._clear_markers()
        self._show_previous()
        self._dirty = True
        self.refresh()

    def _on_clear_clicked(self) -> None:
        self.clear()

    def flags(self) -> dict[str, str]:
        """The current vanishing/exploding verdicts, by layer name."""
        return dict(self._flags)

    @property
    def previous(self) -> RunSeries | None:
        """The run kept for comparison, if any."""
        return self._previous

    # ------------------------------------------------------------------ drawing

    def _schedule(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def _on_refresh_timer(self) -> None:
        if not self._dirty or not self.isVisible():
            self._timer.stop()  # idle or hidden: no wake-ups until there is a reason
            return
        started = time.perf_counter()
        self.refresh()
        # This refresh's own work plus the painting that the previous one caused.
        cost_ms = (time.perf_counter() - started + self._paint_seconds[0]) * 1000
        self._paint_seconds[0] = 0.0
        self._frame_ms = cost_ms if not self._frame_ms else 0.7 * self._frame_ms + 0.3 * cost_ms
        interval = min(MAX_REFRESH_INTERVAL_MS, max(REFRESH_INTERVAL_MS, self._frame_ms / FRAME_BUDGET))
        self._timer.setInterval(int(interval))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Catch up with what arrived while another tab was showing."""
        super().showEvent(event)
        if self._dirty:
            self._schedule()

    @property
    def refresh_interval_ms(self) -> int:
        """The current redraw interval (it adapts to the cost of drawing)."""
        return self._timer.interval()

    def refresh(self) -> None:
        """Redraw every curve from the buffers (the timer calls this; tests may too)."""
        self._dirty = False
        s = self.series
        b = s.batches.view
        steps = b[:, 0]
        set_curve(self.loss_batch_curve, steps, b[:, 1])
        set_curve(self.loss_smooth_curve, steps, b[:, 2])
        set_curve(self.accuracy_batch_curve, steps, b[:, 3])
        set_curve(self.accuracy_smooth_curve, steps, b[:, 4])
        e = s.epochs.view
        set_curve(self.loss_epoch_curve, e[:, 0], e[:, 1])
        set_curve(self.accuracy_epoch_curve, e[:, 0], e[:, 2])
        set_curve(self.val_loss_curve, e[:, 0], e[:, 3])
        set_curve(self.val_accuracy_curve, e[:, 0], e[:, 4])

        smooth = s.grad_smooth.view
        for i, curve in enumerate(self._grad_curves):
            set_curve(curve, steps, smooth[:, i])
        epoch_grads = s.epoch_grads.view
        for i, curve in enumerate(self._grad_epoch_curves):
            set_curve(curve, e[:, 0], epoch_grads[:, i])

        image, first, span = s.heatmap()
        if image.shape[1]:
            self.heatmap_image.setImage(image, levels=HEATMAP_LEVELS, autoLevels=False)
            self.heatmap_image.setRect(QRectF(first - 0.5, 0, span, image.shape[0]))
            self.heatmap_image.setVisible(True)
        else:
            self.heatmap_image.setVisible(False)
        self._update_flags()

    def _update_flags(self) -> None:
        flags = self.series.grad_verdicts()
        if flags == self._flags:
            return
        self._flags = flags
        if flags:
            items = "".join(f"<li><b>{escape(name)}</b>: {escape(text)}</li>" for name, text in flags.items())
            self.flags_label.setText(
                f"<span style='color:#B2182B'><b>⚠ Gradient trouble</b> (last {RECENT_BATCHES} batches):"
                f"<ul style='margin:0'>{items}</ul></span>"
            )
        else:
            self.flags_label.setText("")
        self.flagsChanged.emit(dict(flags))

    def _make_grad_curves(self) -> None:
        for curve in (*self._grad_curves, *self._grad_epoch_curves):
            self.grad_plot.removeItem(curve)
        self._grad_curves = []
        self._grad_epoch_curves = []
        entries = []
        for i, name in enumerate(self.series.layer_names):
            color = LAYER_COLORS[i % len(LAYER_COLORS)]
            curve = self.grad_plot.plot(pen=pg.mkPen(color), name=name)
            self._grad_curves.append(curve)
            # Epoch means as dots: all a saved history has, and a steady read during a run.
            dots = self.grad_plot.plot(pen=None, symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None)
            self._grad_epoch_curves.append(dots)
            entries.append(f"<span style='color:{color}'>━</span>&nbsp;{escape(name)}")
        self.grad_legend.setText("Layers: " + " &nbsp; ".join(entries) if entries else "")
        self._flags = {}
        self.flags_label.setText("")

    def legend_names(self) -> list[str]:
        """The gradient plot's legend, in order: the layers with weights, input to output."""
        return [curve.name() for curve in self._grad_curves]

    @staticmethod
    def _curves_key_html() -> str:
        faint = "color:#9DBEDC"
        return (
            f"<span style='{faint}'>━</span> batch &nbsp; "
            f"<span style='color:{TRAIN_COLOR}'>━</span> smoothed (EMA) &nbsp; "
            f"<span style='color:{TRAIN_COLOR}'>●</span> epoch, training &nbsp; "
            f"<span style='color:{VALIDATION_COLOR}'>■</span> epoch, validation &nbsp; "
            "<span style='color:#888888'>┅</span> previous run"
        )

    def _show_previous(self) -> None:
        for curve in self._previous_grad_curves:
            self.grad_plot.removeItem(curve)
        self._previous_grad_curves = []
        prev = self._previous
        if prev is None:
            for curve in (
                self.previous_loss_curve,
                self.previous_val_loss_curve,
                self.previous_accuracy_curve,
                self.previous_val_accuracy_curve,
            ):
                curve.setData([], [])
            return
        b, e = prev.batches.view, prev.epochs.view
        set_curve(self.previous_loss_curve, b[:, 0], b[:, 2])
        set_curve(self.previous_accuracy_curve, b[:, 0], b[:, 4])
        set_curve(self.previous_val_loss_curve, e[:, 0], e[:, 3])
        set_curve(self.previous_val_accuracy_curve, e[:, 0], e[:, 4])
        smooth = prev.grad_smooth.view
        for i in range(len(prev.layer_names)):
            color = QColor(LAYER_COLORS[i % len(LAYER_COLORS)])
            color.setAlpha(80)
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
            set_curve(curve, b[:, 0], smooth[:, i])
            curve.setZValue(-10)
            self.grad_plot.addItem(curve)
            self._previous_grad_curves.append(curve)

    def _set_heatmap_ticks(self) -> None:
        names = self.series.layer_names
        self.heatmap_plot.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(names)]])
        self.heatmap_plot.setYRange(0, max(1, len(names)), padding=0)
        self.heatmap_image.setVisible(False)

    def _add_marker_lines(self, step: int, text: str) -> None:
        pen = pg.mkPen(MARKER_COLOR, style=Qt.PenStyle.DashLine)
        for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot):
            line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=pen)
            if plot is self.loss_plot:
                line.label = pg.InfLineLabel(
                    line, text=text, position=0.92, rotateAxis=(1, 0), anchor=(1, 1), color=MARKER_COLOR
                )
            line.setToolTip(text)
            plot.addItem(line, ignoreBounds=True)
            self._marker_lines.append(line)

    def marker_steps(self) -> list[int]:
        """The steps of the markers drawn for the current run."""
        return [step for step, _ in self.series.markers]

    def _clear_markers(self) -> None:
        for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot):
            for line in self._marker_lines:
                if line in plot.items:
                    plot.removeItem(line)
        self._marker_lines = []

    # ------------------------------------------------------------------ hover

    def _make_hover(self, plot: pg.PlotItem) -> Callable[[tuple[QPointF]], None]:
        def on_mouse_moved(event: tuple[QPointF]) -> None:
            self._on_mouse_moved(plot, event[0])

        return on_mouse_moved

    def _on_mouse_moved(self, plot: pg.PlotItem, pos: QPointF) -> None:
        if not plot.sceneBoundingRect().contains(pos):
            return
        point = plot.vb.mapSceneToView(pos)
        text = self.describe_point(plot, point.x(), point.y())
        for line in self._crosshairs.values():
            line.setPos(point.x())
            line.setVisible(bool(text))
        self.readout.setText(text or "Hover over a plot to read its values")

    def describe_point(self, plot: pg.PlotItem, x: float, y: float) -> str:
        """The values under the mouse at step ``x`` (and row ``y`` of the heat map)."""
        s = self.series
        steps = s.batches.column(0)
        if not len(steps):
            return ""
        i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
        if i > 0 and abs(steps[i - 1] - x) < abs(steps[i] - x):
            i -= 1
        row = s.batches.view[i]
        head = f"step {int(row[0])}"
        if plot is self.loss_plot:
            return f"{head}: loss {row[1]:.4g} (smoothed {row[2]:.4g})"
        if plot is self.accuracy_plot:
            return f"{head}: accuracy {row[3]:.2%} (smoothed {row[4]:.2%})"
        norms = s.grad_norms.view[i]
        if plot is self.heatmap_plot:
            layer = int(math.floor(y))
            if 0 <= layer < len(s.layer_names):
                return f"{head}: {s.layer_names[layer]} ‖∇W‖ = {norms[layer]:.3g}"
            return head
        parts = ", ".join(f"{name} {norm:.3g}" for name, norm in zip(s.layer_names, norms, strict=False))
        return f"{head}: ‖∇W‖ {parts}"


def _demo() -> None:  # pragma: no cover - a manual look
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    plots = TrainingPlots()
    names = ("L2_Dense", "L3_Dense", "L4_Dense")
    plots.start_run(RunStarted(0, 3, 0, 200, 32, 6400, 800, 800, names, 1e-3))
    rng = np.random.default_rng(0)
    state = {"step": 0}

    def feed() -> None:
        step = state["step"]
        if step >= 600:
            return
        epoch, batch = divmod(step, 200)
        loss = 2.3 * math.exp(-step / 150) + 0.1 + 0.2 * rng.random()
        norms = np.array([1e-6 * (1 + rng.random()), 0.5 * math.exp(-step / 300), 2.0]) * (1 + rng.random())
        plots.add_batch(
            BatchRecord(
                0,
                epoch,
                batch,
                step,
                loss,
                1 - loss / 2.5,
                1e-3,
                norms,
                norms,
                1000.0,
                step / 600,
                (600 - step) / 100,
            )
        )
        if batch == 199:
            plots.add_epoch(
                EpochRecord(
                    0,
                    epoch,
                    loss,
                    1 - loss / 2.5,
                    loss * 1.1,
                    1 - loss / 2.3,
                    1e-3,
                    norms,
                    norms,
                    1.0,
                    1000.0,
                )
            )
        if step == 250:
            plots.mark(step, "lr → 0.01")
        state["step"] = step + 1

    timer = QTimer()
    timer.timeout.connect(feed)
    timer.start(5)
    plots.resize(1000, 700)
    plots.show()
    sys.exit(app.exec())


if __name__ == "__main__":  # pragma: no cover
    _demo()
