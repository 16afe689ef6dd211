"""Shape inference and parameter counts for a layer stack, without TensorFlow.

:func:`analyze` walks the stack from the dataset's input shape and reports each layer's
output shape and parameter count, the way Keras would compute them, plus the first
problem that makes the stack impossible to build, with a suggested :class:`Fix` that an
editor can apply in one click (:func:`apply_fix`). It is pure Python so the designer can
update as the user types, before TensorFlow has finished importing; the test suite checks
it against real Keras models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from model.config import LayerSpec

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Fix:
    """A one-click repair of a layer stack.

    ``action`` is ``insert`` (put ``layer`` at ``index``), ``set`` (set ``field`` of the
    layer at ``index`` to ``value``), ``remove`` (drop the layer at ``index``), ``move``
    (move the layer at ``index`` to ``to_index``) or ``append`` (add ``layer`` at the end).
    ``label`` says it in words for a button.
    """

    action: str
    label: str
    index: int = 0
    layer: LayerSpec | None = None
    field: str = ""
    value: object = None
    to_index: int = 0


@dataclass(frozen=True)
class Problem:
    index: int  # the offending layer (0-based); len(layers) means "after the last layer"
    message: str
    fix: Fix | None = None


@dataclass(frozen=True)
class LayerReport:
    index: int
    name: str  # the Keras layer name, unique within the stack
    output_shape: Shape | None  # None once an earlier layer made the shape unknowable
    params: int
    trainable_params: int


@dataclass(frozen=True)
class StackReport:
    input_shape: Shape
    layers: tuple[LayerReport, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    def problem_for(self, index: int) -> Problem | None:
        return next((p for p in self.problems if p.index == index), None)

    def summary(self) -> str:
        lines = [f"input {format_shape(self.input_shape)}"]
        for rep in self.layers:
            shape = format_shape(rep.output_shape) if rep.output_shape is not None else "?"
            lines.append(f"{rep.index + 1:>3}. {rep.name:<28} {shape:<16} {rep.params:>10,}")
        lines.append(f"total parameters: {self.total_params:,} ({self.trainable_params:,} trainable)")
        for problem in self.problems:
            where = f"layer {problem.index + 1}" if problem.index >= 0 else "stack"
            lines.append(f"problem at {where}: {problem.message}")
        return "\n".join(lines)


def format_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def layer_name(index: int, spec: LayerSpec) -> str:
    """The Keras name of layer ``index``: stable, unique and readable in plots."""
    return f"L{index + 1}_{spec.type}"


def _conv_out(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - window) // stride + 1


def _last_flatten_before(layers: tuple[LayerSpec, ...], index: int) -> int | None:
    for i in range(index - 1, -1, -1):
        if layers[i].type in ("Flatten", "GlobalAveragePooling2D"):
            return i
    return None


def analyze(
    layers: tuple[LayerSpec, ...],
    input_shape: Shape,
    num_classes: int,
    loss: str = "crossentropy",
) -> StackReport:
    """Infer every layer's output shape and parameters; report what cannot be built."""
    reports: list[LayerReport] = []
    problems: list[Problem] = []
    shape: Shape | None = tuple(input_shape)

    for i, spec in enumerate(layers):
        name = layer_name(i, spec)
        params = trainable = 0
        out: Shape | None = None
        problem: Problem | None = None
        if shape is not None:
            out, params, trainable, problem = _infer(layers, i, spec, shape)
        if problem is not None:
            problems.append(problem)
            out = None
        reports.append(LayerReport(i, name, out, params, trainable))
        shape = out

    if shape is not None and not problems:
        problem = _check_output(layers, shape, num_classes, loss)
        if problem is not None:
            problems.append(problem)
    return StackReport(tuple(input_shape), tuple(reports), tuple(problems))


