"""The model in memory: the one trained model the session can save, continue and draw with.

It comes from a run of this session, a run folder that was opened, or a plain ``.keras``
file, and it is one object (:class:`ModelInMemory`), so nothing can keep half of an old
model: replacing it replaces everything at once. Its Keras model belongs to the session's
Keras worker thread; the view only sees its :attr:`~ModelInMemory.predictor`, whose answers
come back as futures.

It also keeps what the Results tab shows of it (``finished``, ``evaluation``, the
confusion view's images), so a run that fails puts them back instead of leaving the tab
empty while the Draw tab still uses the model, and the learning-rate changes made while
its run was paused, so an exported script can reproduce the run as it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from model.batches import BatchHistory
    from model.config import RunConfig
    from model.evaluation import Evaluation
    from model.events import EpochRecord, RunFinished
    from model.inference import Predictor
    from model.results import RunResult, SavedRun


@dataclass(frozen=True)
class RateChange:
    """A learning rate set while a run was paused: used from global step ``step`` (0-based) on.

    A run that reports only every few batches (``report_every``) pauses between reports:
    ``step`` is then the first step reported after the change, not the step itself.
    """

    step: int
    learning_rate: float


class WeightsOnly:
    """Stands in for a saved model when resuming: a copy of its weights, nothing Keras.

    The model in memory keeps answering the canvas from the Keras worker while the run's
    thread builds its own model; Keras is not thread-safe, so the run gets the weights.
    """

    def __init__(self, weights: list[np.ndarray]) -> None:
        self._weights = weights

    def get_weights(self) -> list[np.ndarray]:
        return self._weights


@dataclass
class ModelInMemory:
    """A trained model with what the session shows and saves of it.

    Exactly one of ``result`` (a run of this session: saved with its full record) and
    ``saved`` (an opened run folder: saved by copying its files) is set for a model that can
    be saved; a plain ``.keras`` file has neither and can only be drawn with.
    """

    model: Any
    predictor: Predictor
    description: str  # for the Draw tab, e.g. "model of run 3 · test accuracy 97.1%"
    history: list[EpochRecord] = field(default_factory=list)
    layer_names: tuple[str, ...] = ()
    steps_per_epoch: int = 1
    evaluation: Evaluation | None = None
    finished: RunFinished | None = None
    result: RunResult | None = None
    saved: SavedRun | None = None
    batches: BatchHistory | None = None  # every reported batch, when kept
    confusion: tuple[Evaluation, np.ndarray] | None = None  # what the confusion view shows of it
    saved_to: Path | None = None  # where Save Model last wrote it
    rate_changes: tuple[RateChange, ...] = ()  # made while its run was paused
    resumed: bool = False  # its run continued an earlier model

    @property
    def savable(self) -> bool:
        return self.result is not None or self.saved is not None

    @property
    def unsaved(self) -> bool:
        """A run of this session that Save Model has not written anywhere yet."""
        return self.result is not None and self.saved_to is None

    @property
    def config(self) -> RunConfig | None:
        if self.result is not None:
            return self.result.config
        return self.saved.config if self.saved is not None else None

    def resumable(self) -> SavedRun | None:
        """The model as a run to continue (weights, history, optimizer state), if it is one."""
        if self.saved is not None:
            return self.saved
        result = self.result
        if result is None or not result.optimizer_state:
            return None
        from model.results import SavedRun

        return SavedRun(
            Path(),
            result.config,
            result.model,
            list(result.history),
            result.layer_names,
            {},
            result.optimizer_state,
            batches=result.batches,
        )
