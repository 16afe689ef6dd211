"""Tiny synthetic datasets and a small stack for core tests (no files, no network, fast)."""

from __future__ import annotations

import numpy as np

from model.config import LayerSpec, OptimizerSpec, RunConfig
from model.data import Split


def synthetic_split(
    n_train: int = 256,
    n_val: int = 64,
    n_test: int = 64,
    *,
    seed: int = 0,
    shape: tuple[int, ...] = (28, 28, 1),
    classes: int = 10,
) -> Split:
    """A learnable 10-class problem: class k lights up band k of the image."""
    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    y = (np.arange(n) % classes).astype(np.int64)
    rng.shuffle(y)
    x = rng.random((n, *shape), dtype=np.float32) * 0.3
    flat = x.reshape(n, -1)
    band = flat.shape[1] // classes
    for k in range(classes):
        flat[y == k, k * band : (k + 1) * band] += 0.7
    x = np.clip(flat.reshape(n, *shape), 0, 1).astype(np.float32)
    a, b = n_train, n_train + n_val
    return Split(
        x_train=x[:a],
        y_train=y[:a],
        x_val=x[a:b],
        y_val=y[a:b],
        x_test=x[b:],
        y_test=y[b:],
        class_names=tuple(str(k) for k in range(classes)),
    )


SMALL = (
    LayerSpec("Flatten"),
    LayerSpec("Dense", units=16, activation="tanh"),
    LayerSpec("BatchNormalization"),
    LayerSpec("Dense", units=10, activation="softmax"),
)


def small_config(**changes: object) -> RunConfig:
    """A small stack for :func:`synthetic_split` data: seconds to train on a CPU."""
    base = RunConfig(layers=SMALL, batch_size=32, epochs=2, seed=3, optimizer=OptimizerSpec(name="adam", learning_rate=0.01))
    return base.replace(**changes)
