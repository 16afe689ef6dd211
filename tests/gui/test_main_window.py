"""The main window: layout, files, settings, and runs from start to finish.

Most tests use a loader that reports "TensorFlow loaded" at once; the tests that train
for real import TensorFlow once per session first (``tensorflow_loaded``) and train a tiny
MLP on a few hundred of scikit-learn's digits for one epoch.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSpinBox

from gui.main_window import MainWindow
from model.config import DataSpec, LayerSpec, RunConfig, load_config, load_preset
from model.events import BatchRecord, EndReason, EpochRecord, RunFinished, RunStarted, format_duration
from model.inference import DirectPredictor, MailboxPredictor
from model.runner import RunRequest, RunSink, ThreadRunner
from model.session import format_progress
from tests.gui.runs import DIGITS_MLP
from tests.model.session.fakes import FakeRunner

# Batch size 1 over 3 epochs of 240 samples: 720 batches, far more than a test waits for.
SLOW_RUN = DIGITS_MLP.replace(batch_size=1, epochs=3)
RUN_TIMEOUT_MS = 120_000


class InstantLoader(QObject):
    """Stands in for the TensorFlow loader: says "loaded" as soon as the loop runs."""

    loaded = Signal(str)
    failed = Signal(str)

    def start(self) -> None:
        QTimer.singleShot(0, self._on_timeout)

    def _on_timeout(self) -> None:
        self.loaded.emit("CPU")


class CountingSink:
    """Wraps the session's sink; counts batches in the training thread itself."""

    def __init__(self, inner: RunSink, steps: list[int]) -> None:
        self._inner = inner
        self._steps = steps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def on_batch(self, record: BatchRecord) -> None:
        self._steps.append(record.step)
        self._inner.on_batch(record)


class CountingRunner:
    """The real runner, with every batch counted where it happens."""

    def __init__(self, steps: list[int]) -> None:
        self._steps = steps
        self._inner = ThreadRunner()

    def start(self, request: RunRequest, sink: RunSink) -> Any:
        return self._inner.start(request, CountingSink(sink, self._steps))


def training_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("training-run-")]


def settle(qtbot, future: Any, timeout: int = 60_000) -> bool:
    """Wait (running the event loop) for a session future; its answer."""
    qtbot.waitUntil(future.done, timeout=timeout)
    return bool(future.result())


@pytest.fixture
def make_window(qtbot, settings: QSettings) -> Callable[..., MainWindow]:
    """A factory of shown windows with injectable parts; warnings are collected, not shown."""

    def make(**kwargs: Any) -> MainWindow:
        kwargs.setdefault("loader", InstantLoader())
        # A thread per run: these tests are about the window, not where runs train (the
        # window's default, a worker process per run, has tests of its own).
        kwargs.setdefault("runner", ThreadRunner())
        warnings: list[tuple[str, str]] = []
        kwargs.setdefault("warn", lambda parent, title, text: warnings.append((title, text)))
        # Quitting asks about a run in progress and an unsaved model: a test that does not
        # answer itself stops the run and discards the model, as closing did before it asked.
        kwargs.setdefault("ask", lambda parent, title, text: True)
        kwargs.setdefault("ask_save", lambda parent, title, text: "discard")
        window = MainWindow(kwargs.pop("settings", settings), **kwargs)
        window.warnings = warnings  # type: ignore[attr-defined]
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.start_loading()
        return window

    return make


def wait_ready(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.tf_ready and window.actions["run.train"].isEnabled(), timeout=RUN_TIMEOUT_MS)


def wait_idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.session.running, timeout=RUN_TIMEOUT_MS)


def points(curve: Any) -> int:
    x, _ = curve.getOriginalDataset()
    return 0 if x is None else len(x)


# ---------------------------------------------------------------------- layout


def test_window_shows_designer_settings_plots_and_draw_tab(make_window, qtbot) -> None:
    window = make_window()
    assert window.designer.isVisible()
    assert window.settings_panel.isVisible()
    assert window.plots.isVisible()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs == ["Training", "Results", "Draw", "Compare"]
    window.actions["view.draw"].trigger()
    assert window.predict_panel.canvas.isVisible()
    assert window.actions["view.draw"].shortcut() == QKeySequence("Ctrl+3")


