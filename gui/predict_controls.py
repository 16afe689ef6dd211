"""The Draw tab's left column: which model reads, the canvas, its controls, the picture read,
and the user's handwriting set (:mod:`gui.predict_handwriting`).

:class:`DrawingColumn` only lays its widgets out and names them; what they do is connected
by :class:`gui.predict_panel.PredictPanel`, in one place with its other handlers. A
picture can also be dropped on the panel: :func:`dropped_image_path` says whether a drag
carries one.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.canvas import DEFAULT_BRUSH_WIDTH, MAX_BRUSH_WIDTH, MIN_BRUSH_WIDTH, DrawingCanvas
from gui.predict_handwriting import HandwritingBox
from gui.widgets import CollapsibleSection
from model.verdict import AVERAGING_DEFAULT

IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_FILTER: Final = "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)"


def dropped_image_path(mime: QMimeData) -> str | None:
    """The first local picture file (by :data:`IMAGE_SUFFIXES`) that a drag carries, if any."""
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        path = url.toLocalFile()
        if path and path.lower().endswith(IMAGE_SUFFIXES):
            return path
    return None


class DrawingColumn(QWidget):
    """Where the model comes from, the canvas, a pen-width slider, Clear, Undo and Open image.

    Attributes:
        canvas: Where the digit is drawn.
        width_slider: Sets the pen width for new strokes.
        clear_button: Erases the drawing.
        undo_button: Takes back the last stroke (also Ctrl+Z).
        open_button: Reads a picture file instead of the canvas.
        averaging_box: Whether readings average over a few jittered copies of the input.
        handwriting: Labels the drawing for the user's handwriting set, inside
            :attr:`handwriting_section` (hidden while the panel has no set).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = DrawingCanvas(brush_width=DEFAULT_BRUSH_WIDTH)
        self._description = QLabel()
        self._description.setWordWrap(True)
        self._description.setToolTip("Which model reads the drawing.")
        self._description.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.width_slider = QSlider(Qt.Orientation.Horizontal)
        self.width_slider.setRange(int(MIN_BRUSH_WIDTH), int(MAX_BRUSH_WIDTH))
        self.width_slider.setValue(int(self.canvas.brush_width()))
        self.width_slider.setToolTip(
            "Sets the pen width for new strokes; the network reads the strokes at MNIST's width whatever the pen."
        )
        self._width_label = QLabel()
        self._width_label.setMinimumWidth(40)
        self._width_label.setToolTip("The pen width in canvas pixels (the canvas is 280 pixels wide).")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Erases the drawing (and forgets an opened image).")
        self.undo_button = QPushButton("Undo")
        # Ctrl+Z here while the focus is on the Draw tab: the designer's Ctrl+Z undoes layer edits.
        undo_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo_key.activated.connect(self.undo_button.click)
        self.undo_button.setToolTip("Takes back the last stroke (Ctrl+Z).")
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip(
            "Reads a PNG, JPEG or BMP picture of a digit with the same preprocessing (or drop a file here)."
        )
        self.averaging_box = QCheckBox("Average 3 copies")
        self.averaging_box.setChecked(AVERAGING_DEFAULT)
        self.averaging_box.setToolTip(
            "Reads the input as drawn, 10% smaller and 10% larger, and shows the mean of the three answers."
        )
        self._source_label = QLabel()
        self._source_label.setWordWrap(True)
        self._source_label.setToolTip("The picture being read; drawing or Clear returns to the canvas.")
        self._source_label.hide()
        self.handwriting = HandwritingBox()
        self.handwriting_section = CollapsibleSection(
            "Your handwriting",
            self.handwriting,
            "Label drawings the model gets wrong (or right), see how it reads them, and teach it your handwriting.",
        )
        self.handwriting_section.hide()  # until the window gives the panel a handwriting set

        pen_row = QHBoxLayout()
        pen_label = QLabel("Pen")
        pen_label.setToolTip("The width of new strokes.")
        pen_row.addWidget(pen_label)
        pen_row.addWidget(self.width_slider, 1)
        pen_row.addWidget(self._width_label)
        pen_row.addWidget(self.averaging_box)
        button_row = QHBoxLayout()
        button_row.addWidget(self.clear_button)
        button_row.addWidget(self.undo_button)
        button_row.addWidget(self.open_button)
        left = QVBoxLayout(self)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self._description)
        # The canvas keeps its preferred height (its width: it is square) and the stretch
        # below takes what is left, so the pen controls sit right under the drawing.
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        left.addWidget(self.canvas)
        left.addLayout(pen_row)
        left.addLayout(button_row)
        left.addWidget(self._source_label)
        left.addWidget(self.handwriting_section)
        left.addStretch(1)

    def set_description(self, text: str) -> None:
        """Say where the model comes from, small above the canvas (nothing for ``""``)."""
        self._description.setText(text)
        self._description.setVisible(bool(text))

    def description(self) -> str:
        """Where the model comes from, as shown."""
        return self._description.text()

    def show_width(self, width: float) -> None:
        """Show the pen width in use (the canvas may have clamped the slider's value)."""
        self._width_label.setText(f"{width:g} px")

    def show_source(self, name: str | None) -> None:
        """Say that the picture file ``name`` is read instead of the canvas; ``None``: the canvas is."""
        if name is None:
            self._source_label.hide()
            return
        self._source_label.setText(f"Reading {name}: draw or press Clear to return to the canvas.")
        self._source_label.show()
