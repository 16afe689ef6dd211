"""Counted nouns: one helper, never "1 epochs"."""

from __future__ import annotations

import pytest

from model.words import count, noun, plural


@pytest.mark.parametrize(
    ("n", "word", "text"),
    [(1, "epoch", "1 epoch"), (0, "epoch", "0 epochs"), (2, "epoch", "2 epochs"), (1, "batch", "1 batch"),
     (3, "batch", "3 batches"), (12000, "sample", "12,000 samples"), (1.0, "epoch", "1 epoch"), (2.5, "second", "2.5 seconds")],
)  # fmt: skip
def test_count(n: float, word: str, text: str) -> None:
    assert count(n, word) == text


def test_noun_and_plural() -> None:
    assert noun(1, "drawing") == "drawing"
    assert noun(5, "drawing") == "drawings"
    assert noun(2, "person", "people") == "people"
    assert plural("class") == "classes"
