"""The pieces of the Draw tab that show results: bars, thumbnails, stages, robustness.

Each is a plain view: it is told what to show and keeps no state of its own beyond its
widgets, so :class:`gui.predict_panel.PredictPanel` stays the one place that decides.

- :class:`AnswerView`: the predicted class and its probability (or a notice instead),
  beside the 28x28 image the network was given (with what it looked at laid over it,
  when "Show where it looked" is on).
- :class:`ProbabilityBars`: a bar per class, the most probable one highlighted.
- :class:`Thumbnail`: a small image with a two-line caption.
- :class:`StageStrip`: one thumbnail per preprocessing stage, drawing to 28x28 input.
- :class:`RobustnessGrid`: the shifted, rotated, thinned and thickened variants of the
  input, what each is read as, and a verdict in words (:func:`robustness_verdict`).
- :class:`ResultsColumn`: all of the above in one scrolling column, the last ones in
  sections that fold away, with "What the network looked at"
  (:class:`gui.predict_explain.ExplanationView`) under the bars while the overlay is on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui.pixmaps import gray_pixmap, heat_overlay_pixmap
from gui.predict_explain import ExplanationView
from gui.widgets import CollapsibleSection
from model.preprocess import MNIST_SIZE, Preprocessed

WARNING_COLOUR: Final = QColor(200, 40, 40)
"""Errors, and robustness variants whose answer differs from the drawing's."""

_INPUT_SCALE: Final = 6  # the 28x28 input is shown 168 pixels square
_STAGE_SIDE: Final = 64
_STAGE_COUNT: Final = 5
_VARIANT_SIDE: Final = 56
_VARIANT_COUNT: Final = 8
_ROBUSTNESS_COLUMNS: Final = 4


def set_text_colour(label: QLabel, colour: QColor | None) -> None:
    """Colour a label's text, or give it back the palette's text colour with ``None``."""
    palette = label.palette()
    palette.setColor(
        QPalette.ColorRole.WindowText, colour or QApplication.palette().color(QPalette.ColorRole.WindowText)
    )
    label.setPalette(palette)


def robustness_verdict(answers: Sequence[int], reference: int, name: str) -> str:
    """One line saying whether the variants' answers agree with the original's.

    Args:
        answers: The class each variant was read as.
        reference: The class the unchanged drawing was read as.
        name: That class's name, for the message.
    """
    total = len(answers)
    changed = sum(1 for answer in answers if answer != reference)
    if changed == 0:
        return f"stable: all {total} variants read {name}"
    verb = "changes" if changed == 1 else "change"
    return f"fragile: {changed} of {total} variants {verb} the answer"


