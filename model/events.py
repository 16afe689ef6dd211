"""Plain data that a training run reports, and the controls a listener can use.

Everything here crosses thread boundaries: records are frozen dataclasses of Python
numbers, strings and numpy arrays (never tensors or Qt objects), and :class:`RunControl`
is the thread-safe way to pause, resume, stop or retune a run. The GUI turns the
:class:`TrainingListener` calls into Qt signals in one adapter; the command line prints
them. Every record carries the ``run_id`` of the run that produced it, so a listener can
drop messages from a run it no longer shows.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import numpy as np

_NOT_MEASURED: np.ndarray = np.zeros(0)
_NOT_MEASURED.setflags(write=False)  # shared by every record that has no such figure


@dataclass(frozen=True)
class DataReady:
    """A run's dataset has been loaded and split (sent before training starts)."""

    run_id: int
    description: str  # Split.describe(): sizes of train / validation / test
    source: str
    notice: str | None  # e.g. that an offline fallback was used instead of a download
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    # The test inputs, in the order the evaluation scores them (for the confusion view).
    test_images: np.ndarray | None = field(default=None, compare=False, repr=False)
    fell_back: bool = False  # the offline digits stand in for a dataset that could not be had


@dataclass(frozen=True)
class RunStarted:
    """Sent once, before the first batch."""

    run_id: int
    epochs: int
    initial_epoch: int
    steps_per_epoch: int
    batch_size: int
    n_train: int
    n_validation: int
    n_test: int
    layer_names: tuple[str, ...]  # the layers with weights, in stack order
    learning_rate: float


@dataclass(frozen=True)
class BatchRecord:
    """One reported training batch (every ``report_every`` batches).

    ``loss`` and ``accuracy`` are this batch's own values, not Keras's running means.
    ``grad_norms`` and ``weight_norms`` have one entry per layer in
    :attr:`RunStarted.layer_names`: the L2 norm over all of that layer's gradients for
    this batch, and over its weights as of at most ``WEIGHT_NORM_EVERY`` (10) steps ago.

    Layer health, per layer too (:mod:`model.health`), NaN where a figure does not apply
    and empty arrays from code that does not measure it (e.g. records read from a file
    written before it existed), measured on the same steps as ``weight_norms`` (on that
    step's batch): ``update_ratios`` is ``‖ΔW‖ / ‖W‖``, the size of the update the
    optimizer applied over the size of the weights after it (about 1e-3 is healthy);
    ``dead_shares`` the share of a ReLU layer's units that were 0 for the whole batch;
    ``saturated_shares`` the share of a sigmoid/tanh layer's outputs in the batch that
    were saturated.
    """

    run_id: int
    epoch: int  # 0-based
    batch: int  # 0-based within the epoch
    step: int  # 0-based over the whole run
    loss: float
    accuracy: float
    learning_rate: float
    grad_norms: np.ndarray
    weight_norms: np.ndarray
    samples_per_second: float
    progress: float  # 0..1 over the whole run
    seconds_remaining: float
    update_ratios: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)
    dead_shares: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)
    saturated_shares: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)


@dataclass(frozen=True)
class EpochRecord:
    """End-of-epoch figures; loss, accuracy and gradient norms are true epoch averages."""

    run_id: int
    epoch: int  # 0-based
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    grad_norms: np.ndarray  # mean over the epoch's batches, per layer
    weight_norms: np.ndarray  # at the end of the epoch, per layer
    seconds: float
    samples_per_second: float
    note: str = ""  # for people only, e.g. "learning rate changed to 0.01 while paused"
    # The epoch was cut short (a stop or a NaN loss before its last batch): its figures
    # cover fewer batches, it has no validation figures and it does not count as done.
    partial: bool = False
    # Layer health over the epoch, as in BatchRecord: the mean update norm of its measured
    # steps over the epoch-end weight norm, and the mean shares over its batches.
    update_ratios: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)
    dead_shares: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)
    saturated_shares: np.ndarray = field(default_factory=lambda: _NOT_MEASURED)
    # The validation pass's confusion matrix at the end of this epoch (true x predicted
    # counts, int64), or None without validation data, for a partial epoch, or from a
    # saved run that has none.
    val_confusion: np.ndarray | None = field(default=None, compare=False, repr=False)


class EndReason(str, Enum):
    """Why a run ended. A ``str`` enum: it equals, prints and JSON-serializes as its value."""

    COMPLETED = "completed"
    STOPPED = "stopped"  # by the user
    EARLY_STOPPING = "early_stopping"
    NAN = "nan"  # the loss became NaN or infinite
    ERROR = "error"

    def __str__(self) -> str:
        # Python 3.11 formats mixed-in enums as "EndReason.STOPPED"; people and files want the value.
        return str(self.value)


