"""The memory a stack needs to train, refused with the figures before anything is built."""

from __future__ import annotations

import math

import pytest

import model.memory
from model.config import LayerSpec, OptimizerSpec, RunConfig, list_presets, load_preset
from model.errors import BuildError
from model.memory import check_fits_in_memory, estimate_memory, memory_problem, optimizer_slots

OUT = LayerSpec("Dense", units=10, activation="softmax")
DENSE3 = RunConfig(layers=(LayerSpec("Flatten"), *[LayerSpec("Dense", units=65536)] * 3, OUT))


def test_a_small_stack_counts_its_parts() -> None:
    config = RunConfig(layers=(LayerSpec("Flatten"), OUT), batch_size=100, optimizer=OptimizerSpec(name="adam"))
    estimate = estimate_memory(config, (28, 28, 1), 10, n_train=1000)
    assert estimate.parameters == 7850 and estimate.weights == 7850 * 4
    assert estimate.training_state == 7850 * 4 * 4  # gradient, Adam's two slots, the best epoch's copy
    assert estimate.activations == (784 + 2 * 784 + 2 * 10) * 100 * 4  # input, Flatten and Dense out and gradients
    assert estimate.data == 1000 * (784 + 10) * 4 and estimate.batch_size == 100
    assert estimate.describe().startswith("memory to train about ")


def test_sgd_without_momentum_keeps_no_slot_and_full_batch_uses_the_data_size() -> None:
    config = RunConfig(layers=(LayerSpec("Flatten"), OUT), batch_size="full", optimizer=OptimizerSpec(name="sgd"))
    assert estimate_memory(config, (28, 28, 1), 10).batch_size == 60_000
    estimate = estimate_memory(config, (28, 28, 1), 10, n_train=500)
    assert estimate.batch_size == 500 and estimate.training_state == 7850 * 4 * 2


def test_the_issues_stacks_are_refused_with_the_figures_and_the_layer_to_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model.memory, "available_memory", lambda: 16 * 10**9)
    with pytest.raises(BuildError) as info:
        check_fits_in_memory(DENSE3, (28, 28, 1), 10, n_train=56_000)
    message = str(info.value)
    assert "needs about 173 GB of memory to train (8,642,166,794 parameters" in message
    assert "this computer has 16 GB available" in message and "layer 3 (Dense(65536, relu)) alone needs" in message
    monkeypatch.setattr(model.memory, "available_memory", lambda: 8 * 10**9)
    conv = RunConfig(layers=(LayerSpec("Conv2D", filters=4096, kernel_size=64, padding="same"), LayerSpec("Flatten"), OUT))
    with pytest.raises(BuildError, match="layer 1 \\(Conv2D\\(4096, 64x64, relu\\)\\)"):
        check_fits_in_memory(conv, (28, 28, 1), 10, n_train=56_000)
    mixed = RunConfig(layers=(LayerSpec("Conv2D", filters=32), LayerSpec("Flatten"), LayerSpec("Dense", units=65536), OUT))
    with pytest.raises(BuildError, match="layer 3"):
        check_fits_in_memory(mixed, (28, 28, 1), 10, n_train=56_000)


def test_the_presets_fit_and_an_unknown_amount_refuses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model.memory, "available_memory", lambda: 2 * 10**9)
    for name in ("mlp", "cnn", "cnn_drawing", "vanishing_sigmoid"):
        check_fits_in_memory(load_preset(name), (28, 28, 1), 10, n_train=56_000)
    assert memory_problem(estimate_memory(DENSE3, (28, 28, 1), 10), DENSE3, None) is None


def test_a_broken_stack_gets_the_estimate_of_its_buildable_part() -> None:
    broken = RunConfig(layers=(LayerSpec("Dense", units=10), LayerSpec("Flatten"), OUT))  # Dense on an image
    assert estimate_memory(broken, (28, 28, 1), 10).parameters == 0


def test_training_refuses_before_building(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    import model.training
    from tests.model.helpers import synthetic_split

    monkeypatch.setattr(model.memory, "available_memory", lambda: 10**9)
    built: list[object] = []
    monkeypatch.setattr(model.training, "build_inference_model", lambda *a: built.append(a))
    with pytest.raises(BuildError, match="of memory to train"):
        model.training.train(DENSE3, synthetic_split(n_train=64))
    assert built == []


@pytest.mark.parametrize("name", list_presets())
def test_parameters_are_those_keras_builds(name: str) -> None:
    from model.builder import build_inference_model

    config = load_preset(name)
    model = build_inference_model(config, (28, 28, 1), 10)
    assert estimate_memory(config, (28, 28, 1), 10).parameters == model.count_params()


@pytest.mark.parametrize(
    "spec",
    [
        OptimizerSpec("sgd"),
        OptimizerSpec("sgd", momentum=0.9),
        OptimizerSpec("adam"),
        OptimizerSpec("adamw"),
        OptimizerSpec("nadam"),
        OptimizerSpec("adamax"),
        OptimizerSpec("rmsprop"),
        OptimizerSpec("rmsprop", momentum=0.9),
        OptimizerSpec("adagrad"),
    ],
    ids=lambda spec: f"{spec.name}-momentum{spec.momentum}",
)
def test_optimizer_slots_are_what_keras_allocates(spec: OptimizerSpec) -> None:
    from model.builder import build_inference_model, make_optimizer

    config = load_preset("mlp").replace(optimizer=spec)
    model = build_inference_model(config, (28, 28, 1), 10)
    optimizer = make_optimizer(spec)
    optimizer.build(model.trainable_variables)
    # Per-weight state only: the step count and the learning rate are scalars.
    state = sum(math.prod(v.shape) for v in optimizer.variables if len(v.shape) > 0)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert trainable * optimizer_slots(config) == state


def test_advice_names_the_weights_or_the_batch() -> None:
    huge = RunConfig(layers=(LayerSpec("Flatten"), *[LayerSpec("Dense", units=65536)] * 3, OUT), batch_size=128)
    assert "weights themselves" in estimate_memory(huge, (28, 28, 1), 10).advice()
    wide = RunConfig(layers=(LayerSpec("Conv2D", filters=512), LayerSpec("Flatten"), OUT), batch_size=512)
    assert "batch size (now 512)" in estimate_memory(wide, (28, 28, 1), 10).advice()


def test_machine_memory_says_what_the_computer_has(monkeypatch: pytest.MonkeyPatch) -> None:
    from model import machine

    monkeypatch.setattr(machine, "total_memory", lambda: 16_000_000_000)
    monkeypatch.setattr(machine, "available_memory", lambda: 9_200_000_000)
    assert machine.machine_memory().describe() == "this computer has 16 GB (9.2 GB free)"
    monkeypatch.setattr(machine, "total_memory", lambda: None)
    assert machine.machine_memory().describe() == ""
