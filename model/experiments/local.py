"""The in-process engine: a comparison's trials trained one after another in the driver thread.

No Ray: each trial is a plain :func:`model.training.train` call on the shared split, its
records throttled like a Ray trial's (:mod:`model.experiments.stream`) and its run folder
written straight into the comparison folder. It is the baseline the Ray benchmark
compares with, and what tests use when the engine is not what they test. Keras's
global state is cleared between trials, so each builds from the same clean slate; the
seed set at build time fixes the weights and the batch order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from model.experiments.store import trial_folder
from model.experiments.stream import BatchThrottle
from model.experiments.table import TrialState
from model.experiments.trialdata import TrialData, data_key, prepare_trials
from model.tasks import Failure

if TYPE_CHECKING:
    from model.experiments.link import DriverLink

FINISHED_REASONS = (EndReason.COMPLETED, EndReason.EARLY_STOPPING, EndReason.NAN)


class _TrialListener(NullListener):
    """Forwards a trial's records to the comparison and turns its stop requests into a stop."""

    def __init__(self, link: DriverLink, trial_id: int, control: RunControl) -> None:
        self.link = link
        self.trial_id = trial_id
        self.control = control
        self.throttle = BatchThrottle()

    def on_run_start(self, info: RunStarted) -> None:
        self.link.record(self.trial_id, info)

    def on_batch(self, record: BatchRecord) -> None:
        if self.link.stop_requested(self.trial_id):
            self.control.stop()
        if self.throttle.keep(record):
            self.link.record(self.trial_id, record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.link.record(self.trial_id, record)

    def on_run_end(self, info: RunFinished) -> None:
        self.link.record(self.trial_id, info)


def end_state(reason: EndReason) -> TrialState:
    """A trained trial's state: a NaN loss is a finding of the comparison, not a failure."""
    return TrialState.FINISHED if reason in FINISHED_REASONS else TrialState.STOPPED


def drive_in_process(link: DriverLink) -> None:
    """Train every trial that still needs it, in order, in this thread."""
    import keras

    from model.runfolder import save_run
    from model.training import train

    pending = link.pending()
    link.notice(f"training {len(pending)} trials one after another in this process")
    data = prepare_trials(pending)
    for trial in pending:
        tid = trial.trial_id
        if link.stop_requested(tid):
            link.set_state(tid, TrialState.STOPPED, "stopped before it started")
            continue
        prepared = data[data_key(trial.config)]
        if isinstance(prepared, Failure):
            link.set_state(tid, TrialState.FAILED, prepared.message)
            continue
        assert isinstance(prepared, TrialData)
        link.set_state(tid, TrialState.RUNNING, "training in this process", node="this process")
        link.record(tid, prepared.ready(tid))
        control = RunControl()
        try:
            result = train(
                trial.config,
                prepared.split,
                listener=_TrialListener(link, tid, control),
                control=control,
                run_id=tid,
                data=prepared.info,
            )
            folder = save_run(result, trial_folder(link.out_dir, trial))
        except ProjectError as exc:
            link.set_state(tid, TrialState.FAILED, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one trial's crash must not end the others
            link.set_state(tid, TrialState.FAILED, Failure.of(exc, "Training").message, rerun=True)
            continue
        finally:
            keras.backend.clear_session()
        link.set_folder(tid, folder)
        link.set_state(tid, end_state(result.finished.reason), result.finished.message)
