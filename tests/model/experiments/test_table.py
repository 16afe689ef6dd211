"""The results table: each figure as its definition says, and results.csv."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from model.config import RunConfig
from model.events import EndReason, EpochRecord, RunFinished
from model.experiments.spec import Trial
from model.experiments.table import (
    EXPLODING_NORM,
    VANISHING_RATIO,
    ResultsTable,
    TrialState,
    gradient_health,
    summarize,
)

TRIAL = Trial(0, "optimizer.name=sgd", (("optimizer.name", "sgd"),), RunConfig())
NAMES = ("L2_Dense", "L3_Dense", "L4_Dense")


def epoch(
    n: int, *, val_acc: float | None = 0.5, val_loss: float | None = 1.0, loss: float = 1.0,
    grads: tuple[float, ...] = (1.0, 1.0, 1.0), seconds: float = 2.0, partial: bool = False,
) -> EpochRecord:  # fmt: skip
    return EpochRecord(
        run_id=0, epoch=n, loss=loss, accuracy=0.4, val_loss=val_loss, val_accuracy=val_acc,
        learning_rate=0.1, grad_norms=np.array(grads), weight_norms=np.ones(len(grads)),
        seconds=seconds, samples_per_second=100.0, partial=partial,
    )  # fmt: skip


def test_vanishing_is_the_first_layer_below_a_hundredth_of_the_output_layer() -> None:
    assert VANISHING_RATIO == 1e-2
    assert gradient_health([epoch(0, grads=(1e-8, 1e-4, 0.5))], NAMES) == "vanishing"
    assert gradient_health([epoch(0, grads=(0.0, 0.0, 0.14))], NAMES) == "vanishing"  # dead ReLUs
    assert gradient_health([epoch(0, grads=(0.16, 0.07, 0.13))], NAMES) == ""
    # Only the last complete epoch counts: a start that recovers is not vanishing.
    assert gradient_health([epoch(0, grads=(1e-8, 1, 1)), epoch(1, grads=(0.5, 1, 1))], NAMES) == ""
    assert gradient_health([epoch(0, grads=(0.5, 1, 1)), epoch(1, grads=(1e-8, 1, 1), partial=True)], NAMES) == ""


def test_batch_norm_layers_are_not_the_first_layer_compared() -> None:
    names = ("L2_BatchNormalization", "L3_Dense", "L4_Dense")
    assert gradient_health([epoch(0, grads=(1e-6, 0.5, 0.5))], names) == ""


def test_exploding_is_any_norm_above_a_thousand_or_not_finite_in_any_epoch() -> None:
    assert EXPLODING_NORM == 1e3
    assert gradient_health([epoch(0, grads=(2e3, 1, 1)), epoch(1)], NAMES) == "exploding"
    assert gradient_health([epoch(0, grads=(math.nan, 1, 1))], NAMES) == "exploding"
    assert gradient_health([], NAMES) == ""


def test_summary_figures() -> None:
    history = [
        epoch(0, val_acc=0.80, val_loss=0.9, seconds=3.0),
        epoch(1, val_acc=0.91, val_loss=0.5, seconds=2.0),
        epoch(2, val_acc=0.93, val_loss=0.6, seconds=2.5),
        epoch(3, val_acc=None, val_loss=None, seconds=0.5, partial=True),
    ]
    finished = RunFinished(0, EndReason.STOPPED, "stopped by the user", 3, test_accuracy=0.92, test_loss=0.55)
    row = summarize(TRIAL, history, state=TrialState.STOPPED, finished=finished, layer_names=NAMES, target_accuracy=0.9)
    assert row.epochs == 3
    assert row.final_val_accuracy == 0.93 and row.final_val_loss == 0.6
    assert row.best_epoch == 2
    assert (row.epochs_to_target, row.seconds_to_target) == (2, 5.0)
    assert row.seconds == 8.0
    assert row.test_accuracy == 0.92
    assert row.end_reason is EndReason.STOPPED and row.message == "stopped by the user"
    assert not row.diverged and not row.failed and row.gradients == ""


def test_without_validation_training_figures_count_and_nan_is_divergence() -> None:
    history = [epoch(0, val_acc=None, val_loss=None, loss=2.0), epoch(1, val_acc=None, val_loss=None, loss=math.nan)]
    finished = RunFinished(0, EndReason.NAN, "the loss became nan", 1)
    row = summarize(TRIAL, history, state=TrialState.FINISHED, finished=finished, target_accuracy=0.3)
    assert row.best_epoch == 1 and row.epochs_to_target == 1
    assert row.diverged


def test_a_failed_trial_has_its_message_and_no_figures() -> None:
    row = summarize(TRIAL, [], state=TrialState.FAILED, message="layers[0]: cannot be built", target_accuracy=0.9)
    assert row.failed and row.message == "layers[0]: cannot be built"
    assert row.epochs == 0 and row.best_epoch is None and row.final_val_accuracy is None


def test_results_csv_has_a_column_per_varied_setting() -> None:
    rows = (
        summarize(TRIAL, [epoch(0)], state=TrialState.FINISHED, target_accuracy=0.9, run_folder="trials/00-sgd"),
        summarize(
            Trial(1, "optimizer.name=adam", (("optimizer.name", "adam"),), RunConfig()),
            [], state=TrialState.FAILED, message="it broke, badly", target_accuracy=0.9,
        ),
    )  # fmt: skip
    parsed = list(csv.DictReader(io.StringIO(ResultsTable(rows).to_csv())))
    assert list(parsed[0])[:4] == ["trial", "label", "optimizer.name", "state"]
    assert parsed[0]["optimizer.name"] == "sgd" and parsed[0]["final_val_accuracy"] == "0.5"
    assert parsed[0]["run_folder"] == "trials/00-sgd" and parsed[0]["failed"] == "0"
    assert parsed[1]["state"] == "failed" and parsed[1]["failed"] == "1" and parsed[1]["message"] == "it broke, badly"
