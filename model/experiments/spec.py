"""What a comparison runs: an :class:`Experiment` and the :class:`Trial` list it expands to.

An experiment starts from one base :class:`~model.config.RunConfig` and changes only what
it compares, in one of two ways (or both, crossed):

- :class:`Variation`: one setting, addressed by its config path
  (:mod:`model.configpath`: ``optimizer.name``, ``layers[2].units``), and the values to
  try. One or two variations expand to their cross product.
- :class:`Variant`: a whole configuration with a label, for changes that no single path
  expresses (dropout layers added after every hidden layer, SGD *with* momentum).

:meth:`Experiment.trials` expands and validates everything before anything runs: every
path and every value goes through :func:`model.configpath.apply_assignments`, so a typo
or an out-of-range value raises the core's own :class:`~model.errors.ConfigError` naming
the path and what is allowed. It then checks that the trials differ only in what the
experiment varies (:func:`check_controlled`): they share the seed, the data and its split,
the batch size and the epochs, so they see the same samples in the same batch order
(the seed fixes both the weights and the shuffling) and the difference between two curves
is the setting alone.

:func:`parse_vary` reads the command line's ``--vary PATH=V1,V2,...``; whatever the text,
it returns a :class:`Variation` or raises a :class:`~model.errors.ProjectError`.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from model.config import LayerSpec, RunConfig
from model.configpath import apply_assignments, get, parse, with_values
from model.errors import ConfigError, ProjectError

MAX_VARIED: Final = 2
MAX_TRIALS: Final = 64
DEFAULT_TARGET_ACCURACY: Final = 0.9

# What every trial of a comparison shares unless the experiment varies it on purpose: the
# same samples, split the same way, in the same batches and order, for as long.
CONTROLLED: Final = ("seed", "data.", "split.", "batch_size", "epochs", "augmentation.")

_INDEX = re.compile(r"\[0*([0-9]+)\]")


def format_value(value: object) -> str:
    """A setting's value as a person (and :func:`model.configpath.parse`) writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonical_path(path: str) -> str:
    """``path`` as the core writes it: no surrounding spaces, no leading zeros in an index."""
    return _INDEX.sub(r"[\1]", path.strip())


@dataclass(frozen=True)
class Variation:
    """One setting to vary, by its config path, and the values to try, in order."""

    path: str
    values: tuple[object, ...]


@dataclass(frozen=True)
class Variant:
    """A whole configuration to compare, with the label its curves and rows carry."""

    label: str
    config: RunConfig

    @classmethod
    def of_changes(cls, base: RunConfig, changes: dict[str, object], label: str = "") -> Variant:
        """``base`` with ``changes`` (path: value) applied, labelled by them unless ``label`` is given."""
        config = apply_assignments(base, [f"{path}={format_value(value)}" for path, value in changes.items()])
        return cls(label or ", ".join(f"{p}={format_value(v)}" for p, v in changes.items()), config)


@dataclass(frozen=True)
class Trial:
    """One configuration of a comparison.

    Attributes:
        trial_id: Its index in the experiment's expansion, from 0. Records a trial streams
            carry it as their ``run_id``.
        label: Names only what differs from the other trials, e.g.
            ``optimizer.name=sgd, optimizer.learning_rate=0.01``.
        settings: The varied settings as ``(path, value text)`` pairs; a variant adds
            ``("variant", its label)``.
        config: The complete configuration it trains.
    """

    trial_id: int
    label: str
    settings: tuple[tuple[str, str], ...]
    config: RunConfig

    @property
    def folder_name(self) -> str:
        """Its run folder's name inside the comparison: ``03-sgd-0.01``."""
        words = [text for _, text in self.settings] or [self.label]
        slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", "-".join(words)).strip("_-.")[:48]
        return f"{self.trial_id:02d}-{slug}" if slug else f"{self.trial_id:02d}"


