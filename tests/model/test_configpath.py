"""Setting paths: every field addressable, edits validated, command-line text parsed, any input safe."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import configpath
from model.config import (
    LAYER_PARAMS,
    LAYER_TYPES,
    DataSpec,
    LayerSpec,
    RunConfig,
    SplitSpec,
    list_presets,
    load_preset,
)
from model.errors import ConfigError


def all_configs() -> list[RunConfig]:
    return [RunConfig(), *(load_preset(name) for name in list_presets())]


# ---------------------------------------------------------------------------- paths and get


def test_paths_of_the_default_config() -> None:
    found = configpath.paths(RunConfig())
    assert found[:3] == ("name", "layers[0].type", "layers[1].type")
    for path in ("optimizer.learning_rate", "layers[2].units", "batch_size", "data.limit",
                 "early_stopping.enabled", "schedule.min_delta", "split.official_test", "report_every"):  # fmt: skip
        assert path in found, path
    assert "layers[0].units" not in found  # a Flatten has no units
    assert len(found) == len(set(found))


@pytest.mark.parametrize("kind", LAYER_TYPES)
def test_layer_paths_only_for_the_fields_of_the_type(kind: str) -> None:
    config = RunConfig(layers=(LayerSpec(kind), LayerSpec("Dense", units=10, activation="softmax")))
    layer_paths = [p.split(".", 1)[1] for p in configpath.paths(config) if p.startswith("layers[0].")]
    assert layer_paths == ["type", *LAYER_PARAMS[kind]]
    assert configpath.paths(LayerSpec(kind)) == ("type", *LAYER_PARAMS[kind])


def test_get_reads_scalars_anywhere() -> None:
    config = load_preset("cnn")
    assert configpath.get(config, "optimizer.learning_rate") == config.optimizer.learning_rate
    assert configpath.get(config, "layers[3].filters") == 64
    assert configpath.get(config, " batch_size ") == 64
    assert configpath.get(config, "data.limit") is None
    assert configpath.get(config, "early_stopping.enabled") is False
    assert configpath.get(LayerSpec("Dense", units=7), "units") == 7


@pytest.mark.parametrize("config", all_configs(), ids=lambda c: c.name)
def test_get_then_with_value_round_trips_every_path(config: RunConfig) -> None:
    for path in configpath.paths(config):
        assert configpath.with_value(config, path, configpath.get(config, path)) == config, path
    assert configpath.with_values(config, {p: configpath.get(config, p) for p in configpath.paths(config)}) == config


# ---------------------------------------------------------------------------- with_value


def test_with_value_returns_a_new_validated_config() -> None:
    config = RunConfig()
    changed = configpath.with_value(config, "optimizer.learning_rate", 0.01)
    assert changed.optimizer.learning_rate == 0.01 and config.optimizer.learning_rate == 1e-3
    assert configpath.with_value(config, "layers[1].units", 32).layers[1].units == 32
    assert configpath.with_value(config, "batch_size", "full").batch_size == "full"
    assert configpath.with_value(config, "data.limit", 500).data == DataSpec(limit=500)
    assert configpath.with_value(LayerSpec("Dense"), "activation", "tanh") == LayerSpec("Dense", activation="tanh")


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("optimizer.learning_rate", -1.0, "optimizer.learning_rate", "> 0"),
        ("optimizer.name", "lbfgs", "optimizer.name", "adamax"),
        ("layers[1].units", 0, "layers[1].units", "between 1 and 65536"),
        ("layers[1].activation", "swish", "layers[1].activation", "relu"),
        ("layers[0].type", "Transformer", "layers[0].type", "Conv2D"),
        ("batch_size", "half", "batch_size", "whole number"),
        ("epochs", 2.5, "epochs", "whole number"),
        ("early_stopping.enabled", "yes", "early_stopping.enabled", "true or false"),
        ("split.train", 0.5, "split", "sum to 1"),
        ("data.name", "file", "data.path", "required"),
        ("schedule.min_delta", -0.1, "schedule.min_delta", ">= 0"),
        ("name", 3, "name", "text"),
    ],
)
def test_rejected_values_name_the_path_and_what_is_allowed(path: str, value: object, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        configpath.with_value(RunConfig(), path, value)
    assert info.value.field == field
    assert words in str(info.value)


def test_a_lone_layer_reports_its_own_field_names() -> None:
    with pytest.raises(ConfigError) as info:
        configpath.with_value(LayerSpec("Dense"), "units", 0)
    assert info.value.field == "units"


def test_with_values_changes_fields_that_are_only_valid_together() -> None:
    config = configpath.with_values(
        RunConfig(),
        {"split.train": 0.6, "split.validation": 0.3, "data.name": "file", "data.path": "/d.npz", "layers[1].units": 9},
    )
    assert config.split == SplitSpec(0.6, 0.3, 0.1)
    assert config.data == DataSpec("file", "/d.npz")
    assert config.layers[1].units == 9 and config.layers[2] == RunConfig().layers[2]
    with pytest.raises(ConfigError, match="sum to 1"):
        configpath.with_values(RunConfig(), {"split.train": 0.6, "epochs": 3})


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("", "empty"),
        ("optimiser.learning_rate", "did you mean optimizer.learning_rate?"),
        ("optimizer.lr", "optimizer has: name, learning_rate, momentum"),
        ("early_stoping.enabled", "did you mean early_stopping.enabled?"),
        ("layer[2].units", "did you mean layers[2].units?"),
        ("layers[1].unit", "did you mean layers[1].units?"),
        ("layers[7].units", "there is no layers[7]: the run has 3 layers, layers[0] to layers[2]"),
        ("layers.units", "layers is a list; pick one by number"),
        ("optimizer", "is a group of settings, not one value; set one of: optimizer.name"),
        ("layers[1]", "set one of: layers[1].type, layers[1].units"),
        ("epochs[0]", "epochs is not a list"),
        ("batch_size.size", "batch_size is a single value"),
        ("optimizer..name", "is not a setting path"),
        ("layers[-1].units", "is not a setting path"),
        ("données", "is not a setting path"),
    ],
)
def test_unknown_paths_say_what_exists(path: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        configpath.with_value(RunConfig(), path, 1)
    assert words in str(info.value)
    assert info.value.field == path.strip()
    with pytest.raises(ConfigError):
        configpath.get(RunConfig(), path)


# ---------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("path", "text", "value"),
    [
        ("epochs", " 12 ", 12),
        ("optimizer.learning_rate", "3e-4", 3e-4),
        ("optimizer.learning_rate", "1", 1.0),
        ("batch_size", "full", "full"),
        ("batch_size", "FULL", "full"),
        ("batch_size", "64", 64),
        ("early_stopping.enabled", "true", True),
        ("early_stopping.enabled", "Yes", True),
        ("early_stopping.enabled", "1", True),
        ("split.stratified", "no", False),
        ("split.stratified", "0", False),
        ("split.stratified", "FALSE", False),
        ("data.limit", "none", None),
        ("data.limit", "500", 500),
        ("optimizer.clipnorm", "null", None),
        ("layers[1].initializer", "None", None),
        ("data.path", "/data/my digits.npz", "/data/my digits.npz"),
        ("optimizer.name", "adamax", "adamax"),
    ],
)
def test_parse_turns_text_into_the_fields_type(path: str, text: str, value: object) -> None:
    parsed = configpath.parse(RunConfig(), path, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("path", "text", "words"),
    [
        ("epochs", "1.5", "epochs: must be a whole number, got '1.5'"),
        ("batch_size", "half", "batch_size: must be a whole number or 'full', got 'half'"),
        ("data.limit", "lots", "data.limit: must be a whole number or 'none'"),
        ("optimizer.learning_rate", "fast", "optimizer.learning_rate: must be a number"),
        ("early_stopping.enabled", "maybe", "must be true or false (or yes/no, 1/0)"),
        ("epochs", "none", "must be a whole number"),  # not optional
    ],
)
def test_parse_refuses_text_of_the_wrong_type(path: str, text: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        configpath.parse(RunConfig(), path, text)
    assert words in str(info.value)


def test_apply_assignments_in_any_order() -> None:
    base = RunConfig()
    one = configpath.apply_assignments(base, ["layers[1].type=Dropout", "layers[1].rate=0.3", "split.train=0.7",
                                              "split.test=0.2", "schedule.min_delta=0.01"])  # fmt: skip
    other = configpath.apply_assignments(base, ["schedule.min_delta=0.01", "split.test=0.2", "layers[1].rate=0.3",
                                                "split.train=0.7", "layers[1].type=Dropout"])  # fmt: skip
    assert one == other
    assert one.layers[1] == LayerSpec("Dropout", units=128, rate=0.3)
    assert one.schedule.min_delta == 0.01
    assert configpath.apply_assignments(base, []) == base


def test_apply_assignments_refuses_a_field_the_layer_does_not_have() -> None:
    with pytest.raises(ConfigError) as info:
        configpath.apply_assignments(RunConfig(), ["layers[0].units=5"])
    assert str(info.value) == "layers[0].units: a Flatten layer has no units; layers[0] has: type"
    with pytest.raises(ConfigError, match="expected PATH=VALUE"):
        configpath.apply_assignments(RunConfig(), ["epochs"])


# ---------------------------------------------------------------------------- any input


def _path_texts() -> st.SearchStrategy[str]:
    real = st.sampled_from(configpath.paths(load_preset("cnn")) + ("optimizer", "layers", "layers[99].units"))
    mangled = st.tuples(real, st.text(max_size=4), st.integers(0, 30)).map(lambda t: t[0][: t[2]] + t[1])
    return st.one_of(real, mangled, st.text(max_size=30))


def _value_texts() -> st.SearchStrategy[str]:
    words = st.sampled_from(["0", "1", "-1", "1e-3", "1e999", "nan", "inf", "-inf", "full", "none", "null", "true",
                             "no", "adamax", "Dense", "same", "", " ", "2.5", "10000000", "9" * 5000, "1_000"])  # fmt: skip
    return st.one_of(words, st.text(max_size=20))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=_path_texts(), text=_value_texts())
def test_any_path_and_value_text_give_a_config_or_a_config_error(path: str, text: str) -> None:
    config = load_preset("cnn")
    try:
        result = configpath.with_value(config, path, configpath.parse(config, path, text))
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(result, RunConfig)


_python_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**9), 10**9), st.floats(), st.text(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(path=_path_texts(), value=_python_values)
def test_any_python_value_gives_a_config_or_a_config_error(path: str, value: object) -> None:
    try:
        result = configpath.with_value(RunConfig(), path, value)
    except ConfigError as exc:
        assert str(exc)
        return
    assert isinstance(result, RunConfig)
    assert configpath.get(result, path) == value or value != value  # NaN is never equal


@settings(max_examples=200, deadline=None)
@given(assignments=st.lists(st.tuples(_path_texts(), _value_texts()).map("=".join), max_size=4))
def test_any_assignments_give_a_config_or_a_config_error(assignments: list[str]) -> None:
    try:
        configpath.apply_assignments(RunConfig(), assignments)
    except ConfigError as exc:
        assert str(exc)