def _infer(
    layers: tuple[LayerSpec, ...], i: int, spec: LayerSpec, shape: Shape
) -> tuple[Shape | None, int, int, Problem | None]:
    """One layer: (output shape, params, trainable params, problem)."""
    kind = spec.type
    pos = f"layer {i + 1} ({kind})"
    if kind == "Dense":
        if len(shape) != 1:
            return None, 0, 0, Problem(
                i,
                f"{pos} needs a flat input but receives {format_shape(shape)}; "
                f"insert Flatten before layer {i + 1}",
                Fix("insert", f"Insert Flatten before layer {i + 1}", index=i, layer=LayerSpec("Flatten")),
            )
        n = shape[0] * spec.units + spec.units
        return (spec.units,), n, n, None

    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"):
        if len(shape) != 3:
            flat = _last_flatten_before(layers, i)
            if flat is not None:
                return None, 0, 0, Problem(
                    i,
                    f"{pos} needs an image input (height, width, channels) but receives the flat "
                    f"{format_shape(shape)} made by layer {flat + 1}; move it before layer {flat + 1}",
                    Fix("move", f"Move layer {i + 1} before layer {flat + 1}", index=i, to_index=flat),
                )
            return None, 0, 0, Problem(
                i,
                f"{pos} needs an image input (height, width, channels) but receives "
                f"{format_shape(shape)}; image layers must come before any Dense layer",
                Fix("remove", f"Remove layer {i + 1}", index=i),
            )
        h, w, c = shape
        if kind == "GlobalAveragePooling2D":
            return (c,), 0, 0, None
        if kind == "Conv2D":
            window, stride = spec.kernel_size, spec.strides
        else:
            window, stride = spec.pool_size, spec.pool_size
        if spec.padding == "valid" and (window > h or window > w):
            what = "kernel" if kind == "Conv2D" else "pooling window"
            fix = (
                Fix("set", f"Use padding 'same' on layer {i + 1}", index=i, field="padding", value="same")
                if kind == "Conv2D"
                else Fix("remove", f"Remove layer {i + 1}", index=i)
            )
            return None, 0, 0, Problem(
                i,
                f"{pos}: the {window}x{window} {what} is larger than its {h}x{w} input; "
                + ("use padding 'same' or a smaller kernel" if kind == "Conv2D" else "remove this layer or use a smaller pool size"),
                fix,
            )
        oh, ow = _conv_out(h, window, stride, spec.padding), _conv_out(w, window, stride, spec.padding)
        if kind == "Conv2D":
            n = window * window * c * spec.filters + spec.filters
            return (oh, ow, spec.filters), n, n, None
        return (oh, ow, c), 0, 0, None

    if kind == "Flatten":
        return (math.prod(shape),), 0, 0, None
    if kind == "Dropout":
        return shape, 0, 0, None
    if kind == "BatchNormalization":
        channels = shape[-1]
        return shape, 4 * channels, 2 * channels, None
    raise AssertionError(f"unhandled layer type {kind}")  # config validation forbids this


def _check_output(
    layers: tuple[LayerSpec, ...], shape: Shape, num_classes: int, loss: str
) -> Problem | None:
    end = len(layers) - 1
    if not layers or layers[-1].type != "Dense" or len(shape) != 1:
        return Problem(
            len(layers),
            f"the network must end in a Dense layer with {num_classes} units, one per class",
            Fix(
                "append",
                f"Add Dense({num_classes}, softmax) at the end",
                layer=LayerSpec("Dense", units=num_classes, activation="softmax"),
            ),
        )
    last = layers[-1]
    if last.units != num_classes:
        return Problem(
            end,
            f"the output layer has {last.units} units but the dataset has {num_classes} classes",
            Fix("set", f"Set units of layer {end + 1} to {num_classes}", index=end, field="units", value=num_classes),
        )
    if loss == "crossentropy" and last.activation != "softmax":
        return Problem(
            end,
            "cross-entropy loss needs probabilities: the output layer must use softmax",
            Fix("set", f"Use softmax on layer {end + 1}", index=end, field="activation", value="softmax"),
        )
    return None


def apply_fix(layers: tuple[LayerSpec, ...], fix: Fix) -> tuple[LayerSpec, ...]:
    """The stack with ``fix`` applied."""
    items = list(layers)
    if fix.action == "insert" and fix.layer is not None:
        items.insert(fix.index, fix.layer)
    elif fix.action == "append" and fix.layer is not None:
        items.append(fix.layer)
    elif fix.action == "remove":
        del items[fix.index]
    elif fix.action == "move":
        items.insert(fix.to_index, items.pop(fix.index))
    elif fix.action == "set":
        changes: dict[str, Any] = {fix.field: fix.value}
        items[fix.index] = replace(items[fix.index], **changes)
    else:
        raise ValueError(f"unknown fix action {fix.action!r}")
    return tuple(items)
