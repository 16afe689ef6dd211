"""The "Draw" tab: draw a digit (or drop a picture of one) and watch a network read it.

:class:`PredictPanel` is a thin view around a :class:`~gui.canvas.DrawingCanvas`. Each
time the drawing changes it runs the pure-numpy preprocessing
(:func:`model.preprocess.preprocess_drawing`) in the GUI thread and hands the 28x28 result
to a :class:`~model.inference.Predictor`, which answers with a future: at once for an idle
model (:class:`~model.inference.DirectPredictor`), or from a run's training thread between
batches (:class:`~model.inference.MailboxPredictor`). It then shows the predicted class,
a bar chart of all class probabilities, the image the network was actually given, every
preprocessing stage on request, and how the answer holds up when the digit is shifted,
rotated, thinned or thickened.

Predictions are asked for while drawing (debounced) and at once when a stroke ends. Every
request is numbered; a reply that is older than the newest one shown is dropped, like the
generation counter of ndv's viewer, because futures resolve in other threads and may
arrive out of order. Replies cross into the GUI thread through a Qt signal (queued when
emitted from another thread); no widget is ever touched from outside the GUI thread.

Run ``python -m gui.predict_panel [MODEL.keras]`` for a look on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QImage,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui.canvas import DEFAULT_BRUSH_WIDTH, MAX_BRUSH_WIDTH, MIN_BRUSH_WIDTH, DrawingCanvas
from gui.widgets import CollapsibleSection
from model.errors import ProjectError
from model.inference import Predictor
from model.preprocess import (
    MNIST_SIZE,
    Preprocessed,
    load_image_file,
    preprocess_drawing,
    robustness_variants,
    to_network_input,
)

DEBOUNCE_MS: Final = 40
"""How long the drawing must rest before a prediction is asked for mid-stroke: short
enough to feel live, long enough not to queue a request for every mouse move."""

EMPTY_MESSAGE: Final = "Draw a digit"
NO_MODEL_MESSAGE: Final = "Train a model or open one to see predictions"
IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_FILTER: Final = "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)"

WARNING_COLOUR: Final = QColor(200, 40, 40)
"""Errors, and robustness variants whose answer differs from the drawing's."""

_MAX_PENDING: Final = 64  # requests remembered while their replies are outstanding
_INPUT_SCALE: Final = 6  # the 28x28 input is shown 168 pixels square
_STAGE_SIDE: Final = 64
_VARIANT_SIDE: Final = 56
_ROBUSTNESS_COLUMNS: Final = 4
_MAIN: Final = "main"
_ROBUSTNESS: Final = "robustness"


@dataclass(frozen=True, eq=False)
class ShownPrediction:
    """A prediction the panel has just displayed (what :attr:`PredictPanel.predictionShown` carries).

    Attributes:
        request_id: The number of the request it answers; later requests have larger ones.
        probabilities: One probability per class (float32, read-only).
        predicted_class: The index of the most probable class.
        image28: The 28x28 image the network was given (float32 in [0, 1], read-only).
    """

    request_id: int
    probabilities: NDArray[np.float32]
    predicted_class: int
    image28: NDArray[np.float32] = field(repr=False)


@dataclass(frozen=True, eq=False)
class _Reply:
    """A resolved future on its way into the GUI thread."""

    request_id: int
    kind: str  # _MAIN or _ROBUSTNESS
    future: Future[np.ndarray]


class _ReplyBridge(QObject):
    """Carries resolved futures into the GUI thread.

    It lives in the GUI thread and has no parent, so a future that resolves after the
    panel is gone still emits on a live object (the panel's connection is simply gone).
    Qt queues the emission when it comes from another thread and delivers it directly
    when the future resolved in the GUI thread already (an idle model's prediction).
    """

    replied = Signal(object)


def _readonly(array: NDArray[np.float32]) -> NDArray[np.float32]:
    array.setflags(write=False)
    return array