@dataclass(frozen=True)
class Experiment:
    """A comparison: a base configuration and what to vary in it.

    Attributes:
        base: The configuration every trial starts from.
        variations: Up to :data:`MAX_VARIED` settings to vary; trials are their cross product.
        variants: Whole configurations to compare (crossed with the variations, if any).
        name: The built-in experiment's key, or ``custom``.
        title: A heading for people, e.g. ``Learning rate: too small, right, too large``.
        look_for: What to look for in the curves, in two sentences.
        target_accuracy: The validation accuracy whose first crossing the results table
            times (epochs and seconds to reach it).
    """

    base: RunConfig
    variations: tuple[Variation, ...] = ()
    variants: tuple[Variant, ...] = ()
    name: str = "custom"
    title: str = ""
    look_for: str = ""
    target_accuracy: float = DEFAULT_TARGET_ACCURACY

    @property
    def varied_paths(self) -> tuple[str, ...]:
        return tuple(canonical_path(v.path) for v in self.variations)

    def describe(self) -> str:
        """The title, or what is varied: ``optimizer.name × optimizer.learning_rate``."""
        if self.title:
            return self.title
        parts = list(self.varied_paths) + (["variants"] if self.variants else [])
        return " × ".join(parts) or "comparison"

    def with_settings(self, changes: Mapping[str, object]) -> Experiment:
        """This experiment with ``changes`` (path: value) made to the base and every variant.

        For what the command line overrides (``--epochs``, ``--limit``, ``--data``) in a
        built-in experiment, which set their own.

        Raises:
            ConfigError: a path the experiment varies, or a bad path or value.
        """
        for path in changes:
            if canonical_path(path) in self.varied_paths:
                raise ConfigError(path, "is what this comparison varies; it cannot also be set for all trials")
        if not changes:
            return self
        variants = tuple(Variant(v.label, with_values(v.config, changes)) for v in self.variants)
        return dataclasses.replace(self, base=with_values(self.base, changes), variants=variants)

    @cached_property
    def trials(self) -> tuple[Trial, ...]:
        """Every trial, validated (see the module docstring); computed on first use.

        Raises:
            ProjectError: a :class:`ConfigError` naming the bad path or value and what is
                allowed, or a message naming the setting that differs between trials.
        """
        return expand(self)


def _check_shape(experiment: Experiment) -> None:
    if not (0.0 < experiment.target_accuracy <= 1.0):
        raise ConfigError("target_accuracy", f"must be > 0 and <= 1, got {experiment.target_accuracy!r}")
    if not experiment.variations and not experiment.variants:
        raise ConfigError("vary", "nothing to compare; vary a setting, e.g. --vary optimizer.name=sgd,adam")
    if len(experiment.variations) > MAX_VARIED:
        raise ConfigError("vary", f"a comparison varies at most {MAX_VARIED} settings, got {len(experiment.variations)}")
    seen: set[str] = set()
    for variation in experiment.variations:
        path = canonical_path(variation.path)
        get(experiment.base, path)  # an unknown path is named before its values are looked at
        if path in seen:
            raise ConfigError(path, "is varied twice; give all its values in one --vary, e.g. PATH=A,B")
        seen.add(path)
        if not variation.values:
            raise ConfigError(path, "has no values to try; give at least one, e.g. PATH=A,B")
        texts = [format_value(v) for v in variation.values]
        repeated = sorted({t for t in texts if texts.count(t) > 1})
        if repeated:
            raise ConfigError(path, f"lists {', '.join(repeated)} more than once; give each value once")
    labels = [v.label for v in experiment.variants]
    if any(not label.strip() for label in labels):
        raise ConfigError("variants", "every variant needs a label saying what it changes")
    if len(set(labels)) != len(labels):
        raise ConfigError("variants", "two variants have the same label; give each its own")
    count = max(1, len(experiment.variants))
    for variation in experiment.variations:
        count *= len(variation.values)
    if count > MAX_TRIALS:
        raise ConfigError("vary", f"that makes {count} trials; a comparison runs at most {MAX_TRIALS}")


def expand(experiment: Experiment) -> tuple[Trial, ...]:
    """The trials of ``experiment``: variants × the cross product of the variations.

    Raises:
        ProjectError: see :meth:`Experiment.trials`.
    """
    _check_shape(experiment)
    variants: Sequence[Variant | None] = experiment.variants or (None,)
    paths = experiment.varied_paths
    grids = list(itertools.product(*(v.values for v in experiment.variations)))
    trials: list[Trial] = []
    for variant in variants:
        base = experiment.base if variant is None else variant.config
        for values in grids:
            settings = tuple((path, format_value(value)) for path, value in zip(paths, values, strict=True))
            config = apply_assignments(base, [f"{path}={text}" for path, text in settings]) if settings else base
            label = ", ".join(f"{path}={text}" for path, text in settings)
            if variant is not None:
                settings = (("variant", variant.label), *settings)
                label = f"{variant.label} · {label}" if label else variant.label
            trials.append(Trial(len(trials), label, settings, config))
    check_controlled(trials, paths)
    return tuple(trials)


