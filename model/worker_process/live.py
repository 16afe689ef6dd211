"""A running model's stand-in in the window's process: answers drawings at once.

The model being trained lives in the worker process, and a stroke must not wait for the
worker's next batch. So the window holds its own copy: while the Draw tab shows
(:meth:`~SnapshotPredictor.follow`), the worker sends a :class:`~model.events.WeightSnapshot`
every quarter second (one at once when the tab opens), and at any time when it pauses;
:class:`SnapshotPredictor` answers with the newest one. All of its Keras work (the
model built from the configuration, ``set_weights`` for a newer snapshot, the forward
pass) runs on the session's Keras executor, the one thread that owns every Keras object
of the window's process; the pipe's reader thread only swaps the newest snapshot in under
a lock and asks the executor to set its weights into the model ahead of the next drawing
(at most one such call waits there; none before a drawing has built the model), so a
stroke's answer finds them set instead of setting them first: under load that took 3-15 ms
of a stroke's answer a third of the time. The weights are set in one compiled call
(:func:`~model.inference.make_assigner`). Snapshots come only while the Draw tab shows or
when the run pauses, so a run nobody draws for costs the window nothing but the copy.

Building a model and tracing its forward pass holds the window's GIL for a few hundred
milliseconds, which the event loop would feel, so it happens on the first drawing rather
than when the run starts, and the built model is kept for later runs of the same layer
stack (:data:`KEPT_MODELS` stacks; the weights are a snapshot's anyway).

Its :attr:`~SnapshotPredictor.description` says which model answers ("live model of run
3, as of batch 1,200 (epoch 2)"), and :meth:`~SnapshotPredictor.watch` tells whoever shows
it when that changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from model.events import WeightSnapshot

if TYPE_CHECKING:
    from model.config import RunConfig
    from model.explain import Explainer, Explanation

FIRST_SNAPSHOT_WAIT_S = 5.0
"""How long an answer waits for the run's first snapshot (sent before its first batch)."""
KEPT_MODELS = 2
"""How many layer stacks' live models the Keras executor keeps between runs."""


@dataclass
class _LiveModel:
    """A built inference model, its compiled forward pass, and the snapshot it holds."""

    model: Any
    forward: Callable[[np.ndarray], np.ndarray]
    assign: Callable[[list[np.ndarray]], None]
    holds: WeightSnapshot | None = None
    explainer: Explainer | None = None  # made on the first "show where it looked"

    def hold(self, snapshot: WeightSnapshot) -> None:
        """Hold ``snapshot``'s weights (nothing to do if it does already)."""
        if self.holds is not snapshot:
            self.assign(snapshot.weights)
            self.holds = snapshot


ModelKey = tuple[Any, ...]
_built: OrderedDict[ModelKey, _LiveModel] = OrderedDict()
"""Live models by layer stack and shapes; touched only on the Keras executor."""


def _model_key(config: RunConfig, input_shape: tuple[int, ...], num_classes: int) -> ModelKey:
    return (config.layers, input_shape, num_classes)


def _live_model(config: RunConfig, input_shape: tuple[int, ...], num_classes: int) -> _LiveModel:
    """The live model for this stack, built (and its forward pass traced) once (Keras executor)."""
    key = _model_key(config, input_shape, num_classes)
    found = _built.get(key)
    if found is not None:
        _built.move_to_end(key)
        return found
    from model.builder import build_inference_model
    from model.inference import make_assigner, make_predictor

    model = build_inference_model(config, input_shape, num_classes)
    forward = make_predictor(model)
    forward(np.zeros((1, *input_shape), np.float32))  # trace it now
    assign = make_assigner(model)
    assign(model.get_weights())  # and this (80 ms for the CNN preset), not in a later answer
    built = _built[key] = _LiveModel(model, forward, assign)
    while len(_built) > KEPT_MODELS:
        _built.popitem(last=False)
    return built


class KerasExecutor(Protocol):
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]: ...


def build_with_weights(config: RunConfig, input_shape: tuple[int, ...], num_classes: int, weights: list[np.ndarray]) -> Any:
    """The plain inference model of ``config`` holding ``weights`` (call on the Keras executor)."""
    from model.builder import build_inference_model

    model = build_inference_model(config, input_shape, num_classes)
    model.set_weights(weights)
    return model


