"""SessionSink: a run's records reach the session's thread in order, many per dispatch,
batch records that wait together in one call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import model.session.runs as runs
from model.session.runs import SessionSink


class Handler:
    """Records what the session's thread was handed, in order."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.seen: list[Any] = []
        self.groups: list[list[Any]] = []  # the batch records of each call
        self._fail_on = fail_on

    def _on_batches(self, records: Any) -> None:
        self.groups.append(list(records))
        if self._fail_on in records:
            raise RuntimeError(f"record {self._fail_on} is broken")
        self.seen.extend(records)

    def _on_exit(self, run_id: int) -> None:
        self.seen.append(("exit", run_id))


class Loop:
    """A hand-turned event loop: dispatch queues, turn() runs one queued call."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []

    def __call__(self, fn: Callable[[], None]) -> None:
        self.queued.append(fn)

    def turn(self) -> None:
        self.queued.pop(0)()


def test_records_sent_while_the_thread_is_busy_come_in_order_in_one_dispatch() -> None:
    loop, handler = Loop(), Handler()
    sink = SessionSink(handler, 1, loop)  # type: ignore[arg-type] # the two calls used
    for i in range(50):
        sink.on_batch(i)  # type: ignore[arg-type]
    sink.on_exit(1)
    assert len(loop.queued) == 1, "one dispatch outstanding, whatever the backlog"
    loop.turn()
    assert handler.seen == [*range(50), ("exit", 1)] and not loop.queued
    assert handler.groups == [list(range(50))], "the waiting batch records come as one call"
    sink.on_batch(50)  # type: ignore[arg-type] # drained: the next record dispatches again
    assert len(loop.queued) == 1
    loop.turn()
    assert handler.seen[-1] == 50 and handler.groups[-1] == [50]


def test_a_group_holds_at_most_batch_group_max_records_and_never_jumps_another_call() -> None:
    loop, handler = Loop(), Handler()
    sink = SessionSink(handler, 1, loop)  # type: ignore[arg-type]
    count = 2 * runs.BATCH_GROUP_MAX + 5
    for i in range(count):
        sink.on_batch(i)  # type: ignore[arg-type]
    sink.on_exit(1)
    sink.on_batch(count)  # type: ignore[arg-type] # after the exit: a group of its own
    loop.turn()
    assert [len(g) for g in handler.groups] == [runs.BATCH_GROUP_MAX, runs.BATCH_GROUP_MAX, 5, 1]
    assert handler.seen == [*range(count), ("exit", 1), count]


def test_a_backlog_longer_than_a_slice_yields_to_the_loop_and_keeps_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs, "DRAIN_SLICE_S", -1.0)  # every call overruns the slice
    loop, handler = Loop(), Handler()
    sink = SessionSink(handler, 1, loop)  # type: ignore[arg-type]
    for i in range(3):
        sink.on_batch(i)  # type: ignore[arg-type]
        sink.on_exit(i)  # between two batch records: three calls of one record each
    loop.turn()
    assert handler.seen == [0] and len(loop.queued) == 1  # the rest waits for the next turn
    loop(lambda: handler.seen.append("other event"))  # queued meanwhile: runs before the rest
    loop.turn()  # the exit, then the drain goes to the back of the queue
    loop.turn()  # the other event
    loop.turn()  # record 1
    assert handler.seen == [0, ("exit", 0), "other event", 1] and len(loop.queued) == 1
    for _ in range(3):
        loop.turn()
    assert handler.seen[-3:] == [("exit", 1), 2, ("exit", 2)] and len(loop.queued) == 1
    loop.turn()  # finds the queue empty
    assert not loop.queued


def test_a_failing_call_does_not_hold_back_the_records_after_it() -> None:
    loop, handler = Loop(), Handler(fail_on=1)
    sink = SessionSink(handler, 1, loop)  # type: ignore[arg-type]
    for i in range(3):
        sink.on_batch(i)  # type: ignore[arg-type]
        sink.on_exit(i)
    with pytest.raises(RuntimeError, match="record 1 is broken"):
        loop.turn()
    loop.turn()
    assert handler.seen == [0, ("exit", 0), ("exit", 1), 2, ("exit", 2)] and not loop.queued


def test_records_from_another_thread_all_arrive_in_order() -> None:
    handler = Handler()
    lock = threading.Lock()
    pending: list[Callable[[], None]] = []

    def dispatch(fn: Callable[[], None]) -> None:
        with lock:
            pending.append(fn)

    sink = SessionSink(handler, 1, dispatch)  # type: ignore[arg-type]
    sender = threading.Thread(target=lambda: [sink.on_batch(i) for i in range(2000)])  # type: ignore[arg-type, func-returns-value]
    sender.start()
    while sender.is_alive() or pending:
        with lock:
            calls, pending[:] = list(pending), []
        for call in calls:
            call()
    sender.join()
    with lock:
        for call in pending:
            call()
    assert handler.seen == list(range(2000))
    assert all(1 <= len(group) <= runs.BATCH_GROUP_MAX for group in handler.groups)
