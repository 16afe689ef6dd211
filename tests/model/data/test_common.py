"""model.data._common: pixel scaling, the Dataset record, labels, the error type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.data import (
    Dataset,
    to_model_input,
)
from model.errors import DataError, ProjectError
from tests.model.data.helpers import (
    images,
    load_file,
)


def test_to_model_input_scales_uint8_and_adds_a_channel() -> None:
    raw = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = to_model_input(raw)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(out[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    assert to_model_input(raw[..., None]).shape == (1, 2, 2, 1)


def test_to_model_input_keeps_unit_floats_and_scales_0_255_floats() -> None:
    unit = np.full((2, 3, 3), 0.5, dtype=np.float64)
    np.testing.assert_allclose(to_model_input(unit), 0.5)
    np.testing.assert_allclose(to_model_input(unit * 255), 0.5)
    ints = np.full((1, 3, 3), 255, dtype=np.int64)
    np.testing.assert_allclose(to_model_input(ints), 1.0)


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((28, 28), np.uint8), "shape"),
        (np.zeros((2, 28, 28, 3), np.uint8), "shape"),
        (np.full((1, 2, 2), 256, np.int32), "0..255"),
        (np.full((1, 2, 2), -1.0), "0..255"),
        (np.full((1, 2, 2), np.nan), "NaN"),
        (np.array([[["a"]]]), "numbers"),
    ],
)
def test_to_model_input_rejects_bad_images(array: np.ndarray, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment) as info:
        to_model_input(array, source="canvas")
    assert "canvas" in str(info.value)


def test_dataset_refuses_malformed_arrays() -> None:
    with pytest.raises(DataError, match="float32"):
        Dataset("file", np.zeros((2, 3)), np.array([0, 1]), ("a", "b"), "toy")
    with pytest.raises(DataError, match="one label per sample"):
        Dataset("file", np.zeros((2, 3), np.float32), np.array([0, 1, 1]), ("a", "b"), "toy")


def test_labels_are_remapped_to_indices_and_named(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=images(4), y=np.array([7, 3, 7, 3]))
    ds = load_file(path)
    assert ds.class_names == ("3", "7") and ds.y.tolist() == [1, 0, 1, 0]


def test_every_data_error_is_a_project_error() -> None:
    assert issubclass(DataError, ProjectError)
