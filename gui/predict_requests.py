"""Asking a predictor about the drawing, and dropping answers that come too late.

The Draw tab asks for predictions while drawing (debounced) and at once when a stroke
ends. Every request is numbered; a reply that is older than the newest one shown is
dropped, like the generation counter of ndv's viewer, because futures resolve in other
threads and may arrive out of order. Replies cross into the GUI thread through a Qt
signal (:class:`ReplyBridge`, queued when emitted from another thread); no widget is
ever touched from outside the GUI thread.

A request has up to two replies under the same number: the :data:`MAIN` one (the
drawing alone; with "Show where it looked" on, an explanation that carries the
probabilities too, from the predictor's ``explain``) and, once the drawing has settled, the :data:`ROBUSTNESS` one (the drawing
and its shifted, rotated, thinned and thickened variants in one batch). A robustness
reply is shown only beside the main reply of its own request; one that arrives first
waits for it. :class:`RequestLedger` keeps that bookkeeping, in plain Python; the panel
(:class:`gui.predict_panel.PredictPanel`) decides what to show.

When a stroke ends, the answers to the requests made while it was drawn are no longer
worth showing (:meth:`RequestLedger.supersede`): those not started are cancelled, and
the replies of those running are dropped. The predictor answers one request at a time,
and the stroke's own answer would otherwise wait behind answers about a drawing that is
no longer there (while a CNN trained in a worker, that wait reached 28 ms), and then
behind showing them.
"""

from __future__ import annotations

from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Signal

from model.explain import Explanation
from model.inference import Predictor
from model.preprocess import Preprocessed

MAIN: Final = "main"
"""The kind of a request for the drawing alone."""

ROBUSTNESS: Final = "robustness"
"""The kind of a request for the drawing and its robustness variants, in one batch."""

MAX_PENDING: Final = 64
"""Requests remembered while their replies are outstanding (a predictor may stop answering)."""

Variants = list[tuple[str, NDArray[np.float32]]]
"""Robustness variants: what was changed, and the changed 28x28 image."""


@dataclass(frozen=True, eq=False)
class Reply:
    """A resolved future on its way into the GUI thread."""

    request_id: int
    kind: str  # MAIN or ROBUSTNESS
    future: Future[Any]  # probabilities, or an Explanation holding them

    def cancelled(self) -> bool:
        """The request was cancelled by :meth:`RequestLedger.supersede`: nothing to show."""
        return self.future.cancelled()


class ReplyBridge(QObject):
    """Carries resolved futures into the GUI thread.

    It lives in the GUI thread and has no parent, so a future that resolves after the
    panel is gone still emits on a live object (the panel's connection is simply gone).
    Qt queues the emission when it comes from another thread and delivers it directly
    when the future resolved in the GUI thread already (an idle model's prediction).
    """

    replied = Signal(object)


def submit(
    bridge: ReplyBridge, predictor: Predictor, request_id: int, kind: str, x: NDArray[np.float32], *, explain: bool = False
) -> Future[Any]:
    """Hand ``x`` to ``predictor``; its reply comes back as a :class:`Reply` on ``bridge.replied``.

    Returns the future the reply will hold (for :meth:`RequestLedger.track`).

    With ``explain`` the predictor's ``explain`` answers instead (an
    :class:`~model.explain.Explanation`: probabilities and what the model looked at, in one
    call). A predictor that raises instead of answering gives a reply holding that exception.
    """
    future: Future[Any]
    try:
        future = predictor.explain(x) if explain else predictor.submit(x)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - a broken predictor is shown, not raised
        future = Future()
        future.set_exception(exc)

    def _on_done(done: Future[Any]) -> None:
        # Runs in whichever thread resolved the future: only emit, touch nothing else.
        bridge.replied.emit(Reply(request_id, kind, done))

    future.add_done_callback(_on_done)
    return future


def reply_outcome(future: Future[Any], rows: int) -> NDArray[np.float32] | str:
    """The probabilities a resolved future holds, ``rows`` by classes, or why there are none, in words."""
    try:
        result = future.result(timeout=0)
    except CancelledError:
        return "Prediction failed: the request was cancelled"
    except Exception as exc:  # noqa: BLE001 - any failure of the predictor is shown
        return f"Prediction failed: {type(exc).__name__}: {exc}"
    if isinstance(result, Explanation):
        result = result.probabilities
    probabilities = np.asarray(result, dtype=np.float32)
    if probabilities.ndim != 2 or probabilities.shape[0] != rows or probabilities.shape[1] < 1:
        return f"Prediction failed: the model answered with shape {probabilities.shape}, not ({rows}, classes)"
    if not np.all(np.isfinite(probabilities)):
        return "Prediction failed: the model answered NaN or infinity (the weights may have diverged)"
    return probabilities


