"""ProcessRunner with real worker processes, real Keras and a few hundred of scikit-learn's digits.

Each worker imports TensorFlow (seconds), so the tests share one runner: while a test
checks what its run left, the runner is already warming the next test's worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from model.config import DataSpec, LayerSpec
from model.events import EndReason, EpochRecord, WeightSnapshot
from model.results import SavedRun
from model.runfolder.autosave import read_autosave
from model.runner import RunRequest
from model.session import WeightsOnly
from model.tasks import SerialExecutor
from model.worker_process import ProcessRun, ProcessRunner, RemoteControl, SnapshotPredictor
from model.worker_process.child import autogroup_applies
from model.worker_process.messages import Control, SetLearningRate
from model.worker_process.parent import NICENESS
from tests.model.test_runner import DIGITS_MLP, RecordingSink
from tests.model.worker_process.helpers import our_children, running, wait_ended

ROOT = Path(__file__).resolve().parents[3]
# Two wide layers: a batch of 32 takes tens of milliseconds, far longer than a record's
# trip through the pipe, so "within one batch" can be told apart from the pipe's delay.
WIDE = DIGITS_MLP.replace(
    layers=(
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=1024),
        LayerSpec("Dense", units=1024),
        LayerSpec("Dense", units=10, activation="softmax"),
    ),
    epochs=40,
)
RUN_TIMEOUT_S = 240.0


@pytest.fixture(scope="module")
def keras_executor() -> Iterator[SerialExecutor]:
    executor = SerialExecutor("test-keras")
    executor.submit(lambda: None).result()  # its thread exists before any test looks for leaks
    yield executor
    executor.shutdown()


@pytest.fixture(scope="module")
def runner(keras_executor: SerialExecutor) -> Iterator[ProcessRunner]:
    shared = ProcessRunner(keras_executor)
    shared.prewarm()
    yield shared
    pids = shared.pids()
    assert shared.close()
    assert not wait_ended(pids, 5.0)
    assert not set(pids) & our_children()


def until(condition: Callable[[], bool], timeout: float = RUN_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def batches(sink: RecordingSink) -> list:
    return [value for kind, value, _ in list(sink.events) if kind == "batch"]


def start(runner: ProcessRunner, config, run_id: int, resume: SavedRun | None = None) -> tuple[ProcessRun, RecordingSink]:
    sink = RecordingSink()
    handle = runner.start(RunRequest(run_id, config, resume), sink)
    sink.handle = handle
    return handle, sink


def test_remote_control_keeps_the_state_and_sends_every_request() -> None:
    sent: list[object] = []
    control = RemoteControl(lambda message: sent.append(message) or True)
    control.pause()
    assert control.paused
    control.set_learning_rate(0.01)
    assert control.take_learning_rate() is None  # the worker applies it, not this copy
    control.resume()
    control.stop()
    control.pause()  # a stopping run does not pause: nothing sent
    assert control.stop_requested and not control.paused
    assert sent == [Control("pause"), SetLearningRate(0.01), Control("resume"), Control("stop")]
    with pytest.raises(ValueError):
        control.set_learning_rate(0.0)


def test_remote_control_sends_a_step_only_while_paused() -> None:
    sent: list[object] = []
    control = RemoteControl(lambda message: sent.append(message) or True)
    control.step()  # running: nothing to step
    control.pause()
    control.step()
    control.step()
    control.stop()
    control.step()  # stopping: ignored
    assert sent == [Control("pause"), Control("step"), Control("step"), Control("stop")]


def test_a_step_lets_exactly_one_batch_through_a_paused_worker(runner: ProcessRunner) -> None:
    handle, sink = start(runner, WIDE, 22)
    until(lambda: len(batches(sink)) >= 2)
    live = handle.live_predictor((28, 28, 1))
    handle.control.pause()
    until(lambda: (s := live.snapshot) is not None and s.paused)
    time.sleep(0.3)
    held = len(batches(sink))
    handle.control.step()
    until(lambda: len(batches(sink)) == held + 1)
    time.sleep(0.5)
    assert len(batches(sink)) == held + 1, "a step let more than one batch through"
    handle.control.stop()
    assert handle.join(RUN_TIMEOUT_S) and not handle.alive()


def test_snapshots_flow_only_while_the_live_model_is_followed(runner: ProcessRunner) -> None:
    handle, sink = start(runner, WIDE, 24)
    try:
        until(lambda: len(batches(sink)) >= 2)
        live = handle.live_predictor((28, 28, 1))
        assert isinstance(live, SnapshotPredictor)
        # Unfollowed (the Draw tab hidden): the first snapshot, and the one asked for when
        # the live model was made; then none, however long the run trains.
        until(lambda: (s := live.snapshot) is not None and s.steps_done > 0)
        held = live.snapshot
        seen = len(batches(sink))
        time.sleep(1.5)  # six snapshot intervals
        assert len(batches(sink)) > seen + 5, "the run did not go on training"
        assert live.snapshot is held, "an unfollowed run sent snapshots"
        # Followed: one at once, then every interval.
        live.follow(True)
        until(lambda: live.snapshot.steps_done > held.steps_done, timeout=30)  # type: ignore[union-attr]
        first = live.snapshot
        until(lambda: live.snapshot is not first, timeout=30)
        # Unfollowed again: at most the ones on their way, then none. Records come in
        # order with snapshots: a second and 10 more records later, the unfollow has landed.
        live.follow(False)
        seen, since = len(batches(sink)), time.monotonic()
        until(lambda: len(batches(sink)) >= seen + 10 and time.monotonic() - since > 1.0)
        held = live.snapshot
        seen = len(batches(sink))
        time.sleep(1.5)
        assert len(batches(sink)) > seen + 5 and live.snapshot is held
    finally:
        handle.control.stop()
        assert handle.join(RUN_TIMEOUT_S)


def test_a_run_stopped_while_its_data_loads_ends_stopped_not_failed(runner: ProcessRunner) -> None:
    # Esc + Yes while MNIST loads: the worker ends the run "stopped before training began"
    # and exits; that is its outcome (it was reported as "ended ... without reporting a result").
    handle, sink = start(runner, WIDE, 23)
    handle.control.stop()  # reaches the worker while it prepares the data
    assert sink.exited.wait(RUN_TIMEOUT_S)
    assert sink.kinds() == ["data", "end", "exit"], sink.events
    end = next(value for kind, value, _ in sink.events if kind == "end")
    assert end.reason is EndReason.STOPPED and end.message == "stopped before training began"
    assert handle.join(5.0) and not handle.alive()


def test_a_run_reports_in_order_and_obeys_pause_learning_rate_resume_and_stop(runner: ProcessRunner) -> None:
    handle, sink = start(runner, WIDE, 21)
    try:
        obeys_pause_learning_rate_resume_and_stop(runner, handle, sink)
    finally:  # a failed check leaves no run training into the next test
        handle.control.stop()
        handle.join(RUN_TIMEOUT_S)


def obeys_pause_learning_rate_resume_and_stop(runner: ProcessRunner, handle: ProcessRun, sink: RecordingSink) -> None:
    until(lambda: len(batches(sink)) >= 3)
    assert handle.pid is not None and handle.pid in runner.pids() and handle.pid != os.getpid()
    # A session of its own: at the window's priority where that is a scheduling group of
    # its own, else at a lower one.
    assert os.getsid(handle.pid) == handle.pid != os.getsid(0)
    lower = 0 if autogroup_applies() else NICENESS
    assert os.getpriority(os.PRIO_PROCESS, handle.pid) == os.getpriority(os.PRIO_PROCESS, 0) + lower
    live = handle.live_predictor((28, 28, 1))
    assert isinstance(live, SnapshotPredictor) and handle.live_predictor((28, 28, 1)) is live
    live.follow(True)  # as the Draw tab does: snapshots every interval

    # Pause: the worker finishes the batch it is in, then trains nothing more.
    seen = len(batches(sink))
    handle.control.pause()
    until(lambda: (s := live.snapshot) is not None and s.paused)
    paused: WeightSnapshot = live.snapshot  # type: ignore[assignment]
    # "Within one batch" counts from where the request landed: the records read here may
    # lag the worker by batches on a loaded machine, so the worker says when it arrived.
    asked = paused.pause_asked_at
    assert asked is not None and asked >= seen, (asked, seen)
    assert paused.steps_done <= asked + 1, "the pause took more than one batch"
    until(lambda: len(batches(sink)) >= paused.steps_done)  # the records still in the pipe
    time.sleep(0.5)
    assert len(batches(sink)) == paused.steps_done, "a paused run kept training"
    # While paused, the window's own copy answers at once, with the paused model.
    answer = live.submit(np.zeros((1, 28, 28, 1), np.float32)).result(60)
    assert answer.shape == (1, 10) and answer.sum() == pytest.approx(1, abs=1e-4)
    assert live.description == f"live model of run 21, as of batch {paused.steps_done:,} (epoch {paused.epoch + 1}, paused)"

    # A learning rate set while paused applies from the very next batch.
    handle.control.set_learning_rate(0.0123)
    handle.control.resume()
    until(lambda: len(batches(sink)) >= paused.steps_done + 3)
    after = batches(sink)[paused.steps_done :]
    assert after[0].step == paused.steps_done and all(b.learning_rate == pytest.approx(0.0123) for b in after)
    until(lambda: not live.snapshot.paused)  # type: ignore[union-attr] # snapshots flow again

    # Stop: again within one batch.
    seen = len(batches(sink))
    handle.control.stop()
    assert handle.join(RUN_TIMEOUT_S) and not handle.alive()
    asked = sink.first("end").stop_asked_at
    assert asked is not None and asked >= seen, (asked, seen)
    assert len(batches(sink)) <= asked + 1, "the stop took more than one batch"
    kinds = sink.kinds()
    assert kinds[:2] == ["data", "started"] and kinds[-3:] == ["end", "result", "exit"], kinds
    assert {thread for _, _, thread in sink.events} == {"worker-run-21"}
    assert sink.first("end").reason == EndReason.STOPPED
    result = sink.first("result")
    assert result.run_id == 21 and result.evaluation is not None and result.optimizer_state
    # The model was rebuilt in this process, on the Keras executor, from the worker's weights.
    assert [layer.name for layer in result.model.layers] == ["L1_Flatten", "L2_Dense", "L3_Dense", "L4_Dense"]
    assert handle.pid not in runner.pids()


def test_a_resumed_run_starts_from_the_weights_it_was_given_and_autosaves(
    runner: ProcessRunner, keras_executor, tmp_path: Path
) -> None:
    from model.builder import build_inference_model

    config = DIGITS_MLP.replace(epochs=1)
    model = keras_executor.submit(build_inference_model, config, (28, 28, 1), 10).result()
    weights = [w + 0.5 for w in keras_executor.submit(model.get_weights).result()]
    g = np.array([0.3, 0.3])
    earlier = [EpochRecord(1, epoch, 1.0, 0.5, 1.1, 0.4, 0.1, g, g, 1.0, 10.0) for epoch in (0, 1)]
    saved = SavedRun(Path(), config, WeightsOnly(weights), earlier, ("L2_Dense", "L3_Dense"), {})
    sink = RecordingSink()
    handle = runner.start(RunRequest(22, config, saved, checkpoint_dir=tmp_path / "autosave"), sink)
    assert handle.join(RUN_TIMEOUT_S)
    assert sink.kinds()[-3:] == ["end", "result", "exit"], sink.kinds()
    assert sink.first("started").initial_epoch == 2 and batches(sink)[0].epoch == 2  # numbered after the history
    # The first step's weight norms are those of the weights sent (every weight + 0.5), not of a fresh model.
    first_kernel = np.sqrt(np.sum(np.square(weights[0])) + np.sum(np.square(weights[1])))
    assert batches(sink)[0].weight_norms[0] == pytest.approx(first_kernel, rel=0.05)
    assert len(sink.first("result").history) == 3
    # The worker autosaved the run after its epoch, the earlier epochs included.
    autosave = read_autosave(tmp_path / "autosave")
    assert autosave is not None and autosave.status == "finished" and autosave.epochs_done == 3


def test_a_killed_worker_ends_the_run_with_what_happened(runner: ProcessRunner) -> None:
    handle, sink = start(runner, WIDE, 23)
    until(lambda: len(batches(sink)) >= 2)
    assert handle.pid is not None
    os.kill(handle.pid, signal.SIGKILL)
    assert handle.join(60)
    assert sink.kinds()[-2:] == ["failed", "exit"]
    run_id, failure = sink.first("failed")
    assert run_id == 23
    assert "The training process was killed while training (exit signal 9, SIGKILL)" in failure.message
    assert "The model needs only about" in failure.message  # a small model: not memory
    assert "saved or autosaved runs are unaffected" in failure.message
    assert not running(handle.pid)


def test_a_project_error_in_the_worker_comes_in_its_own_words(runner: ProcessRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.npz"
    handle, sink = start(runner, DIGITS_MLP.replace(data=DataSpec(name="file", path=str(missing))), 24)
    assert handle.join(RUN_TIMEOUT_S)
    assert sink.kinds() == ["failed", "exit"]
    _, failure = sink.first("failed")
    assert "nowhere.npz" in failure.message and failure.details == ""


def test_close_reaps_the_running_worker_and_the_spare(keras_executor) -> None:
    own = ProcessRunner(keras_executor)
    handle, sink = start(own, WIDE, 25)
    own.prewarm()  # a spare beside the running worker
    until(lambda: len(batches(sink)) >= 1)
    pids = own.pids()
    assert len(pids) == 2 and set(pids) <= our_children()
    assert own.close()
    assert not wait_ended(pids, 1.0) and not set(pids) & our_children()
    assert sink.kinds()[-3:] == ["end", "result", "exit"]  # stopped, and its result still came
    assert own.pids() == [] and not handle.alive()
    with pytest.raises(RuntimeError):
        own.start(RunRequest(26, DIGITS_MLP), RecordingSink())


PARENT = textwrap.dedent(
    """
    import sys, time
    from model.runner import RunRequest
    from model.worker_process import ProcessRunner
    from tests.model.test_runner import DIGITS_MLP, RecordingSink

    def main():
        training, idle = ProcessRunner(), ProcessRunner()
        sink = RecordingSink()
        handle = training.start(RunRequest(1, DIGITS_MLP.replace(batch_size=1, epochs=100)), sink)
        idle.prewarm()  # still importing TensorFlow when the parent dies
        while "batch" not in sink.kinds():
            time.sleep(0.01)
        print(handle.pid, *idle.pids(), flush=True)
        if "--return" in sys.argv:
            sys.exit(1)  # as when the X server goes away: the event loop ends with a run on
        time.sleep(600)

    if __name__ == "__main__":
        main()
    """
)


def test_workers_end_by_themselves_when_the_window_process_dies(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, str(script)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True) as parent:
        try:
            assert parent.stdout is not None
            line = parent.stdout.readline()
            workers = [int(pid) for pid in line.split()]
            assert len(workers) == 2, line
            assert all(running(pid) for pid in workers)
            parent.kill()
            parent.wait(10)
            assert not wait_ended(workers, 20.0), "a worker outlived its window"
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait(10)


def test_the_window_process_exits_when_its_main_thread_ends_with_a_run_going(tmp_path: Path) -> None:
    """Qt's event loop ends when the X server goes away; the process must end then, not wait
    for the run (its pipe's reader thread kept Python's shutdown waiting, and the worker
    trained on for minutes), and the workers follow it."""
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, str(script), "--return"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True) as parent:
        try:
            assert parent.stdout is not None
            workers = [int(pid) for pid in parent.stdout.readline().split()]
            assert len(workers) == 2
            assert parent.wait(30) == 1, "the process waited for its run"
            assert not wait_ended(workers, 20.0), "a worker outlived its window"
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait(10)
