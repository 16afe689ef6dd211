"""The session with real worker processes: a run that dies ends in words, and the session trains on."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from model.worker_process import ProcessRunner, SnapshotPredictor
from tests.model.session.fakes import Harness, make_harness
from tests.model.test_runner import DIGITS_MLP
from tests.model.worker_process.helpers import our_children, wait_ended

SLOW = DIGITS_MLP.replace(batch_size=1, epochs=3)  # 720 batches: far more than the test waits for
QUICK = DIGITS_MLP.replace(batch_size=4, epochs=2)  # 120 batches: about a second


@pytest.fixture
def hp(tmp_path: Path) -> Iterator[Harness]:
    runner = ProcessRunner()
    runner.keras.submit(lambda: None).result()  # its thread exists before the test looks for leaks
    harness = make_harness(tmp_path, runner=runner)
    assert harness.session.keras is runner.keras  # one thread owns every Keras object
    yield harness
    pids = runner.pids()
    assert harness.session.close(timeout=30)  # and so the runner's close: every worker reaped
    assert runner.pids() == []
    assert not wait_ended(pids, 5.0) and not set(pids) & our_children()


def test_a_killed_worker_ends_the_run_with_a_message_and_the_session_trains_again(hp: Harness) -> None:
    session, view = hp.session, hp.view
    hp.ready()  # TensorFlow has loaded: the session warms a spare worker
    hp.until(lambda: len(session.runner.pids()) == 1, 10)
    session.edit(SLOW)
    session.train()
    hp.until(lambda: session.shown_run is not None and session.shown_run.batches_seen >= 2, 240)
    handle = session.shown_run.handle  # type: ignore[union-attr]
    os.kill(handle.pid, signal.SIGKILL)
    hp.until(lambda: not session.running, 60)
    text, level = hp.messages()[-1]
    assert level == "error" and "The training process was killed while training (exit signal 9, SIGKILL)" in text
    assert hp.last("show_progress") == ("Training failed.",)
    view.lock_panels.assert_called_with("editable")
    assert session.action_state().can_train and session.memory is None

    # The next run gets a fresh worker and finishes; the Draw tab followed its live model.
    session.edit(QUICK)
    session.train()
    hp.until(lambda: session.memory is not None, 240)
    hp.until(lambda: not session.running, 60)
    live = [c.args[0] for c in view.show_predictor.call_args_list if isinstance(c.args[0], SnapshotPredictor)]
    assert len(live) == 2 and live[-1].run_id == 2
    described = [c.args[0] for c in view.show_predictor_description.call_args_list]
    assert any(text.startswith("live model of run 2, as of batch ") for text in described), described
    memory = session.memory
    assert memory is not None and memory.description.startswith("model of run 2")
    answer = memory.predictor.submit(np.zeros((1, 28, 28, 1), np.float32)).result(60)
    assert answer.shape == (1, 10)
    assert view.show_predictor.call_args.args[0] is memory.predictor  # the live model is gone
