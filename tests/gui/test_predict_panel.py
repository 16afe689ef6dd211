"""The Draw tab: live predictions from strokes and files, stale replies dropped, errors shown,
robustness verdicts, and drawing while a run trains."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QSlider
from pytestqt.qtbot import QtBot

from gui import predict_panel as panel_module
from gui import predict_requests as requests_module
from gui.predict_panel import (
    EMPTY_MESSAGE,
    NO_MODEL_MESSAGE,
    PredictPanel,
    ShownPrediction,
    robustness_verdict,
)
from model.config import DataSpec, LayerSpec, OptimizerSpec, RunConfig
from model.events import PredictionMailbox, RecordingListener, RunControl
from model.inference import DirectPredictor, MailboxPredictor
from model.ink import preprocess_strokes
from model.preprocess import Preprocessed, load_image_file, preprocess_drawing

# The offscreen platform says this whenever a shown window's size limits change.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

Stroke = Sequence[tuple[float, float]]

SEVEN: list[Stroke] = [[(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.65, 0.45), (0.55, 0.65), (0.45, 0.85)]]
ONE: list[Stroke] = [[(0.5, 0.15), (0.5, 0.35), (0.5, 0.55), (0.5, 0.75), (0.5, 0.9)]]
PLUS: list[Stroke] = [[(0.5, 0.2), (0.5, 0.8)], [(0.2, 0.5), (0.8, 0.5)]]

TINY_LAYERS = (
    LayerSpec("Flatten"),
    LayerSpec("Dense", units=32, activation="relu"),
    LayerSpec("Dense", units=10, activation="softmax"),
)


# --------------------------------------------------------------------------- helpers


def canvas_point(panel: PredictPanel, fx: float, fy: float) -> QPoint:
    """A point given as fractions of the drawing area, in canvas widget coordinates."""
    canvas = panel.canvas
    side = min(canvas.width(), canvas.height())
    left, top = (canvas.width() - side) / 2, (canvas.height() - side) / 2
    return QPoint(round(left + fx * side), round(top + fy * side))


def draw(panel: PredictPanel, strokes: Sequence[Stroke], *, release: bool = True) -> None:
    """Draw strokes with real mouse events, several moves between the given points."""
    canvas = panel.canvas
    for index, stroke in enumerate(strokes):
        points = [stroke[0]]
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            points += [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0.2, 1.0, 5)]
        left, *rest = [canvas_point(panel, x, y) for x, y in points]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, left)
        for point in rest:
            QTest.mouseMove(canvas, point)
        if release or index < len(strokes) - 1:
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rest[-1])


def probabilities(rows: int, winner: int | Sequence[int], classes: int = 10) -> np.ndarray:
    """A batch of probability rows, each with most of its mass on ``winner`` (one per row)."""
    winners = [winner] * rows if isinstance(winner, int) else list(winner)
    out = np.full((rows, classes), 0.02, dtype=np.float32)
    out[np.arange(rows), winners] = 1.0 - 0.02 * (classes - 1)
    return out


class ConstantPredictor:
    """Answers at once, in the calling thread, with the same class for every row
    (or with ``answer(x)`` when given)."""

    def __init__(self, winner: int = 7, answer: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.input_shape = (28, 28, 1)
        self.calls: list[np.ndarray] = []
        self._answer = answer or (lambda x: probabilities(len(x), winner))

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        self.calls.append(x)
        future: Future[np.ndarray] = Future()
        future.set_result(self._answer(x))
        return future


class DeferredPredictor:
    """Hands out futures that the test resolves, in any order, from any thread; the work on
    each has started (it cannot be cancelled)."""

    def __init__(self) -> None:
        self.input_shape = (784,)
        self.requests: list[tuple[np.ndarray, Future[np.ndarray]]] = []

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        future.set_running_or_notify_cancel()
        self.requests.append((x, future))
        return future

    def main_requests(self) -> list[Future[np.ndarray]]:
        """The futures of single-image requests (not the robustness batches), oldest first."""
        return [future for x, future in self.requests if len(x) == 1]


class GatedPredictor:
    """Answers one request at a time in a thread of its own, as the window's Keras
    executor does, after ``gate`` opens; records what it read."""

    def __init__(self, winner: int = 1) -> None:
        self.input_shape = (28, 28, 1)
        self.gate = threading.Event()
        self.started = threading.Event()  # the first request is being answered (held at the gate)
        self.submitted: list[Future[np.ndarray]] = []
        self.read: list[int] = []
        self._winner = winner
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-gated")

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        number = len(self.submitted)
        future = self._executor.submit(self._answer, number, x)
        self.submitted.append(future)
        return future

    def _answer(self, number: int, x: np.ndarray) -> np.ndarray:
        self.started.set()
        self.gate.wait(10)
        self.read.append(number)
        return probabilities(len(x), self._winner)

    def close(self) -> None:
        self.gate.set()
        self._executor.shutdown(wait=True)


def canvas_input(panel: PredictPanel) -> Preprocessed:
    """What the panel's preprocessing makes of the canvas: its strokes, re-inked."""
    canvas = panel.canvas
    return preprocess_strokes([points for _, points in canvas.strokes()], canvas_size=canvas.canvas_size(), drawn=canvas.to_array())


