"""Initialization preview: what each initializer does to the stack before any training.

For the configured stack and one fixed batch, :func:`preview_initializers` builds the model
once per initializer (the run-wide ``initializer`` of the configuration, as applying it
would set; layers that choose their own keep theirs), runs one forward and one backward
pass in training mode, and records, per layer with weights (the layers of the gradient
plots), the standard deviation of its output and the L2 norm of its gradient (the figure
the training step reports). Nothing is trained: the weights are never updated.

The judgement is made here, not in the view: :func:`verdict` turns the figures into one
sentence ("activations shrink by ~10x per layer under random normal: gradients will
vanish"), from the scale factor per layer (:func:`scale_per_layer`, the geometric mean of
each hidden layer's output spread over its input spread),
and :attr:`InitPreview.recommended` is the initializer that keeps the scale steadiest.

Runs Keras in the calling thread (a worker thread in the window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from model.catalogue import INITIALIZER_TITLES
from model.errors import DataError

if TYPE_CHECKING:
    from model.config import RunConfig

FloatArray = NDArray[np.float64]

PREVIEW_INITIALIZERS: Final = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_normal",
    "zeros",
)
"""The initializers compared, in the order shown."""


PREVIEW_BATCH: Final = 256
"""Samples in the fixed batch: the first of the training split (the split is seeded)."""

SHRINKS: Final = 1 / 1.5
GROWS: Final = 1.5
"""A scale factor per layer outside [SHRINKS, GROWS] is called shrinking or growing."""

DEAD: Final = 1e-12
"""An activation spread at or below this is no signal at all."""

GRADIENT_GAP: Final = 1e-3
"""The first layer's gradient below this share of the last layer's: early layers will crawl."""


@dataclass(frozen=True)
class InitializerPreview:
    """One initializer's figures: per layer with weights, in stack order."""

    initializer: str
    activation_std: FloatArray = field(repr=False)  # of each layer's output
    gains: FloatArray = field(repr=False)  # output spread / input spread, per layer
    grad_norms: FloatArray = field(repr=False)
    loss: float
    scale: float  # activation scale factor per hidden layer (NaN when there is none)
    verdict: str

    @property
    def title(self) -> str:
        return INITIALIZER_TITLES.get(self.initializer, self.initializer)


@dataclass(frozen=True)
class InitPreview:
    """The comparison: every initializer on the same stack and the same batch."""

    layer_names: tuple[str, ...]
    kernel_layers: tuple[bool, ...]  # Dense or Conv2D (a kernel), not batch norm
    input_std: float
    batch_size: int
    rows: tuple[InitializerPreview, ...]
    current: str  # the configuration's initializer
    overridden: tuple[str, ...] = ()  # layers whose own initializer the preview keeps

    @property
    def recommended(self) -> str | None:
        """The initializer whose activations keep their scale best (closest to x1 per layer)."""
        scored = [(abs(math.log(r.scale)), i, r.initializer) for i, r in enumerate(self.rows) if r.scale > 0]
        return min(scored)[2] if scored else None

    def row(self, initializer: str) -> InitializerPreview:
        for row in self.rows:
            if row.initializer == initializer:
                return row
        raise KeyError(initializer)

    def summary(self) -> str:
        """A few lines for people (the command line, a tooltip)."""
        lines = [f"{len(self.layer_names)} layers with weights, one batch of {self.batch_size} (input std {self.input_std:.3g})"]
        lines += [f"{row.title}: {row.verdict}" for row in self.rows]
        if self.recommended is not None:
            lines.append(f"steadiest: {INITIALIZER_TITLES.get(self.recommended, self.recommended)}")
        if self.overridden:
            lines.append(f"{', '.join(self.overridden)} keep their own initializer")
        return "\n".join(lines)


def scale_per_layer(gains: Sequence[float], stds: Sequence[float], kernel: Sequence[bool]) -> float:
    """The geometric-mean factor by which a hidden layer changes the spread of its input.

    ``gains[i]`` is layer ``i``'s output spread over its input spread. The hidden layers
    are those with a kernel except the output layer (whose softmax or linear output says
    nothing about the stack's scale); batch norm, pooling and flattening are not counted
    (batch norm resets the scale by design). The first layer's input is the data, whose
    mean and scale say as much as the initializer, so it counts only when it is the only
    hidden layer; with none, the output layer stands in. 0 when some hidden layer's output
    has no spread; NaN when nothing can be judged (the input has none).
    """
    hidden = [i for i in range(len(kernel) - 1) if kernel[i]]
    if any(stds[i] <= DEAD for i in hidden):
        return 0.0
    counted = hidden[1:] if len(hidden) >= 2 else hidden or [i for i in range(len(kernel)) if kernel[i]][-1:]
    values = [gains[i] for i in counted]
    if not values or not all(math.isfinite(v) for v in values):
        return math.nan
    if min(values) <= 0:
        return 0.0
    return float(np.exp(np.mean(np.log(values))))


