"""The results table of a comparison: one row per trial, computed from what the trial reported.

:func:`summarize` turns a trial's epoch records and end into a :class:`TrialSummary`, the
same way for a live comparison and one read back from disk, so the table the window fills
while trials run and the ``results.csv`` a sweep writes always agree.

Definitions (for people reading the table):

- *final validation accuracy*: that of the last complete epoch.
- *best epoch*: the complete epoch (from 1) with the lowest validation loss, or training
  loss without validation: the epoch whose weights a stopped run keeps.
- *epochs / seconds to target*: the first complete epoch whose validation accuracy
  (training accuracy without validation) reaches the experiment's target, and the training
  time until the end of that epoch; empty when it never does.
- *seconds*: training time, the sum of the epochs' times (pauses and start-up excluded).
- *gradients*: ``vanishing`` when, in the last complete epoch, the first layer with weights
  (batch normalization aside) has a mean gradient norm below :data:`VANISHING_RATIO` (1/100)
  of the output layer's: the early layers learn a hundred times slower than the last one,
  or not at all (dead ReLUs give 0). ``exploding`` when any layer's mean gradient norm in any
  epoch exceeds :data:`EXPLODING_NORM` (1000) or is not finite. Empty when neither, or when
  the trial has no complete epoch. The thresholds were set on this app's deep sigmoid preset
  (first/last ratio 3e-8 with a random-normal start, 3e-4 even with He's) against ReLU stacks
  (0.4 to 1.2).
- *diverged*: the loss became NaN or infinite.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

import numpy as np

from model.events import EndReason, EpochRecord, RunFinished
from model.experiments.spec import Trial

VANISHING_RATIO: Final = 1e-2
EXPLODING_NORM: Final = 1e3


class TrialState(str, Enum):
    """Where a trial is. A ``str`` enum: it prints and serializes as its value."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"  # trained to its end: completed, early stopping or a NaN loss
    FAILED = "failed"  # could not be built or crashed; the message says why
    STOPPED = "stopped"  # stopped by the user, or the sweep was interrupted

    def __str__(self) -> str:
        return str(self.value)

    @property
    def over(self) -> bool:
        return self in (TrialState.FINISHED, TrialState.FAILED, TrialState.STOPPED)


@dataclass(frozen=True)
class TrialSummary:
    """One row of the results table (see the module docstring for each figure)."""

    trial_id: int
    label: str
    settings: tuple[tuple[str, str], ...]
    state: TrialState
    end_reason: EndReason | None
    message: str
    epochs: int
    best_epoch: int | None  # from 1
    final_val_accuracy: float | None
    final_val_loss: float | None
    test_accuracy: float | None
    test_loss: float | None
    target_accuracy: float
    epochs_to_target: int | None
    seconds_to_target: float | None
    seconds: float
    gradients: str  # "vanishing", "exploding" or ""
    diverged: bool
    run_folder: str | None  # relative to the comparison folder

    @property
    def failed(self) -> bool:
        return self.state is TrialState.FAILED


def _first_weighted_and_output(names: Sequence[str], count: int) -> tuple[int, int] | None:
    indices = [i for i in range(count) if i >= len(names) or not names[i].endswith("_BatchNormalization")]
    if len(indices) < 2:
        return None
    return indices[0], indices[-1]


def gradient_health(history: Sequence[EpochRecord], layer_names: Sequence[str] = ()) -> str:
    """``exploding``, ``vanishing`` or ``""`` from the epochs' mean gradient norms (module docstring)."""
    for record in history:
        norms = np.asarray(record.grad_norms, dtype=np.float64)
        if norms.size and (not np.all(np.isfinite(norms)) or float(norms.max()) > EXPLODING_NORM):
            return "exploding"
    complete = [r for r in history if not r.partial and len(r.grad_norms)]
    if not complete:
        return ""
    norms = np.asarray(complete[-1].grad_norms, dtype=np.float64)
    pair = _first_weighted_and_output(layer_names, norms.size)
    if pair is None:
        return ""
    first, output = (float(norms[i]) for i in pair)
    if output > 0 and first < VANISHING_RATIO * output:
        return "vanishing"
    return ""