@pytest.fixture
def panel(qtbot: QtBot) -> PredictPanel:
    widget = PredictPanel()
    qtbot.addWidget(widget)
    # These tests count the rows each request sends; averaging is tested on its own.
    widget.set_averaging(False)
    widget.resize(980, 640)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture(scope="module")
def tiny_model(tensorflow_loaded: None) -> Any:
    """A small MLP trained for two epochs on 400 of scikit-learn's digits (a few seconds)."""
    from model.data import load_dataset, split_dataset
    from model.training import train

    config = RunConfig(
        layers=TINY_LAYERS,
        batch_size=32,
        epochs=2,
        seed=1,
        optimizer=OptimizerSpec(name="adam", learning_rate=0.01),
        data=DataSpec(name="digits", limit=400),
    )
    split = split_dataset(
        load_dataset(config.data, allow_download=False), config.split, config.seed, limit=400
    )
    return train(config, split, evaluate=False).model


# --------------------------------------------------------------------------- states


def test_an_empty_canvas_asks_for_a_digit(panel: PredictPanel) -> None:
    assert panel.message() == EMPTY_MESSAGE
    panel.set_predictor(ConstantPredictor(), "a fake model")
    assert panel.message() == EMPTY_MESSAGE
    assert panel.answer_text() == ""
    assert not panel.bar_values().any()
    assert panel.shown_prediction() is None


def test_without_a_predictor_drawing_works_and_the_panel_says_how_to_get_one(panel: PredictPanel) -> None:
    panel.set_predictor(None)
    draw(panel, ONE)
    assert not panel.canvas.is_empty()
    assert panel.message() == NO_MODEL_MESSAGE
    assert not panel.bar_values().any()


def test_setting_a_predictor_reads_the_current_drawing_at_once(qtbot: QtBot, panel: PredictPanel) -> None:
    draw(panel, SEVEN)
    with qtbot.waitSignal(panel.predictionShown, timeout=1000) as blocker:
        panel.set_predictor(ConstantPredictor(winner=7), "live model of run 3 (training)")
    shown = blocker.args[0]
    assert isinstance(shown, ShownPrediction) and shown.predicted_class == 7
    assert panel.answer_text() == "7 82.0%"
    assert panel.message() == ""
    assert panel.description() == "live model of run 3 (training)"


def test_a_live_model_that_moves_on_reads_the_drawing_again(qtbot: QtBot, panel: PredictPanel, monkeypatch) -> None:
    """Its newer weights answer at once: the answer shown is the model's the label names."""
    monkeypatch.setattr(panel_module, "REREAD_QUIET_S", 0.0)
    winner = [7]
    predictor = ConstantPredictor(answer=lambda x: probabilities(len(x), winner[0]))
    panel.set_predictor(predictor, "live model of run 3, as of batch 100 (epoch 1)")
    draw(panel, SEVEN)
    assert panel.answer_text().startswith("7 ")
    winner[0] = 1  # the model learned since
    with qtbot.waitSignal(panel.predictionShown, timeout=1000) as blocker:
        panel.model_moved_on("live model of run 3, as of batch 200 (epoch 1)")
    assert blocker.args[0].predicted_class == 1 and panel.answer_text().startswith("1 ")
    assert panel.description() == "live model of run 3, as of batch 200 (epoch 1)"


