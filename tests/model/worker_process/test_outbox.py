"""The worker's outbox: messages up a real pipe, in order, batch records that come close together as one."""

from __future__ import annotations

import gc
import multiprocessing
import threading
import time
import weakref

import numpy as np

from model.events import BatchRecord, EpochRecord, WeightSnapshot
from model.worker_process import child
from model.worker_process.child import BUNDLE_LINGER_S, BUNDLE_MAX, Outbox
from model.worker_process.messages import BatchBundle, Exited


def record(step: int) -> BatchRecord:
    norms = np.array([0.1, 0.2])
    return BatchRecord(1, 0, step, step, 0.5, 0.9, 1e-3, norms, norms, 1000.0, step / 1000, 10.0)


def epoch() -> EpochRecord:
    norms = np.array([0.1, 0.2])
    return EpochRecord(1, 0, 0.5, 0.9, 0.6, 0.85, 1e-3, norms, norms, 1.0, 1000.0)


def received(reader) -> list:
    """Every message until the pipe closes."""
    out = []
    while True:
        try:
            out.append(reader.recv())
        except EOFError:
            return out


def steps(messages: list) -> list[int]:
    """The batch steps, in the order they came, bundles opened."""
    out: list[int] = []
    for m in messages:
        if isinstance(m, BatchBundle):
            out += [r.step for r in m.records]
        elif isinstance(m, BatchRecord):
            out.append(m.step)
    return out


def test_records_put_together_go_as_one_bundle_and_any_other_message_sends_them_first() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = Outbox(writer)
    for step in range(5):
        outbox.send(record(step))
    outbox.send(epoch())  # ends the bundle at once: no linger before an epoch's end
    outbox.send(record(5))
    outbox.send(Exited())
    outbox.close()
    messages = received(reader)
    kinds = [type(m).__name__ for m in messages]
    assert steps(messages) == [0, 1, 2, 3, 4, 5]
    assert kinds.index("EpochRecord") > 0 and kinds[-1] == "Exited"
    before_epoch = messages[: kinds.index("EpochRecord")]
    assert len(before_epoch) < 5  # bundled (the sender may have sent the first one alone)
    assert isinstance(messages[-2], BatchRecord) and messages[-2].step == 5  # alone: sent as it is


def test_a_lone_record_goes_within_the_linger_and_bundles_are_capped() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = Outbox(writer)
    started = time.monotonic()
    outbox.send(record(0))
    assert reader.poll(60)  # nothing else comes: it is sent after the linger
    first = reader.recv()
    assert isinstance(first, BatchRecord) and first.step == 0
    assert time.monotonic() - started >= BUNDLE_LINGER_S * 0.9
    for step in range(1, 1 + 3 * BUNDLE_MAX):
        outbox.send(record(step))
    outbox.close()
    messages = received(reader)
    assert steps(messages) == list(range(1, 1 + 3 * BUNDLE_MAX))
    assert all(len(m.records) <= BUNDLE_MAX for m in messages if isinstance(m, BatchBundle))


def test_a_closed_window_ends_the_worker_even_while_bundling(monkeypatch) -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    reader.close()
    left: list[int] = []
    monkeypatch.setattr(child, "_leave", left.append)
    outbox = Outbox(writer)
    outbox.send(record(0))
    outbox.send(record(1))
    outbox.close()
    assert left and left[0] == child.EXIT_PARENT_GONE


def snapshot(steps_done: int, *, paused: bool = False, size: int = 250_000) -> WeightSnapshot:
    return WeightSnapshot(1, steps_done, 0, steps_done - 1, [np.full(size, float(steps_done), np.float32)], paused=paused)


def test_a_window_that_cannot_read_holds_at_most_the_newest_running_snapshot_and_every_paused_one() -> None:
    """While nobody reads the pipe (the window stopped with Ctrl+Z), snapshots do not pile up."""
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = Outbox(writer)
    outbox.send(record(0))
    alive = []
    for step in range(1, 21):  # 1 MB each: the first fills the pipe and blocks the sender
        message = snapshot(step)
        alive.append(weakref.ref(message.weights[0]))
        outbox.send(message)
        del message
        time.sleep(0.01)
    outbox.send(snapshot(21, paused=True))
    outbox.send(record(1))
    time.sleep(BUNDLE_LINGER_S + 0.1)
    gc.collect()
    assert sum(ref() is not None for ref in alive) <= 2  # the one being sent and the newest

    closer = threading.Thread(target=outbox.close)
    closer.start()
    messages = received(reader)
    closer.join(10)
    snapshots = [m for m in messages if isinstance(m, WeightSnapshot)]
    running = [m.steps_done for m in snapshots if not m.paused]
    assert 1 <= len(running) <= 2 and running[-1] == 20  # the newest running one always goes
    assert snapshots[-1].paused and snapshots[-1].steps_done == 21
    assert float(snapshots[-1].weights[0][0]) == 21.0
    assert steps(messages) == [0, 1]
    # Order kept: the first record before any snapshot, the last after the paused one.
    kinds = [type(m).__name__ for m in messages]
    assert kinds[0] in ("BatchRecord", "BatchBundle") and kinds[-1] in ("BatchRecord", "BatchBundle")


def test_a_snapshot_that_nothing_supersedes_is_sent_as_it_was() -> None:
    reader, writer = multiprocessing.Pipe(duplex=False)
    outbox = Outbox(writer)
    outbox.send(record(3))
    outbox.send(snapshot(4, size=10))
    closer = threading.Thread(target=outbox.close)
    closer.start()
    messages = received(reader)
    closer.join(10)
    (sent,) = [m for m in messages if isinstance(m, WeightSnapshot)]
    assert sent.steps_done == 4 and sent.weights[0].tolist() == [4.0] * 10
    assert steps(messages) == [3] and isinstance(messages[-1], WeightSnapshot)
