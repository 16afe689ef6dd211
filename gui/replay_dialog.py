"""The replay window: a saved run re-run deterministically, drawn over the saved curves.

:class:`ReplayDialog` is a plain view: :attr:`~ReplayDialog.replayRequested` asks for a
replay of the folder in its line, :attr:`~ReplayDialog.stopRequested` to stop it. The owner
calls :meth:`show_saved` when the replay begins (the saved epochs, grey and dashed),
:meth:`add_record` for each record of the replay as it trains (its batch curve, smoothed,
and its epoch points, in colour, on the same step axis), and :meth:`show_outcome` at the
end: whether the runs match, within which tolerance, and if not from which step or epoch
they part, with what a replay cannot reproduce.

Run ``python -m gui.replay_dialog`` for a look with made-up curves.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.plot_items import MARKER_COLOR, TRAIN_COLOR, VALIDATION_COLOR, set_curve
from model.events import BatchRecord, EpochRecord, RunStarted
from model.replay import ReplayOutcome
from model.series import RunSeries

SAVED_COLOR: Final = QColor(110, 110, 110)
MATCH_COLOR: Final = "#1A7F37"
PART_COLOR: Final = "#B2182B"

ABOUT: Final = (
    "Trains the saved run again from its configuration and seed in a fresh process, with TensorFlow's op "
    "determinism on, and compares the new figures with the saved ones. Grey: saved; colour: the replay."
)


class ReplayDialog(QDialog):
    """A replay's curves over its saved run's, and the verdict (non-modal)."""

    replayRequested = Signal(object)  # Path
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replay")
        self.setWindowTitle("Replay a run — Gradient Lab")
        self.series = RunSeries()
        self._saved: list[EpochRecord] = []
        self.outcome: ReplayOutcome | None = None
        self._build()
        self._connect()
        self.set_running(False)
        self.resize(900, 600)

    def _build(self) -> None:
        about = QLabel(ABOUT)
        about.setWordWrap(True)
        self.folder_edit = QLineEdit()
        self.folder_edit.setObjectName("replay-folder")
        self.folder_edit.setPlaceholderText("a run folder (model.keras, config.json, history.csv)")
        self.choose_button = QPushButton("Choose…")
        self.run_button = QPushButton("&Replay")
        self.run_button.setDefault(True)
        self.stop_button = QPushButton("S&top")
        row = QHBoxLayout()
        row.addWidget(QLabel("Run folder:"))
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.choose_button)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)

        palette = self.palette()
        foreground = palette.color(QPalette.ColorRole.Text)
        self.loss_plot = self._make_plot("Loss", foreground, palette)
        self.accuracy_plot = self._make_plot("Accuracy", foreground, palette)
        self.accuracy_plot.setXLink(self.loss_plot)
        saved_pen = pg.mkPen(SAVED_COLOR, width=2, style=Qt.PenStyle.DashLine)
        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(60)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, plot in (("loss", self.loss_plot), ("accuracy", self.accuracy_plot)):
            item = plot.getPlotItem()
            self.curves[f"saved_{name}"] = item.plot(pen=saved_pen, symbol="s", symbolSize=8, symbolPen=None,
                                                      symbolBrush=SAVED_COLOR)  # fmt: skip
            self.curves[f"saved_val_{name}"] = item.plot(pen=saved_pen, symbol="t", symbolSize=9, symbolPen=None,
                                                          symbolBrush=SAVED_COLOR)  # fmt: skip
            self.curves[f"batch_{name}"] = item.plot(pen=pg.mkPen(faint))
            self.curves[f"smooth_{name}"] = item.plot(pen=pg.mkPen(TRAIN_COLOR, width=1.5))
            self.curves[f"epoch_{name}"] = item.plot(pen=None, symbol="o", symbolSize=6, symbolPen=None,
                                                      symbolBrush=TRAIN_COLOR)  # fmt: skip
            self.curves[f"val_{name}"] = item.plot(pen=None, symbol="o", symbolSize=6, symbolPen=None,
                                                    symbolBrush=VALIDATION_COLOR)  # fmt: skip
        self.part_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARKER_COLOR, width=2))
        self.part_line.setVisible(False)
        self.loss_plot.getPlotItem().addItem(self.part_line, ignoreBounds=True)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        key = QLabel(
            "<span style='color:#6E6E6E'>┅■</span> saved epochs (training) &nbsp; "
            "<span style='color:#6E6E6E'>┅▲</span> saved epochs (validation) &nbsp; "
            f"<span style='color:{TRAIN_COLOR}'>━●</span> replay (batches, smoothed; epochs) &nbsp; "
            f"<span style='color:{VALIDATION_COLOR}'>●</span> replay validation"
        )
        key.setTextFormat(Qt.TextFormat.RichText)

        self.verdict = QLabel()
        self.verdict.setObjectName("replay-verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.close_button = QPushButton("Close")
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(row)
        layout.addLayout(plots, 1)
        layout.addWidget(key)
        layout.addWidget(self.verdict)
        layout.addLayout(bottom)

    @staticmethod
    def _make_plot(title: str, foreground: QColor, palette: QPalette) -> pg.PlotWidget:
        widget = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
        item = widget.getPlotItem()
        item.setTitle(title, color=foreground, size="9pt")
        item.setLabel("bottom", "step (batches)", color=foreground.name())
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        return widget

    def _connect(self) -> None:
        self.choose_button.clicked.connect(self._on_choose_clicked)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.stop_button.clicked.connect(self.stopRequested)
        self.close_button.clicked.connect(self.close)

    # ------------------------------------------------------------------ the owner's side

    def set_folder(self, folder: Path | None) -> None:
        self.folder_edit.setText(str(folder) if folder is not None else "")

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.choose_button.setEnabled(not running)
        self.folder_edit.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def show_saved(self, folder: Path, history: Sequence[EpochRecord]) -> None:
        """A replay of ``folder`` began: draw its saved epochs, clear the rest."""
        self.set_folder(folder)
        self._saved = list(history)
        self.series = RunSeries()
        self.series.reset((), 1)
        self.outcome = None
        self.verdict.clear()
        self.part_line.setVisible(False)
        self.status.setText("Starting a fresh process with op determinism on…")
        self.set_running(True)
        self._draw()

    def add_record(self, record: RunStarted | BatchRecord | EpochRecord) -> None:
        if isinstance(record, RunStarted):
            self.series.reset(record.layer_names, record.steps_per_epoch)
            self.status.setText(f"Replaying: {record.n_train:,} samples, {record.steps_per_epoch} batches per epoch…")
        elif isinstance(record, BatchRecord):
            self.series.add_batch(record)
        else:
            self.series.add_epoch(record)
            self.status.setText(f"Replayed epoch {record.epoch + 1} of {len(self._saved)}: loss {record.loss:.4f}")
        self._draw()

    def show_outcome(self, outcome: ReplayOutcome | None, message: str) -> None:
        self.set_running(False)
        self.outcome = outcome
        if outcome is None:
            self.verdict.setText(f"<span style='color:{PART_COLOR}'>{message}</span>")
            self.status.setText("No comparison.")
            return
        comparison = outcome.comparison
        mark, color = ("✓", MATCH_COLOR) if comparison.matches else ("✗", PART_COLOR)
        notes = "".join(f"<br>Note: {w}." for w in outcome.warnings)
        line = comparison.describe()
        # The tolerance is stated even for an exact match: "matches" always says against what.
        tolerance = "" if "tolerance" in line else f" Tolerance: a relative difference of {comparison.tolerance:g}."
        self.verdict.setText(f"<span style='color:{color}'><b>{mark} {line[0].upper()}{line[1:]}.</b></span>"
                             f"{tolerance}{notes}")  # fmt: skip
        step = self._parting_step()
        if step is not None:
            self.part_line.setPos(step)
            self.part_line.setVisible(True)
        self.status.setText("Replay finished.")

    def _parting_step(self) -> float | None:
        comparison = self.outcome.comparison if self.outcome is not None else None
        if comparison is None or comparison.matches:
            return None
        if comparison.parted_step is not None:
            return float(comparison.parted_step)
        if comparison.parted_epoch is not None:
            return float((comparison.parted_epoch + 1) * max(1, self.series.steps_per_epoch) - 1)
        return None

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        per = max(1, self.series.steps_per_epoch)
        saved = [r for r in self._saved if not r.partial]
        steps = np.array([(r.epoch + 1) * per - 1 for r in saved], dtype=np.float64)
        for name in ("loss", "accuracy"):
            set_curve(self.curves[f"saved_{name}"], steps, np.array([getattr(r, name) for r in saved], dtype=np.float64))
            values = np.array([np.nan if getattr(r, f"val_{name}") is None else getattr(r, f"val_{name}") for r in saved],
                              dtype=np.float64)  # fmt: skip
            set_curve(self.curves[f"saved_val_{name}"], steps, values)
        b, e = self.series.batches.view, self.series.epochs.view
        set_curve(self.curves["batch_loss"], b[:, 0], b[:, 1])
        set_curve(self.curves["smooth_loss"], b[:, 0], b[:, 2])
        set_curve(self.curves["batch_accuracy"], b[:, 0], b[:, 3])
        set_curve(self.curves["smooth_accuracy"], b[:, 0], b[:, 4])
        set_curve(self.curves["epoch_loss"], e[:, 0], e[:, 1])
        set_curve(self.curves["epoch_accuracy"], e[:, 0], e[:, 2])
        set_curve(self.curves["val_loss"], e[:, 0], e[:, 3])
        set_curve(self.curves["val_accuracy"], e[:, 0], e[:, 4])

    def _on_choose_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Replay which run folder?", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _on_run_clicked(self) -> None:
        text = self.folder_edit.text().strip()
        if not text:
            self.verdict.setText(f"<span style='color:{PART_COLOR}'>Choose a run folder first.</span>")
            return
        self.replayRequested.emit(Path(text))


def main() -> int:
    """Made-up saved and replayed curves, for a look."""
    from model.replay import compare

    app = QApplication.instance() or QApplication(sys.argv[:1])
    g = np.ones(1)
    saved = [EpochRecord(0, e, 1.0 / (e + 1), 0.6 + 0.1 * e, 1.1 / (e + 1), 0.55 + 0.1 * e, 1e-3, g, g, 1, 1) for e in range(3)]
    dialog = ReplayDialog()
    dialog.show_saved(Path("runs/example"), saved)
    dialog.add_record(RunStarted(0, 3, 0, 10, 32, 320, 32, 32, ("L2_Dense",), 1e-3))
    for step in range(30):
        dialog.add_record(BatchRecord(0, step // 10, step % 10, step, 1.2 / (1 + step / 10), 0.6, 1e-3, g, g, 1, 0, 0))
        if step % 10 == 9:
            dialog.add_record(saved[step // 10])
    dialog.show_outcome(ReplayOutcome(compare(saved, saved), tuple(saved)), "")
    dialog.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