def test_a_live_model_that_moves_on_is_not_asked_about_nothing_a_stroke_or_twice(panel: PredictPanel, monkeypatch) -> None:
    monkeypatch.setattr(panel_module, "REREAD_QUIET_S", 0.0)
    predictor = DeferredPredictor()
    panel.set_predictor(predictor, "live model of run 3, as of batch 1 (epoch 1)")
    panel.model_moved_on("live model of run 3, as of batch 2 (epoch 1)")  # nothing drawn
    assert predictor.main_requests() == [] and panel.description().endswith("batch 2 (epoch 1)")
    draw(panel, ONE, release=False)  # mid-stroke: the stroke's own readings follow it
    asked = len(predictor.main_requests())
    panel.model_moved_on("live model of run 3, as of batch 3 (epoch 1)")
    assert len(predictor.main_requests()) == asked
    QTest.mouseRelease(panel.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(panel, 0.5, 0.9))
    pending = len(predictor.main_requests())
    panel.model_moved_on("live model of run 3, as of batch 4 (epoch 1)")  # the stroke's answer is on its way
    assert len(predictor.main_requests()) == pending
    for future in predictor.main_requests():
        future.set_result(probabilities(1, 1))
    QApplication.processEvents()
    panel.model_moved_on("live model of run 3, as of batch 5 (epoch 1)")
    assert len(predictor.main_requests()) == pending + 1 and panel.description().endswith("batch 5 (epoch 1)")
    for future in predictor.main_requests()[pending:]:
        future.set_result(probabilities(1, 1))
    QApplication.processEvents()
    monkeypatch.setattr(panel_module, "REREAD_QUIET_S", 60.0)  # the user drew a moment ago
    panel.model_moved_on("live model of run 3, as of batch 6 (epoch 1)")
    assert len(predictor.main_requests()) == pending + 1 and panel.description().endswith("batch 6 (epoch 1)")


def test_class_names_label_the_answer(panel: PredictPanel) -> None:
    panel.set_predictor(ConstantPredictor(winner=3))
    draw(panel, ONE)
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    panel.set_class_names(names)
    assert panel.class_names() == tuple(names)
    assert panel.answer_text().startswith("three ")


# --------------------------------------------------------------------------- live predictions


def test_strokes_are_read_by_a_trained_model_and_undo_returns_to_empty(
    qtbot: QtBot, panel: PredictPanel, tiny_model: Any
) -> None:
    panel.set_predictor(DirectPredictor(tiny_model), "tiny test model")
    shown_signals: list[ShownPrediction] = []
    panel.predictionShown.connect(shown_signals.append)
    draw(panel, PLUS)
    qtbot.waitUntil(lambda: bool(shown_signals) and shown_signals[-1].request_id == panel.last_request_id())
    shown = shown_signals[-1]
    assert shown is panel.shown_prediction()
    assert shown.probabilities.shape == (10,)
    assert float(shown.probabilities.sum()) == pytest.approx(1.0, abs=1e-4)
    assert shown.predicted_class == int(np.argmax(shown.probabilities))
    expected = canvas_input(panel).image
    np.testing.assert_array_equal(shown.image28, expected)
    np.testing.assert_allclose(panel.bar_values(), shown.probabilities, rtol=1e-6)
    assert panel.message() == ""
    assert panel.robustness_text().startswith(("stable: all 8 variants read", "fragile: "))

    undo = next(b for b in panel.findChildren(QAbstractButton) if b.text() == "Undo")
    undo.click()
    assert panel.canvas.stroke_count() == 1
    assert panel.message() == ""
    undo.click()
    assert panel.canvas.is_empty()
    assert panel.message() == EMPTY_MESSAGE
    assert not panel.bar_values().any()
    assert panel.robustness_text() == ""


