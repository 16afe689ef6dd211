"""The Compare tab's plots: every trial's loss and accuracy overlaid, and its gradients side by side.

One colour per trial (Okabe-Ito's first, then dashed repeats), the same in the legend,
the curves and the heat maps' titles; the legend names what differs between the trials
(the trial's label, e.g. ``optimizer.learning_rate=0.1``). The x axis is in epochs, not
steps: trials that differ in batch size take very different numbers of steps per epoch
(one for full-batch descent, thousands for stochastic), and only epochs line them up.

Each trial's records go into a :class:`~model.series.RunSeries` of its own, as the
Training tab's do; the curves are redrawn from those buffers by the same
:class:`~gui.plot_pacing.RefreshPacer`, never once per record. A comparison read back
from its folder feeds the same buffers from its saved batch curves and epochs, so it is
drawn exactly like a live one.

The heat maps are small multiples: one layers x epochs image of ``log10 ‖∇W‖`` per trial,
all on the fixed colour range of :data:`~model.series.HEATMAP_LEVELS`, so a colour means
the same gradient norm in every trial and a vanishing stack stands out beside a healthy one.
"""

from __future__ import annotations

from html import escape
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.plot_items import LAYER_COLORS, make_plot, set_curve
from gui.plot_pacing import RefreshPacer, TimedPlotWidget
from model.events import BatchRecord, EpochRecord, RunStarted
from model.experiments import ComparisonState, TrialRecord, TrialRun
from model.series import HEATMAP_LEVELS, RunSeries

HEATMAP_COLUMNS: Final = 4
"""Small multiples per row."""
HEATMAP_HEIGHT: Final = 96

_STYLES: Final = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)


def trial_color(index: int) -> str:
    return LAYER_COLORS[index % len(LAYER_COLORS)]


