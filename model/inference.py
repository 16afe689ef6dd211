"""Fit inputs to a model's expected shape, and check a model can read digits at all."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from model.errors import ModelFileError, ProjectError


def model_input_shape(model: Any) -> tuple[int, ...]:
    """The per-sample input shape of a Keras model, e.g. ``(28, 28, 1)`` or ``(784,)``."""
    shape = model.input_shape
    if isinstance(shape, list):
        raise ModelFileError("the model has several inputs; only single-input models are supported")
    return tuple(int(d) if d is not None else -1 for d in shape[1:])


def adapt_batch(x: np.ndarray, model: Any) -> np.ndarray:
    """Reshape a batch of images to the model's input: image (28, 28, 1) or flat (784)."""
    want = model_input_shape(model)
    have = tuple(x.shape[1:])
    if have == want:
        return x
    if -1 not in want and math.prod(want) == math.prod(have):
        return np.reshape(x, (len(x), *want))
    raise ProjectError(
        f"the model expects input {want} but the data is {have}; use a model made for these images"
    )


def check_digit_model(model: Any, num_classes: int = 10) -> None:
    """Raise :class:`ModelFileError` unless the model takes 28x28 (or 784) and gives ``num_classes``."""
    shape = model_input_shape(model)
    if math.prod(d for d in shape if d > 0) != 784 or len(shape) not in (1, 2, 3) or (len(shape) == 3 and shape[-1] != 1):
        raise ModelFileError(
            f"the model expects input {shape}, but drawings give a 28x28 grayscale image "
            "(a model with input (28, 28, 1), (28, 28) or (784,) fits)"
        )
    out = model.output_shape
    if isinstance(out, list) or out[-1] != num_classes:
        raise ModelFileError(f"the model gives {out[1:] if not isinstance(out, list) else 'several outputs'}, "
                             f"but digit classification needs {num_classes} class scores")
