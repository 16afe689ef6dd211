"""A scripted runner and a spec'd mock view for driving RunSession without Qt (ndv's way)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import numpy as np

from model.config import RunConfig
from model.events import (
    BatchRecord,
    DataReady,
    EndReason,
    EpochRecord,
    RunControl,
    RunFinished,
    RunStarted,
)
from model.results import RunResult
from model.runner import RunRequest, RunSink
from model.session import MemoryStore, RunSession, SessionView
from model.tasks import Failure, ManualDispatch

NAMES = ("L2_Dense",)


class FakePredictor:
    input_shape = (2,)

    def submit(self, x: np.ndarray) -> Any:
        raise AssertionError("not used")


class FakeRun:
    """A run that reports exactly what the test tells it to, from the test's thread."""

    def __init__(self, request: RunRequest, sink: RunSink) -> None:
        self.request = request
        self.sink = sink
        self._control = RunControl()
        self.exited = threading.Event()
        self.live = FakePredictor()
        self.stop_in_time = True  # join() succeeds at once (the run honoured the stop)

    # --- RunHandle
    @property
    def run_id(self) -> int:
        return self.request.run_id

    @property
    def control(self) -> RunControl:
        return self._control

    def live_predictor(self, input_shape: tuple[int, ...]) -> Any:
        return self.live

    def alive(self) -> bool:
        return not self.exited.is_set()

    def join(self, timeout: float) -> bool:
        return self.exited.is_set() or self.stop_in_time

    # --- the script
    def data(self, notice: str | None = None) -> FakeRun:
        ready = DataReady(self.run_id, "train 10 · validation 0 · test 4", "synthetic", notice, ("a", "b"), (2,),
                          np.zeros((4, 2), np.float32))
        self.sink.on_data(ready)
        return self

    def started(self, steps: int = 10, learning_rate: float = 0.1) -> FakeRun:
        self.sink.on_run_start(RunStarted(self.run_id, 1, 0, steps, 1, 10, 0, 4, NAMES, learning_rate))
        return self

    def batch(self, step: int, learning_rate: float = 0.1) -> BatchRecord:
        g = np.array([0.3])
        record = BatchRecord(self.run_id, 0, step, step, 1.0, 0.5, learning_rate, g, g, 5.0, step / 10, 1.0)
        self.sink.on_batch(record)
        return record

    def epoch(self, epoch: int = 0, note: str = "") -> EpochRecord:
        g = np.array([0.3])
        record = EpochRecord(self.run_id, epoch, 1.0, 0.5, 1.1, 0.4, 0.1, g, g, 1.0, 10.0, note)
        self.sink.on_epoch(record)
        return record

    def end(self, reason: EndReason = EndReason.COMPLETED, message: str = "done", *, evaluation: Any = None) -> RunResult:
        finished = RunFinished(self.run_id, reason, message, 1)
        self.sink.on_run_end(finished)
        result = make_result(self.request.config, self.run_id, finished, evaluation)
        self.sink.on_result(result)
        self.exit()
        return result

    def fail(self, message: str, details: str = "Traceback ...") -> None:
        self.sink.on_failed(self.run_id, Failure(message, details))
        self.exit()

    def exit(self) -> None:
        self.exited.set()
        self.sink.on_exit(self.run_id)


def make_result(config: RunConfig, run_id: int, finished: RunFinished, evaluation: Any = None) -> RunResult:
    g = np.array([0.3])
    history = [EpochRecord(run_id, 0, 1.0, 0.5, 1.1, 0.4, 0.1, g, g, 1.0, 10.0)]
    return RunResult(
        run_id=run_id,
        config=config,
        model=FakeModel(),
        history=history,
        finished=finished,
        evaluation=evaluation,
        layer_names=NAMES,
        optimizer_state={"000_iteration": np.array(3)},
        steps_per_epoch=10,
    )


@dataclass
class FakeModel:
    """Enough of a Keras model for the session (it only asks for the input shape and weights)."""

    input_shape: tuple[int | None, ...] = (None, 2)
    weights: list[np.ndarray] = field(default_factory=lambda: [np.ones((2, 2), np.float32)])

    def get_weights(self) -> list[np.ndarray]:
        return self.weights


class FakeRunner:
    def __init__(self) -> None:
        self.runs: list[FakeRun] = []

    def start(self, request: RunRequest, sink: RunSink) -> FakeRun:
        run = FakeRun(request, sink)
        self.runs.append(run)
        return run

    @property
    def last(self) -> FakeRun:
        return self.runs[-1]


@dataclass
class Harness:
    """A session with a mock view, a scripted runner and a dispatch the test drains."""

    session: RunSession
    view: MagicMock
    runner: FakeRunner
    dispatch: ManualDispatch
    store: MemoryStore
    autosave: Path

    def pump(self) -> None:
        self.dispatch.run_pending()

    def until(self, condition: Any, timeout: float = 60.0) -> None:
        assert self.dispatch.run_until(condition, timeout), "timed out waiting for the session"

    def wait(self, future: Any, timeout: float = 60.0) -> Any:
        self.until(future.done, timeout)
        return future.result()

    def ready(self) -> Harness:
        self.session.backend_ready()
        self.pump()
        return self

    def state(self) -> Any:
        return self.session.action_state()

    def last(self, method: str) -> Any:
        """The arguments of the view's last call of ``method``."""
        call = getattr(self.view, method).call_args
        assert call is not None, f"view.{method} was never called"
        return call.args

    def messages(self) -> list[tuple[str, str]]:
        return [(c.args[0], c.args[1]) for c in self.view.show_message.call_args_list]

    def warnings(self) -> list[tuple[str, str]]:
        return [(c.args[0], c.args[1]) for c in self.view.warn.call_args_list]


def make_harness(tmp_path: Path, *, runner: Any = None, store: MemoryStore | None = None) -> Harness:
    view = MagicMock(spec=SessionView)
    view.ask.return_value = True
    view.ask_save.return_value = "discard"
    view.ask_config_path.return_value = None
    dispatch = ManualDispatch()
    store = store if store is not None else MemoryStore()
    autosave = tmp_path / "autosave" / "current"
    runner = runner if runner is not None else FakeRunner()
    session = RunSession(view, runner=runner, dispatch=dispatch, store=store, autosave_dir=autosave)
    session.begin()
    return Harness(session, view, runner, dispatch, store, autosave)


def digits_model(input_shape: tuple[int, ...] = (28, 28, 1), outputs: int = 10) -> Any:
    import keras

    return keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(outputs, activation="softmax")]
    )


__all__ = ["FakeRun", "FakeRunner", "Harness", "SimpleNamespace", "digits_model", "make_harness", "make_result"]
