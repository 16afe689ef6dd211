"""The initialization preview's window: every initializer on the current stack, side by side.

:class:`InitPreviewDialog` shows an :class:`~model.init_preview.InitPreview`: a table with
one row per initializer (its scale factor per layer and the verdict in words; the
configured one and the steadiest marked, a swatch of its colour in the plots), and two
plots across the layers with weights, the activation spread and the gradient norm (log
scales), one line per initializer, the selected row's drawn bold. A zero spread or norm
has no place on a log scale: it is left out of the line (the verdict says so in words),
rather than drawn at a floor that would squash every other line into one. "Apply" asks for the selected initializer with
:attr:`~InitPreviewDialog.initializerChosen`; "Recompute" asks for a new preview
(:attr:`~InitPreviewDialog.refreshRequested`), after the stack changed.

Run ``python -m gui.init_preview_dialog`` for a look at made-up figures.
"""

from __future__ import annotations

import math
import sys
from typing import Final

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.plot_items import LAYER_COLORS
from model.init_preview import InitPreview

ABOUT: Final = (
    "One forward and one backward pass of a fixed batch through your stack, built once per initializer "
    "(nothing is trained). Activations that shrink layer after layer make gradients vanish; growing ones "
    "make them explode. Pick a row and Apply to use that initializer."
)


