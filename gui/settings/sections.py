"""The training sections of the settings panel: loss and optimizer, schedule, weights, batches, stopping.

Each section is a small class that declares its widgets once, in :meth:`Section.build`:
a config path, a label, a widget from :mod:`gui.settings.controls` with its range and
tooltip, and the conditions it follows (``depends_on``, ``visible_when``). The
:class:`~gui.binding.FormBinder` does the rest: filling, reading, change signals, lock
states and showing errors beside the section. What is left in a section is behaviour of
its own: a tooltip that explains the current choice, the gradient-descent mode text.

A new hyper-parameter is its field in :mod:`model.config` plus one ``rows.field(...)``
line here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QObject

from gui.binding import KEEP, FormRows, ListedIn
from gui.settings.controls import check, combo, explanation, fraction, optional, science, spin
from model.catalogue import LOSS_TEXT, MODE_LABELS, MONITOR_TEXT, OPTIMIZER_TEXT, SCHEDULE_TEXT
from model.config import (
    INITIALIZERS,
    LOSSES,
    MONITORS,
    OPTIMIZER_PARAMS,
    OPTIMIZERS,
    SCHEDULE_PARAMS,
    SCHEDULES,
)
from model.words import count


class Section(QObject):
    """One collapsible part of the panel.

    Attributes:
        title: the header text.
        about: the header's tooltip, one sentence.
        expanded: whether the section starts unfolded.
        owns: config groups whose errors are shown here even when no widget of the section
            is named by the error's path (``"split"`` for "train + validation + test must
            sum to 1"); errors about a bound path find their section by themselves.
    """

    title: ClassVar[str]
    about: ClassVar[str]
    expanded: ClassVar[bool] = True
    owns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, rows: FormRows, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.binder = rows.binder
        self.build(rows)

    def build(self, rows: FormRows) -> None:
        """Declare the section's rows, each widget once."""
        raise NotImplementedError


class LossAndOptimizerSection(Section):
    title = "Loss and optimizer"
    about = "What is minimized and how each step is taken."
    owns = ("optimizer",)

    def build(self, rows: FormRows) -> None:
        loss = rows.field("loss", "Loss", combo(LOSSES, LOSS_TEXT))
        name = rows.field("optimizer.name", "Optimizer", combo(OPTIMIZERS, OPTIMIZER_TEXT))
        uses = ListedIn("optimizer.name", OPTIMIZER_PARAMS)
        rows.field("optimizer.learning_rate", "Learning rate", science(
            1e-7, 10.0,
            "Step size of each update; the arrows step through 1, 2, 5 x 10^n and you can type e.g. 3e-4.",
        ), visible_when=uses)
        rows.field("optimizer.momentum", "Momentum", fraction(
            0.0, 0.999, 3, 0.05,
            "Fraction of the previous update added to the next, which smooths and speeds descent.",
        ), visible_when=uses)
        rows.field("optimizer.nesterov", "", check(
            "Nesterov momentum",
            "Take the gradient after the momentum step, which often converges a little faster.",
        ), visible_when=uses)
        rows.field("optimizer.beta_1", "Beta 1", fraction(
            0.0, 0.9999, 4, 0.01, "Decay rate of the running average of gradients (first moment)."
        ), visible_when=uses)
        rows.field("optimizer.beta_2", "Beta 2", fraction(
            0.0, 0.99999, 5, 0.001, "Decay rate of the running average of squared gradients (second moment)."
        ), visible_when=uses)
        rows.field("optimizer.rho", "Rho", fraction(
            0.0, 0.9999, 4, 0.01, "Decay rate of the running average of squared gradients."
        ), visible_when=uses)
        rows.field("optimizer.epsilon", "Epsilon", science(
            1e-12, 1.0, "Small constant added to denominators so a step never divides by zero.", 1e-12
        ), visible_when=uses)
        rows.field("optimizer.weight_decay", "Weight decay", science(
            0.0, 1.0, "Shrink every weight by this fraction at each step, pulling weights towards zero."
        ), visible_when=uses)
        rows.field("optimizer.clipnorm", "Gradient clip", optional("Clip at", science(1e-6, 1e6, ""), 1.0,
            "Rescale any weight's gradient whose norm exceeds this value, which tames exploding gradients.",
        ), visible_when=uses)

        self.binder.when_shown("loss", lambda v: loss.setToolTip(f"What training minimizes. {LOSS_TEXT[v][1]}"))
        self.binder.when_shown("optimizer.name", lambda v: name.setToolTip(
            f"The rule that turns gradients into weight updates. {OPTIMIZER_TEXT[v][1]}"
        ))