class AnswerView(QWidget):
    """The answer in large type, or a notice in its place, beside the network's input image."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._digit_label = QLabel()
        digit_font = QFont(self.font())
        digit_font.setPointSizeF(self.font().pointSizeF() * 5.0)
        digit_font.setBold(True)
        self._digit_label.setFont(digit_font)
        self._digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._digit_label.setToolTip("The class the network finds most probable.")
        self._probability_label = QLabel()
        probability_font = QFont(self.font())
        probability_font.setPointSizeF(self.font().pointSizeF() * 1.5)
        self._probability_label.setFont(probability_font)
        self._probability_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._probability_label.setToolTip("How probable the network finds its answer.")
        self._probability_label.setWordWrap(True)
        self._message_label = QLabel()
        self._message_label.setWordWrap(True)
        self._message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message_label.setFont(probability_font)
        self._message_label.setToolTip("Why there is no prediction to show.")
        self._message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._input_label = QLabel()
        side = MNIST_SIZE * _INPUT_SCALE
        self._input_label.setFixedSize(side + 2, side + 2)
        self._input_label.setFrameShape(QFrame.Shape.Box)
        self._input_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._input_label.setToolTip(
            "The 28x28 image the network is given: re-inked at MNIST's stroke width, scaled to 20x20 and centred."
        )
        input_caption = QLabel("Network input (28×28)")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        input_caption.setToolTip("Each square is one of the 784 pixels the network reads.")
        self.saliency_toggle = QCheckBox("Show where it looked")
        self.saliency_toggle.setToolTip(
            "Colours the input where the evidence for the answer came from, and shows the first feature maps."
        )
        self._image: NDArray[np.generic] | None = None
        self._saliency: NDArray[np.generic] | None = None

        answer = QVBoxLayout()
        answer.addStretch(1)
        answer.addWidget(self._digit_label)
        answer.addWidget(self._probability_label)
        answer.addWidget(self._message_label)
        answer.addStretch(1)
        input_box = QVBoxLayout()
        input_box.addWidget(self._input_label, 0, Qt.AlignmentFlag.AlignHCenter)
        input_box.addWidget(input_caption)
        input_box.addWidget(self.saliency_toggle, 0, Qt.AlignmentFlag.AlignHCenter)
        top = QHBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addLayout(answer, 1)
        top.addLayout(input_box)

    def show_answer(self, name: str, probability: float) -> None:
        """Show the class ``name`` and how probable it is."""
        self._message_label.hide()
        self._digit_label.setText(name)
        self._probability_label.setText(f"{probability:.1%}")
        self._digit_label.show()
        self._probability_label.show()

    def show_unsure(self, note: str, name: str, probability: float) -> None:
        """Show that there is no confident answer: a question mark, ``note``, and the best guess."""
        self._message_label.hide()
        self._digit_label.setText("?")
        self._probability_label.setText(f"{note}\n(best guess {name}, {probability:.0%})")
        self._digit_label.show()
        self._probability_label.show()

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show ``text`` instead of an answer, in the warning colour for an error."""
        self._digit_label.hide()
        self._probability_label.hide()
        self._message_label.setText(text)
        set_text_colour(self._message_label, WARNING_COLOUR if error else None)
        self._message_label.show()

    def show_input(self, image28: NDArray[np.generic], saliency: NDArray[np.generic] | None = None) -> None:
        """Show the image the network is given, each pixel a crisp square, with ``saliency``
        (its shape, in [0, 1]) laid over it when given and the toggle is on."""
        self._image, self._saliency = image28, saliency
        side = MNIST_SIZE * _INPUT_SCALE
        if saliency is not None and self.saliency_toggle.isChecked():
            self._input_label.setPixmap(heat_overlay_pixmap(image28, saliency, side))
        else:
            self._input_label.setPixmap(gray_pixmap(image28, side))

    def overlay_shown(self) -> bool:
        """Whether the saliency overlay is drawn on the input now."""
        return self._saliency is not None and self.saliency_toggle.isChecked()

    def message(self) -> str:
        """The notice shown instead of an answer, or ``""``."""
        return self._message_label.text() if self._message_label.isVisibleTo(self) else ""

    def answer_text(self) -> str:
        """The class and its probability as shown, e.g. ``"7 82.0%"``."""
        return f"{self._digit_label.text()} {self._probability_label.text()}"


