"""model.data.summary: the window's dataset counts and a saved run's test images, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.config import DataSpec, RunConfig, SplitSpec
from model.data import DIGIT_CLASS_NAMES, DataSummary, load_dataset, split_dataset, summary
from tests.model.data.helpers import write_npz


def test_summarize_counts_the_split() -> None:
    spec = DataSpec(name="digits", limit=500)
    result = summary.summarize(spec, SplitSpec(), 0)
    parts = split_dataset(load_dataset(spec), SplitSpec(), 0, 500)
    train = parts.counts()["train"]
    assert isinstance(result, DataSummary)
    assert result.description == parts.describe() == "train 400 · validation 50 · test 50"
    assert result.counts_text.splitlines() == [
        parts.describe(),
        f"per class in train: {train.min():,} ({parts.class_names[int(np.argmin(train))]}) to "
        f"{train.max():,} ({parts.class_names[int(np.argmax(train))]})",
    ]
    assert result.source.startswith("scikit-learn's 8x8 digits") and result.notice is None
    assert result.input_shape == (28, 28, 1) and result.num_classes == 10 and result.n_train == 400


def test_summarize_lists_the_split_notice(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((21, 28, 28), np.uint8), y=np.array([0] * 20 + [1]))
    result = summary.summarize(DataSpec(name="file", path=str(path)), SplitSpec(0.8, 0.1, 0.1), 0)
    assert "could not be stratified" in result.counts_text.splitlines()[-1]
    assert result.notice is not None and "could not be stratified" in result.notice
    assert result.num_classes == 2 and result.n_train == 17


def test_summarize_says_not_downloaded_yet_instead_of_counting_the_fallback(no_keras_cache: Path) -> None:
    result = summary.summarize(DataSpec(name="mnist"), SplitSpec(), 42)
    assert result == DataSummary(
        "not downloaded yet",
        "MNIST",
        "MNIST is not on this computer yet; it is downloaded when training starts.",
        None,
        (28, 28, 1),
        10,
        None,
    )


def test_summarize_counts_a_cached_copy(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    write_npz(no_keras_cache / "datasets" / "mnist.npz", n_train=30, n_test=30)
    result = summary.summarize(DataSpec(name="mnist"), SplitSpec(stratified=False), 42)
    assert result.description == "train 48 · validation 6 · test 6" and "Keras cache" in result.source


def test_test_images_reload_the_runs_test_split() -> None:
    config = RunConfig(data=DataSpec(name="digits", limit=200), seed=5)
    images = summary.test_images(config)
    parts = split_dataset(load_dataset(config.data), config.split, config.seed, config.data.limit)
    assert images is not None and images.class_names == DIGIT_CLASS_NAMES
    np.testing.assert_array_equal(images.x_test, parts.x_test)
    np.testing.assert_array_equal(images.y_test, parts.y_test)


def test_test_images_are_none_when_the_data_is_not_on_this_computer(no_keras_cache: Path) -> None:
    assert summary.test_images(RunConfig(data=DataSpec(name="fashion_mnist"))) is None
