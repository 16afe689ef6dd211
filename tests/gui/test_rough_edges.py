"""Rough edges of the window found by driving it (issue 12), each one with real widgets."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from gui import dialogs, files, help
from gui.main_window import MainWindow
from model.session import ActionState
from tests.gui.test_main_window import InstantLoader

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def window(qtbot, settings: QSettings) -> MainWindow:
    questions: list[str] = []
    shown = MainWindow(
        settings,
        loader=InstantLoader(),
        warn=lambda *_: None,
        ask=lambda _p, title, _t: questions.append(title) or False,
        ask_save=lambda *_: "discard",
    )
    shown.questions = questions  # type: ignore[attr-defined]
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def test_the_model_folder_dialog_takes_a_new_folder_typed_into_it(qtbot, tmp_path: Path) -> None:
    dialog = dialogs.NewFolderDialog(None, "Save model", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name is not None
    qtbot.keyClicks(name, "new-run")
    assert dialog.choose_button is not None and dialog.choose_button.isEnabled()  # Qt disabled it
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)  # Qt said "Directory not found"
    assert dialog.result() == dialogs.QFileDialog.DialogCode.Accepted
    assert dialog.chosen == tmp_path / "new-run" and not dialog.chosen.exists()


def test_the_model_folder_dialog_still_takes_an_existing_folder(qtbot, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    dialog = dialogs.NewFolderDialog(None, "Save model", str(tmp_path))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.selectFile(str(tmp_path / "old"))
    dialog.accept()
    assert dialog.chosen == tmp_path / "old"


def test_resume_training_says_why_it_is_disabled(window: MainWindow) -> None:
    action = window.actions["run.resume_training"]
    window.show_actions(ActionState(train_reason="", resume_reason="the layer stack changed"))
    assert not action.isEnabled() and action.toolTip() == "the layer stack changed"
    window.show_actions(ActionState(train_reason=""))
    assert action.toolTip().startswith("Continue training the model")


def test_counting_replaces_the_last_counts_in_the_panel(window: MainWindow) -> None:
    window.show_counts_pending("MNIST (mnist.npz)")
    texts = [label.text() for label in window.settings_panel.findChildren(QLabel)]
    assert "Counting MNIST (mnist.npz)…" in texts
    assert not any("not on this computer" in text for text in texts)


def test_esc_asks_before_it_stops_a_run(window: MainWindow, qtbot) -> None:
    stopped: list[bool] = []
    window.session.stop = lambda: stopped.append(True)  # type: ignore[method-assign]
    window.session.shown = 1
    window.session.runs[1] = type("Run", (), {"control": type("C", (), {"stop_requested": False})()})()  # type: ignore[assignment]
    try:
        window.show_actions(ActionState(train_reason="", running=True))
        assert window.actions["run.stop_asking"].isEnabled()
        qtbot.keyClick(window, Qt.Key.Key_Escape)
        assert window.questions == ["Stop training?"] and stopped == []  # type: ignore[attr-defined]
    finally:
        window.session.runs.clear()
        window.session.shown = None


def test_open_recent_names_the_folder_of_each_file(tmp_path: Path) -> None:
    home = str(Path.home())
    assert files.recent_label(f"{home}/runs/a.json") == "a.json  —  ~/runs"
    assert files.recent_label(str(tmp_path / "R&D.json")) == f"R&&D.json  —  {tmp_path}"


def test_the_help_menu_lists_shortcuts_the_guide_and_versions(window: MainWindow) -> None:
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus[-1] == "&Help"
    rows = dict(help.shortcuts(window))
    assert rows["Train"] == "Ctrl+Return" and rows["Stop"] == "Esc" and rows["Duplicate"] == "Ctrl+D"
    window.actions["help.shortcuts"].trigger()
    assert window.help.shown is not None and "Ctrl+Shift+Z" in window.help.shown.findChild(help.QTextBrowser).toPlainText()
    text = help.guide()
    assert text.startswith("## Data") and "## The Draw tab" in text and "## Layout" not in text
    names = dict(help.versions())
    assert names["keras"][0].isdigit() and names["PySide6"] and names["Qt"]


def test_the_guide_says_so_when_the_readme_is_missing(tmp_path: Path) -> None:
    assert "cannot be read" in help.guide(tmp_path / "README.md")


def test_ctrl_z_in_the_designer_undoes_a_stack_edit_from_the_edit_menu_too(window: MainWindow, qtbot) -> None:
    before = window.designer.layers()
    window.designer._duplicate_action.trigger()
    assert len(window.designer.layers()) == len(before) + 1
    undo = window.actions["edit.undo"]
    assert undo.isEnabled() and undo.text().startswith("&Undo")
    window.designer.setFocus()
    window.tabs.setCurrentIndex(2)  # the Draw tab's canvas has a Ctrl+Z of its own: no clash
    window.designer.setFocus()
    qtbot.keyClick(window.designer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.designer.layers() == before
    window.actions["edit.redo"].trigger()
    assert len(window.designer.layers()) == len(before) + 1


def test_the_settings_get_the_larger_part_of_the_left_column(window: MainWindow, qtbot) -> None:
    window.resize(1440, 900)
    qtbot.waitUntil(lambda: window.left_splitter.sizes()[1] > 0)
    designer, settings = window.left_splitter.sizes()
    assert settings > designer  # was 3:2 for the designer: the learning rate was below the fold


def _in_view(widget) -> bool:
    """Whether some of ``widget`` is on screen now (not scrolled out of its panel)."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def test_the_learning_rate_and_the_dataset_are_in_view_at_1280x800(window: MainWindow, qtbot) -> None:
    from PySide6.QtWidgets import QComboBox, QWidget

    from gui.settings_panel import TrainingSettings

    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.left_splitter.sizes()[1] > 0)
    panel: TrainingSettings = window.settings_panel
    rate = panel.findChild(QWidget, "optimizer.learning_rate")
    dataset = panel.findChild(QWidget, "data.name")
    assert isinstance(dataset, QComboBox)
    qtbot.waitUntil(lambda: _in_view(rate))
    assert panel.pages.tabText(1) == "Data: MNIST digits"  # the dataset named from the Training page
    panel.show_page("Data")
    qtbot.waitUntil(lambda: _in_view(dataset))  # was below the fold, under six sections
    window.settings_panel.set_learning_rate_editable_only(True)  # a run paused
    assert panel.current_page() == "Training"
    qtbot.waitUntil(lambda: _in_view(rate))
    window.settings_panel.set_learning_rate_editable_only(False)
    from model.config import LayerSpec

    window.designer.set_layers((LayerSpec("Conv2D"), LayerSpec("Flatten"), LayerSpec("Dense", units=10)))
    window.designer._select_row(0)  # the tallest layer editor: it scrolls, the settings keep their room
    qtbot.wait(50)
    assert _in_view(rate)


