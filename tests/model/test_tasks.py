"""LatestTask: only the newest request's answer is delivered; a burst runs at most two jobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from model.errors import DataError
from model.tasks import Failure, LatestTask, ManualDispatch, SerialExecutor


@pytest.fixture
def executor() -> Iterator[SerialExecutor]:
    pool = SerialExecutor("test-worker")
    yield pool
    pool.shutdown()


def test_only_the_newest_answer_is_delivered(executor: SerialExecutor) -> None:
    dispatch = ManualDispatch()
    answers: list[int] = []
    gate = threading.Event()
    calls: list[int] = []
    task: LatestTask[int] = LatestTask(executor, dispatch, answers.append)

    def job(n: int) -> int:
        calls.append(n)
        if n == 1:
            gate.wait(10)
        return n

    for n in (1, 2, 3, 4):
        task.start(lambda n=n: job(n))
    gate.set()
    assert dispatch.run_until(lambda: not task.busy, 10)
    assert answers == [4]
    assert calls == [1, 4]  # 2 and 3 were replaced while 1 ran


def test_a_failure_of_the_newest_request_is_reported_for_people(executor: SerialExecutor) -> None:
    dispatch = ManualDispatch()
    failures: list[Failure] = []
    task: LatestTask[int] = LatestTask(executor, dispatch, lambda _: None, failures.append, "counting")

    def broken() -> int:
        raise DataError("data.path: /x.npz does not exist; pick an existing file")

    task.start(broken)
    assert dispatch.run_until(lambda: bool(failures), 10)
    assert failures[0].message.startswith("data.path: /x.npz") and failures[0].details == ""

    task.start(lambda: 1 // 0)
    assert dispatch.run_until(lambda: len(failures) == 2, 10)
    assert failures[1].message.startswith("counting failed: ZeroDivisionError") and "Traceback" in failures[1].details


def test_cancel_drops_the_answer_on_its_way(executor: SerialExecutor) -> None:
    dispatch = ManualDispatch()
    answers: list[int] = []
    task: LatestTask[int] = LatestTask(executor, dispatch, answers.append)
    task.start(lambda: 7)
    task.cancel()
    assert dispatch.run_until(lambda: not task.busy, 10)
    assert answers == []


def test_a_shut_down_executor_fails_new_work_at_once() -> None:
    pool = SerialExecutor("closed")
    pool.shutdown()
    future = pool.submit(lambda: 1)
    assert future.done() and isinstance(future.exception(), RuntimeError)
