"""Turn a :class:`~model.config.RunConfig` into Keras objects.

Two models come out of a configuration:

- the *inference model* (:func:`build_inference_model`): a plain ``keras.Sequential`` of
  standard layers. It is what gets saved, so it loads with
  ``keras.saving.load_model(..., safe_mode=True)`` in a process that has never imported
  this project;
- the *training model* (:class:`InstrumentedModel`): a thin wrapper around the inference
  model whose training step also records each layer's gradient norms from the gradients
  it already computes (no second backward pass) and, every :data:`WEIGHT_NORM_EVERY`-th
  step, the weight norms and the layer health, and applies optional data augmentation.
  Its ``test_step`` also sums the validation pass's confusion matrix from the predictions
  it makes anyway. None of that machinery is part of the saved model.

Why two traced steps, chosen per batch in Python (:meth:`InstrumentedModel.make_train_function`),
rather than one step that branches in the graph: on a CPU every op of a step costs a few
microseconds of executor time, and a ``tf.switch_case`` between "measure", "copy the
weights" and "carry over" cost several per cent of an MLP step on every step (a scratch
profile, one thread, interleaved blocks of steps, put it near 6%), the cheap ones
included. Now nine steps in ten run :meth:`~InstrumentedModel.train_step`, which adds to
Keras's own step only the gradient norms, the batch's accuracy and two writes to the
probe; the tenth runs :meth:`~InstrumentedModel.measuring_train_step`, which also reads
the weights before the optimizer's update in the same step, so the update
``W_after - W_before`` needs no copy of the weights kept between steps.

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

# The keys under which a training step returns its probe rows (see model.probe); the train
# function takes them out of the logs before Keras sees them.
FAST_ROW = "probe_fast_row"
SLOW_ROW = "probe_slow_row"

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
    norms are a few reductions over tensors already in memory. Two training steps, each
    traced once (see the module docstring for why), are chosen per batch by the Python
    side of :meth:`make_train_function` from the optimizer's step counter:

    - :meth:`train_step` (nine steps in ten): Keras's step, plus this batch's loss,
      accuracy and per-layer gradient norms written to the probe;
    - :meth:`measuring_train_step` (the steps whose counter before the update is a
      multiple of :data:`WEIGHT_NORM_EVERY`, the first included): also the weight norms,
      the update size ``‖ΔW‖`` (the weights after the optimizer's update minus the same
      weights read before it, in the same step, so it is right for every optimizer:
      Adam's normalised steps, momentum, weight decay), and, through an
      :class:`~model.health.ActivationTap` that makes the one forward pass also return
      the ReLU, sigmoid and tanh layers' outputs, the dead and saturated shares of that
      batch.

    Results go to a :class:`TrainingProbe`, which the streaming callback reads at its
    reporting interval.
    """

    train_function: Any  # Keras's attribute; see make_train_function

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
        probe.attach_health(self._tap.relu, tuple(i for i, _ in self._tap.saturating))
        # The optimizer's step counter as the Python side of the train function counts it
        # (None: read it from the optimizer before the next step; see make_train_function).
        self._steps_done: int | None = None
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

    def make_train_function(self, force: bool = False) -> Any:
        """Keras's train function, running :meth:`measuring_train_step` when a measurement is due.

        Keras's TensorFlow trainer turns a step into a function of the data iterator with
        its private ``_make_function`` (``steps_per_execution``, the distribution strategy,
        ``tf.function`` unless ``run_eagerly``; the same in Keras 3.14 and 3.15); both
        steps go through it, so each is traced the way Keras traces its own. The choice is
        made in Python, per call, from the optimizer's step counter counted along: read
        from the optimizer once per ``fit`` (Keras calls this method at the start of each,
        so a resumed run or a restored optimizer is counted from where it is), and before
        every call when a call runs several steps (``steps_per_execution > 1``: the last
        call of an epoch may run fewer). Such a call measures all its steps when one of
        them is due.
        """
        self._steps_done = None
        if self.train_function is not None and not force:
            return self.train_function
        plain = self._make_function(self.train_step)
        measuring = self._make_function(self.measuring_train_step)
        per_call = int(self.steps_per_execution)

        def train_function(iterator: Any) -> Any:
            step = self._steps_done
            if step is None or per_call > 1:
                step = int(self.optimizer.iterations.numpy())
            # Due: a step of this call whose counter before its update is a multiple of the period.
            due = -(-step // WEIGHT_NORM_EVERY) * WEIGHT_NORM_EVERY < step + per_call
            logs = (measuring if due else plain)(iterator)
            self._steps_done = step + 1 if per_call == 1 else None
            self._probe.take(logs.pop(FAST_ROW), logs.pop(SLOW_ROW, None))
            return logs

        self.train_function = train_function
        return train_function

    def _head(self, loss: tf.Tensor, y: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """``[loss, accuracy]`` of this batch (Keras's metrics hold running means)."""
        correct = tf.cast(tf.equal(tf.argmax(y_pred, axis=-1), tf.argmax(y, axis=-1)), tf.float32)
        return tf.stack([tf.cast(loss, tf.float32), tf.reduce_mean(correct)])

    def train_step(self, data: Any) -> Any:
        """Keras's step plus this batch's loss, accuracy and gradient norms (see :mod:`model.probe`)."""
        x, y = data[0], data[1]
        x = self._augment_batch(x)
        with tf.GradientTape() as tape:
            y_pred = self.inner(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
        weights = self.inner.trainable_weights
        grads = tape.gradient(loss, weights)
        self.optimizer.apply_gradients(zip(grads, weights, strict=True))

        grad_norms = self._layer_norms(grads)
        self._probe.epoch_sums.assign_add(tf.concat([grad_norms, [1.0]], axis=0))
        fast = tf.concat([self._head(loss, y, y_pred), grad_norms], axis=0)
        return {**self.compute_metrics(x, y, y_pred), FAST_ROW: fast}

    def measuring_train_step(self, data: Any) -> Any:
        """:meth:`train_step`, also measuring the weight and update norms and the layer health.

        Also returns the probe's slow row ``[weight norms, update norms, saturated
        shares, dead shares]`` and adds the update norms and shares to the epoch's sums
        over measured steps.
        """
        x, y = data[0], data[1]
        x = self._augment_batch(x)
        tap = self._tap
        with tf.GradientTape() as tape:
            y_pred, activations = tap(self.inner, x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
        weights = self.inner.trainable_weights
        grads = tape.gradient(loss, weights)
        # Read before the update: TensorFlow runs the ops on one variable in program order,
        # and the update copies a weight's buffer rather than change it under this read.
        before = [tf.convert_to_tensor(w) for w in weights]
        self.optimizer.apply_gradients(zip(grads, weights, strict=True))

        probe = self._probe
        grad_norms = self._layer_norms(grads)
        after = [tf.convert_to_tensor(w) for w in weights]
        updates = self._layer_norms([new - old for new, old in zip(after, before, strict=True)])
        shares = [tap.saturated_shares(activations), tap.dead_shares(activations)]
        probe.epoch_sums.assign_add(tf.concat([grad_norms, [1.0]], axis=0))
        probe.slow_sums.assign_add(tf.concat([updates, *shares, [1.0]], axis=0))
        fast = tf.concat([self._head(loss, y, y_pred), grad_norms], axis=0)
        slow = tf.concat([self._layer_norms(after), updates, *shares], axis=0)
        return {**self.compute_metrics(x, y, y_pred), FAST_ROW: fast, SLOW_ROW: slow}

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
