"""model.handwriting.score: the set shaped for a model, and its answers counted."""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import ProjectError
from model.handwriting import LoadedSet, Score, score_answers, scoring_batch


def loaded(*folders: str) -> LoadedSet:
    images = np.random.default_rng(0).random((len(folders), 28, 28), dtype=np.float32)
    return LoadedSet(images, folders)


@pytest.mark.parametrize("shape", [(28, 28, 1), (28, 28), (784,)])
def test_the_set_is_shaped_for_the_model_and_matched_by_class_name(shape: tuple[int, ...]) -> None:
    batch = scoring_batch(loaded("3", "T-shirt_top", "9"), ["T-shirt/top", "3"], shape)
    assert batch.x.shape == (2, *shape) and batch.targets.tolist() == [1, 0] and batch.unknown == 1
    assert batch.labels == ("3", "T-shirt_top")


def test_a_model_that_takes_no_drawings_is_a_project_error() -> None:
    with pytest.raises(ProjectError, match="expects input"):
        scoring_batch(loaded("1"), ["0", "1"], (32, 32, 3))


def test_answers_are_counted_and_the_misread_named() -> None:
    batch = scoring_batch(loaded("1", "1", "0"), ["0", "1"], (784,))
    score = score_answers(batch, np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4]]), ["0", "1"])
    assert score == Score(2, 3, 0, (("1", "0"),)) and score.describe() == "2 of 3"
    assert score.accuracy == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="answered with shape"):
        score_answers(batch, np.zeros((2, 2)), ["0", "1"])
    assert Score(0, 0).accuracy is None and Score(0, 0).describe() == "no drawings"