def test_a_prediction_arrives_while_the_stroke_is_still_being_drawn(
    qtbot: QtBot, panel: PredictPanel
) -> None:
    predictor = ConstantPredictor(winner=1)
    panel.set_predictor(predictor)
    with qtbot.waitSignal(panel.predictionShown, timeout=2000):
        draw(panel, ONE, release=False)  # the debounce timer fires once the pen rests
    assert panel.answer_text().startswith("1 ")
    assert all(len(x) == 1 for x in predictor.calls), "mid-stroke requests skip the robustness batch"
    QTest.mouseRelease(
        panel.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(panel, 0.5, 0.9)
    )


def test_ctrl_z_undoes_the_last_stroke(qtbot: QtBot, panel: PredictPanel) -> None:
    panel.set_predictor(ConstantPredictor())
    draw(panel, PLUS)
    panel.activateWindow()
    qtbot.waitActive(panel)
    # A button's shortcut "animates" a click: the click lands about 100 ms later.
    qtbot.keyClick(panel, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.canvas.stroke_count() == 1, timeout=2000)
    qtbot.keyClick(panel, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.message() == EMPTY_MESSAGE, timeout=2000)
    assert panel.canvas.is_empty()


def test_clear_empties_the_canvas_and_the_bars(panel: PredictPanel) -> None:
    panel.set_predictor(ConstantPredictor())
    draw(panel, SEVEN)
    assert panel.bar_values().any()
    next(b for b in panel.findChildren(QAbstractButton) if b.text() == "Clear").click()
    assert panel.canvas.is_empty()
    assert panel.message() == EMPTY_MESSAGE
    assert not panel.bar_values().any()


def test_replies_older_than_the_one_shown_are_dropped(qtbot: QtBot, panel: PredictPanel) -> None:
    predictor = DeferredPredictor()
    panel.set_predictor(predictor)
    draw(panel, ONE)
    panel.predict_now()
    older, newer = predictor.main_requests()[-2:]
    shown: list[ShownPrediction] = []
    panel.predictionShown.connect(shown.append)

    # The newer reply comes first, from another thread, as a run's thread would send it.
    resolver = threading.Thread(target=lambda: newer.set_result(probabilities(1, 4)))
    resolver.start()
    resolver.join(timeout=5)
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=2000)
    assert shown[0].predicted_class == 4
    with qtbot.assertNotEmitted(panel.predictionShown, wait=100):
        older.set_result(probabilities(1, 9))
    assert panel.answer_text().startswith("4 ")
    assert [s.predicted_class for s in shown] == [4]


def test_a_reply_for_a_drawing_that_was_since_erased_is_dropped(qtbot: QtBot, panel: PredictPanel) -> None:
    predictor = DeferredPredictor()
    panel.set_predictor(predictor)
    draw(panel, ONE)
    pending = predictor.main_requests()[-1]
    next(b for b in panel.findChildren(QAbstractButton) if b.text() == "Clear").click()
    with qtbot.assertNotEmitted(panel.predictionShown, wait=100):
        pending.set_result(probabilities(1, 1))
    assert panel.message() == EMPTY_MESSAGE
    assert not panel.bar_values().any()


def test_replies_from_a_replaced_predictor_are_dropped(qtbot: QtBot, panel: PredictPanel) -> None:
    old = DeferredPredictor()
    panel.set_predictor(old)
    draw(panel, ONE)
    stale = old.main_requests()[-1]
    panel.set_predictor(ConstantPredictor(winner=2), "new model")
    with qtbot.assertNotEmitted(panel.predictionShown, wait=100):
        stale.set_result(probabilities(1, 8))
    assert panel.answer_text().startswith("2 ")


# --------------------------------------------------------------------------- errors


class FailingPredictor:
    input_shape = (28, 28, 1)

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        future.set_exception(RuntimeError("the model exploded"))
        return future


class RaisingPredictor:
    input_shape = (28, 28, 1)

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        raise ValueError("cannot even queue it")


