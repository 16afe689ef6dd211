"""The pyqtgraph pieces the live plots are built from, and the colours they share.

- :func:`make_plot`: a plot styled once for speed (clip to view, peak downsampling, axes
  cached as pixmaps, a y range that moves in steps: :class:`SteadyViewBox`) and for the
  palette's foreground colour.
- :func:`steady_range`: the y range that shows the data, kept while it still fits them well.
- :func:`set_curve`: gives a curve its points, turning non-finite values into gaps.
- :func:`make_heatmap`: the layers x steps image (``log10 ‖∇W‖`` or another of
  :data:`~model.series.LAYER_METRICS`) with its colour bar.
- :class:`PreviousRunOverlay`: the last run, faint and dashed, behind the current one.
- :class:`StepMarkers`: labelled vertical lines across the plots (a learning-rate change).
- :func:`curves_key_html`, :func:`layer_legend_html` and :func:`diagnoses_html`: the rich text shown beside the plots. Keys and legends are labels, not pyqtgraph legends inside
  the plots: those hid the newest points and were redrawn, in Python, with every frame.

The colours are Okabe-Ito's first, so layers stay distinguishable with common
colour-vision deficiencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from model.diagnosis import Diagnosis
from model.series import HEATMAP_LEVELS, RECENT_BATCHES, RunSeries

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
ERROR_COLOR: Final = "#B2182B"
WARNING_COLOR: Final = "#A6611A"
KEEP_FILL: Final = 0.5
"""A y range is kept while the data fill at least this share of it (and fit in it)."""
ESCAPE_ROOM: Final = 0.3
"""Data leaving the y range get this share of their span of room on the side they left by."""
FIT_ROOM: Final = 0.1
"""Otherwise a new y range leaves this share of the data's span each side."""
SIGN_SLACK: Final = 0.05
"""Data below zero by less than this share of their span (a symbol's padding) keep a loss's axis at zero."""
STEPS_PER_RANGE: Final = 10
"""A new y range is rounded out to a 1-2-5 step of about a tenth of the data's span."""
MAX_LABELLED_MARKERS: Final = 12
"""More markers than this (a schedule that changes the rate every epoch) keep their tooltips, not their labels."""


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