def test_menus_have_the_expected_shortcuts(make_window) -> None:
    window = make_window()
    expected = {
        window.actions["file.new"]: QKeySequence(QKeySequence.StandardKey.New),
        window.actions["file.open"]: QKeySequence(QKeySequence.StandardKey.Open),
        window.actions["file.save"]: QKeySequence(QKeySequence.StandardKey.Save),
        window.actions["file.save_as"]: QKeySequence("Ctrl+Shift+S"),
        window.actions["file.quit"]: QKeySequence("Ctrl+Q"),
        window.actions["run.train"]: QKeySequence("Ctrl+Return"),
        window.actions["run.stop_asking"]: QKeySequence("Esc"),
    }
    for action, keys in expected.items():
        assert action.shortcut() == keys, action.text()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&Run", "&View", "&Help"]
    presets = [action.text() for action in window.presets_menu.actions()]
    assert load_preset("mlp").name in presets and len(presets) >= 3


def test_a_preset_loads_into_the_panels(make_window) -> None:
    window = make_window()
    action = next(a for a in window.presets_menu.actions() if a.data() == "mlp")
    action.trigger()
    assert window.designer.layers() == load_preset("mlp").layers
    assert window.current_config() == load_preset("mlp")


def test_train_waits_for_tensorflow_then_enables(make_window, qtbot) -> None:
    from gui.tf_loader import TensorFlowLoader

    window = make_window(loader=TensorFlowLoader())
    if not window.tf_ready:  # TensorFlow may already be loaded by an earlier test
        assert not window.actions["run.train"].isEnabled()
        assert window.train_reason.text() == "Loading TensorFlow…"
        assert window.device_label.text() == "Loading TensorFlow…"
    wait_ready(qtbot, window)
    assert window.train_reason.text() == ""
    assert window.device_label.text().startswith(("Device: CPU", "Device: GPU"))


def test_an_invalid_stack_disables_train_and_says_why(make_window, qtbot) -> None:
    window = make_window()
    wait_ready(qtbot, window)
    window.session.set_config(
        DIGITS_MLP.replace(layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=7, activation="softmax")))
    )
    qtbot.waitUntil(lambda: not window.actions["run.train"].isEnabled(), timeout=5000)
    assert window.train_reason.text().startswith("Fix the layer stack first:")
    window.session.set_config(DIGITS_MLP)
    qtbot.waitUntil(window.actions["run.train"].isEnabled, timeout=5000)


def test_dataset_counts_follow_the_latest_settings(make_window, qtbot) -> None:
    window = make_window()
    other = DIGITS_MLP.replace(data=DataSpec(name="digits", limit=500))
    # Changes while a count runs: only the last one matters, and it must not get stuck.
    window.session.set_config(DIGITS_MLP)
    window.session.set_config(other)
    window.session.set_config(DIGITS_MLP)
    qtbot.waitUntil(lambda: "train 240" in window.data_label.text(), timeout=60_000)
    window.session.set_config(other)
    qtbot.waitUntil(lambda: "train 400" in window.data_label.text(), timeout=60_000)
    assert window.data_label.text().startswith("Digits")


# ---------------------------------------------------------------------- files and settings


def test_save_writes_the_config_and_opens_it_again(make_window, tmp_path: Path) -> None:
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    target = tmp_path / "run.json"
    assert window.session.save_config_to(target)
    assert load_config(target) == DIGITS_MLP
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "settings.ini") == [
        "run.json"
    ]  # no temp left
    window.session.set_config(RunConfig())
    assert window.session.open_config(target)
    assert window.current_config() == DIGITS_MLP
    assert window.windowTitle().startswith("run.json")


def test_a_bad_file_is_reported_and_nothing_is_lost(make_window, tmp_path: Path) -> None:
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    bad = tmp_path / "bad.json"
    raw = json.loads(DIGITS_MLP.to_json())
    raw["layers"][1]["units"] = -3
    bad.write_text(json.dumps(raw))
    assert not window.session.open_config(bad)
    title, text = window.warnings[-1]
    assert title == "Cannot open configuration"
    assert "layers[1].units" in text
    assert window.current_config() == DIGITS_MLP


def test_a_failed_save_leaves_the_old_file(make_window, tmp_path: Path) -> None:
    window = make_window()
    folder = tmp_path / "taken"
    folder.mkdir()
    assert not window.session.save_config_to(folder)  # a folder cannot be replaced by a file
    assert window.warnings[-1][0] == "Cannot save configuration"
    assert folder.is_dir()