@pytest.mark.parametrize(
    ("predictor", "text"),
    [
        (FailingPredictor(), "Prediction failed: RuntimeError: the model exploded"),
        (RaisingPredictor(), "Prediction failed: ValueError: cannot even queue it"),
        (ConstantPredictor(answer=lambda x: np.full((len(x), 10), np.nan, np.float32)), "NaN"),
        (ConstantPredictor(answer=lambda x: np.ones((len(x) + 1, 10), np.float32)), "shape"),
    ],
)
def test_a_failing_prediction_is_shown_in_the_panel(panel: PredictPanel, predictor: Any, text: str) -> None:
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    assert text in panel.message()
    assert not panel.bar_values().any()
    assert panel.shown_prediction() is None


def test_a_model_with_the_wrong_input_says_so(panel: PredictPanel) -> None:
    predictor = ConstantPredictor()
    predictor.input_shape = (32, 32, 3)
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    assert "expects input (32, 32, 3)" in panel.message()
    assert predictor.calls == []


# --------------------------------------------------------------------------- robustness


def test_robustness_verdict_wording() -> None:
    assert robustness_verdict([7] * 8, 7, "7") == "stable: all 8 variants read 7"
    assert (
        robustness_verdict([7, 1, 7, 7, 7, 7, 7, 7], 7, "7") == "fragile: 1 of 8 variants changes the answer"
    )
    assert (
        robustness_verdict([1, 1, 2, 7, 7, 7, 7, 7], 7, "7") == "fragile: 3 of 8 variants change the answer"
    )


def test_robustness_check_reads_each_variant(panel: PredictPanel) -> None:
    def answer(x: np.ndarray) -> np.ndarray:
        # The original and five variants read 7; shifted right, up and down they read 1.
        return probabilities(len(x), [7] if len(x) == 1 else [7, 7, 1, 1, 1, 7, 7, 7, 7])

    predictor = ConstantPredictor(answer=answer)
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    assert panel.robustness_text() == "fragile: 3 of 8 variants change the answer"
    captions = panel.robustness_captions()
    assert captions[0] == "shift left 3px\n7 · 82%"
    assert captions[1] == "shift right 3px\n1 · 82%"
    assert captions[-1] == "thicker\n7 · 82%"
    batch = predictor.calls[-1]
    assert batch.shape == (9, 28, 28, 1)
    np.testing.assert_array_equal(batch[0, ..., 0], panel.shown_prediction().image28)


def test_folded_robustness_check_costs_nothing_and_unfolding_runs_it(panel: PredictPanel) -> None:
    predictor = ConstantPredictor(winner=5)
    panel.robustness_section.set_expanded(False)
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    assert all(len(x) == 1 for x in predictor.calls)
    panel.robustness_section.set_expanded(True)
    assert len(predictor.calls[-1]) == 9
    assert panel.robustness_text() == "stable: all 8 variants read 5"


def test_preprocessing_steps_are_shown_when_unfolded(panel: PredictPanel) -> None:
    panel.set_predictor(ConstantPredictor())
    draw(panel, SEVEN)
    panel.stages_section.set_expanded(True)
    assert panel.stage_captions() == [name for name, _ in canvas_input(panel).stages]
    assert panel.stage_captions() == ["drawn", "re-inked", "20x20", "28x28 centred"]


# --------------------------------------------------------------------------- image files


def _mnist_png(mnist_path: Path, folder: Path) -> tuple[Path, int]:
    with np.load(mnist_path) as data:
        image, label = data["x_test"][0], int(data["y_test"][0])
    path = folder / "digit.png"
    Image.fromarray(255 - image).save(path)  # dark ink on white paper, like a scan
    return path, label


def test_an_image_file_is_read_with_the_same_preprocessing(
    qtbot: QtBot, panel: PredictPanel, mnist_path: Path, tmp_path: Path
) -> None:
    path, _ = _mnist_png(mnist_path, tmp_path)
    panel.set_predictor(ConstantPredictor(winner=7))
    with qtbot.waitSignal(panel.predictionShown, timeout=1000) as blocker:
        assert panel.open_image(path)
    expected = preprocess_drawing(load_image_file(path)).image
    np.testing.assert_array_equal(blocker.args[0].image28, expected)
    assert panel.reading_file() == "digit.png"
    assert panel.canvas.is_empty()

    # Drawing goes back to the canvas.
    draw(panel, ONE)
    assert panel.reading_file() is None
    np.testing.assert_array_equal(
        panel.shown_prediction().image28, canvas_input(panel).image
    )


