"""The Draw tab's handwriting box and "Show where it looked": buttons with real clicks, offscreen."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from gui.predict_handwriting import HandwritingBox, score_text, teaching_text
from gui.predict_panel import EMPTY_MESSAGE, PredictPanel, ShownPrediction
from model.explain import GRAD_CAM, Explanation, FeatureMaps
from model.handwriting import CoachState, Drawing, Score, TeachingReport
from tests.gui.test_predict_panel import SEVEN, ConstantPredictor, draw, probabilities

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


class ExplainingPredictor(ConstantPredictor):
    """A ConstantPredictor that also explains: the saliency is the input itself, two layers of maps."""

    def __init__(self, winner: int = 7) -> None:
        super().__init__(winner)
        self.explained: list[np.ndarray] = []

    def explain(self, x: np.ndarray) -> Future[Explanation]:
        self.explained.append(x)
        maps = (FeatureMaps("L1_Conv2D", np.ones((len(x), 28, 28, 8), np.float32), 32),
                FeatureMaps("L4_Conv2D", np.ones((len(x), 14, 14, 8), np.float32), 64))  # fmt: skip
        future: Future[Explanation] = Future()
        future.set_result(Explanation(probabilities(len(x), 7), x.copy(), np.full(len(x), 7), GRAD_CAM, "L4_Conv2D", maps))
        return future


@pytest.fixture
def panel(qtbot: QtBot) -> PredictPanel:
    widget = PredictPanel()
    qtbot.addWidget(widget)
    widget.resize(980, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click(qtbot: QtBot, button: Any) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


# --------------------------------------------------------------------------- labelling


def test_without_a_labeller_the_handwriting_box_is_hidden(panel: PredictPanel) -> None:
    assert not panel.handwriting.isVisible()


def test_it_was_a_saves_the_drawing_on_display_and_clears_the_canvas(qtbot: QtBot, panel: PredictPanel) -> None:
    saved: list[tuple[Drawing, int]] = []
    panel.set_labeller(lambda drawing, index: saved.append((drawing, index)) or True)
    panel.set_predictor(ConstantPredictor(winner=4), "a test model")
    assert panel.handwriting.isVisible()
    assert not any(b.isEnabled() for b in panel.handwriting.label_buttons)  # nothing drawn yet
    shown: list[ShownPrediction] = []
    panel.predictionShown.connect(shown.append)
    draw(panel, SEVEN)
    assert all(b.isEnabled() for b in panel.handwriting.label_buttons)
    assert panel.handwriting.right_button.text() == "Right (4)"
    click(qtbot, panel.handwriting.label_buttons[7])
    (drawing, index), = saved
    assert index == 7
    np.testing.assert_array_equal(drawing.image, shown[-1].image28)
    assert drawing.answer is not None and drawing.answer[0] == "4" and drawing.model == "a test model"
    assert len(drawing.strokes) == 1 and drawing.canvas_size == 280 and drawing.strokes[0].width == 20.0
    assert panel.canvas.is_empty() and panel.message() == EMPTY_MESSAGE  # ready for the next one
    assert not panel.handwriting.right_button.isEnabled()


def test_right_confirms_the_answer_and_a_failed_save_keeps_the_drawing(qtbot: QtBot, panel: PredictPanel) -> None:
    saved: list[int] = []
    panel.set_labeller(lambda drawing, index: saved.append(index) or False)  # the disk is full, say
    panel.set_predictor(ConstantPredictor(winner=2))
    draw(panel, SEVEN)
    click(qtbot, panel.handwriting.right_button)
    assert saved == [2] and not panel.canvas.is_empty()


def test_a_picture_file_is_labelled_with_the_picture_not_strokes(qtbot: QtBot, panel: PredictPanel, tmp_path: Path) -> None:
    image = QImage(40, 40, QImage.Format.Format_Grayscale8)
    image.fill(0)
    for y in range(5, 35):
        for x in range(18, 23):
            image.setPixel(x, y, 0xFFFFFFFF)
    image.save(str(tmp_path / "one.png"))
    saved: list[Drawing] = []
    panel.set_labeller(lambda drawing, index: saved.append(drawing) or True)
    panel.set_predictor(ConstantPredictor(winner=1))
    assert panel.open_image(tmp_path / "one.png")
    click(qtbot, panel.handwriting.label_buttons[1])
    assert saved[0].strokes == () and saved[0].picture is not None and saved[0].picture.shape == (40, 40)


def test_class_names_name_the_label_buttons(panel: PredictPanel) -> None:
    panel.set_labeller(lambda drawing, index: True)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    panel.set_class_names(names)
    buttons = panel.handwriting.label_buttons
    assert [b.text() for b in buttons] == [str(k) for k in range(10)]
    assert buttons[0].toolTip().startswith("It was a T-shirt/top:")


# --------------------------------------------------------------------------- the box's state


def test_the_box_says_the_score_beside_the_test_accuracy(qtbot: QtBot) -> None:
    box = HandwritingBox()
    qtbot.addWidget(box)
    state = CoachState(counts=(("3", 12), ("9", 8)), score=Score(17, 20), test_accuracy=0.991, test_name="MNIST test",
                       teach_reason="")  # fmt: skip
    box.show_state(state)
    assert box.score_label.text() == "Your handwriting: 17 of 20 read right · MNIST test 99.1%"
    assert box.count_label.text() == "20 drawings" and box.teach_button.isEnabled()
    assert not box.teaching_label.isVisibleTo(box)
    live = CoachState(counts=(("3", 1),), score=Score(0, 1), live=True, teach_reason="A run is in progress; wait.")
    box.show_state(live)
    assert "(live, while it trains)" in box.score_label.text() and not box.teach_button.isEnabled()
    assert box.teach_button.toolTip() == "A run is in progress; wait."
    assert score_text(CoachState()) == "Your handwriting: no drawings yet"
    assert score_text(CoachState(counts=(("1", 2),), scoring=True)) == "Your handwriting: reading…"
    assert score_text(CoachState(counts=(("x", 2),), score=Score(0, 0, 2))) == (
        "Your handwriting: no drawings of its classes (+2 of classes it lacks)"
    )


def test_before_and_after_teaching_are_both_shown(qtbot: QtBot) -> None:
    report = TeachingReport(4, Score(12, 20), Score(19, 20), 0.991, 0.990, "MNIST test")
    state = CoachState(counts=(("1", 20),), teaching=report)
    assert teaching_text(state) == "Taught in run 4: 12 of 20 → 19 of 20 · MNIST test 99.1% → 99.0%"
    waiting = CoachState(teaching=TeachingReport(4, Score(12, 20), None, 0.991))
    assert teaching_text(waiting) == "Taught in run 4: 12 of 20 → training… · test 99.1% → …"
    box = HandwritingBox()
    qtbot.addWidget(box)
    box.show_state(state)
    assert box.teaching_label.isVisibleTo(box) and "19 of 20" in box.teaching_label.text()


def test_teach_sends_the_share_and_the_epochs(qtbot: QtBot) -> None:
    box = HandwritingBox()
    qtbot.addWidget(box)
    box.show()
    box.show_state(CoachState(counts=(("1", 3),), teach_reason=""))
    box.share.setValue(25)
    box.epochs.setValue(3)
    with qtbot.waitSignal(box.teachClicked) as signal:
        click(qtbot, box.teach_button)
    assert signal.args == [pytest.approx(0.25), 3]


def test_an_error_message_is_shown_in_the_warning_colour(qtbot: QtBot) -> None:
    box = HandwritingBox()
    qtbot.addWidget(box)
    box.show()
    box.show_state(CoachState(message="cannot write /x: no space", error=True))
    assert box.message_label.isVisible() and box.message_label.text() == "cannot write /x: no space"


# --------------------------------------------------------------------------- what it looked at


def test_show_where_it_looked_asks_for_an_explanation_and_shows_it(qtbot: QtBot, panel: PredictPanel) -> None:
    predictor = ExplainingPredictor()
    panel.set_predictor(predictor)
    draw(panel, SEVEN)
    assert predictor.explained == [] and not panel.explanation_section.isVisible()  # off by default
    shown: list[ShownPrediction] = []
    panel.predictionShown.connect(shown.append)
    qtbot.mouseClick(panel.saliency_toggle, Qt.MouseButton.LeftButton)
    assert panel.saliency_toggle.isChecked() and panel.explanation_section.isVisible()
    assert predictor.explained and shown[-1].explanation is not None
    assert shown[-1].explanation.saliency.shape == (1, 28, 28, 1)
    assert panel._answer.overlay_shown()
    assert panel._explanation.text().startswith("Grad-CAM on L4_Conv2D: the regions whose features made it answer 7")
    assert panel._explanation.grid.shown_layers() == ["L1_Conv2D: 8 of its 32 maps, 28×28", "L4_Conv2D: 8 of its 64 maps, 14×14"]
    qtbot.mouseClick(panel.saliency_toggle, Qt.MouseButton.LeftButton)
    assert not panel.explanation_section.isVisible() and not panel._answer.overlay_shown()
    assert shown[-1].explanation is None


def test_a_predictor_that_cannot_explain_says_so(qtbot: QtBot, panel: PredictPanel) -> None:
    panel.set_predictor(ConstantPredictor())
    panel.saliency_toggle.setChecked(True)
    draw(panel, SEVEN)
    assert panel.shown_prediction() is not None and panel.shown_prediction().explanation is None
    assert not panel._answer.overlay_shown()
    panel.canvas.clear()
    panel.predict_now()
    assert panel._explanation.text() == "This model cannot show what it looked at."


def test_a_real_model_explains_the_drawing(qtbot: QtBot, panel: PredictPanel, tensorflow_loaded: None) -> None:
    import keras

    from model.inference import DirectPredictor

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    panel.set_predictor(DirectPredictor(model), "a small convnet")
    panel.saliency_toggle.setChecked(True)
    shown: list[ShownPrediction] = []
    panel.predictionShown.connect(shown.append)
    draw(panel, SEVEN)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1].explanation is not None, timeout=60_000)
    explanation = shown[-1].explanation
    assert explanation is not None and explanation.layer == "conv"
    assert np.all(np.isfinite(explanation.saliency)) and explanation.saliency.shape == (1, 28, 28, 1)
    assert panel._explanation.grid.shown_layers() == ["conv: 4 of its 4 maps, 26×26"]
