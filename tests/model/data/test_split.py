"""model.data.split: stratified, seeded, limited splits, and the official test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import DataSpec, SplitSpec
from model.data import (
    Dataset,
    load_dataset,
    split_dataset,
)
from model.errors import DataError


def toy_dataset(n_per_class: tuple[int, ...] = (60, 30, 10), flat: bool = False) -> Dataset:
    y = np.concatenate([np.full(n, k) for k, n in enumerate(n_per_class)]).astype(np.int64)
    shape = (len(y), 5) if flat else (len(y), 4, 4, 1)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    x.reshape(len(y), -1)[:, 0] = np.arange(len(y)) / len(y)  # a per-sample tag
    return Dataset("file", x, y, tuple(str(k) for k in range(len(n_per_class))), "toy")


def test_stratified_split_keeps_class_proportions() -> None:
    ds = toy_dataset()
    split = split_dataset(ds, SplitSpec(train=0.6, validation=0.2, test=0.2), seed=1)
    counts = split.counts()
    assert counts["train"].tolist() == [36, 18, 6]
    assert counts["validation"].tolist() == [12, 6, 2] and counts["test"].tolist() == [12, 6, 2]
    assert split.describe() == "train 60 · validation 20 · test 20" and split.notice is None
    assert split.class_names == ds.class_names


def test_split_parts_are_disjoint_and_cover_the_dataset() -> None:
    ds = toy_dataset()
    split = split_dataset(ds, SplitSpec(), seed=3)
    tags = np.concatenate([p[:, 0, 0, 0] for p in (split.x_train, split.x_val, split.x_test)])
    assert sorted(tags.tolist()) == sorted(ds.x[:, 0, 0, 0].tolist())
    assert sum(int(c.sum()) for c in split.counts().values()) == len(ds)


def test_split_is_deterministic_for_a_seed_and_differs_for_another() -> None:
    ds = toy_dataset()
    a = split_dataset(ds, SplitSpec(), seed=7)
    b = split_dataset(ds, SplitSpec(), seed=7)
    c = split_dataset(ds, SplitSpec(), seed=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_empty_validation_and_test_keep_their_trailing_shape() -> None:
    ds = toy_dataset(flat=True)
    split = split_dataset(ds, SplitSpec(train=1.0, validation=0.0, test=0.0), seed=0)
    assert split.x_train.shape == (100, 5)
    assert split.x_val.shape == (0, 5) and split.x_test.shape == (0, 5)
    assert split.y_val.shape == (0,) and split.y_val.dtype == np.int64
    assert split.describe() == "train 100 · validation 0 · test 0"
    assert split.counts()["test"].tolist() == [0, 0, 0]


def test_limit_keeps_a_stratified_subset() -> None:
    ds = toy_dataset((200, 100, 100))
    split = split_dataset(ds, SplitSpec(train=0.5, validation=0.25, test=0.25), seed=0, limit=40)
    counts = split.counts()
    assert sum(int(c.sum()) for c in counts.values()) == 40
    assert (counts["train"] + counts["validation"] + counts["test"]).tolist() == [20, 10, 10]
    assert len(split_dataset(ds, SplitSpec(), seed=0, limit=10_000).y_train) == 320


def test_unstratifiable_split_falls_back_with_a_notice() -> None:
    ds = toy_dataset((20, 1, 2))
    split = split_dataset(ds, SplitSpec(train=0.8, validation=0.1, test=0.1), seed=0)
    assert split.notice is not None and "stratified" in split.notice
    assert len(split.y_train) + len(split.y_val) + len(split.y_test) == 23


def test_unstratified_split_needs_no_notice() -> None:
    split = split_dataset(toy_dataset((20, 1, 2)), SplitSpec(stratified=False), seed=0)
    assert split.notice is None


def test_split_too_small_and_bad_limit_are_data_errors() -> None:
    tiny = Dataset("file", np.zeros((2, 3), np.float32), np.array([0, 1]), ("a", "b"), "toy")
    with pytest.raises(DataError, match="too few"):
        split_dataset(tiny, SplitSpec(train=0.5, validation=0.25, test=0.25), seed=0)
    with pytest.raises(DataError, match="limit"):
        split_dataset(toy_dataset(), SplitSpec(), seed=0, limit=0)


def test_official_test_split_uses_the_sources_own_test_set(mnist_path: Path) -> None:
    from model.config import SplitSpec

    ds = load_dataset(DataSpec(name="mnist", path=str(mnist_path)))
    assert ds.n_official_test == 10_000
    split = split_dataset(ds, SplitSpec(train=0.75, validation=0.1, test=0.15, official_test=True), seed=1)
    with np.load(mnist_path) as raw:
        assert np.array_equal(split.y_test, raw["y_test"].astype(np.int64))
    assert len(split.y_val) == round(60_000 * 0.1 / 0.85)
    assert len(split.y_train) + len(split.y_val) == 60_000
    # Without the flag the same fractions apply to the pooled 70,000.
    pooled = split_dataset(ds, SplitSpec(train=0.75, validation=0.1, test=0.15), seed=1)
    assert len(pooled.y_test) == 10_500
