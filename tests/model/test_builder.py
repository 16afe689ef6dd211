"""Optimizers as Keras builds them from an OptimizerSpec."""

from __future__ import annotations

import pytest

from model.config import OPTIMIZERS, OptimizerSpec

keras = pytest.importorskip("keras")

from model.builder import make_optimizer  # noqa: E402


def test_adamax_is_a_keras_adamax_with_the_given_parameters() -> None:
    spec = OptimizerSpec(name="adamax", learning_rate=0.002, beta_1=0.8, beta_2=0.95, epsilon=1e-6,
                         weight_decay=0.01, clipnorm=2.0)  # fmt: skip
    optimizer = make_optimizer(spec)
    assert type(optimizer) is keras.optimizers.Adamax
    assert float(optimizer.learning_rate) == pytest.approx(0.002)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.8, 0.95, 1e-6)
    assert optimizer.weight_decay == 0.01 and optimizer.clipnorm == 2.0


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_builds(name: str) -> None:
    assert isinstance(make_optimizer(OptimizerSpec(name=name)), keras.optimizers.Optimizer)
