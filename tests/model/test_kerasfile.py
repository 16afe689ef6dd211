"""What a .keras archive may hold: caps inside its description, sizes its description implies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import ModelFileError
from model.kerasfile import MAX_LIST, check_description, weights_bound
from model.modelio import read_model_description
from tests.model.hostile import fixture_description, model_archive, stored, zip_bytes


def test_the_fixture_passes(tmp_path: Path) -> None:
    path = tmp_path / "m.keras"
    model_archive(path, fixture_description())
    assert read_model_description(path)["class_name"] == "Sequential"


@pytest.mark.parametrize(
    ("description", "words"),
    [
        ({"config": {"name": "x" * 15_000_000}}, "a text of 15,000,000 characters"),
        ({"shape": list(range(MAX_LIST + 1))}, f"a list of {MAX_LIST + 1:,} items"),
        ({"layers": [{"class_name": "Dense", "module": "keras.layers"}] * 2001}, "more than 2,000 layers"),
    ],
)
def test_caps_inside_the_description(description: object, words: str) -> None:
    with pytest.raises(ModelFileError, match=words):
        check_description(description, "m.keras")


def test_nesting_is_capped_without_recursion() -> None:
    deep: object = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ModelFileError, match="nests more than 64 levels"):
        check_description(deep, "m.keras")


def test_the_parameter_count_matches_keras() -> None:
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(),
            keras.layers.SeparableConv2D(4, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(16),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    bound = weights_bound(json.loads(json.dumps(keras.saving.serialize_keras_object(model))))
    assert bound.parameters == model.count_params() and bound.uncounted_layers == 0


def test_a_weights_entry_larger_than_the_description_allows_is_refused_before_keras(tmp_path: Path) -> None:
    # The case: 4 MB on disk, 3.9 GiB declared; Keras used 8.7 GB for 88 s on it.
    description = json.dumps(fixture_description()).encode()
    path = tmp_path / "bomb.keras"
    path.write_bytes(zip_bytes([stored("config.json", description), ("model.weights.h5", os.urandom(4 << 20), int(3.9 * 2**30), 8, 0)]))
    with pytest.raises(ModelFileError, match=r"weights entry declares 4\.2 GB, but its description has 130 parameters"):
        read_model_description(path)


def test_entries_a_model_file_does_not_have_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "extra.keras"
    model_archive(path, fixture_description(), [stored("../../evil.py", b"import os")])
    with pytest.raises(ModelFileError, match="which a Keras model file does not have"):
        read_model_description(path)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=5) | st.dictionaries(st.sampled_from(["class_name", "module", "config", "build_config", "input_shape", "units", "filters", "kernel_size", "axis", "layers", "name"]), c, max_size=6),
        max_leaves=40,
    )
)
def test_whatever_the_description_only_model_file_errors_escape(description: object) -> None:
    try:
        check_description(description, "m.keras")
        bound = weights_bound(description)
        assert bound.max_bytes > 0
    except ModelFileError:
        pass
