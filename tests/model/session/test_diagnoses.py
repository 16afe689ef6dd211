"""The session's warnings from a run's health: once per kind, errors never hidden by warnings."""

from __future__ import annotations

import math

import numpy as np

from model.events import BatchRecord, EndReason
from tests.model.session.fakes import FakeRun, Harness
from tests.model.session.test_lifecycle import start


def batch(run: FakeRun, step: int, loss: float = 1.0, ratio: float = 1e-3, dead: float = math.nan) -> BatchRecord:
    g = np.array([0.3])
    record = BatchRecord(
        run.run_id, 0, step, step, loss, 0.5, 0.1, g, np.array([5.0]), 1.0, step / 100, 1.0,
        update_ratios=np.array([ratio]), dead_shares=np.array([dead]), saturated_shares=np.array([math.nan]),
    )  # fmt: skip
    run.sink.on_batch(record)
    return record


def health_messages(h: Harness) -> list[tuple[str, str]]:
    return [(text, level) for text, level in h.messages() if "see the diagnoses under the plots" in text]


def test_a_healthy_run_gets_no_warning(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    for step in range(40):
        batch(run, step, loss=2.3 * 0.97**step)
    run.end()
    h.pump()
    assert health_messages(h) == []


def test_a_diagnosis_is_said_once_and_an_error_is_not_replaced_by_a_warning(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    for step in range(30):  # dead units from the start: a warning, said once
        batch(run, step, loss=2.3 * 0.97**step, dead=0.9)
    h.pump()
    (first,) = health_messages(h)
    assert first[1] == "warning" and first[0].startswith("Dead ReLU units: L2_Dense (90% of its units")
    assert "Try: lower the learning rate (from 0.1 to 0.01 or less)" in first[0]
    for step in range(30, 40):  # the loss becomes NaN: an error
        batch(run, step, loss=math.nan, dead=0.9)
    h.pump()
    assert [level for _, level in health_messages(h)] == ["warning", "error"]
    assert health_messages(h)[-1][0].startswith("Training is diverging: the loss became nan at step 30")
    for step in range(40, 60):  # a new warning (stuck) does not hide the error
        batch(run, step, loss=math.nan, ratio=1e-8, dead=0.9)
    h.pump()
    assert [level for _, level in health_messages(h)] == ["warning", "error"]
    monitor = h.session.shown_run.monitor
    assert monitor is not None and [d.kind for d in monitor.summary()] == ["diverging", "dead_units", "stuck"]


def test_the_run_end_checks_the_last_batches(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    for step in range(25):
        batch(run, step, loss=2.3 * 0.97**step)
    batch(run, 25, loss=math.inf)  # between two checks (every 10 records)
    h.pump()
    assert health_messages(h) == []
    run.end(EndReason.NAN, "the loss became inf")
    h.pump()
    assert [level for _, level in health_messages(h)] == ["error"]
