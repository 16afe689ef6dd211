"""The confusion timeline: an epoch slider over the Results tab's confusion matrix, and each
class's validation accuracy epoch by epoch.

:class:`ConfusionTimeline` drives a :class:`~gui.confusion_view.ConfusionView`: the slider
has one position per epoch that has a validation confusion matrix
(:attr:`~model.events.EpochRecord.val_confusion`) and a last one, "test", for the final
model's test-set matrix with its images. Moving the slider shows that epoch's matrix (no
images: only the test set's are kept). Below, one curve per class of its validation
accuracy per epoch, with a line at the epoch the slider shows; hovering a curve names its
class. The figures come from :class:`model.confusion_timeline.ConfusionTimeline`.

The window feeds it: :meth:`start` (a run begins; a resumed run's earlier epochs),
:meth:`add_epoch` (each epoch's record), :meth:`show_history` (an opened run) and
:meth:`set_test` (the test-set evaluation, whenever the window would show it).

Run ``python -m gui.confusion_timeline`` for a look with a synthetic run.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from html import escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from gui.confusion_view import ConfusionView
from gui.plot_items import LAYER_COLORS
from model.confusion_timeline import ConfusionTimeline as Timeline
from model.evaluation import Evaluation
from model.events import EpochRecord

EMPTY_IMAGES = np.zeros((0, 28, 28), dtype=np.float32)


class ConfusionTimeline(QWidget):
    """The slider row above a confusion view, and the per-class accuracy plot below it.

    Args:
        view: the confusion view it drives (laid out between the two).
    """

    def __init__(self, view: ConfusionView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self._records: list[EpochRecord] = []
        self._timeline = Timeline()
        self._class_names: tuple[str, ...] = ()
        self._test: tuple[Evaluation, NDArray[Any]] | None = None
        self._curves: list[pg.PlotDataItem] = []

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("confusion-epoch")
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("Which epoch's validation confusion matrix to show; the last position is the test set")
        self.position_label = QLabel()
        self.position_label.setMinimumWidth(220)
        foreground = self.palette().color(QPalette.ColorRole.Text)
        self.plot = pg.PlotWidget(background=self.palette().color(QPalette.ColorRole.Base))
        self.plot.setObjectName("class-accuracy")
        item = self.plot.getPlotItem()
        item.setTitle("Validation accuracy per class, by epoch", color=foreground, size="9pt")
        item.setLabel("bottom", "epoch", color=foreground.name())
        item.setLabel("left", "accuracy", color=foreground.name())
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setFixedHeight(170)
        self.epoch_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#7B3294", style=Qt.PenStyle.DashLine))
        item.addItem(self.epoch_line, ignoreBounds=True)
        self.key = QLabel()  # which colour is which class (hovering a curve says so too)
        self.key.setObjectName("class-key")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.key.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        row = QHBoxLayout()
        row.addWidget(QLabel("Epoch:"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.position_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(view, 1)
        layout.addWidget(self.plot)
        layout.addWidget(self.key)
        layout.addWidget(self.summary)
        self.slider.valueChanged.connect(self._on_slider_moved)
        self._make_curves(tuple(str(k) for k in range(10)))
        self._rebuild()

    # ------------------------------------------------------------------ feeding

    def start(self, prior: Sequence[EpochRecord] = ()) -> None:
        """A run begins (``prior``: a resumed run's earlier epochs); the test matrix is stale."""
        self._records = list(prior)
        self._test = None
        self._rebuild()

    def add_epoch(self, record: EpochRecord) -> None:
        """Append an epoch; the slider follows the newest one unless it was moved back."""
        following = self.slider.value() >= self.slider.maximum() - (1 if self._test is not None else 0)
        self._records.append(record)
        self._rebuild(select_last=following)

    def show_history(self, history: Sequence[EpochRecord]) -> None:
        """An opened run's epochs."""
        self._records = list(history)
        self._test = None
        self._rebuild()

    def set_class_names(self, names: tuple[str, ...]) -> None:
        self._class_names = names
        self._rebuild()

    def set_test(self, evaluation: Evaluation | None, images: NDArray[Any] | None) -> None:
        """The final model's test results (``None``: none yet); the slider moves to "test"."""
        self._test = (evaluation, images) if evaluation is not None and images is not None else None
        if evaluation is not None:
            self._class_names = evaluation.class_names
        self._rebuild(select_last=True)

    # ------------------------------------------------------------------ state

    @property
    def epochs(self) -> tuple[int, ...]:
        """The 0-based epochs the slider offers (before "test")."""
        return self._timeline.epochs

    def shown(self) -> int | None:
        """The epoch shown (0-based), or ``None`` for the test set (or nothing)."""
        index = self.slider.value()
        return self._timeline.epochs[index] if index < len(self._timeline) else None

    def select_epoch(self, epoch: int) -> None:
        """Move the slider to ``epoch`` (0-based; it must have a matrix)."""
        self.slider.setValue(self._timeline.epochs.index(epoch))

    def select_test(self) -> None:
        self.slider.setValue(self.slider.maximum())

    # ------------------------------------------------------------------ drawing

    def _names(self) -> tuple[str, ...]:
        k = self._timeline.classes
        return self._class_names if len(self._class_names) == k else tuple(str(i) for i in range(k))

    def _rebuild(self, select_last: bool = False) -> None:
        previous = self.slider.value()
        self._timeline = Timeline.of(self._records)
        positions = len(self._timeline) + (1 if self._test is not None else 0)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, positions - 1))
        self.slider.setValue(positions - 1 if select_last else min(previous, max(0, positions - 1)))
        self.slider.blockSignals(False)
        self.slider.setEnabled(positions > 1)
        self._draw_curves()
        self.summary.setText(self._timeline.most_improved(self._names()))
        self._show_position()

    def _make_curves(self, names: Sequence[str]) -> None:
        """One curve per class; the ones there are kept (renamed), only a new count makes items.

        Making ten curves costs the GUI thread 20-60 ms; they were made at every epoch end.
        Ten are made with the widget, so ten-class data (MNIST, the digits) makes none.
        """
        item = self.plot.getPlotItem()
        if len(self._curves) != len(names):
            for curve in self._curves:
                item.removeItem(curve)
            self._curves = []
            for k in range(len(names)):
                colour = LAYER_COLORS[k % len(LAYER_COLORS)]
                curve = item.plot(pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=4, symbolPen=None,
                                  symbolBrush=colour)  # fmt: skip
                curve.setCurveClickable(True)
                self._curves.append(curve)
        for curve, name in zip(self._curves, names, strict=True):
            if curve.name() != name:
                curve.opts["name"] = name  # PlotDataItem.name() reads it; no legend shows it
                curve.setToolTip(f"class {name}")

    def _draw_curves(self) -> None:
        item = self.plot.getPlotItem()
        accuracy = self._timeline.accuracy_per_epoch()
        x = np.array(self._timeline.epochs, dtype=np.float64) + 1
        names = self._names()
        if names:
            self._make_curves(names)
            for k, curve in enumerate(self._curves):
                curve.setData(x, accuracy[:, k])
        else:  # no epoch yet (a run starts): the curves wait, empty, for the same classes
            for curve in self._curves:
                curve.setData([], [])
        self.key.setText(
            " &nbsp; ".join(f"<span style='color:{LAYER_COLORS[k % len(LAYER_COLORS)]}'>━</span>&nbsp;{escape(name)}"
                            for k, name in enumerate(self._names()))
            if len(x) else ""
        )  # fmt: skip
        # Whole epochs only (pyqtgraph would tick 1.5, 2.5); at most about a dozen labels.
        every = max(1, math.ceil(len(x) / 12))
        item.getAxis("bottom").setTicks([[(float(e), f"{int(e)}") for e in x[::every]]] if len(x) else None)
        if len(x):
            item.setXRange(0.5, x[-1] + 0.5, padding=0)
            low = float(np.nanmin(accuracy)) if np.isfinite(accuracy).any() else 0.0
            item.setYRange(min(low, 0.9) - 0.02, 1.0, padding=0)

    def _show_position(self) -> None:
        epoch = self.shown()
        view = self.view
        count = len(self._timeline)
        if epoch is not None:
            index = self.slider.value()
            evaluation = self._timeline.evaluation(index, self._names())
            total = int(evaluation.confusion.sum())
            self.position_label.setText(f"epoch {epoch + 1} (validation)")
            self.epoch_line.setPos(epoch + 1)
            self.epoch_line.setVisible(True)
            view.set_evaluation(
                evaluation, EMPTY_IMAGES,
                header=f"Validation after epoch {epoch + 1}: accuracy {evaluation.accuracy:.1%} on {total:,} images"
                f" · loss {evaluation.loss:.3f}",
            )  # fmt: skip
            return
        self.epoch_line.setVisible(False)
        if self._test is not None:
            self.position_label.setText("test set (final model)")
            view.set_evaluation(*self._test)
        else:
            self.position_label.setText(f"{count} epochs with a validation matrix" if count else "no validation matrices yet")
            if count == 0:
                view.clear()

    def _on_slider_moved(self, value: int) -> None:
        self._show_position()


def main() -> int:
    """A synthetic run of five epochs over scikit-learn's digits."""
    from gui.confusion_view import synthetic_evaluation
    from model.config import DataSpec
    from model.data import load_dataset

    app = QApplication.instance() or QApplication(sys.argv[:1])
    dataset = load_dataset(DataSpec(name="digits"), allow_download=False)
    view = ConfusionView()
    timeline = ConfusionTimeline(view)
    rng = np.random.default_rng(0)
    g = np.ones(2)
    for epoch in range(5):
        matrix = np.diag(rng.integers(20 + 10 * epoch, 40 + 10 * epoch, 10)) + rng.integers(0, 6 - epoch, (10, 10))
        timeline.add_epoch(EpochRecord(0, epoch, 1.0, 0.5, 1.0, 0.5, 0.01, g, g, 1.0, 1.0, val_confusion=matrix))
    timeline.set_test(synthetic_evaluation(dataset.y, dataset.class_names), dataset.x)
    timeline.resize(1000, 760)
    timeline.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
