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


def test_records_added_in_groups_give_the_same_figures_and_markers_as_one_by_one() -> None:
    """What the window draws must not depend on how the records were grouped on their way."""
    import dataclasses

    from model.diagnosis import HealthMonitor

    rng = np.random.default_rng(3)
    records = []
    for step in range(230):
        norms = 10.0 ** rng.uniform(-8, 2, len(LAYERS))
        record = batch(step, norms, loss=float(rng.uniform(0.1, 3)))
        rate = 1e-3 if step < 60 else 5e-4 if step < 150 else 2e-3
        health = rng.uniform(0, 1, len(LAYERS))
        health[rng.integers(0, len(LAYERS))] = np.nan
        record = dataclasses.replace(record, learning_rate=rate, update_ratios=health, dead_shares=health / 2,
                                     saturated_shares=np.array([]) if step % 7 else health)  # fmt: skip
        records.append(record)
    records[40] = dataclasses.replace(records[40], loss=math.nan, grad_norms=np.array([np.inf, 1.0, np.nan]))
    one, grouped = RunSeries(), RunSeries()
    one.reset(LAYERS, 10)
    grouped.reset(LAYERS, 10)
    grouped.markers.append((150, "lr → 0.002"))  # set by the user: not marked again
    one.markers.append((150, "lr → 0.002"))
    markers_one = [m for r in records if (m := one.add_batch(r)) is not None]
    markers_grouped, i = [], 0
    while i < len(records):
        size = int(rng.integers(1, 70))
        markers_grouped += grouped.add_batches(records[i : i + size])
        i += size
    assert markers_one == markers_grouped == [(60, "lr → 0.0005")]
    for name in ("batches", "rates", "grad_norms", "grad_smooth"):
        assert np.array_equal(getattr(one, name).view, getattr(grouped, name).view, equal_nan=True), name
    for key in one.health:
        assert np.array_equal(one.health[key].view, grouped.health[key].view, equal_nan=True), key
        assert np.array_equal(one.health_smooth[key].view, grouped.health_smooth[key].view, equal_nan=True), key
    assert grouped.add_batches([]) == [] and len(grouped.batches) == len(records)
    # The health monitor checks at the same records either way.
    singly, together = HealthMonitor(LAYERS), HealthMonitor(LAYERS)
    found_singly = [d.kind for r in records for d in singly.add(r)]
    found_together = [d.kind for j in range(0, len(records), 64) for d in together.extend(records[j : j + 64])]
    assert found_singly == found_together and found_singly
    assert singly.summary() == together.summary()


def test_a_growing_buffer_extends_by_blocks_across_growth() -> None:
    buf = GrowingBuffer(2, capacity=2)
    buf.extend(np.arange(10.0).reshape(5, 2))
    buf.extend(np.zeros((0, 2)))
    buf.append([10, 11])
    assert buf.view.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