def test_a_dropped_image_file_is_read(
    qtbot: QtBot, panel: PredictPanel, mnist_path: Path, tmp_path: Path
) -> None:
    path, _ = _mnist_png(mnist_path, tmp_path)
    panel.set_predictor(ConstantPredictor(winner=7))
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a digit")
    assert not _drag_accepted(panel, text_file)

    assert _drag_accepted(panel, path)
    mime = _urls(path)
    drop = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(panel.predictionShown, timeout=1000) as blocker:
        QApplication.sendEvent(panel, drop)
    np.testing.assert_array_equal(blocker.args[0].image28, preprocess_drawing(load_image_file(path)).image)
    assert panel.reading_file() == "digit.png"


def _urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drag_accepted(panel: PredictPanel, path: Path) -> bool:
    """Whether the panel accepts a file dragged over it."""
    mime = _urls(path)  # events do not own their mime data: it must outlive the event
    event = QDragEnterEvent(
        QPoint(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(panel, event)
    return event.isAccepted()


def test_the_open_button_reads_the_chosen_file(
    qtbot: QtBot, panel: PredictPanel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "one.bmp"
    picture = np.zeros((60, 40), dtype=np.uint8)
    picture[8:52, 17:23] = 255
    Image.fromarray(picture).save(path)
    monkeypatch.setattr(panel_module.QFileDialog, "getOpenFileName", lambda *args: (str(path), ""))
    panel.set_predictor(ConstantPredictor(winner=1))
    with qtbot.waitSignal(panel.predictionShown, timeout=1000):
        next(b for b in panel.findChildren(QAbstractButton) if b.text().startswith("Open image")).click()
    assert panel.answer_text().startswith("1 ")


def test_an_unreadable_file_is_explained(panel: PredictPanel, tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a picture")
    assert not panel.open_image(bad)
    assert "broken.png" in panel.message() and "PNG" in panel.message()


# --------------------------------------------------------------------------- a training run


def test_drawing_while_a_run_trains_neither_stalls(
    qtbot: QtBot, panel: PredictPanel, tensorflow_loaded: None
) -> None:
    from model.data import load_dataset, split_dataset
    from model.training import train

    config = RunConfig(
        layers=TINY_LAYERS,
        batch_size=8,
        epochs=50,
        seed=2,
        optimizer=OptimizerSpec(name="adam", learning_rate=0.005),
        data=DataSpec(name="digits"),
    )
    split = split_dataset(load_dataset(config.data, allow_download=False), config.split, config.seed)
    mailbox, control, listener = PredictionMailbox(), RunControl(), RecordingListener()
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            train(config, split, listener=listener, control=control, mailbox=mailbox, evaluate=False)
        ),
        name="test-training-run",
    )
    panel.set_predictor(MailboxPredictor(mailbox, split.x_train.shape[1:]), "live model (training)")
    worker.start()
    try:
        qtbot.waitUntil(lambda: mailbox.attached and len(listener.batches) > 0, timeout=60_000)
        shown: list[ShownPrediction] = []
        panel.predictionShown.connect(shown.append)
        batches_before = len(listener.batches)
        for strokes in (SEVEN, ONE, PLUS):
            draw(panel, strokes)
            qtbot.waitUntil(
                lambda: bool(shown) and shown[-1].request_id == panel.last_request_id(), timeout=10_000
            )
            assert worker.is_alive(), "the run ended before the drawing was read; make it longer"
            next(b for b in panel.findChildren(QAbstractButton) if b.text() == "Clear").click()
        assert len(listener.batches) > batches_before, "training stalled while the canvas was used"
        assert all(s.probabilities.shape == (10,) for s in shown)
        assert all(float(s.probabilities.sum()) == pytest.approx(1.0, abs=1e-4) for s in shown)
    finally:
        control.stop()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert results and results[0].finished.reason == "stopped"

    # The run is over: its mailbox no longer serves, and the panel says so rather than hanging.
    draw(panel, ONE)
    qtbot.waitUntil(lambda: "no training run is serving predictions" in panel.message(), timeout=2000)


# --------------------------------------------------------------------------- the panel itself


def test_every_control_has_a_one_sentence_tooltip(panel: PredictPanel) -> None:
    controls = [
        *panel.findChildren(QAbstractButton),
        *panel.findChildren(QSlider),
        *panel.findChildren(pg.PlotWidget),
        panel.canvas,
    ]
    assert len(controls) >= 7
    for control in controls:
        tip = control.toolTip()
        assert tip and tip.endswith("."), (control, tip)


def test_the_pen_slider_sets_the_brush_width(panel: PredictPanel) -> None:
    slider = panel.findChild(QSlider)
    slider.setValue(33)
    assert panel.canvas.brush_width() == 33


def test_standalone_panel_opens_a_model_file(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model: Any
) -> None:
    """``python -m gui.predict_panel MODEL`` builds the panel; the event loop is replaced by checks."""
    path = tmp_path / "model.keras"
    tiny_model.save(path)
    seen: dict[str, object] = {}

    def fake_exec(*_args: object) -> int:
        (window,) = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, PredictPanel) and w.isVisible()
        ]
        qtbot.addWidget(window)
        assert window.predictor() is not None
        assert window.description() == f"model from {path}"
        with qtbot.waitSignal(window.predictionShown, timeout=5000):
            draw(window, SEVEN)
        seen["ran"] = True
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert panel_module.main([str(path)]) == 0
    assert seen.get("ran")


