"""Layer health inside the training step: dead ReLU units and saturated sigmoid/tanh units.

The training step (:class:`model.builder.InstrumentedModel`) already runs one forward
pass per batch. :class:`ActivationTap` makes that one pass also hand back the outputs
of the layers whose health is measured: it is a functional model over the *same* layer
objects as the inference model (``keras.Model(inner.input, [inner.output, *taps])``),
so calling it instead of the inference model computes the prediction and the tapped
activations in one go, with the same weights, gradients and regularization losses.
It is kept out of Keras's object tracking (see the builder), so it is never saved.

Two figures per tapped layer, each a handful of operations on a tensor the backward pass
keeps in memory anyway (the training step takes them on the steps it measures weight
norms: every tenth, see :mod:`model.probe`):

- **dead ReLU units** (:meth:`ActivationTap.dead_shares`): the share of a ReLU layer's units whose
  output is exactly 0 for every sample in the batch (for a convolution, a unit is a
  channel: 0 at every position of every sample). Such a unit passes back no gradient
  for this batch; one dead for every batch has stopped learning for good. The share
  depends on the batch size: with a single sample about half the units of a healthy
  layer are 0, so read it for batches of a few dozen samples or more.
- **saturated units** (:func:`saturated_share`): the share of a sigmoid or tanh layer's
  outputs (units x samples) that sit so close to an asymptote that the activation's
  slope there is under :data:`SATURATION_SLOPE` (a tenth) of its peak slope. For both
  activations that is ``|a - centre| > half_range * sqrt(1 - SATURATION_SLOPE)``:
  sigmoid outputs below 0.0257 or above 0.9743, tanh outputs beyond ±0.9487. Gradients
  through a saturated unit shrink at least tenfold, which is how deep sigmoid stacks
  make their early layers' gradients vanish.

Layers with other activations (leaky ReLU, ELU, GELU, softmax, linear) and layers
without one (batch normalization) get no figure: the arrays the probe hands out carry
NaN there. Which activation a layer has is read from its Keras config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import keras
import numpy as np
import tensorflow as tf

SATURATION_SLOPE: Final = 0.1
"""A sigmoid/tanh output counts as saturated where the slope is under this share of its peak."""

# |a - centre| beyond this share of the half range is saturated (see the module docstring).
_SATURATED_OFFSET: Final = math.sqrt(1.0 - SATURATION_SLOPE)
# (centre, half range) of the saturating activations' outputs.
_SATURATING: Final = {"sigmoid": (0.5, 0.5), "tanh": (0.0, 1.0)}


def activation_name(layer: keras.layers.Layer) -> str:
    """The name of ``layer``'s activation as its config says it (``""`` when it has none)."""
    try:
        name = layer.get_config().get("activation")
    except (NotImplementedError, TypeError):
        return ""
    return name if isinstance(name, str) else ""


def saturated_share(activations: tf.Tensor, activation: str) -> tf.Tensor:
    """The share of outputs of a ``sigmoid`` or ``tanh`` layer that are saturated."""
    centre, half_range = _SATURATING[activation]
    saturated = tf.abs(activations - centre) > half_range * _SATURATED_OFFSET
    return tf.reduce_mean(tf.cast(saturated, tf.float32))


@dataclass
class ActivationTap:
    """The inference model's forward pass, also returning the activations whose health is measured.

    Attributes:
        model: the functional model ``x -> [prediction, *tapped outputs]``, or ``None`` when
            the inference model has no symbolic input to build it from (then nothing is tapped).
        relu: positions (among the tracked layers) of the ReLU layers, in stack order.
        saturating: positions and activation names of the sigmoid/tanh layers.
    """

    model: keras.Model | None
    relu: tuple[int, ...]
    saturating: tuple[tuple[int, str], ...]
    # (ReLU layers x their units, concatenated): 1/units where a unit is the layer's.
    unit_shares: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @classmethod
    def create(cls, inner: keras.Model, tracked: list[keras.layers.Layer]) -> ActivationTap:
        """Tap the ReLU, sigmoid and tanh layers among ``tracked`` (the layers with weights)."""
        names = [activation_name(layer) for layer in tracked]
        relu = tuple(i for i, name in enumerate(names) if name == "relu")
        saturating = tuple((i, name) for i, name in enumerate(names) if name in _SATURATING)
        taps = [*relu, *(i for i, _ in saturating)]
        try:
            inputs = inner.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not taps or not inputs:
            return cls(None, (), ())
        outputs = [inner.outputs[0], *(tracked[i].output for i in taps)]
        units = [int(tracked[i].output.shape[-1]) for i in relu]
        unit_shares = np.zeros((len(units), sum(units)), np.float32)
        for row, (start, count) in enumerate(zip(np.cumsum([0, *units])[:-1], units, strict=True)):
            unit_shares[row, start : start + count] = 1.0 / count
        return cls(keras.Model(inputs[0], outputs, name="activation_tap"), relu, saturating, unit_shares)

    def __call__(self, inner: keras.Model, x: tf.Tensor, training: bool) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """``(prediction, tapped activations)`` from one forward pass."""
        if self.model is None:
            return inner(x, training=training), []
        prediction, *activations = self.model(x, training=training)
        return prediction, activations

    def dead_shares(self, activations: list[tf.Tensor]) -> tf.Tensor:
        """The dead share of each ReLU layer (the first ``len(relu)`` activations).

        ReLU outputs are never negative, so a unit is dead exactly when its outputs sum
        to 0. The sums are matrix products (``onesᵀ @ outputs``, one ``ones`` for every
        dense layer), and the shares one product with a constant (layers x units) matrix
        of ``1/units`` (measured on every step of an MLP, a ``reduce_max`` over the batch
        per layer cost about 4% of the step; these products too little to tell from noise).
        """
        tapped = activations[: len(self.relu)]
        if not tapped:
            return tf.zeros((0,), tf.float32)
        sums, dense_ones = [], None
        for a in tapped:
            flat = a if a.shape.rank == 2 else tf.reshape(a, (-1, a.shape[-1]))
            if a.shape.rank == 2 and dense_ones is not None:
                ones = dense_ones
            else:
                ones = tf.ones_like(flat[:, :1])
                dense_ones = ones if a.shape.rank == 2 else dense_ones
            sums.append(tf.matmul(ones, flat, transpose_a=True))
        dead = tf.cast(tf.concat(sums, axis=1)[0] <= 0.0, tf.float32)
        return tf.linalg.matvec(tf.constant(self.unit_shares), dead)

    def saturated_shares(self, activations: list[tf.Tensor]) -> tf.Tensor:
        """The saturated share of each sigmoid/tanh layer (the activations after the ReLU ones)."""
        tapped = activations[len(self.relu) :]
        values = [saturated_share(a, name) for a, (_, name) in zip(tapped, self.saturating, strict=True)]
        return tf.stack(values) if values else tf.zeros((0,), tf.float32)