def trial_pen(index: int, width: float = 2.0) -> pg.QtGui.QPen:
    style = _STYLES[(index // len(LAYER_COLORS)) % len(_STYLES)]
    return pg.mkPen(trial_color(index), width=width, style=style)


def legend_html(labels: list[str]) -> str:
    """Each trial's number and label in its colour (``""`` for none)."""
    entries = [
        f"<span style='color:{trial_color(i)}'>━━</span>&nbsp;{i + 1}.&nbsp;{escape(label)}"
        for i, label in enumerate(labels)
    ]
    return " &nbsp;&nbsp; ".join(entries)


def _series_of(run: TrialRun) -> RunSeries:
    """A trial's buffers from what it recorded so far (an opened comparison's saved curves)."""
    series = RunSeries()
    series.reset(run.layer_names, max(1, run.steps_per_epoch))
    b = run.batches
    width = b.grad_norms.shape[1] if b.grad_norms.ndim == 2 else 0
    empty = np.zeros(0)
    for i in range(len(b)):
        series.add_batch(
            BatchRecord(
                run.trial_id, int(b.epoch[i]), 0, int(b.step[i]), float(b.loss[i]), float(b.accuracy[i]),
                float(b.learning_rate[i]), b.grad_norms[i] if width else empty, empty, 0.0, 0.0, 0.0,
            )  # fmt: skip
        )
    for record in run.history:
        series.add_epoch(record)
    return series


class _TrialCurves:
    """One trial's curves in the shared plots and its own heat map."""

    def __init__(self, index: int, label: str, loss: pg.PlotItem, accuracy: pg.PlotItem, foreground: QColor) -> None:
        self.index = index
        self.series = RunSeries()
        self.partial: list[bool] = []  # per epoch record: cut short by a stop or a NaN
        pen = trial_pen(index)
        color = trial_color(index)
        self.loss = loss.plot(pen=pen, name=label)
        self.val_loss = loss.plot(pen=None, symbol="s", symbolSize=6, symbolBrush=color, symbolPen=None)
        self.accuracy = accuracy.plot(pen=pen, name=label)
        self.val_accuracy = accuracy.plot(pen=None, symbol="s", symbolSize=6, symbolBrush=color, symbolPen=None)
        self.heat_plot = make_plot(f"{index + 1}. {label}", "", foreground)
        self.heat_plot.titleLabel.setText(escape(f"{index + 1}. {label}"), color=color, size="8pt")
        self.heat_plot.setLabel("bottom", "epoch", color=foreground.name())
        self.heat_plot.invertY(True)
        self.heat_plot.setMouseEnabled(x=False, y=False)
        self.heat_plot.hideButtons()
        self.heat_image = pg.ImageItem(axisOrder="row-major")
        self.heat_image.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat_image)
        self.heat_plot.setToolTip(f"Trial {index + 1}: {label}\nlog10 ‖∇W‖ per layer (rows, input at the top) over epochs")

    def start(self, layer_names: tuple[str, ...], steps_per_epoch: int) -> None:
        self.series.reset(layer_names, max(1, steps_per_epoch))
        self.partial = []
        self._ticks()

    def add_epoch(self, record: EpochRecord) -> None:
        self.series.add_epoch(record)
        self.partial.append(record.partial)

    def _ticks(self) -> None:
        names = self.series.layer_names
        self.heat_plot.getAxis("left").setTicks([[(i + 0.5, str(i + 1)) for i in range(len(names))]])
        self.heat_plot.setYRange(0, max(1, len(names)), padding=0)
        self.heat_plot.setToolTip(
            f"{self.heat_plot.toolTip().split(chr(10))[0]}\nlog10 ‖∇W‖ over epochs; rows: "
            + ", ".join(f"{i + 1} {n}" for i, n in enumerate(names))
        )

    def redraw(self) -> None:
        s = self.series
        per = float(max(1, s.steps_per_epoch))
        b = s.batches.view
        x = (b[:, 0] + 1.0) / per
        set_curve(self.loss, x, b[:, 2])
        set_curve(self.accuracy, x, b[:, 4])
        e = s.epochs.view
        # An epoch's figures at its end: the reported batches are throttled, so the last one
        # reported may lie well before it (a fast epoch after the first batch's tracing).
        ex = np.arange(1.0, len(e) + 1.0)
        if len(e) and len(b) and self.partial[-1:] == [True]:
            ex[-1] = min(ex[-1], float(x[-1]))
        set_curve(self.val_loss, ex, e[:, 3])
        set_curve(self.val_accuracy, ex, e[:, 4])
        image, first, span = s.heatmap(max_columns=256)
        if image.shape[1]:
            self.heat_image.setImage(image, levels=HEATMAP_LEVELS, autoLevels=False)
            self.heat_image.setRect(QRectF(first / per, 0, span / per, image.shape[0]))
            self.heat_image.setVisible(True)
        else:
            self.heat_image.setVisible(False)


class ComparePlots(QWidget):
    """Loss and accuracy of every trial overlaid, a legend, and one heat map per trial.

    Feed it with :meth:`show_comparison` (the trials, and what they did so far) and
    :meth:`add_record`; it redraws itself on a timer.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        palette = self.palette()
        self._background = palette.color(QPalette.ColorRole.Base)
        self._foreground = palette.color(QPalette.ColorRole.Text)
        self._pacer = RefreshPacer(self, lambda: self.refresh())
        self.trials: list[_TrialCurves] = []

        self.loss_plot = make_plot("Loss (training, smoothed; ■ validation)", "loss", self._foreground)
        self.accuracy_plot = make_plot("Accuracy (training, smoothed; ■ validation)", "accuracy", self._foreground)
        for plot in (self.loss_plot, self.accuracy_plot):
            plot.setLabel("bottom", "epoch", color=self._foreground.name())
        self.accuracy_plot.setXLink(self.loss_plot)
        self.accuracy_plot.setYRange(0, 1, padding=0.02)
        self._widgets = {
            plot: TimedPlotWidget(self._pacer.paint_seconds, background=self._background, plotItem=plot)
            for plot in (self.loss_plot, self.accuracy_plot)
        }
        self.legend = QLabel()
        self.legend.setObjectName("compare-legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.heat_title = QLabel(
            "Gradient norms per trial: log10 ‖∇W‖ per layer (rows, input at the top) over epochs; "
            f"dark = {HEATMAP_LEVELS[0]:g} (vanishing), yellow = {HEATMAP_LEVELS[1]:g} (exploding)"
        )
        self.heat_title.setWordWrap(True)
        self.heat_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._heat_grid = QGridLayout()
        self._heat_grid.setSpacing(2)
        self._heat_widgets: list[TimedPlotWidget] = []

        top = QGridLayout()
        top.setSpacing(4)
        top.addWidget(self._widgets[self.loss_plot], 0, 0)
        top.addWidget(self._widgets[self.accuracy_plot], 0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.legend)
        layout.addLayout(top, 1)
        layout.addWidget(self.heat_title)
        layout.addLayout(self._heat_grid)

    # ------------------------------------------------------------------ feeding

    def show_comparison(self, state: ComparisonState) -> None:
        """Start over with ``state``'s trials, drawing what each recorded so far."""
        for trial in self.trials:
            for plot, curves in ((self.loss_plot, (trial.loss, trial.val_loss)),
                                 (self.accuracy_plot, (trial.accuracy, trial.val_accuracy))):  # fmt: skip
                for curve in curves:
                    plot.removeItem(curve)
        for widget in self._heat_widgets:
            self._heat_grid.removeWidget(widget)
            widget.deleteLater()
        self._heat_widgets = []
        self.trials = []
        labels = [run.trial.label for run in state.trials]
        epochs = max((run.trial.config.epochs for run in state.trials), default=1)
        for i, run in enumerate(state.trials):
            shown = _TrialCurves(i, labels[i], self.loss_plot, self.accuracy_plot, self._foreground)
            shown.series = _series_of(run)
            shown.partial = [r.partial for r in run.history]
            shown._ticks()
            self.trials.append(shown)
            widget = TimedPlotWidget(self._pacer.paint_seconds, background=self._background, plotItem=shown.heat_plot)
            widget.setMinimumHeight(HEATMAP_HEIGHT)
            widget.setMaximumHeight(int(HEATMAP_HEIGHT * 1.5))
            shown.heat_plot.setXRange(0, epochs, padding=0)
            self._heat_grid.addWidget(widget, i // HEATMAP_COLUMNS, i % HEATMAP_COLUMNS)
            self._heat_widgets.append(widget)
        self.legend.setText(legend_html(labels))
        self.loss_plot.setXRange(0, epochs, padding=0.02)
        self.loss_plot.enableAutoRange(axis="y")
        self._pacer.dirty = True
        self.refresh()

    def add_record(self, trial_id: int, record: TrialRecord) -> None:
        if not 0 <= trial_id < len(self.trials):
            return
        trial = self.trials[trial_id]
        if isinstance(record, RunStarted):
            trial.start(record.layer_names, record.steps_per_epoch)
        elif isinstance(record, BatchRecord):
            trial.series.add_batch(record)
        elif isinstance(record, EpochRecord):
            trial.add_epoch(record)
        else:
            return
        self._pacer.schedule()

    def legend_labels(self) -> list[str]:
        return [trial.loss.name() for trial in self.trials]

    # ------------------------------------------------------------------ drawing

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._pacer.catch_up()

    def refresh(self) -> None:
        """Redraw every trial from its buffers (the timer calls this; tests may too)."""
        self._pacer.dirty = False
        for trial in self.trials:
            trial.redraw()