def test_standalone_panel_explains_a_bad_model_file(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "broken.keras"
    path.write_bytes(b"no zip here")

    def fake_exec(*_args: object) -> int:
        (window,) = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, PredictPanel) and w.isVisible()
        ]
        qtbot.addWidget(window)
        assert window.predictor() is None
        assert window.description().startswith(f"Could not open {path}")
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert panel_module.main([str(path)]) == 0


@pytest.mark.parametrize("averaging", [False, True], ids=["one copy", "averaging"])
def test_a_stroke_that_ends_drops_the_readings_of_it_half_drawn_and_cancels_those_not_started(
    qtbot: QtBot, panel: PredictPanel, averaging: bool
) -> None:
    predictor = GatedPredictor(winner=1)
    try:
        panel.set_averaging(averaging)
        panel.set_predictor(predictor)
        shown: list[ShownPrediction] = []
        panel.predictionShown.connect(shown.append)
        draw(panel, [ONE[0][:2]], release=False)
        qtbot.waitUntil(lambda: len(predictor.submitted) == 1, timeout=2000)  # the pen rested: read,
        assert predictor.started.wait(5)  # and held at the gate
        for point in ONE[0][2:]:
            QTest.mouseMove(panel.canvas, canvas_point(panel, *point))
        qtbot.waitUntil(lambda: len(predictor.submitted) == 2, timeout=2000)  # rested again: queued behind it
        QTest.mouseRelease(
            panel.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(panel, *ONE[0][-1])
        )
        assert len(predictor.submitted) >= 3
        running, queued, *settled = predictor.submitted
        assert queued.cancelled() and not running.cancelled()
        assert not any(future.cancelled() for future in settled)
        predictor.gate.set()
        qtbot.waitUntil(lambda: bool(shown) and shown[-1].request_id == panel.last_request_id(), timeout=5000)
        assert 1 not in predictor.read  # the cancelled reading never ran
        assert len(predictor.read) >= 2  # the one that had started ran to its end,
        assert [s.request_id for s in shown] == [panel.last_request_id()]  # but only the stroke's own answer is shown
        assert panel.answer_text().startswith("1 ")
        assert "cancelled" not in panel.message()
    finally:
        predictor.close()


def test_many_requests_without_replies_do_not_pile_up(panel: PredictPanel) -> None:
    predictor = DeferredPredictor()
    panel.set_predictor(predictor)
    draw(panel, ONE)
    for _ in range(200):
        panel.predict_now()
    assert len(panel._ledger.pending) <= requests_module.MAX_PENDING


# --------------------------------------------------------------------------- reading any drawing