def _scalars(config: RunConfig) -> dict[str, object]:
    """Every scalar setting by path, a layer's inapplicable fields included (they are kept too)."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name == "layers":
            out["layers"] = len(value)
            for i, layer in enumerate(value):
                for lf in dataclasses.fields(LayerSpec):
                    out[f"layers[{i}].{lf.name}"] = getattr(layer, lf.name)
        elif dataclasses.is_dataclass(value):
            for sf in dataclasses.fields(value):
                out[f"{f.name}.{sf.name}"] = getattr(value, sf.name)
        else:
            out[f.name] = value
    return out


def differences(a: RunConfig, b: RunConfig) -> tuple[str, ...]:
    """The setting paths whose values differ between ``a`` and ``b`` (``layers`` for a count)."""
    sa, sb = _scalars(a), _scalars(b)
    return tuple(p for p in dict.fromkeys([*sa, *sb]) if sa.get(p, _MISSING) != sb.get(p, _MISSING))


_MISSING = object()


def _allowed(path: str, varied: Sequence[str]) -> bool:
    if path in varied:
        return True
    # Changing a layer's type changes which of its fields mean anything; that is the change.
    layer = path.split(".", 1)[0]
    return path.startswith("layers[") and f"{layer}.type" in varied


def _controlled(path: str) -> bool:
    return any(path == c or (c.endswith(".") and path.startswith(c)) for c in CONTROLLED)


def check_controlled(trials: Sequence[Trial], varied: Sequence[str]) -> None:
    """Refuse trials that differ in anything but what the experiment varies.

    Trials from variations alone may differ only in the varied paths. Variants may differ in
    anything except the :data:`CONTROLLED` settings (seed, data, split, batch size, epochs,
    augmentation), unless those are varied.

    Raises:
        ProjectError: naming the first trial and setting that differ, and both values.
    """
    if not trials:
        return
    reference = trials[0].config
    for trial in trials[1:]:
        for path in differences(reference, trial.config):
            if _allowed(path, varied):
                continue
            is_variant = bool(trial.settings) and trial.settings[0][0] == "variant"
            if is_variant and not _controlled(path):
                continue
            mine, theirs = _scalars(trial.config).get(path), _scalars(reference).get(path)
            raise ProjectError(
                f"trial {trial.trial_id + 1} ({trial.label}) differs from trial 1 in {path} "
                f"({format_value(mine)} vs {format_value(theirs)}); the trials of a comparison share "
                "the seed, data, split, batch size and epochs unless the comparison varies them"
            )


def parse_vary(base: RunConfig, text: str) -> Variation:
    """One ``--vary PATH=V1,V2,...`` text as a :class:`Variation` of typed values.

    Types are checked here (``optimizer.learning_rate=fast`` is refused); ranges and choices
    when the experiment expands.

    Raises:
        ConfigError: naming the path and what is allowed; never anything else.
    """
    path, equals, values = text.partition("=")
    path = canonical_path(path)
    if not equals or not path:
        raise ConfigError(path, "expected PATH=V1,V2,..., e.g. --vary optimizer.name=sgd,adam")
    get(base, path)
    items = [item.strip() for item in values.split(",")]
    if not any(items):
        raise ConfigError(path, "has no values to try; give at least one, e.g. PATH=A,B")
    if any(not item for item in items):
        raise ConfigError(path, f"has an empty value in {values.strip()!r}; separate the values by single commas")
    return Variation(path, tuple(parse(base, path, item) for item in items))


def experiment_from_vary(base: RunConfig, texts: Sequence[str], *, target_accuracy: float = DEFAULT_TARGET_ACCURACY) -> Experiment:
    """An :class:`Experiment` from ``--vary`` texts, expanded and validated.

    Raises:
        ProjectError: see :func:`parse_vary` and :meth:`Experiment.trials`.
    """
    experiment = Experiment(base, tuple(parse_vary(base, t) for t in texts), target_accuracy=target_accuracy)
    _ = experiment.trials
    return experiment
