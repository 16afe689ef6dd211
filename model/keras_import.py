"""Describe a plain Keras model's layers as this project's layer specs.

A model saved by plain Keras elsewhere can be shown in the designer when it is a simple
stack of the layer types the designer knows, with settings it can show. This reads each
layer's ``get_config()`` (already loaded safely by :func:`model.modelio.load_model_safe`)
and maps it to a :class:`~model.config.LayerSpec`; anything it cannot represent faithfully
is named in a :class:`~model.errors.ModelFileError`, so the user learns which layers are
the problem rather than seeing a silently different network.
"""

from __future__ import annotations

import re
from typing import Any

from model.config import ACTIVATIONS, INITIALIZERS, LAYER_TYPES, PADDINGS, LayerSpec
from model.errors import ConfigError, ModelFileError, clip, shorten

SKIPPED = ("InputLayer",)


def _snake(name: str) -> str:
    """``GlorotUniform`` -> ``glorot_uniform``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _square(value: Any, what: str) -> int:
    """A Keras size that may be an int or a tuple; the designer shows square windows only."""
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not values or any(v != values[0] for v in values) or not isinstance(values[0], int):
        raise ValueError(f"{what} {shorten(value)} is not square")
    return values[0]


def _initializer(raw: Any) -> str | None:
    if raw is None:
        return None
    name = raw.get("class_name") if isinstance(raw, dict) else raw
    if not isinstance(name, str):
        raise ValueError(f"initializer {shorten(raw)}")
    snake = name if name in INITIALIZERS else _snake(name)
    if snake not in INITIALIZERS:
        raise ValueError(f"initializer {shorten(name)}")
    return snake


def _regularizer(raw: Any) -> tuple[float | None, float | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict) or raw.get("class_name") not in ("L1", "L2", "L1L2"):
        raise ValueError(f"regularizer {shorten(raw)}")
    cfg = raw.get("config") or {}
    l1, l2 = cfg.get("l1"), cfg.get("l2")
    return (None if l1 is None else float(l1)), (None if l2 is None else float(l2))


def _activation(raw: Any) -> str:
    if not isinstance(raw, str) or raw not in ACTIVATIONS:
        raise ValueError(f"activation {shorten(raw)}")
    return raw


def _padding(raw: Any) -> str:
    if raw not in PADDINGS:
        raise ValueError(f"padding {shorten(raw)}")
    return str(raw)


def layer_spec(class_name: str, cfg: dict[str, Any]) -> LayerSpec:
    """The :class:`LayerSpec` for one Keras layer config.

    Raises:
        ValueError: a setting the designer cannot show (named in the message).
    """
    if class_name == "Dense":
        l1, l2 = _regularizer(cfg.get("kernel_regularizer"))
        return LayerSpec(
            "Dense",
            units=int(cfg["units"]),
            activation=_activation(cfg.get("activation", "linear")),
            initializer=_initializer(cfg.get("kernel_initializer")),
            l1=l1,
            l2=l2,
        )
    if class_name == "Conv2D":
        if _square(cfg.get("dilation_rate", 1), "dilation rate") != 1 or cfg.get("groups", 1) != 1:
            raise ValueError("dilated or grouped convolution")
        l1, l2 = _regularizer(cfg.get("kernel_regularizer"))
        return LayerSpec(
            "Conv2D",
            filters=int(cfg["filters"]),
            kernel_size=_square(cfg["kernel_size"], "kernel size"),
            strides=_square(cfg.get("strides", 1), "strides"),
            padding=_padding(cfg.get("padding", "valid")),
            activation=_activation(cfg.get("activation", "linear")),
            initializer=_initializer(cfg.get("kernel_initializer")),
            l1=l1,
            l2=l2,
        )
    if class_name in ("MaxPooling2D", "AveragePooling2D"):
        pool = _square(cfg.get("pool_size", 2), "pool size")
        strides = cfg.get("strides")
        if strides is not None and _square(strides, "strides") != pool:
            raise ValueError(f"strides {shorten(strides)} differ from the pool size")
        return LayerSpec(class_name, pool_size=pool, padding=_padding(cfg.get("padding", "valid")))
    if class_name == "Dropout":
        return LayerSpec("Dropout", rate=float(cfg.get("rate", 0.0)))
    if class_name in ("Flatten", "GlobalAveragePooling2D", "BatchNormalization"):
        return LayerSpec(class_name)
    raise ValueError("not a layer type the designer has")


def layer_specs(model: Any) -> tuple[LayerSpec, ...]:
    """The designer's layer stack for a loaded Keras model (its ``InputLayer`` skipped).

    Raises:
        ModelFileError: naming every layer the designer cannot show, and why.
    """
    specs: list[LayerSpec] = []
    problems: list[str] = []
    for layer in getattr(model, "layers", []):
        class_name = type(layer).__name__
        if class_name in SKIPPED:
            continue
        label = f"{clip(str(layer.name), 80)} ({class_name})"
        if class_name not in LAYER_TYPES:
            problems.append(label)
            continue
        try:
            specs.append(layer_spec(class_name, dict(layer.get_config())))
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ModelFileError(
            "the designer cannot show these layers: " + "; ".join(problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            + ". The model can still be used to read drawings."
        )
    if not specs:
        raise ModelFileError("the model has no layers the designer can show")
    return tuple(specs)