def _nice_step(span: float) -> float:
    """The 1, 2 or 5 times a power of ten nearest above ``span`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(span))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= span:
            return factor * power
    return 10.0 * power  # pragma: no cover - span < 10 * power always


def steady_range(
    current: tuple[float, float] | None, low: float, high: float, keep_sign: bool = True
) -> tuple[float, float]:
    """The y range that shows data from ``low`` to ``high``, given the one shown now.

    The current range is kept while the data fit in it and fill at least
    :data:`KEEP_FILL` of it. Data that leave it get :data:`ESCAPE_ROOM` of their span of
    room on the side they left by (a falling loss goes on falling), the other side staying
    put while the data still fill the range; otherwise (a first range, data that shrank)
    the data get a close fit, :data:`FIT_ROOM` of their span each side. The new bounds
    are rounded out to a 1-2-5 step of about a tenth of the data's span, and do not cross
    zero where the data do not, but for a symbol's padding (``keep_sign``; a log axis has
    no such zero). A falling loss then rescales the axis a few times in a run, not with
    every new point: each change of range redraws the axis and its grid (the costliest
    part of a frame), and an axis that moves all the time is hard to read.

    ``current`` ``None`` (or not finite) chooses afresh. Whatever the input, a range is
    returned and nothing is raised (it is called while Qt paints).
    """
    lo, hi = (float(v) for v in current) if current is not None else (math.nan, math.nan)
    span = high - low
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(span)) or high < low:
        return lo, hi
    known = math.isfinite(lo) and math.isfinite(hi) and lo < hi
    fits = known and lo <= low and high <= hi
    if fits and span >= KEEP_FILL * (hi - lo):
        return lo, hi
    try:
        return _new_range(lo, hi, known, fits, low, high, keep_sign)
    except (OverflowError, ValueError, ZeroDivisionError):  # beyond float's range or precision
        if known:
            return lo, hi
        return (low, high) if low < high else (math.nextafter(low, -math.inf), math.nextafter(high, math.inf))


def _new_range(
    lo: float, hi: float, known: bool, fits: bool, low: float, high: float, keep_sign: bool
) -> tuple[float, float]:
    """:func:`steady_range` when the current range ``(lo, hi)`` is not kept."""
    span = high - low
    # Flat data (a constant loss) get a tenth of their value, or one unit, each side.
    flat = not span > 0
    room = span if not flat else abs(low) * 0.1 or 1.0
    step = _nice_step(room / STEPS_PER_RANGE)
    fit_room = 1.0 if flat else FIT_ROOM

    def rounded(bottom: float, top: float) -> tuple[float, float]:
        bottom, top = math.floor(bottom / step) * step, math.ceil(top / step) * step
        if not keep_sign:
            return bottom, top
        # Data within SIGN_SLACK of zero are on its side: pyqtgraph pads for symbols.
        if low >= -SIGN_SLACK * room and bottom < min(0.0, low):
            bottom = min(0.0, low)
        elif high <= SIGN_SLACK * room and top > max(0.0, high) and low < 0:
            top = max(0.0, high)
        return bottom, top

    new_lo, new_hi = rounded(low - fit_room * room, high + fit_room * room)
    if known and not fits and low <= hi and high >= lo:
        # Data shown until now leave the range: room on the side they leave by, and the
        # side they stay inside stays put.
        out_lo, out_hi = rounded(low - ESCAPE_ROOM * room, high + ESCAPE_ROOM * room)
        bottom = out_lo if low < lo else lo
        top = out_hi if high > hi else hi
        if span >= KEEP_FILL * (top - bottom):
            new_lo, new_hi = bottom, top
    if not (new_lo <= low and high <= new_hi and new_lo < new_hi and math.isfinite(new_hi - new_lo)):
        raise ValueError("rounded beyond float's precision")
    return new_lo, new_hi


class SteadyViewBox(pg.ViewBox):  # type: ignore[misc] # pyqtgraph has no type hints
    """A ViewBox whose automatic y range moves in steps (:func:`steady_range`).

    Only the automatic range is steadied: a range the user or the code sets is shown as
    given, and zooming or panning turns the automatic range off as in any pyqtgraph plot.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._auto_ranging = False
        self._fresh = True  # the next automatic y range is chosen afresh, not kept

    def enableAutoRange(self, axis: object = None, enable: object = True, x: object = None, y: object = None) -> None:  # noqa: N802 - pyqtgraph's name
        # Turned back on (the "A" button, a new metric): the range shown is someone's
        # zoom, not one chosen for these data, so the next one fits the data afresh.
        was_on = bool(self.state["autoRange"][1])
        super().enableAutoRange(axis, enable, x, y)
        if not was_on and self.state["autoRange"][1]:
            self._fresh = True  # pyqtgraph auto-ranges at the next paint

    def updateAutoRange(self) -> None:  # noqa: N802 - pyqtgraph's name
        self._auto_ranging = True
        try:
            super().updateAutoRange()
        finally:
            self._auto_ranging = False

    def setRange(self, rect: object = None, xRange: object = None, yRange: object = None, *args: object, **kwargs: object) -> None:  # noqa: N802, N803 - pyqtgraph's names
        if self._auto_ranging and yRange is not None:
            low, high = (float(v) for v in yRange)  # type: ignore[attr-defined]
            # pyqtgraph padded the data's bounds by this share of their span each side.
            padding = self.suggestPadding(1)
            pad = padding * (high - low) / (1 + 2 * padding)
            current = None if self._fresh else tuple(self.viewRange()[1])
            yRange = steady_range(current, low + pad, high - pad, keep_sign=not self.state["logMode"][1])
            self._fresh = False
        super().setRange(rect, xRange, yRange, *args, **kwargs)


