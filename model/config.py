"""The run configuration: one frozen, validated source of truth for a training run.

A :class:`RunConfig` holds everything needed to reproduce a run: the layer stack, loss,
optimizer, learning-rate schedule, default initializer, regularization, batch size,
epochs, early stopping, seed, dataset, split and augmentation. The GUI edits a copy and
submits a snapshot; the command line reads the same JSON.

Construction validates every field, so an invalid configuration cannot exist. Parsing
(:func:`config_from_dict`, :func:`load_config`) raises :class:`~model.errors.ConfigError`
naming the offending field (as a JSON path such as ``layers[2].units``) and what is
allowed, never a bare ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal

from model.errors import ConfigError, shorten

SCHEMA_VERSION: Final = 1

MAX_LAYERS: Final = 200
"""The most layers a stack may have. Deep enough for any network this app trains on
28x28 images (the deepest preset has 12); a bound keeps a hostile file of 20,000 layers
from stalling the shape checks, the designer and Keras for minutes."""
MAX_CONFIG_BYTES: Final = 2 * 1024 * 1024
"""The largest configuration file read: a 200-layer stack is under 60 kB."""

LAYER_TYPES: Final = (
    "Dense",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Dropout",
    "BatchNormalization",
)

# The parameters that apply to each layer type, in the order an editor shows them.
LAYER_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "Dense": ("units", "activation", "initializer", "l1", "l2"),
    "Conv2D": (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "activation",
        "initializer",
        "l1",
        "l2",
    ),
    # Pooling windows step by their own size (Keras's default), so no strides here.
    "MaxPooling2D": ("pool_size", "padding"),
    "AveragePooling2D": ("pool_size", "padding"),
    "GlobalAveragePooling2D": (),
    "Flatten": (),
    "Dropout": ("rate",),
    "BatchNormalization": (),
}

ACTIVATIONS: Final = (
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "sigmoid",
    "tanh",
    "softmax",
    "linear",
)

INITIALIZERS: Final = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_normal",
    "random_uniform",
    "orthogonal",
    "zeros",
)

PADDINGS: Final = ("valid", "same")
LOSSES: Final = ("crossentropy", "mse", "hinge")
OPTIMIZERS: Final = ("sgd", "adam", "adamw", "nadam", "adamax", "rmsprop", "adagrad")
SCHEDULES: Final = ("constant", "step", "exponential", "cosine", "plateau")
MONITORS: Final = ("val_loss", "val_accuracy", "loss", "accuracy")
DATASETS: Final = ("mnist", "fashion_mnist", "digits", "file")
EXTRA_SHARE_DEFAULT: Final = 0.1
"""The share of the training part that ``data.extra_path``'s images make up by default."""
EXTRA_SHARE_MAX: Final = 0.9
PEN_DIGITS_MAX: Final = 0.5
"""The largest share of the training part that ``data.pen_digits`` may ask for."""

# Which optimizer parameters each optimizer uses; an editor shows only these.
OPTIMIZER_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "sgd": ("learning_rate", "momentum", "nesterov", "weight_decay", "clipnorm"),
    "adam": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm"),
    "adamw": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm"),
    "nadam": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm"),
    "adamax": ("learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm"),
    "rmsprop": ("learning_rate", "rho", "momentum", "epsilon", "weight_decay", "clipnorm"),
    "adagrad": ("learning_rate", "epsilon", "weight_decay", "clipnorm"),
}

SCHEDULE_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "constant": (),
    "step": ("step_epochs", "factor"),
    "exponential": ("factor",),
    "cosine": ("min_learning_rate",),
    "plateau": ("factor", "patience", "min_delta", "min_learning_rate"),
}

BatchSize = int | Literal["full"]


# --------------------------------------------------------------------------- checks


