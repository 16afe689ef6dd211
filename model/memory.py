"""How much memory a layer stack needs to train, told before anything is built.

A stack that does not fit (three Dense layers of 65,536 units; a Conv2D of 4,096 filters
over a 64x64 kernel) used to end in TensorFlow's ``ResourceExhaustedError`` after half a
minute of allocating, or in the kernel's out-of-memory killer. :func:`estimate_memory`
adds up, without TensorFlow, what training the stack will hold at once:

- the weights (4 bytes a parameter, from :func:`model.shapes.analyze`'s counts), and per
  parameter as much again for its gradient, for each optimizer slot (Adam keeps two, SGD
  with momentum one), and for the copy of the best epoch's weights a run keeps;
- the activations of one training batch: every layer's output, kept for the backward
  pass and matched by its gradient there (twice the forward size), plus a convolution's
  patch buffers (its output positions times its kernel's window, which TensorFlow's CPU
  kernels unroll for the forward pass and for both gradients);
- the training data once more: Keras copies the arrays it is given into its dataset.

:func:`check_fits_in_memory` compares that with what the machine has
(:func:`model.machine.available_memory`) and refuses with the figures and what to change;
the designer shows the same estimate live next to the parameter count. It is an estimate
(TensorFlow's own buffers and fragmentation come on top), meant to catch stacks that are
out of reach by a wide margin, not to fill memory to the last byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from model.config import RunConfig
from model.errors import BuildError
from model.machine import available_memory, format_bytes
from model.shapes import Shape, analyze

BYTES_PER_VALUE: Final = 4  # float32 throughout
ASSUMED_TRAINING_SAMPLES: Final = 60_000
"""The training-set size assumed for ``batch_size = "full"`` while the data's is not known."""

_SLOTS: Final = {"sgd": 0, "adam": 2, "adamw": 2, "nadam": 2, "adamax": 2, "rmsprop": 1, "adagrad": 1}


@dataclass(frozen=True)
class MemoryEstimate:
    """What training a stack holds in memory at once (bytes), and the largest part of it.

    Attributes:
        parameters: every parameter of the stack.
        weights: the parameters themselves.
        training_state: gradients, optimizer slots and the best epoch's copy of the weights.
        activations: one training batch's layer outputs, their gradients and patch buffers.
        data: the copy of the training data Keras makes (0 when the data is not known).
        batch_size: the batch the activations were counted for.
        largest: ``(layer index, bytes)`` of the layer that needs the most, if any.
    """

    parameters: int
    weights: int
    training_state: int
    activations: int
    data: int
    batch_size: int
    largest: tuple[int, int] | None = None

    @property
    def total(self) -> int:
        return self.weights + self.training_state + self.activations + self.data

    def describe(self) -> str:
        """One line for the designer: ``memory to train about 12 MB``."""
        return f"memory to train about {format_bytes(self.total)}"

    def breakdown(self) -> str:
        """Where the total comes from, for a message."""
        parts = [
            f"weights {format_bytes(self.weights)}",
            f"gradients, optimizer and best-epoch copies {format_bytes(self.training_state)}",
            f"activations for batches of {self.batch_size:,} {format_bytes(self.activations)}",
        ]
        if self.data:
            parts.append(f"the training data's copy {format_bytes(self.data)}")
        return ", ".join(parts)

    def advice(self) -> str:
        """What to change to need less, in words."""
        if self.weights + self.training_state >= self.activations:
            return "reduce the layer sizes (units, filters): the weights themselves are too large"
        return f"reduce the batch size (now {self.batch_size:,}) or the layer sizes"


def optimizer_slots(config: RunConfig) -> int:
    """How many values the optimizer keeps per parameter (Keras 3's optimizers)."""
    optimizer = config.optimizer
    slots = _SLOTS.get(optimizer.name, 2)
    if optimizer.name in ("sgd", "rmsprop") and optimizer.momentum > 0:
        slots += 1
    return slots


def _batch(config: RunConfig, n_train: int | None) -> int:
    if config.batch_size == "full":
        return max(1, n_train if n_train is not None else ASSUMED_TRAINING_SAMPLES)
    return config.effective_batch_size(n_train) if n_train is not None else int(config.batch_size)


def estimate_memory(
    config: RunConfig, input_shape: Shape, num_classes: int, *, n_train: int | None = None
) -> MemoryEstimate:
    """The memory training ``config``'s stack on inputs of ``input_shape`` needs (see the module).

    Layers after the first one that cannot be built are not counted (their shapes are
    unknown), so a broken stack gets the estimate of the part that can be built.

    Args:
        config: the run: its layers, optimizer and batch size are read.
        input_shape: one sample's shape, e.g. ``(28, 28, 1)``.
        num_classes: the number of classes (the output layer's width).
        n_train: the training samples, when known (for ``batch_size = "full"`` and the
            data's copy).
    """
    report = analyze(config.layers, input_shape, num_classes, config.loss)
    batch = _batch(config, n_train)
    parameters = report.total_params
    copies = 2 + optimizer_slots(config)  # gradient, slots, best-epoch copy (the weights are counted apart)
    per_sample = math.prod(input_shape)
    largest: tuple[int, int] | None = None
    shape: Shape = tuple(input_shape)
    for layer, spec in zip(report.layers, config.layers, strict=False):
        if layer.output_shape is None:
            break
        values = 2 * math.prod(layer.output_shape)  # the output, and its gradient in the backward pass
        if spec.type == "Conv2D" and len(shape) == 3:
            # The patch buffer, unrolled for the forward pass and again for each of the two gradients.
            values += 3 * math.prod(layer.output_shape[:2]) * spec.kernel_size**2 * shape[-1]
        per_sample += values
        need = (values * batch + layer.params * (1 + copies)) * BYTES_PER_VALUE
        if largest is None or need > largest[1]:
            largest = (layer.index, need)
        shape = layer.output_shape
    data = (n_train or 0) * (math.prod(input_shape) + num_classes) * BYTES_PER_VALUE
    return MemoryEstimate(
        parameters=parameters,
        weights=parameters * BYTES_PER_VALUE,
        training_state=parameters * copies * BYTES_PER_VALUE,
        activations=per_sample * batch * BYTES_PER_VALUE,
        data=data,
        batch_size=batch,
        largest=largest,
    )


def memory_problem(estimate: MemoryEstimate, config: RunConfig, available: int | None) -> str | None:
    """Why ``estimate`` cannot be trained with ``available`` bytes, or ``None`` when it fits (or is not known)."""
    if available is None or estimate.total <= available:
        return None
    hint = "use fewer units or filters, fewer layers or a smaller batch size"
    if estimate.largest is not None:
        index, need = estimate.largest
        hint = (
            f"layer {index + 1} ({config.layers[index].describe()}) alone needs {format_bytes(need)}: "
            f"give it fewer units or filters, or use a smaller batch size"
        )
    return (
        f"the layer stack needs about {format_bytes(estimate.total)} of memory to train "
        f"({estimate.parameters:,} parameters; {estimate.breakdown()}), but this computer has "
        f"{format_bytes(available)} available; {hint}"
    )


def check_fits_in_memory(
    config: RunConfig, input_shape: Shape, num_classes: int, *, n_train: int | None = None
) -> MemoryEstimate:
    """The estimate, after refusing a stack that cannot fit in the memory there is.

    Raises:
        BuildError: with the figures and what to change.
    """
    estimate = estimate_memory(config, input_shape, num_classes, n_train=n_train)
    problem = memory_problem(estimate, config, available_memory())
    if problem is not None:
        raise BuildError(problem)
    return estimate
