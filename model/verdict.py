"""What the Draw tab says about a drawing: the answer, whether to trust it, and averaging.

A softmax always names a class, even for a scribble, so the network's top probability
alone is not an answer. :func:`judge` turns the probabilities and what preprocessing
found (:class:`~model.preprocess.Preprocessed`) into a :class:`Verdict`: a confident
answer, or no confident answer and why in words: the drawing is a scribble (its pen
path is far longer than any digit's, :data:`SCRIBBLE_LENGTH`, or it has more strokes than
any digit needs, :data:`MAX_STROKES`), or the network
is unsure (its top probability is below :data:`CONFIDENT`). Empty and near-empty drawings
never reach the network at all (:attr:`Preprocessed.empty` and ``notice``).

Test-time averaging (ConvNetJS does this) reads a few slightly changed copies of the
input and averages their probabilities, which smooths over the network's sensitivity to
where exactly the pixels fall: :class:`AveragingPredictor` wraps any
:class:`~model.inference.Predictor` so that every row it is asked about is read as
:func:`jittered_copies` of itself, while its callers still get one row of probabilities
per row they sent. Its ``explain`` (for "Show where it looked") answers with the averaged
probabilities and the saliency and feature maps of the copy as drawn, from one call.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from model.explain import Explanation, FeatureMaps
from model.inference import Predictor, can_explain
from model.preprocess import MNIST_SIZE, Preprocessed

T = TypeVar("T")
U = TypeVar("U")

CONFIDENT: Final = 0.6
"""The lowest top probability (after averaging) that counts as an answer rather than a
guess. On the benchmark's held-out pen digits about 1% fall below it, half of them read
wrong; a quarter of the non-digit scribbles that pass the stroke checks do too."""

SCRIBBLE_LENGTH: Final = 7.0
"""A pen path longer than this many times the drawing's longest side is a scribble, not a
digit (see :func:`model.ink.scribble_score`: no real pen digit of 7,494 scores above 5)."""

MAX_STROKES: Final = 5
"""More strokes than this make a scribble: the 7,494 pen digits took at most three."""

SCRIBBLE_MESSAGE: Final = "That looks like a scribble, not a digit"

AVERAGING_DEFAULT: Final = True
"""Whether the Draw tab averages over :data:`JITTERS` unless told otherwise: on, because it
reads more pen digits right at no cost to the latency target (``bench/pendigits_accuracy.py``,
``bench/canvas_latency.py``)."""

JITTERS: Final = (("as drawn", 1.0, 0.0), ("smaller", 0.9, 0.0), ("larger", 1.1, 0.0))
"""The copies test-time averaging reads: what changed, the zoom about the centre, the
rotation in degrees."""


@dataclass(frozen=True, eq=False)
class Verdict:
    """What to say about a drawing the network has read.

    Attributes:
        probabilities: One probability per class (float32, read-only).
        predicted_class: The most probable class.
        confident: Whether that class is an answer; when not, :attr:`note` says why.
        note: Why there is no confident answer, in words; ``""`` when there is one.
    """

    probabilities: NDArray[np.float32]
    predicted_class: int
    confident: bool
    note: str = ""


def judge(probabilities: NDArray[np.generic], prep: Preprocessed | None = None) -> Verdict:
    """Decide whether the network's answer for a drawing is an answer.

    Args:
        probabilities: The network's probabilities for the drawing (one row, or a vector).
        prep: The drawing as preprocessed, for its :attr:`~Preprocessed.scribble` score.
    """
    row = np.array(np.asarray(probabilities, dtype=np.float32).reshape(-1), copy=True)
    row.setflags(write=False)
    best = int(np.argmax(row))
    if prep is not None and (prep.scribble > SCRIBBLE_LENGTH or prep.stroke_count > MAX_STROKES):
        return Verdict(row, best, confident=False, note=SCRIBBLE_MESSAGE)
    top = float(row[best])
    if top < CONFIDENT:
        order = np.argsort(row)[::-1]
        return Verdict(row, best, confident=False, note=f"Not sure: it could be {best} or {int(order[1])}")
    return Verdict(row, best, confident=True)


def jittered_copies(image28: NDArray[np.generic]) -> NDArray[np.float32]:
    """The copies of a 28x28 image that test-time averaging reads, as in :data:`JITTERS`.

    Returns:
        A ``(len(JITTERS), 28, 28)`` float32 array in [0, 1]; the first is the image itself.
    """
    image = np.asarray(image28, dtype=np.float64).reshape(MNIST_SIZE, MNIST_SIZE)
    centre = (MNIST_SIZE - 1) / 2.0
    out = np.empty((len(JITTERS), MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    for index, (_, zoom, degrees) in enumerate(JITTERS):
        if zoom == 1.0 and degrees == 0.0:
            out[index] = image
            continue
        turn = np.deg2rad(degrees)
        # Output pixel p samples the input at c + M (p - c), with M = R(turn) / zoom.
        matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) / zoom
        offset = centre - matrix @ np.array([centre, centre])
        out[index] = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant")
    return np.clip(out, 0.0, 1.0)


class AveragingPredictor:
    """A :class:`~model.inference.Predictor` that reads each row as :func:`jittered_copies`
    of itself and answers with their mean probabilities.

    One call to the wrapped predictor per call, ``len(JITTERS)`` times as many rows, so
    the cost is one slightly larger forward pass. Inputs are reshaped to 28x28 for the
    jitter and back to the model's input shape.
    """

    def __init__(self, inner: Predictor) -> None:
        self.inner = inner

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.inner.input_shape

    def submit(self, x: NDArray[np.generic]) -> Future[NDArray[np.float32]]:
        rows, copies = self._copies(x)
        return _then(self.inner.submit(copies), lambda found: _mean_per_row(found, rows))

    def explain(self, x: NDArray[np.generic]) -> Future[Explanation]:
        """The averaged probabilities of ``x``'s rows, with the saliency and feature maps of
        each row as drawn (the first copy), from one call to the wrapped predictor's ``explain``.

        The map is for the class the copy as drawn was read as, which is nearly always the
        averaged answer too. A wrapped predictor that cannot explain gives a failed future.
        """
        if not can_explain(self.inner):
            failed: Future[Explanation] = Future()
            failed.set_exception(TypeError("this model cannot show what it looked at"))
            return failed
        rows, copies = self._copies(x)
        found: Future[Explanation] = self.inner.explain(copies)  # type: ignore[attr-defined]
        return _then(found, lambda explanation: _averaged_explanation(explanation, rows))

    def _copies(self, x: NDArray[np.generic]) -> tuple[int, NDArray[np.float32]]:
        """How many rows ``x`` has, and its rows' jittered copies in the model's input shape."""
        batch = np.asarray(x, dtype=np.float32)
        rows = len(batch)
        copies = np.concatenate([jittered_copies(image) for image in batch.reshape(rows, MNIST_SIZE, MNIST_SIZE)])
        return rows, copies.reshape((rows * len(JITTERS), *batch.shape[1:]))


def _mean_per_row(probabilities: object, rows: int) -> NDArray[np.float32]:
    found = np.asarray(probabilities, dtype=np.float32)
    mean: NDArray[np.float32] = found.reshape(rows, len(JITTERS), -1).mean(axis=1)
    return mean


def _averaged_explanation(explanation: Explanation, rows: int) -> Explanation:
    """``explanation`` of the jittered copies as one of the rows: mean probabilities, and
    the first (as drawn) copy's maps."""
    step = len(JITTERS)
    return Explanation(
        probabilities=_mean_per_row(explanation.probabilities, rows),
        saliency=np.asarray(explanation.saliency)[::step],
        explained=np.asarray(explanation.explained)[::step],
        method=explanation.method,
        layer=explanation.layer,
        feature_maps=tuple(
            FeatureMaps(layer=maps.layer, maps=np.asarray(maps.maps)[::step], channels=maps.channels)
            for maps in explanation.feature_maps
        ),
    )


class _Derived(Future[U]):
    """A future computed from another one: it can be cancelled exactly while that one can."""

    def __init__(self, source: Future[Any]) -> None:
        super().__init__()
        self._source = source

    def cancel(self) -> bool:
        """Cancel the source and this, if the source's work has not started; else ``False``."""
        if not self._source.cancel():
            return False
        return super().cancel()


def _then(future: Future[T], convert: Callable[[T], U]) -> Future[U]:
    """A future of ``convert`` applied to ``future``'s result, failing as either fails.

    Cancelling it cancels ``future`` too, and is refused once ``future``'s work has
    started; it is cancelled when ``future`` is.
    """
    answer: _Derived[U] = _Derived(future)

    def _on_done(done: Future[T]) -> None:
        if done.cancelled():
            answer.cancel()
            return
        if not answer.set_running_or_notify_cancel():
            return  # cancelled by the caller
        try:
            result = convert(done.result())
        except Exception as exc:  # noqa: BLE001 - the caller shows any failure
            answer.set_exception(exc)
        else:
            answer.set_result(result)

    future.add_done_callback(_on_done)
    return answer
