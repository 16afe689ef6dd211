"""Layer health measured in the training step, checked against numpy on the same weights and batch.

Each test trains one step of plain SGD on one full batch, then recomputes the figure the
step reported from the weights before it (the same seed builds the same model) and after
it (the model that comes back), and from the layers' outputs on that batch (the step's
forward pass ran on the weights before it). Definitions: :mod:`model.health`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from model.config import LayerSpec, OptimizerSpec, RunConfig
from model.data import Split
from model.events import BatchRecord, RecordingListener
from tests.model.helpers import small_config, synthetic_split

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from model.builder import build_inference_model, tracked_layers  # noqa: E402
from model.health import SATURATION_SLOPE  # noqa: E402
from model.training import train  # noqa: E402

SHAPE = (28, 28, 1)


def one_step(layers: tuple[LayerSpec, ...], split: Split, lr: float = 0.1) -> tuple[RunConfig, BatchRecord, keras.Model]:
    """Train one SGD step on all of ``split``'s training data: (config, its record, the model after it)."""
    config = small_config(layers=layers, batch_size="full", epochs=1, optimizer=OptimizerSpec(name="sgd", learning_rate=lr))
    listener = RecordingListener()
    result = train(config, split, listener=listener, evaluate=False)
    (record,) = listener.batches
    return config, record, result.model


