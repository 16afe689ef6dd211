"""The plots' model: growing buffers, debiased averages, gradient verdicts, heat-map binning (no Qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.events import BatchRecord
from model.series import (
    EXPLODING_GRAD_NORM,
    HEATMAP_MAX_COLUMNS,
    VANISHING_GRAD_NORM,
    GrowingBuffer,
    RunSeries,
)

LAYERS = ("L2_Dense", "L3_Dense", "L4_Dense")


def batch(step: int, norms: list[float] | np.ndarray, *, loss: float | None = None) -> BatchRecord:
    epoch, index = divmod(step, 10)
    value = 2.0 / (1 + step) if loss is None else loss
    arr = np.asarray(norms, dtype=np.float64)
    return BatchRecord(1, epoch, index, step, value, 1 - value / 2, 1e-3, arr, arr, 100.0, step / 20, 1.0)


def test_growing_buffer_keeps_rows_across_growth() -> None:
    buf = GrowingBuffer(2, capacity=2)
    for i in range(5):
        buf.append([i, 10 * i])
    assert len(buf) == 5
    assert buf.view.shape == (5, 2)
    assert buf.column(1).tolist() == [0, 10, 20, 30, 40]
    buf.clear()
    assert len(buf) == 0


def test_smoothed_loss_is_debiased_and_follows_raw() -> None:
    series = RunSeries()
    series.reset(LAYERS, 10)
    series.add_batch(batch(0, [1, 1, 1], loss=2.0))
    # The first smoothed value equals the first raw value (no pull towards zero).
    assert series.batches.view[0, 2] == pytest.approx(2.0)
    for step in range(1, 200):
        series.add_batch(batch(step, [1, 1, 1], loss=0.5))
    assert series.batches.view[-1, 2] == pytest.approx(0.5, rel=1e-3)


def test_gradient_curves_show_a_log_space_average() -> None:
    series = RunSeries()
    series.reset(LAYERS, 10)
    for step in range(200):
        wobble = 10.0 if step % 2 else 0.1
        series.add_batch(batch(step, [wobble, 1e-3, math.nan]))
    smooth = series.grad_smooth.view[-1]
    assert smooth[0] == pytest.approx(1.0, rel=0.3)  # the geometric middle of 0.1 and 10
    assert smooth[1] == pytest.approx(1e-3)
    assert math.isnan(smooth[2])  # nothing finite came for this layer
    assert series.grad_norms.view[-1, 0] == 10.0  # the raw norms are kept for the heat map


def test_verdicts_name_the_vanishing_and_exploding_layers() -> None:
    series = RunSeries()
    series.reset(LAYERS, 10)
    assert series.grad_verdicts() == {}  # nothing reported yet
    for step in range(30):
        series.add_batch(batch(step, [VANISHING_GRAD_NORM / 10, 0.5, EXPLODING_GRAD_NORM * 10]))
    verdicts = series.grad_verdicts()
    assert set(verdicts) == {"L2_Dense", "L4_Dense"}
    assert verdicts["L2_Dense"].startswith("vanishing")
    assert verdicts["L4_Dense"].startswith("exploding")


def test_heatmap_is_layers_by_binned_steps() -> None:
    series = RunSeries()
    series.reset(LAYERS, 5000)
    image, first, span = series.heatmap()
    assert image.shape == (3, 0) and (first, span) == (0.0, 0.0)
    for step in range(3 * HEATMAP_MAX_COLUMNS + 7):
        series.add_batch(batch(step, [1e-6, 1.0, math.inf]))
    image, first, span = series.heatmap()
    assert image.shape[0] == 3 and image.shape[1] <= HEATMAP_MAX_COLUMNS + 1
    assert (first, span) == (0.0, float(3 * HEATMAP_MAX_COLUMNS + 7))
    assert image[0].mean() == pytest.approx(-6.0) and image[1].mean() == pytest.approx(0.0)
    assert np.all(image[2] == 4.0)  # non-finite norms sit at the top of the colour range
