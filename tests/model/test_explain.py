"""model.explain: saliency of the input's shape, finite whatever the input, from one call."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from model.builder import build_inference_model
from model.config import LayerSpec, RunConfig, load_preset
from model.events import PredictionMailbox
from model.explain import FEATURE_MAPS, GRAD_CAM, GRADIENT_X_INPUT, make_explainer
from model.inference import DirectPredictor, MailboxPredictor, can_explain, make_predictor
from model.tasks import SerialExecutor

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DENSE = RunConfig(layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=16), LayerSpec("Dense", units=10, activation="softmax")))


@pytest.fixture(scope="module")
def cnn() -> Any:
    return build_inference_model(load_preset("cnn"), (28, 28, 1), 10)


@pytest.fixture(scope="module")
def dense() -> Any:
    return build_inference_model(DENSE, (28, 28, 1), 10)


@pytest.fixture(scope="module")
def flat_dense() -> Any:
    import keras

    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(12, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])  # fmt: skip


@pytest.fixture(scope="module")
def explainers(cnn: Any, dense: Any, flat_dense: Any) -> dict[str, Any]:
    """One explainer per model, traced once for the module's tests."""
    return {"cnn": make_explainer(cnn), "dense": make_explainer(dense), "flat_dense": make_explainer(flat_dense)}


def a_digit() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[5:23, 12:16] = 1.0
    image[5:8, 9:16] = 0.8
    return image


INPUTS = {
    "a digit": a_digit(),
    "empty": np.zeros((28, 28), np.float32),
    "constant": np.full((28, 28), 0.5, np.float32),
    "all ink": np.ones((28, 28), np.float32),
    "noise": np.random.default_rng(0).random((28, 28), dtype=np.float32),
}


@pytest.mark.parametrize("name", list(INPUTS))
def test_grad_cam_has_the_inputs_shape_and_is_finite(cnn: Any, explainers: dict[str, Any], name: str) -> None:
    x = INPUTS[name].reshape(1, 28, 28, 1)
    explanation = explainers["cnn"](x)
    assert explanation.method == GRAD_CAM and explanation.layer == "L4_Conv2D"  # the last convolution
    assert explanation.saliency.shape == x.shape
    assert np.all(np.isfinite(explanation.saliency))
    assert explanation.saliency.min() >= 0.0 and explanation.saliency.max() <= 1.0
    np.testing.assert_allclose(explanation.probabilities, make_predictor(cnn)(x), rtol=1e-4, atol=1e-6)
    assert explanation.explained.tolist() == [int(np.argmax(explanation.probabilities[0]))]
    assert explanation.saliency_image().shape == (28, 28)


def test_the_first_feature_maps_come_with_a_convolutional_explanation(explainers: dict[str, Any]) -> None:
    explanation = explainers["cnn"](a_digit().reshape(1, 28, 28, 1))
    layers = [(fm.layer, fm.maps.shape, fm.channels) for fm in explanation.feature_maps]
    assert layers == [("L1_Conv2D", (1, 28, 28, FEATURE_MAPS), 32), ("L4_Conv2D", (1, 14, 14, FEATURE_MAPS), 64)]
    assert all(np.all(np.isfinite(fm.maps)) for fm in explanation.feature_maps)


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize("which", ["dense", "flat_dense"])
def test_gradient_times_input_for_dense_models(explainers: dict[str, Any], which: str, name: str) -> None:
    shape = (1, 784) if which == "flat_dense" else (1, 28, 28, 1)
    x = INPUTS[name].reshape(shape)
    explanation = explainers[which](x)
    assert explanation.method == GRADIENT_X_INPUT and explanation.layer == "" and explanation.feature_maps == ()
    assert explanation.saliency.shape == x.shape and np.all(np.isfinite(explanation.saliency))
    assert explanation.saliency.min() >= 0.0 and explanation.saliency.max() <= 1.0
    assert explanation.saliency_image().shape == (28, 28)
    if name == "empty":
        assert not explanation.saliency.any()  # no ink, no evidence
    # Gradient x input is zero where there is no ink.
    assert not explanation.saliency[x == 0].any()


def test_a_batch_explains_each_row_for_its_own_answer(explainers: dict[str, Any]) -> None:
    x = np.stack([INPUTS[name] for name in ("a digit", "noise", "empty")])[..., None]
    explanation = explainers["cnn"](x)
    assert explanation.saliency.shape == x.shape and explanation.probabilities.shape == (3, 10)
    assert explanation.explained.tolist() == np.argmax(explanation.probabilities, axis=1).tolist()


def test_the_direct_predictor_explains_in_its_executors_thread(cnn: Any) -> None:
    worker = SerialExecutor("keras-test")
    try:
        predictor = DirectPredictor(cnn, worker)
        assert can_explain(predictor)
        explanation = predictor.explain(a_digit().reshape(1, 28, 28, 1)).result(timeout=120)
        assert explanation.saliency.shape == (1, 28, 28, 1)
        probabilities = predictor.submit(a_digit().reshape(1, 28, 28, 1)).result(timeout=60)
        np.testing.assert_allclose(explanation.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    finally:
        worker.shutdown()


def test_a_mailbox_explains_between_batches_and_refuses_without_an_explainer(dense: Any) -> None:
    mailbox = PredictionMailbox()
    predictor = MailboxPredictor(mailbox, (28, 28, 1))
    assert can_explain(predictor) and not can_explain(object())
    x = a_digit().reshape(1, 28, 28, 1)
    mailbox.attach(make_predictor(dense))
    with pytest.raises(RuntimeError, match="cannot show what its model looks at"):
        predictor.explain(x).result(timeout=1)
    mailbox.attach(make_predictor(dense), make_explainer(dense))
    future = predictor.explain(x)
    plain = predictor.submit(x)
    server = threading.Thread(target=mailbox.serve_pending)  # the run's thread, between batches
    server.start()
    server.join(60)
    assert future.result(timeout=1).saliency.shape == x.shape
    assert plain.result(timeout=1).shape == (1, 10)
    mailbox.detach()
    with pytest.raises(RuntimeError, match="no training run"):
        predictor.explain(x).result(timeout=1)
