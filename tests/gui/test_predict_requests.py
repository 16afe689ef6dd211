"""The Draw tab's request bookkeeping on its own: which replies are stale, which wait (no widgets)."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from gui.predict_requests import MAX_PENDING, ROBUSTNESS, Reply, RequestLedger, reply_outcome
from model.preprocess import preprocess_drawing

PREP = preprocess_drawing(np.zeros((28, 28), dtype=np.float32))
VARIANTS = [("shifted", np.zeros((28, 28), dtype=np.float32))]


def answered(rows: int, classes: int = 10) -> Future[np.ndarray]:
    future: Future[np.ndarray] = Future()
    future.set_result(np.full((rows, classes), 1.0 / classes, dtype=np.float32))
    return future


def test_a_newer_main_reply_makes_older_ones_stale() -> None:
    ledger = RequestLedger()
    first, second = ledger.new_request(), ledger.new_request()
    ledger.expect(first, PREP)
    ledger.expect(second, PREP)
    assert ledger.accept_main(second) is PREP
    assert ledger.accept_main(first) is None  # answered after a newer one was shown
    assert ledger.pending == {}


def test_dropping_outstanding_requests_makes_their_replies_stale() -> None:
    ledger = RequestLedger()
    request = ledger.new_request()
    ledger.expect(request, PREP)
    ledger.expect_robustness(request, VARIANTS)
    ledger.drop_outstanding()
    assert ledger.accept_main(request) is None
    assert ledger.accept_robustness(Reply(request, ROBUSTNESS, answered(2)), request) is None


def test_a_robustness_reply_waits_for_the_main_reply_of_its_request() -> None:
    ledger = RequestLedger()
    request = ledger.new_request()
    ledger.expect(request, PREP)
    ledger.expect_robustness(request, VARIANTS)
    early = Reply(request, ROBUSTNESS, answered(2))
    assert ledger.accept_robustness(early, shown_request_id=None) is None  # kept, not shown
    assert ledger.accept_main(request) is PREP
    assert ledger.take_early_robustness(request) is early
    assert ledger.accept_robustness(early, shown_request_id=request) == VARIANTS
    assert ledger.accept_robustness(early, shown_request_id=request) is None  # shown once


def test_requests_without_replies_do_not_pile_up() -> None:
    ledger = RequestLedger()
    for _ in range(3 * MAX_PENDING):
        ledger.expect(ledger.new_request(), PREP)
    assert len(ledger.pending) == MAX_PENDING
    assert min(ledger.pending) == ledger.last_request - MAX_PENDING + 1  # the newest are kept


def test_reply_outcome_explains_a_reply_of_the_wrong_shape() -> None:
    assert reply_outcome(answered(1), 1).shape == (1, 10)
    assert "shape (2, 10)" in reply_outcome(answered(2), 1)


def test_a_settled_request_makes_older_ones_stale_and_cancels_those_not_yet_started() -> None:
    ledger = RequestLedger()
    waiting, started, done, newest = (ledger.new_request() for _ in range(4))
    futures: dict[int, Future[np.ndarray]] = {}
    for request in (waiting, started, done, newest):
        ledger.expect(request, PREP)
        futures[request] = Future()
        ledger.track(request, futures[request])
    ledger.expect_robustness(started, VARIANTS)
    futures[started].set_running_or_notify_cancel()
    futures[done].set_result(np.zeros((1, 10), np.float32))
    assert ledger.supersede(newest) == 1
    assert futures[waiting].cancelled()
    assert not any(futures[r].cancelled() for r in (started, done, newest))
    assert Reply(waiting, ROBUSTNESS, futures[waiting]).cancelled()
    assert ledger.accept_main(started) is None and ledger.accept_main(done) is None  # stale: not shown
    assert ledger.accept_robustness(Reply(started, ROBUSTNESS, answered(2)), None) is None
    assert list(ledger.futures) == [newest]
    assert ledger.supersede(newest) == 0  # forgotten once superseded
    assert ledger.accept_main(newest) is PREP


def test_tracked_futures_are_forgotten_with_their_requests() -> None:
    ledger = RequestLedger()
    for _ in range(3 * MAX_PENDING):
        request = ledger.new_request()
        ledger.expect(request, PREP)
        ledger.track(request, Future())
    assert len(ledger.futures) == MAX_PENDING
