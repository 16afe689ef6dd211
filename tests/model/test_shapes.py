"""Shape inference and fix suggestions, checked against real Keras models."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.config import LayerSpec, RunConfig, list_presets, load_preset
from model.errors import BuildError
from model.shapes import analyze, apply_fix

keras = pytest.importorskip("keras")


def _keras_report(layers: tuple[LayerSpec, ...], input_shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], int]]:
    from model.builder import build_inference_model

    model = build_inference_model(RunConfig(layers=layers), input_shape, layers[-1].units)
    return [(tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]


@pytest.mark.parametrize("name", list_presets())
def test_presets_match_keras(name: str) -> None:
    config = load_preset(name)
    report = analyze(config.layers, (28, 28, 1), 10, config.loss)
    assert report.ok, report.summary()
    ours = [(rep.output_shape, rep.params) for rep in report.layers]
    assert ours == _keras_report(config.layers, (28, 28, 1))


image_layer = st.one_of(
    st.builds(
        LayerSpec,
        type=st.just("Conv2D"),
        filters=st.integers(1, 8),
        kernel_size=st.integers(1, 5),
        strides=st.integers(1, 3),
        padding=st.sampled_from(("valid", "same")),
    ),
    st.builds(LayerSpec, type=st.sampled_from(("MaxPooling2D", "AveragePooling2D")), pool_size=st.integers(1, 3),
              padding=st.sampled_from(("valid", "same"))),
    st.builds(LayerSpec, type=st.sampled_from(("BatchNormalization", "Dropout"))),
)
flat_layer = st.one_of(
    st.builds(LayerSpec, type=st.just("Dense"), units=st.integers(1, 16)),
    st.builds(LayerSpec, type=st.sampled_from(("BatchNormalization", "Dropout"))),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.lists(image_layer, max_size=4),
    bridge=st.sampled_from(("Flatten", "GlobalAveragePooling2D")),
    tail=st.lists(flat_layer, max_size=3),
)
def test_random_valid_stacks_match_keras(head: list[LayerSpec], bridge: str, tail: list[LayerSpec]) -> None:
    layers = (*head, LayerSpec(bridge), *tail, LayerSpec("Dense", units=10, activation="softmax"))
    report = analyze(layers, (12, 12, 1), 10)
    if not report.ok:
        with pytest.raises(BuildError):
            _keras_report(layers, (12, 12, 1))
        return
    ours = [(rep.output_shape, rep.params) for rep in report.layers]
    assert ours == _keras_report(layers, (12, 12, 1))


def test_dense_on_image_suggests_flatten() -> None:
    layers = (LayerSpec("Dense", units=32), LayerSpec("Dense", units=10, activation="softmax"))
    report = analyze(layers, (28, 28, 1), 10)
    problem = report.problems[0]
    assert problem.index == 0
    assert "insert Flatten before layer 1" in problem.message
    fixed = apply_fix(layers, problem.fix)
    assert [layer.type for layer in fixed] == ["Flatten", "Dense", "Dense"]
    assert analyze(fixed, (28, 28, 1), 10).ok


def test_conv_after_flatten_suggests_moving_it() -> None:
    layers = (LayerSpec("Flatten"), LayerSpec("Conv2D"), LayerSpec("Dense", units=10, activation="softmax"))
    report = analyze(layers, (28, 28, 1), 10)
    problem = report.problems[0]
    assert problem.index == 1 and "move it before layer 1" in problem.message
    assert analyze(apply_fix(layers, problem.fix), (28, 28, 1), 10).ok


def test_conv_after_dense_on_flat_input() -> None:
    layers = (LayerSpec("Dense", units=8), LayerSpec("Conv2D"), LayerSpec("Dense", units=10, activation="softmax"))
    problem = analyze(layers, (784,), 10).problems[0]
    assert problem.index == 1 and "image input" in problem.message
    assert problem.fix is not None and problem.fix.action == "remove"


def test_pool_window_larger_than_input() -> None:
    layers = (
        LayerSpec("MaxPooling2D", pool_size=4),
        LayerSpec("MaxPooling2D", pool_size=4),
        LayerSpec("MaxPooling2D", pool_size=4),
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=10, activation="softmax"),
    )
    report = analyze(layers, (28, 28, 1), 10)
    problem = report.problems[0]
    assert problem.index == 2 and "larger than its 1x1 input" in problem.message
    assert report.layers[2].output_shape is None and report.layers[4].output_shape is None
    assert analyze(apply_fix(layers, problem.fix), (28, 28, 1), 10).ok


def test_conv_kernel_larger_than_input_suggests_same_padding() -> None:
    layers = (LayerSpec("Conv2D", kernel_size=9), LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax"))
    problem = analyze(layers, (5, 5, 1), 10).problems[0]
    assert "padding 'same'" in problem.message
    assert analyze(apply_fix(layers, problem.fix), (5, 5, 1), 10).ok


def test_output_layer_checks() -> None:
    no_dense = (LayerSpec("Flatten"),)
    p = analyze(no_dense, (28, 28, 1), 10).problems[0]
    assert "must end in a Dense layer with 10 units" in p.message
    assert analyze(apply_fix(no_dense, p.fix), (28, 28, 1), 10).ok

    wrong_units = (LayerSpec("Flatten"), LayerSpec("Dense", units=7, activation="softmax"))
    p = analyze(wrong_units, (28, 28, 1), 10).problems[0]
    assert "7 units" in p.message and "10 classes" in p.message
    assert analyze(apply_fix(wrong_units, p.fix), (28, 28, 1), 10).ok

    no_softmax = (LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="relu"))
    p = analyze(no_softmax, (28, 28, 1), 10).problems[0]
    assert "softmax" in p.message
    assert analyze(no_softmax, (28, 28, 1), 10, loss="mse").ok


def test_builder_refuses_impossible_stack_with_the_message() -> None:
    from model.builder import build_inference_model

    config = RunConfig(layers=(LayerSpec("Dense", units=10, activation="softmax"),))
    with pytest.raises(BuildError, match="insert Flatten before layer 1"):
        build_inference_model(config, (28, 28, 1), 10)
