"""The built-in experiments: each builds on any preset, says what to look for, and controls its trials."""

from __future__ import annotations

import re

import pytest

from model.config import list_presets, load_preset
from model.errors import ConfigError
from model.experiments.builtin import BUILTIN, builtin, builtin_experiments
from model.experiments.spec import differences

EXPECTED = {
    "batch": "Batch vs mini-batch vs stochastic",
    "learning_rate": "Learning rate: too small, right, too large",
    "optimizers": "SGD vs momentum vs Adam vs RMSprop",
    "initialization": "Initialization in a deep network",
    "overfitting": "Fighting overfitting",
    "activations": "Sigmoid vs ReLU in depth",
}


def test_the_six_experiments_of_the_literature_are_there_in_menu_order() -> None:
    assert {b.key: b.title for b in builtin_experiments()} == EXPECTED


@pytest.mark.parametrize("key", list(BUILTIN))
def test_each_says_in_two_sentences_what_to_look_for(key: str) -> None:
    text = builtin(key).look_for
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    assert len(sentences) == 2, sentences
    assert builtin(key).varies


@pytest.mark.parametrize("preset", list_presets())
@pytest.mark.parametrize("key", list(BUILTIN))
def test_each_builds_on_every_preset_keeping_its_data_split_and_seed(key: str, preset: str) -> None:
    base = load_preset(preset)
    experiment = builtin(key).experiment(base)
    trials = experiment.trials
    assert 3 <= len(trials) <= 4
    assert experiment.title == EXPECTED[key] and experiment.name == key
    for trial in trials:
        assert trial.config.seed == base.seed
        assert trial.config.split == base.split
        assert trial.config.data.name == base.data.name
        assert trial.config.data.path == base.data.path
    first = trials[0].config
    for trial in trials[1:]:
        assert not {"seed", "epochs"} & set(differences(first, trial.config))


def test_what_each_varies() -> None:
    base = load_preset("mlp")
    batch = builtin("batch").experiment(base).trials
    assert [t.config.batch_size for t in batch] == ["full", 64, 1]
    assert all(t.config.data.limit == 2000 for t in batch)
    assert [t.config.optimizer.learning_rate for t in builtin("learning_rate").experiment(base).trials] == [0.001, 0.1, 3.0]
    optimizers = builtin("optimizers").experiment(base).trials
    assert [(t.config.optimizer.name, t.config.optimizer.momentum) for t in optimizers] == [
        ("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0), ("rmsprop", 0.0)
    ]  # fmt: skip
    inits = builtin("initialization").experiment(base).trials
    assert [t.config.initializer for t in inits] == ["glorot_uniform", "he_normal", "random_normal"]
    assert sum(layer.activation == "tanh" for layer in inits[0].config.layers if layer.type == "Dense") == 6
    fighting = builtin("overfitting").experiment(base).trials
    assert [t.config.l2 for t in fighting] == [0.0, 0.001, 0.0, 0.0]
    assert [sum(layer.type == "Dropout" for layer in t.config.layers) for t in fighting] == [0, 0, 2, 0]
    assert [sum(layer.type == "BatchNormalization" for layer in t.config.layers) for t in fighting] == [0, 0, 0, 2]
    depth = builtin("activations").experiment(base).trials
    assert [len(t.config.layers) - 2 for t in depth] == [2, 2, 8, 8]


def test_a_smaller_data_limit_of_the_user_is_kept() -> None:
    base = load_preset("mlp")
    base = base.replace(data=base.data.__class__(name="mnist", limit=500))
    assert {t.config.data.limit for t in builtin("batch").experiment(base).trials} == {500}


def test_an_unknown_experiment_lists_the_ones_there_are() -> None:
    with pytest.raises(ConfigError, match="choose one of: batch, learning_rate, optimizers"):
        builtin("momentum")