def explanation_of(future: Future[Any]) -> Explanation | None:
    """The :class:`~model.explain.Explanation` a resolved future holds, if it holds one
    whose saliency is finite; ``None`` otherwise (plain probabilities, or a failure)."""
    if future.cancelled() or future.exception(timeout=0) is not None:
        return None
    result = future.result(timeout=0)
    if not isinstance(result, Explanation) or not np.all(np.isfinite(result.saliency)):
        return None
    return result


class RequestLedger:
    """Numbers the requests and says which replies are still worth showing (GUI thread only).

    Attributes:
        last_request: The number of the newest request.
        floor: Main replies to requests below this are stale.
        robustness_floor: Robustness replies to requests below this are stale too.
        pending: The preprocessed drawing of each request whose main reply is outstanding.
        variants: The robustness variants of each request whose robustness reply is outstanding.
        early_robustness: Robustness replies that beat the main reply of their request.
        futures: The futures of each request whose replies may still be outstanding.
    """

    def __init__(self) -> None:
        self.last_request = 0
        self.floor = 0
        self.robustness_floor = 0
        self.pending: dict[int, Preprocessed] = {}
        self.variants: dict[int, Variants] = {}
        self.early_robustness: dict[int, Reply] = {}
        self.futures: dict[int, list[Future[Any]]] = {}

    def new_request(self) -> int:
        """The number of a new request, larger than every earlier one."""
        self.last_request += 1
        return self.last_request

    def drop_before(self, request_id: int) -> None:
        """Make every reply to a request older than ``request_id`` stale."""
        self.floor = self.robustness_floor = request_id
        self.forget_before(request_id)

    def drop_outstanding(self) -> None:
        """Make every reply to a request made so far stale (the predictor changed, say)."""
        self.drop_before(self.last_request + 1)

    def forget_before(self, request_id: int) -> None:
        """Drop what is kept for requests older than ``request_id``: their replies are stale."""
        stores: tuple[dict[int, Any], ...] = (self.pending, self.variants, self.early_robustness, self.futures)
        for store in stores:
            for key in [key for key in store if key < request_id]:
                del store[key]

    def track(self, request_id: int, future: Future[Any]) -> None:
        """Remember a future of request ``request_id``, for :meth:`supersede`."""
        self.futures.setdefault(request_id, []).append(future)

    def supersede(self, request_id: int) -> int:
        """Request ``request_id`` reads the drawing come to rest: every older request's
        replies are stale, and those not started are cancelled; how many were.

        Requests already running finish, and their replies are dropped like any stale
        one; a cancelled one's reply is to be ignored (:meth:`Reply.cancelled`).
        """
        older = [future for key, futures in self.futures.items() if key < request_id for future in futures]
        self.drop_before(request_id)
        return sum(future.cancel() for future in older)

    def expect(self, request_id: int, prep: Preprocessed) -> None:
        """Remember the drawing of request ``request_id`` until its main reply comes."""
        self.pending[request_id] = prep
        if len(self.pending) > MAX_PENDING:  # a predictor that stopped answering
            self.forget_before(sorted(self.pending)[-MAX_PENDING])

    def expect_robustness(self, request_id: int, variants: Variants) -> None:
        """Remember the variants of request ``request_id`` until its robustness reply comes."""
        self.variants[request_id] = variants

    def accept_main(self, request_id: int) -> Preprocessed | None:
        """The drawing a main reply answers, or ``None`` when the reply is stale.

        Accepting it makes every older request's replies stale.
        """
        prep = self.pending.pop(request_id, None)
        if request_id < self.floor or prep is None:
            return None  # an older drawing than the one on display
        self.floor = request_id
        self.forget_before(request_id)
        return prep

    def take_early_robustness(self, request_id: int) -> Reply | None:
        """The robustness reply of ``request_id`` that came before its main reply, if any."""
        return self.early_robustness.pop(request_id, None)

    def accept_robustness(self, reply: Reply, shown_request_id: int | None) -> Variants | None:
        """The variants a robustness reply answers, or ``None`` when it is not to be shown now.

        Args:
            reply: The robustness reply.
            shown_request_id: The request whose main reply is on display, if any. A reply
                whose main reply is still outstanding is kept for
                :meth:`take_early_robustness`; any other is dropped.
        """
        request_id = reply.request_id
        if request_id < max(self.floor, self.robustness_floor) or request_id not in self.variants:
            return None
        if shown_request_id != request_id:
            if request_id in self.pending:  # its main reply is still on the way: wait for it
                self.early_robustness[request_id] = reply
            return None
        self.robustness_floor = request_id
        return self.variants.pop(request_id)
