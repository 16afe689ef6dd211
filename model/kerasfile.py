"""What a ``.keras`` archive may hold, checked before Keras reads any of it.

A ``.keras`` file is a zip archive: ``config.json`` (the model's description),
``metadata.json``, the weights (``model.weights.h5``) and sometimes ``assets/``. A hostile
or damaged archive can be small on disk and still make Keras allocate gigabytes (a 4 MB
archive claiming a 3.9 GiB weights entry), fill the temporary folder (entries Keras
extracts), or hang on a description holding a 15 MB string. So before Keras sees the
file:

- :func:`check_description` caps what is inside the description, not only its total:
  the length of every text, of every list, how deeply it nests, how many nodes and how
  many layers it has. It walks the description without recursion.
- :func:`weights_bound` reads from the description how many parameters the model has
  (each layer's own settings and ``build_config`` input shape: a ``Dense`` layer of
  ``units`` over an input of ``n`` features holds ``n * units + units``), and so how large
  its weights entry can honestly be: four bytes per parameter, for the weights and up to
  three optimizer slots, plus room for HDF5's bookkeeping. A layer it cannot count
  (a type it does not know, an input shape not stated) falls back to a fixed allowance.
- :func:`check_entries` compares every entry's declared size with that bound, with what
  deflate can expand to from its compressed size, and with the memory there is; and
  refuses entries a Keras model file does not have.

Everything raises :class:`~model.errors.ModelFileError` naming the file, the figures and
what to do. Nothing here imports Keras.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from model.errors import ModelFileError, shorten
from model.machine import available_memory, format_bytes

MAX_TEXT: Final = 4096
"""The longest text (a layer name, an activation, a key) a description may hold."""
MAX_LIST: Final = 10_000
"""The longest list (of layers, of shape dimensions) a description may hold."""
MAX_DEPTH: Final = 64
MAX_NODES: Final = 200_000
MAX_LAYERS: Final = 2_000
"""The most layers a model file may describe (this app builds at most 200)."""
MAX_ENTRIES: Final = 256

# Deflate cannot expand data by more than about 1032:1 (see model.data._common).
_MAX_DEFLATE_RATIO: Final = 1100
_WEIGHT_COPIES: Final = 4  # the weights, and up to three optimizer slots per parameter
_SLACK: Final = 1.25
_PER_LAYER_OVERHEAD: Final = 64 * 1024  # HDF5 groups and dataset headers
_BASE_OVERHEAD: Final = 1024 * 1024
_UNCOUNTED_LAYER: Final = 64 * 1024 * 1024
"""What a layer whose parameters cannot be counted from the description may add."""
_MAX_ASSETS: Final = 64 * 1024 * 1024
_CONTAINERS: Final = frozenset({"Sequential", "Functional", "Model"})
_WEIGHTLESS: Final = frozenset(
    {
        "InputLayer", "Flatten", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
        "GaussianDropout", "AlphaDropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax",
        "Reshape", "Permute", "RepeatVector", "Rescaling", "CenterCrop", "Resizing", "ZeroPadding1D",
        "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D",
        "UpSampling2D", "UpSampling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
        "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
        "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "ActivityRegularization", "Identity", "Masking",
    }
)  # fmt: skip
_ITEMSIZE: Final = {"float64": 8, "float16": 2, "bfloat16": 2, "mixed_float16": 4, "mixed_bfloat16": 4}


@dataclass(frozen=True)
class WeightsBound:
    """How large the weights entry of an archive can honestly be, and why."""

    parameters: int  # counted from the description
    uncounted_layers: int  # layers whose parameters could not be counted
    layers: int
    itemsize: int

    @property
    def max_bytes(self) -> int:
        counted = self.parameters * self.itemsize * _WEIGHT_COPIES * _SLACK
        return int(counted + self.uncounted_layers * _UNCOUNTED_LAYER + self.layers * _PER_LAYER_OVERHEAD + _BASE_OVERHEAD)


def _nodes(description: Any) -> Iterator[Any]:
    """Every value in the description, depth-first, without recursion."""
    stack = [description]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def check_description(description: Any, name: str) -> None:
    """Refuse a description with a text, list, nesting or layer count past the caps.

    Raises:
        ModelFileError: naming the file and the cap that was passed.
    """
    what = f"{name}: its model description"
    nodes = layers = 0
    stack: list[tuple[Any, int]] = [(description, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ModelFileError(f"{what} has more than {MAX_NODES:,} entries; it is not a model this app opens")
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{what} nests more than {MAX_DEPTH} levels deep; it is not a model this app opens")
        if isinstance(node, str) and len(node) > MAX_TEXT:
            raise ModelFileError(
                f"{what} holds a text of {len(node):,} characters ({shorten(node, 40)}); texts in a model "
                f"description are at most {MAX_TEXT:,} characters, so the file is damaged or not a Keras model"
            )
        if isinstance(node, list):
            if len(node) > MAX_LIST:
                raise ModelFileError(f"{what} holds a list of {len(node):,} items (at most {MAX_LIST:,}); it is not a model this app opens")
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, dict):
            if len(node) > MAX_LIST:
                raise ModelFileError(f"{what} holds an object of {len(node):,} keys; it is not a model this app opens")
            if _is_layer(node):
                layers += 1
                if layers > MAX_LAYERS:
                    raise ModelFileError(f"{what} has more than {MAX_LAYERS:,} layers; it is not a model this app opens")
            for key, value in node.items():
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def _is_layer(node: dict[str, Any]) -> bool:
    module = node.get("module")
    return isinstance(node.get("class_name"), str) and isinstance(module, str) and module.startswith(
        ("keras.layers", "keras.src.layers", "keras.models", "keras.src.models")
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _ints(value: Any) -> list[int] | None:
    values = value if isinstance(value, list) else [value]
    ints = [_int(v) for v in values]
    return None if not ints or any(v is None for v in ints) else [v for v in ints if v is not None]


def _layer_parameters(class_name: str, config: dict[str, Any], input_shape: list[Any]) -> int | None:
    """The parameters of one layer from its config and input shape; ``None``: cannot tell."""
    last = _int(input_shape[-1]) if input_shape else None
    bias = 1 if config.get("use_bias", True) is not False else 0
    if class_name == "Dense":
        units = _int(config.get("units"))
        return None if units is None or last is None else last * units + units * bias
    if class_name in ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
        filters, kernel = _int(config.get("filters")), _ints(config.get("kernel_size"))
        channels = _int(input_shape[1]) if config.get("data_format") == "channels_first" and len(input_shape) > 1 else last
        if filters is None or kernel is None or channels is None:
            return None
        groups = _int(config.get("groups")) or 1
        return math.prod(kernel) * (channels // groups if "Transpose" not in class_name else channels) * filters + filters * bias
    if class_name in ("DepthwiseConv2D", "SeparableConv2D"):
        kernel, multiplier = _ints(config.get("kernel_size")), _int(config.get("depth_multiplier", 1))
        if kernel is None or multiplier is None or last is None:
            return None
        depthwise = math.prod(kernel) * last * multiplier
        if class_name == "DepthwiseConv2D":
            return depthwise + last * multiplier * bias
        filters = _int(config.get("filters"))
        return None if filters is None else depthwise + last * multiplier * filters + filters * bias
    if class_name in ("BatchNormalization", "LayerNormalization", "GroupNormalization"):
        raw_axes = config.get("axis", -1)
        axes = raw_axes if isinstance(raw_axes, list) else [raw_axes]
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            return None
        dims = [input_shape[a] if -len(input_shape) <= a < len(input_shape) else None for a in axes]
        sizes = [_int(d) for d in dims]
        if not sizes or any(s is None for s in sizes):
            return None
        channels = math.prod(s for s in sizes if s is not None)
        return (4 if class_name == "BatchNormalization" else 2) * channels
    if class_name == "Embedding":
        rows, columns = _int(config.get("input_dim")), _int(config.get("output_dim"))
        return None if rows is None or columns is None else rows * columns
    if class_name in ("SimpleRNN", "GRU", "LSTM"):
        units = _int(config.get("units"))
        if units is None or last is None:
            return None
        gates = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[class_name]
        return gates * (last * units + units * units + 2 * units)
    return None


def weights_bound(description: Any) -> WeightsBound:
    """Count the model's parameters from its description (see the module docstring)."""
    parameters = uncounted = layers = 0
    itemsize = 4
    for node in _nodes(description):
        if not isinstance(node, dict):
            continue
        class_name = node.get("class_name")
        if class_name == "DTypePolicy" and isinstance(node.get("config"), dict):
            itemsize = max(itemsize, _ITEMSIZE.get(str(node["config"].get("name")), 4))
        if not _is_layer(node) or class_name in _CONTAINERS:
            continue
        layers += 1
        if class_name in _WEIGHTLESS:
            continue
        config = node.get("config")
        build = node.get("build_config")
        shape = build.get("input_shape") if isinstance(build, dict) else None
        count = None
        if isinstance(config, dict) and isinstance(shape, list):
            count = _layer_parameters(str(class_name), config, shape)
        if count is None:
            uncounted += 1
        else:
            parameters += count
    return WeightsBound(parameters, uncounted, layers, itemsize)


