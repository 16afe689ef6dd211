"""The window with its default runner: every run in a worker process of its own.

One test, because each worker imports TensorFlow: the worker is warmed once TensorFlow has
loaded in the window, killed mid-run (the window says why and keeps working), the next run
trains in a fresh worker while the Draw tab follows its live model batch by batch, and
closing the window leaves no process behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from gui.main_window import MainWindow
from model.worker_process import ProcessRunner, SnapshotPredictor
from tests.gui.runs import DIGITS_MLP
from tests.gui.test_main_window import InstantLoader
from tests.model.worker_process.helpers import our_children, wait_ended

SLOW = DIGITS_MLP.replace(batch_size=1, epochs=3)
QUICK = DIGITS_MLP.replace(batch_size=2, epochs=2)
TIMEOUT_MS = 240_000


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_killed_worker_is_reported_the_window_trains_again_and_closes_clean(qtbot, settings: QSettings, tmp_path: Path) -> None:
    warnings: list[str] = []
    questions: list[str] = []
    window = MainWindow(
        settings, loader=InstantLoader(), autosave_dir=tmp_path / "autosave",
        warn=lambda _parent, _title, text: warnings.append(text), ask_save=lambda *_: "discard",
        ask=lambda _parent, title, _text: questions.append(title) or True,
    )
    qtbot.addWidget(window)
    window.show()
    window.start_loading()
    runner = window.session.runner
    assert isinstance(runner, ProcessRunner)
    qtbot.waitUntil(lambda: len(runner.pids()) == 1, timeout=10_000)  # warmed once TensorFlow loaded
    spare = runner.pids()[0]

    window.session.set_config(SLOW)
    qtbot.waitUntil(window.actions["run.train"].isEnabled, timeout=TIMEOUT_MS)
    window.actions["run.train"].trigger()
    qtbot.waitUntil(lambda: window.session.shown_run is not None and window.session.shown_run.batches_seen >= 2, timeout=TIMEOUT_MS)
    worker = window.session.shown_run.handle.pid  # type: ignore[union-attr]
    assert worker == spare
    os.kill(worker, signal.SIGKILL)
    qtbot.waitUntil(lambda: not window.session.running, timeout=60_000)
    assert window.message_bar.level == "error"
    assert "The training process was killed while training (exit signal 9, SIGKILL)" in window.message_bar.text()
    assert window.actions["run.train"].isEnabled() and window.designer.isEnabled()
    assert window.current_config() == SLOW  # the settings are untouched

    window.session.set_config(QUICK)
    window.actions["view.draw"].trigger()
    window.actions["run.train"].trigger()
    panel = window.predict_panel
    assert panel is not None
    qtbot.waitUntil(lambda: isinstance(panel.predictor(), SnapshotPredictor), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "live model of run 2, as of batch " in panel.description(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.session.running, timeout=TIMEOUT_MS)
    assert window.session.memory is not None and window.session.memory.result is not None
    assert panel.description().startswith("model of run 2")
    assert window.message_bar.level != "error" and not warnings

    # Esc + Yes while the data loads: the run ends stopped, not as a dead process, and
    # quitting then asks nothing about a run in progress.
    qtbot.waitUntil(lambda: len(runner.pids()) == 1, timeout=10_000)  # the next spare
    window.actions["run.train"].trigger()
    window.actions["run.stop_asking"].trigger()
    assert questions[-1:] == ["Stop training?"], questions
    qtbot.waitUntil(lambda: not window.session.running, timeout=TIMEOUT_MS)
    assert window.message_bar.level != "error", window.message_bar.text()
    assert "stopped before training began" in window.progress_label.text(), window.progress_label.text()
    qtbot.waitUntil(lambda: len(runner.pids()) == 1, timeout=10_000)  # the next spare
    pids = runner.pids()
    asked = len(questions)
    window.close()
    assert "Quit while training?" not in questions[asked:]
    assert not wait_ended(pids, 5.0) and not set(pids) & our_children()
    assert runner.pids() == []
