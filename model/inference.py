"""Predictions for the canvas and the command line, and fitting inputs to a model.

Keras's TensorFlow backend is not thread-safe. While a run trains, its model belongs to the
run's thread, so the canvas asks it through a :class:`MailboxPredictor` (the run answers
between batches, on the latest weights). A model that no run is training (just finished,
or loaded from a file) is used directly by one thread through a :class:`DirectPredictor`.
Both can also explain an answer (:class:`ExplainingPredictor`, :mod:`model.explain`):
probabilities, saliency and feature maps in one call. TensorFlow is imported only when a
prediction is first compiled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from model.errors import ModelFileError, ProjectError
from model.events import PredictionMailbox
from model.explain import Explainer, Explanation, make_explainer

T = TypeVar("T")


def model_input_shape(model: Any) -> tuple[int, ...]:
    """The per-sample input shape of a Keras model, e.g. ``(28, 28, 1)`` or ``(784,)``."""
    shape = model.input_shape
    if isinstance(shape, list):
        raise ModelFileError("the model has several inputs; only single-input models are supported")
    return tuple(int(d) if d is not None else -1 for d in shape[1:])


def adapt_batch(x: np.ndarray, model: Any) -> np.ndarray:
    """Reshape a batch of images to the model's input: image (28, 28, 1) or flat (784)."""
    want = model_input_shape(model)
    have = tuple(x.shape[1:])
    if have == want:
        return x
    if -1 not in want and math.prod(want) == math.prod(have):
        return np.reshape(x, (len(x), *want))
    raise ProjectError(
        f"the model expects input {want} but the data is {have}; use a model made for these images"
    )


def check_digit_model(model: Any, num_classes: int = 10) -> None:
    """Raise :class:`ModelFileError` unless the model takes 28x28 (or 784) and gives ``num_classes``."""
    shape = model_input_shape(model)
    if math.prod(d for d in shape if d > 0) != 784 or len(shape) not in (1, 2, 3) or (len(shape) == 3 and shape[-1] != 1):
        raise ModelFileError(
            f"the model expects input {shape}, but drawings give a 28x28 grayscale image "
            "(a model with input (28, 28, 1), (28, 28) or (784,) fits)"
        )
    out = model.output_shape
    if isinstance(out, list) or out[-1] != num_classes:
        raise ModelFileError(f"the model gives {out[1:] if not isinstance(out, list) else 'several outputs'}, "
                             f"but digit classification needs {num_classes} class scores")


class Predictor(Protocol):
    """Something that turns a batch of model inputs into class probabilities.

    ``submit`` never blocks for long: it returns a future that is resolved by whichever
    thread owns the model. The caller may cancel a future whose work has not started (the
    Draw tab does when a stroke ends); whoever resolves it calls
    ``set_running_or_notify_cancel()`` first and skips the work when that says no, as
    executors and :class:`~model.events.PredictionMailbox` do.
    """

    @property
    def input_shape(self) -> tuple[int, ...]: ...

    def submit(self, x: np.ndarray) -> Future[np.ndarray]: ...


class ExplainingPredictor(Predictor, Protocol):
    """A :class:`Predictor` that can also say what the model looked at.

    ``explain`` answers like ``submit`` but with an :class:`~model.explain.Explanation`
    (probabilities, saliency and feature maps from one forward and backward pass).
    """

    def explain(self, x: np.ndarray) -> Future[Explanation]: ...


def can_explain(predictor: object) -> bool:
    """Whether ``predictor`` has :meth:`ExplainingPredictor.explain`."""
    return callable(getattr(predictor, "explain", None))


@runtime_checkable
class LivePredictor(Predictor, Protocol):
    """A predictor on a model that is still training, which says how current it is.

    ``description`` names the model that answers now ("live model of run 3, as of batch
    1,200 (epoch 2)"); ``watch(callback)`` has ``callback()`` called, from any thread,
    whenever that changes. ``follow(True)`` says someone is looking (the Draw tab shows):
    the model is kept current from then on; ``follow(False)``, nobody is, and keeping it
    current may stop until the next ``follow(True)``.
    """

    @property
    def description(self) -> str: ...

    def watch(self, callback: Callable[[], None]) -> None: ...

    def follow(self, on: bool) -> None: ...


