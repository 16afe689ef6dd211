"""Turn a :class:`~model.config.RunConfig` into Keras objects.

Two models come out of a configuration:

- the *inference model* (:func:`build_inference_model`): a plain ``keras.Sequential`` of
  standard layers. It is what gets saved, so it loads with
  ``keras.saving.load_model(..., safe_mode=True)`` in a process that has never imported
  this project;
- the *training model* (:class:`InstrumentedModel`): a thin wrapper around the inference
  model whose ``train_step`` also records each layer's gradient and weight norms from the
  gradients it already computes (no second backward pass), and applies optional data
  augmentation. Its ``test_step`` also sums the validation pass's confusion matrix from
  the predictions it makes anyway. None of that machinery is part of the saved model.

The stack is checked with :func:`model.shapes.analyze` before anything is built, so an
impossible stack fails with the per-layer message and fix, never with a Keras trace.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from model.augment import distort, vary_stroke_width
from model.config import AugmentationSpec, LayerSpec, OptimizerSpec, RunConfig
from model.errors import BuildError
from model.health import ActivationTap
from model.probe import MEASURE_EVERY, ProbeReading, TrainingProbe

__all__ = [
    "LOSS_FUNCTIONS",
    "WEIGHT_NORM_EVERY",
    "InstrumentedModel",
    "ProbeReading",
    "TrainingProbe",
    "build_inference_model",
    "check_stack",
    "make_loss",
    "make_optimizer",
    "one_hot",
    "tracked_layers",
]
from model.shapes import Shape, analyze, layer_name

# How often (in steps) the training step refreshes the per-layer weight norms (and the
# other slow figures: update norms, saturation; see model.probe).
WEIGHT_NORM_EVERY = MEASURE_EVERY

LOSS_FUNCTIONS: dict[str, str] = {
    "crossentropy": "categorical_crossentropy",
    "mse": "mean_squared_error",
    "hinge": "categorical_hinge",
}


def check_stack(config: RunConfig, input_shape: Shape, num_classes: int) -> None:
    """Raise :class:`BuildError` naming the first impossible layer and its fix."""
    report = analyze(config.layers, input_shape, num_classes, config.loss)
    if report.problems:
        problem = report.problems[0]
        hint = f" (suggested fix: {problem.fix.label})" if problem.fix else ""
        raise BuildError(f"the layer stack cannot be built: {problem.message}{hint}")


def _regularizer(spec: LayerSpec, config: RunConfig) -> keras.regularizers.Regularizer | None:
    l1 = config.l1 if spec.l1 is None else spec.l1
    l2 = config.l2 if spec.l2 is None else spec.l2
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def _make_layer(index: int, spec: LayerSpec, config: RunConfig) -> keras.layers.Layer:
    name = layer_name(index, spec)
    initializer = spec.initializer or config.initializer
    if spec.type == "Dense":
        return keras.layers.Dense(
            spec.units,
            activation=spec.activation,
            kernel_initializer=initializer,
            kernel_regularizer=_regularizer(spec, config),
            name=name,
        )
    if spec.type == "Conv2D":
        return keras.layers.Conv2D(
            spec.filters,
            spec.kernel_size,
            strides=spec.strides,
            padding=spec.padding,
            activation=spec.activation,
            kernel_initializer=initializer,
            kernel_regularizer=_regularizer(spec, config),
            name=name,
        )
    if spec.type == "MaxPooling2D":
        return keras.layers.MaxPooling2D(spec.pool_size, padding=spec.padding, name=name)
    if spec.type == "AveragePooling2D":
        return keras.layers.AveragePooling2D(spec.pool_size, padding=spec.padding, name=name)
    if spec.type == "GlobalAveragePooling2D":
        return keras.layers.GlobalAveragePooling2D(name=name)
    if spec.type == "Flatten":
        return keras.layers.Flatten(name=name)
    if spec.type == "Dropout":
        return keras.layers.Dropout(spec.rate, seed=config.seed + index, name=name)
    if spec.type == "BatchNormalization":
        return keras.layers.BatchNormalization(name=name)
    raise BuildError(f"layer {index + 1}: unsupported layer type {spec.type!r}")


def build_inference_model(config: RunConfig, input_shape: Shape, num_classes: int) -> keras.Sequential:
    """A plain, saveable ``keras.Sequential`` for ``config``'s layer stack.

    Weights are initialised reproducibly from ``config.seed``.
    """
    check_stack(config, input_shape, num_classes)
    keras.utils.set_random_seed(config.seed)
    layers: list[Any] = [keras.Input(shape=tuple(input_shape), name="image")]
    layers += [_make_layer(i, spec, config) for i, spec in enumerate(config.layers)]
    return keras.Sequential(layers, name=_model_name(config.name))


def _model_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name).strip("_")
    return cleaned[:60] or "model"


def make_optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer:
    """The Keras optimizer for ``spec``; only the parameters that apply are passed."""
    common: dict[str, Any] = {"learning_rate": spec.learning_rate}
    if spec.clipnorm is not None:
        common["clipnorm"] = spec.clipnorm
    if spec.weight_decay > 0:
        common["weight_decay"] = spec.weight_decay
    if spec.name == "sgd":
        return keras.optimizers.SGD(momentum=spec.momentum, nesterov=spec.nesterov, **common)
    if spec.name in ("adam", "adamw", "nadam", "adamax"):
        cls = {
            "adam": keras.optimizers.Adam,
            "adamw": keras.optimizers.AdamW,
            "nadam": keras.optimizers.Nadam,
            "adamax": keras.optimizers.Adamax,
        }[spec.name]
        if spec.name == "adamw":
            common.setdefault("weight_decay", 0.0)
        return cls(beta_1=spec.beta_1, beta_2=spec.beta_2, epsilon=spec.epsilon, **common)
    if spec.name == "rmsprop":
        return keras.optimizers.RMSprop(rho=spec.rho, momentum=spec.momentum, epsilon=spec.epsilon, **common)
    if spec.name == "adagrad":
        return keras.optimizers.Adagrad(epsilon=spec.epsilon, **common)
    raise BuildError(f"optimizer.name: unsupported optimizer {spec.name!r}")


def make_loss(name: str) -> str:
    """The Keras loss identifier; every loss takes one-hot targets."""
    return LOSS_FUNCTIONS[name]


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels as float32 one-hot rows (all losses here use one-hot targets)."""
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return out


