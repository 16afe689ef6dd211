"""The learning-rate controller's plateau rule, driven directly without a model."""

from __future__ import annotations

import pytest

from model.config import ScheduleSpec

pytest.importorskip("keras")

from model.callbacks import LearningRateController  # noqa: E402


def multipliers(schedule: ScheduleSpec, losses: list[float]) -> list[float]:
    """The plateau multiplier after each epoch that ended with these validation losses."""
    controller = LearningRateController(schedule, base_rate=0.1, epochs=len(losses))
    seen = []
    for epoch, loss in enumerate(losses):
        controller.on_epoch_end(epoch, {"val_loss": loss})
        seen.append(controller.multiplier(epoch + 1))
    return seen


def test_plateau_counts_only_improvements_larger_than_min_delta() -> None:
    losses = [1.0, 0.998, 0.996, 0.994, 0.992]  # 0.008 better in all, never by 0.01
    small = ScheduleSpec(kind="plateau", factor=0.5, patience=1, min_delta=1e-4)
    large = ScheduleSpec(kind="plateau", factor=0.5, patience=1, min_delta=0.01)
    assert multipliers(small, losses) == [1.0] * 5  # every step is an improvement
    assert multipliers(large, losses) == [1.0, 0.5, 0.25, 0.125, 0.0625]  # none is


def test_the_default_min_delta_is_the_old_constant() -> None:
    losses = [1.0, 1.0 - 5e-5, 1.0 - 2e-4]
    assert ScheduleSpec().min_delta == 1e-4
    assert multipliers(ScheduleSpec(kind="plateau", patience=1), losses) == [1.0, 0.5, 0.5]