def test_the_confusion_images_get_two_uncut_columns_at_1280x800(window: MainWindow, qtbot) -> None:
    import numpy as np
    from PySide6.QtGui import QFontMetrics

    from gui.confusion_view import synthetic_evaluation

    window.resize(1280, 800)
    window._build_late_widgets()
    window.tabs.setCurrentIndex(1)
    view = window.confusion
    assert view is not None
    labels = np.repeat(np.arange(10), 30)
    view.set_evaluation(synthetic_evaluation(labels, [str(i) for i in range(10)]), np.zeros((300, 28, 28)))
    view.select_cell(4, 9)
    images = view.images
    qtbot.waitUntil(lambda: images.isVisible() and images.count() > 0)
    qtbot.wait(200)  # the splitters settle
    grid = images.gridSize()
    assert images.viewport().width() >= 2 * grid.width()  # was about 70 px: not one thumbnail
    metrics = QFontMetrics(images.font())
    for row in range(images.count()):
        for line in images.item(row).text().splitlines():
            assert metrics.horizontalAdvance(line) <= grid.width()  # captions were cut


@pytest.mark.parametrize("kind", ["Dense", "Conv2D", "Dropout", "Flatten"])
def test_layer_descriptions_are_never_cut_at_1280x800(window: MainWindow, qtbot, kind: str) -> None:
    from model.config import LayerSpec

    window.resize(1280, 800)
    designer = window.designer
    designer.set_layers([LayerSpec(type="Flatten"), LayerSpec(type=kind)])
    designer._select_row(1)
    editor = designer._editor
    about = editor._about
    qtbot.waitUntil(lambda: about.isVisible() and about.text() != "")
    qtbot.wait(50)  # the layouts settle
    assert about.height() >= about.heightForWidth(about.width())  # Dense: 19 px of the 28 its two lines need
    assert editor.height() >= editor.heightForWidth(editor.width())  # rows scroll, never squeezed


def test_an_opened_image_shows_on_the_canvas_until_the_next_stroke(qtbot, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from gui.predict_panel import PredictPanel

    panel = PredictPanel()
    qtbot.addWidget(panel)
    panel.show()
    path = tmp_path / "one.png"
    picture = np.zeros((60, 40), dtype=np.uint8)
    picture[8:52, 17:23] = 255
    Image.fromarray(picture).save(path)
    assert panel.open_image(path)
    assert panel.canvas.picture() is not None  # was: only the 28x28 preview showed it
    shown = panel.canvas.grab().toImage()
    centre = shown.pixelColor(shown.width() // 2, shown.height() // 2)
    assert centre.lightness() > 128  # the picture's stroke, not the empty black canvas
    canvas = panel.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert canvas.picture() is None and canvas.stroke_count() == 1


def test_the_results_table_keeps_every_column_in_view(qtbot) -> None:
    import numpy as np

    from gui.results_view import ResultsView
    from model.evaluation import Evaluation
    from model.events import EndReason, RunFinished

    names = tuple(str(i) for i in range(10))
    evaluation = Evaluation(0.5, 0.9, np.ones(10), np.ones(10), np.ones(10), np.eye(10, dtype=int) * 30, names,
                            np.zeros(300), np.zeros((300, 10)))  # fmt: skip
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(150, 700)  # what a 1280x800 window left it
    view.show()
    view.show_result(RunFinished(1, EndReason.COMPLETED, "done", 1), evaluation)
    table = view.table
    qtbot.waitUntil(lambda: table.viewport().width() >= table.minimumWidth() - 10)
    last = table.visualItemRect(table.item(0, table.columnCount() - 1))
    assert last.right() <= table.viewport().width()  # 'samples' was behind the scrollbar