def gray_pixmap(image: NDArray[np.generic], width: int, height: int | None = None) -> QPixmap:
    """A float image in [0, 1] as a pixmap fitting ``width`` x ``height``, keeping its aspect.

    Images smaller than the target are enlarged with nearest-neighbour sampling so each
    pixel stays a crisp square (that is what the network sees); larger ones are smoothed.
    """
    values = np.asarray(image, dtype=np.float32)
    if values.ndim == 3:
        values = values[..., 0]
    pixels = np.ascontiguousarray(np.round(np.clip(np.nan_to_num(values), 0.0, 1.0) * 255.0).astype(np.uint8))
    rows, cols = pixels.shape
    qimage = QImage(pixels.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
    height = width if height is None else height
    enlarging = rows <= height and cols <= width
    mode = (
        Qt.TransformationMode.FastTransformation if enlarging else Qt.TransformationMode.SmoothTransformation
    )
    return QPixmap.fromImage(qimage).scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio, mode)


def _set_text_colour(label: QLabel, colour: QColor | None) -> None:
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


class _Thumbnail(QWidget):
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


class PredictPanel(QWidget):
    """The drawing tab: a canvas, its controls, and what the network makes of the drawing.

    Args:
        parent: The Qt parent.
        predictor: What answers predictions; ``None`` until a model exists.
        description: Where the model comes from, shown small above the canvas.

    Signals:
        predictionShown: A :class:`ShownPrediction`, each time a prediction is displayed.
    """

    predictionShown = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        predictor: Predictor | None = None,
        description: str = "",
    ) -> None:
        super().__init__(parent)
        self._predictor: Predictor | None = None
        self._class_names: tuple[str, ...] = tuple(str(k) for k in range(10))
        self._last_request = 0
        self._floor = 0  # replies to requests below this are stale
        self._robustness_floor = 0
        self._pending: dict[int, Preprocessed] = {}
        # Robustness work per request: its variants, and a reply that beat its main reply.
        self._variants: dict[int, list[tuple[str, NDArray[np.float32]]]] = {}
        self._early_robustness: dict[int, _Reply] = {}
        self._shown: ShownPrediction | None = None
        self._shown_prep: Preprocessed | None = None
        self._file_image: NDArray[np.float32] | None = None
        self._file_name = ""
        self._bridge = _ReplyBridge()

        self._build()
        self._connect()
        self.setAcceptDrops(True)
        self.set_predictor(predictor, description)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        palette = self.palette()
        foreground = palette.color(QPalette.ColorRole.Text)
        self._bar_colour = QColor(palette.color(QPalette.ColorRole.Mid))
        self._top_colour = QColor(palette.color(QPalette.ColorRole.Highlight))

        # --- left: where the model comes from, the canvas and its controls
        self.canvas = DrawingCanvas(brush_width=DEFAULT_BRUSH_WIDTH)
        self._description = QLabel()
        self._description.setWordWrap(True)
        self._description.setToolTip("Which model reads the drawing.")
        self._description.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._width_slider = QSlider(Qt.Orientation.Horizontal)
        self._width_slider.setRange(int(MIN_BRUSH_WIDTH), int(MAX_BRUSH_WIDTH))
        self._width_slider.setValue(int(self.canvas.brush_width()))
        self._width_slider.setToolTip(
            "Sets the pen width for new strokes; preprocessing redraws very thin or thick strokes at MNIST's width."
        )
        self._width_label = QLabel()
        self._width_label.setMinimumWidth(40)
        self._width_label.setToolTip("The pen width in canvas pixels (the canvas is 280 pixels wide).")
        self._clear_button = QPushButton("Clear")
        self._clear_button.setToolTip("Erases the drawing (and forgets an opened image).")
        self._undo_button = QPushButton("Undo")
        self._undo_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
        self._undo_button.setToolTip("Takes back the last stroke (Ctrl+Z).")
        self._open_button = QPushButton("Open image…")
        self._open_button.setToolTip(
            "Reads a PNG, JPEG or BMP picture of a digit with the same preprocessing (or drop a file here)."
        )
        self._source_label = QLabel()
        self._source_label.setWordWrap(True)
        self._source_label.setToolTip("The picture being read; drawing or Clear returns to the canvas.")
        self._source_label.hide()

        pen_row = QHBoxLayout()
        pen_label = QLabel("Pen")
        pen_label.setToolTip("The width of new strokes.")
        pen_row.addWidget(pen_label)
        pen_row.addWidget(self._width_slider, 1)
        pen_row.addWidget(self._width_label)
        button_row = QHBoxLayout()
        button_row.addWidget(self._clear_button)
        button_row.addWidget(self._undo_button)
        button_row.addWidget(self._open_button)
        left = QVBoxLayout()
        left.addWidget(self._description)
        # The canvas keeps its preferred height (its width: it is square) and the stretch
        # below takes what is left, so the pen controls sit right under the drawing.
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        left.addWidget(self.canvas)
        left.addLayout(pen_row)
        left.addLayout(button_row)
        left.addWidget(self._source_label)
        left.addStretch(1)

        # --- right: the answer, the probabilities, the network's input
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
            "The 28x28 image the network is given: cropped, stroke width adjusted, scaled to 20x20 and centred."
        )
        input_caption = QLabel("Network input (28×28)")
        input_caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        input_caption.setToolTip("Each square is one of the 784 pixels the network reads.")

        answer = QVBoxLayout()
        answer.addStretch(1)
        answer.addWidget(self._digit_label)
        answer.addWidget(self._probability_label)
        answer.addWidget(self._message_label)
        answer.addStretch(1)
        input_box = QVBoxLayout()
        input_box.addWidget(self._input_label, 0, Qt.AlignmentFlag.AlignHCenter)
        input_box.addWidget(input_caption)
        top = QHBoxLayout()
        top.addLayout(answer, 1)
        top.addLayout(input_box)

        self._bars = pg.BarGraphItem(
            x=np.arange(10), height=np.zeros(10), width=0.7, brush=self._bar_colour, pen=None
        )
        plot = pg.PlotItem()
        plot.addItem(self._bars)
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setYRange(0.0, 1.06, padding=0.0)  # room for the 100% label
        plot.getAxis("left").setTicks([[(0.0, "0%"), (0.5, "50%"), (1.0, "100%")]])
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(foreground)
            plot.getAxis(axis).setPen(foreground)
        self._plot = plot
        self._bar_widget = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base), plotItem=plot)
        self._bar_widget.setMinimumHeight(150)
        self._bar_widget.setMaximumHeight(240)
        self._bar_widget.setToolTip("The probability the network gives each class.")
        self._set_bar_ticks(10)

        # --- preprocessing stages (folded away by default)
        stages_body = QWidget()
        self._stage_row = QHBoxLayout(stages_body)
        self._stage_row.setContentsMargins(0, 0, 0, 0)
        self._stage_thumbs: list[_Thumbnail] = []
        for _ in range(5):
            thumb = _Thumbnail(_STAGE_SIDE, "One step of turning the drawing into the network's input.")
            self._stage_thumbs.append(thumb)
            self._stage_row.addWidget(thumb)
        self._stage_row.addStretch(1)
        self.stages_section = CollapsibleSection(
            "Preprocessing steps",
            stages_body,
            "Shows each step from the drawing to the 28x28 input, as MNIST prepared its digits.",
            expanded=False,
        )

        # --- robustness: the answer for shifted, rotated, thinner and thicker variants
        robustness_body = QWidget()
        self._verdict_label = QLabel()
        self._verdict_label.setWordWrap(True)
        self._verdict_label.setToolTip(
            "Whether small changes that keep the digit the same change the answer."
        )
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(2)
        self._variant_thumbs: list[_Thumbnail] = []
        for index in range(8):
            thumb = _Thumbnail(
                _VARIANT_SIDE, "A slightly changed copy of the network input and what it is read as."
            )
            self._variant_thumbs.append(thumb)
            grid.addWidget(thumb, index // _ROBUSTNESS_COLUMNS, index % _ROBUSTNESS_COLUMNS)
        robustness_layout = QVBoxLayout(robustness_body)
        robustness_layout.setContentsMargins(0, 0, 0, 0)
        robustness_layout.addWidget(self._verdict_label)
        robustness_layout.addLayout(grid)
        self.robustness_section = CollapsibleSection(
            "Robustness check",
            robustness_body,
            "Reads copies of the input shifted by 3 pixels, rotated by 15°, and with thinner and thicker strokes.",
            expanded=True,
        )

        results = QWidget()
        right = QVBoxLayout(results)
        right.setContentsMargins(0, 0, 4, 0)
        right.addLayout(top)
        right.addWidget(self._bar_widget, 1)
        right.addWidget(self.stages_section)
        right.addWidget(self.robustness_section)
        right.addStretch(0)
        # Scrolls when the unfolded sections do not fit, so the tab never forces the window taller.
        scroller = QScrollArea()
        scroller.setWidget(results)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scrollbar = scroller.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        scroller.setMinimumWidth(results.minimumSizeHint().width() + scrollbar + 2)

        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(scroller, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._on_width_changed(self._width_slider.value())

    def _connect(self) -> None:
        self.canvas.drawingChanged.connect(self._on_drawing_changed)
        self.canvas.strokeFinished.connect(self._on_stroke_finished)
        self._debounce.timeout.connect(self._on_debounce_due)
        self._width_slider.valueChanged.connect(self._on_width_changed)
        self._clear_button.clicked.connect(self._on_clear_clicked)
        self._undo_button.clicked.connect(self._on_undo_clicked)
        self._open_button.clicked.connect(self._on_open_clicked)
        self.stages_section.header.toggled.connect(self._on_stages_toggled)
        self.robustness_section.header.toggled.connect(self._on_robustness_toggled)
        self._bridge.replied.connect(self._on_reply)

    # ------------------------------------------------------------------ public API

    def set_predictor(self, predictor: Predictor | None, description: str = "") -> None:
        """Use ``predictor`` for predictions from now on and re-read the current drawing.

        Replies still on their way from the previous predictor are dropped.

        Args:
            predictor: What answers predictions, or ``None`` when there is no model
                (drawing stays possible; the panel says how to get a model).
            description: Where the model comes from, e.g. "live model of run 3 (training)".
        """
        self._predictor = predictor
        self._description.setText(description)
        self._description.setVisible(bool(description))
        self._floor = self._robustness_floor = self._last_request + 1
        self._forget_before(self._floor)
        self.predict_now()

    def predictor(self) -> Predictor | None:
        """The predictor in use, or ``None``."""
        return self._predictor

    def description(self) -> str:
        """Where the model comes from, as shown above the canvas."""
        return self._description.text()

    def reading_file(self) -> str | None:
        """The name of the picture file being read instead of the canvas, if any."""
        return self._file_name if self._file_image is not None else None

    def set_class_names(self, names: Sequence[str]) -> None:
        """Name the classes on the bar chart and in the answer (default ``"0"`` to ``"9"``)."""
        self._class_names = tuple(str(name) for name in names)
        self._set_bar_ticks(len(self._class_names))
        if self._shown is not None:
            self._show_answer(self._shown)

    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    def predict_now(self) -> None:
        """Read the current drawing (or opened picture) now, with the robustness check."""
        self._request(settled=True)

    def open_image(self, path: str | Path) -> bool:
        """Read a picture file of a digit instead of the canvas until the next stroke.

        Returns:
            Whether the file could be read; when not, the panel shows why.
        """
        try:
            image = load_image_file(path)
        except ProjectError as exc:
            self._floor = self._robustness_floor = self._last_request + 1  # no reply may cover it
            self._forget_before(self._floor)
            self._show_message(str(exc), error=True)
            return False
        self._file_image = image
        self._file_name = Path(path).name
        self._source_label.setText(f"Reading {Path(path).name}: draw or press Clear to return to the canvas.")
        self._source_label.show()
        self.predict_now()
        return True

    def message(self) -> str:
        """The notice shown instead of a prediction ("Draw a digit", an error), or ``""``."""
        return self._message_label.text() if self._message_label.isVisibleTo(self) else ""

    def answer_text(self) -> str:
        """The answer as displayed, e.g. ``"7 82.0%"``, or ``""`` while a notice is shown."""
        if self._shown is None:
            return ""
        return f"{self._digit_label.text()} {self._probability_label.text()}"

    def bar_values(self) -> NDArray[np.float64]:
        """The heights of the probability bars as drawn (all zero while a notice is shown)."""
        return np.asarray(self._bars.opts["height"], dtype=np.float64).copy()

    def shown_prediction(self) -> ShownPrediction | None:
        """The prediction on display, or ``None`` while a notice is shown."""
        return self._shown

    def last_request_id(self) -> int:
        """The number of the newest prediction request (a :class:`ShownPrediction` with
        this ``request_id`` answers the current drawing)."""
        return self._last_request

    def stage_captions(self) -> list[str]:
        """The names of the preprocessing stages shown (empty while they are folded away)."""
        if not self.stages_section.is_expanded():
            return []
        return [thumb.caption.text().split("\n")[0] for thumb in self._stage_thumbs if not thumb.isHidden()]

    def robustness_text(self) -> str:
        """The robustness verdict line as displayed."""
        return self._verdict_label.text()

    def robustness_captions(self) -> list[str]:
        """The caption under each robustness variant, as displayed."""
        return [thumb.caption.text() for thumb in self._variant_thumbs]

    # ------------------------------------------------------------------ requests

    def _source_array(self) -> NDArray[np.float32]:
        return self._file_image if self._file_image is not None else self.canvas.to_array()

    def _request(self, *, settled: bool) -> None:
        """Preprocess the drawing and ask the predictor about it.

        Args:
            settled: The drawing has come to rest (a stroke ended, a file was opened), so
                the robustness variants are worth predicting too; mid-stroke requests
                skip them to stay fast.
        """
        self._debounce.stop()
        self._last_request += 1
        request_id = self._last_request
        prep = preprocess_drawing(self._source_array())
        predictor = self._predictor
        if prep.empty or predictor is None:
            self._floor = self._robustness_floor = request_id
            self._forget_before(request_id)
            self._show_input(prep)
            self._show_message(EMPTY_MESSAGE if prep.empty else NO_MODEL_MESSAGE)
            return
        try:
            x = to_network_input(prep.image, predictor.input_shape)
        except ProjectError as exc:
            self._floor = self._robustness_floor = request_id
            self._forget_before(request_id)
            self._show_input(prep)
            self._show_message(str(exc), error=True)
            return
        self._pending[request_id] = prep
        if len(self._pending) > _MAX_PENDING:  # a predictor that stopped answering
            self._forget_before(sorted(self._pending)[-_MAX_PENDING])
        self._submit(predictor, request_id, _MAIN, x)
        if not self.robustness_section.is_expanded():
            return
        if settled:
            variants = robustness_variants(prep.image)
            self._variants[request_id] = variants
            images = [prep.image, *(image for _, image in variants)]
            batch = np.concatenate([to_network_input(image, predictor.input_shape) for image in images])
            self._submit(predictor, request_id, _ROBUSTNESS, batch)
        elif self._robustness_floor < request_id:
            self._verdict_label.setText("Checking again when the stroke ends…")

    def _forget_before(self, request_id: int) -> None:
        """Drop what is kept for requests older than ``request_id``: their replies are stale."""
        for store in (self._pending, self._variants, self._early_robustness):
            for key in [key for key in store if key < request_id]:
                del store[key]

    def _submit(self, predictor: Predictor, request_id: int, kind: str, x: NDArray[np.float32]) -> None:
        bridge = self._bridge
        try:
            future = predictor.submit(x)
        except Exception as exc:  # noqa: BLE001 - a broken predictor is shown, not raised
            future = Future()
            future.set_exception(exc)

        def _on_done(done: Future[np.ndarray]) -> None:
            # Runs in whichever thread resolved the future: only emit, touch nothing else.
            bridge.replied.emit(_Reply(request_id, kind, done))

        future.add_done_callback(_on_done)

    # ------------------------------------------------------------------ replies

    def _on_reply(self, reply: _Reply) -> None:
        if reply.kind == _MAIN:
            self._on_main_reply(reply)
        else:
            self._on_robustness_reply(reply)

    @staticmethod
    def _outcome(future: Future[np.ndarray], rows: int) -> NDArray[np.float32] | str:
        """The probabilities a future holds, or why there are none, in words."""
        try:
            result = future.result(timeout=0)
        except CancelledError:
            return "Prediction failed: the request was cancelled"
        except Exception as exc:  # noqa: BLE001 - any failure of the predictor is shown
            return f"Prediction failed: {type(exc).__name__}: {exc}"
        probabilities = np.asarray(result, dtype=np.float32)
        if probabilities.ndim != 2 or probabilities.shape[0] != rows or probabilities.shape[1] < 1:
            return f"Prediction failed: the model answered with shape {probabilities.shape}, not ({rows}, classes)"
        if not np.all(np.isfinite(probabilities)):
            return "Prediction failed: the model answered NaN or infinity (the weights may have diverged)"
        return probabilities

    def _on_main_reply(self, reply: _Reply) -> None:
        prep = self._pending.pop(reply.request_id, None)
        if reply.request_id < self._floor or prep is None:
            return  # an older drawing than the one on display
        self._floor = reply.request_id
        self._forget_before(reply.request_id)
        outcome = self._outcome(reply.future, 1)
        self._show_input(prep)
        if isinstance(outcome, str):
            self._show_message(outcome, error=True)
            return
        probabilities = _readonly(outcome[0].copy())
        shown = ShownPrediction(
            request_id=reply.request_id,
            probabilities=probabilities,
            predicted_class=int(np.argmax(probabilities)),
            image28=prep.image,
        )
        self._show_answer(shown)
        early = self._early_robustness.pop(reply.request_id, None)
        if early is not None:
            self._on_robustness_reply(early)
        self.predictionShown.emit(shown)

    def _on_robustness_reply(self, reply: _Reply) -> None:
        request_id = reply.request_id
        if request_id < max(self._floor, self._robustness_floor) or request_id not in self._variants:
            return
        if self._shown is None or self._shown.request_id != request_id:
            if request_id in self._pending:  # its main reply is still on the way: wait for it
                self._early_robustness[request_id] = reply
            return
        self._robustness_floor = request_id
        variants = self._variants.pop(request_id)
        outcome = self._outcome(reply.future, 1 + len(variants))
        if isinstance(outcome, str):
            self._verdict_label.setText(outcome)
            return
        answers = [int(k) for k in np.argmax(outcome, axis=1)]
        reference, variant_answers = answers[0], answers[1:]
        for thumb, (label, image), answer, row in zip(
            self._variant_thumbs, variants, variant_answers, outcome[1:], strict=False
        ):
            thumb.show_image(image, f"{label}\n{self._name(answer)} · {row[answer]:.0%}")
            _set_text_colour(thumb.caption, None if answer == reference else WARNING_COLOUR)
            font = thumb.caption.font()
            font.setBold(answer != reference)
            thumb.caption.setFont(font)
        self._verdict_label.setText(robustness_verdict(variant_answers, reference, self._name(reference)))

    # ------------------------------------------------------------------ display

    def _name(self, index: int) -> str:
        return self._class_names[index] if 0 <= index < len(self._class_names) else str(index)

    def _set_bar_ticks(self, count: int) -> None:
        self._plot.getAxis("bottom").setTicks([[(k, self._name(k)) for k in range(count)]])
        self._plot.setXRange(-0.6, count - 0.4, padding=0.0)

    def _show_answer(self, shown: ShownPrediction) -> None:
        probabilities = shown.probabilities
        self._shown = shown
        self._message_label.hide()
        self._digit_label.setText(self._name(shown.predicted_class))
        self._probability_label.setText(f"{float(probabilities[shown.predicted_class]):.1%}")
        self._digit_label.show()
        self._probability_label.show()
        count = len(probabilities)
        if count != len(self._class_names):
            self._set_bar_ticks(count)
        brushes = [self._top_colour if k == shown.predicted_class else self._bar_colour for k in range(count)]
        self._bars.setOpts(x=np.arange(count), height=probabilities, brushes=brushes)

    def _show_message(self, text: str, *, error: bool = False) -> None:
        """Show a notice instead of a prediction, with empty bars (never stale ones)."""
        self._shown = None
        self._digit_label.hide()
        self._probability_label.hide()
        self._message_label.setText(text)
        _set_text_colour(self._message_label, WARNING_COLOUR if error else None)
        self._message_label.show()
        count = len(self._class_names)
        self._bars.setOpts(x=np.arange(count), height=np.zeros(count), brushes=[self._bar_colour] * count)
        self._verdict_label.setText("")
        for thumb in self._variant_thumbs:
            thumb.image.clear()
            thumb.caption.setText("")

    def _show_input(self, prep: Preprocessed) -> None:
        """Show the 28x28 image (and the stages, when unfolded) of the drawing being read."""
        self._shown_prep = prep
        side = MNIST_SIZE * _INPUT_SCALE
        self._input_label.setPixmap(gray_pixmap(prep.image, side))
        if self.stages_section.is_expanded():
            self._show_stages(prep)

    def _show_stages(self, prep: Preprocessed) -> None:
        for index, thumb in enumerate(self._stage_thumbs):
            if index < len(prep.stages):
                name, image = prep.stages[index]
                rows, cols = image.shape
                thumb.show_image(image, f"{name}\n{cols}×{rows}")
                thumb.show()
            else:
                thumb.hide()

    # ------------------------------------------------------------------ handlers

    def _on_drawing_changed(self) -> None:
        if self._file_image is not None:
            self._file_image = None
            self._source_label.hide()
        self._debounce.start()

    def _on_stroke_finished(self) -> None:
        self._request(settled=True)

    def _on_debounce_due(self) -> None:
        self._request(settled=False)

    def _on_width_changed(self, value: int) -> None:
        self.canvas.set_brush_width(value)
        self._width_label.setText(f"{self.canvas.brush_width():g} px")

    def _on_clear_clicked(self) -> None:
        self._file_image = None
        self._source_label.hide()
        self.canvas.clear()
        self._request(settled=True)

    def _on_undo_clicked(self) -> None:
        self.canvas.undo()
        self._request(settled=True)

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a picture of a digit", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def _on_stages_toggled(self, expanded: bool) -> None:
        if expanded and self._shown_prep is not None:
            self._show_stages(self._shown_prep)

    def _on_robustness_toggled(self, expanded: bool) -> None:
        if expanded:
            self._request(settled=True)

    # ------------------------------------------------------------------ drag and drop

    @staticmethod
    def _dropped_image(event: QDragEnterEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            path = url.toLocalFile()
            if path and path.lower().endswith(IMAGE_SUFFIXES):
                return path
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_image(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_image(path)


# ---------------------------------------------------------------------- manual look


def main(argv: Sequence[str] | None = None) -> int:
    """Show the panel on its own, reading with a saved model when one is given."""
    parser = argparse.ArgumentParser(prog="python -m gui.predict_panel", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .keras model file (or a run folder holding model.keras)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = PredictPanel()
    panel.setWindowTitle("Gradient Lab - draw a digit")
    if args.model:
        from model.inference import DirectPredictor, check_digit_model
        from model.modelio import load_model_safe

        try:
            model = load_model_safe(args.model)
            check_digit_model(model)
        except ProjectError as exc:
            panel.set_predictor(None, f"Could not open {args.model}: {exc}")
        else:
            panel.set_predictor(DirectPredictor(model), f"model from {args.model}")
    panel.resize(980, 640)
    panel.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