class ScheduleSection(Section):
    title = "Learning-rate schedule"
    about = "How the learning rate changes from epoch to epoch."
    owns = ("schedule",)

    def build(self, rows: FormRows) -> None:
        kind = rows.field("schedule.kind", "Schedule", combo(SCHEDULES, SCHEDULE_TEXT))
        about = rows.add(None, explanation(), "schedule_about")
        uses = ListedIn("schedule.kind", SCHEDULE_PARAMS)
        rows.field("schedule.step_epochs", "Every", spin(
            1, 10000, "Multiply the learning rate by the factor after this many epochs.", "epoch"
        ), visible_when=uses)
        rows.field("schedule.factor", "Factor", fraction(
            0.001, 1.0, 3, 0.05, "What the learning rate is multiplied by at each decay."
        ), visible_when=uses)
        rows.field("schedule.patience", "Patience", spin(
            1, 10000, "Epochs without a better validation loss before the rate is reduced.", "epoch"
        ), visible_when=uses)
        rows.field("schedule.min_delta", "Min change", science(
            0.0, 1e6, "The smallest fall in validation loss that counts as better; less counts as a stall."
        ), visible_when=uses)
        rows.field("schedule.min_learning_rate", "Minimum rate", science(
            0.0, 10.0, "The learning rate never goes below this value.", 1e-8
        ), visible_when=uses)

        def show(value: str) -> None:
            kind.setToolTip(SCHEDULE_TEXT[value][1])
            about.setText(SCHEDULE_TEXT[value][1])

        self.binder.when_shown("schedule.kind", show)


class WeightsSection(Section):
    title = "Initialization and regularization"
    about = "How weights start and how large weights are penalized."

    def build(self, rows: FormRows) -> None:
        rows.field("initializer", "Initializer", combo(
            INITIALIZERS, tip="How weights are drawn at the start, for layers that do not choose their own."
        ))
        rows.field("l1", "L1 penalty", science(
            0.0, 1.0, "Add this times the sum of absolute weights to the loss, pushing weights to exactly zero."
        ))
        rows.field("l2", "L2 penalty", science(
            0.0, 1.0, "Add this times the sum of squared weights to the loss, keeping weights small."
        ))


# The gradient-descent modes of model.catalogue.MODE_LABELS, and the batch size each stands for.
FULL, MINI, STOCHASTIC = "full", "mini", "stochastic"


def batch_widgets(batch_size: Any) -> tuple[Any, Any]:
    """``batch_size`` as (descent mode, batch size box); the box keeps its number unless mini."""
    if batch_size == "full":
        return FULL, KEEP
    if batch_size == 1:
        return STOCHASTIC, KEEP
    return MINI, batch_size


def batch_size_of(mode: str, size: int) -> int | str:
    """The ``batch_size`` a descent mode and the batch size box stand for."""
    return {FULL: "full", STOCHASTIC: 1}.get(mode, size)


class BatchesSection(Section):
    title = "Batches and epochs"
    about = "How many samples each update uses and how long training runs."

    def build(self, rows: FormRows) -> None:
        self._train_count: int | None = None
        mode = rows.add("Descent", combo(
            tuple(MODE_LABELS), MODE_LABELS,
            "How many samples each gradient step averages over: all, a batch, or one.",
        ), "batch_mode")
        size = rows.add("Batch size", spin(
            2, 1_000_000, "Samples per mini-batch: larger batches give smoother but fewer updates.", "sample", value=128
        ), "batch_size")
        self._about = rows.add(None, explanation(), "batch_mode_about")
        self.binder.bind_composite("batch_size", (mode, size), batch_widgets, batch_size_of, errors=rows.errors)
        self.binder.show_when(size, lambda _path, value: value("batch_size") not in ("full", 1))
        rows.field("epochs", "Epochs", spin(1, 100_000, "How many times training goes through all training samples."))
        rows.field("report_every", "Report every", spin(
            1, 100_000, "Record loss, accuracy and gradient norms every this many batches.", "batch"
        ))
        self.binder.when_shown("batch_size", self._show_mode_text)

    def set_train_count(self, n: int | None) -> None:
        """How many training samples there are, to count updates per epoch."""
        self._train_count = n if n is None else max(0, int(n))
        self._show_mode_text(self.binder.value("batch_size"))

    def _show_mode_text(self, batch_size: int | str) -> None:
        n = self._train_count
        if batch_size == "full":
            text = "Full batch: one exact gradient step per epoch"
            text += f" over all {n:,} samples." if n else " over all training samples."
            text += " Smooth but slow."
        elif batch_size == 1:
            text = (
                f"Stochastic: {count(n, 'noisy update')} per epoch, one per sample."
                if n
                else "Stochastic: one noisy update per sample."
            )
        else:
            batch = int(batch_size)
            text = (
                f"Mini-batch: {count(-(-n // batch), 'update')} per epoch of {count(n, 'sample')}."
                if n
                else f"Mini-batch: one update per {batch:,} samples."
            )
        self._about.setText(text)


class EarlyStoppingSection(Section):
    title = "Early stopping"
    about = "Stop training by itself once it stops improving."
    expanded = False
    owns = ("early_stopping",)

    def build(self, rows: FormRows) -> None:
        on = "early_stopping.enabled"
        rows.field(on, None, check(
            "Stop when progress stalls", "Stop training once the monitored value stops improving."
        ))
        rows.field("early_stopping.monitor", "Monitor", combo(
            MONITORS, MONITOR_TEXT, "The value whose improvement is watched."
        ), depends_on=on)
        rows.field("early_stopping.patience", "Patience", spin(
            0, 10000, "Epochs without improvement before training stops.", "epoch"
        ), depends_on=on)
        rows.field("early_stopping.min_delta", "Min change", science(
            0.0, 1e6, "The smallest change that counts as an improvement.", 1e-4
        ), depends_on=on)
        rows.field("early_stopping.restore_best_weights", None, check(
            "Restore best weights", "At the end, go back to the weights of the best epoch."
        ), depends_on=on)
