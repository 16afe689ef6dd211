"""Background work for the session: who runs it, and whose answer still counts.

The session lives in one thread (the GUI thread in the window; the test's thread in tests)
and must never block on slow work. Slow work goes to a :class:`SerialExecutor`, a single
worker thread, and its answer comes back to the session's thread through a
:data:`Dispatch` (in the window, a queued Qt signal; in tests, a :class:`ManualDispatch`
that the test drains). Keras objects that no run is training belong to one such executor,
so they are only ever touched by one thread.

:class:`LatestTask` is "latest answer wins", written once (Orange's ``ConcurrentMixin``,
ndv's generation counter): each :meth:`~LatestTask.start` supersedes the previous one, an
answer that arrives for a superseded request is dropped, and a request made while one is
running waits for it and replaces any other waiting request, so a burst of edits runs at
most two jobs, never a pile.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from model.errors import ProjectError

log = logging.getLogger(__name__)

T = TypeVar("T")

Dispatch = Callable[[Callable[[], None]], None]
"""Run a callable soon in the session's own thread; may be called from any thread."""


def call_now(fn: Callable[[], None]) -> None:
    """A :data:`Dispatch` for code that already runs in the session's thread."""
    fn()


class ManualDispatch:
    """A :data:`Dispatch` whose calls wait in a queue until the owner drains it (tests, CLI)."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    def __call__(self, fn: Callable[[], None]) -> None:
        self._calls.put(fn)

    def run_pending(self) -> int:
        """Run every call queued so far; returns how many ran."""
        done = 0
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return done
            fn()
            done += 1

    def run_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        """Run calls as they arrive until ``condition()`` holds or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                fn = self._calls.get(timeout=min(remaining, 0.05))
            except queue.Empty:
                continue
            fn()
        return True


class SerialExecutor:
    """One worker thread that runs submitted calls in order.

    Args:
        name: the worker thread's name (it shows in debuggers and in leaked-thread reports).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``fn(*args)``; after :meth:`shutdown` the future fails at once."""
        if self._closed:
            future: Future[T] = Future()
            future.set_exception(RuntimeError(f"the {self.name} worker has shut down"))
            return future
        return self._pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, let the running and queued calls finish."""
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


@dataclass(frozen=True)
class Failure:
    """Why a background call failed, for people: a ProjectError's words, else the exception."""

    message: str
    details: str = ""  # the traceback, for anything that is not a ProjectError

    @classmethod
    def of(cls, exc: BaseException, doing: str = "") -> Failure:
        if isinstance(exc, ProjectError):
            return cls(str(exc))
        prefix = f"{doing} failed: " if doing else ""
        return cls(f"{prefix}{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))


def deliver(
    future: Future[T],
    dispatch: Dispatch,
    on_done: Callable[[T], None],
    on_failed: Callable[[Failure], None] | None = None,
    doing: str = "",
) -> None:
    """When ``future`` resolves, call ``on_done(result)`` or ``on_failed(failure)`` through ``dispatch``."""

    def settled(done: Future[T]) -> None:
        exc = done.exception() if not done.cancelled() else None
        if done.cancelled():
            return
        if exc is None:
            result = done.result()
            dispatch(lambda: on_done(result))
            return
        failure = Failure.of(exc, doing)
        if failure.details:
            log.error("%s\n%s", failure.message, failure.details)
        if on_failed is not None:
            dispatch(lambda: on_failed(failure))

    future.add_done_callback(settled)


class LatestTask(Generic[T]):
    """Runs one kind of background job; only the answer to the newest request is delivered.

    Args:
        executor: where the jobs run.
        dispatch: how answers reach the owner's thread.
        on_done: called (in the owner's thread) with the newest request's result.
        on_failed: called with a :class:`Failure` when the newest request failed.
        doing: what the job does, in words, for messages ("counting the dataset").

    All methods are called from the owner's thread.
    """

    def __init__(
        self,
        executor: SerialExecutor,
        dispatch: Dispatch,
        on_done: Callable[[T], None],
        on_failed: Callable[[Failure], None] | None = None,
        doing: str = "",
    ) -> None:
        self._executor = executor
        self._dispatch = dispatch
        self._on_done = on_done
        self._on_failed = on_failed
        self._doing = doing
        self._generation = 0
        self._running: int | None = None  # generation of the job in the executor
        self._waiting: tuple[int, Callable[[], T]] | None = None

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        return self._running is not None or self._waiting is not None

    @property
    def generation(self) -> int:
        """The number of the newest request (answers to older ones are dropped)."""
        return self._generation

    def start(self, fn: Callable[[], T]) -> int:
        """Ask for ``fn()``; supersedes every earlier request. Returns the request's number."""
        self._generation += 1
        if self._running is not None:
            self._waiting = (self._generation, fn)  # replaces any request that was waiting
        else:
            self._submit(self._generation, fn)
        return self._generation

    def cancel(self) -> None:
        """Drop every answer still to come (a job already running finishes unseen)."""
        self._generation += 1
        self._waiting = None

    def _submit(self, generation: int, fn: Callable[[], T]) -> None:
        self._running = generation
        future = self._executor.submit(fn)
        deliver(
            future,
            self._dispatch,
            lambda result: self._settle(generation, result, None),
            lambda failure: self._settle(generation, None, failure),
            self._doing,
        )

    def _settle(self, generation: int, result: T | None, failure: Failure | None) -> None:
        self._running = None
        current = generation == self._generation
        if current:
            if failure is None:
                self._on_done(result)  # type: ignore[arg-type] # None only with a failure
            elif self._on_failed is not None:
                self._on_failed(failure)
        if self._waiting is not None:
            waiting_generation, fn = self._waiting
            self._waiting = None
            self._submit(waiting_generation, fn)


def join_all(threads: list[threading.Thread], timeout: float) -> bool:
    """Join ``threads`` within ``timeout`` seconds in all; whether every one ended."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)
