"""The window's side of the worker processes: :class:`ProcessRunner` and its runs.

:class:`ProcessRunner` is a :class:`~model.runner.Runner` that trains every run in a
process of its own (``multiprocessing``'s *spawn* context: a fresh interpreter, nothing
inherited but the two pipes). It keeps one *spare* worker started ahead of need
(:meth:`~ProcessRunner.prewarm`: its session calls it once its own TensorFlow import has
finished, so the two imports do not fight over the CPU), in which TensorFlow is imported
before the user presses Train. A run takes the spare; once the run's process has exited
and returned its memory, a new spare is started. So there are at most two workers: the
running one and, between runs, the spare.

Each run has a reader thread (:class:`ProcessRun`) that receives the worker's records in
order and hands them to the session's :class:`~model.runner.RunSink`. Two things cannot
cross the pipe as they are, and the reader deals with them on the session's Keras
executor, the one thread of this process that owns Keras objects outside a run:

- weight snapshots feed the run's :class:`~model.worker_process.live.SnapshotPredictor`,
  which answers the Draw tab at once while the worker trains (the worker sends them every
  interval only while the predictor is followed: the Draw tab shows);
- the finished model arrives as weights; before ``on_result``, the reader has the Keras
  executor build the plain inference model from the configuration and set them, and waits
  for it. The reader thread itself never touches Keras, so the model the session receives
  was made by, and from then on belongs to, the Keras executor (the rule the session keeps
  for every model in memory), and no Keras work in this process ever runs in two threads.

When a worker dies without a word (killed by the out-of-memory killer, a crash inside
TensorFlow), its pipe closes; the reader reaps the process and reports ``on_failed`` with
what happened and what to change (:mod:`~model.worker_process.deaths`), then ``on_exit``,
as for any run. :meth:`ProcessRunner.close` stops the runs and dismisses the spare, then
reaps every process: join with a timeout, then SIGTERM, then SIGKILL. Workers also end by
themselves when the window's process goes (see :mod:`~model.worker_process.child`).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Final

from model.events import (
    BatchRecord,
    DataReady,
    EpochRecord,
    RunControl,
    RunFinished,
    RunStarted,
    WeightSnapshot,
)
from model.runner import RunRequest, RunSink
from model.tasks import Failure, SerialExecutor

from . import child
from .deaths import describe_death
from .live import SnapshotPredictor, build_with_weights
from .messages import (
    BatchBundle,
    Control,
    ControlAction,
    Exited,
    Failed,
    PlainWeights,
    Ready,
    ResultParcel,
    SetLearningRate,
    StartRun,
)

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess

    from model.inference import Predictor
    from model.results import RunResult

log = logging.getLogger(__name__)

NICENESS: Final = 10
"""How much lower a worker's CPU priority is than the window's (``os.nice``) where Linux
cannot schedule it apart from the window (see :mod:`~model.worker_process.child`).