class ProbabilityBars(pg.PlotWidget):  # type: ignore[misc] # pyqtgraph has no type hints
    """A bar chart of the class probabilities, the predicted class in the highlight colour.

    Args:
        palette: Where the colours come from (the panel's).
        parent: The Qt parent.
    """

    def __init__(self, palette: QPalette, parent: QWidget | None = None) -> None:
        foreground = palette.color(QPalette.ColorRole.Text)
        bar_colour = QColor(palette.color(QPalette.ColorRole.Mid))
        bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=bar_colour, pen=None)
        plot = pg.PlotItem()
        plot.addItem(bars)
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setYRange(0.0, 1.06, padding=0.0)  # room for the 100% label
        plot.getAxis("left").setTicks([[(0.0, "0%"), (0.5, "50%"), (1.0, "100%")]])
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(foreground)
            plot.getAxis(axis).setPen(foreground)
        super().__init__(parent, background=palette.color(QPalette.ColorRole.Base), plotItem=plot)
        self._plot = plot
        self._bars = bars
        self._bar_colour = bar_colour
        self._top_colour = QColor(palette.color(QPalette.ColorRole.Highlight))
        self.setMinimumHeight(150)
        self.setMaximumHeight(240)
        self.setToolTip("The probability the network gives each class.")
        self.set_class_labels([str(k) for k in range(10)])

    def set_class_labels(self, labels: Sequence[str]) -> None:
        """Label the bars, one label per class, and fit the axis to them."""
        count = len(labels)
        self._plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self._plot.setXRange(-0.6, count - 0.4, padding=0.0)

    def show_probabilities(self, probabilities: NDArray[np.float32], predicted_class: int) -> None:
        """Draw ``probabilities``, highlighting ``predicted_class``."""
        count = len(probabilities)
        brushes = [self._top_colour if k == predicted_class else self._bar_colour for k in range(count)]
        self._bars.setOpts(x=np.arange(count), height=probabilities, brushes=brushes)

    def show_empty(self, count: int) -> None:
        """Draw ``count`` empty bars (never stale ones)."""
        self._bars.setOpts(x=np.arange(count), height=np.zeros(count), brushes=[self._bar_colour] * count)

    def heights(self) -> NDArray[np.float64]:
        """The heights of the bars as drawn."""
        return np.asarray(self._bars.opts["height"], dtype=np.float64).copy()


