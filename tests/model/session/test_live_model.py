"""A live model says which batch it answers with (the Draw tab follows); a managed runner's lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from model.inference import LivePredictor
from model.runner import ManagedRunner
from model.tasks import SerialExecutor
from tests.model.session.fakes import FakeRunner, Harness, make_harness
from tests.model.session.test_lifecycle import start


class FakeLive:
    input_shape = (2,)

    def __init__(self) -> None:
        self.description = "live model of run 1 (starting)"
        self.watchers: list[Callable[[], None]] = []

    def submit(self, x: np.ndarray) -> object:
        raise AssertionError("not used")

    def watch(self, callback: Callable[[], None]) -> None:
        self.watchers.append(callback)

    def follow(self, on: bool) -> None:
        raise AssertionError("the session leaves following to whoever shows the model")

    def changed(self, description: str) -> None:
        self.description = description
        for callback in self.watchers:
            callback()


def test_the_description_follows_the_live_model_while_its_run_is_shown(h: Harness) -> None:
    start(h)
    run = h.runner.last
    live = run.live = FakeLive()
    assert isinstance(live, LivePredictor)
    run.data()
    run.started()
    h.pump()
    h.view.show_predictor.assert_called_with(live, "live model of run 1 (starting)")
    live.changed("live model of run 1, as of batch 40 (epoch 1)")
    h.pump()
    h.view.show_predictor_description.assert_called_once_with("live model of run 1, as of batch 40 (epoch 1)")
    run.end()
    h.pump()
    live.changed("live model of run 1, as of batch 41 (epoch 1)")  # a late snapshot: not shown
    h.pump()
    assert h.view.show_predictor_description.call_count == 1


class FakeManagedRunner(FakeRunner):
    """A runner with processes of its own, as the session sees one."""

    def __init__(self) -> None:
        super().__init__()
        self.keras = SerialExecutor("runner-keras")
        self.calls: list[str] = []

    def prewarm(self) -> None:
        self.calls.append("prewarm")

    def close(self, timeout: float = 10.0) -> bool:
        self.calls.append("close")
        return True


def test_a_managed_runner_is_warmed_once_tensorflow_loads_and_closed_with_the_session(tmp_path: Path) -> None:
    runner = FakeManagedRunner()
    assert isinstance(runner, ManagedRunner)
    h = make_harness(tmp_path, runner=runner)
    assert h.session.keras is runner.keras  # the session's Keras work runs on the runner's executor
    assert runner.calls == []
    h.ready()
    assert runner.calls == ["prewarm"]
    assert h.session.close()
    assert runner.calls == ["prewarm", "close"]