def test_geometry_and_config_are_remembered(make_window, settings: QSettings) -> None:
    first = make_window()
    first.session.set_config(DIGITS_MLP)
    first.resize(701, 503)  # inside the offscreen screen (800x800)
    first.close()
    second = make_window()
    assert second.current_config() == DIGITS_MLP
    assert (second.width(), second.height()) == (701, 503)
    assert settings.fileName().endswith("settings.ini")


# ---------------------------------------------------------------------- runs (scripted)


def scripted(qtbot, window: MainWindow, runner: FakeRunner) -> Any:
    """Start a run of the scripted runner and report its data, its start and one batch."""
    window.session.train()
    run = runner.last
    run.data()
    run.started()
    run.batch(0)
    qtbot.waitUntil(lambda: window.session.shown_run is not None and window.session.shown_run.last_batch is not None,
                    timeout=10_000)
    return run


def test_stale_messages_from_an_old_run_are_ignored(make_window, qtbot) -> None:
    runner = FakeRunner()
    window = make_window(runner=runner)
    wait_ready(qtbot, window)
    run = scripted(qtbot, window, runner)
    current = window.session.current_run_id
    g = np.array([0.1])
    stale = current - 1
    window.session._on_batches((BatchRecord(stale, 0, 5, 5, 9.0, 0.1, 0.1, g, g, 1.0, 0.5, 1.0),))
    window.session._on_epoch(EpochRecord(stale, 0, 9.0, 0.1, None, None, 0.1, g, g, 1.0, 1.0))
    window.session._on_run_end(RunFinished(stale, EndReason.NAN, "loss became NaN", 0))
    assert len(window.plots.series.batches) == 1
    assert len(window.plots.series.epochs) == 0
    assert window.message_bar.text() == ""
    window.session._on_batches((BatchRecord(current, 0, 1, 1, 0.9, 0.6, 0.1, g, g, 1.0, 0.2, 1.0),))
    assert len(window.plots.series.batches) == 2
    run.end()
    wait_idle(qtbot, window)


def test_a_new_run_during_a_run_asks_first(make_window, qtbot) -> None:
    answers: list[bool] = [False, True]
    questions: list[str] = []

    def ask(parent: Any, title: str, text: str) -> bool:
        questions.append(text)
        return answers.pop(0)

    runner = FakeRunner()
    window = make_window(runner=runner, ask=ask)
    wait_ready(qtbot, window)
    old = scripted(qtbot, window, runner)
    first = window.session.current_run_id
    window.session.train()  # answered No: nothing changes
    assert window.session.current_run_id == first and not window.session.shown_run.control.stop_requested
    window.session.train()  # answered Yes: the first run stops, then the second starts
    assert len(questions) == 2 and old.control.stop_requested
    old.end(EndReason.STOPPED, "stopped by the user")
    qtbot.waitUntil(
        lambda: window.session.shown_run is not None and window.session.shown_run.run_id == first + 1, timeout=10_000
    )
    assert window.message_bar.text() == ""  # the first run's "stopped" was stale by then
    runner.last.end()
    wait_idle(qtbot, window)


def test_a_nan_ending_is_shown(make_window, qtbot) -> None:
    runner = FakeRunner()
    window = make_window(runner=runner)
    wait_ready(qtbot, window)
    run = scripted(qtbot, window, runner)
    run.end(EndReason.NAN, "the loss became NaN at epoch 1, batch 4")
    wait_idle(qtbot, window)
    assert window.message_bar.level == "error"
    assert "NaN" in window.message_bar.text() and "smaller learning rate" in window.message_bar.text()
    assert window.actions["run.train"].isEnabled()


def test_format_helpers() -> None:
    assert format_duration(75.2) == "1:15"
    assert format_duration(3725) == "1:02:05"
    g = np.array([1.0])
    rec = BatchRecord(1, 1, 9, 19, 0.5, 0.9, 1e-3, g, g, 1234.0, 0.5, 65.0)
    info = RunStarted(1, 4, 0, 10, 32, 320, 0, 0, ("a",), 1e-3)
    assert format_progress(rec, info) == "epoch 2/4 · batch 10/10 · 1,234 samples/s · 1:05 left"