def make_plot(title: str, y_label: str, foreground: QColor) -> pg.PlotItem:
    """A plot over steps with ``title`` and ``y_label``, drawn in ``foreground``."""
    plot = pg.PlotItem(title=title, viewBox=SteadyViewBox())
    plot.titleLabel.setText(title, color=foreground, size="10pt")
    plot.setLabel("bottom", "step (batches)", color=foreground.name())
    if y_label:
        plot.setLabel("left", y_label, color=foreground.name())
    for axis in ("left", "bottom"):
        # Real values on the ticks: never "loss (x0.001)" with ticks 150-200.
        plot.getAxis(axis).enableAutoSIPrefix(False)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setPen(foreground)
        plot.getAxis(axis).setTextPen(foreground)
    plot.showGrid(x=True, y=True, alpha=0.15)
    for axis in ("left", "bottom"):
        # Cached as pixmaps: a new point dirties the whole view, axes and grid included,
        # and replaying their drawing every frame cost more than drawing the curves.
        plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setMenuEnabled(False)
    return plot


def make_heatmap(plot: pg.PlotItem, foreground: QColor) -> tuple[pg.ImageItem, pg.ColorBarItem]:
    """Add the gradient-norm image and its colour bar (fixed to :data:`HEATMAP_LEVELS`) to ``plot``."""
    image = pg.ImageItem(axisOrder="row-major")
    plot.addItem(image)
    colorbar = pg.ColorBarItem(
        values=HEATMAP_LEVELS,
        colorMap="viridis",
        interactive=False,
        width=12,
        label="log10 ‖∇W‖",
    )
    colorbar.setImageItem(image, insert_in=plot)
    axis = colorbar.getAxis("right")
    axis.enableAutoSIPrefix(False)
    axis.setPen(foreground)
    axis.setTextPen(foreground)
    return image, colorbar


class PreviousRunOverlay:
    """The previous run's smoothed curves and validation points, faint and behind the current run's.

    Args:
        loss_plot: Gets the previous smoothed loss and validation loss.
        accuracy_plot: Gets the previous smoothed accuracy and validation accuracy.
        grad_plot: Gets one dashed curve per layer of the previous run, in the layer's colour.
    """

    def __init__(self, loss_plot: pg.PlotItem, accuracy_plot: pg.PlotItem, grad_plot: pg.PlotItem) -> None:
        self._grad_plot = grad_plot
        self._grad_curves: list[pg.PlotDataItem] = []
        # The previous run: faint and dashed.
        prev_pen = pg.mkPen(QColor(128, 128, 128, 140), style=Qt.PenStyle.DashLine)
        self.loss_curve = pg.PlotDataItem(pen=prev_pen)
        self.val_loss_curve = pg.PlotDataItem(
            pen=prev_pen, symbol="s", symbolSize=5, symbolBrush=QColor(128, 128, 128, 120), symbolPen=None
        )
        self.accuracy_curve = pg.PlotDataItem(pen=prev_pen)
        self.val_accuracy_curve = pg.PlotDataItem(
            pen=prev_pen, symbol="s", symbolSize=5, symbolBrush=QColor(128, 128, 128, 120), symbolPen=None
        )
        for plot, curves in (
            (loss_plot, (self.loss_curve, self.val_loss_curve)),
            (accuracy_plot, (self.accuracy_curve, self.val_accuracy_curve)),
        ):
            for curve in curves:
                curve.setZValue(-10)
                plot.addItem(curve)

    def show(self, prev: RunSeries | None) -> None:
        """Draw ``prev``, or nothing when it is ``None``."""
        for curve in self._grad_curves:
            self._grad_plot.removeItem(curve)
        self._grad_curves = []
        if prev is None:
            for curve in (
                self.loss_curve,
                self.val_loss_curve,
                self.accuracy_curve,
                self.val_accuracy_curve,
            ):
                curve.setData([], [])
            return
        b, e = prev.batches.view, prev.epochs.view
        set_curve(self.loss_curve, b[:, 0], b[:, 2])
        set_curve(self.accuracy_curve, b[:, 0], b[:, 4])
        set_curve(self.val_loss_curve, e[:, 0], e[:, 3])
        set_curve(self.val_accuracy_curve, e[:, 0], e[:, 4])
        smooth = prev.grad_smooth.view
        for i in range(len(prev.layer_names)):
            color = QColor(LAYER_COLORS[i % len(LAYER_COLORS)])
            color.setAlpha(80)
            curve = pg.PlotDataItem(pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
            set_curve(curve, b[:, 0], smooth[:, i])
            curve.setZValue(-10)
            self._grad_plot.addItem(curve)
            self._grad_curves.append(curve)


class StepMarkers:
    """Dashed vertical lines at chosen steps, across ``plots``; the first plot labels them.

    Args:
        plots: The plots that show every marker; the text is written on the first.
    """

    def __init__(self, plots: Sequence[pg.PlotItem]) -> None:
        self._plots = tuple(plots)
        self._lines: list[pg.InfiniteLine] = []
        self._labelled: list[pg.InfiniteLine] = []

    def add(self, step: int, text: str) -> None:
        """Draw a line at ``step``, labelled and tooltipped with ``text``."""
        pen = pg.mkPen(MARKER_COLOR, style=Qt.PenStyle.DashLine)
        for plot in self._plots:
            line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=pen)
            if plot is self._plots[0]:
                line.label = pg.InfLineLabel(
                    line, text=text, position=0.92, rotateAxis=(1, 0), anchor=(1, 1), color=MARKER_COLOR
                )
                self._labelled.append(line)
            line.setToolTip(text)
            plot.addItem(line, ignoreBounds=True)
            self._lines.append(line)
        if len(self._labelled) > MAX_LABELLED_MARKERS:
            # So many labels would overlap into a smear: the lines and tooltips say it.
            for labelled in self._labelled:
                labelled.label.setVisible(False)

    def clear(self) -> None:
        """Remove every line drawn so far."""
        for plot in self._plots:
            for line in self._lines:
                if line in plot.items:
                    plot.removeItem(line)
        self._lines = []
        self._labelled = []


