"""The training worker and its thread wiring: fakes first, then a tiny real run."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QObject

from gui.worker import DataReady, FunctionWorker, RunFailed, TrainingWorker, WorkerThreads, load_split
from model.config import RunConfig
from model.errors import DataError
from model.events import BatchRecord, EpochRecord, RunControl, RunFinished, RunStarted
from tests.gui.runs import DIGITS_MLP

TINY_INFO = DataReady(-1, "train 8 · validation 0 · test 0", "synthetic", None, ("a", "b"), (2,))


def fake_prepare(config: RunConfig) -> tuple[Any, DataReady]:
    return object(), TINY_INFO


def fake_train(
    config: RunConfig, split: Any, *, listener: Any, control: RunControl, run_id: int, **_: Any
) -> Any:
    """What the core's train does, minus Keras: report, honour stop, return a result."""
    names = ("L1_Dense",)
    listener.on_run_start(RunStarted(run_id, 1, 0, 3, 4, 8, 0, 0, names, 0.1))
    for step in range(3):
        control.wait_if_paused()
        if control.stop_requested:
            break
        grads = np.array([0.5])
        listener.on_batch(
            BatchRecord(run_id, 0, step, step, 1.0, 0.5, 0.1, grads, grads, 10.0, step / 3, 1.0)
        )
    listener.on_epoch(
        EpochRecord(run_id, 0, 1.0, 0.5, None, None, 0.1, np.array([0.5]), np.array([1.0]), 0.1, 10.0)
    )
    finished = RunFinished(run_id, "completed", "done", 1)
    listener.on_run_end(finished)
    return {"run_id": run_id, "thread": threading.current_thread().name}