def scaled(strokes: Sequence[Stroke], scale: float, left: float, top: float) -> list[Stroke]:
    """Strokes given in a unit box, scaled to ``scale`` of the drawing area at (left, top)."""
    return [[(left + x * scale, top + y * scale) for x, y in stroke] for stroke in strokes]


FOUR: list[Stroke] = [[(0.6, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 1.0)]]


def test_size_place_and_pen_do_not_change_what_the_network_reads(panel: PredictPanel) -> None:
    """The same four drawn with real mouse events at 0.25x-0.85x of the canvas, in every
    corner, with pens of 8-40 px gives nearly the same 28x28 input."""
    panel.set_predictor(ConstantPredictor(winner=4))
    panel.robustness_section.set_expanded(False)

    def network_input(strokes: list[Stroke], pen: int) -> np.ndarray:
        panel.canvas.clear()
        panel.canvas.set_brush_width(pen)
        draw(panel, strokes)
        shown = panel.shown_prediction()
        assert shown is not None and shown.request_id == panel.last_request_id()
        return shown.image28

    reference = network_input(scaled(FOUR, 0.85, 0.075, 0.075), 20)
    differences = []
    for scale in (0.25, 0.5, 0.85):
        far = 0.96 - scale
        for left, top in ((0.04, 0.04), (far, 0.04), (0.04, far), (far, far)):
            for pen in (8, 20, 40):
                image = network_input(scaled(FOUR, scale, left, top), pen)
                differences.append(float(np.abs(image - reference).mean()))
    # Only the rounding of mouse positions to whole pixels differs (MNIST's mean ink is 0.13;
    # read from the pixels instead, the same drawings differed by up to 0.11).
    assert max(differences) < 0.01, differences


def test_verdicts_average_jittered_copies_by_default(qtbot: QtBot) -> None:
    from model.verdict import JITTERS

    panel = PredictPanel()
    qtbot.addWidget(panel)
    panel.resize(980, 640)
    panel.show()
    assert panel.averaging()
    predictor = ConstantPredictor(winner=7)
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    sizes = [len(x) for x in predictor.calls]
    assert sizes[-2:] == [len(JITTERS), 9 * len(JITTERS)]  # the drawing, then its robustness check
    assert panel.answer_text() == "7 82.0%"
    assert panel.predictor() is predictor
    predictor.calls.clear()
    panel.set_averaging(False)  # re-reads the drawing at once, one copy per image
    assert not panel.averaging()
    assert [len(x) for x in predictor.calls] == [1, 9]


def test_a_scribble_gets_no_confident_answer(panel: PredictPanel) -> None:
    from model.verdict import SCRIBBLE_MESSAGE

    panel.set_predictor(ConstantPredictor(winner=8))
    zigzag = [[(0.1 + 0.8 * (k % 2), 0.1 + 0.8 * k / 24) for k in range(25)]]
    draw(panel, zigzag)
    shown = panel.shown_prediction()
    assert shown is not None and not shown.confident and shown.note == SCRIBBLE_MESSAGE
    assert panel.answer_text().startswith(f"? {SCRIBBLE_MESSAGE}")
    assert "best guess 8" in panel.answer_text()


def test_an_unsure_network_gets_no_confident_answer(panel: PredictPanel) -> None:
    def unsure(x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), 10), 0.05, dtype=np.float32)
        out[:, 4], out[:, 9] = 0.35, 0.25
        return out

    panel.set_predictor(ConstantPredictor(answer=unsure))
    draw(panel, FOUR)
    shown = panel.shown_prediction()
    assert shown is not None and not shown.confident and shown.predicted_class == 4
    assert panel.answer_text().startswith("? Not sure: it could be 4 or 9")


def test_a_dot_is_too_little_to_read(panel: PredictPanel) -> None:
    from model.ink import TOO_LITTLE_MESSAGE

    predictor = ConstantPredictor()
    panel.set_predictor(predictor)
    point = canvas_point(panel, 0.5, 0.5)
    QTest.mouseClick(panel.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    assert not panel.canvas.is_empty()
    assert panel.message() == TOO_LITTLE_MESSAGE
    assert panel.shown_prediction() is None and not predictor.calls
    assert not panel.bar_values().any()
