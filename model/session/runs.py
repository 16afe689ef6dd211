"""Runs the session has started: their state, and the sink that brings their records home.

Every run gets a number of its own (its ``run_id``, the session's generation counter, as in
ndv): every record a run sends carries it, and the session drops whatever comes from a run
it no longer shows, so a stopped run that is still winding down never writes over a new one.
Several runs may be alive at once; the window shows one (``shown``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from model.events import BatchRecord, DataReady, EpochRecord, RunFinished, RunStarted
from model.tasks import Dispatch, Failure

if TYPE_CHECKING:
    from model.batches import BatchHistory
    from model.config import RunConfig
    from model.diagnosis import HealthMonitor
    from model.results import RunResult
    from model.runner import RunHandle

    from .memory import RateChange

PROGRESS_INTERVAL_S = 0.25
"""The progress line changes at most four times a second."""

BATCH_GROUP_MAX: Final = 64
"""The most batch records a :class:`SessionSink` hands the session in one call (a drain slice's worth)."""

DRAIN_SLICE_S: Final = 0.008
"""The most time one turn of the session's thread spends on a run's queued records.

Records that arrived while the session's thread was busy (drawing, say) are handed on
together in one turn, not one dispatch each; a backlog longer than this slice waits for
the next turn, so the thread's other events (a stroke, a repaint) are not held behind it.
"""


@dataclass
class ActiveRun:
    """A run whose runner has not reported its exit yet."""

    run_id: int
    config: RunConfig
    handle: RunHandle
    prior_history: list[EpochRecord] = field(default_factory=list)  # of a resumed run
    prior_batches: BatchHistory | None = None  # of a resumed run
    data: DataReady | None = None
    info: RunStarted | None = None
    last_batch: BatchRecord | None = None
    learning_rate: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)
    batches_seen: int = 0
    finished: RunFinished | None = None
    has_result: bool = False
    last_progress: float = 0.0  # time.monotonic() of the last progress line
    rate_changes: list[RateChange] = field(default_factory=list)  # made while paused
    # Follows the batch records (and keeps them): what is wrong with the run, and since when.
    monitor: HealthMonitor | None = None
    warned: str = ""  # the severity of the diagnosis the message bar shows ("" for none)

    def batch_history(self) -> BatchHistory | None:
        """Every batch reported so far, a resumed run's saved ones first."""
        if self.monitor is None:
            return self.prior_batches
        from model.batches import continued

        return continued(self.prior_batches, self.monitor.log.history())

    @property
    def control(self):  # type: ignore[no-untyped-def] # RunControl; the protocol's property
        return self.handle.control

    def progress_due(self) -> bool:
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_INTERVAL_S:
            return False
        self.last_progress = now
        return True


class RecordHandler(Protocol):
    """What takes a run's records in the session's thread (the session's run lifecycle)."""

    def _on_data(self, info: DataReady) -> None: ...

    def _on_run_start(self, info: RunStarted) -> None: ...

    def _on_batches(self, records: Sequence[BatchRecord]) -> None: ...

    def _on_epoch(self, record: EpochRecord) -> None: ...

    def _on_run_end(self, info: RunFinished) -> None: ...

    def _on_result(self, result: RunResult) -> None: ...

    def _on_failed(self, run_id: int, failure: Failure) -> None: ...

    def _on_exit(self, run_id: int) -> None: ...


class _Batches:
    """Batch records that came one after another, waiting in a :class:`SessionSink` as one call."""

    __slots__ = ("records",)

    def __init__(self, record: BatchRecord) -> None:
        self.records = [record]


class SessionSink:
    """A :class:`~model.runner.RunSink` that hands every call to the session's thread, in order.

    Calls are queued here and drained by the session's thread in slices of at most
    :data:`DRAIN_SLICE_S`; one dispatch is outstanding at a time, whatever the number of
    records waiting. Batch records that wait next to each other (a worker's bundle, or
    whatever came while the thread was busy) reach the session as one call, up to
    :data:`BATCH_GROUP_MAX`: per record, the session's and the plots' numpy work cost the
    window's thread several times what one pass over the group does.
    """

    def __init__(self, session: RecordHandler, run_id: int, dispatch: Dispatch) -> None:
        self._session = session
        self._run_id = run_id
        self._dispatch = dispatch
        self._queue: deque[Callable[[], None] | _Batches] = deque()
        self._lock = threading.Lock()
        self._posted = False  # a drain is dispatched and has not emptied the queue yet

    def _post(self, call: Callable[[], None] | _Batches) -> None:
        with self._lock:
            self._queue.append(call)
            if self._posted:
                return
            self._posted = True
        self._dispatch(self._drain)

    def _drain(self) -> None:
        """The session's thread: run what is queued, for at most one slice."""
        deadline = time.perf_counter() + DRAIN_SLICE_S
        while True:
            with self._lock:
                if not self._queue:
                    self._posted = False
                    return
                call = self._queue.popleft()
            try:
                if isinstance(call, _Batches):
                    self._session._on_batches(call.records)
                else:
                    call()
            except BaseException:
                self._dispatch(self._drain)  # a failing call does not hold back the records after it
                raise
            if time.perf_counter() > deadline:
                self._dispatch(self._drain)  # the rest in the thread's next turn, still in order
                return

    def on_data(self, info: DataReady) -> None:
        self._post(lambda: self._session._on_data(info))

    def on_run_start(self, info: RunStarted) -> None:
        self._post(lambda: self._session._on_run_start(info))

    def on_batch(self, record: BatchRecord) -> None:
        with self._lock:
            last = self._queue[-1] if self._queue else None
            if isinstance(last, _Batches) and len(last.records) < BATCH_GROUP_MAX:
                last.records.append(record)  # a drain is posted: the group is still queued
                return
        self._post(_Batches(record))

    def on_epoch(self, record: EpochRecord) -> None:
        self._post(lambda: self._session._on_epoch(record))

    def on_run_end(self, info: RunFinished) -> None:
        self._post(lambda: self._session._on_run_end(info))

    def on_result(self, result: RunResult) -> None:
        self._post(lambda: self._session._on_result(result))

    def on_failed(self, run_id: int, failure: Failure) -> None:
        self._post(lambda: self._session._on_failed(run_id, failure))

    def on_exit(self, run_id: int) -> None:
        self._post(lambda: self._session._on_exit(run_id))


def format_progress(rec: BatchRecord, info: RunStarted | None) -> str:
    """The status-bar line for a run in progress."""
    from model.events import format_duration

    epochs = f"/{info.epochs}" if info else ""  # "epoch 3/10": a position, not a count
    batches = f"/{info.steps_per_epoch}" if info else ""
    return (
        f"epoch {rec.epoch + 1}{epochs} · batch {rec.batch + 1}{batches} · "
        f"{rec.samples_per_second:,.0f} samples/s · {format_duration(rec.seconds_remaining)} left"
    )