def tracked_layers(inner: keras.Model) -> list[keras.layers.Layer]:
    """The layers whose gradients and weights are reported: those with trainable weights."""
    return [layer for layer in inner.layers if layer.trainable_weights]


def _augmenter(spec: AugmentationSpec, seed: int) -> keras.Sequential | None:
    """In-graph augmentation for image batches, used only by the training step."""
    if not spec.enabled:
        return None
    layers: list[Any] = []
    if spec.shift > 0:
        layers.append(
            keras.layers.RandomTranslation(spec.shift, spec.shift, fill_mode="constant", seed=seed)
        )
    if spec.rotation > 0:
        layers.append(keras.layers.RandomRotation(spec.rotation / 360.0, fill_mode="constant", seed=seed + 1))
    if spec.zoom > 0:
        layers.append(
            keras.layers.RandomZoom((-spec.zoom, spec.zoom), fill_mode="constant", seed=seed + 2)
        )
    return keras.Sequential(layers, name="augmentation") if layers else None


class InstrumentedModel(keras.Model):  # type: ignore[misc]
    """Trains ``inner`` and records per-layer gradient and weight norms and layer health on the way.

    The gradients come from the one ``tape.gradient`` call that the update itself needs;
    norms are a few reductions over tensors already in memory. The forward pass is the
    inference model's own, through an :class:`~model.health.ActivationTap` that also
    returns the ReLU, sigmoid and tanh layers' outputs, so dead and saturated units cost a
    few reductions per layer, not a second pass. The update size ``‖ΔW‖`` is the applied
    update itself (the weights after the optimizer step minus a copy taken before it), so
    it is right for every optimizer (Adam's normalised steps, momentum, weight decay); the
    copy and the full passes over the weights (and the saturation test) are made every
    :data:`WEIGHT_NORM_EVERY` steps only. Results go to a :class:`TrainingProbe`, which the streaming callback reads
    at its reporting interval.
    """

    def __init__(
        self,
        inner: keras.Model,
        probe: TrainingProbe,
        augmentation: AugmentationSpec | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(name="trainer")
        self.inner = inner
        self._probe = probe
        layers = tracked_layers(inner)
        # The squared norm of a layer is the sum over its weights' squared norms: one
        # product of their per-tensor sums with this (layers x tensors) 0/2 matrix
        # (2: l2_loss is sum(t**2) / 2), instead of an add_n, a product and a root per layer.
        ids = {id(v): i for i, v in enumerate(inner.trainable_weights)}
        self._norm_matrix = np.zeros((len(layers), len(ids)), dtype=np.float32)
        for row, layer in enumerate(layers):
            self._norm_matrix[row, [ids[id(v)] for v in layer.trainable_weights]] = 2.0
        # A plain dataclass, like the probe, so Keras's attribute tracking does not look into
        # it: its functional model shares the inference model's layers and must not be
        # saved or counted a second time.
        self._tap = ActivationTap.create(inner, layers)
        probe.attach_health(self._tap.relu, tuple(i for i, _ in self._tap.saturating), list(inner.trainable_weights))
        # Pen-width variation and elastic distortion (model.augment), with their own seed.
        # With elastic distortion, the shift, rotation and zoom join it in one resampling.
        on = augmentation is not None and augmentation.enabled and len(inner.input_shape) == 4
        self._spec = augmentation if on else None
        self._elastic = on and augmentation is not None and augmentation.elastic > 0
        self._augment = (
            _augmenter(augmentation, seed)
            if augmentation is not None and len(inner.input_shape) == 4 and not self._elastic
            else None
        )
        self._thickness = augmentation.thickness if augmentation is not None and augmentation.enabled else 0.0
        self._distortion_seed = keras.random.SeedGenerator(seed + 3) if on else None

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.inner(inputs, training=training)

    def _augment_batch(self, x: tf.Tensor) -> tf.Tensor:
        spec = self._spec
        if self._elastic and spec is not None:
            x = distort(
                x,
                shift=spec.shift,
                degrees=spec.rotation,
                zoom=spec.zoom,
                alpha=spec.elastic,
                sigma=spec.elastic_sigma,
                seed=self._distortion_seed,
            )
        elif self._augment is not None:
            x = self._augment(x, training=True)
        if spec is not None and (self._augment is not None or self._elastic):
            if self._thickness > 0:
                # Thicken (grey dilation) or thin (erosion) a random share of the strokes.
                thick = tf.nn.max_pool2d(x, 3, 1, "SAME")
                thin = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
                pick = tf.random.uniform((tf.shape(x)[0], 1, 1, 1))
                half = self._thickness / 2.0
                x = tf.where(pick < half, thick, tf.where(pick < self._thickness, thin, x))
            if spec.stroke_width > 0:
                x = vary_stroke_width(x, spec.stroke_width, self._distortion_seed)
        return x

    def _layer_norms(self, tensors: Any) -> tf.Tensor:
        """The L2 norm over each tracked layer's tensors, in the order of ``inner.trainable_weights``."""
        halves = tf.stack([tf.nn.l2_loss(t) for t in tensors])
        return tf.sqrt(tf.linalg.matvec(tf.constant(self._norm_matrix), halves))

    def _measure(self, weights: list[Any], activations: list[tf.Tensor]) -> tf.Tensor:
        """The slow figures now: ``[‖W‖..., ‖W - snapshot‖... per layer, saturated shares..., dead shares...]``."""
        probe = self._probe
        updates = self._layer_norms([w - copy for w, copy in zip(weights, probe.snapshot, strict=True)])
        shares = [self._tap.saturated_shares(activations), self._tap.dead_shares(activations)]
        probe.slow_sums.assign_add(tf.concat([updates, *shares, [1.0]], axis=0))
        return tf.concat([self._layer_norms(weights), updates, *shares], axis=0)

    def _copy_weights(self, weights: list[Any], step: tf.Tensor) -> tf.Tensor:
        """Copy the weights for the next step's update; the slow figures carry over."""
        probe = self._probe
        for copy, weight in zip(probe.snapshot, weights, strict=True):
            copy.assign(weight)
        assert probe.snapshot_step is not None
        probe.snapshot_step.assign(step)
        return probe.batch_stats[probe.slow]

    def train_step(self, data: Any) -> Any:
        x, y = data[0], data[1]
        x = self._augment_batch(x)
        tap = self._tap
        with tf.GradientTape() as tape:
            y_pred, activations = tap(self.inner, x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
        weights = self.inner.trainable_weights
        grads = tape.gradient(loss, weights)
        self.optimizer.apply_gradients(zip(grads, weights, strict=True))

        probe = self._probe
        assert probe.snapshot_step is not None
        grad_norms = self._layer_norms(grads)
        # Weights move little from one batch to the next, so the slow figures (weight and
        # update norms: full passes over every weight; the dead and saturated shares of
        # that step's batch) are measured on every WEIGHT_NORM_EVERY-th step, the first
        # included, and carried over in between; epoch-end weight norms are exact (see
        # StreamingCallback). The update is measured against a copy of the weights taken
        # after the step before (one switch per step: measure, copy, or carry over).
        step = self.optimizer.iterations  # after this step's update
        branch = tf.where(
            tf.equal(step - 1, probe.snapshot_step), 0, tf.where(tf.equal(step % WEIGHT_NORM_EVERY, 0), 1, 2)
        )
        slow = tf.switch_case(
            tf.cast(branch, tf.int32),
            [
                lambda: self._measure(weights, activations),
                lambda: self._copy_weights(weights, step),
                lambda: probe.batch_stats[probe.slow],
            ],
        )
        correct = tf.cast(tf.equal(tf.argmax(y_pred, axis=-1), tf.argmax(y, axis=-1)), tf.float32)
        head = tf.stack([tf.cast(loss, tf.float32), tf.reduce_mean(correct)])
        probe.batch_stats.assign(tf.concat([head, grad_norms, slow], axis=0))
        probe.epoch_sums.assign_add(tf.concat([grad_norms, [1.0]], axis=0))
        return self.compute_metrics(x, y, y_pred)

    def test_step(self, data: Any) -> Any:
        """Keras's test step, plus the confusion matrix of its predictions (no extra pass)."""
        x, y = data[0], data[1]
        y_pred = self.inner(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
        confusion = self._probe.val_confusion
        if confusion is not None:
            confusion.assign_add(
                tf.math.confusion_matrix(
                    tf.argmax(y, axis=-1), tf.argmax(y_pred, axis=-1), num_classes=confusion.shape[0], dtype=tf.int64
                )
            )
        return self.compute_metrics(x, y, y_pred)