@dataclass(frozen=True)
class RunFinished:
    """Sent once at the end, whatever the reason.

    ``reason`` says why (:class:`EndReason`); ``message`` explains it in words. For a run
    stopped by the user, ``stop_asked_at`` is the steps it had done when the request reached it.
    """

    run_id: int
    reason: EndReason
    message: str
    epochs_completed: int
    test_accuracy: float | None = None
    test_loss: float | None = None
    stop_asked_at: int | None = None


def format_duration(seconds: float) -> str:
    """A time remaining for people: ``75.2`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingListener(Protocol):
    """What a training run reports to. Calls come from the training thread."""

    def on_run_start(self, info: RunStarted) -> None: ...

    def on_batch(self, record: BatchRecord) -> None: ...

    def on_epoch(self, record: EpochRecord) -> None: ...

    def on_run_end(self, info: RunFinished) -> None: ...


class NullListener:
    """A listener that ignores everything; subclass and override what you need."""

    def on_run_start(self, info: RunStarted) -> None:
        pass

    def on_batch(self, record: BatchRecord) -> None:
        pass

    def on_epoch(self, record: EpochRecord) -> None:
        pass

    def on_run_end(self, info: RunFinished) -> None:
        pass


@dataclass
class RecordingListener(NullListener):
    """Keeps every record; handy for tests and for the command line's summary."""

    started: list[RunStarted] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    finished: list[RunFinished] = field(default_factory=list)

    def on_run_start(self, info: RunStarted) -> None:
        self.started.append(info)

    def on_batch(self, record: BatchRecord) -> None:
        self.batches.append(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.epochs.append(record)

    def on_run_end(self, info: RunFinished) -> None:
        self.finished.append(info)


class RunControl:
    """Thread-safe pause / resume / step / stop / learning-rate change for one run.

    The training thread checks it after every batch (:meth:`wait_if_paused` blocks while
    paused), so each request takes effect within one batch. Any thread may call the
    request methods. :meth:`step` is a request like the others (plain, argument-free), so
    it crosses a pipe to a worker process as easily as pause and stop do.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        # One batch may pass the pause gate. An Event, not a counter: a step asked for while
        # one is still pending merges into it, so holding the Step key (auto-repeat) never
        # leaves a backlog of batches to run after the key is released.
        self._step = threading.Event()
        self._lock = threading.Lock()
        self._new_learning_rate: float | None = None
        # The steps the run had done when each pause / stop request reached it (written by
        # the training thread at every batch end): "within one batch" measured where the
        # request lands, not where a record of it is read (a pipe may lag by batches).
        self._steps_done = 0
        self.pause_asked_at: int | None = None  # of the last pause
        self.stop_asked_at: int | None = None  # of the first stop

    # --- requests (any thread)
    def stop(self) -> None:
        if self.stop_asked_at is None:
            self.stop_asked_at = self._steps_done
        self._stop.set()
        self._running.set()  # wake a paused run so it can stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self.pause_asked_at = self._steps_done
            self._step.clear()
            self._running.clear()

    def resume(self) -> None:
        self._step.clear()
        self._running.set()

    def step(self) -> None:
        """While paused, let exactly one more batch run; the run is paused again after it.

        Ignored when the run is not paused or is stopping.
        """
        if self.paused and not self._stop.is_set():
            self._step.set()

    def set_learning_rate(self, value: float) -> None:
        """Ask the run to use ``value`` from the next batch on (typically while paused)."""
        if not value > 0:
            raise ValueError("learning rate must be positive")
        with self._lock:
            self._new_learning_rate = float(value)

    # --- state
    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # --- training thread
    def batch_ended(self, steps_done: int) -> None:
        """Note the steps done so far (the training thread, at every batch end; O(1))."""
        self._steps_done = steps_done

    def take_learning_rate(self) -> float | None:
        """The pending learning-rate change, if any (clears it)."""
        with self._lock:
            value, self._new_learning_rate = self._new_learning_rate, None
        return value

    def wait_if_paused(self, serve: PredictionMailbox | None = None) -> bool:
        """Block while paused; keep answering prediction requests meanwhile.

        Returns:
            ``True`` when a :meth:`step` let the next batch through (the run is still
            paused: the next call blocks again), ``False`` when the run was not paused or
            was resumed or stopped.
        """
        while not self._running.wait(timeout=0.02):
            if self._step.is_set():
                self._step.clear()
                return True
            if serve is not None:
                serve.serve_pending()
        return False


@dataclass(frozen=True)
class WeightSnapshot:
    """A copy of a run's weights as they were after ``steps_done`` training steps.

    ``epoch`` and ``batch`` (0-based) name the last batch trained; before the first batch of
    a fresh run ``steps_done`` is 0 and ``batch`` -1. ``paused`` says the run was paused then;
    ``pause_asked_at`` is then the steps the run had done when the pause request reached it
    (``steps_done`` is at most one more: the batch in progress is finished).
    """

    run_id: int
    steps_done: int
    epoch: int
    batch: int
    weights: list[np.ndarray] = field(compare=False, repr=False)
    paused: bool = False
    pause_asked_at: int | None = None


class SnapshotTap:
    """Copies of a running model's weights for another process, taken by the training thread.

    The training callback asks :meth:`due` after every batch (O(1)) and, when it says so,
    hands a :class:`WeightSnapshot` to :meth:`take`, which passes it on with ``deliver``
    (the worker process sends it to the window). While the tap is *followed*, a snapshot is
    due ``interval_s`` after the previous one; followed or not, one is due at the next batch
    end after :meth:`request` (any thread). The callback also takes one before the first
    batch and whenever the run pauses, so a paused run's snapshot is its exact model.

    A tap that nobody follows (the worker's, while the window's Draw tab is hidden) costs
    the run nothing between those: no ``get_weights``, nothing pickled or sent.
    """

    def __init__(self, deliver: Callable[[WeightSnapshot], None], interval_s: float = 0.25, *, followed: bool = True) -> None:
        self._deliver = deliver
        self.interval_s = interval_s
        self._requested = threading.Event()
        self._followed = threading.Event()
        if followed:
            self._followed.set()
        self._last = -math.inf

    def request(self) -> None:
        """Ask for a snapshot at the next batch end (any thread)."""
        self._requested.set()

    def requested(self) -> bool:
        """Whether a snapshot was asked for (or following began) and not taken yet."""
        return self._requested.is_set()

    def follow(self, on: bool) -> None:
        """Send snapshots every ``interval_s`` from now on (one at the next batch end), or stop (any thread)."""
        if on:
            self._followed.set()
            self._requested.set()
        else:
            self._followed.clear()

    def due(self) -> bool:
        return self._requested.is_set() or (
            self._followed.is_set() and time.monotonic() - self._last >= self.interval_s
        )

    def take(self, snapshot: WeightSnapshot) -> None:
        self._requested.clear()
        self._last = time.monotonic()
        self._deliver(snapshot)


PredictFn = Callable[[np.ndarray], np.ndarray]


class PredictionMailbox:
    """Serves predictions from the thread that owns the Keras model.

    Keras's TensorFlow backend is not thread-safe, so a run's model is only ever touched
    from its training thread. Another thread (the canvas) :meth:`submit`s an input batch
    and gets a :class:`~concurrent.futures.Future`; the training callback calls
    :meth:`serve_pending` after each batch (an O(1) check when nothing is waiting), which
    runs the model in inference mode on the latest weights and resolves the future.
    """

    def __init__(self) -> None:
        # Each request: its input, its future, and whether it asks for an explanation.
        self._queue: queue.SimpleQueue[tuple[np.ndarray, Future[Any], bool]] = queue.SimpleQueue()
        self._predict: PredictFn | None = None
        self._explain: Callable[[np.ndarray], Any] | None = None
        self._lock = threading.Lock()

    def attach(self, predict: PredictFn, explain: Callable[[np.ndarray], Any] | None = None) -> None:
        """Set the function ``(x: np.ndarray) -> probabilities`` used to answer, and the one
        that explains (``(x) -> Explanation``, see :mod:`model.explain`), if the run has one."""
        self._explain = explain
        self._predict = predict

    def detach(self) -> None:
        """Stop serving; requests still waiting get an error."""
        with self._lock:
            self._predict = None
        while True:
            try:
                _, fut, _ = self._queue.get_nowait()
            except queue.Empty:
                break
            if fut.set_running_or_notify_cancel():
                fut.set_exception(RuntimeError("the run ended before the prediction was served"))

    @property
    def attached(self) -> bool:
        return self._predict is not None

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        """Queue ``x`` for the run's thread; the future fails at once when no run serves."""
        return self._put(x, explain=False)

    def submit_explain(self, x: np.ndarray) -> Future[Any]:
        """Like :meth:`submit`, answered with an explanation (``model.explain.Explanation``)."""
        return self._put(x, explain=True)

    def _put(self, x: np.ndarray, *, explain: bool) -> Future[Any]:
        fut: Future[Any] = Future()
        with self._lock:
            if self._predict is None:
                fut.set_exception(RuntimeError("no training run is serving predictions"))
            elif explain and self._explain is None:
                fut.set_exception(RuntimeError("this run cannot show what its model looks at"))
            else:
                self._queue.put((np.asarray(x, dtype=np.float32), fut, explain))
        return fut

    def serve_pending(self) -> None:
        predict = self._predict
        if predict is None or self._queue.empty():
            return
        # Only the newest request matters to a live canvas, but every future is answered.
        while True:
            try:
                x, fut, explain = self._queue.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                answer = self._explain if explain else predict
                if answer is None:
                    raise RuntimeError("this run cannot show what its model looks at")
                fut.set_result(answer(x))
            except Exception as exc:  # noqa: BLE001 - handed to the caller's future
                fut.set_exception(exc)
