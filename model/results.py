"""What a run leaves behind, as plain records: a result in memory and a run read from disk.

:class:`RunResult` is what :func:`model.training.train` returns; :class:`SavedRun` is what
:func:`model.runfolder.load_run` reads back from a run folder. Both frontends (the command
line and the window) hand them to :mod:`model.runfolder`, which alone knows the folder's
format. This module is a leaf: it imports only the core's records, never Keras or
TensorFlow, so every other module may depend on it without an import cycle, and the window
can import it at start-up. The model fields hold a Keras model, typed ``Any`` for that
reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.batches import BatchHistory
from model.config import RunConfig
from model.events import EpochRecord, RunFinished

if TYPE_CHECKING:
    from model.evaluation import Evaluation


@dataclass(frozen=True)
class DataInfo:
    """Which data a run trained on, for people reading its ``metrics.json``.

    Attributes:
        name: The dataset's source name (``mnist``, ``digits``, ``file`` ...), as loaded:
            after an offline fallback it is ``digits``, whatever was asked for.
        source: Where the data came from, e.g. ``MNIST from /data/mnist.npz``.
        description: The split in one line, e.g. ``train 56,000 · validation 7,000 · test 7,000``.
    """

    name: str
    source: str
    description: str


@dataclass(frozen=True)
class RunResult:
    """What a run leaves behind, however it ended.

    ``model`` is the plain inference model (what gets saved). After a stop, a NaN loss or
    early stopping with ``restore_best_weights``, it holds the best weights seen at an
    epoch end (``best_epoch``, 0-based); otherwise the final weights. ``history`` holds
    every epoch, a resumed run's earlier ones included, and ``batches`` every reported
    batch (a resumed run's saved ones first; ``None`` from code that keeps none). ``data``
    is ``None`` when the caller of ``train`` did not say which data it was. ``diverged``:
    no epoch ended with finite weights, so ``model`` holds non-finite ones and its answers
    mean nothing.
    """

    run_id: int
    config: RunConfig
    model: Any
    history: list[EpochRecord]
    finished: RunFinished
    evaluation: Evaluation | None
    layer_names: tuple[str, ...]
    steps_per_epoch: int
    data: DataInfo | None = None
    best_epoch: int | None = None
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    diverged: bool = False
    batches: BatchHistory | None = None


@dataclass(frozen=True)
class SavedRun:
    """A run folder read back: enough to show it, use its model, or resume training.

    ``metrics`` is ``metrics.json`` as read (empty when the folder has none).
    ``steps_per_epoch`` is the saved figure, or an estimate from the history for folders
    that do not say (1 when even that is unknown); ``data`` is ``None`` when the folder does
    not say which data the run used. ``optimizer_state`` is empty when the folder has none
    that matches its history, and then a resume starts the optimizer afresh. ``diverged``:
    the model's weights are not finite numbers (its training diverged), so its answers
    mean nothing. ``batches`` is ``None`` for folders without a batch history (written
    before it existed).
    """

    folder: Path
    config: RunConfig
    model: Any
    history: list[EpochRecord]
    layer_names: tuple[str, ...]
    metrics: dict[str, Any]
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    steps_per_epoch: int = 1
    data: DataInfo | None = None
    diverged: bool = False
    batches: BatchHistory | None = None