class SnapshotPredictor:
    """A :class:`~model.inference.Predictor` on a running model's newest weight snapshot.

    Args:
        run_id: the run, for the description.
        config, input_shape, num_classes: what the model is built from (as the worker built it).
        keras: the session's Keras executor; every Keras call of this object runs there.
        follow: asks the running process to send snapshots every interval (``True``: the
            Draw tab shows, and one is sent at once) or to stop (``False``); the
            :meth:`follow` of whoever shows this predictor lands here.
    """

    def __init__(
        self,
        run_id: int,
        config: RunConfig,
        input_shape: tuple[int, ...],
        num_classes: int,
        keras: KerasExecutor,
        follow: Callable[[bool], None] = lambda on: None,
    ) -> None:
        self.run_id = run_id
        self._follow = follow
        self._config = config
        self._input_shape = tuple(input_shape)
        self._num_classes = num_classes
        self._keras = keras
        self._changed = threading.Condition()
        self._latest: WeightSnapshot | None = None
        self._ahead: Future[None] | None = None  # the last call queued to set the newest weights
        self._watchers: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ any thread
    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def snapshot(self) -> WeightSnapshot | None:
        """The newest snapshot received (the weights the next answer uses)."""
        with self._changed:
            return self._latest

    @property
    def description(self) -> str:
        snapshot = self.snapshot
        if snapshot is None:
            return f"live model of run {self.run_id} (starting)"
        state = ", paused" if snapshot.paused else ""
        return f"live model of run {self.run_id}, as of batch {snapshot.steps_done:,} (epoch {snapshot.epoch + 1}{state})"

    def watch(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the pipe's reader thread) whenever a new snapshot arrives."""
        with self._changed:
            self._watchers.append(callback)

    def follow(self, on: bool) -> None:
        """Whether someone is looking at this model's answers (any thread): see the constructor."""
        self._follow(on)

    def offer(self, snapshot: WeightSnapshot) -> None:
        """Take a newer snapshot (the pipe's reader thread)."""
        with self._changed:
            self._latest = snapshot
            watchers = list(self._watchers)
            self._changed.notify_all()
            self._set_ahead()
        for callback in watchers:
            callback()

    def _set_ahead(self) -> None:
        """Queue :meth:`_set_newest`, unless a call queued before has not started (it will
        set this newest snapshot); one that ran, failed or was dropped is queued anew."""
        ahead = self._ahead
        if ahead is not None and not (ahead.running() or ahead.done()):
            return
        try:
            self._ahead = self._keras.submit(self._set_newest)
        except RuntimeError:  # the executor is shutting down (the window is closing)
            self._ahead = None

    def warm(self) -> Future[None]:
        """Build the model and compile its forward pass now, before a drawing needs it."""
        future: Future[None] = self._keras.submit(self._prepare)
        return future

    def submit(self, x: np.ndarray) -> Future[np.ndarray]:
        future: Future[np.ndarray] = self._keras.submit(self._predict, np.asarray(x, dtype=np.float32))
        return future

    def explain(self, x: np.ndarray) -> Future[Explanation]:
        """What the live model looked at (:mod:`model.explain`), with the newest snapshot."""
        future: Future[Explanation] = self._keras.submit(self._explain, np.asarray(x, dtype=np.float32))
        return future

    # ------------------------------------------------------------------ the Keras executor
    def _prepare(self) -> None:
        _live_model(self._config, self._input_shape, self._num_classes)

    def _set_newest(self) -> None:
        """Put the newest snapshot's weights into the live model, if a drawing has built it.

        A failure here is the next answer's to report: it sets the same weights again.
        """
        with self._changed:
            snapshot = self._latest
        live = _built.get(_model_key(self._config, self._input_shape, self._num_classes))
        if snapshot is not None and live is not None:
            live.hold(snapshot)

    def _current(self) -> _LiveModel:
        """The live model holding the newest snapshot's weights."""
        with self._changed:
            if self._latest is None:
                # Before the first batch: the first snapshot is on its way.
                self._changed.wait(FIRST_SNAPSHOT_WAIT_S)
            snapshot = self._latest
        if snapshot is None:
            raise RuntimeError("the training process has not sent its model yet; draw again in a moment")
        live = _live_model(self._config, self._input_shape, self._num_classes)
        live.hold(snapshot)
        return live

    def _predict(self, x: np.ndarray) -> np.ndarray:
        return self._current().forward(x)

    def _explain(self, x: np.ndarray) -> Explanation:
        live = self._current()
        if live.explainer is None:
            from model.explain import make_explainer

            live.explainer = make_explainer(live.model)
        return live.explainer(x)