def _is_weights(name: str) -> bool:
    return name.startswith("model.weights")


def check_entries(archive: zipfile.ZipFile, archive_size: int, description: Any, name: str) -> None:
    """Refuse entries a model file does not have, or whose declared sizes cannot be honest.

    Raises:
        ModelFileError: naming the entry, its declared size and the bound it passed.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ModelFileError(f"{name}: holds {len(infos):,} entries; a Keras model file has three or four")
    bound = weights_bound(description)
    weights = assets = 0
    for info in infos:
        entry = info.filename
        if info.compress_size > archive_size or info.file_size > max(info.compress_size, 1) * _MAX_DEFLATE_RATIO + 4096:
            raise ModelFileError(
                f"{name}: its entry {shorten(entry, 40)} declares {format_bytes(info.file_size)} from "
                f"{format_bytes(info.compress_size)} compressed, which no zip archive can hold; the file is damaged"
            )
        if entry in ("config.json", "metadata.json") or info.is_dir():
            continue
        if _is_weights(entry):
            weights += info.file_size
        elif entry.startswith("assets/"):
            assets += info.file_size
        else:
            raise ModelFileError(
                f"{name}: holds the entry {shorten(entry, 40)}, which a Keras model file does not have; "
                "it is not a model saved by Keras"
            )
    if weights > bound.max_bytes:
        counted = f"{bound.parameters:,} parameters" + (
            f" and {bound.uncounted_layers} layer(s) it cannot count" if bound.uncounted_layers else ""
        )
        raise ModelFileError(
            f"{name}: its weights entry declares {format_bytes(weights)}, but its description has "
            f"{counted}, which need at most {format_bytes(bound.max_bytes)}; the file is damaged or "
            "not what it claims to be. Save the model again with Keras"
        )
    if assets > _MAX_ASSETS:
        raise ModelFileError(f"{name}: its assets declare {format_bytes(assets)} (at most {format_bytes(_MAX_ASSETS)} are opened)")
    memory = available_memory()
    needed = weights + bound.parameters * bound.itemsize
    if memory is not None and needed > memory:
        raise ModelFileError(
            f"{name}: opening it needs about {format_bytes(needed)} of memory ({bound.parameters:,} parameters), "
            f"but this computer has {format_bytes(memory)} available; open it on a larger machine"
        )