def outputs_before(config: RunConfig, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each layer's output on ``x`` under the initial weights (what the one step's forward pass saw)."""
    model = build_inference_model(config, SHAPE, 10)
    layers = tracked_layers(model)
    tap = keras.Model(model.inputs, [layer.output for layer in layers])
    values = tap(tf.constant(x), training=True)
    return {layer.name: np.asarray(v) for layer, v in zip(layers, values, strict=True)}


def weights(model: keras.Model) -> list[list[np.ndarray]]:
    return [[np.asarray(w, dtype=np.float64) for w in layer.trainable_weights] for layer in tracked_layers(model)]


def test_update_ratio_is_the_weights_change_over_their_norm() -> None:
    layers = (
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=16, activation="relu"),
        LayerSpec("Dense", units=12, activation="tanh"),
        LayerSpec("Dense", units=10, activation="softmax"),
    )
    config, record, after = one_step(layers, synthetic_split(n_train=64, n_val=0, n_test=0))
    before = weights(build_inference_model(config, SHAPE, 10))
    expected = []
    for old, new in zip(before, weights(after), strict=True):
        change = math.sqrt(sum(float(np.sum((n - o) ** 2)) for o, n in zip(old, new, strict=True)))
        expected.append(change / math.sqrt(sum(float(np.sum(n**2)) for n in new)))
    assert all(r > 0 for r in expected)
    np.testing.assert_allclose(record.update_ratios, expected, rtol=1e-4)
    # Plain SGD moves the weights by lr x the gradient: the same figure from the reported norms.
    np.testing.assert_allclose(record.update_ratios, 0.1 * record.grad_norms / record.weight_norms, rtol=1e-4)


def test_dead_share_is_the_share_of_units_at_0_for_the_whole_batch() -> None:
    split = synthetic_split(n_train=64, n_val=0, n_test=0)
    # Inputs of one sign make a unit's sign depend mostly on its weights: many units are 0 for all samples.
    split = dataclasses.replace(split, x_train=(split.x_train - 1.0).astype(np.float32))
    layers = (
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=32, activation="relu"),
        LayerSpec("Dense", units=16, activation="relu"),
        LayerSpec("Dense", units=12, activation="tanh"),
        LayerSpec("Dense", units=10, activation="softmax"),
    )
    config, record, _ = one_step(layers, split)
    outputs = outputs_before(config, split.x_train)
    dead = [float(np.mean(np.all(outputs[name] == 0, axis=0))) for name in ("L2_Dense", "L3_Dense")]
    assert 0 < dead[0] < 1, dead  # a figure worth checking
    np.testing.assert_allclose(record.dead_shares[:2], dead, rtol=0, atol=1e-6)
    # No dead-unit figure for layers that are not ReLU.
    assert np.isnan(record.dead_shares[2:]).all()


@pytest.mark.parametrize(("activation", "scale", "centre", "half_range"), [("tanh", 4.0, 0.0, 1.0), ("sigmoid", 8.0, 0.5, 0.5)])
def test_saturated_share_is_the_share_of_outputs_where_the_slope_is_flat(
    activation: str, scale: float, centre: float, half_range: float
) -> None:
    split = synthetic_split(n_train=64, n_val=0, n_test=0)
    # Large inputs drive a good share of the units to their asymptotes (a sigmoid's need twice the tanh's).
    split = dataclasses.replace(split, x_train=(split.x_train * scale).astype(np.float32))
    layers = (
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=24, activation=activation),
        LayerSpec("Dense", units=12, activation="relu"),
        LayerSpec("Dense", units=10, activation="softmax"),
    )
    config, record, _ = one_step(layers, split)
    out = outputs_before(config, split.x_train)["L2_Dense"]
    # Saturated: the slope is under SATURATION_SLOPE of its peak, i.e. |a - centre| > half range x sqrt(1 - slope).
    offset = math.sqrt(1 - SATURATION_SLOPE)
    expected = float(np.mean(np.abs(out - centre) > half_range * offset))
    assert 0.05 < expected < 0.95, expected  # a figure worth checking
    # An output right at the threshold may fall either side in float32: one output's worth of slack.
    assert record.saturated_shares[0] == pytest.approx(expected, abs=1.01 / out.size)
    assert np.isnan(record.saturated_shares[1:]).all()
    # No saturation figure for the ReLU layer, and its dead share is there.
    assert np.isnan(record.dead_shares[[0, 2]]).all() and np.isfinite(record.dead_shares[1])


def test_the_saturation_threshold_is_where_the_slope_is_that_share_of_its_peak() -> None:
    offset = math.sqrt(1 - SATURATION_SLOPE)
    a = 0.5 + 0.5 * offset  # sigmoid: slope a(1 - a), 1/4 at its peak
    assert a * (1 - a) / 0.25 == pytest.approx(SATURATION_SLOPE)
    assert 1 - offset**2 == pytest.approx(SATURATION_SLOPE)  # tanh: slope 1 - a², 1 at its peak


def layer_norms(arrays: list[np.ndarray]) -> np.ndarray:
    """Per-layer L2 norms of a (kernel, bias) per layer list, as ``get_weights`` returns it."""
    return np.array([math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays[i : i + 2]))
                     for i in range(0, len(arrays), 2)])  # fmt: skip


def test_slow_figures_are_measured_every_tenth_step_on_its_update_and_carried_over_between() -> None:
    from model.events import SnapshotTap, WeightSnapshot
    from model.probe import MEASURE_EVERY

    layers = (LayerSpec("Flatten"), LayerSpec("Dense", units=16, activation="relu"), LayerSpec("Dense", units=10, activation="softmax"))
    config = small_config(layers=layers, batch_size=16, epochs=1)  # Adam: its steps are not lr x the gradient
    snapshots: list[WeightSnapshot] = []
    listener = RecordingListener()
    train(config, synthetic_split(n_train=400, n_val=0, n_test=0), listener=listener,
          snapshots=SnapshotTap(snapshots.append, interval_s=0.0))  # fmt: skip
    after = {s.steps_done: s.weights for s in snapshots}  # the weights after that many steps
    assert len(listener.batches) == 25
    for record in listener.batches:
        measured = record.step - record.step % MEASURE_EVERY  # the last measured step, this one or before
        old, new = layer_norms(after[measured]), layer_norms(after[measured + 1])
        np.testing.assert_allclose(record.weight_norms, new, rtol=1e-5)
        change = layer_norms([b - a for a, b in zip(after[measured], after[measured + 1], strict=True)])
        np.testing.assert_allclose(record.update_ratios, change / new, rtol=1e-4)
        assert not np.allclose(old, new)


def _trainer(steps_per_execution: int) -> tuple[keras.Model, object]:
    from model.builder import InstrumentedModel, TrainingProbe, make_loss, make_optimizer

    layers = (LayerSpec("Flatten"), LayerSpec("Dense", units=12, activation="relu"), LayerSpec("Dense", units=10, activation="softmax"))
    config = small_config(layers=layers)
    inner = build_inference_model(config, SHAPE, 10)
    probe = TrainingProbe.create(len(tracked_layers(inner)))
    trainer = InstrumentedModel(inner, probe)
    trainer.compile(optimizer=make_optimizer(config.optimizer), loss=make_loss(config.loss),
                    steps_per_execution=steps_per_execution)  # fmt: skip
    return trainer, probe


@pytest.mark.parametrize(("steps_per_execution", "measured"), [(1, [0, 10, 20, 30]), (3, [0, 1, 2, 9, 10, 11, 18, 19, 20, 28, 29, 30])])
def test_the_measuring_step_runs_when_the_optimizer_step_is_due_counted_across_fits(
    steps_per_execution: int, measured: list[int]
) -> None:
    from model.builder import one_hot

    trainer, probe = _trainer(steps_per_execution)
    split = synthetic_split(n_train=25 * 8, n_val=0, n_test=0)
    x, y = split.x_train, one_hot(split.y_train, 10)
    seen: list[int] = []  # the steps each call measured

    class Calls(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_begin(self, batch: int, logs: object = None) -> None:
            self.first, self.count = int(trainer.optimizer.iterations.numpy()), probe.slow_sums.numpy()[-1]  # type: ignore[attr-defined]

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            last, count = int(trainer.optimizer.iterations.numpy()), probe.slow_sums.numpy()[-1]  # type: ignore[attr-defined]
            if count > self.count:
                assert count - self.count == last - self.first  # a call measures all its steps or none
                seen.extend(range(self.first, last))

    # Steps 0..24, then 25..34; with 3 steps a call: [0-2], [3-5], ..., [24], then [25-27], ..., [34].
    trainer.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Calls()])
    trainer.fit(x[:80], y[:80], batch_size=8, epochs=1, shuffle=False, verbose=0, callbacks=[Calls()])
    assert int(trainer.optimizer.iterations.numpy()) == 35
    assert seen == measured