# ---------------------------------------------------------------------- real runs


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_one_epoch_run_fills_every_plot_and_the_results(make_window, qtbot) -> None:
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.actions["run.train"].trigger()
    assert window.session.running
    wait_idle(qtbot, window)
    assert window.message_bar.level in ("", "info"), window.message_bar.text()
    plots = window.plots
    plots.refresh()
    assert points(plots.loss_batch_curve) == 8  # 240 training samples / 32
    assert points(plots.loss_smooth_curve) == 8
    assert points(plots.accuracy_batch_curve) == 8
    assert points(plots.loss_epoch_curve) == 1 and points(plots.val_loss_curve) == 1
    assert points(plots.accuracy_epoch_curve) == 1 and points(plots.val_accuracy_curve) == 1
    assert [c.name() for c in plots._grad_curves] == list(window.session.memory.result.layer_names)
    assert all(points(c) == 8 for c in plots._grad_curves)
    assert plots.heatmap_image.image.shape == (len(window.session.memory.result.layer_names), 8)
    assert window.results.table.rowCount() == 10
    assert window.results.summary.text().startswith("<b>Test accuracy")
    assert window.tabs.tabText(1).startswith("Results (")
    assert "train 240" in window.data_label.text()
    assert window.settings_panel.isEnabled() and window.designer.isEnabled()
    # The finished model now answers the canvas directly, and the confusion view is filled.
    assert isinstance(window.predict_panel.predictor(), DirectPredictor)
    assert window.predict_panel.description().startswith(f"model of run {window.session.current_run_id}")
    # The test matrix is shown in an event-loop turn of its own, queued when the run ended:
    # until it runs, the timeline shows the last epoch's validation matrix.
    evaluation = window.session.memory.result.evaluation
    qtbot.waitUntil(lambda: window.confusion.evaluation() is evaluation, timeout=5_000)
    assert window.cockpit.timeline.shown() is None  # the slider's last position, "test"


@pytest.mark.usefixtures("tensorflow_loaded")
def test_stop_ends_the_run_within_one_batch(make_window, qtbot) -> None:
    steps: list[int] = []
    window = make_window(runner=CountingRunner(steps))
    window.session.set_config(SLOW_RUN)
    wait_ready(qtbot, window)
    window.session.train()
    qtbot.waitUntil(lambda: len(steps) >= 5, timeout=RUN_TIMEOUT_MS)
    window.actions["run.stop"].trigger()
    at_stop = len(steps)
    assert not window.actions["run.stop"].isEnabled()
    # While it ran, the canvas asked the live model through the run's mailbox.
    assert isinstance(window.predict_panel.predictor(), MailboxPredictor)
    wait_idle(qtbot, window)
    # The core reports each batch before its stop check, so only the batch in flight when
    # Stop was pressed can still arrive.
    assert len(steps) <= at_stop + 1
    assert window.message_bar.text().startswith("Stopped")
    assert window.actions["run.train"].isEnabled()


@pytest.mark.usefixtures("tensorflow_loaded")
def test_pause_change_learning_rate_resume(make_window, qtbot) -> None:
    steps: list[int] = []
    window = make_window(runner=CountingRunner(steps))
    window.session.set_config(SLOW_RUN.replace(epochs=1))
    wait_ready(qtbot, window)
    window.session.train()
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=RUN_TIMEOUT_MS)
    window.actions["run.pause"].trigger()
    assert window.actions["run.pause"].text() == "&Resume"
    # Let the batch in flight finish and its record arrive, then check the run holds still.
    qtbot.wait(300)
    held = len(steps)
    qtbot.waitUntil(lambda: window.session.shown_run.batches_seen == held, timeout=5000)
    qtbot.wait(200)
    assert len(steps) == held

    opt = dataclasses.replace(SLOW_RUN.optimizer, learning_rate=0.01)
    window.settings_panel.set_config(window.current_config().replace(optimizer=opt))
    assert window.settings_panel.learning_rate() == pytest.approx(0.01)
    window.actions["run.pause"].trigger()  # Resume
    assert window.actions["run.pause"].text() == "&Pause"
    assert window.plots.marker_steps() == [held]  # the next step is the first at 0.01
    run = window.session.shown_run
    wait_idle(qtbot, window)
    assert any("learning rate" in record.note for record in run.history), [r.note for r in run.history]
    assert window.session.memory.result.history[-1].learning_rate == pytest.approx(0.01)