def summarize(
    trial: Trial,
    history: Sequence[EpochRecord],
    *,
    state: TrialState,
    message: str = "",
    finished: RunFinished | None = None,
    layer_names: Sequence[str] = (),
    target_accuracy: float,
    run_folder: str | None = None,
) -> TrialSummary:
    """The results row for ``trial`` from its epoch ``history`` and how it ended."""
    complete = [r for r in history if not r.partial]
    last = complete[-1] if complete else None
    best: int | None = None
    best_value = math.inf
    for r in complete:
        value = r.val_loss if r.val_loss is not None else r.loss
        if math.isfinite(value) and value < best_value:
            best, best_value = r.epoch + 1, value
    to_target: int | None = None
    seconds_to_target: float | None = None
    elapsed = 0.0
    for r in history:
        elapsed += r.seconds
        accuracy = r.val_accuracy if r.val_accuracy is not None else r.accuracy
        if not r.partial and to_target is None and math.isfinite(accuracy) and accuracy >= target_accuracy:
            to_target, seconds_to_target = r.epoch + 1, elapsed
    diverged = (finished is not None and finished.reason is EndReason.NAN) or any(
        not math.isfinite(r.loss) for r in history
    )
    return TrialSummary(
        trial_id=trial.trial_id,
        label=trial.label,
        settings=trial.settings,
        state=state,
        end_reason=None if finished is None else finished.reason,
        message=message or ("" if finished is None else finished.message),
        epochs=len(complete),
        best_epoch=best,
        final_val_accuracy=None if last is None else last.val_accuracy,
        final_val_loss=None if last is None else last.val_loss,
        test_accuracy=None if finished is None else finished.test_accuracy,
        test_loss=None if finished is None else finished.test_loss,
        target_accuracy=target_accuracy,
        epochs_to_target=to_target,
        seconds_to_target=seconds_to_target,
        seconds=elapsed,
        gradients=gradient_health(history, layer_names),
        diverged=diverged,
        run_folder=run_folder,
    )


COLUMNS: Final = (
    "trial", "label", "state", "end_reason", "final_val_accuracy", "final_val_loss", "test_accuracy",
    "test_loss", "best_epoch", "epochs", "target_accuracy", "epochs_to_target", "seconds_to_target",
    "seconds", "gradients", "diverged", "failed", "message", "run_folder",
)  # fmt: skip


@dataclass(frozen=True)
class ResultsTable:
    """Every trial's row, in trial order, and the varied settings' paths (one column each)."""

    rows: tuple[TrialSummary, ...]

    @property
    def setting_columns(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for row in self.rows:
            names.update((path, None) for path, _ in row.settings)
        return tuple(names)

    def to_csv(self) -> str:
        """``results.csv``: the columns of :data:`COLUMNS`, each varied setting after ``label``."""
        settings = self.setting_columns
        header = [*COLUMNS[:2], *settings, *COLUMNS[2:]]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)

        def num(value: float | None, digits: int = 6) -> str:
            return "" if value is None else f"{value:.{digits}g}"

        for row in self.rows:
            values = dict(row.settings)
            writer.writerow(
                [
                    row.trial_id + 1,
                    row.label,
                    *(values.get(name, "") for name in settings),
                    str(row.state),
                    "" if row.end_reason is None else str(row.end_reason),
                    num(row.final_val_accuracy),
                    num(row.final_val_loss),
                    num(row.test_accuracy),
                    num(row.test_loss),
                    "" if row.best_epoch is None else row.best_epoch,
                    row.epochs,
                    num(row.target_accuracy),
                    "" if row.epochs_to_target is None else row.epochs_to_target,
                    num(row.seconds_to_target, 4),
                    num(row.seconds, 4),
                    row.gradients,
                    int(row.diverged),
                    int(row.failed),
                    row.message,
                    row.run_folder or "",
                ]
            )
        return out.getvalue()