class Collector(QObject):
    """Receives a worker's signals in the GUI thread, as the window does."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, Any]] = []

    def connect_to(self, worker: TrainingWorker) -> None:
        worker.dataReady.connect(self.on_data)
        worker.listener.runStarted.connect(self.on_started)
        worker.listener.batchReported.connect(self.on_batch)
        worker.listener.epochReported.connect(self.on_epoch)
        worker.listener.runEnded.connect(self.on_end)
        worker.resultReady.connect(self.on_result)
        worker.failed.connect(self.on_failed)
        worker.ended.connect(self.on_ended)

    def _add(self, kind: str, value: Any) -> None:
        self.events.append((kind, value))

    def on_data(self, info: DataReady) -> None:
        self._add("data", info)

    def on_started(self, info: RunStarted) -> None:
        self._add("started", info)

    def on_batch(self, rec: BatchRecord) -> None:
        self._add("batch", rec)

    def on_epoch(self, rec: EpochRecord) -> None:
        self._add("epoch", rec)

    def on_end(self, info: RunFinished) -> None:
        self._add("end", info)

    def on_result(self, result: Any) -> None:
        self._add("result", result)

    def on_failed(self, failure: RunFailed) -> None:
        self._add("failed", failure)

    def on_ended(self, run_id: int) -> None:
        self._add("ended", run_id)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def first(self, kind: str) -> Any:
        return next(value for k, value in self.events if k == kind)


def run_worker(qtbot, worker: TrainingWorker, timeout_ms: int = 60_000) -> Collector:
    collector = Collector()
    collector.connect_to(worker)
    threads = WorkerThreads()
    # Not qtbot.waitSignal: its slot would run in the worker thread and stop a GUI timer.
    threads.start(worker, "test-run")
    qtbot.waitUntil(lambda: "ended" in collector.kinds(), timeout=timeout_ms)
    assert threads.wait(10.0)
    assert threads.running() == 0
    return collector


def test_records_arrive_in_order_with_the_run_id(qtbot) -> None:
    worker = TrainingWorker(RunConfig(), 7, RunControl(), prepare=fake_prepare, train=fake_train)
    got = run_worker(qtbot, worker)
    assert got.kinds() == ["data", "started", "batch", "batch", "batch", "epoch", "end", "result", "ended"]
    assert got.first("data").run_id == 7
    assert all(
        getattr(value, "run_id", 7) == 7 for kind, value in got.events if kind not in ("result", "ended")
    )
    assert got.first("ended") == 7
    # The work ran in the worker thread, not the GUI thread.
    assert got.first("result")["thread"] != threading.current_thread().name


def test_a_project_error_is_reported_in_its_own_words(qtbot) -> None:
    def bad_prepare(config: RunConfig) -> Any:
        raise DataError("cannot read /nowhere/mnist.npz: no such file; pick another file")

    worker = TrainingWorker(RunConfig(), 3, RunControl(), prepare=bad_prepare, train=fake_train)
    got = run_worker(qtbot, worker)
    assert got.kinds() == ["failed", "ended"]
    failure = got.first("failed")
    assert failure.run_id == 3
    assert failure.message == "cannot read /nowhere/mnist.npz: no such file; pick another file"
    assert failure.details == ""


def test_an_unexpected_exception_is_reported_with_its_traceback(qtbot, caplog) -> None:
    def broken_train(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    worker = TrainingWorker(RunConfig(), 4, RunControl(), prepare=fake_prepare, train=broken_train)
    got = run_worker(qtbot, worker)
    failure = got.first("failed")
    assert failure.message == "Training failed: RuntimeError: boom"
    assert "Traceback" in failure.details and "broken_train" in failure.details


def test_a_stop_before_training_skips_it(qtbot) -> None:
    control = RunControl()
    control.stop()
    worker = TrainingWorker(RunConfig(), 5, control, prepare=fake_prepare, train=fake_train)
    got = run_worker(qtbot, worker)
    assert got.kinds() == ["data", "end", "ended"]
    assert got.first("end").reason == "stopped"


class TaskCollector(QObject):
    def __init__(self, task: FunctionWorker) -> None:
        super().__init__()
        self.answers: list[tuple[str, object, object]] = []
        task.done.connect(self.on_done)
        task.failed.connect(self.on_failed)

    def on_done(self, tag: object, result: object) -> None:
        self.answers.append(("done", tag, result))

    def on_failed(self, tag: object, message: str) -> None:
        self.answers.append(("failed", tag, message))


def test_function_worker_returns_its_result_with_the_tag(qtbot) -> None:
    threads = WorkerThreads()
    task = FunctionWorker(lambda: 6 * 7, tag="counts-1")
    got = TaskCollector(task)
    threads.start(task, "task")
    qtbot.waitUntil(lambda: bool(got.answers), timeout=5000)
    assert got.answers == [("done", "counts-1", 42)]
    assert threads.wait(5.0)


def test_function_worker_reports_a_failure(qtbot) -> None:
    def fail() -> None:
        raise DataError("no data here")

    threads = WorkerThreads()
    task = FunctionWorker(fail, tag=1)
    got = TaskCollector(task)
    threads.start(task, "task")
    qtbot.waitUntil(lambda: bool(got.answers), timeout=5000)
    assert got.answers == [("failed", 1, "no data here")]
    assert threads.wait(5.0)


# ---------------------------------------------------------------------- real training



def test_load_split_describes_the_data() -> None:
    split, info = load_split(DIGITS_MLP)
    assert len(split.y_train) == 240
    assert info.description == split.describe()
    assert info.input_shape == (28, 28, 1)
    assert info.class_names == tuple(str(i) for i in range(10))


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_real_run_in_the_worker_thread(qtbot) -> None:
    worker = TrainingWorker(DIGITS_MLP, 11, RunControl())
    got = run_worker(qtbot, worker, timeout_ms=120_000)
    kinds = got.kinds()
    assert kinds[:2] == ["data", "started"] and kinds[-3:] == ["end", "result", "ended"], kinds
    assert kinds.count("batch") == 8  # 240 samples / 32 per batch
    assert kinds.count("epoch") == 1
    result = got.first("result")
    assert result.run_id == 11 and result.evaluation is not None
    assert got.first("started").layer_names == result.layer_names


class StopAfter:
    """A listener that asks for a stop, in the training thread, after ``n`` batch records."""

    def __init__(self, inner: Any, control: RunControl, n: int) -> None:
        self._inner, self._control, self._n = inner, control, n
        self.steps: list[int] = []

    def on_run_start(self, info: RunStarted) -> None:
        self._inner.on_run_start(info)

    def on_batch(self, record: BatchRecord) -> None:
        self.steps.append(record.step)
        self._inner.on_batch(record)
        if len(self.steps) == self._n:
            self._control.stop()

    def on_epoch(self, record: EpochRecord) -> None:
        self._inner.on_epoch(record)

    def on_run_end(self, info: RunFinished) -> None:
        self._inner.on_run_end(info)


@pytest.mark.usefixtures("tensorflow_loaded")
def test_stop_takes_effect_within_one_batch(qtbot) -> None:
    """Stop between two batches: exactly one more batch may finish (the one then running)."""
    from model.training import train as core_train

    config = DIGITS_MLP.replace(batch_size=1, epochs=3)  # 720 batches: far more than it needs
    stopper: list[StopAfter] = []

    def train(config: RunConfig, split: Any, *, listener: Any, control: RunControl, **kwargs: Any) -> Any:
        stopper.append(StopAfter(listener, control, 5))
        return core_train(config, split, listener=stopper[0], control=control, **kwargs)

    worker = TrainingWorker(config, 12, RunControl(), train=train)
    got = run_worker(qtbot, worker, timeout_ms=120_000)
    assert len(stopper[0].steps) <= 5 + 1
    assert got.first("end").reason == "stopped"
    assert got.kinds().count("batch") == len(stopper[0].steps)  # every record reached the GUI
