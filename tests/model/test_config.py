"""The run configuration: round trips, every validation error, and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.config import (
    ACTIVATIONS,
    LAYER_TYPES,
    OPTIMIZERS,
    SCHEDULES,
    SCHEMA_VERSION,
    AugmentationSpec,
    DataSpec,
    EarlyStoppingSpec,
    LayerSpec,
    OptimizerSpec,
    RunConfig,
    ScheduleSpec,
    SplitSpec,
    config_from_dict,
    config_from_json,
    list_presets,
    load_config,
    load_preset,
    preset_dir,
)
from model.errors import ConfigError, ProjectError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_presets_exist_and_round_trip() -> None:
    names = list_presets()
    assert {"mlp", "cnn"} <= set(names)
    assert any("vanishing" in n for n in names)
    for name in names:
        config = load_preset(name)
        assert config_from_json(config.to_json()) == config


def test_round_trip_every_optimizer_and_schedule() -> None:
    for opt in OPTIMIZERS:
        for kind in SCHEDULES:
            config = RunConfig(
                optimizer=OptimizerSpec(name=opt, learning_rate=0.01, momentum=0.5, nesterov=True, clipnorm=1.0),
                schedule=ScheduleSpec(kind=kind, factor=0.3, step_epochs=2, patience=4),
                batch_size="full",
                early_stopping=EarlyStoppingSpec(enabled=True, monitor="val_accuracy"),
                augmentation=AugmentationSpec(enabled=True, rotation=5.0),
                data=DataSpec(name="file", path="/tmp/x.npz", limit=500),
            )
            parsed = config_from_json(config.to_json())
            # Only the parameters that apply to the optimizer / schedule are stored.
            assert parsed.optimizer.name == opt
            assert parsed.to_dict() == config.to_dict()


def test_json_stores_only_applicable_layer_fields() -> None:
    raw = RunConfig().to_dict()
    assert raw["schema_version"] == SCHEMA_VERSION
    assert raw["layers"][0] == {"type": "Flatten"}
    assert set(raw["layers"][1]) == {"type", "units", "activation", "initializer", "l1", "l2"}


def test_old_schema_v1_fixture_still_loads() -> None:
    config = load_config(FIXTURES / "config_v1.json")
    assert config.layers[-1].units == 10
    assert config.optimizer.name == "sgd"


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda d: d["layers"].append({"type": "Transformer"}), "layers[3].type", "not one of"),
        (lambda d: d["layers"][1].update(units=0), "layers[1].units", "between 1"),
        (lambda d: d["layers"][1].update(units=-5), "layers[1].units", "between 1"),
        (lambda d: d["layers"][1].update(units="many"), "layers[1].units", "whole number"),
        (lambda d: d["layers"][1].update(activation="swishy"), "layers[1].activation", "relu"),
        (lambda d: d["layers"].append({"type": "Dropout", "rate": -0.1}), "layers[3].rate", ">= 0"),
        (lambda d: d["layers"].append({"type": "Dropout", "rate": 1.0}), "layers[3].rate", "< 1"),
        (lambda d: d["layers"].append({"units": 3}), "layers[3].type", "required"),
        (lambda d: d["layers"].append({"type": "Dense", "colour": 3}), "layers[3].colour", "unknown field"),
        (lambda d: d["layers"].append(7), "layers[3]", "JSON object"),
        (lambda d: d.update(layers=[]), "layers", "empty"),
        (lambda d: d.update(layers="Dense"), "layers", "list"),
        (lambda d: d.pop("layers"), "layers", "required"),
        (lambda d: d["optimizer"].update(learning_rate=-1), "optimizer.learning_rate", "> 0"),
        (lambda d: d["optimizer"].update(learning_rate=float("nan")), "optimizer.learning_rate", "finite"),
        (lambda d: d["optimizer"].update(name="lbfgs"), "optimizer.name", "sgd"),
        (lambda d: d["optimizer"].update(momentum=1.5), "optimizer.momentum", "< 1"),
        (lambda d: d["optimizer"].update(nesterov="yes"), "optimizer.nesterov", "true or false"),
        (lambda d: d["schedule"].update(kind="sawtooth"), "schedule.kind", "cosine"),
        (lambda d: d["schedule"].update(factor=0), "schedule.factor", "> 0"),
        (lambda d: d.update(split={"train": 0.5, "validation": 0.1, "test": 0.1}), "split", "sum to 1"),
        (lambda d: d.update(split={"train": 0.9, "validation": -0.1, "test": 0.2}), "split.validation", ">= 0"),
        (lambda d: d.update(batch_size=0), "batch_size", "between 1"),
        (lambda d: d.update(batch_size="half"), "batch_size", "whole number"),
        (lambda d: d.update(epochs=0), "epochs", "between 1"),
        (lambda d: d.update(seed=-1), "seed", "between 0"),
        (lambda d: d.update(loss="kl"), "loss", "crossentropy"),
        (lambda d: d.update(initializer="ones-ish"), "initializer", "glorot_uniform"),
        (lambda d: d.update(l2=2.0), "l2", "<= 1"),
        (lambda d: d.update(data={"name": "file"}), "data.path", "required"),
        (lambda d: d.update(data={"name": "imagenet"}), "data.name", "mnist"),
        (lambda d: d.update(early_stopping={"monitor": "f1"}), "early_stopping.monitor", "val_loss"),
        (lambda d: d.update(augmentation={"rotation": 400}), "augmentation.rotation", "<= 90"),
        (lambda d: d.update(augmentation={"elastic": -1}), "augmentation.elastic", ">= 0"),
        (lambda d: d.update(augmentation={"elastic_sigma": 0.5}), "augmentation.elastic_sigma", ">= 1"),
        (lambda d: d.update(augmentation={"stroke_width": 3}), "augmentation.stroke_width", "<= 2"),
        (lambda d: d.update(data={"pen_digits": 0.9}), "data.pen_digits", "<= 0.5"),
        (lambda d: d.update(colour="blue"), "colour", "unknown field"),
        (lambda d: d.update(optimizer=[1, 2]), "optimizer", "JSON object"),
        (lambda d: d.update(schema_version=SCHEMA_VERSION + 1), "schema_version", "newer"),
        (lambda d: d.update(schema_version="1"), "schema_version", "whole number"),
        (lambda d: d.pop("schema_version"), "schema_version", "missing"),
    ],
)
def test_every_validation_error_names_the_field(mutate, field: str, words: str) -> None:
    raw = RunConfig().to_dict()
    mutate(raw)
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(field)


def test_not_json_and_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        config_from_json("{'layers': ")
    with pytest.raises(ConfigError, match="JSON object"):
        config_from_json("[1, 2]")
    path = tmp_path / "c.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not a text"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="no preset named"):
        load_preset("nope")


def test_dataclasses_validate_on_construction() -> None:
    with pytest.raises(ConfigError):
        LayerSpec("Dense", units=0)
    with pytest.raises(ConfigError):
        SplitSpec(train=0.2, validation=0.2, test=0.2)
    with pytest.raises(ConfigError):
        RunConfig().replace(epochs=-3)
    assert RunConfig().effective_batch_size(50) == 50
    assert RunConfig(batch_size="full").effective_batch_size(1234) == 1234


# ------------------------------------------------------------------ property-based

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _layer_dicts() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(LAYER_TYPES + ("Nope",))},
        optional={
            "units": st.one_of(st.integers(-5, 70000), json_scalars),
            "activation": st.sampled_from(ACTIVATIONS + ("bad",)),
            "rate": st.one_of(st.floats(-1, 2), json_scalars),
            "kernel_size": st.integers(-1, 100),
            "padding": st.sampled_from(("same", "valid", "full")),
            "l2": st.one_of(st.floats(-1, 2), st.none()),
        },
    )


def _config_dicts() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {"schema_version": st.one_of(st.just(1), json_scalars)},
        optional={
            "layers": st.one_of(st.lists(_layer_dicts(), max_size=5), json_values),
            "optimizer": st.one_of(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(OPTIMIZERS + ("x",))},
                    optional={"learning_rate": st.one_of(st.floats(), json_scalars)},
                ),
                json_values,
            ),
            "split": st.one_of(
                st.fixed_dictionaries(
                    {"train": st.floats(-1, 2), "validation": st.floats(-1, 2), "test": st.floats(-1, 2)}
                ),
                json_values,
            ),
            "batch_size": st.one_of(st.integers(-3, 10**7), st.just("full"), json_scalars),
            "epochs": json_scalars,
            "data": json_values,
            "schedule": json_values,
            "extra": json_values,
        },
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(_config_dicts(), json_values))
def test_any_json_value_gives_a_config_or_a_config_error(raw: object) -> None:
    try:
        config = config_from_dict(raw)
    except ConfigError as exc:
        assert str(exc), "a configuration error must say what is wrong"
        return
    assert config_from_json(config.to_json()) == config


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gives_a_config_or_a_project_error(text: str) -> None:
    try:
        config_from_json(text)
    except ProjectError as exc:
        assert str(exc)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_file_bytes_give_a_config_or_a_project_error(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("cfg") / "c.json"
    path.write_bytes(data)
    try:
        load_config(path)
    except ProjectError as exc:
        assert str(exc)


def test_fixture_is_schema_one() -> None:
    assert json.loads((FIXTURES / "config_v1.json").read_text())["schema_version"] == 1


# ------------------------------------------------------------------ added settings


def test_plateau_min_delta_round_trips_and_old_files_default_to_the_old_constant() -> None:
    config = RunConfig(schedule=ScheduleSpec(kind="plateau", min_delta=0.01))
    raw = config.to_dict()
    assert raw["schedule"] == {"kind": "plateau", "factor": 0.5, "patience": 2, "min_delta": 0.01,
                               "min_learning_rate": 1e-6}  # fmt: skip
    assert config_from_json(config.to_json()) == config
    del raw["schedule"]["min_delta"]  # written before the field existed
    assert config_from_dict(raw).schedule.min_delta == 1e-4  # Keras's ReduceLROnPlateau default
    assert "min_delta" not in RunConfig(schedule=ScheduleSpec(kind="step")).to_dict()["schedule"]
    with pytest.raises(ConfigError, match=r"schedule.min_delta: must be >= 0.0"):
        ScheduleSpec(kind="plateau", min_delta=-1.0)


def test_adamax_round_trips_with_its_parameters() -> None:
    config = RunConfig(optimizer=OptimizerSpec(name="adamax", learning_rate=0.002, beta_1=0.8, beta_2=0.99))
    assert config.to_dict()["optimizer"] == {
        "name": "adamax", "learning_rate": 0.002, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
        "weight_decay": 0.0, "clipnorm": None,
    }  # fmt: skip
    assert config_from_json(config.to_json()) == config


# --------------------------------------------------------------------------- hostile files (issue 12)


def test_a_stack_is_at_most_max_layers_long_and_refused_before_parsing(tmp_path: Path) -> None:
    import time

    from model.config import MAX_LAYERS

    raw = json.loads((preset_dir() / "mlp.json").read_text())
    raw["layers"] = [{"type": "Dense", "units": 10}] * 20_000
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"20,000 layers are more than the {MAX_LAYERS} allowed"):
        config_from_dict(raw)
    assert time.monotonic() - started < 5  # was: no answer in 150 s
    with pytest.raises(ConfigError, match="more than the"):
        RunConfig(layers=(LayerSpec("Dense", units=10),) * (MAX_LAYERS + 1))
    assert len(RunConfig(layers=(LayerSpec("Dense", units=10),) * MAX_LAYERS).layers) == MAX_LAYERS


def test_load_config_refuses_pipes_devices_huge_files_and_huge_integers(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    with pytest.raises(ConfigError, match="named pipe"):
        load_config(pipe)  # was: blocked forever
    with pytest.raises(ConfigError, match="character device"):
        load_config("/dev/zero")  # was: MemoryError
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(10**10)
    with pytest.raises(ConfigError, match="more than the 2,097,152 accepted"):
        load_config(big)
    digits = tmp_path / "digits.json"
    digits.write_text((preset_dir() / "mlp.json").read_text().replace('"seed": 42', '"seed": ' + "1" * 5000))
    with pytest.raises(ConfigError, match="whole number of 5,000 digits"):
        load_config(digits)  # was: ValueError "Exceeds the limit (4300 digits)"


def test_messages_quote_long_values_cut() -> None:
    raw = json.loads((preset_dir() / "mlp.json").read_text())
    raw["layers"][1]["activation"] = "x" * 10_000_000
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw)
    assert len(str(info.value)) < 300 and "(10,000,000 characters)" in str(info.value)
    raw = json.loads((preset_dir() / "mlp.json").read_text())
    raw["epochs"] = 10**5000
    with pytest.raises(ConfigError, match="about 5,001 digits"):
        config_from_dict(raw)


def test_fields_a_layer_type_does_not_use_are_dropped_so_a_config_reads_back_the_same() -> None:
    # Found by the property test above: a Dense layer's "rate" was kept, but not written.
    config = config_from_dict({"schema_version": 1, "layers": [{"type": "Dense", "rate": 0.0, "filters": 5}]})
    assert config.layers[0] == LayerSpec("Dense")
    assert config_from_json(config.to_json()) == config


def test_a_dropout_rate_of_minus_zero_is_described_as_zero() -> None:
    assert LayerSpec("Dropout", rate=-0.0).describe() == "Dropout(0)"


def test_later_fields_keep_older_files_as_they_were() -> None:
    """Elastic distortion, pen-width variation and pen digits default to off, and are left
    out of the JSON while off, so a file written before them reads and writes unchanged."""
    old = load_config(FIXTURES / "config_v1.json")
    assert (old.augmentation.elastic, old.augmentation.stroke_width, old.data.pen_digits) == (0.0, 0.0, 0.0)
    written = old.to_dict()
    assert set(written["augmentation"]) == {"enabled", "shift", "rotation", "zoom", "thickness"}
    assert set(written["data"]) == {"name", "path", "limit"}
    on = old.replace(
        augmentation=AugmentationSpec(enabled=True, elastic=16.0, elastic_sigma=5.0, stroke_width=1.0),
        data=DataSpec(name="mnist", pen_digits=0.1),
    )
    again = config_from_json(on.to_json())
    assert again == on
    assert again.to_dict()["augmentation"]["elastic_sigma"] == 5.0 and again.to_dict()["data"]["pen_digits"] == 0.1
