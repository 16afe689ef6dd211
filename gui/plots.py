"""Live training plots: loss, accuracy and per-layer gradient norms.

Records from a run are appended to growing numpy buffers (:class:`~model.series.RunSeries`)
as they arrive; the curves, created once per run, are redrawn from those buffers by a
``QTimer`` at most :data:`~gui.plot_pacing.REFRESH_INTERVAL_MS` apart and only when
something changed (the pattern of pyqtgraph's ``scrollingPlots`` example). So a run with
batch size 1 costs the GUI one array append per batch, not one redraw.

The layer view is the point of the app: one curve per layer plus a layers x steps heat
map of the figure chosen in "Layer health" (:data:`~model.series.LAYER_METRICS`: the
gradient norm ``‖∇W‖``, the update ratio ``‖ΔW‖/‖W‖``, the share of dead ReLU units or
of saturated sigmoid/tanh outputs), so a vanishing, exploding, dead or stuck layer stands
out, and beside them the diagnoses in words, each with why and what to try
(:mod:`model.diagnosis`). Learning-rate changes are marked on every plot, the heat map
included.

An opened run replays its saved batch history (:class:`~model.batches.BatchHistory`)
through the same path as a live run's records, so it shows exactly what the run showed.

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
    QComboBox,
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
    diagnoses_html,
    layer_legend_html,
    make_heatmap,
    make_plot,
    set_curve,
)
from gui.plot_pacing import (
    FRAME_BUDGET_PER_CPU,
    MAX_REFRESH_INTERVAL_MS,
    REFRESH_INTERVAL_MS,
    RefreshPacer,
    TimedPlotWidget,
)
from model.batches import BatchHistory
from model.diagnosis import CHECK_EVERY, Diagnosis, RunContext
from model.events import BatchRecord, EpochRecord, RunStarted
from model.series import (
    EXPLODING_GRAD_NORM,
    GRAD_FLOOR,
    HEATMAP_LEVELS,
    HEATMAP_MAX_COLUMNS,
    LAYER_METRICS,
    RECENT_BATCHES,
    SMOOTHING,
    VANISHING_GRAD_NORM,
    DebiasedEma,
    GrowingBuffer,
    RunSeries,
)

__all__ = [
    "EXPLODING_GRAD_NORM",
    "FRAME_BUDGET_PER_CPU",
    "GRAD_FLOOR",
    "HEATMAP_LEVELS",
    "HEATMAP_MAX_COLUMNS",
    "LAYER_COLORS",
    "LAYER_METRICS",
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
    :meth:`mark`, or :meth:`show_history` for a saved run; it redraws itself on a timer.
    The owner filters out stale runs first.

    Signals:
        flagsChanged(dict): the vanishing/exploding verdicts changed.
    """

    flagsChanged = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = RunSeries()
        self._previous: RunSeries | None = None
        # Looked up at each tick, so that a refresh replaced on the instance is the one timed.
        self._pacer = RefreshPacer(self, lambda: self.refresh_part())
        # The plots a timer tick still has to redraw, one per tick (see refresh_part).
        self._stale: set[str] = set()
        self._next_part = 0
        self._flags: dict[str, str] = {}
        self._diagnoses: list[Diagnosis] = []
        self._flags_due = True  # the next gradient redraw diagnoses, however few batches came
        self._epochs_drawn: dict[str, tuple[object, ...]] = {}  # per plot: what its epoch points show
        self._flags_at = 0  # batches in the series when it last did
        self._context: RunContext | None = None
        self.layer_metric = "gradients"  # which of LAYER_METRICS the layer curves and the heat map show
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
        self.flags_label = QLabel()  # the diagnoses
        self.flags_label.setWordWrap(True)
        self.flags_label.setTextFormat(Qt.TextFormat.RichText)
        self.flags_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.metric_choice = QComboBox()
        for key, spec in LAYER_METRICS.items():
            self.metric_choice.addItem(spec.choice, key)
        # Narrow, so the selector does not widen the window's minimum size.
        self.metric_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.metric_choice.setMinimumContentsLength(6)
        self.metric_choice.setToolTip(
            "What the layer curves and the heat map show: the gradient norm, the size of each update "
            "against the weights (about 1e-3 is healthy), the share of ReLU units at 0 for a whole batch, "
            "or the share of sigmoid/tanh outputs near their asymptotes"
        )

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
        self._markers = StepMarkers((self.loss_plot, self.accuracy_plot, self.grad_plot, self.heatmap_plot))

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
        layers = QVBoxLayout()
        choice = QHBoxLayout()
        choice.addWidget(QLabel("Layer health:"))
        choice.addWidget(self.metric_choice, 1)
        layers.addLayout(choice)
        layers.addWidget(self.grad_legend)
        layers.addStretch(1)
        grid.addLayout(layers, 2, 0)
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
        self.metric_choice.currentIndexChanged.connect(self._on_metric_changed)

    # ------------------------------------------------------------------ feeding

    def start_run(
        self,
        info: RunStarted,
        history: Sequence[EpochRecord] = (),
        batches: BatchHistory | None = None,
        context: RunContext | None = None,
    ) -> None:
        """Begin plotting a new run; the old one becomes the faint comparison if kept.

        ``history`` and ``batches`` are the saved epochs and batches of a resumed run: they
        are drawn first, so the new ones continue them (``info.initial_epoch`` says where).
        ``context`` (the run's configuration, in the terms of :mod:`model.diagnosis`) makes
        the diagnoses' remedies specific.
        """
        if self.isVisible():
            self._hold_paints()
        self._begin(tuple(info.layer_names), info.steps_per_epoch, history, batches, context)
        # The whole run's width from the start: the x axis then never changes while
        # points arrive (cheaper to draw), and the curves show how far the run has got.
        first = 0 if history else info.initial_epoch * info.steps_per_epoch
        last = info.epochs * info.steps_per_epoch - 1
        if self._previous is not None:
            last = max(last, self._previous.last_step)
        self.loss_plot.setXRange(first, max(last, first + 1), padding=0.02)
        self._next_part = 0
        self.redraw_soon()
        if self.paints_held():
            self._pacer.hurry()  # the held plots at the shortest interval, not up to 0.5 s apart

    def _begin(
        self,
        layer_names: tuple[str, ...],
        steps_per_epoch: int,
        history: Sequence[EpochRecord],
        batches: BatchHistory | None,
        context: RunContext | None,
    ) -> None:
        """A new series for a run, with its saved epochs and batches replayed in the order they came."""
        self._previous = self.series if self.keep_previous.isChecked() and len(self.series.batches) else None
        self.series = RunSeries()
        self._epochs_drawn.clear()
        self.series.reset(layer_names, max(1, steps_per_epoch))
        self._context = context
        self._hover.clear()  # no crosshair of another run's figures
        self._markers.clear()
        records = batches.records() if batches is not None and batches.layer_names == layer_names else []
        # During training each epoch's batches arrived before the epoch's record.
        i = 0
        for epoch_record in history:
            j = i
            while j < len(records) and records[j].epoch <= epoch_record.epoch:
                j += 1
            self._add_batches(records[i:j])
            i = j
            self.series.add_epoch(epoch_record)
        self._add_batches(records[i:])
        self._reset_flags()  # the layer curves follow in the gradient plot's own redraw
        self._overlay.show(self._previous)
        self._set_heatmap_ticks()

    def _add_batches(self, records: Sequence[BatchRecord]) -> None:
        for marker in self.series.add_batches(records):
            self._markers.add(*marker)

    def add_batch(self, rec: BatchRecord) -> None:
        """Append one batch's figures; drawn at the next refresh (a new learning rate is marked)."""
        self.add_batches((rec,))

    def add_batches(self, records: Sequence[BatchRecord]) -> None:
        """Append several batches' figures at once (one numpy pass: cheaper than one each)."""
        if records:
            self._add_batches(records)
            self._mark_stale()  # not redraw_soon: the flags follow every CHECK_EVERY batches

    def add_epoch(self, rec: EpochRecord) -> None:
        """Append one epoch's averages (training and validation)."""
        self.series.add_epoch(rec)
        self.redraw_soon()

    def show_history(
        self,
        history: Sequence[EpochRecord],
        layer_names: tuple[str, ...],
        steps_per_epoch: int,
        batches: BatchHistory | None = None,
        context: RunContext | None = None,
    ) -> None:
        """Show a saved run: its epoch figures, and its batch history when it was saved.

        The batches are replayed as they came during training, so the curves, heat map,
        learning-rate markers and diagnoses are those the run showed (folders saved before
        batch histories existed show epoch points only). ``steps_per_epoch`` places each
        epoch on the step axis, as during training, so a resumed run's batches line up
        after them.
        """
        self._begin(tuple(layer_names), steps_per_epoch, history, batches, context)
        last = max(1, len(history) * self.series.steps_per_epoch - 1, self.series.last_step)
        self.loss_plot.setXRange(0, last, padding=0.02)
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
        legends = {"loss": self.loss_plot.listDataItems(), "gradients": self._grad_curves}
        with self._hover.hidden():
            return export_plot_images(
                self.plot_items(), base, fmt, legends, (self._foreground, self._background)
            )

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
        self._epochs_drawn.clear()
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
        self._release_paints()  # shown now: no plot may stay unpainted until its turn comes
        self._pacer.catch_up()

    def _hold_paints(self) -> None:
        """Keep every plot but the first from painting until the timer redraws it.

        A new run changes all four plots in one turn (the linked x range, the cleared
        curves, the overlay), and Qt would paint them in one go: 30-60 ms of the GUI
        thread at a run's start on this machine. Held, each plot paints in the tick that
        redraws it (see :meth:`refresh_part`).
        """
        for part, plot in self.plot_items().items():
            if part != _PLOT_NAMES[0]:
                self._widgets[plot].setUpdatesEnabled(False)

    def _release_paints(self) -> None:
        for widget in self._widgets.values():
            widget.setUpdatesEnabled(True)

    def paints_held(self) -> list[str]:
        """The plots kept from painting until their next redraw (see :meth:`_hold_paints`)."""
        return [part for part, plot in self.plot_items().items() if not self._widgets[plot].updatesEnabled()]

    @property
    def refresh_interval_ms(self) -> int:
        """The current redraw interval (it adapts to the cost of drawing)."""
        return self._pacer.interval_ms

    def _mark_stale(self) -> None:
        """Every plot is out of date: the timer redraws them from the buffers, one plot per tick."""
        self._stale.update(_PLOT_NAMES)
        self._pacer.schedule()

    def redraw_soon(self) -> None:
        """A full redraw, one plot per tick: the curves, and the diagnoses however few batches came."""
        self._flags_due = True
        self._mark_stale()

    def refresh(self) -> None:
        """Redraw every curve from the buffers (tests, exports and opened runs call this)."""
        self._flags_due = True
        for part in _PLOT_NAMES:
            self._draw(part)
        self._stale.clear()
        self._pacer.dirty = False

    def refresh_part(self) -> None:
        """Redraw the next out-of-date plot only (the timer calls this).

        One plot per tick: Qt paints every changed plot of a window in one go, and all four
        took the GUI thread 35-120 ms at once on this machine; one at a time, the event
        loop gets its turn between them. The pacer's interval adapts to this smaller cost,
        so the plots are as fresh as before.
        """
        for _ in _PLOT_NAMES:
            part = _PLOT_NAMES[self._next_part]
            self._next_part = (self._next_part + 1) % len(_PLOT_NAMES)
            if part in self._stale:
                self._stale.discard(part)
                self._draw(part)
                break
        self._pacer.dirty = bool(self._stale)
        if self.paints_held():
            self._pacer.hurry()

    def _draw(self, part: str) -> None:
        widget = self._widgets[self.plot_items()[part]]
        if not widget.updatesEnabled():
            widget.setUpdatesEnabled(True)  # its turn: it paints what is drawn now
        s = self.series
        b = s.batches.view
        steps = b[:, 0]
        e = s.epochs.view
        if part == "loss":
            set_curve(self.loss_batch_curve, steps, b[:, 1])
            set_curve(self.loss_smooth_curve, steps, b[:, 2])
            if self._epochs_changed(part):
                set_curve(self.loss_epoch_curve, e[:, 0], e[:, 1])
                set_curve(self.val_loss_curve, e[:, 0], e[:, 3])
        elif part == "accuracy":
            set_curve(self.accuracy_batch_curve, steps, b[:, 3])
            set_curve(self.accuracy_smooth_curve, steps, b[:, 4])
            if self._epochs_changed(part):
                set_curve(self.accuracy_epoch_curve, e[:, 0], e[:, 2])
                set_curve(self.val_accuracy_curve, e[:, 0], e[:, 4])
        elif part == "gradients":
            self._make_grad_curves()
            smooth = s.layer_smooth(self.layer_metric)
            for i, curve in enumerate(self._grad_curves):
                set_curve(curve, steps, smooth[:, i])
            # Epoch means of the gradient norms: all that a history saved without batches has.
            epoch_grads = s.epoch_grads.view if self.layer_metric == "gradients" else s.epoch_grads.view[:0]
            if self._epochs_changed(part):
                for i, curve in enumerate(self._grad_epoch_curves):
                    set_curve(curve, e[: len(epoch_grads), 0], epoch_grads[:, i])
            self._update_flags()
        else:
            image, first, span = s.heatmap(metric=self.layer_metric)
            if image.shape[1]:
                self.heatmap_image.setImage(image, levels=LAYER_METRICS[self.layer_metric].levels, autoLevels=False)
                self.heatmap_image.setRect(QRectF(first - 0.5, 0, span, image.shape[0]))
                self.heatmap_image.setVisible(True)
            else:
                self.heatmap_image.setVisible(False)

    def _epochs_changed(self, part: str) -> bool:
        """Whether ``part``'s epoch points are out of date (most redraws only add batches)."""
        key = (len(self.series.epochs), len(self.series.epoch_grads), self.layer_metric, len(self._grad_epoch_curves))
        if self._epochs_drawn.get(part) == key:
            return False
        self._epochs_drawn[part] = key
        return True

    def _update_flags(self) -> None:
        """Diagnose the series again, when :data:`CHECK_EVERY` batches came since the last time.

        As often as the session's health monitor, not with every redraw of the gradient
        plot; a full redraw (:meth:`redraw_soon`, :meth:`refresh`: a run's start and end, an
        opened run) always does.
        """
        count = len(self.series.batches)
        if not self._flags_due and count - self._flags_at < CHECK_EVERY:
            return
        self._flags_due = False
        self._flags_at = count
        diagnoses = self.series.diagnoses(self._context)
        if [(d.kind, d.finding) for d in diagnoses] != [(d.kind, d.finding) for d in self._diagnoses]:
            self._diagnoses = diagnoses
            self.flags_label.setText(diagnoses_html(diagnoses))
        flags = self.series.grad_verdicts()
        if flags == self._flags:
            return
        self._flags = flags
        self.flagsChanged.emit(dict(flags))

    def diagnoses(self) -> list[Diagnosis]:
        """The diagnoses shown, as of the last refresh."""
        return list(self._diagnoses)

    def set_metric(self, key: str) -> None:
        """Show one of :data:`~model.series.LAYER_METRICS` in the layer curves and the heat map."""
        self.metric_choice.setCurrentIndex(self.metric_choice.findData(key))

    def _on_metric_changed(self, index: int) -> None:
        key = self.metric_choice.itemData(index)
        if key not in LAYER_METRICS:
            return
        self.layer_metric = key
        spec = LAYER_METRICS[key]
        self.grad_plot.setTitle(f"{spec.title} (smoothed)", color=self._foreground, size="10pt")
        self.grad_plot.setLabel("left", spec.axis_label, color=self._foreground.name())
        self.grad_plot.setLogMode(y=spec.log)
        if not spec.log:
            self.grad_plot.setYRange(0, 1, padding=0.02)
        else:
            self.grad_plot.enableAutoRange(axis="y")
        self.heatmap_plot.setTitle(f"{spec.colour_label} per layer", color=self._foreground, size="10pt")
        self.heatmap_colorbar.setLevels(spec.levels)
        self.heatmap_colorbar.getAxis("right").setLabel(spec.colour_label)
        self._pacer.dirty = True
        self.refresh()

    def _reset_flags(self) -> None:
        self._flags_due = True
        self._flags_at = 0
        self._flags = {}
        self._diagnoses = []
        self.flags_label.setText("")

    def _make_grad_curves(self) -> None:
        """One curve and one row of epoch dots per layer of the series, made when its layers change.

        Called by the gradient plot's redraw, not at a run's start: making eight plot items
        costs the GUI thread about 20 ms, and the start of a run has enough to do in its turn.
        """
        if self.legend_names() == list(self.series.layer_names):
            return  # the same layers (a next run of the same stack): the curves stay, refilled
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
        return describe_point(self.series, kind, x, y, self.layer_metric)


if __name__ == "__main__":  # pragma: no cover - a manual look
    from gui.plot_demo import main

    main(TrainingPlots)