def verdict(
    initializer: str,
    scale: float,
    stds: Sequence[float],
    grads: Sequence[float],
    names: Sequence[str],
    batch_norm: bool = False,
) -> str:
    """One sentence on what the figures mean for training.

    A first layer whose gradient is under :data:`GRADIENT_GAP` of the last one's says
    more than the activations do (saturating activations in a deep stack keep their
    spread but pass back almost nothing), so it comes first. ``batch_norm`` says the stack
    has batch normalization, which rescales activations during training.
    """
    title = INITIALIZER_TITLES.get(initializer, initializer)
    if scale == 0.0 or (len(stds) and max(stds) <= DEAD):
        dead = next((n for n, s in zip(names, stds, strict=True) if s <= DEAD), names[0] if names else "the first layer")
        return (
            f"activations are all zero from {dead} on under {title}: every unit of a layer computes the same "
            "thing and gets the same gradient, so the symmetry never breaks and the layers cannot learn"
        )
    if not math.isfinite(scale):
        return f"the input has no spread: {title} cannot be judged on this batch"
    if len(grads) > 1 and grads[-1] > 0 and grads[0] / grads[-1] < GRADIENT_GAP:
        share = grads[0] / grads[-1]
        how = "shrink" if scale < SHRINKS else "grow" if scale > GROWS else "keep their scale"
        return (
            f"activations {how} (x{scale:.2f} per layer) under {title}, but the first layer's gradient is "
            f"{share:.0e} of the last one's: gradients vanish on the way back and early layers will barely learn"
        )
    softened = "; the batch normalization in the stack rescales them, which softens this" if batch_norm else ""
    if scale < SHRINKS:
        return f"activations shrink by ~{1 / scale:.1f}x per layer under {title}: gradients will vanish{softened}"
    if scale > GROWS:
        return f"activations grow by ~{scale:.1f}x per layer under {title}: gradients may explode{softened}"
    return f"activations keep their scale (x{scale:.2f} per layer) under {title}: a sound start"


def _one(config: RunConfig, initializer: str, x: NDArray[Any], y: NDArray[Any], num_classes: int) -> tuple[
    tuple[str, ...], tuple[bool, ...], FloatArray, FloatArray, FloatArray, float
]:
    import keras
    import tensorflow as tf

    from model.builder import build_inference_model, make_loss, one_hot, tracked_layers

    model = build_inference_model(config.replace(initializer=initializer), tuple(x.shape[1:]), num_classes)
    tracked = tracked_layers(model)
    wanted = {id(layer) for layer in tracked}
    loss_fn = keras.losses.get(make_loss(config.loss))
    inputs: list[Any] = []
    outputs: list[Any] = []
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        for layer in model.layers:
            before = h
            h = layer(h, training=True)
            if id(layer) in wanted:
                inputs.append(before)
                outputs.append(h)
        loss = tf.reduce_mean(loss_fn(tf.constant(one_hot(y, num_classes)), h))
        if model.losses:
            loss = loss + tf.add_n(model.losses)
    weights = [layer.trainable_weights for layer in tracked]
    grads = tape.gradient(loss, [w for group in weights for w in group])
    norms, i = [], 0
    for group in weights:
        squares = [float(tf.reduce_sum(tf.square(g))) for g in grads[i : i + len(group)] if g is not None]
        norms.append(math.sqrt(sum(squares)))
        i += len(group)
    stds = np.array([float(np.std(np.asarray(o, dtype=np.float64))) for o in outputs])
    in_stds = np.array([float(np.std(np.asarray(i, dtype=np.float64))) for i in inputs])
    with np.errstate(divide="ignore", invalid="ignore"):
        gains = np.where(in_stds > DEAD, stds / np.where(in_stds > DEAD, in_stds, 1.0), np.nan)
    kernel = tuple(any(w.name == "kernel" for w in layer.trainable_weights) for layer in tracked)
    return tuple(layer.name for layer in tracked), kernel, stds, gains, np.array(norms), float(loss)


def preview_initializers(
    config: RunConfig,
    x: NDArray[Any],
    y: NDArray[Any],
    num_classes: int,
    initializers: Sequence[str] = PREVIEW_INITIALIZERS,
) -> InitPreview:
    """One forward and backward pass of the batch ``(x, y)`` under each initializer.

    Args:
        config: the stack, loss and penalties (its own ``initializer`` is replaced in turn).
        x: the fixed batch of inputs; y: its integer labels.
        num_classes: the number of classes of the data.

    Raises:
        ProjectError: the stack cannot be built for this data; the batch is empty.
    """
    if len(x) == 0:
        raise DataError("the initialization preview needs at least one training sample; check the data and split")
    rows = []
    names: tuple[str, ...] = ()
    kernel: tuple[bool, ...] = ()
    input_std = float(np.std(np.asarray(x, dtype=np.float64)))
    for name in initializers:
        names, kernel, stds, gains, grads, loss = _one(config, name, x, y, num_classes)
        scale = scale_per_layer(list(gains), list(stds), kernel)
        sentence = verdict(name, scale, list(stds), list(grads), names, batch_norm=not all(kernel))
        rows.append(InitializerPreview(name, stds, gains, grads, loss, scale, sentence))
    from model.shapes import layer_name

    overridden = tuple(
        layer_name(i, spec) for i, spec in enumerate(config.layers) if spec.initializer is not None and "initializer" in spec.params
    )
    return InitPreview(names, kernel, input_std, len(x), tuple(rows), config.initializer, overridden)


def preview_for_config(config: RunConfig, batch: int = PREVIEW_BATCH) -> InitPreview:
    """The preview on the first ``batch`` training samples of ``config``'s data and split."""
    from model.data import prepare

    split = prepare(config).split
    return preview_initializers(config, split.x_train[:batch], split.y_train[:batch], len(split.class_names))