class _Executor(Protocol):
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]: ...


class DirectPredictor:
    """Predicts with a model that no run is training, in the one thread that owns it.

    With ``executor`` (the session's Keras worker), every prediction runs in that
    executor's thread and ``submit`` returns at once; without, in the calling thread. The
    first call compiles the forward pass (a few hundred ms); later calls take 1-2 ms. When
    a run is training, predictions go through that run's :class:`MailboxPredictor` instead.
    """

    def __init__(self, model: Any, executor: _Executor | None = None) -> None:
        self.model = model
        self._executor = executor
        self._input_shape = model_input_shape(model)
        self._forward: Callable[[np.ndarray], np.ndarray] | None = None
        self._explainer: Explainer | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        return self._run(self._predict, x)

    def explain(self, x: np.ndarray) -> Future[Explanation]:
        """Probabilities, saliency and feature maps for ``x`` (see :mod:`model.explain`)."""
        return self._run(self._explain, x)

    def _run(self, fn: Callable[[np.ndarray], T], x: np.ndarray) -> Future[T]:
        if self._executor is not None:
            result: Future[T] = self._executor.submit(fn, x)
            return result
        fut: Future[T] = Future()
        try:
            fut.set_result(fn(x))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def _predict(self, x: np.ndarray) -> np.ndarray:
        if self._forward is None:
            self._forward = make_predictor(self.model)
        return self._forward(np.asarray(x, dtype=np.float32))

    def _explain(self, x: np.ndarray) -> Explanation:
        if self._explainer is None:
            self._explainer = make_explainer(self.model)
        return self._explainer(x)


class MailboxPredictor:
    """Predicts with a run's live model, answered by the run's own thread between batches."""

    def __init__(self, mailbox: PredictionMailbox, input_shape: tuple[int, ...]) -> None:
        self.mailbox = mailbox
        self._input_shape = tuple(input_shape)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        return self.mailbox.submit(x)

    def explain(self, x: np.ndarray) -> Future[Explanation]:
        """What the live model looked at, answered by the run's thread between batches."""
        return self.mailbox.submit_explain(x)


def make_predictor(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled single-call inference function (about 1-2 ms; ``model.predict`` costs ~100 ms).

    Call it only from the thread that owns ``model``.
    """
    import tensorflow as tf

    @tf.function(reduce_retracing=True)  # type: ignore[untyped-decorator]
    def _forward(x: Any) -> Any:
        return model(x, training=False)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(_forward(tf.convert_to_tensor(np.asarray(x, dtype=np.float32))))

    return predict


def make_assigner(model: Any) -> Callable[[Sequence[np.ndarray]], None]:
    """Sets all of ``model``'s weights (in ``model.weights`` order) in one compiled call.

    For the CNN preset that is 1.5 ms against ``set_weights``'s 3.8 ms (16 arrays, one
    eager assignment each), and under load from a training process 3-15 ms went on that
    between a stroke and its answer. Weights whose count or shapes differ go through
    ``set_weights``, which says what does not match. Call it only from the thread that
    owns ``model``; the first call traces it.
    """
    import tensorflow as tf

    variables = list(model.weights)
    shapes = [tuple(variable.shape) for variable in variables]

    @tf.function  # type: ignore[untyped-decorator]
    def _assign(values: Any) -> None:
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)

    def assign(weights: Sequence[np.ndarray]) -> None:
        if len(weights) != len(variables) or any(np.shape(w) != shape for w, shape in zip(weights, shapes, strict=True)):
            model.set_weights(weights)
            return
        _assign([np.asarray(w, dtype=variable.dtype) for w, variable in zip(weights, variables, strict=True)])

    return assign
