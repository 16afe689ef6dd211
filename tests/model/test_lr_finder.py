"""The learning-rate range test: its spec, smoothing, suggestion, per-batch losses, and the
model it leaves as it found it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.config import OptimizerSpec
from model.errors import ConfigError, ProjectError
from model.events import RunControl
from model.lr_finder import RangePoint, RangeTestSpec, analyze, smooth, suggest
from tests.model.helpers import small_config, synthetic_split


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start": 0.0}, "start"),
        ({"start": 1.0, "end": 0.5}, "start"),
        ({"end": float("inf")}, "end"),
        ({"end": 1e9}, "end"),
        ({"steps": 5}, "steps"),
        ({"steps": 20.5}, "steps"),
        ({"blowup": 1.0}, "blowup"),
        ({"smoothing": 1.0}, "smoothing"),
    ],
)
def test_a_bad_spec_names_its_option(changes: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RangeTestSpec(**changes)  # type: ignore[arg-type]
    assert caught.value.field == field


@given(
    start=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans(), st.text(max_size=3)),
    end=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers()),
    steps=st.one_of(st.integers(-10, 200_000), st.floats(), st.booleans()),
)
def test_whatever_the_options_only_config_errors_escape(start: object, end: object, steps: object) -> None:
    try:
        spec = RangeTestSpec(start=start, end=end, steps=steps)  # type: ignore[arg-type]
    except ProjectError:
        return
    rates = spec.rates()
    assert len(rates) == spec.steps and rates[0] == pytest.approx(spec.start) and rates[-1] == pytest.approx(spec.end)
    assert np.all(np.diff(rates) > 0)


def test_rates_rise_by_the_same_factor_every_batch() -> None:
    rates = RangeTestSpec(start=1e-4, end=1e5, steps=10).rates()
    np.testing.assert_allclose(rates, 10.0 ** np.arange(-4, 6), rtol=1e-12)


def test_smoothing_is_a_debiased_moving_average() -> None:
    out = smooth([1.0, 2.0, float("nan"), 3.0], weight=0.5)
    # By hand: averages 0.5, 0.5*0.5+1=1.25 (norms 0.5, 0.75), NaN skipped, 0.625+1.5=2.125 (0.875).
    np.testing.assert_allclose(out, [1.0, 1.25 / 0.75, 1.25 / 0.75, 2.125 / 0.875])
    assert np.isnan(smooth([float("nan"), 1.0])[0])


def _valley(log_rates: np.ndarray) -> np.ndarray:
    """A textbook range-test curve: flat, a fall centred on 1e-3, a blow-up beyond 1e-1."""
    fall = 2.0 - 1.8 / (1 + np.exp(-(log_rates + 3) * 3))
    return fall + np.where(log_rates > -1, (log_rates + 1) ** 2 * 20, 0.0)


def test_the_suggestion_is_the_steepest_descent_below_the_minimum() -> None:
    rates = np.geomspace(1e-7, 10, 200)
    curve = _valley(np.log10(rates))
    suggestion = suggest(rates, curve)
    assert suggestion is not None
    assert suggestion.rate == pytest.approx(1e-3, rel=0.1)
    assert suggestion.slope < 0 and 1e-2 < suggestion.minimum_rate < 1.0
    assert "falls fastest" in suggestion.rule and f"{suggestion.rate:.2e}" in suggestion.rule


def test_no_suggestion_when_the_loss_never_falls() -> None:
    rates = np.geomspace(1e-7, 10, 100)
    assert suggest(rates, np.linspace(1.0, 5.0, 100)) is None
    result = analyze(rates, np.full(100, 2.3), RangeTestSpec(steps=100), "ran all 100 batches")
    assert result.suggestion is None and "never fell" in result.summary()


# ---------------------------------------------------------------------- with Keras

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from model.builder import (  # noqa: E402
    InstrumentedModel,
    TrainingProbe,
    build_inference_model,
    make_loss,
    make_optimizer,
    one_hot,
    tracked_layers,
)
from model.lr_finder import range_test, run_range_test  # noqa: E402


def _trainer(config):  # type: ignore[no-untyped-def]
    inner = build_inference_model(config, (28, 28, 1), 10)
    probe = TrainingProbe.create(len(tracked_layers(inner)))
    trainer = InstrumentedModel(inner, probe)
    trainer.compile(optimizer=make_optimizer(config.optimizer), loss=make_loss(config.loss), metrics=["accuracy"])
    return trainer, probe


def test_the_curve_holds_each_batchs_own_loss_not_keras_running_mean() -> None:
    """Against a hand-recorded run: the same model, data order and rates, stepped by hand."""
    config = small_config(optimizer=OptimizerSpec(name="sgd", learning_rate=0.1))
    split = synthetic_split(n_train=96, n_val=0, n_test=0)
    x, y = split.x_train, one_hot(split.y_train, 10)
    spec = RangeTestSpec(start=1e-3, end=1.0, steps=12, blowup=100.0)
    trainer, probe = _trainer(config)
    points: list[RangePoint] = []
    result = range_test(trainer, probe, x, y, 16, spec, on_point=points.append)

    # By hand: a model with the same initial weights, plain SGD steps at the same rates,
    # the batches in order (six per pass over the data, so two passes).
    model = build_inference_model(config, (28, 28, 1), 10)
    loss_fn = keras.losses.CategoricalCrossentropy()
    hand = []
    for i, rate in enumerate(spec.rates()):
        start = (i % 6) * 16
        xb, yb = tf.constant(x[start : start + 16]), tf.constant(y[start : start + 16])
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        for weight, grad in zip(model.trainable_weights, grads, strict=True):
            weight.assign_sub(rate * grad)
        hand.append(float(loss))

    assert result.ended == "ran all 12 batches"
    np.testing.assert_allclose(result.losses, hand, rtol=2e-4)
    np.testing.assert_allclose([p.loss for p in points], hand, rtol=2e-4)
    np.testing.assert_allclose(result.rates, spec.rates())
    np.testing.assert_allclose([p.smoothed for p in points], result.smoothed, rtol=1e-9)
    # Keras's logs["loss"] would have been the mean since the epoch began: another curve.
    running = np.concatenate([np.cumsum(hand[:6]) / np.arange(1, 7), np.cumsum(hand[6:]) / np.arange(1, 7)])
    assert np.max(np.abs(running - result.losses)) > 0.05


def test_weights_and_optimizer_are_left_as_they_were() -> None:
    config = small_config(optimizer=OptimizerSpec(name="adam", learning_rate=0.01))
    split = synthetic_split(n_train=128, n_val=0, n_test=0)
    x, y = split.x_train, one_hot(split.y_train, 10)
    trainer, probe = _trainer(config)
    trainer.fit(x, y, batch_size=32, epochs=1, verbose=0)  # moments and a step count to keep
    weights = [w.copy() for w in trainer.inner.get_weights()]
    state = [np.array(v.numpy()) for v in trainer.optimizer.variables]
    assert int(trainer.optimizer.iterations.numpy()) == 4

    result = range_test(trainer, probe, x, y, 32, RangeTestSpec(start=1e-4, end=10.0, steps=40))
    assert len(result.losses) >= 10
    after = trainer.inner.get_weights()
    assert len(after) == len(weights) and all(np.array_equal(a, b) for a, b in zip(after, weights, strict=True))
    assert all(
        np.array_equal(np.asarray(v.numpy()), s) for v, s in zip(trainer.optimizer.variables, state, strict=True)
    )
    assert float(trainer.optimizer.learning_rate.numpy()) == pytest.approx(0.01)


def test_the_test_stops_once_the_loss_blows_up() -> None:
    from model.config import LayerSpec

    layers = (LayerSpec("Flatten"), LayerSpec("Dense", units=16), LayerSpec("Dense", units=10, activation="softmax"))
    config = small_config(optimizer=OptimizerSpec(name="sgd"), layers=layers)
    split = synthetic_split(n_train=512, n_val=0, n_test=0)
    result = run_range_test(config, split, RangeTestSpec(start=1e-2, end=1e6, steps=100))
    assert len(result.losses) < 100
    assert "blew up" in result.ended or "the loss became" in result.ended
    assert result.summary().startswith(f"{len(result.losses)} batches")


def test_a_stop_request_ends_the_test_after_the_current_batch() -> None:
    control = RunControl()
    seen: list[RangePoint] = []

    def on_point(point: RangePoint) -> None:
        seen.append(point)
        if point.step == 4:
            control.stop()

    result = run_range_test(small_config(), synthetic_split(n_train=256, n_val=0, n_test=0),
                            RangeTestSpec(steps=50), control=control, on_point=on_point)  # fmt: skip
    assert len(result.losses) == 5 and result.ended.startswith("stopped by the user")
    assert math.isclose(seen[-1].progress, 5 / 50)
