"""The confusion view: the matrix, per-class accuracy, and the images behind a clicked cell."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from gui import confusion_view as view_module
from gui.confusion_view import EMPTY_HEADER, MAX_SHOWN, ConfusionView, cell_order
from model.evaluation import Evaluation, evaluate_predictions

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

NAMES = tuple(str(k) for k in range(10))
FOURS_AS_NINES = {41: 0.6, 42: 0.9, 43: 0.75}  # sample index -> confidence in the wrong class 9


def _probabilities(rows: list[tuple[int, float]]) -> np.ndarray:
    """One row per sample: ``confidence`` on the given class, the rest spread evenly."""
    out = np.empty((len(rows), 10), dtype=np.float32)
    for i, (winner, confidence) in enumerate(rows):
        out[i] = (1.0 - confidence) / 9.0
        out[i, winner] = confidence
    return out


@pytest.fixture
def evaluation() -> Evaluation:
    """100 samples, ten per class, plus 62 more zeros; three 4s read as 9, one 7 as 1."""
    y_true = np.concatenate([np.repeat(np.arange(10), 10), np.zeros(62, dtype=np.int64)])
    rows = [(int(y), 0.5 + 0.002 * i) for i, y in enumerate(y_true)]
    for index, confidence in FOURS_AS_NINES.items():
        rows[index] = (9, confidence)
    rows[75] = (1, 0.55)
    return evaluate_predictions(y_true, _probabilities(rows), NAMES, "crossentropy")


@pytest.fixture
def images(evaluation: Evaluation) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((len(evaluation.y_true), 784), dtype=np.float32)


@pytest.fixture
def view(qtbot: QtBot, evaluation: Evaluation, images: np.ndarray) -> ConfusionView:
    widget = ConfusionView()
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_evaluation(evaluation, images)
    return widget


def click_cell(view: ConfusionView, row: int, column: int) -> None:
    rect = view.table.visualRect(view.table.model().index(row, column))
    assert rect.isValid()
    QTest.mouseClick(
        view.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center()
    )


def test_header_shows_the_overall_accuracy(view: ConfusionView, evaluation: Evaluation) -> None:
    assert view.header_text().startswith("Test accuracy 97.5% on 162 images")
    assert evaluation.accuracy == pytest.approx(158 / 162)
    assert "most common mistake: 4 read as 9 (3 images)" in view.cell_title()


def test_the_matrix_shows_counts_and_per_class_accuracy(view: ConfusionView) -> None:
    model = view.table.model()
    assert (model.rowCount(), model.columnCount()) == (10, 11)
    assert model.index(4, 4).data() == "7"
    assert model.index(4, 9).data() == "3"
    assert model.index(4, 8).data() == ""  # empty mistakes stay blank, so the pattern shows
    assert model.index(0, 0).data() == "72"
    assert model.headerData(10, Qt.Orientation.Horizontal) == "accuracy"
    assert (
        model.headerData(9, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        == "Predicted as 9 (this column)."
    )
    assert model.headerData(4, Qt.Orientation.Vertical, Qt.ItemDataRole.ToolTipRole) == "Truly 4 (this row)."
    accuracy = [model.index(row, 10).data() for row in range(10)]
    assert accuracy == [
        "100.0%",
        "100.0%",
        "100.0%",
        "100.0%",
        "70.0%",
        "100.0%",
        "100.0%",
        "90.0%",
        "100.0%",
        "100.0%",
    ]
    tip = model.index(4, 9).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "4 read as 9: 3 of 10 test images (30.0%); click to see them"
    assert "70.0% of 10 test images read correctly" in model.index(4, 10).data(Qt.ItemDataRole.ToolTipRole)


def test_cell_colours_deepen_with_the_share_of_the_row(view: ConfusionView) -> None:
    model = view.table.model()
    empty = model.index(4, 8).data(Qt.ItemDataRole.BackgroundRole)
    some = model.index(4, 9).data(Qt.ItemDataRole.BackgroundRole)
    right = model.index(3, 3).data(Qt.ItemDataRole.BackgroundRole)
    assert empty.name() == model._base.name()
    assert some.red() > some.blue() and some.name() != empty.name()  # mistakes are red
    assert right.blue() > right.red()  # the diagonal is blue


def test_clicking_a_mistake_lists_its_images_most_confident_first(qtbot: QtBot, view: ConfusionView) -> None:
    with qtbot.waitSignal(view.cellSelected, timeout=1000) as blocker:
        click_cell(view, 4, 9)
    assert blocker.args == [4, 9]
    expected = sorted(FOURS_AS_NINES, key=lambda i: -FOURS_AS_NINES[i])
    assert list(view.shown_indices()) == expected == [42, 43, 41]
    assert view.cell_title() == "4 read as 9: 3 images, most confident mistake first"
    items = [view.images.item(k) for k in range(view.images.count())]
    assert [item.text() for item in items] == ["true 4 → 9\n90%", "true 4 → 9\n75%", "true 4 → 9\n60%"]
    assert items[0].toolTip() == "Test image #42, true class 4\nTop 3: 9 90.0%, 0 1.1%, 1 1.1%"
    assert not items[0].icon().isNull()
    assert view.table.currentIndex().row() == 4 and view.table.currentIndex().column() == 9


def test_a_diagonal_cell_lists_correct_images_least_confident_first_capped(
    view: ConfusionView, evaluation: Evaluation
) -> None:
    view.select_cell(0, 0)
    shown = view.shown_indices()
    assert len(shown) == MAX_SHOWN
    correct = np.flatnonzero((evaluation.y_true == 0) & (evaluation.y_pred == 0))
    confidence = evaluation.probabilities[correct, 0]
    assert list(shown) == list(correct[np.argsort(confidence, kind="stable")][:MAX_SHOWN])
    assert np.all(np.diff(evaluation.probabilities[shown, 0]) >= 0)
    assert view.cell_title() == f"0 read correctly: 72 images, least confident first (showing {MAX_SHOWN})"
    assert view.images.count() == MAX_SHOWN


def test_arrow_keys_walk_the_matrix(qtbot: QtBot, view: ConfusionView) -> None:
    selected: list[tuple[int, int]] = []
    view.cellSelected.connect(lambda true, pred: selected.append((true, pred)))
    view.select_cell(4, 9)
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Left)
    qtbot.keyClick(view.table, Qt.Key.Key_Up)
    assert selected == [(4, 9), (4, 8), (3, 8)]  # one signal per move, programmatic or not
    assert view.cell_title() == "No 3 was read as 8."


def test_an_empty_cell_says_so(view: ConfusionView) -> None:
    view.select_cell(1, 2)
    assert len(view.shown_indices()) == 0
    assert view.cell_title() == "No 1 was read as 2."
    assert view.images.count() == 0


def test_clicking_the_accuracy_column_selects_no_cell(qtbot: QtBot, view: ConfusionView) -> None:
    view.select_cell(4, 9)
    with qtbot.assertNotEmitted(view.cellSelected, wait=50):
        click_cell(view, 4, 10)
    assert list(view.shown_indices()) == [42, 43, 41]


def test_cell_order_breaks_ties_in_test_set_order() -> None:
    y_true = np.array([3, 3, 3, 3])
    probs = _probabilities([(5, 0.7), (5, 0.8), (5, 0.7), (3, 0.9)])
    ev = evaluate_predictions(y_true, probs, NAMES, "crossentropy")
    assert list(cell_order(ev, 3, 5)) == [1, 0, 2]
    assert list(cell_order(ev, 3, 3)) == [3]


@pytest.mark.parametrize("shape", [(28, 28, 1), (28, 28), (784,)])
def test_images_may_come_in_any_model_shape(
    qtbot: QtBot, evaluation: Evaluation, shape: tuple[int, ...]
) -> None:
    view = ConfusionView()
    qtbot.addWidget(view)
    view.set_evaluation(evaluation, np.zeros((len(evaluation.y_true), *shape), dtype=np.float32))
    view.select_cell(4, 9)
    assert view.images.count() == 3


def test_images_must_match_the_evaluation(qtbot: QtBot, evaluation: Evaluation) -> None:
    view = ConfusionView()
    qtbot.addWidget(view)
    with pytest.raises(ValueError, match="162 evaluated samples"):
        view.set_evaluation(evaluation, np.zeros((5, 784), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        view.set_evaluation(evaluation, np.zeros((162, 783), dtype=np.float32))


def test_clear_forgets_everything(view: ConfusionView) -> None:
    view.select_cell(4, 9)
    view.clear()
    assert view.header_text() == EMPTY_HEADER
    assert view.table.model().rowCount() == 0
    assert len(view.shown_indices()) == 0 and view.images.count() == 0
    assert view.evaluation() is None
    with pytest.raises(IndexError):
        view.select_cell(4, 9)


def test_a_new_evaluation_replaces_the_selection(
    view: ConfusionView, evaluation: Evaluation, images: np.ndarray
) -> None:
    view.select_cell(4, 9)
    view.set_evaluation(evaluation, images)
    assert len(view.shown_indices()) == 0
    assert not view.table.selectionModel().hasSelection()


def test_every_part_explains_itself(view: ConfusionView) -> None:
    for widget in [view.table, view.images, *view.findChildren(QLabel)]:
        assert widget.toolTip().endswith("."), widget


def test_standalone_view_shows_synthetic_results(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m gui.confusion_view`` builds the view; the event loop is replaced by checks."""
    seen: dict[str, object] = {}

    def fake_exec(*_args: object) -> int:
        (window,) = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, ConfusionView) and w.isVisible()
        ]
        qtbot.addWidget(window)
        assert window.header_text().startswith("Test accuracy")
        click_cell(window, 4, 9)
        assert len(window.shown_indices()) > 0
        seen["ran"] = True
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert view_module.main() == 0
    assert seen.get("ran")
