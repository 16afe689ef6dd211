"""Keras callbacks that stream a run to a listener and carry out the user's controls.

:class:`StreamingCallback` is the one per-batch hook of a run. After every batch it does
O(1) work: honour stop / pause / learning-rate requests, answer waiting prediction
requests, copy the weights to a :class:`~model.events.SnapshotTap` when one is due (every
quarter second while the tap is followed, when one is asked for, also during a
validation pass, and when the run pauses), and, every ``report_every``
batches, read the figures the training step already wrote to the
:class:`~model.builder.TrainingProbe` and hand a :class:`~model.events.BatchRecord` to the
listener. At epoch end it reports true epoch
averages (Keras's metric means, the probe's summed gradient norms) and keeps a copy of the
best weights so a stopped run can still return its best model.

:class:`LearningRateController` applies the configured schedule per epoch and keeps
working when the user sets a new rate while paused.

:class:`CheckpointCallback` is a thin shell: the autosave's format belongs to
:func:`model.runfolder.autosave.write_checkpoint`, which it calls after every epoch.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from model.batches import BatchHistory, BatchLog, continued
from model.builder import TrainingProbe
from model.config import RunConfig, ScheduleSpec
from model.events import (
    BatchRecord,
    EndReason,
    EpochRecord,
    PredictionMailbox,
    RunControl,
    SnapshotTap,
    TrainingListener,
    WeightSnapshot,
)
from model.runfolder.autosave import write_checkpoint
from model.words import count


class LearningRateController(keras.callbacks.Callback):  # type: ignore[misc]
    """Sets the optimizer's learning rate at the start of each epoch from a schedule.

    The rate is ``base * multiplier(epoch)``; a rate set by the user mid-run rescales
    ``base`` so the schedule continues from the new value. ``plateau`` lowers the
    multiplier when validation loss (or loss, without validation) has not improved by more
    than the schedule's ``min_delta`` for ``patience`` epochs.
    """

    def __init__(self, schedule: ScheduleSpec, base_rate: float, epochs: int) -> None:
        super().__init__()
        self.schedule = schedule
        self.base_rate = base_rate
        self.epochs = epochs
        self._plateau_multiplier = 1.0
        self._best = math.inf
        self._wait = 0
        self._epoch = 0
        self.rate = base_rate  # what the optimizer uses now; kept here to avoid device reads

    def multiplier(self, epoch: int) -> float:
        s = self.schedule
        if s.kind == "step":
            return float(s.factor ** (epoch // s.step_epochs))
        if s.kind == "exponential":
            return float(s.factor**epoch)
        if s.kind == "cosine":
            floor = min(s.min_learning_rate / self.base_rate, 1.0)
            progress = min(1.0, epoch / max(1, self.epochs))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
        if s.kind == "plateau":
            return self._plateau_multiplier
        return 1.0

    def rate_for(self, epoch: int) -> float:
        rate = self.base_rate * self.multiplier(epoch)
        if self.schedule.kind in ("plateau", "cosine"):
            rate = max(rate, min(self.schedule.min_learning_rate, self.base_rate))
        return rate

    def set_rate_now(self, rate: float) -> None:
        """Use ``rate`` from now on; later epochs follow the schedule from it."""
        multiplier = self.multiplier(self._epoch) or 1.0
        self.base_rate = rate / multiplier
        self._apply(rate)

    def _apply(self, rate: float) -> None:
        self.rate = rate
        self.model.optimizer.learning_rate.assign(rate)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._apply(self.rate_for(epoch))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.schedule.kind != "plateau" or not logs:
            return
        value = logs.get("val_loss", logs.get("loss"))
        if value is None or not math.isfinite(value):
            return
        if value < self._best - self.schedule.min_delta:
            self._best, self._wait = value, 0
            return
        self._wait += 1
        if self._wait >= self.schedule.patience:
            self._plateau_multiplier *= self.schedule.factor
            self._wait = 0


class StreamingCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Streams batch and epoch records to a listener and obeys a :class:`RunControl`.

    Attributes set during the run, read by :func:`model.training.train` afterwards:
    ``reason`` / ``message`` (why the run ended early, if it did), ``history`` (the
    epoch records), ``batches`` (every batch record reported, as a
    :class:`~model.batches.BatchLog`), ``best_weights`` / ``best_epoch`` (of the inner
    model, by validation loss, or training loss without validation).
    """

    def __init__(
        self,
        *,
        run_id: int,
        probe: TrainingProbe,
        inner: keras.Model,
        listener: TrainingListener,
        control: RunControl,
        mailbox: PredictionMailbox | None,
        lr_controller: LearningRateController,
        report_every: int,
        steps_per_epoch: int,
        epochs: int,
        batch_size: int,
        n_train: int,
        initial_epoch: int = 0,
        snapshots: SnapshotTap | None = None,
    ) -> None:
        super().__init__()
        self.run_id = run_id
        self.probe = probe
        self.inner = inner
        self.listener = listener
        self.control = control
        self.mailbox = mailbox
        self.lr = lr_controller
        self.report_every = report_every
        self.steps_per_epoch = steps_per_epoch
        self.epochs = epochs
        self.batch_size = batch_size
        self.n_train = n_train
        self.initial_epoch = initial_epoch
        self.snapshots = snapshots

        self.reason = EndReason.COMPLETED
        self.message = ""
        self.history: list[EpochRecord] = []
        self.batches = BatchLog(tuple(layer.name for layer in inner.layers if layer.trainable_weights))
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch: int | None = None
        self._best_value = math.inf
        self._step = initial_epoch * steps_per_epoch
        self._epoch = initial_epoch
        self._batches_in_epoch = 0
        self._epoch_start = 0.0
        self._epoch_paused = 0.0
        self._report_time = 0.0
        self._report_step = 0
        self._run_start = 0.0
        self._run_paused = 0.0
        self._notes: list[str] = []
        self._stepping = False  # this batch was let through a pause by RunControl.step()

    # ----------------------------------------------------------------- helpers
    def _now(self) -> float:
        return time.perf_counter()

    def _end(self, reason: EndReason, message: str) -> None:
        if self.reason is EndReason.COMPLETED:
            self.reason, self.message = reason, message
        self.model.stop_training = True

    # ----------------------------------------------------------------- hooks
    def _snapshot(self, batch: int, paused: bool = False) -> None:
        """Hand a copy of the weights to the snapshot tap (a few ms for a large model)."""
        assert self.snapshots is not None
        asked = self.control.pause_asked_at if paused else None
        self.snapshots.take(
            WeightSnapshot(self.run_id, self._step, self._epoch, batch, self.inner.get_weights(), paused, asked)
        )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._run_start = self._report_time = self._now()
        self._report_step = self._step
        self.control.batch_ended(self._step)
        if self.snapshots is not None:
            self._snapshot(-1)  # the model before its first batch (or as resumed)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._batches_in_epoch = 0
        self._epoch_start = self._now()
        self._epoch_paused = 0.0
        self.probe.reset_epoch()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._step += 1
        self.control.batch_ended(self._step)
        self._batches_in_epoch = batch + 1
        # Report first, so the batch that just ended is shown before a pause or stop acts.
        # A batch run by a step is always reported: stepping is for watching each batch.
        if self._step % self.report_every == 0 or self._stepping:
            self._report_batch(batch)
        self._stepping = False
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self._end(
                EndReason.NAN,
                f"the loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}: training "
                "diverged. Lower the learning rate, add gradient clipping, or use batch normalization.",
            )
            return
        control = self.control
        # Read once: a pause that lands between the snapshot and the gate would otherwise
        # hold the run with no paused snapshot sent (the window never learns it paused).
        paused = control.paused
        if self.snapshots is not None and (paused or self.snapshots.due()):
            self._snapshot(batch, paused=paused)
        if paused:
            paused_at = self._now()
            self._stepping = control.wait_if_paused(self.mailbox)
            pause = self._now() - paused_at
            self._epoch_paused += pause
            self._run_paused += pause
            self._report_time += pause
        new_rate = control.take_learning_rate()
        if new_rate is not None:
            old = self.lr.rate
            self.lr.set_rate_now(new_rate)
            self._notes.append(
                f"learning rate changed from {old:.3g} to {new_rate:.3g} at epoch {self._epoch + 1}, "
                f"batch {batch + 1} (step {self._step})"
            )
        if self.mailbox is not None:
            self.mailbox.serve_pending()
        if control.stop_requested:
            self._end(EndReason.STOPPED, f"stopped by the user at epoch {self._epoch + 1}, batch {batch + 1}")

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.probe.reset_confusion()  # the epoch's validation pass starts its own count

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # A stop request also cuts the epoch's validation pass short.
        if self.control.stop_requested:
            self.model.stop_evaluating = True
        # The Draw tab opened during a long validation pass: its model now, not the one
        # of the last snapshot (epochs old when nobody followed the run).
        if self.snapshots is not None and self.snapshots.requested():
            self._snapshot(self._batches_in_epoch - 1)

    def _report_batch(self, batch: int) -> None:
        now = self._now()
        elapsed = now - self._report_time
        steps = self._step - self._report_step
        rate = steps * self.batch_size / elapsed if elapsed > 0 else 0.0
        self._report_time, self._report_step = now, self._step
        total = self.epochs * self.steps_per_epoch
        run_steps = self._step - self.initial_epoch * self.steps_per_epoch
        run_time = now - self._run_start - self._run_paused
        per_step = run_time / run_steps if run_steps else 0.0
        reading = self.probe.read_all()
        record = BatchRecord(
            run_id=self.run_id,
            epoch=self._epoch,
            batch=batch,
            step=self._step - 1,
            loss=reading.loss,
            accuracy=reading.accuracy,
            learning_rate=self.lr.rate,
            grad_norms=reading.grad_norms,
            weight_norms=reading.weight_norms,
            samples_per_second=rate,
            progress=min(1.0, self._step / total) if total else 1.0,
            seconds_remaining=max(0.0, (total - self._step) * per_step),
            update_ratios=reading.update_ratios,
            dead_shares=reading.dead_shares,
            saturated_shares=reading.saturated_shares,
        )
        self.batches.append(record)
        self.listener.on_batch(record)

    def _weight_norms(self) -> np.ndarray:
        """Exact per-layer weight norms of the inner model, now (once per epoch)."""
        return np.array(
            [
                np.sqrt(sum(float(np.sum(np.square(w.numpy(), dtype=np.float64))) for w in layer.trainable_weights))
                for layer in self.inner.layers
                if layer.trainable_weights
            ]
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        seconds = self._now() - self._epoch_start - self._epoch_paused
        partial = self._batches_in_epoch < self.steps_per_epoch
        notes = list(self._notes)
        self._notes.clear()
        if partial:
            notes.append(f"partial epoch: {self._batches_in_epoch} of {count(self.steps_per_epoch, 'batch')}")
        val_loss = logs.get("val_loss")
        val_acc = logs.get("val_accuracy")
        if partial:  # an interrupted validation pass is not a figure to plot
            val_loss = val_acc = None
        samples = min(self._batches_in_epoch * self.batch_size, self.n_train)
        weight_norms = self._weight_norms()
        update_ratios, dead_shares, saturated_shares = self.probe.epoch_health(weight_norms)
        record = EpochRecord(
            run_id=self.run_id,
            epoch=epoch,
            loss=float(logs.get("loss", math.nan)),
            accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=None if val_loss is None else float(val_loss),
            val_accuracy=None if val_acc is None else float(val_acc),
            learning_rate=self.lr.rate,
            grad_norms=self.probe.epoch_mean_grad_norms(),
            weight_norms=weight_norms,
            seconds=seconds,
            samples_per_second=samples / seconds if seconds > 0 else 0.0,
            note="; ".join(notes),
            partial=partial,
            update_ratios=update_ratios,
            dead_shares=dead_shares,
            saturated_shares=saturated_shares,
            val_confusion=None if val_loss is None else self.probe.read_confusion(),
        )
        self.history.append(record)
        if not partial:
            value = record.val_loss if record.val_loss is not None else record.loss
            if math.isfinite(value) and value < self._best_value:
                self._best_value = value
                self.best_epoch = epoch
                self.best_weights = self.inner.get_weights()
        self.listener.on_epoch(record)


class CheckpointCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Autosave: after every epoch, rewrite the run so far in ``folder``.

    A Keras shell around :func:`model.runfolder.autosave.write_checkpoint`, which owns
    what is written. Runs after ``stream`` in the callback list, so the epoch's record
    and the best epoch are already known.
    """

    def __init__(
        self,
        folder: Path,
        stream: StreamingCallback,
        config: RunConfig,
        total_epochs: int,
        prior_history: list[EpochRecord] | None = None,
        prior_batches: BatchHistory | None = None,
    ) -> None:
        super().__init__()
        self.folder = folder
        self.stream = stream
        self.config = config
        self.total_epochs = total_epochs
        # A resumed run's earlier epochs and batches, so the autosave holds the whole history.
        self.prior_history = list(prior_history or [])
        self.prior_batches = prior_batches

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        stream = self.stream
        inner = stream.inner
        write_checkpoint(
            self.folder,
            model=inner,
            config=self.config,
            history=self.prior_history + stream.history,
            batches=continued(self.prior_batches, stream.batches.history()),
            layer_names=tuple(layer.name for layer in inner.layers if layer.trainable_weights),
            optimizer=self.model.optimizer,
            total_epochs=self.total_epochs,
            best_epoch=stream.best_epoch,
            is_best=stream.best_epoch == epoch,
        )

