"""What a comparison knows about its trials, live or read back, and the recorder that gathers it.

:class:`TrialRun` is one trial as far as it got: its state, its curves (the epoch records
and the throttled per-batch :class:`BatchCurves`), how it ended and where its run folder
is. :class:`ComparisonState` is all of them with their experiment; the same record comes
from a running comparison (:meth:`ComparisonRecorder.snapshot`) and from a folder
(:func:`model.experiments.store.load_comparison`), so a view draws both the same way.

:class:`ComparisonRecorder` is fed by an engine's driver thread (records and state
changes, by trial id) and read from any thread (a view asking for the table): a lock
guards it, and what it hands out are frozen copies.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from model.events import BatchRecord, DataReady, EpochRecord, RunFinished, RunStarted
from model.experiments.spec import Experiment, Trial
from model.experiments.table import ResultsTable, TrialState, summarize

TrialRecord = DataReady | RunStarted | BatchRecord | EpochRecord | RunFinished
"""What a trial streams, in this order: data, start, batches and epochs, finish."""


@dataclass(frozen=True)
class TrialUpdate:
    """A trial changed state. ``message`` says why it ended, or where it runs."""

    trial_id: int
    state: TrialState
    message: str = ""
    node: str = ""


@dataclass(frozen=True, eq=False)
class BatchCurves:
    """A trial's reported batches (throttled), as arrays: one entry per reported batch.

    ``grad_norms`` has one column per layer with weights (:attr:`TrialRun.layer_names`).
    """

    step: np.ndarray
    epoch: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    learning_rate: np.ndarray
    grad_norms: np.ndarray

    @classmethod
    def empty(cls, layers: int = 0) -> BatchCurves:
        return cls.of([], layers)

    @classmethod
    def of(cls, records: list[BatchRecord], layers: int) -> BatchCurves:
        width = len(records[0].grad_norms) if records else layers
        grads = np.zeros((len(records), width), dtype=np.float32)
        for i, r in enumerate(records):
            if len(r.grad_norms) == width:
                grads[i] = r.grad_norms
        return cls(
            step=np.array([r.step for r in records], dtype=np.int64),
            epoch=np.array([r.epoch for r in records], dtype=np.int64),
            loss=np.array([r.loss for r in records], dtype=np.float64),
            accuracy=np.array([r.accuracy for r in records], dtype=np.float64),
            learning_rate=np.array([r.learning_rate for r in records], dtype=np.float64),
            grad_norms=grads,
        )

    def __len__(self) -> int:
        return len(self.step)


@dataclass(frozen=True, eq=False)
class TrialRun:
    """One trial of a comparison, as far as it got.

    Attributes:
        rerun: Whether a resume runs it again: it was interrupted or crashed (a trial that
            never ended runs again anyway).
        started: Its :class:`RunStarted` (sizes, layer names), once it began training.
        run_folder: Its run folder (absolute), once written: open it as a normal run with
            :func:`model.runfolder.load_run`.
        node: Where it trained, e.g. the Ray node's address; empty in process.
    """

    trial: Trial
    state: TrialState = TrialState.PENDING
    message: str = ""
    rerun: bool = False
    started: RunStarted | None = None
    history: tuple[EpochRecord, ...] = ()
    batches: BatchCurves = field(default_factory=BatchCurves.empty)
    finished: RunFinished | None = None
    layer_names: tuple[str, ...] = ()
    steps_per_epoch: int = 1
    run_folder: Path | None = None
    node: str = ""

    @property
    def trial_id(self) -> int:
        return self.trial.trial_id


@dataclass(frozen=True, eq=False)
class ComparisonState:
    """A comparison: its experiment, where it is saved, and every trial as far as it got."""

    folder: Path
    experiment: Experiment
    trials: tuple[TrialRun, ...]
    engine: str = ""
    address: str | None = None

    @property
    def table(self) -> ResultsTable:
        rows = []
        for run in self.trials:
            folder = None
            if run.run_folder is not None:
                try:
                    folder = str(run.run_folder.relative_to(self.folder))
                except ValueError:
                    folder = str(run.run_folder)
            rows.append(
                summarize(
                    run.trial,
                    run.history,
                    state=run.state,
                    message=run.message,
                    finished=run.finished,
                    layer_names=run.layer_names,
                    target_accuracy=self.experiment.target_accuracy,
                    run_folder=folder,
                )
            )
        return ResultsTable(tuple(rows))

    def trial(self, trial_id: int) -> TrialRun:
        return self.trials[trial_id]


@dataclass
class _Log:
    run: TrialRun
    batches: list[BatchRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    saved: BatchCurves | None = None  # the curves of a trial read back from disk


class ComparisonRecorder:
    """Gathers every trial's records and states; thread-safe, hands out frozen snapshots."""

    def __init__(self, experiment: Experiment, folder: Path, *, engine: str = "", address: str | None = None) -> None:
        self.experiment = experiment
        self.folder = folder
        self.engine = engine
        self.address = address
        self._lock = threading.Lock()
        self._logs = [_Log(TrialRun(trial)) for trial in experiment.trials]

    def restore(self, run: TrialRun) -> None:
        """Take a trial as it was saved (a resumed comparison keeps its finished trials)."""
        with self._lock:
            self._logs[run.trial_id] = _Log(run, [], list(run.history), run.batches)

    def record(self, trial_id: int, record: TrialRecord) -> None:
        with self._lock:
            log = self._logs[trial_id]
            if isinstance(record, RunStarted):
                # A trial that starts again (a resume) starts its curves afresh.
                log.batches.clear()
                log.epochs.clear()
                log.saved = None
                log.run = replace(
                    log.run,
                    started=record,
                    finished=None,
                    layer_names=record.layer_names,
                    steps_per_epoch=record.steps_per_epoch,
                )
            elif isinstance(record, BatchRecord):
                log.batches.append(record)
            elif isinstance(record, EpochRecord):
                log.epochs.append(record)
            elif isinstance(record, RunFinished):
                log.run = replace(log.run, finished=record)

    def set_state(
        self,
        trial_id: int,
        state: TrialState,
        message: str | None = None,
        *,
        rerun: bool | None = None,
        node: str | None = None,
    ) -> TrialRun:
        """Change a trial's state (and what is given of its message, rerun flag and node)."""
        with self._lock:
            log = self._logs[trial_id]
            run = log.run
            log.run = replace(
                run,
                state=state,
                message=run.message if message is None else message,
                rerun=run.rerun if rerun is None else rerun,
                node=run.node if node is None else node,
            )
            return self._frozen(log)

    def set_folder(self, trial_id: int, folder: Path) -> None:
        with self._lock:
            log = self._logs[trial_id]
            log.run = replace(log.run, run_folder=folder)

    def run(self, trial_id: int) -> TrialRun:
        with self._lock:
            return self._frozen(self._logs[trial_id])

    def snapshot(self) -> ComparisonState:
        with self._lock:
            trials = tuple(self._frozen(log) for log in self._logs)
        return ComparisonState(self.folder, self.experiment, trials, self.engine, self.address)

    @staticmethod
    def _frozen(log: _Log) -> TrialRun:
        if log.saved is not None and not log.batches:
            batches = log.saved
        else:
            batches = BatchCurves.of(list(log.batches), len(log.run.layer_names))
        return replace(log.run, history=tuple(log.epochs), batches=batches)