def _check_choice(path: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(path, f"{shorten(value)} is not one of: {', '.join(allowed)}")


def _check_int(path: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be a whole number, got {shorten(value)}")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(path, f"must be {bound}, got {shorten(value)}")


def _check_float(
    path: str,
    value: object,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"must be a number, got {shorten(value)}")
    if not math.isfinite(value):
        raise ConfigError(path, f"must be a finite number, got {shorten(value)}")
    too_low = value <= low if low_open else value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = f"{'>' if low_open else '>='} {low}"
        hi = f" and {'<' if high_open else '<='} {high}" if high is not None else ""
        raise ConfigError(path, f"must be {lo}{hi}, got {value}")


def _check_bool(path: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(path, f"must be true or false, got {shorten(value)}")


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the stack. Only the fields in ``LAYER_PARAMS[type]`` apply.

    ``initializer``, ``l1`` and ``l2`` left as ``None`` fall back to the run's defaults.
    """

    type: str
    units: int = 64
    filters: int = 32
    kernel_size: int = 3
    strides: int = 1
    padding: str = "valid"
    pool_size: int = 2
    rate: float = 0.25
    activation: str = "relu"
    initializer: str | None = None
    l1: float | None = None
    l2: float | None = None

    def __post_init__(self) -> None:
        self.validate("layer")

    def validate(self, path: str) -> None:
        _check_choice(f"{path}.type", self.type, LAYER_TYPES)
        _check_int(f"{path}.units", self.units, 1, 65536)
        _check_int(f"{path}.filters", self.filters, 1, 4096)
        _check_int(f"{path}.kernel_size", self.kernel_size, 1, 64)
        _check_int(f"{path}.strides", self.strides, 1, 64)
        _check_choice(f"{path}.padding", self.padding, PADDINGS)
        _check_int(f"{path}.pool_size", self.pool_size, 1, 64)
        _check_float(f"{path}.rate", self.rate, 0.0, 1.0, high_open=True)
        _check_choice(f"{path}.activation", self.activation, ACTIVATIONS)
        if self.initializer is not None:
            _check_choice(f"{path}.initializer", self.initializer, INITIALIZERS)
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if value is not None:
                _check_float(f"{path}.{name}", value, 0.0, 1.0)

    @property
    def params(self) -> tuple[str, ...]:
        """The parameter names that apply to this layer's type."""
        return LAYER_PARAMS[self.type]

    @property
    def has_weights(self) -> bool:
        return self.type in ("Dense", "Conv2D", "BatchNormalization")

    def describe(self) -> str:
        """A short human label, e.g. ``Dense(128, relu)``."""
        if self.type == "Dense":
            return f"Dense({self.units}, {self.activation})"
        if self.type == "Conv2D":
            return f"Conv2D({self.filters}, {self.kernel_size}x{self.kernel_size}, {self.activation})"
        if self.type in ("MaxPooling2D", "AveragePooling2D"):
            return f"{self.type}({self.pool_size}x{self.pool_size})"
        if self.type == "Dropout":
            return f"Dropout({self.rate + 0.0:g})"  # + 0.0: a rate of -0.0 reads "0", not "-0"
        return self.type

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for name in self.params:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimizer and its hyper-parameters; ``OPTIMIZER_PARAMS`` says which apply."""

    name: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.9
    epsilon: float = 1e-7
    weight_decay: float = 0.0
    clipnorm: float | None = None

    def __post_init__(self) -> None:
        self.validate("optimizer")

    def validate(self, path: str) -> None:
        _check_choice(f"{path}.name", self.name, OPTIMIZERS)
        _check_float(f"{path}.learning_rate", self.learning_rate, 0.0, 10.0, low_open=True)
        _check_float(f"{path}.momentum", self.momentum, 0.0, 1.0, high_open=True)
        _check_bool(f"{path}.nesterov", self.nesterov)
        _check_float(f"{path}.beta_1", self.beta_1, 0.0, 1.0, high_open=True)
        _check_float(f"{path}.beta_2", self.beta_2, 0.0, 1.0, high_open=True)
        _check_float(f"{path}.rho", self.rho, 0.0, 1.0, high_open=True)
        _check_float(f"{path}.epsilon", self.epsilon, 0.0, 1.0, low_open=True)
        _check_float(f"{path}.weight_decay", self.weight_decay, 0.0, 1.0)
        if self.clipnorm is not None:
            _check_float(f"{path}.clipnorm", self.clipnorm, 0.0, 1e6, low_open=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for name in OPTIMIZER_PARAMS[self.name]:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class ScheduleSpec:
    """How the learning rate changes from epoch to epoch.

    - ``constant``: the optimizer's learning rate throughout.
    - ``step``: multiplied by ``factor`` every ``step_epochs`` epochs.
    - ``exponential``: multiplied by ``factor`` every epoch.
    - ``cosine``: follows half a cosine from the base rate down to ``min_learning_rate``
      over the run's epochs.
    - ``plateau``: multiplied by ``factor`` when validation loss has not improved by more
      than ``min_delta`` for ``patience`` epochs, never below ``min_learning_rate``.

    ``min_delta`` defaults to Keras's ``ReduceLROnPlateau`` default, which is also what
    configurations written before the field existed were trained with.
    """

    kind: str = "constant"
    step_epochs: int = 5
    factor: float = 0.5
    patience: int = 2
    min_delta: float = 1e-4
    min_learning_rate: float = 1e-6

    def __post_init__(self) -> None:
        self.validate("schedule")

    def validate(self, path: str) -> None:
        _check_choice(f"{path}.kind", self.kind, SCHEDULES)
        _check_int(f"{path}.step_epochs", self.step_epochs, 1, 10000)
        _check_float(f"{path}.factor", self.factor, 0.0, 1.0, low_open=True)
        _check_int(f"{path}.patience", self.patience, 1, 10000)
        _check_float(f"{path}.min_delta", self.min_delta, 0.0, 1e6)
        _check_float(f"{path}.min_learning_rate", self.min_learning_rate, 0.0, 10.0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for name in SCHEDULE_PARAMS[self.kind]:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class EarlyStoppingSpec:
    """Stop when ``monitor`` has not improved for ``patience`` epochs."""

    enabled: bool = False
    monitor: str = "val_loss"
    patience: int = 3
    min_delta: float = 0.0
    restore_best_weights: bool = True

    def __post_init__(self) -> None:
        self.validate("early_stopping")

    def validate(self, path: str) -> None:
        _check_bool(f"{path}.enabled", self.enabled)
        _check_choice(f"{path}.monitor", self.monitor, MONITORS)
        _check_int(f"{path}.patience", self.patience, 0, 10000)
        _check_float(f"{path}.min_delta", self.min_delta, 0.0, 1e6)
        _check_bool(f"{path}.restore_best_weights", self.restore_best_weights)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DataSpec:
    """Which dataset to train on.

    ``name`` is ``mnist``, ``fashion_mnist``, ``digits`` (scikit-learn's bundled 8x8
    digits resized to 28x28, always available offline) or ``file`` (``path`` names a
    Keras-layout ``.npz``, a folder of IDX files, a CSV, or a folder of class folders).
    For ``mnist`` and ``fashion_mnist`` a ``path`` may name a local copy to use instead of
    the Keras download. ``limit`` keeps a stratified subset of that many samples.

    ``extra_path`` names a folder of class folders (the user's own handwriting, say) whose
    images join the *training* part only, oversampled so that they make up ``extra_share``
    of it; validation and test stay the dataset's own, so their figures stay comparable.
    Both are left out of the JSON while they have their defaults, so files written before
    they existed read, and are written, as before.

    ``pen_digits`` is the share of the *training* part made of the real pen digits the app
    ships (:mod:`model.data.pendigits`), oversampled to that share; 0 (the default) mixes
    none, and it is left out of the JSON then, so older files read and write as before.
    """

    name: str = "mnist"
    path: str | None = None
    limit: int | None = None
    extra_path: str | None = None
    extra_share: float = EXTRA_SHARE_DEFAULT
    pen_digits: float = 0.0

    def __post_init__(self) -> None:
        self.validate("data")

    def validate(self, path: str) -> None:
        _check_choice(f"{path}.name", self.name, DATASETS)
        if self.path is not None and (not isinstance(self.path, str) or not self.path):
            raise ConfigError(f"{path}.path", f"must be a file or folder path, got {shorten(self.path)}")
        if self.name == "file" and self.path is None:
            raise ConfigError(f"{path}.path", "is required when data.name is 'file'")
        if self.limit is not None:
            _check_int(f"{path}.limit", self.limit, 20)
        if self.extra_path is not None and (not isinstance(self.extra_path, str) or not self.extra_path):
            raise ConfigError(f"{path}.extra_path", f"must be a folder path, got {self.extra_path!r}")
        _check_float(f"{path}.extra_share", self.extra_share, 0.0, EXTRA_SHARE_MAX, low_open=True)
        _check_float(f"{path}.pen_digits", self.pen_digits, 0.0, PEN_DIGITS_MAX)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if self.extra_path is None:
            del out["extra_path"]
        if self.extra_share == EXTRA_SHARE_DEFAULT:
            del out["extra_share"]
        if self.pen_digits == 0.0:
            del out["pen_digits"]
        return out


@dataclass(frozen=True)
class SplitSpec:
    """Fractions of the pooled dataset for training, validation and test (sum to 1).

    With ``official_test``, a dataset that ships its own test set (MNIST's 10,000 test
    digits, an ``.npz``'s ``x_test``) uses exactly that as the test part, the way published
    MNIST accuracies are measured; train and validation then share the rest in the ratio
    ``train : validation``. Datasets without one fall back to the fractions.
    """

    train: float = 0.8
    validation: float = 0.1
    test: float = 0.1
    stratified: bool = True
    official_test: bool = False

    def __post_init__(self) -> None:
        self.validate("split")

    def validate(self, path: str) -> None:
        _check_float(f"{path}.train", self.train, 0.0, 1.0, low_open=True)
        _check_float(f"{path}.validation", self.validation, 0.0, 1.0, high_open=True)
        _check_float(f"{path}.test", self.test, 0.0, 1.0, high_open=True)
        _check_bool(f"{path}.stratified", self.stratified)
        _check_bool(f"{path}.official_test", self.official_test)
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(
                path,
                f"train + validation + test must sum to 1, got {total:g} "
                f"({self.train:g} + {self.validation:g} + {self.test:g})",
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AugmentationSpec:
    """Random perturbations of training images, so models read hand-drawn digits well.

    Shifts are fractions of the image size, rotation is in degrees, zoom a fraction, and
    ``thickness`` the probability of thickening or thinning a stroke by one pixel.
    ``elastic`` is the strength (Simard et al.'s alpha) of elastic distortions whose
    smoothness is ``elastic_sigma`` pixels, and ``stroke_width`` the largest random change
    of every image's stroke width, in pixels either way (see :mod:`model.augment`). Both
    are off (0) by default, so configurations written before they existed train as before;
    at their defaults they are left out of the JSON.
    """

    enabled: bool = False
    shift: float = 0.1
    rotation: float = 10.0
    zoom: float = 0.1
    thickness: float = 0.3
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    stroke_width: float = 0.0

    def __post_init__(self) -> None:
        self.validate("augmentation")

    def validate(self, path: str) -> None:
        _check_bool(f"{path}.enabled", self.enabled)
        _check_float(f"{path}.shift", self.shift, 0.0, 0.5)
        _check_float(f"{path}.rotation", self.rotation, 0.0, 90.0)
        _check_float(f"{path}.zoom", self.zoom, 0.0, 0.5)
        _check_float(f"{path}.thickness", self.thickness, 0.0, 1.0)
        _check_float(f"{path}.elastic", self.elastic, 0.0, 100.0)
        _check_float(f"{path}.elastic_sigma", self.elastic_sigma, 1.0, 10.0)
        _check_float(f"{path}.stroke_width", self.stroke_width, 0.0, 2.0)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        # Left out while off, so files written before they existed are written as before.
        for name, default in _LATER_AUGMENTATIONS.items():
            if out[name] == default:
                del out[name]
        return out


_LATER_AUGMENTATIONS: Final = {"elastic": 0.0, "elastic_sigma": 4.0, "stroke_width": 0.0}


def _default_layers() -> tuple[LayerSpec, ...]:
    return (
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=128),
        LayerSpec("Dense", units=10, activation="softmax"),
    )


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run. Immutable; edit with :meth:`replace`."""

    name: str = "untitled"
    layers: tuple[LayerSpec, ...] = field(default_factory=_default_layers)
    loss: str = "crossentropy"
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    initializer: str = "glorot_uniform"
    l1: float = 0.0
    l2: float = 0.0
    batch_size: BatchSize = 128
    epochs: int = 5
    early_stopping: EarlyStoppingSpec = field(default_factory=EarlyStoppingSpec)
    seed: int = 42
    data: DataSpec = field(default_factory=DataSpec)
    split: SplitSpec = field(default_factory=SplitSpec)
    augmentation: AugmentationSpec = field(default_factory=AugmentationSpec)
    report_every: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ConfigError("name", f"must be text, got {shorten(self.name)}")
        if not isinstance(self.layers, tuple) or not all(
            isinstance(layer, LayerSpec) for layer in self.layers
        ):
            raise ConfigError("layers", "must be a tuple of LayerSpec")
        if not self.layers:
            raise ConfigError("layers", "the stack is empty; add at least an output Dense layer")
        if len(self.layers) > MAX_LAYERS:
            raise ConfigError("layers", f"{len(self.layers):,} layers are more than the {MAX_LAYERS} allowed; use fewer layers")
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("initializer", self.initializer, INITIALIZERS)
        _check_float("l1", self.l1, 0.0, 1.0)
        _check_float("l2", self.l2, 0.0, 1.0)
        if self.batch_size != "full":
            _check_int("batch_size", self.batch_size, 1, 1_000_000)
        _check_int("epochs", self.epochs, 1, 100_000)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check_int("report_every", self.report_every, 1, 100_000)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (validated like any construction)."""
        return replace(self, **changes)

    def effective_batch_size(self, n_train: int) -> int:
        """The batch size in samples: ``full`` means the whole training set."""
        if self.batch_size == "full":
            return max(1, n_train)
        return min(int(self.batch_size), max(1, n_train))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "layers": [layer.to_dict() for layer in self.layers],
            "loss": self.loss,
            "optimizer": self.optimizer.to_dict(),
            "schedule": self.schedule.to_dict(),
            "initializer": self.initializer,
            "l1": self.l1,
            "l2": self.l2,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "early_stopping": self.early_stopping.to_dict(),
            "seed": self.seed,
            "data": self.data.to_dict(),
            "split": self.split.to_dict(),
            "augmentation": self.augmentation.to_dict(),
            "report_every": self.report_every,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


# --------------------------------------------------------------------------- parsing


def _parse_section(cls: type, path: str, raw: object, *, required: tuple[str, ...] = ()) -> Any:
    """Build the frozen dataclass ``cls`` from a JSON object, naming bad fields by path."""
    if not isinstance(raw, dict):
        raise ConfigError(path, f"must be a JSON object, got {type(raw).__name__}")
    allowed = {f.name for f in fields(cls)}
    for key in raw:
        if not isinstance(key, str) or key not in allowed:
            shown = key if isinstance(key, str) and len(key) <= 60 else shorten(key)
            raise ConfigError(
                f"{path}.{shown}" if path else shown,
                f"unknown field; allowed fields are: {', '.join(sorted(allowed))}",
            )
    for key in required:
        if key not in raw:
            raise ConfigError(f"{path}.{key}" if path else key, "is required")
    try:
        return cls(**raw)
    except ConfigError as exc:
        # Re-anchor the field path at this section (e.g. "layer.units" -> "layers[2].units").
        if path and exc.field.split(".")[0] in ("layer",):
            raise ConfigError(path + exc.field[len("layer") :], exc.reason) from None
        raise
    except TypeError as exc:  # pragma: no cover - guarded by the key check above
        raise ConfigError(path, str(exc)) from None


def _applicable(spec: LayerSpec) -> LayerSpec:
    """``spec`` with the fields its type does not use at their defaults.

    They are not written to JSON (:meth:`LayerSpec.to_dict`), so a value kept from the file
    (a ``rate`` on a Dense layer) would make the configuration change when saved and read
    back.
    """
    return LayerSpec(type=spec.type, **{name: getattr(spec, name) for name in spec.params})


def config_from_dict(raw: object) -> RunConfig:
    """Parse a JSON-decoded object into a :class:`RunConfig`.

    Raises:
        ConfigError: naming the first offending field and what is allowed.
    """
    if not isinstance(raw, dict):
        raise ConfigError("", f"a configuration must be a JSON object, got {type(raw).__name__}")
    raw = dict(raw)
    version = raw.pop("schema_version", None)
    if version is None:
        raise ConfigError("schema_version", "is missing; this does not look like a configuration file")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError("schema_version", f"must be a whole number, got {shorten(version)}")
    if version > SCHEMA_VERSION:
        raise ConfigError(
            "schema_version",
            f"{version} is newer than this version of the app understands ({SCHEMA_VERSION}); "
            "update the app to open this file",
        )
    if version < 1:
        raise ConfigError("schema_version", f"must be at least 1, got {version}")

    allowed = {f.name for f in fields(RunConfig)}
    for key in raw:
        if key not in allowed:
            shown = key if len(key) <= 60 else shorten(key)
            raise ConfigError(shown, f"unknown field; allowed fields are: {', '.join(sorted(allowed))}")

    kwargs: dict[str, Any] = {}
    layers_raw = raw.pop("layers", None)
    if layers_raw is None:
        raise ConfigError("layers", "is required: a list of layers, e.g. [{\"type\": \"Dense\", \"units\": 10}]")
    if not isinstance(layers_raw, list):
        raise ConfigError("layers", f"must be a list of layer objects, got {type(layers_raw).__name__}")
    if len(layers_raw) > MAX_LAYERS:
        # Refused before 20,000 layers are parsed one by one.
        raise ConfigError("layers", f"{len(layers_raw):,} layers are more than the {MAX_LAYERS} allowed; use fewer layers")
    kwargs["layers"] = tuple(
        _applicable(_parse_section(LayerSpec, f"layers[{i}]", layer, required=("type",)))
        for i, layer in enumerate(layers_raw)
    )
    sections: dict[str, type] = {
        "optimizer": OptimizerSpec,
        "schedule": ScheduleSpec,
        "early_stopping": EarlyStoppingSpec,
        "data": DataSpec,
        "split": SplitSpec,
        "augmentation": AugmentationSpec,
    }
    for key, cls in sections.items():
        if key in raw:
            section = _parse_section(cls, key, raw.pop(key))
            kwargs[key] = section
    kwargs.update(raw)
    try:
        return RunConfig(**kwargs)
    except ConfigError:
        raise
    except TypeError as exc:  # pragma: no cover - guarded by the key check above
        raise ConfigError("", str(exc)) from None


def config_from_json(text: str) -> RunConfig:
    """Parse JSON text into a :class:`RunConfig`."""
    # Imported here: the catalogue (and so the window's first imports) needs this module alone.
    from model.reading import JsonError, loads_json

    try:
        raw = loads_json(text)
    except JsonError as exc:
        raise ConfigError("", f"not valid JSON: {exc}; check the file for typos") from None
    return config_from_dict(raw)


def load_config(path: str | Path) -> RunConfig:
    """Read a configuration file (a regular file of at most :data:`MAX_CONFIG_BYTES`).

    Raises:
        ConfigError: the file cannot be read (missing, a folder, a named pipe or device,
            too large, unreadable), is not UTF-8 JSON, or is not a valid configuration.
    """
    from model.reading import os_error_reason, read_capped

    path = Path(path)
    try:
        data = read_capped(path, MAX_CONFIG_BYTES)
    except OSError as exc:
        raise ConfigError("", f"cannot read configuration {path}: it {os_error_reason(exc)}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("", f"{path} is not a text (UTF-8 JSON) file") from None
    try:
        return config_from_json(text)
    except ConfigError as exc:
        raise ConfigError(exc.field, f"{exc.reason} (in {path.name})") from None


def preset_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "presets"


def list_presets() -> list[str]:
    """Names of the bundled presets (file stems in ``resources/presets``)."""
    return sorted(p.stem for p in preset_dir().glob("*.json"))


def load_preset(name: str) -> RunConfig:
    path = preset_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigError("preset", f"no preset named {name!r}; available: {', '.join(list_presets())}")
    return load_config(path)
