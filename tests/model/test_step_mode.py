"""Step mode: with a run paused, RunControl.step() lets exactly one batch through."""

from __future__ import annotations

import threading
import time

import pytest

from model.config import OptimizerSpec
from model.events import BatchRecord, RecordingListener, RunControl
from tests.model.helpers import small_config, synthetic_split


def test_step_is_ignored_unless_paused() -> None:
    control = RunControl()
    control.step()
    assert control.wait_if_paused() is False  # not paused: returns at once, no step pending
    control.pause()
    control.stop()
    control.step()  # stopping: ignored
    assert control.wait_if_paused() is False


def test_a_step_lets_one_call_through_and_steps_asked_meanwhile_merge() -> None:
    control = RunControl()
    control.pause()
    control.step()
    control.step()  # pending already: merged, not queued
    assert control.wait_if_paused() is True
    assert control.paused
    released = threading.Event()

    def wait() -> None:
        control.wait_if_paused()
        released.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    try:
        assert not released.wait(0.2), "a merged step let a second batch through"
    finally:
        control.resume()
        waiter.join(5)
    assert released.is_set()


def test_resume_drops_a_pending_step() -> None:
    control = RunControl()
    control.pause()
    control.step()
    control.resume()
    control.pause()
    released = threading.Event()
    waiter = threading.Thread(target=lambda: (control.wait_if_paused(), released.set()))
    waiter.start()
    try:
        assert not released.wait(0.2)
    finally:
        control.resume()
        waiter.join(5)


class _PauseAt(RecordingListener):
    """Pauses the run from its own thread when step ``at`` is reported: a pause at a known batch."""

    def __init__(self, control: RunControl, at: int) -> None:
        super().__init__()
        self.control, self.at = control, at
        self.lock = threading.Lock()

    def on_batch(self, record: BatchRecord) -> None:
        with self.lock:
            super().on_batch(record)
        if record.step == self.at:
            self.control.pause()

    def steps(self) -> list[int]:
        with self.lock:
            return [b.step for b in self.batches]


def _wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.parametrize("report_every", [1, 4])
def test_each_step_runs_exactly_one_batch_of_a_real_run(report_every: int) -> None:
    pytest.importorskip("tensorflow")
    from model.training import train

    control = RunControl()
    at = 3 if report_every == 1 else 7  # a reported step
    listener = _PauseAt(control, at)
    config = small_config(batch_size=8, epochs=1, report_every=report_every, optimizer=OptimizerSpec(name="sgd"))
    results = []
    worker = threading.Thread(
        target=lambda: results.append(train(config, synthetic_split(n_train=256, n_val=0), listener=listener,
                                            control=control, evaluate=False))
    )  # fmt: skip
    worker.start()
    try:
        _wait_for(lambda: at in listener.steps())
        time.sleep(0.3)
        assert listener.steps()[-1] == at, "the run went on after the pause"
        for n in range(1, 4):
            control.step()
            # Stepped batches are reported even between report_every's batches.
            _wait_for(lambda n=n: listener.steps()[-1] == at + n)
            time.sleep(0.3)
            assert listener.steps()[-1] == at + n, "a step ran more than one batch"
            assert control.paused
        control.resume()
        worker.join(60)
    finally:
        control.stop()
        worker.join(60)
    assert results and results[0].finished.reason == "completed"
    assert results[0].finished.epochs_completed == 1
    steps = listener.steps()
    assert steps[-1] == 31 and steps == sorted(set(steps))


def test_a_request_remembers_the_steps_done_when_it_arrived() -> None:
    control = RunControl()
    assert control.pause_asked_at is None and control.stop_asked_at is None
    control.batch_ended(7)
    control.pause()
    control.batch_ended(8)  # the batch in progress finishes
    assert control.pause_asked_at == 7
    control.resume()
    control.batch_ended(12)
    control.pause()  # the last pause counts
    assert control.pause_asked_at == 12
    control.stop()
    control.batch_ended(13)
    control.stop()  # the first stop counts
    assert control.stop_asked_at == 12


def test_a_paused_snapshot_and_a_stopped_run_say_when_the_request_arrived() -> None:
    from model.events import SnapshotTap, WeightSnapshot
    from model.training import train

    control = RunControl()
    snapshots: list[WeightSnapshot] = []
    listener = RecordingListener()
    split = synthetic_split(n_train=1024, n_val=0)
    config = small_config(batch_size=8, epochs=1)

    class Pauser(RecordingListener):
        def on_batch(self, record: BatchRecord) -> None:  # the training thread: exact
            listener.on_batch(record)
            if record.step == 4:
                control.pause()  # during the batch end of step 5: takes effect there
            if record.step == 9:
                control.stop()

    def deliver(snapshot: WeightSnapshot) -> None:
        snapshots.append(snapshot)
        if snapshot.paused:
            control.resume()

    result = train(config, split, listener=Pauser(), control=control, snapshots=SnapshotTap(deliver, 1e9))
    paused = [s for s in snapshots if s.paused]
    assert [(s.steps_done, s.pause_asked_at) for s in paused] == [(5, 5)]
    assert result.finished.stop_asked_at == 10 and len(listener.batches) == 10