class InitPreviewDialog(QDialog):
    """Every initializer's activation spread and gradient norm per layer (non-modal)."""

    initializerChosen = Signal(str)
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("init-preview")
        self.setWindowTitle("Preview the initialization — Gradient Lab")
        self.preview: InitPreview | None = None
        self._lines: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        self._build()
        self._connect()
        self.resize(980, 620)

    def _build(self) -> None:
        about = QLabel(ABOUT)
        about.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("init-table")
        self.table.setHorizontalHeaderLabels(["initializer", "scale per layer", "what it means"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        palette = self.palette()
        foreground = palette.color(QPalette.ColorRole.Text)
        self.std_plot = self._make_plot("Activation spread (std) per layer", "std", foreground, palette)
        self.grad_plot = self._make_plot("Gradient norm per layer", "‖∇W‖", foreground, palette)
        plots = QHBoxLayout()
        plots.addWidget(self.std_plot)
        plots.addWidget(self.grad_plot)

        self.status = QLabel()
        self.status.setObjectName("init-status")
        self.status.setWordWrap(True)
        self.apply_button = QPushButton("&Apply")
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip("Use the selected initializer (the run-wide setting)")
        self.refresh_button = QPushButton("&Recompute")
        self.refresh_button.setToolTip("Preview again, for the stack as it is now")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(self.table, 2)
        layout.addLayout(plots, 3)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    @staticmethod
    def _make_plot(title: str, label: str, foreground: QColor, palette: QPalette) -> pg.PlotWidget:
        widget = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
        item = widget.getPlotItem()
        item.setTitle(title, color=foreground, size="9pt")
        item.setLabel("left", label, color=foreground.name())
        item.setLogMode(x=False, y=True)
        item.getAxis("left").enableAutoSIPrefix(False)  # "std (x0.001)" and "3·10²" read as nonsense
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        widget.setMouseEnabled(x=False, y=False)
        return widget

    def _connect(self) -> None:
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.apply_button.clicked.connect(self._on_apply_clicked)
        self.refresh_button.clicked.connect(self.refreshRequested)
        self.close_button.clicked.connect(self.close)

    # ------------------------------------------------------------------ the owner's side

    def set_busy(self, message: str) -> None:
        self.apply_button.setEnabled(False)
        self.refresh_button.setEnabled(False)
        self.status.setText(message)
        self.status.setStyleSheet("")

    def show_preview(self, preview: InitPreview | None, message: str) -> None:
        """Show ``preview``, or say why there is none (``message``)."""
        self.refresh_button.setEnabled(True)
        if preview is None:
            self.status.setText(message)
            self.status.setStyleSheet("color: #B2182B;")
            self.apply_button.setEnabled(self.preview is not None)
            return
        self.preview = preview
        self.status.setStyleSheet("")
        overridden = f" {', '.join(preview.overridden)} keep their own initializer." if preview.overridden else ""
        self.status.setText(
            f"{len(preview.layer_names)} layers with weights, one batch of {preview.batch_size} training samples "
            f"(input std {preview.input_std:.3g}).{overridden}"
        )
        self._fill_table(preview)
        self._draw_lines(preview)
        names = [r.initializer for r in preview.rows]
        self.table.selectRow(names.index(preview.current) if preview.current in names else 0)
        self._on_selection_changed()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.preview is not None else []
        return self.preview.rows[rows[0].row()].initializer if rows and self.preview is not None else None

    def select(self, initializer: str) -> None:
        assert self.preview is not None
        self.table.selectRow([r.initializer for r in self.preview.rows].index(initializer))

    # ------------------------------------------------------------------ drawing

    def _fill_table(self, preview: InitPreview) -> None:
        self.table.setRowCount(len(preview.rows))
        for row, figures in enumerate(preview.rows):
            marks = []
            if figures.initializer == preview.current:
                marks.append("current")
            if figures.initializer == preview.recommended:
                marks.append("★ steadiest")
            title = figures.title + (f" ({', '.join(marks)})" if marks else "")
            scale = f"x{figures.scale:.2f}" if math.isfinite(figures.scale) else "—"
            cells = (title, scale, figures.verdict)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(figures.verdict)
                if column == 0:
                    # A swatch, not coloured text: some line colours (yellow) cannot be read as text.
                    item.setData(Qt.ItemDataRole.DecorationRole, QColor(LAYER_COLORS[row % len(LAYER_COLORS)]))
                    if figures.initializer == preview.current:
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                if column == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self._fit_table_height()

    def _fit_table_height(self) -> None:
        """No blank rows below the last: the plots get the room (one row spare for rewrapping)."""
        self.table.resizeRowsToContents()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        spare = self.table.rowHeight(0) if self.table.rowCount() else 0
        frame = 2 * self.table.frameWidth()
        self.table.setMaximumHeight(self.table.horizontalHeader().height() + rows + spare + frame)

    def _draw_lines(self, preview: InitPreview) -> None:
        for std_line, grad_line in self._lines:
            self.std_plot.getPlotItem().removeItem(std_line)
            self.grad_plot.getPlotItem().removeItem(grad_line)
        self._lines = []
        x = np.arange(1, len(preview.layer_names) + 1, dtype=np.float64)
        ticks = [[(i + 1, name.split("_", 1)[0] if len(preview.layer_names) > 6 else name) for i, name in enumerate(preview.layer_names)]]
        for plot in (self.std_plot, self.grad_plot):
            plot.getPlotItem().getAxis("bottom").setTicks(ticks)
            # Half a layer of margin: a tick label at the very edge would be dropped.
            plot.getPlotItem().setXRange(0.5, len(x) + 0.5, padding=0)
        for row, figures in enumerate(preview.rows):
            color = LAYER_COLORS[row % len(LAYER_COLORS)]
            lines = []
            for plot, values in ((self.std_plot, figures.activation_std), (self.grad_plot, figures.grad_norms)):
                positive = np.asarray(values) > 0  # zeros have no place on a log scale: gaps
                shown = np.where(positive, values, np.nan) if positive.any() else np.array([])
                line = plot.getPlotItem().plot(x[: len(shown)], shown, pen=pg.mkPen(color), symbol="o", connect="finite",
                                               symbolSize=5, symbolBrush=color, symbolPen=None, name=figures.title)  # fmt: skip
                lines.append(line)
            self._lines.append((lines[0], lines[1]))

    def _on_selection_changed(self) -> None:
        chosen = self.selected()
        self.apply_button.setEnabled(chosen is not None)
        if self.preview is None:
            return
        for row, (std_line, grad_line) in enumerate(self._lines):
            color = QColor(LAYER_COLORS[row % len(LAYER_COLORS)])
            bold = self.preview.rows[row].initializer == chosen
            if not bold:
                color.setAlpha(70)
            for line in (std_line, grad_line):
                line.setPen(pg.mkPen(color, width=3 if bold else 1))
                line.setZValue(10 if bold else 0)

    def _on_apply_clicked(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.status.setText(f"Initializer set to {chosen} in the settings.")
            self.initializerChosen.emit(chosen)


def main() -> int:
    """Made-up figures for a four-layer stack, for a look."""
    from model.init_preview import PREVIEW_INITIALIZERS, InitializerPreview, verdict

    app = QApplication.instance() or QApplication(sys.argv[:1])
    names = ("L2_Dense", "L3_Dense", "L4_Dense", "L5_Dense")
    rows = []
    for i, name in enumerate(PREVIEW_INITIALIZERS):
        scale = 0.0 if name == "zeros" else 0.4 + 0.15 * i
        stds = np.array([scale**k for k in range(1, 5)]) * 0.5
        grads = np.array([scale ** (4 - k) for k in range(4)]) * 0.1
        rows.append(InitializerPreview(name, stds, stds, grads, 2.3, scale, verdict(name, scale, list(stds), list(grads), names)))
    dialog = InitPreviewDialog()
    dialog.show_preview(InitPreview(names, (True,) * 4, 0.3, 256, tuple(rows), "glorot_uniform"), "")
    dialog.initializerChosen.connect(lambda name: print(f"chosen {name}"))
    dialog.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
