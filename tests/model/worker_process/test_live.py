"""The live model in the window's process: newest snapshot, Keras work on one executor, its description."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from model.events import WeightSnapshot
from model.tasks import SerialExecutor
from model.worker_process import SnapshotPredictor
from model.worker_process.live import build_with_weights
from tests.model.helpers import small_config

SHAPE = (28, 28, 1)


@pytest.fixture
def keras_executor():
    executor = SerialExecutor("test-keras")
    yield executor
    executor.shutdown()


def test_answers_with_the_newest_snapshot(keras_executor: SerialExecutor) -> None:
    from model.builder import build_inference_model
    from model.inference import make_predictor

    config = small_config()
    rng = np.random.default_rng(0)
    initial = build_inference_model(config, SHAPE, 10).get_weights()
    # Other weights (positive, so that batch norm's variances stay valid), set into a model of their own.
    weights = [np.abs(rng.normal(size=w.shape)).astype(np.float32) for w in initial]
    trained = build_with_weights(config, SHAPE, 10, weights)
    x = rng.random((2, *SHAPE), dtype=np.float32)
    expected = make_predictor(trained)(x)

    live = SnapshotPredictor(5, config, SHAPE, 10, keras_executor)
    seen: list[str] = []
    live.watch(lambda: seen.append(threading.current_thread().name))
    assert live.description == "live model of run 5 (starting)"
    live.warm().result(60)
    live.offer(WeightSnapshot(5, 0, 0, -1, initial))
    live.offer(WeightSnapshot(5, 40, 1, 9, weights, paused=True))
    answer = live.submit(x).result(60)
    assert np.allclose(answer, expected, atol=1e-5)
    assert live.description == "live model of run 5, as of batch 40 (epoch 2, paused)"
    assert seen == [threading.current_thread().name] * 2  # called where the snapshot was offered
    assert live.input_shape == SHAPE


def test_before_any_snapshot_it_waits_briefly_for_one(keras_executor, monkeypatch) -> None:
    from model.builder import build_inference_model
    from model.worker_process import live as live_module

    monkeypatch.setattr(live_module, "FIRST_SNAPSHOT_WAIT_S", 0.05)
    config = small_config()
    live = SnapshotPredictor(1, config, SHAPE, 10, keras_executor)
    with pytest.raises(RuntimeError, match="has not sent its model yet"):
        live.submit(np.zeros((1, *SHAPE), np.float32)).result(60)
    monkeypatch.setattr(live_module, "FIRST_SNAPSHOT_WAIT_S", 30.0)
    waiting = live.submit(np.zeros((1, *SHAPE), np.float32))
    live.offer(WeightSnapshot(1, 0, 0, -1, build_inference_model(config, SHAPE, 10).get_weights()))
    assert waiting.result(60).shape == (1, 10)


def test_two_runs_of_one_stack_share_a_model_and_each_answers_with_its_own_weights(keras_executor) -> None:
    from model.builder import build_inference_model

    config = small_config()
    first, second = (SnapshotPredictor(n, config, SHAPE, 10, keras_executor) for n in (1, 2))
    weights = build_inference_model(config, SHAPE, 10).get_weights()
    other = [np.abs(w) + 0.1 for w in weights]
    first.offer(WeightSnapshot(1, 0, 0, -1, weights))
    second.offer(WeightSnapshot(2, 0, 0, -1, other))
    x = np.random.default_rng(1).random((1, *SHAPE), dtype=np.float32)
    a1, b1, a2 = (p.submit(x).result(60) for p in (first, second, first))
    assert np.allclose(a1, a2) and not np.allclose(a1, b1)


def test_it_explains_with_the_newest_snapshot_too(keras_executor) -> None:
    from model.builder import build_inference_model
    from model.config import LayerSpec
    from model.inference import can_explain

    config = small_config(layers=(LayerSpec("Conv2D", filters=4), LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax")))
    live = SnapshotPredictor(3, config, SHAPE, 10, keras_executor)
    assert can_explain(live)
    weights = build_inference_model(config, SHAPE, 10).get_weights()
    live.offer(WeightSnapshot(3, 5, 0, 4, weights))
    x = np.random.default_rng(2).random((1, *SHAPE), dtype=np.float32)
    explanation = live.explain(x).result(60)
    assert np.allclose(explanation.probabilities, live.submit(x).result(60), atol=1e-5)


def test_a_snapshot_that_arrives_is_set_into_the_built_model_before_the_next_drawing(keras_executor, monkeypatch) -> None:
    from collections import OrderedDict

    from model.builder import build_inference_model
    from model.worker_process import live as live_module

    monkeypatch.setattr(live_module, "_built", OrderedDict())  # no model kept from another test
    config = small_config()
    live = SnapshotPredictor(7, config, SHAPE, 10, keras_executor)
    initial = build_inference_model(config, SHAPE, 10).get_weights()
    first = WeightSnapshot(7, 0, 0, -1, initial)
    live.offer(first)
    keras_executor.submit(lambda: None).result(60)
    key = live_module._model_key(config, SHAPE, 10)
    assert key not in live_module._built  # no drawing yet: nothing is built ahead of one
    x = np.random.default_rng(3).random((1, *SHAPE), dtype=np.float32)
    before = live.submit(x).result(60)
    later = WeightSnapshot(7, 30, 0, 29, [np.abs(w) + 0.1 for w in initial])
    live.offer(later)
    keras_executor.submit(lambda: None).result(60)  # the executor has run what the offer queued
    assert live_module._built[key].holds is later
    assert not np.allclose(live.submit(x).result(60), before)


def test_the_compiled_assignment_sets_what_set_weights_sets_and_refuses_what_it_refuses() -> None:
    from model.builder import build_inference_model
    from model.inference import make_assigner

    config = small_config()
    model, reference = (build_inference_model(config, SHAPE, 10) for _ in range(2))
    rng = np.random.default_rng(4)
    weights = [np.abs(rng.normal(size=w.shape)).astype(np.float32) for w in model.get_weights()]
    assign = make_assigner(model)
    assign(weights)
    reference.set_weights(weights)
    for got, want in zip(model.get_weights(), reference.get_weights(), strict=True):
        assert np.array_equal(got, want)
    assign([w * 2 for w in weights])  # the traced call again, with other values
    assert np.array_equal(model.get_weights()[0], weights[0] * 2)
    with pytest.raises(ValueError):
        assign(weights[:-1])
    with pytest.raises(ValueError):
        assign([np.zeros((3, 3), np.float32), *weights[1:]])


@pytest.mark.parametrize("executor_kind", ["serial", "thread pool"])
def test_a_snapshot_offered_while_the_executor_shuts_down_is_taken_without_an_error(executor_kind: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from model.builder import build_inference_model

    config = small_config()
    executor = SerialExecutor("test-closed") if executor_kind == "serial" else ThreadPoolExecutor(max_workers=1)
    executor.shutdown()  # a raw pool raises on submit from now on; the serial one hands back a failed future
    live = SnapshotPredictor(8, config, SHAPE, 10, executor)
    weights = build_inference_model(config, SHAPE, 10).get_weights()
    for steps in (0, 1):
        live.offer(WeightSnapshot(8, steps, 0, steps - 1, weights))  # the reader thread must not see an error
    assert live.snapshot is not None and live.snapshot.steps_done == 1
    assert live._ahead is None or live._ahead.done()  # nothing is left waiting that will never run