def curves_key_html() -> str:
    """The key to the loss and accuracy curves, as rich text."""
    faint = "color:#9DBEDC"
    return (
        f"<span style='{faint}'>━</span> batch &nbsp; "
        f"<span style='color:{TRAIN_COLOR}'>━</span> smoothed (EMA) &nbsp; "
        f"<span style='color:{TRAIN_COLOR}'>●</span> epoch, training &nbsp; "
        f"<span style='color:{VALIDATION_COLOR}'>■</span> epoch, validation &nbsp; "
        "<span style='color:#888888'>┅</span> previous run"
    )


def layer_legend_html(names: Sequence[str]) -> str:
    """The gradient plot's legend: each layer's name in its curve's colour (``""`` for none)."""
    entries = [
        f"<span style='color:{LAYER_COLORS[i % len(LAYER_COLORS)]}'>━</span>&nbsp;{escape(name)}"
        for i, name in enumerate(names)
    ]
    return "Layers: " + " &nbsp; ".join(entries) if entries else ""


def diagnoses_html(diagnoses: Sequence[Diagnosis]) -> str:
    """The diagnoses as rich text: each with what was found, why, and what to try (``""`` for none)."""
    items = []
    for d in diagnoses:
        color = ERROR_COLOR if d.severity == "error" else WARNING_COLOR
        items.append(
            f"<li><span style='color:{color}'><b>{'⛔' if d.severity == 'error' else '⚠'} {escape(d.title)}</b></span>: "
            f"{escape(d.finding)}.<br><i>Why:</i> {escape(d.why)}<br><i>Try:</i> {escape('; '.join(d.remedies))}.</li>"
        )
    if not items:
        return ""
    return f"<b>Diagnoses</b> (last {RECENT_BATCHES} batches):<ul style='margin:0; -qt-list-indent:1'>{''.join(items)}</ul>"
