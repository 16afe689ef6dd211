"""The drawing canvas: ink lands where strokes go, undo and clear, signals, and the
PySide6 6.12 refcount regression that crashes after a few thousand strokes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QInputDevice, QMouseEvent, QPixmap, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QSlider, QWidget

from gui import canvas as canvas_module
from gui.canvas import CANVAS_SIZE, MAX_BRUSH_WIDTH, MIN_BRUSH_WIDTH, DrawingCanvas

# The offscreen platform says this whenever a shown window's size limits change.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def canvas(qtbot) -> DrawingCanvas:  # noqa: ANN001 - pytest-qt's fixture
    """A shown canvas whose widget pixels are canvas pixels (280x280, no margin)."""
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(CANVAS_SIZE, CANVAS_SIZE)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _send(widget: QWidget, kind: QEvent.Type, x: float, y: float, buttons: Qt.MouseButton) -> None:
    local = QPointF(x, y)
    button = Qt.MouseButton.LeftButton
    event = QMouseEvent(
        kind, local, widget.mapToGlobal(local), button, buttons, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)


def stroke(widget: QWidget, points: Sequence[tuple[float, float]]) -> None:
    """Press at the first point, move through the rest with the button held, release."""
    held = Qt.MouseButton.LeftButton
    (x0, y0), rest = points[0], points[1:]
    _send(widget, QEvent.Type.MouseButtonPress, x0, y0, held)
    for x, y in rest:
        _send(widget, QEvent.Type.MouseMove, x, y, held)
    x1, y1 = points[-1]
    _send(widget, QEvent.Type.MouseButtonRelease, x1, y1, Qt.MouseButton.NoButton)


def line(start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> list[tuple[float, float]]:
    return [
        (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        for t in np.linspace(0.0, 1.0, steps + 1)
    ]


def ink_run(row: np.ndarray) -> int:
    """How many pixels of a row or column are at least half ink."""
    return int(np.count_nonzero(row >= 0.5))


# --------------------------------------------------------------------------- basics


def test_new_canvas_is_empty(canvas: DrawingCanvas) -> None:
    assert canvas.is_empty()
    assert canvas.stroke_count() == 0
    assert canvas.canvas_size() == CANVAS_SIZE
    pixels = canvas.to_array()
    assert pixels.shape == (CANVAS_SIZE, CANVAS_SIZE)
    assert pixels.dtype == np.float32
    assert not pixels.any()


def test_ink_appears_where_drawn(canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(20)
    stroke(canvas, line((60, 140), (220, 140)))

    pixels = canvas.to_array()
    assert not canvas.is_empty()
    assert pixels.max() == pytest.approx(1.0)
    assert pixels[140, 60:221].min() == pytest.approx(1.0)  # along the stroke
    assert pixels[131:150, 140].min() > 0.9  # across it, within the pen's width
    rows, cols = np.nonzero(pixels >= 0.5)
    assert (rows.min(), rows.max()) == pytest.approx((130, 150), abs=1)
    assert (cols.min(), cols.max()) == pytest.approx((50, 230), abs=1)  # round caps
    assert not pixels[:120].any() and not pixels[161:].any()
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0


def test_qtest_mouse_gestures_draw(canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(10)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 40))
    for step in range(1, 11):
        QTest.mouseMove(canvas, QPoint(40 + 20 * step, 40 + 20 * step))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(240, 240))

    pixels = canvas.to_array()
    for t in (40, 100, 160, 240):
        assert pixels[t, t] > 0.9, t
    assert pixels[40, 240] == 0.0 and pixels[240, 40] == 0.0
    assert canvas.stroke_count() == 1


def test_click_draws_a_round_dot(canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(30)
    stroke(canvas, [(100, 100)])
    pixels = canvas.to_array()
    area = np.count_nonzero(pixels >= 0.5)
    assert area == pytest.approx(np.pi * 15**2, rel=0.1)
    assert ink_run(pixels[100]) == pytest.approx(30, abs=2)
    assert ink_run(pixels[:, 100]) == pytest.approx(30, abs=2)


def test_brush_width_sets_ink_width(canvas: DrawingCanvas) -> None:
    for width, x in ((6, 60), (30, 180)):
        canvas.set_brush_width(width)
        assert canvas.brush_width() == width
        stroke(canvas, line((x, 40), (x, 240)))
    pixels = canvas.to_array()
    assert ink_run(pixels[140, :120]) == pytest.approx(6, abs=1)
    assert ink_run(pixels[140, 120:]) == pytest.approx(30, abs=1)


def test_brush_width_is_clamped(canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(0)
    assert canvas.brush_width() == MIN_BRUSH_WIDTH
    canvas.set_brush_width(1000)
    assert canvas.brush_width() == MAX_BRUSH_WIDTH


def test_presses_outside_the_canvas_are_ignored(qtbot) -> None:  # noqa: ANN001
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(560, 400)  # the canvas shows as a 400x400 square from x = 80
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_brush_width(10)

    stroke(widget, line((20, 200), (60, 200)))  # in the left margin
    assert widget.is_empty()

    stroke(widget, line((80 + 100, 200), (80 + 300, 200)))  # canvas x 70..210 at y 140
    pixels = widget.to_array()
    assert pixels[140, 70:211].min() > 0.9
    assert ink_run(pixels[:, 140]) == pytest.approx(10, abs=1)  # canvas pixels, whatever the zoom


# --------------------------------------------------------------------------- undo, clear


def test_undo_removes_only_the_last_stroke(canvas: DrawingCanvas) -> None:
    canvas.set_brush_width(16)
    stroke(canvas, line((40, 140), (240, 140)))
    first_only = canvas.to_array()
    canvas.set_brush_width(8)
    stroke(canvas, line((140, 40), (140, 240)))  # crosses the first
    both = canvas.to_array()
    assert not np.array_equal(both, first_only)

    changes: list[None] = []
    canvas.drawingChanged.connect(lambda: changes.append(None))
    canvas.undo()
    assert changes
    np.testing.assert_array_equal(canvas.to_array(), first_only)
    assert canvas.stroke_count() == 1 and not canvas.is_empty()

    canvas.undo()
    assert canvas.is_empty()
    assert not canvas.to_array().any()

    changes.clear()
    canvas.undo()  # nothing left: a no-op, and nothing to announce
    assert not changes


def test_undo_during_a_stroke_drops_it(canvas: DrawingCanvas) -> None:
    stroke(canvas, line((40, 40), (100, 40)))
    kept = canvas.to_array()
    _send(canvas, QEvent.Type.MouseButtonPress, 40, 200, Qt.MouseButton.LeftButton)
    _send(canvas, QEvent.Type.MouseMove, 200, 200, Qt.MouseButton.LeftButton)
    canvas.undo()
    _send(canvas, QEvent.Type.MouseMove, 220, 220, Qt.MouseButton.LeftButton)
    _send(canvas, QEvent.Type.MouseButtonRelease, 220, 220, Qt.MouseButton.NoButton)
    np.testing.assert_array_equal(canvas.to_array(), kept)
    assert canvas.stroke_count() == 1


def test_clear_empties_the_canvas(canvas: DrawingCanvas) -> None:
    stroke(canvas, line((40, 40), (240, 240)))
    stroke(canvas, line((240, 40), (40, 240)))
    changes: list[None] = []
    canvas.drawingChanged.connect(lambda: changes.append(None))

    canvas.clear()
    assert canvas.is_empty() and canvas.stroke_count() == 0
    assert not canvas.to_array().any()
    assert len(changes) == 1

    canvas.clear()  # already empty
    assert len(changes) == 1
    canvas.undo()
    assert canvas.is_empty()


# --------------------------------------------------------------------------- signals


def test_signals_during_and_after_a_stroke(canvas: DrawingCanvas) -> None:
    changed: list[None] = []
    finished: list[None] = []
    canvas.drawingChanged.connect(lambda: changed.append(None))
    canvas.strokeFinished.connect(lambda: finished.append(None))

    held = Qt.MouseButton.LeftButton
    _send(canvas, QEvent.Type.MouseButtonPress, 50, 50, held)
    assert len(changed) == 1 and not finished
    for i in range(1, 6):
        _send(canvas, QEvent.Type.MouseMove, 50 + 20 * i, 50, held)
    assert len(changed) == 6 and not finished  # one per new point, for live prediction
    _send(canvas, QEvent.Type.MouseButtonRelease, 150, 50, Qt.MouseButton.NoButton)
    assert len(finished) == 1

    _send(canvas, QEvent.Type.MouseMove, 200, 200, Qt.MouseButton.NoButton)  # hovering
    assert len(changed) == 6 and len(finished) == 1


def test_a_lost_release_does_not_leave_the_canvas_stuck(canvas: DrawingCanvas) -> None:
    finished: list[None] = []
    canvas.strokeFinished.connect(lambda: finished.append(None))
    held = Qt.MouseButton.LeftButton
    _send(canvas, QEvent.Type.MouseButtonPress, 40, 40, held)
    _send(canvas, QEvent.Type.MouseMove, 120, 40, held)
    # No release: the next press ends the open stroke and starts a new one.
    stroke(canvas, line((40, 200), (120, 200)))
    assert canvas.stroke_count() == 2 and len(finished) == 2
    pixels = canvas.to_array()
    assert pixels[40, 80] > 0.9 and pixels[200, 80] > 0.9
    assert not pixels[60:180].any()  # the two strokes were not joined


def test_other_buttons_do_not_draw(canvas: DrawingCanvas) -> None:
    local = QPointF(100, 100)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
        event = QMouseEvent(
            kind,
            local,
            canvas.mapToGlobal(local),
            Qt.MouseButton.RightButton,
            Qt.MouseButton.RightButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas, event)
    assert canvas.is_empty()


# --------------------------------------------------------------------------- tablet


@pytest.fixture(scope="module")
def stylus() -> Iterator[QPointingDevice]:
    device = QPointingDevice(
        "test stylus",
        4242,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        2,
    )
    yield device


def _tablet(
    widget: QWidget, device: QPointingDevice, kind: QEvent.Type, x: float, y: float, pressure: float
) -> None:
    local = QPointF(x, y)
    held = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else Qt.MouseButton.LeftButton
    event = QTabletEvent(
        kind,
        device,
        local,
        widget.mapToGlobal(local),
        pressure,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        Qt.KeyboardModifier.NoModifier,
        Qt.MouseButton.LeftButton,
        held,
    )
    QApplication.sendEvent(widget, event)


def test_pen_pressure_scales_the_width(canvas: DrawingCanvas, stylus: QPointingDevice) -> None:
    canvas.set_brush_width(30)
    finished: list[None] = []
    canvas.strokeFinished.connect(lambda: finished.append(None))
    for x, pressure in ((70, 1.0), (200, 0.3)):
        _tablet(canvas, stylus, QEvent.Type.TabletPress, x, 40, pressure)
        for y in range(60, 241, 20):
            _tablet(canvas, stylus, QEvent.Type.TabletMove, x, y, pressure)
        _tablet(canvas, stylus, QEvent.Type.TabletRelease, x, 240, pressure)
    pixels = canvas.to_array()
    assert ink_run(pixels[140, :135]) == pytest.approx(30, abs=1)
    assert ink_run(pixels[140, 135:]) == pytest.approx(9, abs=1)
    assert canvas.stroke_count() == 2 and len(finished) == 2


# --------------------------------------------------------------------------- pixels out


def _grabbed_gray(widget: QWidget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    return np.array(
        [[image.pixelColor(x, y).red() for x in range(image.width())] for y in range(image.height())],
        dtype=np.float32,
    )


def test_to_array_handles_padded_rows_and_copies(qtbot) -> None:  # noqa: ANN001
    # 101 pixels per row are stored in 104 bytes: the padding must not shear the image.
    widget = DrawingCanvas(size=101)
    qtbot.addWidget(widget)
    widget.resize(101, 101)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_brush_width(7)
    stroke(widget, line((10, 20), (90, 80)))

    pixels = widget.to_array()
    assert pixels.shape == (101, 101) and pixels.dtype == np.float32
    assert pixels.flags.writeable and pixels.flags.c_contiguous
    # paintEvent blits the same image the array came from, pixel for pixel at 1:1.
    np.testing.assert_allclose(pixels * 255.0, _grabbed_gray(widget), atol=1.0)

    snapshot = pixels.copy()
    widget.clear()
    np.testing.assert_array_equal(pixels, snapshot)  # the array is the caller's own


def test_paint_event_scales_the_image_to_the_widget(qtbot) -> None:  # noqa: ANN001
    widget = DrawingCanvas()
    qtbot.addWidget(widget)
    widget.resize(140, 140)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_brush_width(40)
    stroke(widget, line((20, 70), (120, 70)))  # widget pixels: canvas 40..240 at y 140
    shown = _grabbed_gray(widget)
    assert shown.shape == (140, 140)
    assert shown[70, 30:111].min() > 200
    assert shown[10, :].max() < 50


# --------------------------------------------------------------------------- regression


def test_many_strokes_keep_none_refcount(canvas: DrawingCanvas) -> None:
    """PySide6 6.12.0 on Python 3.11 drops a reference to None on every QPainter call
    made from Python; after a few thousand strokes None is freed and the process dies
    with "Fatal Python error: none_dealloc". The project pins PySide6 below 6.12; this
    catches a release with the same bug. (From Python 3.12 None is immortal and its
    count is fixed, so the check passes trivially there.)

    The strokes go through QTest rather than ``QApplication.sendEvent``: in PySide6 6.11
    each ``sendEvent`` call from Python adds a reference to None, which would hide a loss.
    """

    def quick_stroke(x: int, y: int) -> None:
        left = Qt.MouseButton.LeftButton
        QTest.mousePress(canvas, left, Qt.KeyboardModifier.NoModifier, QPoint(x, y))
        QTest.mouseMove(canvas, QPoint(x + 6, y + 3))
        QTest.mouseMove(canvas, QPoint(x + 10, y + 8))
        QTest.mouseRelease(canvas, left, Qt.KeyboardModifier.NoModifier, QPoint(x + 10, y + 8))

    def settled_none_refcount() -> int:
        # Garbage left by earlier tests (and widgets awaiting deleteLater) would otherwise
        # be freed during the loop and take its references to None with it.
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
        gc.collect()
        return sys.getrefcount(None)

    canvas.set_brush_width(12)
    for i in range(20):  # warm up caches that may legitimately hold None
        quick_stroke(20 + i, 20)
        canvas.repaint()
    canvas.clear()

    before = settled_none_refcount()
    for i in range(3000):
        quick_stroke(20 + (i * 37) % 240, 20 + (i * 53) % 240)
        canvas.repaint()  # a paint event: QPainter on the widget too
        if i % 500 == 499:
            canvas.undo()  # re-renders every stroke: thousands more QPainter calls
            canvas.grab()
    after = settled_none_refcount()

    assert canvas.stroke_count() == 3000 - 6
    assert after >= before - 100, f"None lost {before - after} references over 3000 strokes"


# --------------------------------------------------------------------------- manual look


def test_demo_window_has_its_controls_and_a_live_preview(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """``python -m gui.canvas`` builds the window; here the event loop is replaced by checks."""
    seen: dict[str, object] = {}

    def fake_exec(*_args: object) -> int:
        windows = [
            w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Gradient Lab - drawing canvas"
        ]
        assert len(windows) == 1
        window = windows[0]
        qtbot.addWidget(window)
        canvas = window.findChild(DrawingCanvas)
        slider = window.findChild(QSlider)
        buttons = {b.text(): b for b in window.findChildren(QAbstractButton)}
        assert set(buttons) == {"Clear", "Undo"}
        for control in [canvas, slider, *buttons.values()]:
            assert control.toolTip().endswith("."), control
        preview = next(label for label in window.findChildren(QLabel) if label.width() == 168)
        assert preview.toolTip()

        slider.setValue(25)
        assert canvas.brush_width() == 25
        canvas.resize(CANVAS_SIZE, CANVAS_SIZE)
        stroke(canvas, line((140, 40), (140, 240)))
        qtbot.waitUntil(lambda: not preview.pixmap().toImage().isNull() and _has_ink(preview.pixmap()))
        buttons["Undo"].click()
        assert canvas.is_empty()
        stroke(canvas, line((40, 40), (200, 200)))
        buttons["Clear"].click()
        assert canvas.is_empty()
        seen["ran"] = True
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert canvas_module.main() == 0
    assert seen.get("ran")


def _has_ink(pixmap: QPixmap) -> bool:
    image = pixmap.toImage()
    return any(
        image.pixelColor(x, y).red() > 128
        for x in range(0, image.width(), 3)
        for y in range(0, image.height(), 3)
    )
