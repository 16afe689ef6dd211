"""Initialization preview: its figures against a hand computation, and its verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.config import LayerSpec, RunConfig
from model.errors import DataError
from model.init_preview import scale_per_layer, verdict


def test_scale_per_layer_is_the_geometric_mean_gain_of_hidden_layers() -> None:
    kernel4 = [True, True, True, True]
    # Gains of the hidden layers after the first (its input is the data): 0.1 and 0.1.
    assert scale_per_layer([5.0, 0.1, 0.1, 3.0], [1, 1, 1, 1], kernel4) == pytest.approx(0.1)
    assert scale_per_layer([5.0, 0.2, 0.05, 3.0], [1, 1, 1, 1], kernel4) == pytest.approx(0.1)
    # Batch norm (no kernel) is left out.
    assert scale_per_layer([5.0, 0.1, 30.0, 0.1, 3.0], [1] * 5, [True, True, False, True, True]) == pytest.approx(0.1)
    # One hidden layer counts itself; none: the output layer stands in.
    assert scale_per_layer([0.5, 3.0], [1, 1], [True, True]) == pytest.approx(0.5)
    assert scale_per_layer([0.5], [1], [True]) == pytest.approx(0.5)
    assert scale_per_layer([1.0, 1.0, 1.0], [0.0, 0.0, 0.1], [True, True, True]) == 0.0
    assert math.isnan(scale_per_layer([math.nan, math.nan], [1.0, 1.0], [True, True]))


def test_verdicts_say_what_the_scale_means() -> None:
    names = ["L2_Dense", "L3_Dense", "L4_Dense"]
    shrink = verdict("random_normal", 0.1, [0.1, 0.01, 0.3], [1e-2, 1e-1, 1.0], names)
    assert shrink == "activations shrink by ~10.0x per layer under random normal (std 0.05): gradients will vanish"
    crawl = verdict("glorot_uniform", 1.0, [0.2, 0.2, 0.3], [1e-6, 1e-3, 1.0], names)
    assert "keep their scale (x1.00 per layer) under Glorot uniform, but the first layer's gradient is 1e-06" in crawl
    assert "grow by ~3.0x" in verdict("he_normal", 3.0, [3, 9, 1], [1, 1, 1], names)
    assert "keep their scale (x1.05 per layer) under He uniform: a sound start" in verdict(
        "he_uniform", 1.05, [1, 1, 1], [1, 1, 1], names
    )
    zero = verdict("zeros", 0.0, [0.0, 0.0, 0.1], [0.0, 0.0, 0.2], names)
    assert "all zero from L2_Dense on under zeros" in zero and "symmetry never breaks" in zero


tf = pytest.importorskip("tensorflow")

from model.builder import build_inference_model  # noqa: E402
from model.init_preview import PREVIEW_INITIALIZERS, preview_initializers  # noqa: E402

TINY = RunConfig(
    layers=(LayerSpec("Dense", units=3, activation="relu"), LayerSpec("Dense", units=2, activation="softmax")),
    seed=5,
)


def _by_hand(config: RunConfig, x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float], list[float], float]:
    """Forward and backward through Dense(3, relu) -> Dense(2, softmax) in numpy."""
    model = build_inference_model(config, (4,), 2)  # the same seed: the same initial weights
    w1, b1, w2, b2 = (w.astype(np.float64) for w in model.get_weights())
    n = len(x)
    h = np.maximum(x @ w1 + b1, 0.0)
    logits = h @ w2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(2)[y]
    loss = float(-np.mean(np.sum(onehot * np.log(p), axis=1)))
    d_logits = (p - onehot) / n
    dw2, db2 = h.T @ d_logits, d_logits.sum(axis=0)
    d_h = (d_logits @ w2.T) * (h > 0)
    dw1, db1 = x.T @ d_h, d_h.sum(axis=0)
    grads = [math.sqrt(np.sum(dw1**2) + np.sum(db1**2)), math.sqrt(np.sum(dw2**2) + np.sum(db2**2))]
    gains = [float(np.std(h) / np.std(x)), float(np.std(p) / np.std(h)) if np.std(h) > 0 else math.nan]
    return [float(np.std(h)), float(np.std(p))], gains, grads, loss


def test_figures_match_a_hand_computation_on_a_tiny_net() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    preview = preview_initializers(TINY, x, y, 2, ("glorot_uniform", "he_normal", "zeros"))
    assert preview.layer_names == ("L1_Dense", "L2_Dense") and preview.kernel_layers == (True, True)
    assert preview.input_std == pytest.approx(float(np.std(x.astype(np.float64))))
    for name in ("glorot_uniform", "he_normal", "zeros"):
        stds, gains, grads, loss = _by_hand(TINY.replace(initializer=name), x.astype(np.float64), y)
        row = preview.row(name)
        np.testing.assert_allclose(row.activation_std, stds, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(row.gains, gains, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(row.grad_norms, grads, rtol=1e-4, atol=1e-9)
        assert row.loss == pytest.approx(loss, rel=1e-5)
    zeros = preview.row("zeros")
    assert zeros.activation_std[0] == 0.0 and zeros.grad_norms[0] == 0.0 and zeros.scale == 0.0
    assert "symmetry never breaks" in zeros.verdict
    assert preview.recommended in ("glorot_uniform", "he_normal")


def test_random_normal_vanishes_in_a_deep_stack_and_he_keeps_the_scale() -> None:
    deep = RunConfig(
        layers=(LayerSpec("Flatten"),)
        + tuple(LayerSpec("Dense", units=256, activation="relu") for _ in range(6))
        + (LayerSpec("Dense", units=10, activation="softmax"),),
        initializer="random_normal",
        seed=1,
    )
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    y = np.arange(64) % 10
    preview = preview_initializers(deep, x, y, 10, PREVIEW_INITIALIZERS)
    assert [r.initializer for r in preview.rows] == list(PREVIEW_INITIALIZERS)
    random_normal = preview.row("random_normal")
    assert random_normal.scale < 1 / 1.5 and "gradients will vanish" in random_normal.verdict
    he = preview.row("he_normal")
    assert 1 / 1.5 <= he.scale <= 1.5 and "keep their scale" in he.verdict
    assert preview.recommended in ("he_uniform", "he_normal")
    assert preview.current == "random_normal"
    assert "he" in preview.summary().lower()


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(DataError, match="at least one training sample"):
        preview_initializers(TINY, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), 2)
