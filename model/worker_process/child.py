"""The worker process: imports TensorFlow ahead of need, trains one run, and exits.

:func:`main` is the target of the spawned process. In order:

1. start a session of its own (``os.setsid``). Where Linux groups the scheduling of
   sessions (autogroup: on in many kernels, for processes outside any CPU cgroup,
   :func:`autogroup_applies`), the worker's threads then share one group's CPU time and
   the window's another, so a drawing is answered in time while a run trains without
   the run at a lower priority (see :data:`~model.worker_process.parent.NICENESS` for
   what was measured). Where it does not, lower its priority by ``niceness``
   (``os.nice``, before any thread exists, so TensorFlow's thread pools inherit it), so
   that drawings still come first. Then start the :class:`Inbox` thread, which reads the
   window's requests and watches the window's process: when the pipe closes or the parent's pid
   changes (the window died, or dismissed this spare), the process ends at once, even in
   the middle of importing TensorFlow; no worker outlives the window;
2. import the training core (TensorFlow, Keras) and say :class:`~messages.Ready`;
3. wait for its :class:`~messages.StartRun` and run it with
   :func:`model.runner.execute_run`, the same body a thread runner uses, reporting every
   record through the :class:`Outbox` (a sender thread, so the training thread never
   waits for the pipe) and weight snapshots through a :class:`~model.events.SnapshotTap`
   (every interval while the window follows them, else at the start, at pauses and on
   request);
4. send the outcome (the result's weights, or the failure) and :class:`~messages.Exited`,
   and end with ``os._exit``: a fresh process per run returns all of its memory, and
   TensorFlow's interpreter teardown is skipped.

Requests (pause, resume, stop, step, a new learning rate) are applied to the run's
:class:`~model.events.RunControl` by the inbox thread as they arrive, so they take effect
at the next batch end, exactly as in a thread runner.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from model import collector, quiet
from model.config import RunConfig
from model.events import (
    BatchRecord,
    DataReady,
    EpochRecord,
    RunControl,
    RunFinished,
    RunStarted,
    SnapshotTap,
    WeightSnapshot,
)
from model.machine import machine_memory
from model.results import RunResult
from model.runner import execute_run
from model.tasks import Failure

from .deaths import UNHARMED, memory_sentence, run_estimate
from .messages import BatchBundle, Control, Exited, Failed, Ready, ResultParcel, SetLearningRate, StartRun

OUT_OF_MEMORY: Final = ("MemoryError", "ResourceExhaustedError")
"""Exceptions (by name: TensorFlow's is not imported here) that mean the run ran out of memory."""

PARENT_CHECK_S: Final = 0.5
"""How often the inbox checks that the window's process is still there."""
EXIT_PARENT_GONE: Final = 3
"""The exit status of a worker whose window went away."""
BUNDLE_LINGER_S: Final = 0.1
"""How long the outbox waits for more batch records after one, to send them as one message.

At batch size 32 a run reports 100-300 batches a second; one message each woke the
window's reader thread (and its GIL) as often, and each message is one turn of the
window's event loop that handles its records. Those turns cost far more than the records
themselves: in a replay of a real MLP epoch (474 records in 6 s)
the window's thread spent 0.23 s on records bundled 3 to a message (a 20 ms linger),
0.13 s on 8 to a message. Each plot redraws a few times a second while a run streams, so
a tenth of a second is not seen; any other message (an epoch's end, a paused or stepped
run's snapshot, the end) sends the waiting records at once, ahead of it."""
BUNDLE_MAX: Final = 64


def own_scheduling_group() -> bool:
    """Start a session of its own; whether Linux now schedules it apart from the window's."""
    try:
        os.setsid()
    except OSError:
        return False
    return autogroup_applies()


def autogroup_applies() -> bool:
    """Whether Linux gives each session of this process's CPU cgroup its own scheduling group.

    Autogroup (``/proc/sys/kernel/sched_autogroup_enabled``) applies only to processes in
    the root CPU cgroup: not under a desktop's or a container's CPU controller. Inside a
    cgroup namespace the root seen may not be the real one, and this says yes wrongly;
    the worker then shares the window's group at the window's priority.
    """
    try:
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text()
        cgroups = Path("/proc/self/cgroup").read_text()
    except OSError:
        return False
    return autogroup_from(enabled, cgroups, lambda path: Path("/sys/fs/cgroup", path, "cgroup.subtree_control").read_text())


def autogroup_from(enabled: str, cgroups: str, subtree_control: Callable[[str], str]) -> bool:
    """:func:`autogroup_applies` from the texts read: the sysctl, ``/proc/self/cgroup``,
    and a reader of a cgroup v2 folder's ``cgroup.subtree_control`` (by relative path)."""
    if enabled.strip() != "1":
        return False
    entries = [line.split(":", 2) for line in cgroups.splitlines() if line.count(":") >= 2]
    for _, controllers, path in entries:  # cgroup v1: the cpu controller's own hierarchy
        if "cpu" in controllers.split(","):
            return path.strip() == "/"
    for hierarchy, _, path in entries:  # cgroup v2: is the cpu controller on above us?
        if hierarchy != "0":
            continue
        parts = [part for part in path.strip().split("/") if part not in ("", ".", "..")]
        for depth in range(len(parts)):
            try:
                if "cpu" in subtree_control("/".join(parts[:depth])).split():
                    return False
            except (OSError, ValueError):
                return False
        return True
    return False


def _leave(status: int) -> None:
    """End the process now, from any thread (no interpreter teardown, no TensorFlow at exit)."""
    os._exit(status)


class _Held:
    """A weight snapshot waiting in the outbox; emptied when a newer one supersedes it."""

    __slots__ = ("snapshot",)

    def __init__(self, snapshot: WeightSnapshot | None) -> None:
        self.snapshot = snapshot


class Outbox:
    """Sends messages up the pipe from one sender thread, in the order they were put.

    A weight snapshot of a running (not paused) run supersedes one still waiting to be
    sent: that one is dropped and its weights let go. The window only ever shows the
    newest, and while it cannot read (stopped with Ctrl+Z, or too busy) the Draw tab's
    snapshots, megabytes four times a second, would otherwise pile up here without bound.
    A paused run's snapshot is never dropped (one per pause or step).
    """

    _END = object()

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._held_lock = threading.Lock()
        self._held: _Held | None = None  # the newest running snapshot put (emptied once sent)
        self._thread = threading.Thread(target=self._send_all, name="worker-outbox", daemon=True)
        self._thread.start()

    def send(self, message: Any) -> None:
        if isinstance(message, WeightSnapshot) and not message.paused:
            held = _Held(message)
            with self._held_lock:
                if self._held is not None:
                    self._held.snapshot = None  # superseded: never sent
                self._held = held
            message = held
        self._queue.put(message)

    def _unwrap(self, held: _Held) -> WeightSnapshot | None:
        """The snapshot to send, or ``None`` when a newer one superseded it (emptying it,
        so that a later snapshot's superseding this sent one changes nothing)."""
        with self._held_lock:
            snapshot, held.snapshot = held.snapshot, None
        return snapshot

    def close(self) -> None:
        """Send what is queued, then close the pipe."""
        self._queue.put(self._END)
        self._thread.join()
        self._connection.close()

    def _send_all(self) -> None:
        pending: Any = None  # a message taken from the queue while bundling, sent next
        while True:
            message = self._queue.get() if pending is None else pending
            pending = None
            if isinstance(message, BatchRecord):
                message, pending = self._bundle(message)
            if message is self._END:
                return
            if isinstance(message, _Held):
                message = self._unwrap(message)
                if message is None:
                    continue  # a newer snapshot is on its way
            try:
                self._connection.send(message)
            except (OSError, ValueError):  # the window is gone: nobody to train for
                _leave(EXIT_PARENT_GONE)

    def _bundle(self, first: BatchRecord) -> tuple[Any, Any]:
        """``first`` and the batch records queued within the linger; and the next other message."""
        records = [first]
        deadline = time.monotonic() + BUNDLE_LINGER_S
        while len(records) < BUNDLE_MAX:
            try:
                message = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not isinstance(message, BatchRecord):
                return self._as_message(records), message
            records.append(message)
        return self._as_message(records), None

    @staticmethod
    def _as_message(records: list[BatchRecord]) -> Any:
        return records[0] if len(records) == 1 else BatchBundle(tuple(records))


class Inbox:
    """Reads the window's requests in a thread of its own; ends the process if the window goes."""

    def __init__(self, connection: Connection, parent_pid: int, control: RunControl, tap: SnapshotTap) -> None:
        self._connection = connection
        self._parent_pid = parent_pid
        self._control = control
        self._tap = tap
        self._runs: queue.SimpleQueue[StartRun] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._read_all, name="worker-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def next_run(self) -> StartRun:
        return self._runs.get()

    def _read_all(self) -> None:
        while True:
            try:
                if not self._connection.poll(PARENT_CHECK_S):
                    if os.getppid() != self._parent_pid:
                        _leave(EXIT_PARENT_GONE)
                    continue
                message = self._connection.recv()
            except (EOFError, OSError):  # the window closed its end: dismissed, or gone
                _leave(EXIT_PARENT_GONE)
                return
            self._apply(message)

    def _apply(self, message: Any) -> None:
        control = self._control
        if isinstance(message, StartRun):
            self._runs.put(message)
        elif isinstance(message, SetLearningRate):
            control.set_learning_rate(message.value)
        elif isinstance(message, Control):
            if message.action == "pause":
                control.pause()
            elif message.action == "resume":
                control.resume()
            elif message.action == "stop":
                control.stop()
            elif message.action == "step":
                control.step()
            elif message.action == "snapshot":
                self._tap.request()
            elif message.action in ("follow", "unfollow"):
                self._tap.follow(message.action == "follow")


class ParcelSink:
    """The run's sink in the worker: every record goes up the pipe; the model goes as weights."""

    def __init__(self, outbox: Outbox, config: RunConfig) -> None:
        self._outbox = outbox
        self._config = config
        self._data: DataReady | None = None
        self._started: RunStarted | None = None

    def on_data(self, info: DataReady) -> None:
        self._data = info
        self._outbox.send(info)

    def on_run_start(self, info: RunStarted) -> None:
        self._started = info
        self._outbox.send(info)

    def on_batch(self, record: BatchRecord) -> None:
        self._outbox.send(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self._outbox.send(record)

    def on_run_end(self, info: RunFinished) -> None:
        self._outbox.send(info)

    def on_result(self, result: RunResult) -> None:
        data = self._data
        assert data is not None  # a result comes only after the data
        weights = [w.copy() for w in result.model.get_weights()]
        parcel = ResultParcel(dataclasses.replace(result, model=None), weights, data.input_shape, len(data.class_names))
        self._outbox.send(parcel)

    def on_failed(self, run_id: int, failure: Failure) -> None:
        self._outbox.send(Failed(failure))

    def on_exit(self, run_id: int) -> None:
        self._outbox.send(Exited())

    def describe_failure(self, exc: BaseException) -> Failure:
        """A run's exception in words; running out of memory says what the model needs."""
        if type(exc).__name__ not in OUT_OF_MEMORY:
            return Failure.of(exc, "Training")
        estimate = run_estimate(self._config, self._data, self._started)
        return Failure(
            f"Training ran out of memory ({type(exc).__name__}). {memory_sentence(estimate, machine_memory())} "
            f"{UNHARMED}",
            "".join(traceback.format_exception(exc)),
        )


def main(records: Connection, requests: Connection, parent_pid: int, niceness: int, snapshot_interval_s: float) -> None:
    """The worker process's body: see the module docstring."""
    if not own_scheduling_group() and niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass  # not allowed here: train at the window's priority
    control = RunControl()
    outbox = Outbox(records)
    # Snapshots every interval only while the window follows them (its Draw tab shows).
    tap = SnapshotTap(outbox.send, snapshot_interval_s, followed=False)
    inbox = Inbox(requests, parent_pid, control, tap)
    inbox.start()
    # The window's terminal stays as quiet as the window's own import keeps it: the
    # environment carries TF_CPP_MIN_LOG_LEVEL (and --verbose), and Abseil's notes from
    # before its logging starts are held back here as they are there.
    quiet.configure(quiet.is_verbose())
    # TensorFlow leaves some 400,000 long-lived objects: nothing is collected while it
    # imports (the inbox thread stays prompt, the import is quicker), and frozen, the
    # collector skips them from then on.
    with collector.paused_then_frozen():
        quiet.import_tensorflow()
        import model.training  # noqa: F401 - TensorFlow, imported before the user presses Train
    outbox.send(Ready(os.getpid()))
    start = inbox.next_run()
    sink = ParcelSink(outbox, start.request.config)
    execute_run(start.request, sink, control, snapshots=tap, describe_failure=sink.describe_failure)
    outbox.close()
    _leave(0)
