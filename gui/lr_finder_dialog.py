"""The learning-rate range test's window: the options, the live curve, the suggestion.

:class:`LrFinderDialog` is a plain view (it does not know the session): it asks for a test
with :attr:`~LrFinderDialog.runRequested` (a :class:`~model.lr_finder.RangeTestSpec`), to
stop one with :attr:`~LrFinderDialog.stopRequested`, and offers a rate with
:attr:`~LrFinderDialog.rateChosen` when the curve is clicked (the nearest tested rate) or
"Use suggested rate" is pressed. The owner feeds it :meth:`add_point` while the test runs
and :meth:`show_result` at its end.

The curve is loss against learning rate on a log axis: each batch's own loss, faint, and
the smoothed loss; the suggestion is marked with a line and a dot, and its rule is written
out below the plot. Points are drawn at most every :data:`REDRAW_MS`.

Run ``python -m gui.lr_finder_dialog`` for a look at a synthetic curve.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.plot_items import MARKER_COLOR, TRAIN_COLOR, set_curve
from model.errors import ConfigError
from model.lr_finder import (
    DEFAULT_END,
    DEFAULT_START,
    DEFAULT_STEPS,
    RangePoint,
    RangeTestResult,
    RangeTestSpec,
)

REDRAW_MS: Final = 50
CHOSEN_COLOR: Final = "#009E73"

ABOUT: Final = (
    "A short run of a copy of your network while the learning rate rises by the same factor every batch. "
    "The loss first barely moves, then falls, then blows up; a good rate sits where it falls fastest. "
    "Your model and its optimizer are not touched. Click the curve to use a rate."
)


def rate_text(rate: float) -> str:
    """A rate as a tick label: ``0.001``, ``10``, ``1e-7`` (never pyqtgraph's mixed ``10¹``)."""
    if 1e-3 <= rate < 1e3:
        return f"{rate:g}"
    mantissa, exponent = f"{rate:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


class RateAxis(pg.AxisItem):
    """The learning-rate axis: log ticks labelled as the rates themselves."""

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph's name
        return [rate_text(10.0 ** v * scale) for v in values]


class LrFinderDialog(QDialog):
    """The range test's options, curve and suggestion (non-modal)."""

    runRequested = Signal(object)  # RangeTestSpec
    stopRequested = Signal()
    rateChosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lr-finder")
        self.setWindowTitle("Find a learning rate — Gradient Lab")
        self._rates: list[float] = []
        self._losses: list[float] = []
        self._smoothed: list[float] = []
        self.result: RangeTestResult | None = None
        self._running = False
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._draw)
        self._build()
        self._connect()
        self.set_running(False)
        self.resize(760, 560)

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        about = QLabel(ABOUT)
        about.setWordWrap(True)
        self.start_edit = QLineEdit(f"{DEFAULT_START:g}")
        self.start_edit.setObjectName("lr-start")
        self.start_edit.setToolTip("The first learning rate of the test")
        self.end_edit = QLineEdit(f"{DEFAULT_END:g}")
        self.end_edit.setObjectName("lr-end")
        self.end_edit.setToolTip("The last learning rate, if the loss has not blown up before")
        self.steps_box = QSpinBox()
        self.steps_box.setObjectName("lr-steps")
        self.steps_box.setRange(10, 100_000)
        self.steps_box.setValue(DEFAULT_STEPS)
        self.steps_box.setToolTip("Batches the test trains (each with a higher rate)")
        form = QFormLayout()
        form.addRow("From rate", self.start_edit)
        form.addRow("To rate", self.end_edit)
        form.addRow("Batches", self.steps_box)

        self.run_button = QPushButton("&Run test")
        self.run_button.setDefault(True)
        self.stop_button = QPushButton("S&top")
        self.use_button = QPushButton("&Use suggested rate")
        self.use_button.setToolTip("Set the optimizer's learning rate in the settings to the suggestion")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.close_button)

        palette = self.palette()
        foreground = palette.color(QPalette.ColorRole.Text)
        self.plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base),
                                  axisItems={"bottom": RateAxis("bottom")})  # fmt: skip
        item = self.plot.getPlotItem()
        item.setLogMode(x=True, y=False)
        # Without this the log axis reads "1, 10¹" with "(x0.001)" beside the label.
        item.getAxis("bottom").enableAutoSIPrefix(False)
        item.setLabel("bottom", "learning rate (log scale)", color=foreground.name())
        item.setLabel("left", "loss", color=foreground.name())
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()  # the auto-range "A" would sit where the clicks choose a rate
        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(80)
        self.raw_curve = item.plot(pen=pg.mkPen(faint), name="batch loss")
        self.smooth_curve = item.plot(pen=pg.mkPen(TRAIN_COLOR, width=2), name="smoothed")
        self.suggestion_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARKER_COLOR, style=Qt.PenStyle.DashLine))
        self.suggestion_dot = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARKER_COLOR), pen=None)
        self.chosen_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CHOSEN_COLOR, width=2))
        for marker in (self.suggestion_line, self.chosen_line):
            marker.setVisible(False)
            item.addItem(marker, ignoreBounds=True)
        item.addItem(self.suggestion_dot)
        self.plot.setToolTip("Click to use the learning rate under the mouse")
        key = QLabel(
            f"<span style='color:#9DBEDC'>━</span> each batch's own loss &nbsp; "
            f"<span style='color:{TRAIN_COLOR}'>━</span> smoothed (debiased moving average) &nbsp; "
            f"<span style='color:{MARKER_COLOR}'>┆●</span> suggestion &nbsp; "
            f"<span style='color:{CHOSEN_COLOR}'>┃</span> chosen"
        )
        key.setTextFormat(Qt.TextFormat.RichText)

        self.status = QLabel()
        self.status.setObjectName("lr-status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rule = QLabel()
        self.rule.setObjectName("lr-rule")
        self.rule.setWordWrap(True)
        self.rule.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(about, 1)
        top.addLayout(form)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(key)
        layout.addWidget(self.rule)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.run_button.clicked.connect(self._on_run_clicked)
        self.stop_button.clicked.connect(self.stopRequested)
        self.use_button.clicked.connect(self._on_use_clicked)
        self.close_button.clicked.connect(self.close)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)

    # ------------------------------------------------------------------ the owner's side

    def spec(self) -> RangeTestSpec:
        """The options as a spec.

        Raises:
            ConfigError: naming the option that is not valid.
        """
        values = {}
        for name, edit in (("start", self.start_edit), ("end", self.end_edit)):
            try:
                values[name] = float(edit.text().strip())
            except ValueError:
                raise ConfigError(name, f"must be a number such as 1e-7, got {edit.text()!r}") from None
        return RangeTestSpec(start=values["start"], end=values["end"], steps=self.steps_box.value())

    def set_running(self, running: bool, message: str = "") -> None:
        self._running = running
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (self.start_edit, self.end_edit, self.steps_box):
            widget.setEnabled(not running)
        self.use_button.setEnabled(not running and self.result is not None and self.result.suggestion is not None)
        if message:
            self.show_status(message)

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #B2182B;" if error else "")

    def begin(self) -> None:
        """A test has started: clear the curve."""
        self._rates, self._losses, self._smoothed = [], [], []
        self.result = None
        self.rule.clear()
        for marker in (self.suggestion_line, self.chosen_line):
            marker.setVisible(False)
        self.suggestion_dot.setData([], [])
        self.set_running(True, "Loading the data and building a copy of the network…")
        self._draw()

    def add_point(self, point: RangePoint) -> None:
        self._rates.append(point.rate)
        self._losses.append(point.loss)
        self._smoothed.append(point.smoothed)
        self.show_status(
            f"batch {point.step + 1} · learning rate {point.rate:.2e} · loss {point.loss:.4f} "
            f"(smoothed {point.smoothed:.4f}) · {point.progress:.0%} of the batches"
        )
        if not self._redraw.isActive():
            self._redraw.start()

    def show_result(self, result: RangeTestResult | None, message: str) -> None:
        """The test's end: its curve and suggestion, or why there is none."""
        self.result = result
        if result is None:
            self.set_running(False)
            self.show_status(message, error=True)
            return
        self._rates, self._losses, self._smoothed = list(result.rates), list(result.losses), list(result.smoothed)
        self._draw()
        suggestion = result.suggestion
        if suggestion is not None:
            x = math.log10(suggestion.rate)
            self.suggestion_line.setPos(x)
            self.suggestion_line.setVisible(True)
            self.suggestion_dot.setData([x], [float(result.smoothed[suggestion.index])])
            self.rule.setText(f"<b>{suggestion.rule[0].upper()}{suggestion.rule[1:]}</b>.")
        else:
            self.rule.setText("No suggestion: the smoothed loss never fell. Start at a lower rate or run more batches.")
        self.set_running(False, f"{len(result.rates)} batches; {result.ended}.")

    def choose(self, rate: float) -> None:
        """Mark ``rate`` as chosen and offer it (what a click on the curve does)."""
        self.chosen_line.setPos(math.log10(rate))
        self.chosen_line.setVisible(True)
        self.show_status(f"Learning rate {rate:.3g} set in the settings.")
        self.rateChosen.emit(rate)

    # ------------------------------------------------------------------ drawing and input

    def _draw(self) -> None:
        rates = np.asarray(self._rates, dtype=np.float64)
        set_curve(self.raw_curve, rates, np.asarray(self._losses, dtype=np.float64))
        set_curve(self.smooth_curve, rates, np.asarray(self._smoothed, dtype=np.float64))
        if len(rates):
            finite = np.asarray(self._smoothed)[np.isfinite(self._smoothed)]
            if len(finite):
                # A blow-up would squash the interesting part: the view stops at 1.5x the early loss.
                top = 1.5 * float(np.max(finite[: max(1, len(finite) // 4)]))
                self.plot.getPlotItem().setYRange(0, top, padding=0.02)

    def _on_run_clicked(self) -> None:
        try:
            spec = self.spec()
        except ConfigError as exc:
            self.show_status(str(exc), error=True)
            return
        self.runRequested.emit(spec)

    def _on_use_clicked(self) -> None:
        if self.result is not None and self.result.suggestion is not None:
            self.choose(self.result.suggestion.rate)

    def _on_plot_clicked(self, event: Any) -> None:
        if self._running or not self._rates or event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.plot.getPlotItem().vb
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        x = box.mapSceneToView(event.scenePos()).x()  # log10 of the rate
        rates = np.asarray(self._rates)
        nearest = float(rates[int(np.argmin(np.abs(np.log10(rates) - x)))])
        self.choose(nearest)


def main() -> int:
    """A synthetic curve, for a look."""
    from model.lr_finder import analyze

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rates = np.geomspace(1e-7, 10, 200)
    log_rates = np.log10(rates)
    rng = np.random.default_rng(0)
    losses = 2.3 - 2.0 / (1 + np.exp(-(log_rates + 3) * 3)) + np.where(log_rates > -1.5, (log_rates + 1.5) ** 2 * 8, 0)
    losses = losses + rng.normal(0, 0.05, len(rates))
    dialog = LrFinderDialog()
    dialog.show_result(analyze(rates[:170], losses[:170], RangeTestSpec(), "stopped at 1.0: the loss blew up"), "")
    dialog.rateChosen.connect(lambda rate: print(f"chosen {rate:.3g}"))
    dialog.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
