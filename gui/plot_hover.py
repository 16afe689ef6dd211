"""The hover readout of the live plots: a crosshair on every plot and the values under it.

The mouse position reaches :class:`HoverReadout` through a rate-limited
``pg.SignalProxy`` (at most 30 lookups a second), so sweeping the mouse over a long run
never floods the GUI thread. The text itself comes from :func:`describe_point`, a pure
lookup of the nearest reported batch in a :class:`~model.series.RunSeries`.

The crosshairs belong to the mouse: they go when it leaves a plot (or moves off the
plot area), when a new run or a saved history is shown (:meth:`HoverReadout.clear`), and
while the plots are exported (:meth:`HoverReadout.hidden`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from model.series import RunSeries

HOVER_HINT: Final = "Hover over a plot to read its values"
"""What the readout says while the mouse is over no point."""


def describe_point(series: RunSeries, kind: str, x: float, y: float, metric: str = "gradients") -> str:
    """The values under the mouse at step ``x`` (and row ``y`` of the heat map).

    Args:
        series: The run shown.
        kind: Which plot the mouse is over: ``"loss"``, ``"accuracy"``, ``"heatmap"``,
            or anything else for the layer curves.
        x: The step under the mouse; the nearest reported batch is described.
        y: The value under the mouse; on the heat map, which layer's row.
        metric: Which of :data:`~model.series.LAYER_METRICS` the layer curves and the
            heat map show.

    Returns:
        One line of text, or ``""`` while no batch has been reported.
    """
    s = series
    steps = s.batches.column(0)
    if not len(steps):
        return ""
    i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
    if i > 0 and abs(steps[i - 1] - x) < abs(steps[i] - x):
        i -= 1
    row = s.batches.view[i]
    head = f"step {int(row[0])}"
    if kind == "loss":
        return f"{head}: loss {row[1]:.4g} (smoothed {row[2]:.4g})"
    if kind == "accuracy":
        return f"{head}: accuracy {row[3]:.2%} (smoothed {row[4]:.2%})"
    values = s.layer_values(metric)[i]
    symbol = _SYMBOLS.get(metric, metric)
    if kind == "heatmap":
        layer = int(math.floor(y))
        if 0 <= layer < len(s.layer_names):
            return f"{head}: {s.layer_names[layer]} {symbol} = {_shown(values[layer], metric)}"
        return head
    parts = ", ".join(f"{name} {_shown(v, metric)}" for name, v in zip(s.layer_names, values, strict=False))
    return f"{head}: {symbol} {parts}"


_SYMBOLS: Final = {"gradients": "‖∇W‖", "updates": "‖ΔW‖/‖W‖", "dead": "dead", "saturation": "saturated"}


def _shown(value: float, metric: str) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.0%}" if metric in ("dead", "saturation") else f"{value:.3g}"


class HoverReadout(QObject):
    """Vertical crosshairs that follow the mouse on every plot, and a label saying what is there.

    Args:
        widgets: Each plot with the widget that shows it (whose scene reports the mouse).
        readout: The label that shows the text.
        foreground: The colour of the crosshairs.
        describe: The text for a plot at a point in its view coordinates (``""`` for none).
    """

    def __init__(
        self,
        widgets: Mapping[pg.PlotItem, pg.PlotWidget],
        readout: QLabel,
        foreground: QColor,
        describe: Callable[[pg.PlotItem, float, float], str],
    ) -> None:
        super().__init__(readout)
        self._readout = readout
        self._describe = describe
        self._crosshairs = {
            plot: pg.InfiniteLine(
                angle=90, movable=False, pen=pg.mkPen(foreground, width=1, style=Qt.PenStyle.DotLine)
            )
            for plot in widgets
        }
        for plot, line in self._crosshairs.items():
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        # Hover readout through a rate-limited proxy: at most 30 lookups a second.
        self._proxies = [
            pg.SignalProxy(widget.scene().sigMouseMoved, rateLimit=30, slot=self._make_hover(plot, widget))
            for plot, widget in widgets.items()
        ]
        # The proxy hands a move on up to 0.3 s late: one that comes after the mouse left
        # must not bring the crosshairs back.
        self._outside: set[QObject] = set()
        for widget in widgets.values():
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Leave:
            self._outside.add(watched)
            self.clear()
        elif event.type() == QEvent.Type.Enter:
            self._outside.discard(watched)
        return False

    def clear(self) -> None:
        """Hide the crosshairs and put the hint back (the mouse left, or another run is shown)."""
        for line in self._crosshairs.values():
            line.setVisible(False)
        self._readout.setText(HOVER_HINT)

    def visible(self) -> bool:
        """Whether the crosshairs show now."""
        return any(line.isVisible() for line in self._crosshairs.values())

    @contextmanager
    def hidden(self) -> Iterator[None]:
        """Hide the crosshairs for a while (an export), then show them as they were."""
        shown = {line: line.isVisible() for line in self._crosshairs.values()}
        for line in shown:
            line.setVisible(False)
        try:
            yield
        finally:
            for line, visible in shown.items():
                line.setVisible(visible)

    def _make_hover(self, plot: pg.PlotItem, widget: pg.PlotWidget) -> Callable[[tuple[QPointF]], None]:
        def on_mouse_moved(event: tuple[QPointF]) -> None:
            if widget not in self._outside:
                self.on_mouse_moved(plot, event[0])

        return on_mouse_moved

    def on_mouse_moved(self, plot: pg.PlotItem, pos: QPointF) -> None:
        """Move the crosshairs to the scene position ``pos`` over ``plot`` and say what is there.

        Off the plot's area (on its margin) they hide.
        """
        if not plot.sceneBoundingRect().contains(pos):
            self.clear()
            return
        point = plot.vb.mapSceneToView(pos)
        text = self._describe(plot, point.x(), point.y())
        for line in self._crosshairs.values():
            line.setPos(point.x())
            line.setVisible(bool(text))
        self._readout.setText(text or HOVER_HINT)