@pytest.mark.usefixtures("tensorflow_loaded")
def test_closing_during_training_stops_and_waits(make_window, qtbot) -> None:
    steps: list[int] = []
    window = make_window(runner=CountingRunner(steps))
    window.session.set_config(SLOW_RUN)
    wait_ready(qtbot, window)
    window.session.train()
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=RUN_TIMEOUT_MS)
    assert window.close()
    assert not window.session.running
    assert training_threads() == []
    assert len(steps) < 3 * 240


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_worker_error_is_shown_and_the_app_stays_usable(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    missing = tmp_path / "no-such-data.npz"
    window.session.set_config(DIGITS_MLP.replace(data=DataSpec(name="file", path=str(missing))))
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    assert window.message_bar.level == "error"
    assert "no-such-data.npz" in window.message_bar.text()
    assert window.actions["run.train"].isEnabled()

    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    assert window.message_bar.level != "error"
    assert window.session.memory.result is not None and window.session.memory.result.evaluation is not None


# ---------------------------------------------------------------------- saving, loading, resuming


@pytest.fixture(autouse=True)
def _no_real_autosave_or_dialogs(monkeypatch, tmp_path: Path) -> None:
    """Windows made without these arguments autosave into the test's folder and never open a
    modal Save / Discard / Cancel box (pytest-qt closes every window at teardown)."""
    import gui.dialogs
    import gui.files

    monkeypatch.setattr(gui.files, "default_autosave_dir", lambda: tmp_path / "autosave" / "current")
    monkeypatch.setattr(gui.dialogs, "ask_save_with_message_box", lambda *_: "discard")


def window_state(window: MainWindow) -> tuple[Any, ...]:
    """What must not change when a file is refused."""
    return (
        window.current_config().to_dict(),
        window.windowTitle(),
        window.isWindowModified(),
        window.plots.epoch_numbers(),
        window._predictor,
        window.session.memory,
        window.results.summary.text(),
    )


def edit_epochs(window: MainWindow, value: int) -> None:
    """An edit as the user makes it: through the settings panel's spin box."""
    window.settings_panel.findChild(QSpinBox, "epochs").setValue(value)


def test_project_round_trip_title_and_modified_mark(make_window, tmp_path: Path) -> None:
    window = make_window()
    config = DIGITS_MLP.replace(epochs=3, name="round trip")
    window.session.set_config(config)
    target = tmp_path / "project.json"
    assert window.session.save_config_to(target)
    assert window.windowTitle() == "project.json[*] — Gradient Lab" and not window.isWindowModified()
    edit_epochs(window, 7)
    assert window.isWindowModified()
    edit_epochs(window, 3)  # back to what was saved: no longer modified
    assert not window.isWindowModified()
    edit_epochs(window, 9)
    window.session.set_config(RunConfig())
    assert window.session.open_config(target)
    assert window.current_config().to_dict() == config.to_dict()
    assert not window.isWindowModified()
    assert window.session.recent_files()[0] == str(target.resolve())


def test_unsaved_changes_ask_before_new_and_quit(make_window) -> None:
    answers = ["cancel", "cancel", "discard"]
    asked: list[str] = []

    def ask_save(parent: Any, title: str, text: str) -> str:
        asked.append(text)
        return answers.pop(0)

    window = make_window(ask_save=ask_save)
    window.session.set_config(DIGITS_MLP)
    edit_epochs(window, 4)
    window.actions["file.new"].trigger()  # Cancel: nothing changes
    assert window.current_config().epochs == 4
    assert not window.close()  # Cancel: the window stays
    assert window.isVisible()
    assert window.close()  # Discard
    assert len(asked) == 3 and "unsaved changes" in asked[0]


def test_a_future_schema_version_is_refused(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    raw = json.loads(DIGITS_MLP.to_json())
    raw["schema_version"] = 99
    future = tmp_path / "future.json"
    future.write_text(json.dumps(raw))
    before = window_state(window)
    assert not settle(qtbot, window.session.open_path(future))
    assert window.warnings[-1][0] == "Cannot open configuration"
    assert "99" in window.warnings[-1][1]
    assert window_state(window) == before


def test_recent_files_update_and_drop_missing_ones(make_window, tmp_path: Path) -> None:
    window = make_window()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    window.session.set_config(DIGITS_MLP)
    assert window.session.save_config_to(first) and window.session.save_config_to(second)
    assert window.session.open_config(first)
    assert window.session.recent_files() == [str(first.resolve()), str(second.resolve())]
    folder = str(tmp_path.resolve())  # Open Recent names each file's folder too
    assert [a.text() for a in window.recent_menu.actions()] == [f"a.json  —  {folder}", f"b.json  —  {folder}"]
    second.unlink()
    window.recent_menu.actions()[1].trigger()
    assert window.warnings[-1][0] == "File not found"
    assert window.session.recent_files() == [str(first.resolve())]
    assert [a.text() for a in window.recent_menu.actions()] == [f"a.json  —  {folder}"]


def test_a_failed_save_leaves_the_old_file_byte_identical(make_window, tmp_path: Path, monkeypatch) -> None:
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    target = tmp_path / "project.json"
    assert window.session.save_config_to(target)
    old = target.read_bytes()
    edit_epochs(window, 11)
    real_write = Path.write_bytes

    def half_then_fail(self: Path, data: bytes) -> int:
        real_write(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    assert not window.session.save_config_to(target)
    monkeypatch.undo()
    assert target.read_bytes() == old
    title, text = window.warnings[-1]
    assert title == "Cannot save configuration" and "No space left on device" in text
    assert window.isWindowModified()  # still unsaved
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".json" or ".tmp" in p.name) == [
        "project.json"
    ]


def tiny_keras_model(input_shape: tuple[int, ...], outputs: int = 10, *, extra: Any = None) -> Any:
    import keras

    layers = [keras.Input(input_shape), keras.layers.Flatten()]
    if extra is not None:
        layers.append(extra)
    layers.append(keras.layers.Dense(outputs, activation="softmax"))
    return keras.Sequential(layers)


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_hostile_keras_file_with_a_lambda_layer_is_refused(make_window, qtbot, tmp_path: Path) -> None:
    import keras

    path = tmp_path / "hostile.keras"
    tiny_keras_model((28, 28, 1), extra=keras.layers.Lambda(lambda t: t * 2)).save(path)
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    before = window_state(window)
    assert not settle(qtbot, window.session.open_path(path))
    title, text = window.warnings[-1]
    assert title == "Cannot open model" and "Lambda layer" in text and "never run code" in text
    assert window_state(window) == before


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_truncated_keras_file_is_refused(make_window, qtbot, tmp_path: Path) -> None:
    good = tmp_path / "good.keras"
    tiny_keras_model((28, 28, 1)).save(good)
    bad = tmp_path / "truncated.keras"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    window = make_window()
    before = window_state(window)
    assert not settle(qtbot, window.session.open_path(bad))
    assert "corrupt or truncated" in window.warnings[-1][1]
    assert window_state(window) == before


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_plain_keras_model_opens_or_says_what_does_not_fit(make_window, qtbot, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.keras"
    tiny_keras_model((32, 32, 3)).save(wrong)
    window = make_window()
    window.session.set_config(DIGITS_MLP)
    before = window_state(window)
    assert not settle(qtbot, window.session.open_path(wrong))
    assert "expects input (32, 32, 3)" in window.warnings[-1][1]
    assert window_state(window) == before

    fits = tmp_path / "fits.keras"
    model = tiny_keras_model((28, 28, 1))
    model.save(fits)
    assert settle(qtbot, window.session.open_path(fits))
    assert window.designer.layers() == (
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=10, activation="softmax", initializer="glorot_uniform"),
    )
    assert window.windowTitle().startswith("fits.keras")
    predictor, description = window._predictor
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(predictor.submit(x).result(), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert description.startswith("fits.keras")


@pytest.mark.usefixtures("tensorflow_loaded")
def test_model_save_then_load_gives_identical_predictions(make_window, qtbot, tmp_path: Path) -> None:
    autosave = tmp_path / "autosave"
    window = make_window(autosave_dir=autosave)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    assert not autosave.exists()  # removed once the results were in memory
    x = np.random.default_rng(1).random((4, 28, 28, 1), dtype=np.float32)
    trained = window._predictor[0].submit(x).result()
    run = tmp_path / "run"
    assert settle(qtbot, window.session.save_model_to(run))
    assert sorted(p.name for p in run.iterdir()) == [
        "batches.npz", "config.json", "epoch_confusion.npz", "history.csv", "metrics.json", "model.keras", "training_state.npz"
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no staging left

    other = make_window(autosave_dir=autosave)
    assert settle(qtbot, other.session.open_run_folder(run))
    np.testing.assert_allclose(other._predictor[0].submit(x).result(), trained, rtol=1e-5, atol=1e-6)
    assert other.current_config().to_dict() == DIGITS_MLP.to_dict()
    assert other.designer.layers() == DIGITS_MLP.layers
    assert other.plots.epoch_numbers() == [1]
    assert other.results.table.rowCount() == 10
    assert other.windowTitle().startswith("run[*]")
    wait_ready(qtbot, other)
    assert other.actions["run.resume_training"].isEnabled() and other.actions["file.save_model"].isEnabled()
    assert other.session.recent_files()[0] == str(run.resolve())
    # The test images are reloaded in the background; then the confusion view has them.
    # (Until then the confusion timeline shows the last epoch's validation matrix, which has no images.)
    qtbot.waitUntil(lambda: (e := other.confusion.evaluation()) is not None and len(e.y_true) > 0, timeout=30_000)
    saved_matrix = json.loads((run / "metrics.json").read_text())["confusion_matrix"]
    assert other.confusion.evaluation().confusion.tolist() == saved_matrix
    assert len(other.confusion.evaluation().y_true) == sum(map(sum, saved_matrix)) == 30


@pytest.mark.usefixtures("tensorflow_loaded")
def test_resume_continues_the_history_with_consistent_epoch_numbers(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window(autosave_dir=tmp_path / "autosave")
    config = DIGITS_MLP.replace(epochs=2)
    window.session.set_config(config)
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    run = tmp_path / "run"
    assert settle(qtbot, window.session.save_model_to(run))

    asked: list[str] = []
    resumed = make_window(autosave_dir=tmp_path / "autosave", ask=lambda _p, _t, text: asked.append(text) or True)
    assert settle(qtbot, resumed.session.open_run_folder(run))
    assert resumed.plots.epoch_numbers() == [1, 2]
    wait_ready(qtbot, resumed)
    assert resumed.actions["run.resume_training"].isEnabled()
    assert settle(qtbot, resumed.session.resume_training())  # the weights come from the Keras worker
    assert resumed.session.running
    wait_idle(qtbot, resumed)
    assert resumed.message_bar.level != "error", resumed.message_bar.text()
    assert [r.epoch for r in resumed.session.memory.result.history] == [0, 1, 2, 3]
    resumed.plots.refresh()
    assert resumed.plots.epoch_numbers() == [1, 2, 3, 4]
    assert settle(qtbot, resumed.session.save_model_to(run))  # replaces the saved run, after asking
    assert asked and "already holds a run" in asked[-1]
    rows = (run / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["1", "2", "3", "4"]


@pytest.mark.usefixtures("tensorflow_loaded")
def test_the_window_and_the_command_line_write_the_same_metrics(make_window, qtbot, tmp_path: Path) -> None:
    from model.cli import main as cli_main

    config_path = tmp_path / "digits.json"
    config_path.write_text(DIGITS_MLP.to_json())
    assert cli_main(["train", "--config", str(config_path), "--out", str(tmp_path / "cli")]) == 0
    window = make_window(autosave_dir=tmp_path / "autosave")
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    assert settle(qtbot, window.session.save_model_to(tmp_path / "window"))

    cli, gui = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("cli", "window"))
    assert set(cli) == set(gui)
    assert set(cli["finished"]) == set(gui["finished"]) and cli["finished"]["reason"] == gui["finished"]["reason"]
    assert cli["steps_per_epoch"] == gui["steps_per_epoch"] == 8  # 240 training digits / 32
    assert cli["dataset"] == gui["dataset"] and cli["dataset"]["name"] == "digits"


def write_autosave(folder: Path, status: str) -> None:
    folder.mkdir(parents=True)
    tiny_keras_model((28, 28, 1)).save(folder / "model.keras")
    (folder / "config.json").write_text(DIGITS_MLP.to_json())
    info = {"status": status, "epochs_done": 3, "epochs": 10, "best_epoch": 3, "date": "2025-01-01 12:00:00"}
    (folder / "autosave.json").write_text(json.dumps(info))


@pytest.mark.usefixtures("tensorflow_loaded")
def test_an_interrupted_autosave_is_offered_and_opened(make_window, qtbot, tmp_path: Path) -> None:
    autosave = tmp_path / "autosave" / "current"
    write_autosave(autosave, "running")
    questions: list[str] = []
    window = make_window(autosave_dir=autosave, ask=lambda _p, _t, text: questions.append(text) or True)
    wait_ready(qtbot, window)
    assert questions == ["A run was interrupted after epoch 3 of 10 (best epoch 3). Open it?"]
    assert not autosave.exists()  # moved aside, so the next run cannot overwrite it
    recovered = [p for p in autosave.parent.iterdir() if p.name.startswith("recovered-")]
    assert len(recovered) == 1
    assert window.windowTitle().startswith(recovered[0].name)
    assert window.current_config().to_dict() == DIGITS_MLP.to_dict()
    assert isinstance(window._predictor[0], DirectPredictor)


@pytest.mark.usefixtures("tensorflow_loaded")
@pytest.mark.parametrize("status", ["running", "finished"])
def test_a_declined_or_finished_autosave_is_deleted(make_window, qtbot, tmp_path: Path, status: str) -> None:
    autosave = tmp_path / "autosave" / "current"
    write_autosave(autosave, status)
    questions: list[str] = []
    window = make_window(autosave_dir=autosave, ask=lambda _p, _t, text: questions.append(text) or False)
    wait_ready(qtbot, window)
    assert len(questions) == (1 if status == "running" else 0)
    assert not autosave.exists()
    assert window.current_config().to_dict() != {} and window.session.memory is None


@pytest.mark.usefixtures("tensorflow_loaded")
def test_exports_write_csv_plots_and_a_script(make_window, qtbot, tmp_path: Path) -> None:
    window = make_window(autosave_dir=tmp_path / "autosave")
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    assert not window.session.export_history_to(tmp_path / "empty.csv")  # nothing yet
    window.session.train()
    wait_idle(qtbot, window)
    assert window.session.export_history_to(tmp_path / "history.csv")
    assert (tmp_path / "history.csv").read_text().startswith("epoch,loss,accuracy")
    written = window.files.export_plots_to(tmp_path / "plots", "png") + window.files.export_plots_to(tmp_path / "plots", "svg")
    assert sorted(p.name for p in written) == sorted(
        f"plots-{name}.{fmt}" for name in ("loss", "accuracy", "gradients", "heatmap") for fmt in ("png", "svg")
    )
    assert all(p.stat().st_size > 1000 for p in written)
    assert (tmp_path / "plots-loss.png").read_bytes()[:4] == b"\x89PNG"
    assert window.session.export_script_to(tmp_path / "train.py")
    compile((tmp_path / "train.py").read_text(), "train.py", "exec")


class FollowedLive:
    """A live model that notes when the window follows it (the Draw tab shown) and when not."""

    input_shape = (28, 28, 1)
    description = "live model of run 1 (starting)"

    def __init__(self) -> None:
        self.follows: list[bool] = []

    def submit(self, x: np.ndarray) -> Any:
        raise AssertionError("not asked in this test")

    def watch(self, callback: Any) -> None:
        pass

    def follow(self, on: bool) -> None:
        self.follows.append(on)


def test_a_live_model_is_followed_only_while_the_draw_tab_shows(make_window) -> None:
    window = make_window()
    first, second = FollowedLive(), FollowedLive()
    window.show_predictor(first, first.description)  # the Training tab shows: not followed
    assert first.follows == [False]
    window.actions["view.draw"].trigger()
    window.actions["view.training"].trigger()
    window.actions["view.draw"].trigger()
    assert first.follows == [False, True, False, True]
    window.show_predictor(second, second.description)  # a new run, the Draw tab still showing
    assert first.follows[-1] is False and second.follows == [True]
    window.show_predictor(None, "")
    assert second.follows == [True, False]


class CountingLive(FollowedLive):
    """A live model that counts the drawings it is asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def submit(self, x: np.ndarray) -> Any:
        from concurrent.futures import Future

        self.asked += 1
        future: Future[np.ndarray] = Future()
        future.set_result(np.full((len(x), 10), 0.1, dtype=np.float32))
        return future


def test_the_draw_tab_reads_its_drawing_again_when_the_live_model_moves_on(make_window, qtbot, monkeypatch) -> None:
    from gui import predict_panel

    monkeypatch.setattr(predict_panel, "REREAD_QUIET_S", 0.0)
    window = make_window()
    live = CountingLive()
    window.show_predictor(live, live.description)
    window.actions["view.draw"].trigger()
    panel = window.predict_panel
    canvas = panel.canvas
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas.rect().center())
    QTest.mouseMove(canvas, canvas.rect().center() + QPoint(0, 40))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas.rect().center() + QPoint(0, 40))
    qtbot.waitUntil(lambda: panel.shown_prediction() is not None, timeout=2000)
    asked = live.asked
    window.show_predictor_description("live model of run 1, as of batch 50 (epoch 1)")
    qtbot.waitUntil(lambda: live.asked > asked, timeout=2000)
    assert panel.description() == "live model of run 1, as of batch 50 (epoch 1)"
    window.actions["view.training"].trigger()  # not shown: only the label follows
    qtbot.wait(50)
    asked = live.asked
    window.show_predictor_description("live model of run 1, as of batch 60 (epoch 1)")
    qtbot.wait(50)
    assert live.asked == asked and panel.description() == "live model of run 1, as of batch 60 (epoch 1)"
