"""The drawing canvas: where a person draws a digit for a trained network to read.

:class:`DrawingCanvas` records mouse and pen strokes into an offscreen grayscale image
(white ink on black, like MNIST) and only blits that image in ``paintEvent``, the way the
PySide6 painter example does. It is a thin view: it keeps the strokes so that the last one
can be undone, hands out the image as a numpy array, and signals changes. Preprocessing
and prediction live elsewhere (:mod:`model.preprocess` and the inference panel).

Run ``python -m gui.canvas`` for a manual look: the canvas with a brush-width slider,
Clear and Undo, and a live preview of the 28x28 image a network would be given.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QTabletEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

CANVAS_SIZE = 280
"""The side of the offscreen image in pixels: ten times MNIST's 28, like a sheet of
paper a digit fills comfortably at any widget size."""

MIN_BRUSH_WIDTH = 1.0
MAX_BRUSH_WIDTH = 60.0
DEFAULT_BRUSH_WIDTH = 20.0
"""About a tenth of a digit's height on the 280-pixel canvas: MNIST's typical stroke."""

_MIN_PRESSURE = 0.15  # the lightest pen touch still leaves a visible line
_INK = QColor(255, 255, 255)
_PAPER = QColor(0, 0, 0)
_MARGIN_COLOUR = QColor(64, 64, 64)


@dataclass
class _Stroke:
    """One press-to-release gesture: the brush width it began with and its points as
    ``(x, y, pressure)`` in canvas pixels."""

    width: float
    points: list[tuple[float, float, float]] = field(default_factory=list)


class DrawingCanvas(QWidget):
    """A square grayscale canvas for drawing digits with the mouse or a tablet pen.

    Strokes use a round pen (round caps and joins) of :meth:`brush_width` canvas pixels;
    a pen's pressure scales the width. The canvas image keeps its own resolution
    (``size`` pixels square) and is scaled to fit the widget, so resizing never loses or
    blurs the drawing.

    Signals:
        drawingChanged: The image changed: emitted for every new point while a stroke is
            being drawn (connect a debounce timer for live prediction), and after
            :meth:`undo` or :meth:`clear` when they changed something.
        strokeFinished: A stroke ended (the mouse button or pen was released).
    """

    drawingChanged = Signal()
    strokeFinished = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        size: int = CANVAS_SIZE,
        brush_width: float = DEFAULT_BRUSH_WIDTH,
    ) -> None:
        super().__init__(parent)
        if size < 8:
            raise ValueError(f"the canvas must be at least 8 pixels square, got {size}")
        self._image = QImage(size, size, QImage.Format.Format_Grayscale8)
        self._image.fill(_PAPER)
        self._strokes: list[_Stroke] = []
        self._active: _Stroke | None = None
        self._picture: QPixmap | None = None  # an opened picture, shown until the next stroke
        self._brush_width = DEFAULT_BRUSH_WIDTH
        self.set_brush_width(brush_width)

        # paintEvent covers every pixel, so Qt need not clear the background first.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(QSize(min(112, size), min(112, size)))
        self.setToolTip("Draw a digit with the mouse or a pen; it is read as white ink on black, like MNIST.")

    # ------------------------------------------------------------------ public API

    def brush_width(self) -> float:
        """The width of new strokes, in canvas pixels."""
        return self._brush_width

    def set_brush_width(self, px: float) -> None:
        """Set the width of new strokes in canvas pixels, clamped to 1-60; strokes
        already drawn keep their width."""
        self._brush_width = float(min(max(float(px), MIN_BRUSH_WIDTH), MAX_BRUSH_WIDTH))

    def canvas_size(self) -> int:
        """The side of the offscreen image, in pixels."""
        return self._image.width()

    def stroke_count(self) -> int:
        """How many strokes the drawing holds (what :meth:`undo` can take back)."""
        return len(self._strokes)

    def strokes(self) -> tuple[tuple[float, tuple[tuple[float, float, float], ...]], ...]:
        """Each stroke's pen width and its points ``(x, y, pressure)``, in canvas pixels (copies),
        oldest first. The points are what :func:`model.ink.preprocess_strokes` reads, whatever
        the pen's width."""
        return tuple((stroke.width, tuple(stroke.points)) for stroke in self._strokes)

    def is_empty(self) -> bool:
        """Whether nothing has been drawn since the canvas was created or cleared."""
        return not self._strokes

    def stroke_in_progress(self) -> bool:
        """Whether the pen or mouse is down, drawing a stroke."""
        return self._active is not None

    def show_picture(self, picture: QPixmap | None) -> None:
        """Show an opened picture (fitted, centred) in place of the drawing until the next stroke."""
        self._picture = picture
        self.update()

    def picture(self) -> QPixmap | None:
        return self._picture

    def clear(self) -> None:
        """Erase everything, including the undo history."""
        self.show_picture(None)
        if not self._strokes:
            return
        self._strokes.clear()
        self._active = None
        self._image.fill(_PAPER)
        self.update()
        self.drawingChanged.emit()

    def undo(self) -> None:
        """Take back the last stroke (also one still being drawn); the others stay."""
        if not self._strokes:
            return
        self._strokes.pop()
        self._active = None
        self._render_all()
        self.update()
        self.drawingChanged.emit()

    def to_array(self) -> NDArray[np.float32]:
        """The drawing as a ``(size, size)`` float32 array in [0, 1], ink high.

        The pixels are copied, so the array stays valid however the canvas changes.
        """
        image = self._image
        height, width, stride = image.height(), image.width(), image.bytesPerLine()
        # Rows are padded to bytesPerLine; the view is dropped as soon as it is copied.
        raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
        pixels = raw.reshape(height, stride)[:, :width]
        return pixels.astype(np.float32) / np.float32(255.0)

    # ------------------------------------------------------------------ geometry

    def sizeHint(self) -> QSize:
        return QSize(self._image.width(), self._image.height())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _target_rect(self) -> QRectF:
        """Where the image is shown: the largest centred square that fits the widget."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2.0, (self.height() - side) / 2.0, side, side)

    def _to_canvas(self, position: QPointF) -> QPointF | None:
        """A widget position in canvas pixels, or None while the widget has no area."""
        target = self._target_rect()
        if target.width() <= 0:
            return None
        scale = self._image.width() / target.width()
        return QPointF((position.x() - target.left()) * scale, (position.y() - target.top()) * scale)

    def _on_canvas(self, point: QPointF) -> bool:
        size = self._image.width()
        return 0.0 <= point.x() < size and 0.0 <= point.y() < size

    # ------------------------------------------------------------------ strokes

    def _begin(self, position: QPointF, pressure: float) -> bool:
        point = self._to_canvas(position)
        if point is None or not self._on_canvas(point):
            return False
        self._picture = None  # drawing replaces an opened picture
        self._active = _Stroke(self._brush_width, [(point.x(), point.y(), pressure)])
        self._strokes.append(self._active)
        self._draw(self._active, 0)
        self.update()
        self.drawingChanged.emit()
        return True

    def _extend(self, position: QPointF, pressure: float) -> None:
        stroke = self._active
        point = self._to_canvas(position)
        if stroke is None or point is None:
            return
        last_x, last_y, _ = stroke.points[-1]
        if point.x() == last_x and point.y() == last_y:
            return
        stroke.points.append((point.x(), point.y(), pressure))
        self._draw(stroke, len(stroke.points) - 1)
        self.update()
        self.drawingChanged.emit()

    def _finish(self, position: QPointF | None, pressure: float) -> None:
        if self._active is None:
            return
        if position is not None:
            self._extend(position, pressure)
        self._active = None
        self.strokeFinished.emit()

    def _draw(self, stroke: _Stroke, start: int) -> None:
        """Paint ``stroke`` from point ``start`` on onto the offscreen image."""
        painter = QPainter(self._image)
        try:
            self._paint_stroke(painter, stroke, start)
        finally:
            painter.end()

    def _render_all(self) -> None:
        """Repaint the image from the stroke list (after an undo)."""
        self._image.fill(_PAPER)
        painter = QPainter(self._image)
        try:
            for stroke in self._strokes:
                self._paint_stroke(painter, stroke, 0)
        finally:
            painter.end()

    @staticmethod
    def _paint_stroke(painter: QPainter, stroke: _Stroke, start: int) -> None:
        # The same code draws live and re-renders after an undo, so both give the same pixels.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(_INK)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        points = stroke.points
        for index in range(start, len(points)):
            x, y, pressure = points[index]
            if index == 0:
                pen.setWidthF(stroke.width * pressure)
                painter.setPen(pen)
                painter.drawPoint(QPointF(x, y))  # a round cap: a dot for a single click
                continue
            previous_x, previous_y, previous_pressure = points[index - 1]
            pen.setWidthF(stroke.width * (previous_pressure + pressure) / 2.0)
            painter.setPen(pen)
            painter.drawLine(QPointF(previous_x, previous_y), QPointF(x, y))

    # ------------------------------------------------------------------ Qt events

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), _MARGIN_COLOUR)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            target = self._target_rect()
            if self._picture is None:
                painter.drawImage(target, self._image)
            else:
                painter.fillRect(target, _PAPER)
                scale = target.width() / self._image.width()
                width, height = self._picture.width() * scale, self._picture.height() * scale
                centre = target.center()
                shown = QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)
                painter.drawPixmap(shown, self._picture, QRectF(self._picture.rect()))
        finally:
            painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            # A press while a stroke is open means its release never arrived (a popup took
            # the mouse, say): end that stroke rather than leave the canvas stuck.
            self._finish(None, 1.0)
            if self._begin(event.position(), 1.0):
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Follow the stroke from press to release whatever buttons the move reports: some
        # platforms (and QTest on them) send drag moves without them. Without mouse
        # tracking Qt delivers no hover moves, so this never draws on a mere hover.
        if self._active is not None:
            self._extend(event.position(), 1.0)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._active is not None:
            self._finish(event.position(), 1.0)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:
        pressure = min(max(float(event.pressure()), _MIN_PRESSURE), 1.0)
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._finish(None, pressure)
            self._begin(event.position(), pressure)
        elif kind == QEvent.Type.TabletMove and self._active is not None:
            self._extend(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease and self._active is not None:
            self._finish(event.position(), pressure)
        # Accepted, so Qt does not also synthesise mouse events for the same gesture.
        event.accept()


# ---------------------------------------------------------------------- manual look


def _gray_pixmap(image: NDArray[np.float32], side: int) -> QPixmap:
    """A float image in [0, 1] as a ``side``-pixel square pixmap, pixels kept sharp."""
    pixels = np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8))
    height, width = pixels.shape
    qimage = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage).scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def main() -> int:
    """Show the canvas on its own with its controls and a live 28x28 preview."""
    from model.preprocess import preprocess_drawing

    app = QApplication.instance() or QApplication(sys.argv)
    window = QWidget()
    window.setWindowTitle("Gradient Lab - drawing canvas")

    canvas = DrawingCanvas()
    width_slider = QSlider(Qt.Orientation.Horizontal)
    width_slider.setRange(int(MIN_BRUSH_WIDTH), int(MAX_BRUSH_WIDTH))
    width_slider.setValue(int(canvas.brush_width()))
    width_slider.setToolTip("Sets the pen width for new strokes, in canvas pixels (the canvas is 280 wide).")
    width_label = QLabel(f"{canvas.brush_width():g} px")
    width_label.setToolTip("The current pen width in canvas pixels.")
    clear_button = QPushButton("Clear")
    clear_button.setToolTip("Erases the whole drawing.")
    undo_button = QPushButton("Undo")
    undo_button.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
    undo_button.setToolTip("Takes back the last stroke (Ctrl+Z).")
    preview = QLabel()
    preview.setFixedSize(168, 168)
    preview.setToolTip("The 28x28 image a network would be given: cropped, re-inked, scaled and centred.")
    status = QLabel("Draw a digit.")
    status.setToolTip("Whether the drawing holds enough ink to be read.")

    controls = QGridLayout()
    controls.addWidget(QLabel("Pen"), 0, 0)
    controls.addWidget(width_slider, 0, 1)
    controls.addWidget(width_label, 0, 2)
    buttons = QHBoxLayout()
    buttons.addWidget(clear_button)
    buttons.addWidget(undo_button)
    side = QVBoxLayout()
    side.addWidget(preview)
    side.addWidget(status)
    side.addStretch(1)
    left = QVBoxLayout()
    left.addWidget(canvas, 1)
    left.addLayout(controls)
    left.addLayout(buttons)
    layout = QHBoxLayout(window)
    layout.addLayout(left, 1)
    layout.addLayout(side)

    # Preprocessing takes milliseconds; a short single-shot timer keeps fast strokes smooth.
    debounce = QTimer(window)
    debounce.setSingleShot(True)
    debounce.setInterval(60)

    def _on_preview_due() -> None:
        result = preprocess_drawing(canvas.to_array())
        preview.setPixmap(_gray_pixmap(result.image, preview.width()))
        status.setText("Draw a digit." if result.empty else f"{canvas.stroke_count()} stroke(s)")

    def _on_width_changed(value: int) -> None:
        canvas.set_brush_width(value)
        width_label.setText(f"{canvas.brush_width():g} px")

    canvas.drawingChanged.connect(debounce.start)
    debounce.timeout.connect(_on_preview_due)
    width_slider.valueChanged.connect(_on_width_changed)
    clear_button.clicked.connect(canvas.clear)
    undo_button.clicked.connect(canvas.undo)

    _on_preview_due()
    window.resize(620, 400)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
