"""Training (and other slow work) in a ``QThread``, reported through Qt signals.

The wiring follows superqt's worker pattern: one worker object per job, moved to its own
``QThread``; ``thread.started -> worker.run``, ``worker.finished -> thread.quit``,
``thread.finished -> deleteLater``. A thread is never terminated: a run is stopped by
asking its :class:`~model.events.RunControl`, which the core checks after every batch.

:class:`SignalListener` is the only place where the core's listener calls become Qt
signals. They carry the core's plain records unchanged, each with its ``run_id``, so the
window can drop messages from a run it no longer shows.

Keras's TensorFlow backend is not thread-safe, so everything a run does with Keras
(building, fitting, answering the canvas through the mailbox, evaluating) stays in its
worker thread.
"""

from __future__ import annotations

import logging
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shiboken6
from PySide6.QtCore import QDeadlineTimer, QObject, Qt, QThread, Signal, Slot

from model.config import RunConfig
from model.errors import ProjectError
from model.events import (
    BatchRecord,
    EpochRecord,
    PredictionMailbox,
    RunControl,
    RunFinished,
    RunStarted,
)

if TYPE_CHECKING:
    from model.data import Split
    from model.results import RunResult, SavedRun

log = logging.getLogger(__name__)


class _ThreadKeeper(QObject):
    """Holds every started (thread, worker) pair until its thread has ended.

    One per process, living in the GUI thread, so that a window (or any owner) that is
    destroyed while its worker still runs cannot take a running ``QThread`` with it:
    destroying a running ``QThread`` aborts the process.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pairs: dict[QThread, Worker] = {}

    def keep(self, thread: QThread, worker: Worker) -> None:
        self.pairs[thread] = worker
        thread.finished.connect(self._on_thread_finished)

    def running(self) -> list[QThread]:
        return [t for t in list(self.pairs) if shiboken6.isValid(t) and t.isRunning()]

    def _on_thread_finished(self) -> None:
        thread = self.sender()
        if isinstance(thread, QThread) and thread in self.pairs:
            # finished() is emitted just before the thread's last instructions; wait()
            # returns within microseconds, after which the QThread may be destroyed.
            thread.wait()
            del self.pairs[thread]
        for other in list(self.pairs):
            if not shiboken6.isValid(other) or other.isFinished():
                del self.pairs[other]


_keeper: _ThreadKeeper | None = None


def _thread_keeper() -> _ThreadKeeper:
    global _keeper
    if _keeper is None:
        _keeper = _ThreadKeeper()
    return _keeper


def running_threads() -> list[QThread]:
    """Every thread started by a :class:`WorkerThreads` that is still running."""
    return _thread_keeper().running()


@dataclass(frozen=True)
class DataReady:
    """The dataset of a run has been loaded and split (sent before training starts)."""

    run_id: int
    description: str  # Split.describe(): sizes of train / validation / test
    source: str
    notice: str | None  # e.g. that an offline fallback was used instead of a download
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    # The test inputs, in the order the evaluation scores them (for the confusion view).
    test_images: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RunFailed:
    """A run ended with an exception instead of a :class:`RunFinished`."""

    run_id: int
    message: str  # for people: a ProjectError's message, or the exception in one line
    details: str = ""  # the traceback, for anything that is not a ProjectError


PrepareFn = Callable[[RunConfig], tuple["Split", DataReady]]
TrainFn = Callable[..., "RunResult"]


class SignalListener(QObject):
    """The training listener that turns the core's calls into Qt signals.

    Its methods are called in the training thread; connected slots of objects living in
    the GUI thread therefore run there, queued, in order.
    """

    runStarted = Signal(object)  # RunStarted
    batchReported = Signal(object)  # BatchRecord
    epochReported = Signal(object)  # EpochRecord
    runEnded = Signal(object)  # RunFinished

    def on_run_start(self, info: RunStarted) -> None:
        self.runStarted.emit(info)

    def on_batch(self, record: BatchRecord) -> None:
        self.batchReported.emit(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.epochReported.emit(record)

    def on_run_end(self, info: RunFinished) -> None:
        self.runEnded.emit(info)


class Worker(QObject):
    """One job for one thread. Subclasses implement :meth:`work`; ``finished`` always follows."""

    finished = Signal()

    @Slot()
    def run(self) -> None:
        try:
            self.work()
        finally:
            self.finished.emit()

    def work(self) -> None:
        raise NotImplementedError


class WorkerThreads(QObject):
    """Starts each worker in its own ``QThread``; can wait for the ones it started.

    The wiring is superqt's: ``thread.started -> worker.run``, ``worker.finished ->
    thread.quit``, ``thread.finished -> deleteLater``. ``worker.finished`` quits the thread
    through a direct connection, so a thread ends even while the GUI thread is blocked in
    :meth:`wait` (closing the window). A process-wide keeper holds a reference to each
    pair until its thread has really ended, so neither object is collected while running.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: weakref.WeakSet[QThread] = weakref.WeakSet()

    def start(self, worker: Worker, name: str) -> QThread:
        """Move ``worker`` to a new thread named ``name`` and start it."""
        thread = QThread()
        thread.setObjectName(name)
        worker.moveToThread(thread)
        _thread_keeper().keep(thread, worker)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(thread.deleteLater)
        self._threads.add(thread)
        thread.start()
        return thread

    def running(self) -> int:
        """How many of the threads started here have not ended yet."""
        return sum(1 for t in list(self._threads) if shiboken6.isValid(t) and t.isRunning())

    def wait(self, timeout_s: float) -> bool:
        """Block until every thread started here has ended, or ``timeout_s`` passed.

        Returns whether all ended. Only call this after asking the workers to stop: it
        blocks the calling thread (the workers do not need it to finish).
        """
        deadline = QDeadlineTimer(int(timeout_s * 1000))
        for thread in list(self._threads):
            if shiboken6.isValid(thread) and not thread.wait(deadline):
                return False
        return True


