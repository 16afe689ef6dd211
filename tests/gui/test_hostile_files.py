"""Hostile files through the window's open paths: nothing escapes, nothing is half applied."""

from __future__ import annotations

from pathlib import Path

from gui.main_window import MainWindow
from model.config import DataSpec, LayerSpec, load_config
from tests.gui.runs import DIGITS_MLP
from tests.gui.test_main_window import make_window, settle  # noqa: F401 - make_window is the window tests' fixture
from tests.model.session.test_hostile_files import _hostile_paths


def test_a_config_the_panels_cannot_show_is_refused_whole(make_window, tmp_path: Path) -> None:  # noqa: F811
    window: MainWindow = make_window()
    mine = tmp_path / "mine.json"
    mine.write_text(DIGITS_MLP.to_json())
    assert window.session.open_config(mine)
    huge = tmp_path / "huge.json"
    huge.write_text(DIGITS_MLP.replace(data=DataSpec(name="digits", limit=10**15)).to_json())  # valid per the schema
    assert not window.session.open_config(huge)  # was: OverflowError from a QSpinBox, the config half applied
    title, text = window.warnings[-1]
    assert title == "Cannot show this configuration" and "data.limit" in text and "10,000,000" in text
    assert window.windowTitle().startswith("mine.json") and window.session.document.path == mine
    assert window.current_config() == DIGITS_MLP
    assert window.session.save()  # Save writes the shown settings into the shown file, not the new one
    assert load_config(mine) == DIGITS_MLP and load_config(huge).data.limit == 10**15


def test_no_hostile_file_escapes_the_windows_open_paths(make_window, qtbot, tmp_path: Path) -> None:  # noqa: F811
    window: MainWindow = make_window()
    qtbot.waitUntil(lambda: window.tf_ready)
    window.session.set_config(DIGITS_MLP)
    for path in _hostile_paths(tmp_path):
        before = len(window.warnings)
        opened = settle(qtbot, window.session.open_path(path))  # an escaped exception fails the test here
        assert opened or len(window.warnings) == before + 1, path


def test_the_designer_shows_the_memory_to_train_beside_the_parameters(make_window) -> None:  # noqa: F811
    window: MainWindow = make_window()
    window.session.set_config(DIGITS_MLP)
    totals = window.designer.findChild(type(window.train_reason), "totals")
    assert "Total parameters:" in totals.text() and "memory to train about" in totals.text()
    assert totals.styleSheet() == ""
    huge = DIGITS_MLP.replace(layers=(LayerSpec("Flatten"), *[LayerSpec("Dense", units=65536)] * 3, DIGITS_MLP.layers[-1]))
    window.session.set_config(huge)
    assert "memory to train about 17" in totals.text() and "more than the" in totals.text()
    assert "c62828" in totals.styleSheet() and "cannot be trained here" in totals.toolTip()
