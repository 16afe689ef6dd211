"""The probe: what the training step measures per batch, and how a report reads it.

:class:`TrainingProbe` holds what the training step (:class:`model.builder.InstrumentedModel`)
measured: the streaming callback reads it when it reports (:meth:`TrainingProbe.read_all`),
whatever the number of layers, without running an op. It is kept outside Keras's object
tree, so nothing in it is saved with the model or counted as its weights.

What it holds, and why so (every op of a step, and every op run between two steps, costs
a few microseconds of executor time on a CPU: the step writes few, wide tensors):

the last batch's rows
    ``fast_row`` is ``[loss, accuracy, grad norms (n)...]`` of the last batch and
    ``slow_row`` ``[weight norms (n)..., update norms (n)..., saturated shares
    (sigmoid/tanh layers)..., dead shares (ReLU layers)...]`` of the last *measured*
    step: the slow figures are measured every :data:`MEASURE_EVERY` steps (on that
    step's batch: measured on every step, the layer health cost 4-5% of an MLP step on a
    CPU, against a 5% budget for all the instrumentation). The training step returns
    them with its outputs and the train function hands them here (:meth:`TrainingProbe.take`),
    as eager tensors whose buffers a report copies: reading a variable instead runs an
    op between two steps, which a scratch profile (one thread, interleaved blocks of
    steps) put at a few per cent of an MLP step.
``epoch_sums`` (a ``tf.Variable``)
    ``[grad norms..., 1]`` summed over the epoch's batches (the last entry counts them),
    one ``assign_add`` per step, in the step (so a call that runs several steps counts
    them all).
``slow_sums`` (a ``tf.Variable``)
    ``[update norms..., saturated shares..., dead shares..., 1]`` summed over the
    epoch's measured steps.

The update norms need no copy of the weights kept here: the measuring step reads the
weights before and after its own update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import tensorflow as tf

MEASURE_EVERY: Final = 10
"""How often (in steps) the slow figures (weight and update norms, saturation) are measured."""


@dataclass(frozen=True)
class ProbeReading:
    """The last batch's figures, from one device read (per-layer arrays in stack order).

    ``update_ratios``, ``dead_shares`` and ``saturated_shares`` are NaN for the layers they
    do not apply to (see :mod:`model.health`). All but the loss, accuracy and gradient
    norms (this batch's) are as of the last step that measured them, at most
    :data:`MEASURE_EVERY` steps ago.
    """

    loss: float
    accuracy: float
    grad_norms: np.ndarray
    weight_norms: np.ndarray
    update_ratios: np.ndarray
    dead_shares: np.ndarray
    saturated_shares: np.ndarray


def _zeros(shape: tuple[int, ...]) -> tf.Variable:
    return tf.Variable(tf.zeros(shape, dtype=tf.float32), trainable=False)


def _row(length: int) -> np.ndarray:
    """A row of figures before any step: zeros, as a step that measured nothing would leave."""
    return np.zeros(length, np.float32)


@dataclass
class TrainingProbe:
    """Per-batch figures the training step measures and the callback reads when it reports.

    :meth:`create` sizes it for gradient and weight norms; the training step's
    :meth:`attach_health` makes room for the layer health of the layers it taps.
    ``fast_row`` and ``slow_row`` are numpy arrays or eager tensors (see the module
    docstring); only :meth:`take` sets them.
    """

    n_layers: int
    fast_row: Any
    slow_row: Any
    epoch_sums: tf.Variable
    slow_sums: tf.Variable
    relu: tuple[int, ...] = ()  # positions of the ReLU layers among the n_layers
    saturating: tuple[int, ...] = ()  # positions of the sigmoid/tanh layers
    health: bool = False  # whether attach_health made room for the update norms and shares
    # The validation pass's confusion matrix (true x predicted counts), summed by the test
    # step from the predictions it makes anyway; None when the run has no validation data.
    val_confusion: tf.Variable | None = None

    @classmethod
    def create(cls, n_layers: int, num_classes: int = 0) -> TrainingProbe:
        """Probe variables for ``n_layers`` tracked layers; a confusion matrix when ``num_classes``."""
        confusion = (
            tf.Variable(tf.zeros((num_classes, num_classes), dtype=tf.int64), trainable=False) if num_classes else None
        )
        probe = cls(n_layers, _row(2 + n_layers), _row(2 * n_layers), _zeros((n_layers + 1,)), _zeros((n_layers + 1,)))
        probe.val_confusion = confusion
        return probe

    def reset_confusion(self) -> None:
        if self.val_confusion is not None:
            self.val_confusion.assign(tf.zeros_like(self.val_confusion))

    def read_confusion(self) -> np.ndarray | None:
        """The validation confusion matrix summed so far (``int64``), or ``None`` without one."""
        return None if self.val_confusion is None else np.asarray(self.val_confusion.numpy(), dtype=np.int64)

    def attach_health(self, relu: tuple[int, ...], saturating: tuple[int, ...]) -> None:
        """Make room for the update norms and the health of the ``relu`` and ``saturating`` layers."""
        n = self.n_layers
        self.relu, self.saturating, self.health = relu, saturating, True
        self.fast_row, self.slow_row = _row(2 + n), _row(2 * n + len(saturating) + len(relu))
        self.epoch_sums = _zeros((n + 1,))
        self.slow_sums = _zeros((n + len(saturating) + len(relu) + 1,))

    def take(self, fast_row: Any, slow_row: Any = None) -> None:
        """Keep a step's rows (``slow_row`` from a measuring step only; the last one stays until the next)."""
        self.fast_row = fast_row
        if slow_row is not None:
            self.slow_row = slow_row

    def read_all(self) -> ProbeReading:
        """The last batch's figures (two buffer copies, no op run)."""
        stats = np.concatenate([np.asarray(self.fast_row, dtype=np.float32), np.asarray(self.slow_row, dtype=np.float32)])
        n, k = self.n_layers, len(self.saturating)
        weights, updates = stats[2 + n : 2 + 2 * n], stats[2 + 2 * n : 2 + 3 * n]
        with np.errstate(divide="ignore", invalid="ignore"):
            # In float32, as the figures were measured: a saved history reads back the same.
            ratios = updates / weights if self.health else np.full(n, np.nan, np.float32)
        return ProbeReading(
            float(stats[0]),
            float(stats[1]),
            stats[2 : 2 + n].astype(np.float64),
            weights.astype(np.float64),
            ratios.astype(np.float64),
            self._spread(self.relu, stats[2 + 3 * n + k :]),
            self._spread(self.saturating, stats[2 + 3 * n : 2 + 3 * n + k]),
        )

    def read(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """The last batch's (loss, accuracy, gradient norms, weight norms)."""
        r = self.read_all()
        return r.loss, r.accuracy, r.grad_norms, r.weight_norms

    def _spread(self, positions: tuple[int, ...], values: np.ndarray) -> np.ndarray:
        """Figures of some layers laid out per layer, NaN for the others."""
        out = np.full(self.n_layers, np.nan)
        if self.health:
            out[list(positions)] = values[: len(positions)]
        return out

    def reset_epoch(self) -> None:
        self.epoch_sums.assign(tf.zeros_like(self.epoch_sums))
        self.slow_sums.assign(tf.zeros_like(self.slow_sums))

    def epoch_mean_grad_norms(self) -> np.ndarray:
        sums = np.asarray(self.epoch_sums.numpy(), dtype=np.float64)
        count = sums[-1]
        return sums[: self.n_layers] / count if count > 0 else np.full(self.n_layers, np.nan)

    def epoch_health(self, weight_norms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The epoch's (update ratios, dead shares, saturated shares), per layer.

        The update ratio is the mean update norm of the epoch's measured steps over
        ``weight_norms`` (the epoch-end norms); the shares are means over its measured steps.
        """
        n = self.n_layers
        nan = np.full(n, np.nan)
        if not self.health:
            return nan, nan, nan
        slow = np.asarray(self.slow_sums.numpy(), dtype=np.float64)
        measured, k = slow[-1], len(self.saturating)
        if not measured > 0:
            return nan, nan, nan
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = slow[:n] / measured / weight_norms
        saturated = self._spread(self.saturating, slow[n : n + k] / measured)
        dead = self._spread(self.relu, slow[n + k : -1] / measured)
        return ratios, dead, saturated
