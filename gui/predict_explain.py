"""The Draw tab's "What the network looked at": what the saliency shows, and feature maps.

:class:`ExplanationView` is a plain view (it is told what to show): a line saying how the
overlay on the network input was made and for which answer, and for convolutional models
a small grid of the first layers' feature maps (:class:`FeatureMapGrid`), one row per
layer. The overlay itself is drawn by :class:`gui.predict_views.AnswerView`; the panel
(:class:`gui.predict_panel.PredictPanel`) asks for both with one
:meth:`~model.inference.ExplainingPredictor.explain` call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from gui.pixmaps import unit_gray_pixmap
from model.explain import FEATURE_LAYERS, FEATURE_MAPS, GRAD_CAM, Explanation

_MAP_SIDE: Final = 34


class FeatureMapGrid(QWidget):
    """One row per convolutional layer: its name, then its first maps as small gray squares."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(3)
        grid.setVerticalSpacing(3)
        self.names: list[QLabel] = []
        self.maps: list[list[QLabel]] = []
        for row in range(FEATURE_LAYERS):
            name = QLabel()
            name.setToolTip("The layer, and how many of its maps are shown.")
            font = name.font()
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
            name.setFont(font)
            grid.addWidget(name, 2 * row, 0, 1, FEATURE_MAPS)
            self.names.append(name)
            cells = []
            for column in range(FEATURE_MAPS):
                cell = QLabel()
                cell.setFixedSize(QSize(_MAP_SIDE + 2, _MAP_SIDE + 2))
                cell.setFrameShape(QFrame.Shape.Box)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setToolTip("One filter's response to the drawing: bright where it found its pattern.")
                grid.addWidget(cell, 2 * row + 1, column)
                cells.append(cell)
            self.maps.append(cells)
        grid.setColumnStretch(FEATURE_MAPS, 1)

    def show_maps(self, explanation: Explanation) -> None:
        """Show the first sample's feature maps of ``explanation`` (rows without a layer hide)."""
        for row, (name, cells) in enumerate(zip(self.names, self.maps, strict=True)):
            found = explanation.feature_maps[row] if row < len(explanation.feature_maps) else None
            name.setVisible(found is not None)
            for column, cell in enumerate(cells):
                shown = found is not None and column < found.maps.shape[-1]
                cell.setVisible(shown)
                if shown and found is not None:
                    cell.setPixmap(unit_gray_pixmap(found.maps[0, ..., column], _MAP_SIDE))
            if found is not None:
                size = f"{found.maps.shape[1]}×{found.maps.shape[2]}"
                name.setText(f"{found.layer}: {found.maps.shape[-1]} of its {found.channels} maps, {size}")

    def shown_layers(self) -> list[str]:
        """The captions of the rows shown."""
        return [name.text() for name in self.names if not name.isHidden()]


class ExplanationView(QWidget):
    """How the overlay was made, and the feature maps; or why there is nothing to show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setToolTip("How the colours over the network input were worked out.")
        self.grid = FeatureMapGrid()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.about)
        layout.addWidget(self.grid)

    def show_explanation(self, explanation: Explanation, name: Callable[[int], str]) -> None:
        """Say what the overlay shows for the answer, and show the feature maps."""
        answer = name(int(explanation.explained[0])) if len(explanation.explained) else "?"
        if explanation.method == GRAD_CAM:
            self.about.setText(
                f"Grad-CAM on {explanation.layer}: the regions whose features made it answer {answer}."
            )
        else:
            self.about.setText(
                f"Gradient × input: the ink that pushed it towards {answer} (a dense model has no feature maps)."
            )
        self.grid.show_maps(explanation)
        self.grid.setVisible(bool(explanation.feature_maps))

    def show_notice(self, text: str) -> None:
        """Show ``text`` instead of an explanation."""
        self.about.setText(text)
        self.grid.hide()

    def text(self) -> str:
        return self.about.text()
