"""Where a run trains, behind one protocol: the session asks a :class:`Runner` to start it.

A :class:`Runner` takes a :class:`RunRequest` and a :class:`RunSink`, starts the run
somewhere (a thread of this process with :class:`ThreadRunner`; another process, or a
test's script, with other runners) and returns a :class:`RunHandle` to steer it. Whatever
the runner, the sink hears the same plain records (:mod:`model.events`) in the same
order: ``on_data`` once the data is split, then the training listener's calls, then
``on_result`` or ``on_failed``, and ``on_exit`` last, always. Sink calls come from the
runner's thread; the session hands them to its own thread.

Tests inject a runner through this protocol, so production code carries no test seams.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from model.events import (
    BatchRecord,
    DataReady,
    EndReason,
    EpochRecord,
    PredictionMailbox,
    RunControl,
    RunFinished,
    RunStarted,
    SnapshotTap,
)
from model.tasks import Failure, SerialExecutor

if TYPE_CHECKING:
    from model.config import RunConfig
    from model.inference import Predictor
    from model.results import RunResult, SavedRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRequest:
    """What to run: a configuration snapshot, and optionally a saved run to continue.

    ``checkpoint_dir`` is where the run autosaves itself after every epoch.
    """

    run_id: int
    config: RunConfig
    resume: SavedRun | None = None
    checkpoint_dir: Path | None = None


class RunSink(Protocol):
    """Hears one run; its methods are called from the runner's thread, in this order."""

    def on_data(self, info: DataReady) -> None: ...

    def on_run_start(self, info: RunStarted) -> None: ...

    def on_batch(self, record: BatchRecord) -> None: ...

    def on_epoch(self, record: EpochRecord) -> None: ...

    def on_run_end(self, info: RunFinished) -> None: ...

    def on_result(self, result: RunResult) -> None: ...

    def on_failed(self, run_id: int, failure: Failure) -> None: ...

    def on_exit(self, run_id: int) -> None: ...


class RunHandle(Protocol):
    """Steers one started run."""

    @property
    def run_id(self) -> int: ...

    @property
    def control(self) -> RunControl: ...

    def live_predictor(self, input_shape: tuple[int, ...]) -> Predictor | None:
        """Something that answers drawings with the model as it trains, if the runner can."""
        ...

    def alive(self) -> bool: ...

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the run to end; whether it has."""
        ...


class Runner(Protocol):
    def start(self, request: RunRequest, sink: RunSink) -> RunHandle: ...


@runtime_checkable
class ManagedRunner(Runner, Protocol):
    """A runner with processes of its own (:class:`~model.worker_process.ProcessRunner`).

    Its session starts them ahead of need (:meth:`prewarm`, once TensorFlow has loaded in
    this process) and reaps them when it ends (:meth:`close`). The Keras work such a runner
    does in this process (live models, rebuilding a finished model) runs on :attr:`keras`,
    which the session adopts as its own Keras executor: one thread owns every Keras object
    of the process.
    """

    @property
    def keras(self) -> SerialExecutor: ...

    def prewarm(self) -> None: ...

    def close(self, timeout: float = ...) -> bool: ...


class _ThreadRun:
    """A run in a thread of this process: :class:`RunHandle` for :class:`ThreadRunner`."""

    def __init__(self, request: RunRequest, sink: RunSink) -> None:
        self.request = request
        self.sink = sink
        self._control = RunControl()
        self.mailbox = PredictionMailbox()
        self.thread = threading.Thread(target=self._work, name=f"training-run-{request.run_id}")

    @property
    def run_id(self) -> int:
        return self.request.run_id

    @property
    def control(self) -> RunControl:
        return self._control

    def live_predictor(self, input_shape: tuple[int, ...]) -> Predictor | None:
        from model.inference import MailboxPredictor

        return MailboxPredictor(self.mailbox, input_shape)

    def alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _work(self) -> None:
        try:
            execute_run(self.request, self.sink, self._control, mailbox=self.mailbox)
        finally:
            self.mailbox.detach()


def _training_failure(exc: BaseException) -> Failure:
    return Failure.of(exc, "Training")


def execute_run(
    request: RunRequest,
    sink: RunSink,
    control: RunControl,
    *,
    mailbox: PredictionMailbox | None = None,
    snapshots: SnapshotTap | None = None,
    describe_failure: Callable[[BaseException], Failure] = _training_failure,
) -> None:
    """Load the data and train ``request`` in the calling thread, reporting all to ``sink``.

    The body of every runner's run (a thread of this process, or a worker process): the
    sink hears ``on_data``, the training records, then ``on_result`` or ``on_failed``
    (whose words come from ``describe_failure``), and ``on_exit`` last, always.
    """
    run_id = request.run_id
    try:
        from model.data import prepare

        prepared = prepare(request.config)
        split = prepared.split
        sink.on_data(
            DataReady(
                run_id,
                prepared.description,
                prepared.source,
                prepared.notice,
                prepared.class_names,
                prepared.input_shape,
                split.x_test,
                fell_back=prepared.fell_back,
            )
        )
        if control.stop_requested:
            sink.on_run_end(RunFinished(run_id, EndReason.STOPPED, "stopped before training began", 0))
            return
        # TensorFlow is imported here, in the run's thread, never in the session's.
        from model.results import DataInfo
        from model.training import train

        result = train(
            request.config,
            split,
            listener=sink,
            control=control,
            mailbox=mailbox,
            run_id=run_id,
            resume=request.resume,
            checkpoint_dir=request.checkpoint_dir,
            data=DataInfo(prepared.name, prepared.source, prepared.description),
            snapshots=snapshots,
        )
    except Exception as exc:  # noqa: BLE001 - every failure reaches the sink, for people
        sink.on_failed(run_id, describe_failure(exc))
    else:
        sink.on_result(result)
    finally:
        sink.on_exit(run_id)


class ThreadRunner:
    """Trains each run in a new thread of this process (all of a run's Keras work stays there)."""

    def start(self, request: RunRequest, sink: RunSink) -> RunHandle:
        run = _ThreadRun(request, sink)
        run.thread.start()
        return run