class Thumbnail(QWidget):
    """A small image with a caption under it."""

    def __init__(self, side: int, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side
        self.image = QLabel()
        self.image.setFixedSize(QSize(side + 2, side + 2))
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setFrameShape(QFrame.Shape.Box)
        self.image.setToolTip(tooltip)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.caption.setToolTip(tooltip)
        font = self.caption.font()
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        self.caption.setFont(font)
        # Room for two lines (what it is, what it reads as), so layouts never clip them.
        self.caption.setMinimumHeight(2 * self.caption.fontMetrics().lineSpacing() + 2)
        self.caption.setMinimumWidth(side + 12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(1)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)

    def show_image(self, image: NDArray[np.generic], caption: str) -> None:
        # On a black square, so a tall crop reads as ink on black rather than a striped box.
        picture = gray_pixmap(image, self.side)
        square = QPixmap(self.side, self.side)
        square.fill(QColor(0, 0, 0))
        painter = QPainter(square)
        try:
            painter.drawPixmap(
                (self.side - picture.width()) // 2, (self.side - picture.height()) // 2, picture
            )
        finally:
            painter.end()
        self.image.setPixmap(square)
        self.caption.setText(caption)

    def clear(self) -> None:
        """Show nothing, not even a caption."""
        self.image.clear()
        self.caption.setText("")


class StageStrip(QWidget):
    """A row of thumbnails: each preprocessing stage from the drawing to the network input."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.thumbs: list[Thumbnail] = []
        for _ in range(_STAGE_COUNT):
            thumb = Thumbnail(_STAGE_SIDE, "One step of turning the drawing into the network's input.")
            self.thumbs.append(thumb)
            row.addWidget(thumb)
        row.addStretch(1)

    def show_stages(self, prep: Preprocessed) -> None:
        """Show each stage of ``prep`` with its name and size."""
        for index, thumb in enumerate(self.thumbs):
            if index < len(prep.stages):
                name, image = prep.stages[index]
                rows, cols = image.shape
                thumb.show_image(image, f"{name}\n{cols}×{rows}")
                thumb.show()
            else:
                thumb.hide()

    def captions(self) -> list[str]:
        """The names of the stages shown."""
        return [thumb.caption.text().split("\n")[0] for thumb in self.thumbs if not thumb.isHidden()]


class RobustnessGrid(QWidget):
    """The robustness variants in a grid, what each is read as, and the verdict above them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setToolTip(
            "Whether small changes that keep the digit the same change the answer."
        )
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        self.thumbs: list[Thumbnail] = []
        for index in range(_VARIANT_COUNT):
            thumb = Thumbnail(
                _VARIANT_SIDE, "A slightly changed copy of the network input and what it is read as."
            )
            self.thumbs.append(thumb)
            grid.addWidget(thumb, index // _ROBUSTNESS_COLUMNS, index % _ROBUSTNESS_COLUMNS)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict_label)
        layout.addLayout(grid)

    def set_verdict(self, text: str) -> None:
        """Say ``text`` above the variants (a notice, or why there is no verdict)."""
        self.verdict_label.setText(text)

    def show_answers(
        self,
        variants: Sequence[tuple[str, NDArray[np.float32]]],
        probabilities: NDArray[np.float32],
        name: Callable[[int], str],
    ) -> None:
        """Show each variant with its answer, and the verdict.

        Args:
            variants: What was changed, and the changed image, for each variant.
            probabilities: One row for the unchanged input, then one per variant.
            name: The name of a class, by index.
        """
        answers = [int(k) for k in np.argmax(probabilities, axis=1)]
        reference, variant_answers = answers[0], answers[1:]
        for thumb, (label, image), answer, row in zip(
            self.thumbs, variants, variant_answers, probabilities[1:], strict=False
        ):
            thumb.show_image(image, f"{label}\n{name(answer)} · {row[answer]:.0%}")
            set_text_colour(thumb.caption, None if answer == reference else WARNING_COLOUR)
            font = thumb.caption.font()
            font.setBold(answer != reference)
            thumb.caption.setFont(font)
        self.verdict_label.setText(robustness_verdict(variant_answers, reference, name(reference)))

    def clear(self) -> None:
        """Show no verdict and no variants."""
        self.verdict_label.setText("")
        for thumb in self.thumbs:
            thumb.clear()

    def captions(self) -> list[str]:
        """The caption under each variant, as displayed."""
        return [thumb.caption.text() for thumb in self.thumbs]


class ResultsColumn(QScrollArea):
    """What the network makes of the drawing, in one column that scrolls when it must.

    It scrolls when the unfolded sections do not fit, so the tab never forces the window
    taller.

    Args:
        palette: Where the bar colours come from (the panel's).
        parent: The Qt parent.

    Attributes:
        answer: The answer (or a notice) and the network input.
        bars: The class probabilities.
        stages: The preprocessing stages, inside :attr:`stages_section` (folded by default).
        robustness: The robustness check, inside :attr:`robustness_section` (unfolded).
        explanation: What the network looked at, inside :attr:`explanation_section` (shown
            while the answer's "Show where it looked" is on).
    """

    def __init__(self, palette: QPalette, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answer = AnswerView()
        self.bars = ProbabilityBars(palette)
        self.stages = StageStrip()
        self.stages_section = CollapsibleSection(
            "Preprocessing steps",
            self.stages,
            "Shows each step from the drawing to the 28x28 input, as MNIST prepared its digits.",
            expanded=False,
        )
        self.explanation = ExplanationView()
        self.explanation_section = CollapsibleSection(
            "What the network looked at",
            self.explanation,
            "How the overlay on the input was made, and what the first layers' filters found.",
            expanded=True,
        )
        self.explanation_section.hide()  # while "Show where it looked" is off
        self.robustness = RobustnessGrid()
        self.robustness_section = CollapsibleSection(
            "Robustness check",
            self.robustness,
            "Reads copies of the input shifted by 3 pixels, rotated by 15°, and with thinner and thicker strokes.",
            expanded=True,
        )

        results = QWidget()
        right = QVBoxLayout(results)
        right.setContentsMargins(0, 0, 4, 0)
        right.addWidget(self.answer)
        right.addWidget(self.bars, 1)
        right.addWidget(self.explanation_section)
        right.addWidget(self.stages_section)
        right.addWidget(self.robustness_section)
        right.addStretch(0)
        self.setWidget(results)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.setMinimumWidth(results.minimumSizeHint().width() + scrollbar + 2)
