"""model.data.prepare: load the configured dataset and split it, for every frontend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.config import DataSpec, RunConfig, SplitSpec
from model.data import DIGIT_CLASS_NAMES, Prepared, load_dataset, prepare, split_dataset
from model.errors import DataError
from tests.model.data.helpers import images, write_image_folder, write_npz


def test_prepare_is_load_then_split_with_the_configs_split_seed_and_limit() -> None:
    config = RunConfig(data=DataSpec(name="digits", limit=300), split=SplitSpec(0.6, 0.2, 0.2), seed=3)
    prepared = prepare(config, allow_download=False)
    expected = split_dataset(load_dataset(config.data), config.split, config.seed, config.data.limit)
    np.testing.assert_array_equal(prepared.split.x_train, expected.x_train)
    np.testing.assert_array_equal(prepared.split.y_test, expected.y_test)
    assert prepared.description == expected.describe() == "train 180 · validation 60 · test 60"
    assert prepared.name == prepared.requested == "digits" and not prepared.fell_back
    assert prepared.source.startswith("scikit-learn's 8x8 digits")
    assert prepared.class_names == DIGIT_CLASS_NAMES and prepared.input_shape == (28, 28, 1)
    assert prepared.notice is None


def test_prepare_records_an_offline_fallback(no_keras_cache: Path) -> None:
    config = RunConfig(data=DataSpec(name="fashion_mnist", limit=200))
    prepared = prepare(config, allow_download=False)
    assert prepared.fell_back and prepared.name == "digits" and prepared.requested == "fashion_mnist"
    assert prepared.class_names == DIGIT_CLASS_NAMES and len(prepared.split.y_train) == 160
    assert prepared.notice is not None and prepared.notice.startswith("Fashion-MNIST was not downloaded")


def test_prepare_finds_a_cached_mnist_without_falling_back(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    write_npz(no_keras_cache / "datasets" / "mnist.npz", n_train=30, n_test=30)
    prepared = prepare(RunConfig(split=SplitSpec(stratified=False)), allow_download=False)
    assert prepared.name == prepared.requested == "mnist" and not prepared.fell_back
    assert "Keras cache" in prepared.source and prepared.description == "train 48 · validation 6 · test 6"


def test_prepare_joins_the_dataset_and_split_notices(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "imgs")
    (root / "cat" / "broken.png").write_bytes(b"not a png")
    (root / "bee").mkdir()
    Image.fromarray(images(1)[0]).save(root / "bee" / "only.png")  # one sample: not stratifiable
    config = RunConfig(data=DataSpec(name="file", path=str(root)), split=SplitSpec(0.5, 0.25, 0.25))
    prepared = prepare(config)
    dataset = load_dataset(config.data)
    split = split_dataset(dataset, config.split, config.seed)
    assert dataset.notice is not None and split.notice is not None
    assert prepared.notice == f"{dataset.notice} {split.notice}"
    assert prepared.class_names == ("ant", "bee", "cat") and not prepared.fell_back
    assert prepared.name == prepared.requested == "file"


def test_prepare_passes_data_errors_through(tmp_path: Path) -> None:
    missing = RunConfig(data=DataSpec(name="file", path=str(tmp_path / "nope.npz")))
    with pytest.raises(DataError, match="does not exist"):
        prepare(missing)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=images(20), y=np.arange(20) % 2)
    too_small = RunConfig(data=DataSpec(name="file", path=str(path)), split=SplitSpec(0.02, 0.5, 0.48))
    with pytest.raises(DataError, match="too few"):
        prepare(too_small)


def test_prepared_is_a_frozen_record() -> None:
    prepared = prepare(RunConfig(data=DataSpec(name="digits", limit=100)))
    assert isinstance(prepared, Prepared)
    with pytest.raises(AttributeError):
        prepared.name = "mnist"  # type: ignore[misc]
