"""Experiments expand to trials that differ in the varied settings alone; bad input is named."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.config import LayerSpec, RunConfig, load_preset
from model.errors import ConfigError, ProjectError
from model.experiments.spec import (
    MAX_TRIALS,
    Experiment,
    Variant,
    Variation,
    canonical_path,
    differences,
    experiment_from_vary,
    format_value,
    parse_vary,
)

MLP = load_preset("mlp")


def test_two_variations_expand_to_their_cross_product_in_order() -> None:
    experiment = experiment_from_vary(MLP, ["optimizer.name=sgd,adam", "optimizer.learning_rate=0.1,0.01,0.001"])
    trials = experiment.trials
    assert [t.label for t in trials[:4]] == [
        "optimizer.name=sgd, optimizer.learning_rate=0.1",
        "optimizer.name=sgd, optimizer.learning_rate=0.01",
        "optimizer.name=sgd, optimizer.learning_rate=0.001",
        "optimizer.name=adam, optimizer.learning_rate=0.1",
    ]
    assert len(trials) == 6
    assert [t.trial_id for t in trials] == list(range(6))
    assert trials[1].config.optimizer.name == "sgd"
    assert trials[1].config.optimizer.learning_rate == 0.01
    assert trials[1].settings == (("optimizer.name", "sgd"), ("optimizer.learning_rate", "0.01"))
    assert trials[1].folder_name == "01-sgd-0.01"


def test_trials_share_everything_but_what_is_varied() -> None:
    trials = experiment_from_vary(MLP, ["optimizer.name=sgd,adam", "batch_size=full,32"]).trials
    for trial in trials:
        assert set(differences(MLP, trial.config)) <= {"optimizer.name", "batch_size"}
        assert trial.config.seed == MLP.seed
        assert trial.config.split == MLP.split
        assert trial.config.data == MLP.data


def test_varying_a_layer_type_allows_its_fields_to_change_with_it() -> None:
    trials = experiment_from_vary(MLP, ["layers[2].type=Dense,Dropout"]).trials
    assert [t.config.layers[2].type for t in trials] == ["Dense", "Dropout"]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("optimizer.nmae=sgd", "optimizer.nmae", "did you mean optimizer.name"),
        ("optimizer.name=sgd,foo", "optimizer.name", "'foo' is not one of: sgd, adam"),
        ("optimizer.learning_rate=0.1,fast", "optimizer.learning_rate", "must be a number"),
        ("optimizer.learning_rate=0.1,-1", "optimizer.learning_rate", "must be > 0.0"),
        ("layers[9].units=3", "layers[9].units", "there is no layers[9]"),
        ("layers[1].rate=0.1", "layers[1].rate", "a Dense layer has no rate"),
        ("batch_size=", "batch_size", "has no values"),
        ("batch_size=32,,64", "batch_size", "an empty value"),
        ("batch_size=32,32", "batch_size", "more than once"),
        ("optimizer=sgd", "optimizer", "is a group of settings"),
        ("optimizer.name", "optimizer.name", "expected PATH=V1,V2"),
    ],
)
def test_a_bad_vary_names_the_field_and_what_is_allowed(text: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        experiment_from_vary(MLP, [text])
    assert caught.value.field == field
    assert words in caught.value.reason


def test_the_same_path_twice_and_too_many_paths_are_refused() -> None:
    with pytest.raises(ConfigError, match="varied twice"):
        experiment_from_vary(MLP, ["seed=1,2", " seed =3"])
    with pytest.raises(ConfigError, match="at most 2 settings"):
        experiment_from_vary(MLP, ["seed=1,2", "epochs=1,2", "batch_size=8,16"])
    with pytest.raises(ConfigError, match=f"at most {MAX_TRIALS}"):
        experiment_from_vary(MLP, [f"seed={','.join(map(str, range(9)))}", f"epochs={','.join(map(str, range(1, 9)))}"])
    with pytest.raises(ConfigError, match="nothing to compare"):
        _ = Experiment(MLP).trials


def test_paths_are_canonical_and_values_round_trip_as_text() -> None:
    assert canonical_path("  layers[01].units ") == "layers[1].units"
    variation = parse_vary(MLP, "layers[01].units=16,32")
    assert variation == Variation("layers[1].units", (16, 32))
    assert [format_value(v) for v in (None, True, 1e-05, "full", 3)] == ["none", "true", "1e-05", "full", "3"]


def test_variants_may_change_the_model_but_not_the_data_seed_or_batches() -> None:
    dropout = MLP.replace(layers=(*MLP.layers[:2], LayerSpec("Dropout", rate=0.3), *MLP.layers[2:]))
    experiment = Experiment(MLP, variants=(Variant("plain", MLP), Variant("dropout", dropout)))
    assert [t.label for t in experiment.trials] == ["plain", "dropout"]
    assert experiment.trials[1].settings == (("variant", "dropout"),)

    reseeded = Experiment(MLP, variants=(Variant("plain", MLP), Variant("other seed", MLP.replace(seed=7))))
    with pytest.raises(ProjectError, match=r"differs from trial 1 in seed \(7 vs 42\)"):
        _ = reseeded.trials
    with pytest.raises(ConfigError, match="same label"):
        _ = Experiment(MLP, variants=(Variant("a", MLP), Variant("a", dropout))).trials


def test_variants_cross_with_variations_and_label_both() -> None:
    experiment = Experiment(
        MLP,
        variations=(Variation("optimizer.learning_rate", (0.1, 0.01)),),
        variants=(Variant.of_changes(MLP, {"optimizer.name": "sgd"}), Variant("adam", MLP)),
    )
    labels = [t.label for t in experiment.trials]
    assert labels[0] == "optimizer.name=sgd · optimizer.learning_rate=0.1"
    assert labels[3] == "adam · optimizer.learning_rate=0.01"


def test_with_settings_changes_the_base_and_every_variant_but_not_a_varied_path() -> None:
    experiment = Experiment(MLP, variants=(Variant("a", MLP), Variant("b", MLP.replace(l2=0.001))))
    shorter = experiment.with_settings({"epochs": 1, "data.limit": 100})
    assert {t.config.epochs for t in shorter.trials} == {1}
    assert {t.config.data.limit for t in shorter.trials} == {100}
    varied = experiment_from_vary(MLP, ["epochs=1,2"])
    with pytest.raises(ConfigError, match="is what this comparison varies"):
        varied.with_settings({"epochs": 3})


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_PATHISH = st.sampled_from(
    ["optimizer.name", "optimizer.learning_rate", "batch_size", "layers[1].units", "layers[2].type",
     "data.limit", "seed", "early_stopping.enabled", "schedule.kind", "optimizer", "layers[7].rate", ""]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_TEXT, st.builds(lambda p, v: f"{p}={v}", _PATHISH, _TEXT)), max_size=3))
def test_whatever_the_vary_texts_the_result_is_trials_or_a_project_error(texts: list[str]) -> None:
    try:
        experiment = experiment_from_vary(MLP, texts)
    except ProjectError:
        return
    trials = experiment.trials
    assert 1 <= len(trials) <= MAX_TRIALS
    assert all(isinstance(t.config, RunConfig) for t in trials)
    assert len({t.label for t in trials}) == len(trials)