def failure_for(run_id: int, exc: BaseException) -> RunFailed:
    """A :class:`RunFailed` for people: a ProjectError's own words, else the exception."""
    if isinstance(exc, ProjectError):
        return RunFailed(run_id, str(exc))
    details = "".join(traceback.format_exception(exc))
    return RunFailed(run_id, f"Training failed: {type(exc).__name__}: {exc}", details)


def load_split(config: RunConfig) -> tuple[Split, DataReady]:
    """Load and split the run's dataset (in the calling thread: seconds for MNIST)."""
    from model.data import prepare

    prepared = prepare(config)
    info = DataReady(
        run_id=-1,
        description=prepared.description,
        source=prepared.source,
        notice=prepared.notice,
        class_names=prepared.class_names,
        input_shape=prepared.input_shape,
        test_images=prepared.split.x_test,
    )
    return prepared.split, info


class TrainingWorker(Worker):
    """Loads the data for one run and trains it, in the thread it was moved to.

    Args:
        config: the run's configuration (a frozen snapshot).
        run_id: the generation number the window gave this run; on every message.
        control: pause / resume / stop / learning rate, shared with the window.
        mailbox: lets the canvas ask the live model for predictions during the run.
        prepare: loads and splits the data (default :func:`load_split`); injectable so
            tests can feed tiny arrays or fail on purpose.
        train: the core's ``train`` (default ``model.training.train``, imported here so
            the GUI never imports TensorFlow itself).
        resume: a saved run (:class:`~model.results.SavedRun`) to continue: its weights,
            optimizer state and history; passed to ``train`` only when given.
        checkpoint_dir: where ``train`` autosaves the run after every epoch; passed only
            when given (so fakes in tests need not know the keyword).

    Signals:
        dataReady(DataReady), resultReady(RunResult), failed(RunFailed), plus the
        records on :attr:`listener`; then ``ended(run_id)`` and ``finished``, always.
    """

    dataReady = Signal(object)
    resultReady = Signal(object)
    failed = Signal(object)
    ended = Signal(int)  # run_id; the last message of a run, whatever happened

    def __init__(
        self,
        config: RunConfig,
        run_id: int,
        control: RunControl,
        mailbox: PredictionMailbox | None = None,
        *,
        prepare: PrepareFn | None = None,
        train: TrainFn | None = None,
        resume: SavedRun | None = None,
        checkpoint_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.control = control
        self.mailbox = mailbox
        self._prepare = prepare or load_split
        self._train = train
        self._resume = resume
        self._checkpoint_dir = checkpoint_dir
        # A child moves to the worker's thread with it and dies with it.
        self.listener = SignalListener(self)

    def work(self) -> None:
        try:
            split, info = self._prepare(self.config)
            self.dataReady.emit(replace(info, run_id=self.run_id))
            if self.control.stop_requested:
                self.listener.on_run_end(
                    RunFinished(self.run_id, "stopped", "stopped before training began", 0)
                )
                return
            if self._train is not None:
                train = self._train
            else:
                from model.training import train
            extra: dict[str, Any] = {}
            if self._resume is not None:
                extra["resume"] = self._resume
            if self._checkpoint_dir is not None:
                extra["checkpoint_dir"] = self._checkpoint_dir
            result = train(
                self.config,
                split,
                listener=self.listener,
                control=self.control,
                mailbox=self.mailbox,
                run_id=self.run_id,
                **extra,
            )
        except Exception as exc:  # noqa: BLE001 - every failure is shown in the window
            failure = failure_for(self.run_id, exc)
            if failure.details:
                log.error("run %d failed:\n%s", self.run_id, failure.details)
            self.failed.emit(failure)
        else:
            self.resultReady.emit(result)
        finally:
            if self.mailbox is not None:
                self.mailbox.detach()
            self.ended.emit(self.run_id)


class FunctionWorker(Worker):
    """Calls ``fn()`` in its thread; ``done(result)`` or ``failed(message)`` follows.

    For short background jobs such as counting a dataset's classes for the settings
    panel. ``tag`` comes back with the result so the receiver can drop stale answers.
    """

    done = Signal(object, object)  # tag, result
    failed = Signal(object, str)  # tag, message

    def __init__(self, fn: Callable[[], Any], tag: object = None) -> None:
        super().__init__()
        self._fn = fn
        self._tag = tag

    def work(self) -> None:
        try:
            result = self._fn()
        except ProjectError as exc:
            self.failed.emit(self._tag, str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the user, the app carries on
            log.exception("background task failed")
            self.failed.emit(self._tag, f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(self._tag, result)
