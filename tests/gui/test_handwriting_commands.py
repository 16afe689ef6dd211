"""The window's handwriting commands: label, score, open, export, clear and Teach it, with clicks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QUrl

from gui import dialogs
from gui.handwriting_commands import HandwritingCommands, export_target
from gui.main_window import DRAW_TAB, MainWindow
from model.config import DataSpec
from model.data import load_dataset
from tests.gui.runs import DIGITS_MLP
from tests.gui.test_main_window import InstantLoader, wait_idle, wait_ready
from tests.gui.test_predict_panel import ONE, SEVEN, draw

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def make_window(qtbot, settings) -> Callable[..., MainWindow]:
    """Shown windows whose warnings are collected, not shown (as in test_main_window)."""

    def make(**kwargs: Any) -> MainWindow:
        kwargs.setdefault("loader", InstantLoader())
        kwargs.setdefault("warn", lambda parent, title, text: None)
        # Quitting asks about a run in progress and an unsaved model: a test that does not
        # answer itself stops the run and discards the model, as closing did before it asked.
        kwargs.setdefault("ask", lambda parent, title, text: True)
        kwargs.setdefault("ask_save", lambda parent, title, text: "discard")
        window = MainWindow(settings, **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.start_loading()
        return window

    return make


def draw_tab(window: Any, qtbot: Any) -> HandwritingCommands:
    window.tabs.setCurrentIndex(DRAW_TAB)
    qtbot.waitUntil(lambda: window.handwriting is not None)
    return window.handwriting


def click(qtbot: Any, button: Any) -> None:
    assert button.isVisible() and button.isEnabled(), (button.text(), button.toolTip())
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_draw_tab_keeps_the_handwriting_set_in_the_given_folder(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window(handwriting_dir=tmp_path / "hw")
    commands = draw_tab(window, qtbot)
    panel = window.predict_panel
    box = panel.handwriting
    assert commands.folder == tmp_path / "hw" and box.isVisible()
    assert box.score_label.text() == "Your handwriting: no drawings yet"
    assert not box.teach_button.isEnabled() and box.teach_button.toolTip().startswith("Train a model")
    draw(panel, SEVEN)
    click(qtbot, box.label_buttons[7])
    draw(panel, ONE)
    click(qtbot, box.label_buttons[1])
    assert commands.coach.store.counts() == {"1": 1, "7": 1}
    assert box.count_label.text() == "2 drawings" and box.message_label.text() == "Saved as 1 (no answer)."
    assert box.score_label.text() == "Your handwriting: no model to read it"
    dataset = load_dataset(DataSpec(name="file", path=str(tmp_path / "hw")))
    assert len(dataset) == 2 and dataset.class_names == ("1", "7")


def test_the_default_folder_is_beside_the_autosave_folder(make_window, qtbot, isolated_handwriting: Path) -> None:
    window = make_window()
    assert draw_tab(window, qtbot).folder == isolated_handwriting


def test_clear_asks_first_and_export_never_overwrites(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    answers: list[bool] = []
    window = make_window(handwriting_dir=tmp_path / "hw", ask=lambda _p, _t, _text: answers.pop(0))
    commands = draw_tab(window, qtbot)
    box = window.predict_panel.handwriting
    draw(window.predict_panel, SEVEN)
    click(qtbot, box.label_buttons[7])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    monkeypatch.setattr(dialogs, "choose_folder", lambda *_args: tmp_path / "out")
    click(qtbot, box.export_button)
    folders = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]  # not empty: a new sub-folder
    assert len(folders) == 1 and folders[0].name.startswith("handwriting-")
    assert len(list((folders[0] / "7").glob("*.png"))) == 1 and (tmp_path / "out" / "keep.txt").read_text() == "mine"
    assert export_target(tmp_path / "out") != folders[0]  # the next export gets a folder of its own
    answers.append(False)
    click(qtbot, box.clear_button)
    assert commands.coach.store.count() == 1  # "No" keeps them
    answers.append(True)
    click(qtbot, box.clear_button)
    assert commands.coach.store.count() == 0 and box.message_label.text() == "Deleted 1 drawing."
    assert not box.clear_button.isEnabled()


def test_open_folder_reveals_the_set(make_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr("gui.handwriting_commands.QDesktopServices.openUrl", lambda url: opened.append(url) or True)
    window = make_window(handwriting_dir=tmp_path / "hw")
    draw_tab(window, qtbot)
    box = window.predict_panel.handwriting
    click(qtbot, box.open_button)
    assert opened == [QUrl.fromLocalFile(str(tmp_path / "hw"))] and (tmp_path / "hw").is_dir()


@pytest.mark.usefixtures("tensorflow_loaded")
def test_teach_it_fine_tunes_the_trained_model_as_a_new_run(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window(handwriting_dir=tmp_path / "hw")
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.actions["run.train"].trigger()
    wait_idle(qtbot, window)
    commands = draw_tab(window, qtbot)
    panel, box = window.predict_panel, window.predict_panel.handwriting
    for strokes, digit in ((SEVEN, 7), (ONE, 1), (SEVEN, 7)):
        draw(panel, strokes)
        qtbot.waitUntil(lambda: panel.shown_prediction() is not None)
        click(qtbot, box.label_buttons[digit])
    qtbot.waitUntil(lambda: commands.coach.state.score is not None and commands.coach.state.score.total == 3)
    assert "of 3 read right · Digits test " in box.score_label.text()
    box.epochs.setValue(1)
    click(qtbot, box.teach_button)
    qtbot.waitUntil(lambda: window.session.running, timeout=30_000)
    assert window.session.shown_run.config.data.extra_path == str(tmp_path / "hw")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: commands.coach.state.teaching is not None and commands.coach.state.teaching.after is not None,
                    timeout=60_000)  # fmt: skip
    assert box.teaching_label.text().startswith(f"Taught in run {window.session.current_run_id}: ")
    assert window.session.memory.result.run_id == window.session.current_run_id == 2
    assert window.actions["file.save_model"].isEnabled()
