"""What the window's process and a worker process say to each other.

Each worker has two one-way pipes (``multiprocessing.Pipe(duplex=False)``): the worker
sends its records up one, the window sends its requests down the other. Every message is
a small frozen dataclass, or one of the plain records of :mod:`model.events` as they are
(``DataReady``, ``RunStarted``, ``BatchRecord``, ``EpochRecord``, ``RunFinished``,
``WeightSnapshot``), pickled by the pipe; numpy arrays cross as they are. Nothing that
crosses is a Keras or TensorFlow object: a finished run's model comes up as its weights
(:class:`ResultParcel`) and a resumed run's goes down as its weights (:class:`PlainWeights`).

Up (worker to window): :class:`Ready` once TensorFlow is imported, then the run's records
(batch records that come close together as one :class:`BatchBundle`), then
:class:`ResultParcel` or :class:`Failed`, then :class:`Exited`, after which the process ends.
Down (window to worker): :class:`StartRun` once, and :class:`Control` /
:class:`SetLearningRate` at any time, even before the run has started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from model.events import BatchRecord
from model.results import RunResult
from model.runner import RunRequest
from model.tasks import Failure

ControlAction = Literal["pause", "resume", "stop", "step", "snapshot", "follow", "unfollow"]


class PlainWeights:
    """Stands in for a saved model in a resumed run's request: its weights, nothing Keras.

    :func:`model.training.train` asks a resumed run's model only for ``get_weights()``.
    """

    def __init__(self, weights: list[np.ndarray]) -> None:
        self._weights = [np.asarray(w) for w in weights]

    def get_weights(self) -> list[np.ndarray]:
        return self._weights


@dataclass(frozen=True)
class BatchBundle:
    """Up: batch records that came within :data:`~model.worker_process.child.BUNDLE_LINGER_S`
    of each other, in order (one message, one wake-up of the window's reader, for several)."""

    records: tuple[BatchRecord, ...]


@dataclass(frozen=True)
class Ready:
    """Up: the worker has imported TensorFlow and waits for its run."""

    pid: int


@dataclass(frozen=True)
class StartRun:
    """Down: the run this worker trains (its ``resume.model`` is :class:`PlainWeights`)."""

    request: RunRequest


@dataclass(frozen=True)
class Control:
    """Down: pause, resume, stop or step (one batch while paused) the run; send a weight
    snapshot at the next batch end; or follow (send one every interval) or unfollow the weights."""

    action: ControlAction


@dataclass(frozen=True)
class SetLearningRate:
    """Down: use this learning rate from the next batch on."""

    value: float


@dataclass(frozen=True)
class ResultParcel:
    """Up: the run's result without its Keras model, which the window rebuilds from ``weights``."""

    result: RunResult  # with model=None
    weights: list[np.ndarray] = field(repr=False)
    input_shape: tuple[int, ...]
    num_classes: int


@dataclass(frozen=True)
class Failed:
    """Up: the run failed with a Python exception, in words."""

    failure: Failure


@dataclass(frozen=True)
class Exited:
    """Up: the run's last message; the process ends right after."""
