"""One trial on a Ray worker: the function Ray Tune runs, and the listener that streams it home.

:func:`run_trial` is the Tune trainable. It gets the trial's index from Tune's config and,
through ``tune.with_parameters`` (Ray's object store), the :class:`TrialPlan` (every
trial's configuration), the prepared data and the driver's record hub. It trains with
:func:`model.training.train` in a Ray worker process, with TensorFlow limited to the CPUs Ray
reserved for the trial. Tune reuses a worker for the next trial (TensorFlow's import
costs seconds), so each trial first clears Keras's global state; the seed set when the
model is built then fixes the weights and the batch order as in a fresh process.

:class:`HubListener` streams the run to the hub (:mod:`model.experiments.stream` says how
often) and reads the hub's answer to each push: a stop order stops the run within a batch
through its :class:`~model.events.RunControl`.

How a trial ends decides what a resume does with it (Tune's own state is what
``Tuner.restore`` reads):

- trained to its end, or stopped by the user: the function returns; Tune marks it
  terminated and a resume keeps it;
- cannot be built on the data (a :class:`~model.errors.ProjectError`): it reports
  ``failed`` and returns; a resume keeps it (it would fail again);
- stopped because the whole comparison was stopped, or crashed: it raises; Tune marks it
  errored, and a resume (``restart_errored``) runs it again.

Ray is imported at the top: only the Ray driver imports this module, and Ray's workers.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import tune

from model.errors import ProjectError
from model.events import (
    BatchRecord,
    EndReason,
    EpochRecord,
    NullListener,
    RunControl,
    RunFinished,
    RunStarted,
)
from model.experiments.hub import STOP_ALL
from model.experiments.local import end_state
from model.experiments.recorder import TrialUpdate
from model.experiments.spec import Trial
from model.experiments.stream import FLUSH_INTERVAL, BatchThrottle
from model.experiments.table import TrialState
from model.experiments.trialdata import TrialData, data_key
from model.tasks import Failure


class TrialInterrupted(Exception):
    """The comparison was stopped while this trial ran: Tune marks it errored, a resume reruns it."""


@dataclass(frozen=True)
class TrialPlan:
    """What every trial of a comparison needs besides its index: the trials and the threads each uses."""

    trials: tuple[Trial, ...]
    threads: int


class HubListener(NullListener):
    """Sends a run's records to the hub, throttled, and obeys the hub's stop orders."""

    def __init__(self, hub: Any, trial_id: int, control: RunControl) -> None:
        self.hub = hub
        self.trial_id = trial_id
        self.control = control
        self.order: str | None = None
        self._throttle = BatchThrottle()
        self._pending: list[object] = []
        self._reply: Any = None
        self._flushed = time.monotonic()

    def _obey(self, order: str | None) -> None:
        if order is not None and self.order is None:
            self.order = order
            self.control.stop()

    def flush(self, wait: bool = False) -> None:
        """Send what is waiting (or ask for stop orders); with ``wait``, until the hub has it."""
        if self._reply is not None:
            ready, _ = ray.wait([self._reply], timeout=None if wait else 0)
            if ready:
                self._obey(ray.get(self._reply))
                self._reply = None
        if self._reply is None:
            if self._pending:
                self._reply = self.hub.push.remote(self.trial_id, self._pending)
                self._pending = []
            else:
                self._reply = self.hub.stop_order.remote(self.trial_id)
        self._flushed = time.monotonic()
        if wait and self._reply is not None:
            self._obey(ray.get(self._reply))
            self._reply = None

    def send(self, item: object, *, wait: bool = True) -> None:
        self._pending.append(item)
        self.flush(wait=wait)

    def on_run_start(self, info: RunStarted) -> None:
        self.send(info, wait=False)

    def on_batch(self, record: BatchRecord) -> None:
        if self._throttle.keep(record):
            self._pending.append(record)
        if time.monotonic() - self._flushed >= FLUSH_INTERVAL:
            self.flush()

    def on_epoch(self, record: EpochRecord) -> None:
        self.send(record, wait=False)
        metrics = {"epoch": record.epoch + 1, "loss": record.loss, "accuracy": record.accuracy}
        if record.val_loss is not None and record.val_accuracy is not None:
            metrics.update(val_loss=record.val_loss, val_accuracy=record.val_accuracy)
        tune.report(metrics)

    def on_run_end(self, info: RunFinished) -> None:
        self.send(info)


def _limit_threads(threads: int) -> None:
    """TensorFlow uses the CPUs Ray reserved for the trial, no more (a fresh worker: not yet started)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran in this worker (a reused one): it keeps its threads
        pass


def run_folder_files(result: Any) -> dict[str, bytes]:
    """The files of ``result``'s run folder, written here (on the worker) and read back."""
    from model.runfolder import save_run

    with tempfile.TemporaryDirectory(prefix="gradient-lab-trial-") as tmp:
        folder = save_run(result, Path(tmp) / "run")
        return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def run_trial(params: dict[str, Any], *, plan: TrialPlan, data: dict[str, TrialData | Failure], hub: Any) -> None:
    """Train trial ``params["trial"]`` of ``plan`` and stream it to ``hub`` (the module docstring)."""
    trial_id = int(params["trial"])
    trial = plan.trials[trial_id]
    node = ray.util.get_node_ip_address()
    control = RunControl()
    listener = HubListener(hub, trial_id, control)
    listener.send(TrialUpdate(trial_id, TrialState.RUNNING, f"training on {node}", node))
    if listener.order is not None:
        _end_stopped(listener, trial_id, "stopped before it started")
        return
    prepared = data[data_key(trial.config)]
    if isinstance(prepared, Failure):
        listener.send(TrialUpdate(trial_id, TrialState.FAILED, prepared.message, node))
        return
    _limit_threads(plan.threads)
    import keras

    keras.backend.clear_session()  # a reused worker: nothing of the previous trial's Keras state
    from model.training import train

    try:
        result = train(
            trial.config, prepared.split, listener=listener, control=control, run_id=trial_id, data=prepared.info
        )
        files = run_folder_files(result)
    except ProjectError as exc:
        listener.send(TrialUpdate(trial_id, TrialState.FAILED, str(exc), node))
        return
    except Exception as exc:
        listener.send(TrialUpdate(trial_id, TrialState.FAILED, Failure.of(exc, "Training").message, node))
        raise
    ray.get(hub.put_folder.remote(trial_id, files))
    reason = result.finished.reason
    if reason is EndReason.STOPPED:
        _end_stopped(listener, trial_id, result.finished.message)
        return
    listener.send(TrialUpdate(trial_id, end_state(reason), result.finished.message, node))


def _end_stopped(listener: HubListener, trial_id: int, message: str) -> None:
    listener.send(TrialUpdate(trial_id, TrialState.STOPPED, message))
    if listener.order == STOP_ALL:
        raise TrialInterrupted(f"trial {trial_id + 1}: the comparison was stopped; a resume runs it again")
