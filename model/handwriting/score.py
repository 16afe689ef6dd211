"""How well a model reads the user's handwriting set: "your handwriting: 17 of 20".

Scoring has two halves in two threads: :func:`scoring_batch` (a background worker) reads
the set and shapes it for the model, and the model's
:class:`~model.inference.Predictor` answers it wherever that model lives (the session's
Keras worker for the model in memory, a run's thread for a live one); :func:`score_answers`
then counts, in plain numpy. Drawings are matched to the model's classes by folder name
(:func:`~model.data.class_folder_name`), the rule the set is written with; drawings of a
class the model does not have are counted apart, never as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.data import class_folder_name
from model.preprocess import to_network_input

from .store import LoadedSet


@dataclass(frozen=True)
class Score:
    """A model's reading of the set.

    Attributes:
        correct: Drawings read as their label.
        total: Drawings of classes the model has.
        unknown: Drawings of classes it does not have (not counted in ``total``).
        misread: ``(label, read as)`` for each drawing read wrong, in set order.
    """

    correct: int
    total: int
    unknown: int = 0
    misread: tuple[tuple[str, str], ...] = ()

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def describe(self) -> str:
        """``17 of 20`` (``no drawings`` when there are none to read)."""
        return f"{self.correct} of {self.total}" if self.total else "no drawings"


@dataclass(frozen=True, eq=False)
class ScoringBatch:
    """The set shaped for one model: its inputs and the class each should be read as.

    Attributes:
        x: ``(N, *input_shape)`` network inputs of the drawings the model has a class for.
        targets: The class index of each row of ``x``.
        labels: The class folder of each row of ``x``.
        unknown: Drawings left out because the model has no class of their folder's name.
    """

    x: NDArray[np.float32]
    targets: NDArray[np.int64]
    labels: tuple[str, ...]
    unknown: int


def scoring_batch(loaded: LoadedSet, class_names: Sequence[str], input_shape: Sequence[int]) -> ScoringBatch:
    """Shape ``loaded`` for a model with ``class_names`` and ``input_shape``.

    Raises:
        ProjectError: the model does not take 28x28 images (see
            :func:`~model.preprocess.to_network_input`).
    """
    index = {class_folder_name(name, k): k for k, name in enumerate(class_names)}
    targets = np.asarray([index.get(folder, -1) for folder in loaded.folders], dtype=np.int64)
    keep = np.flatnonzero(targets >= 0)
    shape = tuple(input_shape)
    rows = [to_network_input(loaded.images[i], shape) for i in keep]
    x = np.concatenate(rows) if rows else np.zeros((0, *(d if d > 0 else 1 for d in shape)), np.float32)
    return ScoringBatch(
        x=x,
        targets=targets[keep],
        labels=tuple(loaded.folders[i] for i in keep),
        unknown=int(len(targets) - len(keep)),
    )


def score_answers(batch: ScoringBatch, probabilities: NDArray[np.floating], class_names: Sequence[str]) -> Score:
    """Count how many of ``batch``'s drawings the ``probabilities`` read right.

    Raises:
        ValueError: the model answered with another number of rows (a programming error
            or a broken model; the caller shows it).
    """
    answers = np.asarray(probabilities)
    if answers.ndim != 2 or answers.shape[0] != len(batch.targets):
        raise ValueError(f"the model answered with shape {answers.shape} for {len(batch.targets)} drawings")
    read = np.argmax(answers, axis=1) if len(answers) else np.zeros(0, np.int64)
    right = read == batch.targets
    names = list(class_names)
    misread = tuple(
        (label, names[k] if 0 <= k < len(names) else str(k))
        for label, k, ok in zip(batch.labels, read.tolist(), right.tolist(), strict=True)
        if not ok
    )
    return Score(int(right.sum()), len(batch.targets), batch.unknown, misread)
