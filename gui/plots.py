"""Live training plots: loss, accuracy and per-layer gradient norms.

Records from a run are appended to growing numpy buffers (:class:`~model.series.RunSeries`)
as they arrive; the curves, created once per run, are redrawn from those buffers by a
``QTimer`` at most :data:`~gui.plot_pacing.REFRESH_INTERVAL_MS` apart and only when
something changed (the pattern of pyqtgraph's ``scrollingPlots`` example). So a run with
batch size 1 costs the GUI one array append per batch, not one redraw.

The gradient-norm view is the point of the app: one curve per layer on a log scale plus a
layers x steps heat map of ``log10 ‖∇W‖``, so a vanishing or exploding layer stands out,
and a verdict in words (:data:`~model.series.VANISHING_GRAD_NORM`,
:data:`~model.series.EXPLODING_GRAD_NORM`).

:class:`TrainingPlots` is the composition and owns the run being shown; its parts are:

- :mod:`model.series`: the buffers, moving averages, verdicts and heat-map binning
  (numpy only, no Qt);
- :mod:`gui.plot_pacing`: when to redraw, adapting to the measured cost of drawing;
- :mod:`gui.plot_items`: the styled plots, colours, markers and rich-text keys;
- :mod:`gui.plot_hover`: the crosshairs and the readout of the values under the mouse;
- :mod:`gui.plot_export`: writing each plot to PNG or SVG;
- :mod:`gui.plot_demo`: the synthetic run for a manual look.

The names these modules took over from this one are re-exported here (see ``__all__``).

Run ``python -m gui.plots`` to see the panel on its own, fed with synthetic records
(:mod:`gui.plot_demo`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.plot_export import export_plot_images
from gui.plot_hover import HOVER_HINT, HoverReadout, describe_point
from gui.plot_items import (
    LAYER_COLORS,
    MARKER_COLOR,
    TRAIN_COLOR,
    VALIDATION_COLOR,
    PreviousRunOverlay,
    StepMarkers,
    curves_key_html,
    flags_html,
    layer_legend_html,
    make_heatmap,
    make_plot,
    set_curve,
)
from gui.plot_pacing import (
    FRAME_BUDGET,
    MAX_REFRESH_INTERVAL_MS,
    REFRESH_INTERVAL_MS,
    RefreshPacer,
    TimedPlotWidget,
)
from model.events import BatchRecord, EpochRecord, RunStarted
from model.series import (
    EXPLODING_GRAD_NORM,
    GRAD_FLOOR,
    HEATMAP_LEVELS,
    HEATMAP_MAX_COLUMNS,
    RECENT_BATCHES,
    SMOOTHING,
    VANISHING_GRAD_NORM,
    DebiasedEma,
    GrowingBuffer,
    RunSeries,
)

__all__ = [
    "EXPLODING_GRAD_NORM",
    "FRAME_BUDGET",
    "GRAD_FLOOR",
    "HEATMAP_LEVELS",
    "HEATMAP_MAX_COLUMNS",
    "LAYER_COLORS",
    "MARKER_COLOR",
    "MAX_REFRESH_INTERVAL_MS",
    "RECENT_BATCHES",
    "REFRESH_INTERVAL_MS",
    "SMOOTHING",
    "TRAIN_COLOR",
    "VALIDATION_COLOR",
    "VANISHING_GRAD_NORM",
    "DebiasedEma",
    "GrowingBuffer",
    "RunSeries",
    "TrainingPlots",
    "set_curve",
]

_PLOT_NAMES: Final = ("loss", "accuracy", "gradients", "heatmap")


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
        # Looked up at each tick, so that a refresh replaced on the instance is the one timed.
        self._pacer = RefreshPacer(self, lambda: self.refresh())
        self._flags: dict[str, str] = {}
        self._grad_curves: list[pg.PlotDataItem] = []
        self._grad_epoch_curves: list[pg.PlotDataItem] = []

        palette = self.palette()
        self._background = palette.color(QPalette.ColorRole.Base)
        self._foreground = palette.color(QPalette.ColorRole.Text)

        self.keep_previous = QCheckBox("Keep previous run")
        self.keep_previous.setToolTip("Show the last run's curves faintly for comparison")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove all curves, of this run and the previous one")
        self.readout = QLabel(HOVER_HINT)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.flags_label = QLabel()
        self.flags_label.setWordWrap(True)
        self.flags_label.setTextFormat(Qt.TextFormat.RichText)

        self.loss_plot = make_plot("Loss", "loss", self._foreground)
        self.accuracy_plot = make_plot("Accuracy", "accuracy", self._foreground)
        self.grad_plot = make_plot("Gradient norm per layer (smoothed)", "‖∇W‖ (L2 norm)", self._foreground)
        self.grad_plot.setLogMode(y=True)
        self.heatmap_plot = make_plot("log10 ‖∇W‖ per layer", "", self._foreground)
        self.heatmap_plot.invertY(True)
        self.heatmap_plot.setMouseEnabled(y=False)
        for plot in (self.accuracy_plot, self.grad_plot, self.heatmap_plot):
            plot.setXLink(self.loss_plot)

        # Keys and legends are labels beside the plots (see gui.plot_items).
        self.curves_key = QLabel(curves_key_html())
        self.curves_key.setTextFormat(Qt.TextFormat.RichText)
        self.curves_key.setWordWrap(True)
        self.curves_key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.grad_legend = QLabel()
        self.grad_legend.setTextFormat(Qt.TextFormat.RichText)
        self.grad_legend.setWordWrap(True)
        self._make_curves()
        self.heatmap_image, self.heatmap_colorbar = make_heatmap(self.heatmap_plot, self._foreground)
        self._set_heatmap_ticks()

        self._widgets = {
            plot: TimedPlotWidget(self._pacer.paint_seconds, background=self._background, plotItem=plot)
            for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot, self.heatmap_plot)
        }
        self._hover = HoverReadout(self._widgets, self.readout, self._foreground, self.describe_point)
        self._markers = StepMarkers((self.loss_plot, self.accuracy_plot, self.grad_plot))

        self._build_layout()
        self._connect()

    # ------------------------------------------------------------------ construction

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
        self._overlay = PreviousRunOverlay(self.loss_plot, self.accuracy_plot, self.grad_plot)
        self.previous_loss_curve = self._overlay.loss_curve
        self.previous_val_loss_curve = self._overlay.val_loss_curve
        self.previous_accuracy_curve = self._overlay.accuracy_curve
        self.previous_val_accuracy_curve = self._overlay.val_accuracy_curve
        self.accuracy_plot.setYRange(0, 1, padding=0.02)

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
        self._markers.clear()
        self._make_grad_curves()
        self._overlay.show(self._previous)
        self._set_heatmap_ticks()
        self._pacer.schedule()

    def add_batch(self, rec: BatchRecord) -> None:
        """Append one batch's figures; drawn at the next refresh."""
        self.series.add_batch(rec)
        self._pacer.schedule()

    def add_epoch(self, rec: EpochRecord) -> None:
        """Append one epoch's averages (training and validation)."""
        self.series.add_epoch(rec)
        self._pacer.schedule()

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
        self._markers.clear()
        self._make_grad_curves()
        self._overlay.show(self._previous)
        self._set_heatmap_ticks()
        self._pacer.dirty = True
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
        self.refresh()
        return export_plot_images(self.plot_items(), base, fmt)

    def plot_items(self) -> dict[str, pg.PlotItem]:
        """The plots by the short name used for exported files."""
        plots = (self.loss_plot, self.accuracy_plot, self.grad_plot, self.heatmap_plot)
        return dict(zip(_PLOT_NAMES, plots, strict=True))

    def mark(self, step: int, text: str) -> None:
        """Draw a labelled vertical line at ``step`` (e.g. a learning-rate change)."""
        self.series.markers.append((step, text))
        self._markers.add(step, text)

    def clear(self) -> None:
        """Remove every curve, marker and heat-map column, of this run and the previous."""
        self._previous = None
        self.series.reset(self.series.layer_names, self.series.steps_per_epoch)
        self._markers.clear()
        self._overlay.show(self._previous)
        self._pacer.dirty = True
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

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Catch up with what arrived while another tab was showing."""
        super().showEvent(event)
        self._pacer.catch_up()

    @property
    def refresh_interval_ms(self) -> int:
        """The current redraw interval (it adapts to the cost of drawing)."""
        return self._pacer.interval_ms

    def refresh(self) -> None:
        """Redraw every curve from the buffers (the timer calls this; tests may too)."""
        self._pacer.dirty = False
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
        self.flags_label.setText(flags_html(flags))
        self.flagsChanged.emit(dict(flags))

    def _make_grad_curves(self) -> None:
        for curve in (*self._grad_curves, *self._grad_epoch_curves):
            self.grad_plot.removeItem(curve)
        self._grad_curves = []
        self._grad_epoch_curves = []
        for i, name in enumerate(self.series.layer_names):
            color = LAYER_COLORS[i % len(LAYER_COLORS)]
            curve = self.grad_plot.plot(pen=pg.mkPen(color), name=name)
            self._grad_curves.append(curve)
            # Epoch means as dots: all a saved history has, and a steady read during a run.
            dots = self.grad_plot.plot(pen=None, symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None)
            self._grad_epoch_curves.append(dots)
        self.grad_legend.setText(layer_legend_html(self.series.layer_names))
        self._flags = {}
        self.flags_label.setText("")

    def legend_names(self) -> list[str]:
        """The gradient plot's legend, in order: the layers with weights, input to output."""
        return [curve.name() for curve in self._grad_curves]

    def _set_heatmap_ticks(self) -> None:
        names = self.series.layer_names
        self.heatmap_plot.getAxis("left").setTicks([[(i + 0.5, name) for i, name in enumerate(names)]])
        self.heatmap_plot.setYRange(0, max(1, len(names)), padding=0)
        self.heatmap_image.setVisible(False)

    def marker_steps(self) -> list[int]:
        """The steps of the markers drawn for the current run."""
        return [step for step, _ in self.series.markers]

    # ------------------------------------------------------------------ hover

    def describe_point(self, plot: pg.PlotItem, x: float, y: float) -> str:
        """The values under the mouse at step ``x`` (and row ``y`` of the heat map)."""
        kind = next((name for name, item in self.plot_items().items() if item is plot), "gradients")
        return describe_point(self.series, kind, x, y)


if __name__ == "__main__":  # pragma: no cover - a manual look
    from gui.plot_demo import main

    main(TrainingPlots)