In ``bench/gui_responsiveness.py`` (5 rounds, MLP, batch 32) at ``nice`` 10 the worker's
CPU time for the same epoch ranged 4.6-6.6 s and its samples per CPU second were 0.92 of
the headless core in the window's process: TensorFlow's two-thread pool waited on
whichever thread another process had taken the CPU from. At 0 they were 1.03, but in the
window's scheduling group a drawing then waited for the CPU (``bench/canvas_latency.py``
while a CNN trains: p95 35 ms, target 30 ms). In a scheduling group of its own (a
session of its own, where autogroup applies) at 0: 1.02 in one run and the drawing's p95
22.6 ms, but 0.89 and 0.93 in the next two runs on a quieter machine: how much the
priority costs is not settled by these figures, only that a drawing is answered in time
either way. So a worker trains at the window's priority in its own group where it can
have one, and at this lower priority otherwise."""
SNAPSHOT_INTERVAL_S: Final = 0.25
"""While the live model is followed (the Draw tab shows), the longest its answers lag
behind training (plus one batch)."""
EXIT_WAIT_S: Final = 10.0
"""How long a worker gets to exit after its last message, or after a stop when closing."""
KILL_WAIT_S: Final = 2.0
"""How long SIGTERM, then SIGKILL, get to end a worker."""


class Worker:
    """One worker process and this process's ends of its two pipes."""

    def __init__(self, context: Any, niceness: int, snapshot_interval_s: float) -> None:
        records_out, records_in = context.Pipe(duplex=False)
        requests_out, requests_in = context.Pipe(duplex=False)
        self.process: SpawnProcess = context.Process(
            target=child.main,
            args=(records_in, requests_out, os.getpid(), niceness, snapshot_interval_s),
            name="gradient-lab-worker",
            daemon=True,  # and so terminated by multiprocessing at exit, should close() be skipped
        )
        self.process.start()
        # Only the worker holds these ends now, so each side sees the other's end close.
        records_in.close()
        requests_out.close()
        self.records: Connection = records_out
        self._requests: Connection = requests_in
        self._send_lock = threading.Lock()
        self._reap_lock = threading.Lock()
        # Held by whoever reads the records: the run's reader thread for its whole life.
        self.records_lock = threading.Lock()
        self.ready = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, message: Any) -> bool:
        """Send a request (any thread); whether it went (not when the worker is gone)."""
        with self._send_lock:
            try:
                self._requests.send(message)
            except (OSError, ValueError):
                return False
        return True

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the worker has imported TensorFlow (only before its run: its first message)."""
        deadline = time.monotonic() + timeout
        if self.ready or not self.records_lock.acquire(timeout=timeout):
            return self.ready  # a run's reader reads the records now, and notes the Ready
        try:
            if not self.ready and self.records.poll(max(0.0, deadline - time.monotonic())):
                self.ready = isinstance(self.records.recv(), Ready)
        except (EOFError, OSError):
            pass
        finally:
            self.records_lock.release()
        return self.ready

    def dismiss(self) -> None:
        """Close the request pipe: a worker without a run ends at once (a running one too)."""
        with self._send_lock:
            self._requests.close()

    def reap(self, timeout: float) -> int | None:
        """Wait for the process to end, then SIGTERM, then SIGKILL it; its exit code.

        Several threads may reap one worker (its reader, and ``close``): one at a time, so
        that only one of them waits for the process and none signals a reaped pid.
        """
        with self._reap_lock:
            return self._reap(timeout)

    def _reap(self, timeout: float) -> int | None:
        process = self.process
        process.join(timeout)
        if process.exitcode is None:
            log.warning("worker %s did not end in %.0f s: terminating it", process.pid, timeout)
            process.terminate()
            process.join(KILL_WAIT_S)
        if process.exitcode is None:
            process.kill()
            process.join(KILL_WAIT_S)
        return process.exitcode

    def close_pipes(self) -> None:
        self.records.close()
        self.dismiss()


class RemoteControl(RunControl):
    """A worker's :class:`~model.events.RunControl` as the window sees it.

    The state (paused, stop requested) is kept here for the session to read; every request
    also goes down the pipe to the worker's own control, which its training thread checks
    after each batch.
    """

    def __init__(self, send: Callable[[Any], bool]) -> None:
        super().__init__()
        self._send = send

    def _request(self, action: ControlAction) -> None:
        self._send(Control(action))

    def stop(self) -> None:
        super().stop()
        self._request("stop")

    def pause(self) -> None:
        super().pause()
        if self.paused:
            self._request("pause")

    def resume(self) -> None:
        super().resume()
        self._request("resume")

    def step(self) -> None:
        # Only the worker's control lets the batch through; this copy has no batch to hold.
        if self.paused and not self.stop_requested:
            self._request("step")

    def set_learning_rate(self, value: float) -> None:
        super().set_learning_rate(value)  # checks it
        self.take_learning_rate()  # the worker applies it, not this copy
        self._send(SetLearningRate(float(value)))


def plain_request(request: RunRequest) -> RunRequest:
    """``request`` with a resumed model replaced by its weights, so that it pickles.

    The session resumes with :class:`~model.session.memory.WeightsOnly` (weights copied on
    its Keras executor), so ``get_weights`` here touches no Keras object.
    """
    resume = request.resume
    if resume is None:
        return request
    return dataclasses.replace(request, resume=dataclasses.replace(resume, model=PlainWeights(resume.model.get_weights())))


class ProcessRun:
    """A run in a worker process: the :class:`~model.runner.RunHandle` of :class:`ProcessRunner`."""

    def __init__(
        self,
        worker: Worker,
        request: RunRequest,
        sink: RunSink,
        keras: SerialExecutor,
        on_done: Callable[[ProcessRun], None],
    ) -> None:
        self.worker = worker
        self.request = request
        self._sink = sink
        self._keras = keras
        self._on_done = on_done
        self._control = RemoteControl(worker.send)
        self._lock = threading.Lock()
        self._data: DataReady | None = None
        self._started: RunStarted | None = None
        self._snapshot: WeightSnapshot | None = None
        self._live: SnapshotPredictor | None = None
        self._outcome = False  # on_result or on_failed was sent
        # A daemon: when the window's process ends without closing its runs (Qt's event loop
        # returns when the X server goes away), Python's shutdown must not wait for the run
        # to finish. The process ends, the pipes close, and the worker ends by itself.
        self._reader = threading.Thread(target=self._read, name=f"worker-run-{request.run_id}", daemon=True)

    def begin(self) -> None:
        self.worker.send(StartRun(plain_request(self.request)))
        self._reader.start()

    # ------------------------------------------------------------------ RunHandle
    @property
    def run_id(self) -> int:
        return self.request.run_id

    @property
    def control(self) -> RunControl:
        return self._control

    @property
    def pid(self) -> int | None:
        """The worker process's id."""
        return self.worker.pid

    def live_predictor(self, input_shape: tuple[int, ...]) -> Predictor | None:
        """The run's :class:`SnapshotPredictor` (one per run), once its data is known."""
        with self._lock:
            data = self._data
            if data is None:
                return None
            if self._live is None:
                live = SnapshotPredictor(
                    self.run_id, self.request.config, input_shape, len(data.class_names), self._keras, self._follow
                )
                if self._snapshot is not None:
                    live.offer(self._snapshot)
                self._live = live
                self._control_send("snapshot")
            return self._live

    def alive(self) -> bool:
        return self._reader.is_alive()

    def join(self, timeout: float) -> bool:
        """Wait until the run's ``on_exit`` has been delivered (its process reaped)."""
        if self._reader.ident is not None:
            self._reader.join(timeout)
        return not self._reader.is_alive()

    # ------------------------------------------------------------------ the reader thread
    def _control_send(self, action: ControlAction) -> None:
        self.worker.send(Control(action))

    def _follow(self, on: bool) -> None:
        self._control_send("follow" if on else "unfollow")

    def _read(self) -> None:
        sink, run_id = self._sink, self.run_id
        try:
            with self.worker.records_lock:
                self._forward_all(sink)
        except Exception as exc:  # noqa: BLE001 - a broken message or sink ends the run, for people
            log.exception("reading run %s from its worker failed", run_id)
            self.worker.dismiss()
            if not self._outcome:
                self._outcome = True
                sink.on_failed(run_id, Failure.of(exc, "Following the training process"))
        finally:
            exitcode = self.worker.reap(EXIT_WAIT_S)
            self.worker.close_pipes()
            try:
                if not self._outcome:
                    sink.on_failed(run_id, describe_death(exitcode, self.request.config, self._data, self._started))
            finally:
                sink.on_exit(run_id)
                self._on_done(self)

    def _forward_all(self, sink: RunSink) -> None:
        """Hand every record to the sink until the worker's last message or its pipe closes."""
        while True:
            try:
                message = self.worker.records.recv()
            except (EOFError, OSError):
                return
            if isinstance(message, WeightSnapshot):
                self._offer(message)
            elif isinstance(message, BatchRecord):
                sink.on_batch(message)
            elif isinstance(message, BatchBundle):
                for record in message.records:
                    sink.on_batch(record)
            elif isinstance(message, EpochRecord):
                sink.on_epoch(message)
            elif isinstance(message, DataReady):
                with self._lock:
                    self._data = message
                sink.on_data(message)
            elif isinstance(message, RunStarted):
                self._started = message
                sink.on_run_start(message)
            elif isinstance(message, RunFinished):
                sink.on_run_end(message)
                if self._started is None:  # stopped before training began: no result follows
                    self._outcome = True
            elif isinstance(message, ResultParcel):
                self._outcome = True
                self._deliver_result(message, sink)
            elif isinstance(message, Failed):
                self._outcome = True
                sink.on_failed(self.run_id, message.failure)
            elif isinstance(message, Exited):
                return
            elif isinstance(message, Ready):
                self.worker.ready = True

    def _offer(self, snapshot: WeightSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            live = self._live
        if live is not None:
            live.offer(snapshot)

    def _deliver_result(self, parcel: ResultParcel, sink: RunSink) -> None:
        """Rebuild the model on the Keras executor, wait for it, and hand the result on."""
        result = parcel.result
        try:
            future: Future[Any] = self._keras.submit(
                build_with_weights, result.config, parcel.input_shape, parcel.num_classes, parcel.weights
            )
            model = future.result()
        except Exception as exc:  # noqa: BLE001 - reported in words
            sink.on_failed(self.run_id, Failure.of(exc, "Rebuilding the trained model"))
            return
        full: RunResult = dataclasses.replace(result, model=model)
        sink.on_result(full)


class ProcessRunner:
    """Trains every run in a worker process of its own; see the module docstring.

    Args:
        keras: the session's Keras executor, where live predictions and the finished
            model's rebuild run (default: one of the runner's own, for use without a session).
        niceness: how much lower the workers' CPU priority is (``os.nice``).
        snapshot_interval_s: the most time between two weight snapshots of a running model
            whose live model is followed.
    """

    def __init__(
        self,
        keras: SerialExecutor | None = None,
        *,
        niceness: int = NICENESS,
        snapshot_interval_s: float = SNAPSHOT_INTERVAL_S,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._owns_keras = keras is None
        self._keras = keras if keras is not None else SerialExecutor("worker-keras")
        self._niceness = niceness
        self._snapshot_interval_s = snapshot_interval_s
        self._lock = threading.Lock()
        self._spare: Worker | None = None
        self._runs: dict[int, ProcessRun] = {}
        self._closed = False

    @property
    def keras(self) -> SerialExecutor:
        """Where this runner's Keras work in this process runs (the session adopts it)."""
        return self._keras

    def _spawn(self) -> Worker:
        return Worker(self._context, self._niceness, self._snapshot_interval_s)

    def prewarm(self) -> None:
        """Start the spare worker now (TensorFlow imports there meanwhile), unless there is one."""
        with self._lock:
            if self._closed or (self._spare is not None and self._spare.process.is_alive()):
                return
            stale, self._spare = self._spare, self._spawn()
        if stale is not None:  # it died waiting: reap it
            stale.close_pipes()
            stale.reap(KILL_WAIT_S)

    def wait_warm(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until the spare has imported TensorFlow (tests, benchmarks)."""
        with self._lock:
            spare = self._spare
        return spare is not None and spare.wait_ready(timeout)

    def start(self, request: RunRequest, sink: RunSink) -> ProcessRun:
        """Train ``request`` in the spare worker (or a new one) and follow it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the process runner is closed")
            worker = self._spare if self._spare is not None and self._spare.process.is_alive() else None
            stale = self._spare if worker is None else None
            self._spare = None
            if worker is None:
                worker = self._spawn()
            run = ProcessRun(worker, request, sink, self._keras, self._run_done)
            self._runs[request.run_id] = run
        if stale is not None:
            stale.close_pipes()
            stale.reap(KILL_WAIT_S)
        run.begin()
        return run

    def _run_done(self, run: ProcessRun) -> None:
        """A run's process is reaped (its reader thread): start the next spare."""
        with self._lock:
            if self._runs.get(run.run_id) is run:
                del self._runs[run.run_id]
        self.prewarm()

    def pids(self) -> list[int]:
        """The ids of the worker processes alive now, the spare's included."""
        with self._lock:
            workers = [run.worker for run in self._runs.values()]
            if self._spare is not None:
                workers.append(self._spare)
        return [w.pid for w in workers if w.pid is not None and w.process.is_alive()]

    def close(self, timeout: float = EXIT_WAIT_S) -> bool:
        """Stop every run, dismiss the spare, and reap every worker; whether all ended in time.

        A run gets ``timeout`` seconds to stop after its current batch (its result is still
        delivered); then its process is terminated, then killed.
        """
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
            runs = list(self._runs.values())
        for run in runs:
            run.control.stop()
        if spare is not None:
            spare.close_pipes()
        deadline = time.monotonic() + timeout
        in_time = all(run.join(max(0.0, deadline - time.monotonic())) for run in runs)
        for run in runs:
            run.worker.reap(0.0 if not in_time else max(0.0, deadline - time.monotonic()))
            run.join(KILL_WAIT_S * 3)
        if spare is not None:
            spare.reap(max(0.0, deadline - time.monotonic()))
        if self._owns_keras:
            self._keras.shutdown(wait=True)
        return in_time
