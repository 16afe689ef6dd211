"""The recorder, the driver link and the hub: states, resumes and stop orders, without an engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.config import load_preset
from model.events import BatchRecord, RunStarted
from model.experiments.hub import STOP_ALL, STOP_TRIAL, RecordHub
from model.experiments.link import DriverLink, NullComparisonListener, needs_run
from model.experiments.recorder import ComparisonRecorder, TrialRun, TrialUpdate
from model.experiments.spec import experiment_from_vary
from model.experiments.stream import BatchThrottle
from model.experiments.table import TrialState

EXPERIMENT = experiment_from_vary(load_preset("mlp"), ["optimizer.name=sgd,adam,rmsprop"])


class Heard(NullComparisonListener):
    def __init__(self) -> None:
        self.updates: list[TrialUpdate] = []

    def on_trial_state(self, update: TrialUpdate) -> None:
        self.updates.append(update)


def _batch(step: int, batch: int = 1) -> BatchRecord:
    return BatchRecord(0, 0, batch, step, 1.0, 0.5, 0.1, np.ones(2), np.ones(2), 1.0, 0.1, 1.0)


def test_which_trials_a_resume_runs_again() -> None:
    trial = EXPERIMENT.trials[0]
    assert needs_run(TrialRun(trial))
    assert needs_run(TrialRun(trial, TrialState.RUNNING))
    assert not needs_run(TrialRun(trial, TrialState.FINISHED))
    assert not needs_run(TrialRun(trial, TrialState.STOPPED))  # the user stopped it: kept
    assert needs_run(TrialRun(trial, TrialState.STOPPED, rerun=True))  # interrupted
    assert not needs_run(TrialRun(trial, TrialState.FAILED))  # cannot be built: would fail again
    assert needs_run(TrialRun(trial, TrialState.FAILED, rerun=True))  # crashed


def test_a_stop_of_all_marks_stopped_trials_for_a_rerun_a_single_stop_does_not(tmp_path: Path) -> None:
    heard = Heard()
    link = DriverLink(EXPERIMENT, tmp_path / "cmp", heard, engine="in-process", address=None)
    link.request_stop(0)
    assert link.stop_requested(0) and not link.stop_requested(1)
    link.set_state(0, TrialState.STOPPED, "stopped by the user")
    link.request_stop_all()
    assert link.stop_requests() == (True, frozenset({0}))
    link.set_state(1, TrialState.STOPPED, "interrupted")
    runs = link.recorder.snapshot().trials
    assert (runs[0].rerun, runs[1].rerun) == (False, True)
    assert [u.trial_id for u in heard.updates] == [0, 1]
    assert (tmp_path / "cmp" / "comparison.json").is_file()
    assert [t.trial_id for t in link.pending()] == [2]


def test_a_resumed_link_keeps_what_ended_and_runs_the_rest(tmp_path: Path) -> None:
    first = DriverLink(EXPERIMENT, tmp_path / "cmp", NullComparisonListener(), engine="ray", address=None)
    first.set_state(0, TrialState.FINISHED, "completed")
    first.request_stop_all()
    first.set_state(1, TrialState.STOPPED, "interrupted")
    again = DriverLink(
        EXPERIMENT, tmp_path / "cmp", NullComparisonListener(), engine="ray", address=None,
        previous=first.recorder.snapshot(),
    )  # fmt: skip
    assert [t.trial_id for t in again.pending()] == [1, 2]
    assert again.recorder.run(0).state is TrialState.FINISHED


def test_a_restart_of_a_trial_starts_its_curves_afresh(tmp_path: Path) -> None:
    recorder = ComparisonRecorder(EXPERIMENT, tmp_path)
    started = RunStarted(0, 1, 0, 4, 8, 32, 0, 0, ("L2_Dense", "L3_Dense"), 0.1)
    recorder.record(0, started)
    recorder.record(0, _batch(0))
    recorder.record(0, started)
    recorder.record(0, _batch(1))
    assert recorder.run(0).batches.step.tolist() == [1]
    assert recorder.run(0).steps_per_epoch == 4


def test_the_hub_hands_out_records_in_order_and_answers_pushes_with_stop_orders() -> None:
    hub = RecordHub()
    assert hub.push(0, ["a", "b"]) is None
    hub.push(1, ["c"])
    hub.put_folder(0, {"config.json": b"{}"})
    assert hub.drain() == [(0, "a"), (0, "b"), (1, "c")]
    assert hub.drain() == []
    assert hub.take_folders() == [(0, {"config.json": b"{}"})] and hub.take_folders() == []
    hub.stop([1])
    assert hub.push(1, []) == STOP_TRIAL and hub.stop_order(0) is None
    hub.stop_all()
    assert hub.stop_order(0) == STOP_ALL and hub.stop_order(1) == STOP_TRIAL


def test_the_throttle_keeps_the_first_batch_of_each_epoch_and_one_per_interval() -> None:
    now = [0]
    throttle = BatchThrottle(interval=5, clock=lambda: now[0])
    kept = []
    for step in range(20):
        now[0] = step
        kept.append(throttle.keep(_batch(step, batch=step % 10)))
    assert [i for i, k in enumerate(kept) if k] == [0, 5, 10, 15]
