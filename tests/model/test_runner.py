"""ThreadRunner: a run in a thread of this process, reported to a sink in order."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from model.config import DataSpec, LayerSpec, RunConfig
from model.events import BatchRecord, DataReady, EndReason, EpochRecord, RunFinished, RunStarted
from model.runner import RunHandle, RunRequest, ThreadRunner
from model.tasks import Failure

DIGITS_MLP = RunConfig(
    name="tiny digits MLP",
    layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=16), LayerSpec("Dense", units=10, activation="softmax")),
    epochs=1,
    batch_size=32,
    data=DataSpec(name="digits", limit=300),
)


class RecordingSink:
    """Keeps every call with the thread it came from; optionally stops after n batches."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.events: list[tuple[str, Any, str]] = []
        self.exited = threading.Event()
        self.stop_after = stop_after
        self.handle: RunHandle | None = None

    def _add(self, kind: str, value: Any) -> None:
        self.events.append((kind, value, threading.current_thread().name))

    def on_data(self, info: DataReady) -> None:
        self._add("data", info)

    def on_run_start(self, info: RunStarted) -> None:
        self._add("started", info)

    def on_batch(self, record: BatchRecord) -> None:
        self._add("batch", record)
        if self.stop_after is not None and self.kinds().count("batch") == self.stop_after:
            assert self.handle is not None
            self.handle.control.stop()

    def on_epoch(self, record: EpochRecord) -> None:
        self._add("epoch", record)

    def on_run_end(self, info: RunFinished) -> None:
        self._add("end", info)

    def on_result(self, result: Any) -> None:
        self._add("result", result)

    def on_failed(self, run_id: int, failure: Failure) -> None:
        self._add("failed", (run_id, failure))

    def on_exit(self, run_id: int) -> None:
        self._add("exit", run_id)
        self.exited.set()

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    def first(self, kind: str) -> Any:
        return next(value for k, value, _ in self.events if k == kind)


def run(config: RunConfig, run_id: int = 7, *, stop_after: int | None = None, stop_first: bool = False) -> RecordingSink:
    sink = RecordingSink(stop_after)
    handle = ThreadRunner().start(RunRequest(run_id, config), sink)
    sink.handle = handle
    if stop_first:
        handle.control.stop()
    assert handle.join(180), "the run did not end"
    assert not handle.alive()
    return sink


def test_a_real_run_reports_in_order_from_its_own_thread() -> None:
    got = run(DIGITS_MLP, 11)
    kinds = got.kinds()
    assert kinds[:2] == ["data", "started"] and kinds[-3:] == ["end", "result", "exit"], kinds
    assert kinds.count("batch") == 8 and kinds.count("epoch") == 1  # 240 samples / 32
    assert got.first("data").run_id == 11 and got.first("data").description.startswith("train 240")
    result = got.first("result")
    assert result.run_id == 11 and result.evaluation is not None and result.steps_per_epoch == 8
    assert {thread for _, _, thread in got.events} == {"training-run-11"}


def test_a_project_error_is_reported_in_its_own_words(tmp_path) -> None:
    missing = tmp_path / "nowhere.npz"
    got = run(DIGITS_MLP.replace(data=DataSpec(name="file", path=str(missing))), 3)
    assert got.kinds() == ["failed", "exit"]
    run_id, failure = got.first("failed")
    assert run_id == 3 and "nowhere.npz" in failure.message and failure.details == ""


def test_an_unexpected_exception_is_reported_with_its_traceback(monkeypatch) -> None:
    import model.training

    def broken_train(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(model.training, "train", broken_train)
    got = run(DIGITS_MLP, 4)
    _, failure = got.first("failed")
    assert failure.message == "Training failed: RuntimeError: boom"
    assert "Traceback" in failure.details and "broken_train" in failure.details


def test_a_stop_before_training_skips_it() -> None:
    got = run(DIGITS_MLP, 5, stop_first=True)
    assert got.kinds() == ["data", "end", "exit"]
    assert got.first("end").reason == EndReason.STOPPED


def test_stop_takes_effect_within_one_batch() -> None:
    """Stop between two batches: exactly one more batch may finish (the one then running)."""
    got = run(DIGITS_MLP.replace(batch_size=1, epochs=3), 12, stop_after=5)  # 720 batches otherwise
    assert got.kinds().count("batch") <= 5 + 1
    assert got.first("end").reason == EndReason.STOPPED


@pytest.mark.parametrize("input_shape", [(28, 28, 1)])
def test_the_live_model_answers_while_the_run_trains(input_shape: tuple[int, ...]) -> None:
    import numpy as np

    answers: list[Any] = []

    class AskingSink(RecordingSink):
        def on_batch(self, record: BatchRecord) -> None:
            super().on_batch(record)
            if record.step == 2:
                assert self.handle is not None
                predictor = self.handle.live_predictor(input_shape)
                assert predictor is not None
                future = predictor.submit(np.zeros((1, *input_shape), np.float32))
                future.add_done_callback(lambda f: answers.append(f.result().shape))

    sink = AskingSink()
    handle = ThreadRunner().start(RunRequest(13, DIGITS_MLP), sink)
    sink.handle = handle
    assert handle.join(180)
    assert answers == [(1, 10)]
