"""The driver's side of a comparison: what an engine reports to, and asks about stops.

A :class:`DriverLink` ties together, for one comparison, the recorder (what every trial
did so far), the comparison folder (saved at every state change) and the listener (told
of every record and change), and holds the stop requests the caller made. Engines
(:mod:`model.experiments.local`, :mod:`model.experiments.ray_driver`) get only this
object; the caller's handle (:class:`model.experiments.engine.Comparison`) wraps it.

Every listener call comes from the driver thread, one at a time; a listener that raises
is logged and ignored, so a view's bug cannot end the trials.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

from model.errors import ProjectError
from model.experiments.recorder import ComparisonRecorder, ComparisonState, TrialRecord, TrialRun, TrialUpdate
from model.experiments.spec import Experiment, Trial
from model.experiments.store import save_all, save_state
from model.experiments.table import TrialState
from model.tasks import Failure

log = logging.getLogger(__name__)

CLUSTER_NOTICE: Final = (
    "On a Ray cluster each trial trains on one node: Keras's multi-worker strategy does not work "
    "with Keras 3 on TensorFlow (keras-team/keras#20585), so one trial is never spread over "
    "several machines; the cluster runs several trials at once instead."
)


class ComparisonListener(Protocol):
    """Hears a comparison; called from its driver thread, one call at a time."""

    def on_record(self, trial_id: int, record: TrialRecord) -> None: ...

    def on_trial_state(self, update: TrialUpdate) -> None: ...

    def on_notice(self, text: str) -> None:
        """Something for people about the whole comparison (Ray started, a cluster's limits)."""
        ...

    def on_finished(self, state: ComparisonState) -> None:
        """Sent once, last: every trial as it ended, after the folder is written."""
        ...


class NullComparisonListener:
    """A listener that ignores everything; subclass and override what you need."""

    def on_record(self, trial_id: int, record: TrialRecord) -> None:
        pass

    def on_trial_state(self, update: TrialUpdate) -> None:
        pass

    def on_notice(self, text: str) -> None:
        pass

    def on_finished(self, state: ComparisonState) -> None:
        pass


def needs_run(run: TrialRun) -> bool:
    """Whether a (resumed) comparison runs this trial: it never ended, was interrupted or crashed."""
    return not run.state.over or (run.state in (TrialState.STOPPED, TrialState.FAILED) and run.rerun)


class DriverLink:
    """One comparison as its engine sees it (module docstring)."""

    def __init__(
        self,
        experiment: Experiment,
        out_dir: Path,
        listener: ComparisonListener,
        *,
        engine: str,
        address: str | None,
        previous: ComparisonState | None = None,
    ) -> None:
        self.experiment = experiment
        self.trials: tuple[Trial, ...] = experiment.trials
        self.out_dir = out_dir
        self.address = address
        self.listener = listener
        self.recorder = ComparisonRecorder(experiment, out_dir, engine=engine, address=address)
        self.failure: Failure | None = None  # the driver's own failure (Ray would not start ...)
        self.startup_seconds: float | None = None  # starting (or connecting to) Ray
        self._lock = threading.Lock()
        self._stop_all = threading.Event()
        self._stopped: set[int] = set()
        if previous is not None:
            for run in previous.trials:
                if not needs_run(run):
                    self.recorder.restore(run)

    # ------------------------------------------------------------------ stop requests (any thread)
    def request_stop(self, trial_id: int) -> None:
        with self._lock:
            self._stopped.add(trial_id)

    def request_stop_all(self) -> None:
        self._stop_all.set()

    def stop_requests(self) -> tuple[bool, frozenset[int]]:
        """Whether all trials are to stop, and which ones the user stopped one by one."""
        with self._lock:
            return self._stop_all.is_set(), frozenset(self._stopped)

    def stop_requested(self, trial_id: int) -> bool:
        with self._lock:
            return self._stop_all.is_set() or trial_id in self._stopped

    # ------------------------------------------------------------------ reports (driver thread)
    def pending(self) -> list[Trial]:
        """The trials this run of the comparison still has to train."""
        return [t for t in self.trials if not self.recorder.run(t.trial_id).state.over]

    def record(self, trial_id: int, record: TrialRecord) -> None:
        self.recorder.record(trial_id, record)
        self._tell(lambda: self.listener.on_record(trial_id, record))

    def set_state(
        self,
        trial_id: int,
        state: TrialState,
        message: str = "",
        *,
        node: str | None = None,
        rerun: bool | None = None,
    ) -> TrialRun:
        """Change a trial's state, save the folder's record of it, and tell the listener.

        ``rerun`` (whether a resume runs it again) defaults to: stopped by a stop of the
        whole comparison, not by a stop of this trial.
        """
        if rerun is None:
            stop_all, stopped = self.stop_requests()
            rerun = state is TrialState.STOPPED and stop_all and trial_id not in stopped
        run = self.recorder.set_state(trial_id, state, message, rerun=rerun, node=node)
        self.save()
        self._tell(lambda: self.listener.on_trial_state(TrialUpdate(trial_id, state, message, run.node)))
        return run

    def set_folder(self, trial_id: int, folder: Path) -> None:
        self.recorder.set_folder(trial_id, folder)

    def notice(self, text: str) -> None:
        self._tell(lambda: self.listener.on_notice(text))

    def save(self) -> None:
        """Write ``comparison.json`` and ``results.csv`` as they stand (a failure is logged)."""
        try:
            save_state(self.recorder.snapshot())
        except ProjectError as exc:  # a full disk must not end the trials; the end says so again
            log.warning("could not save the comparison state: %s", exc)

    def _tell(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - a listener's bug must not end the comparison
            log.exception("comparison listener failed")

    def run(self, drive: Callable[[DriverLink], None]) -> None:
        """Run ``drive(self)``, then mark what never ended, write every file and tell the listener."""
        try:
            drive(self)
        except Exception as exc:  # noqa: BLE001 - reaches the listener and the handle, for people
            self.failure = Failure.of(exc, "The comparison")
            log.debug("comparison driver failed", exc_info=exc)
            self.notice(self.failure.message)
        finally:
            self._finish()

    def _finish(self) -> None:
        stop_all, _ = self.stop_requests()
        for run in self.recorder.snapshot().trials:
            if run.state.over:
                continue
            if self.failure is not None:
                why = self.failure.message
            elif stop_all:
                why = "the comparison was stopped before this trial ended"
            else:
                why = "the engine ended without this trial"
            self.set_state(run.trial_id, TrialState.STOPPED, why, rerun=True)
        state = self.recorder.snapshot()
        try:
            save_all(state)
        except ProjectError as exc:
            self.notice(f"could not write the comparison's files: {exc}")
        except Exception as exc:  # noqa: BLE001 - the plot is a convenience; the results are saved
            self.notice(f"could not draw the comparison plot: {type(exc).__name__}: {exc}")
        self._tell(lambda: self.listener.on_finished(state))
