"""Replay: the comparison, the plan, the JSON stream, and a replay in a fresh process."""

from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from model.config import RunConfig
from model.errors import ProjectError
from model.events import BatchRecord, EpochRecord, RunStarted
from model.replay import (
    TOLERANCE,
    Comparison,
    ReplayOutcome,
    ReplayProcess,
    compare,
    plan_replay,
    record_from_json,
    record_to_json,
)

G = np.array([0.25, 0.5])


def _epochs(losses: list[float], **changes: object) -> list[EpochRecord]:
    return [
        dataclasses.replace(EpochRecord(0, i, loss, 0.5, loss + 0.1, 0.4, 0.01, G, G, 1.0, 10.0), **changes)
        for i, loss in enumerate(losses)
    ]


def test_identical_histories_match_exactly() -> None:
    result = compare(_epochs([1.0, 0.5]), _epochs([1.0, 0.5]))
    assert result.matches and result.exact and result.compared == 8 and result.max_difference == 0.0
    assert result.describe() == "the replay matches the saved run exactly (8 epoch figures compared)"


def test_tiny_differences_match_within_the_tolerance() -> None:
    result = compare(_epochs([1.0, 0.5]), _epochs([1.0, 0.5 * (1 + 1e-7)]))
    assert result.matches and not result.exact
    assert result.max_difference == pytest.approx(1e-7, rel=1e-3)
    assert "within a relative 1e-05" in result.describe()


def test_the_first_epoch_that_differs_is_where_they_part() -> None:
    result = compare(_epochs([1.0, 0.5, 0.3]), _epochs([1.0, 0.51, 0.2]))
    assert not result.matches and result.parted_epoch == 1 and result.parted_step is None
    assert result.describe().startswith("the replay parts from the saved run at epoch 2: loss 0.5 saved, 0.51 replayed")


def test_per_batch_losses_place_the_parting_step() -> None:
    saved = ([0, 1, 2, 3, 4, 5], [2.0, 1.9, 1.8, 1.7, 1.6, 1.5])
    replayed = ([0, 1, 2, 3, 4, 5], [2.0, 1.9, 1.8, 1.75, 1.6, 1.5])
    result = compare([], [], saved_batches=saved, replayed_batches=replayed, steps_per_epoch=2)
    assert not result.matches and result.basis == "per-batch losses"
    assert result.parted_step == 3 and result.parted_epoch == 1
    assert "at step 3: batch loss 1.7 saved, 1.75 replayed" in result.describe()
    same = compare([], [], saved_batches=saved, replayed_batches=saved)
    assert same.exact and same.compared == 6


def test_partial_epochs_are_not_compared_and_a_missing_epoch_parts() -> None:
    saved = _epochs([1.0, 0.5]) + _epochs([9.0], epoch=2, partial=True, val_loss=None, val_accuracy=None)
    assert compare(saved, _epochs([1.0, 0.5])).matches
    missing = compare(_epochs([1.0, 0.5]), _epochs([1.0]))
    assert not missing.matches and missing.parted_epoch == 1 and "no complete epoch 2" in missing.detail
    assert not compare([], []).matches and compare([], []).describe().startswith("nothing to compare")


def test_a_nan_on_both_sides_is_the_same_figure() -> None:
    nan = _epochs([math.nan])
    assert compare(nan, _epochs([math.nan])).exact
    assert not compare(nan, _epochs([1.0])).matches


def test_the_plan_stops_after_the_last_complete_epoch_and_says_what_cannot_be_reproduced() -> None:
    config = RunConfig(epochs=5, report_every=4)
    history = _epochs([1.0, 0.8]) + _epochs([0.7], epoch=2, partial=True)
    history[1] = dataclasses.replace(history[1], note="learning rate changed from 0.001 to 0.01 at epoch 2, batch 3")
    plan = plan_replay(config, history)
    assert plan.config.epochs == 5 and plan.config.report_every == 1
    assert plan.stop_after_epoch == 1 and plan.compared_epochs == 2
    assert any("changed by hand in epoch 2" in w for w in plan.warnings)
    assert any("last epoch (3) was cut short" in w for w in plan.warnings)
    complete = plan_replay(RunConfig(epochs=2), _epochs([1.0, 0.8]))
    assert complete.stop_after_epoch is None and complete.warnings == ()
    resumed = plan_replay(RunConfig(epochs=1), _epochs([1.0, 0.8, 0.7]))
    assert resumed.config.epochs == 3 and any("resumed" in w for w in resumed.warnings)
    with pytest.raises(ProjectError, match="no complete epoch"):
        plan_replay(config, _epochs([1.0], partial=True))


def test_records_cross_the_pipe_as_json_unchanged() -> None:
    batch = BatchRecord(1, 0, 2, 2, 0.7, 0.5, 0.01, G, G * 2, 100.0, 0.3, 5.0)
    epoch = _epochs([0.7], note="a note")[0]
    started = RunStarted(1, 2, 0, 3, 16, 48, 8, 8, ("L1_Dense", "L2_Dense"), 0.01)
    for record in (batch, epoch, started):
        back = record_from_json(record_to_json(record))
        assert type(back) is type(record)
        for f in dataclasses.fields(record):
            if f.name == "val_confusion":
                continue
            a, b = getattr(record, f.name), getattr(back, f.name)
            assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name


def test_a_comparison_survives_json() -> None:
    comparison = Comparison(False, False, TOLERANCE, "epoch figures", 4, 0.1, None, 1, "loss 1 saved, 2 replayed")
    assert Comparison(**dataclasses.asdict(comparison)) == comparison


# ---------------------------------------------------------------------- a real replay process


def _collect(folder: Path) -> list[object]:
    messages: list[object] = []
    done = threading.Event()

    def on_message(message: object) -> None:
        messages.append(message)
        if isinstance(message, (ReplayOutcome, ProjectError)):
            done.set()

    process = ReplayProcess(folder, on_message)
    try:
        assert done.wait(300), "the replay process gave no answer"
    finally:
        process.stop()
        assert process.join(30)
    return messages


def test_a_replay_process_streams_the_run_and_ends_with_the_comparison(deterministic_run: Path) -> None:
    messages = _collect(deterministic_run)
    assert isinstance(messages[0], RunStarted)
    batches = [m for m in messages if isinstance(m, BatchRecord)]
    epochs = [m for m in messages if isinstance(m, EpochRecord)]
    assert len(epochs) == 2 and len(batches) == 2 * messages[0].steps_per_epoch
    outcome = messages[-1]
    assert isinstance(outcome, ReplayOutcome)
    assert outcome.comparison.exact, outcome.describe()


def test_a_replay_process_of_a_folder_that_is_no_run_says_why(tmp_path: Path) -> None:
    (message,) = _collect(tmp_path)
    assert isinstance(message, ProjectError) and "is not a run folder" in str(message)
