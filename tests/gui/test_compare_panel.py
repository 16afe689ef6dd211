"""The Compare tab driven through its real widgets: pick, start, watch, stop, use the trials.

The panel is the view of a real :class:`~model.session.ComparisonSession` on a real
:class:`~model.session.RunSession` (its own view a ``MagicMock``), its records coming home
through :class:`gui.dispatch.QtDispatch`; the trials train in process (no Ray) on 300
MNIST images. The window tests at the end check the File and View actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from gui.compare_panel import NO_SETTING, ComparePanel
from gui.dispatch import QtDispatch
from gui.main_window import MainWindow
from model.experiments import CLUSTER_NOTICE, TrialState, experiment_from_vary, start_comparison
from model.runfolder import is_run_folder
from model.session import ADDRESS_KEY, MemoryStore, RunSession, SessionView
from tests.gui.test_main_window import InstantLoader
from tests.model.session.fakes import FakeRunner
from tests.model.session.test_compare import tiny_mnist

TRAIN_MS = 300_000


@pytest.fixture
def make_panel(qtbot, tmp_path: Path, digits_path: Path) -> Iterator[Callable[..., ComparePanel]]:
    sessions: list[RunSession] = []

    def make(engine: str = "in-process", **changes: object) -> ComparePanel:
        holder = QWidget()
        qtbot.addWidget(holder)
        view = MagicMock(spec=SessionView)
        view.ask.return_value = True
        view.ask_save.return_value = "discard"
        store = MemoryStore({"config": tiny_mnist(digits_path, **changes).to_json()})
        session = RunSession(view, runner=FakeRunner(), dispatch=QtDispatch(holder), store=store,
                             autosave_dir=tmp_path / "autosave")  # fmt: skip
        session.begin()
        sessions.append(session)
        drawn: list[bool] = []
        panel = ComparePanel(session, tmp_path / "comparisons", engine=engine,  # type: ignore[arg-type]
                             show_draw=lambda: drawn.append(True))  # fmt: skip
        panel.drawn = drawn  # type: ignore[attr-defined]
        panel.holder = holder  # type: ignore[attr-defined] # the dispatch's parent lives as long as the panel
        qtbot.addWidget(panel)
        panel.resize(1200, 800)
        panel.show()
        qtbot.waitExposed(panel)
        return panel

    yield make
    for session in sessions:
        session.shutdown()


def choose(panel: ComparePanel, key: str | None) -> None:
    panel.experiment.setCurrentIndex(panel.experiment.findData(key))


def vary(qtbot, panel: ComparePanel, row: int, path: str, values: str) -> None:
    # Typed into the combo's line edit, its completer's popup would grab the keyboard,
    # which the offscreen platform warns about; the screenshots type it for real.
    panel.paths[row].setCurrentText(path)
    panel.values[row].clear()
    qtbot.keyClicks(panel.values[row], values)


def start(qtbot, panel: ComparePanel) -> None:
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def wait_done(qtbot, panel: ComparePanel) -> None:
    qtbot.waitUntil(lambda: panel.compare.comparison is None, timeout=TRAIN_MS)


def points(curve: Any) -> int:
    x, _ = curve.getOriginalDataset()
    return 0 if x is None else len(x)


def test_a_varied_setting_streams_every_trial_and_its_rows_open_save_and_draw(
    make_panel, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = make_panel()
    assert panel._vary_box.isVisible() and "Vary settings" in panel.description.text()
    vary(qtbot, panel, 0, "optimizer.name", "sgd, adam")
    start(qtbot, panel)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    assert not panel.experiment.isEnabled()
    assert "2 trials on this process" in panel.message.text()
    assert panel.plots.legend_labels() == ["optimizer.name=sgd", "optimizer.name=adam"]
    assert "optimizer.name=adam" in panel.plots.legend.text()
    # Live: curves grow while the trials train.
    qtbot.waitUntil(lambda: points(panel.plots.trials[0].loss) > 0, timeout=TRAIN_MS)
    wait_done(qtbot, panel)
    panel.plots.refresh()
    assert all(points(t.loss) > 0 and points(t.val_accuracy) == 2 for t in panel.plots.trials)
    assert all(t.heat_image.isVisible() for t in panel.plots.trials)
    assert len(panel.plots._heat_widgets) == 2
    table = panel.table
    assert table.rowCount() == 2
    assert [table.cell_text(i, "state") for i in (0, 1)] == ["finished", "finished"]
    assert table.cell_text(0, "test acc").endswith("%") and "of 2" in table.cell_text(0, "best epoch")
    assert not table.button(0, "stop").isEnabled() and table.button(0, "open").isEnabled()
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    assert "The comparison ended (2 finished)" in panel.message.text()
    session = panel.compare.session
    # Draw: the trial's model answers the Draw tab, and the window is asked to show it.
    qtbot.mouseClick(table.button(1, "draw"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(panel.drawn), timeout=60_000)
    assert session.memory is not None and "trial 2 (optimizer.name=adam)" in session.memory.description
    # Save…: into the folder the dialog gives.
    target = tmp_path / "saved-trial"
    monkeypatch.setattr("gui.dialogs.choose_folder", lambda *args: target)
    qtbot.mouseClick(table.button(0, "save"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: is_run_folder(target), timeout=60_000)
    # Open: the session's open-run workflow.
    qtbot.mouseClick(table.button(0, "open"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.view.show_history.called, timeout=60_000)
    assert session.config.optimizer.name == "sgd"


def test_a_builtin_shows_what_to_look_for_and_hides_the_vary_rows(make_panel) -> None:
    panel = make_panel()
    spec = next(s for s in panel.compare.builtins() if s.key == "initialization")
    assert panel.experiment.count() == 1 + len(panel.compare.builtins())
    choose(panel, "initialization")
    assert not panel._vary_box.isVisible()
    assert spec.title in panel.description.text() and spec.look_for in panel.description.text()
    choose(panel, None)
    assert panel._vary_box.isVisible()


def test_the_setting_picker_offers_the_configurations_paths(make_panel) -> None:
    panel = make_panel()
    items = [panel.paths[0].itemText(i) for i in range(panel.paths[0].count())]
    assert items[0] == NO_SETTING
    assert {"optimizer.name", "optimizer.learning_rate", "layers[1].units", "batch_size"} <= set(items)
    assert panel.vary_rows() == [("optimizer.learning_rate", "0.1, 0.01, 0.001")]


def test_a_bad_setting_is_named_in_red_and_nothing_starts(make_panel, qtbot) -> None:
    panel = make_panel()
    vary(qtbot, panel, 0, "optimizer.nmae", "sgd, adam")
    start(qtbot, panel)
    assert "optimizer.nmae" in panel.message.text()
    assert "#B2182B" in panel.message.styleSheet()
    assert panel.compare.comparison is None and panel.table.rowCount() == 0
    vary(qtbot, panel, 0, "optimizer.learning_rate", "0.1, fast")
    qtbot.keyClick(panel.values[0], Qt.Key.Key_Return)
    assert "optimizer.learning_rate" in panel.message.text()


def test_stop_all_and_a_rows_stop_end_the_trials(make_panel, qtbot) -> None:
    panel = make_panel(epochs=40)
    vary(qtbot, panel, 0, "optimizer.learning_rate", "0.1, 0.01")
    start(qtbot, panel)
    qtbot.waitUntil(lambda: panel.table.cell_text(0, "state") == "running", timeout=TRAIN_MS)
    assert panel.table.button(0, "stop").isEnabled() and not panel.table.button(0, "open").isEnabled()
    qtbot.mouseClick(panel.table.button(0, "stop"), Qt.MouseButton.LeftButton)
    assert "Stopping trial 1" in panel.message.text()
    qtbot.waitUntil(lambda: panel.table.cell_text(1, "state") == "running", timeout=TRAIN_MS)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert not panel.stop_button.isEnabled()
    wait_done(qtbot, panel)
    assert [r.state for r in panel.table.rows] == [TrialState.STOPPED, TrialState.STOPPED]
    assert panel.table.rows[0].epochs < 40


def test_a_cluster_address_persists_and_shows_the_one_node_note(make_panel, qtbot, monkeypatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    panel = make_panel(engine="ray")
    assert not panel.cluster_note.isVisible()
    qtbot.keyClicks(panel.address, "10.1.2.3:6379")
    qtbot.keyClick(panel.address, Qt.Key.Key_Return)
    assert panel.compare.session.store.value(ADDRESS_KEY) == "10.1.2.3:6379"
    assert panel.cluster_note.isVisible() and panel.cluster_note.text() == CLUSTER_NOTICE
    assert "10.1.2.3:6379" in panel.message.text() and "keras-team/keras#20585" in panel.message.text()
    panel.address.clear()
    qtbot.keyClick(panel.address, Qt.Key.Key_Return)
    assert not panel.cluster_note.isVisible()


# --------------------------------------------------------------------------- in the window


@pytest.fixture
def window(qtbot, settings: QSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setattr("gui.files.default_comparisons_dir", lambda: tmp_path / "comparisons")
    warnings: list[tuple[str, str]] = []
    win = MainWindow(settings, loader=InstantLoader(), runner=FakeRunner(),
                     warn=lambda parent, title, text: warnings.append((title, text)))  # fmt: skip
    win.warnings = warnings  # type: ignore[attr-defined]
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_the_window_has_a_compare_tab_view_action_and_open_comparison(
    window: MainWindow, qtbot, tmp_path: Path, digits_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs[-1] == "Compare"
    assert window.actions["view.compare"].shortcut() == QKeySequence("Ctrl+4")
    window.actions["view.compare"].trigger()
    assert window.tabs.currentWidget() is window.compare_panel
    file_menu = window.menuBar().actions()[0].menu()
    assert "Open &Comparison…" in [a.text() for a in file_menu.actions()]
    # A comparison saved elsewhere (as the sweep command writes one) opens with its curves.
    experiment = experiment_from_vary(tiny_mnist(digits_path, epochs=1), ["optimizer.learning_rate=0.1,0.01"])
    folder = tmp_path / "sweep"
    assert start_comparison(experiment, out_dir=folder, engine="in-process").wait(TRAIN_MS / 1000)
    window.tabs.setCurrentIndex(0)
    monkeypatch.setattr("gui.dialogs.choose_folder", lambda *args: folder)
    window.actions["file.open_comparison"].trigger()
    panel = window.compare_panel
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=60_000)
    assert window.tabs.currentWidget() is panel
    assert all(points(t.loss) > 0 for t in panel.plots.trials)
    assert "Opened the comparison sweep" in panel.message.text()
