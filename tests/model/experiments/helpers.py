"""Tiny data and configurations for the comparison tests: seconds per trial on a CPU."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from model.config import DataSpec, LayerSpec, OptimizerSpec, RunConfig, SplitSpec
from model.experiments.table import ResultsTable
from tests.model.helpers import synthetic_split

# A first layer whose kernel is valid as a setting but larger than the 28x28 images: the
# configuration validates, and the stack cannot be built on this data.
TOO_BIG_KERNEL = 64

CONV_STACK = (
    LayerSpec("Conv2D", filters=4, kernel_size=3, activation="relu"),
    LayerSpec("Flatten"),
    LayerSpec("Dense", units=10, activation="softmax"),
)


def write_tiny_npz(folder: Path, n_train: int = 240, n_test: int = 60) -> Path:
    """A Keras-layout .npz of the synthetic bands problem, as 8-bit images."""
    split = synthetic_split(n_train=n_train, n_val=0, n_test=n_test, seed=1)
    path = folder / "tiny.npz"
    np.savez(
        path,
        x_train=(split.x_train[..., 0] * 255).astype(np.uint8),
        y_train=split.y_train.astype(np.uint8),
        x_test=(split.x_test[..., 0] * 255).astype(np.uint8),
        y_test=split.y_test.astype(np.uint8),
    )
    return path


def tiny_config(data: Path, **changes: object) -> RunConfig:
    """A small convnet on the tiny file: two short epochs."""
    base = RunConfig(
        name="tiny",
        layers=CONV_STACK,
        optimizer=OptimizerSpec(name="sgd", learning_rate=0.05),
        batch_size=32,
        epochs=2,
        seed=5,
        data=DataSpec(name="file", path=str(data)),
        split=SplitSpec(train=0.7, validation=0.15, test=0.15),
    )
    return base.replace(**changes)


def same_tables(a: ResultsTable, b: ResultsTable) -> None:
    """Assert two results tables agree; times to the millisecond that history.csv keeps."""
    assert len(a.rows) == len(b.rows)
    for x, y in zip(a.rows, b.rows, strict=True):
        assert x.seconds == pytest.approx(y.seconds, abs=0.01)
        assert (x.seconds_to_target is None) == (y.seconds_to_target is None)
        timeless = {"seconds": 0.0, "seconds_to_target": None}
        assert replace(x, **timeless) == replace(y, **timeless)
