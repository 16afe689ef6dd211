"""What the network looked at: a saliency map for its answer, and its first feature maps.

:func:`make_explainer` compiles, for one Keras model, a function that answers a batch with
an :class:`Explanation`: the class probabilities, a saliency map of the input's shape, and
for convolutional models the first layers' feature maps, all from one forward and one
backward pass (so explaining costs about what predicting costs, not twice as much).

- **Convolutional models: Grad-CAM** (Selvaraju et al. 2017). The gradient of the answer's
  score with respect to the last convolutional layer's output, averaged over each
  channel, weighs that channel's map; their weighted sum, kept where positive, is scaled up
  to the input's size. It shows which regions the evidence for the answer came from.
- **Dense models: gradient x input.** The gradient of the score with respect to each input
  pixel, times the pixel, kept where positive: the ink that pushed towards the answer.

The score is the answer's *logit* when the last layer is a ``Dense`` (its pre-activation,
worked out from its kernel), because a softmax probability near 1 has a vanishing
gradient and would show nothing where the network is most sure. Each map is scaled to
[0, 1] per drawing; where the gradient is zero everywhere (an empty canvas, a constant
image) the map is all zeros, never NaN.

Keras models are not thread-safe: call the explainer only in the thread that owns the
model (the session's Keras worker, or a run's thread through its
:class:`~model.events.PredictionMailbox`). TensorFlow is imported when the explainer is
first made.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from model.errors import ProjectError

GRAD_CAM: Final = "Grad-CAM"
GRADIENT_X_INPUT: Final = "gradient × input"
FEATURE_LAYERS: Final = 2
"""How many of the first convolutional layers show their feature maps."""
FEATURE_MAPS: Final = 8
"""How many channels of each of those layers are shown (the first ones, so the same maps
are shown for every drawing and can be compared)."""


@dataclass(frozen=True, eq=False)
class FeatureMaps:
    """The first channels of one convolutional layer's output.

    Attributes:
        layer: The layer's name.
        maps: ``(batch, height, width, k)`` activations, ``k <= FEATURE_MAPS``.
        channels: How many channels the layer has in all.
    """

    layer: str
    maps: NDArray[np.float32]
    channels: int


@dataclass(frozen=True, eq=False)
class Explanation:
    """A model's answer for a batch, and what it looked at.

    Attributes:
        probabilities: ``(batch, classes)``, what predicting would give.
        saliency: The input's shape, in [0, 1] (finite): where the evidence for the answer
            came from.
        explained: ``(batch,)``: the class each saliency map is for (the answer).
        method: :data:`GRAD_CAM` or :data:`GRADIENT_X_INPUT`.
        layer: The convolutional layer Grad-CAM looked at ("" for gradient x input).
        feature_maps: The first convolutional layers' first maps (empty for dense models).
    """

    probabilities: NDArray[np.float32]
    saliency: NDArray[np.float32]
    explained: NDArray[np.int64]
    method: str
    layer: str = ""
    feature_maps: tuple[FeatureMaps, ...] = ()

    def saliency_image(self, row: int = 0) -> NDArray[np.float32]:
        """Row ``row``'s saliency as a square image (a flat 784 becomes 28x28)."""
        values: NDArray[np.float32] = np.asarray(self.saliency[row], dtype=np.float32)
        if values.ndim == 3 and values.shape[-1] == 1:
            values = values[..., 0]
        elif values.ndim == 1:
            side = math.isqrt(values.size)
            values = values.reshape(side, side) if side * side == values.size else values[None, :]
        return values.reshape(values.shape[0], -1)


Explainer = Callable[[np.ndarray], Explanation]


def _image_grid(input_shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The input's (height, width) when it is one grayscale image, flat or not."""
    if len(input_shape) == 3 and input_shape[-1] == 1:
        return input_shape[0], input_shape[1]
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1]
    if len(input_shape) == 1:
        side = math.isqrt(input_shape[0])
        if side * side == input_shape[0]:
            return side, side
    return None


def make_explainer(model: Any) -> Explainer:
    """A compiled function that explains ``model``'s answers (see the module docstring).

    Call it only from the thread that owns ``model``; the first call traces the function
    (a second or two), later ones cost about a prediction.

    Raises:
        ProjectError: the model has several inputs or outputs, or an input of unknown size.
    """
    import keras
    import tensorflow as tf

    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ProjectError("only models with one input and one output can show what they looked at")
    input_shape = tuple(model.inputs[0].shape[1:])
    if any(d is None for d in input_shape):
        raise ProjectError(f"the model's input {input_shape} has no fixed size; saliency needs one")
    convs = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D) and len(layer.output.shape) == 4
    ]
    grid = _image_grid(tuple(int(d) for d in input_shape))
    cam = convs[-1] if convs and grid is not None else None
    features = convs[:FEATURE_LAYERS]
    head = model.layers[-1]
    dense_head = isinstance(head, keras.layers.Dense)
    outputs = [layer.output for layer in features]
    if cam is not None:
        outputs.append(cam.output)
    if dense_head:
        outputs.append(head.input)
    outputs.append(model.outputs[0])
    inner = keras.Model(model.inputs, outputs)
    n_features, has_cam = len(features), cam is not None

    def per_sample_unit(values: Any) -> Any:
        """Scale each sample's map to [0, 1] by its maximum; all zeros where that is 0."""
        axes = list(range(1, len(values.shape)))
        peak = tf.reduce_max(values, axis=axes, keepdims=True)
        return tf.where(peak > 0, values / tf.maximum(peak, 1e-12), tf.zeros_like(values))

    @tf.function(reduce_retracing=True)  # type: ignore[untyped-decorator]
    def explain(x: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(x)
            found = inner(x, training=False)
            found = found if isinstance(found, (list, tuple)) else [found]
            maps = found[:n_features]
            rest = list(found[n_features:])
            activations = rest.pop(0) if has_cam else None
            probabilities = rest[-1]
            if dense_head:
                logits = tf.matmul(rest[0], head.kernel)
                if head.use_bias:
                    logits = logits + head.bias
            else:
                logits = probabilities
            answer = tf.argmax(probabilities, axis=1, output_type=tf.int32)
            score = tf.reduce_sum(tf.gather(logits, answer, axis=1, batch_dims=1))
        if activations is not None:
            gradient = tape.gradient(score, activations)
            weights = tf.reduce_mean(gradient, axis=(1, 2), keepdims=True)
            heat = tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1, keepdims=True))
            heat = tf.image.resize(heat, grid, method="bilinear")
            saliency = tf.reshape(per_sample_unit(heat), tf.shape(x))
        else:
            gradient = tape.gradient(score, x)
            saliency = per_sample_unit(tf.nn.relu(gradient * x))
        return probabilities, saliency, answer, [m[..., :FEATURE_MAPS] for m in maps]

    names = [layer.name for layer in features]
    channels = [int(layer.output.shape[-1]) for layer in features]
    method, layer_name = (GRAD_CAM, cam.name) if cam is not None else (GRADIENT_X_INPUT, "")

    def run(x: np.ndarray) -> Explanation:
        probabilities, saliency, answer, maps = explain(tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))
        return Explanation(
            probabilities=np.asarray(probabilities, dtype=np.float32),
            saliency=np.nan_to_num(np.asarray(saliency, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0),
            explained=np.asarray(answer, dtype=np.int64),
            method=method,
            layer=layer_name,
            feature_maps=tuple(
                FeatureMaps(name, np.nan_to_num(np.asarray(m, dtype=np.float32)), count)
                for name, m, count in zip(names, maps, channels, strict=True)
            ),
        )

    return run
