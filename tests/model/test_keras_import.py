"""Plain Keras models back to layer specs: supported stacks map, others name their layers."""

from __future__ import annotations

import pytest

from model.config import LayerSpec, RunConfig
from model.errors import ModelFileError
from model.keras_import import layer_specs

keras = pytest.importorskip("keras")


def test_a_plain_sequential_maps_back_to_layer_specs() -> None:
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", kernel_initializer="he_normal"),
            keras.layers.MaxPooling2D(2),
            keras.layers.BatchNormalization(),
            keras.layers.AveragePooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(32, activation="tanh", kernel_regularizer=keras.regularizers.L2(1e-4)),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    specs = layer_specs(model)
    assert specs[6].l2 == pytest.approx(1e-4)  # Keras keeps it as a float32
    assert specs[:6] + specs[7:] == (
        LayerSpec("Conv2D", filters=8, kernel_size=3, padding="same", initializer="he_normal"),
        LayerSpec("MaxPooling2D", pool_size=2),
        LayerSpec("BatchNormalization"),
        LayerSpec("AveragePooling2D", pool_size=2),
        LayerSpec("Flatten"),
        LayerSpec("Dropout", rate=0.3),
        LayerSpec("Dense", units=10, activation="softmax", initializer="glorot_uniform"),
    )
    assert (specs[6].type, specs[6].units, specs[6].activation) == ("Dense", 32, "tanh")


def test_a_model_built_by_this_project_round_trips() -> None:
    from model.builder import build_inference_model

    config = RunConfig()
    model = build_inference_model(config, (28, 28, 1), 10)
    specs = layer_specs(model)
    assert [s.type for s in specs] == [s.type for s in config.layers]
    assert [s.units for s in specs if s.type == "Dense"] == [128, 10]


def test_unsupported_layers_are_named() -> None:
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1), name="to_image"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="silu", name="out"),
        ]
    )
    with pytest.raises(ModelFileError) as info:
        layer_specs(model)
    message = str(info.value)
    assert "to_image (Reshape)" in message
    assert "out (Dense): activation 'silu'" in message
