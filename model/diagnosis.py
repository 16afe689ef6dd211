"""Plain-language diagnoses of a run's health, each with why it happens and what to try.

:func:`diagnose` looks at the latest reported batches of a run (:class:`Evidence`: the
loss, and per layer the gradient norm, the update ratio ``‖ΔW‖/‖W‖`` and the dead and
saturated shares of :mod:`model.health`) and returns what is wrong, worst first:

``diverging`` (error)
    the loss became NaN or infinite, rose steadily over the last
    :data:`RISING_WINDOW` batches by :data:`RISING_FACTOR` or more *and* by at least
    :data:`RISING_SHARE_OF_START` of its value at the start (so that noise at a low loss,
    0.14 to 0.21 after starting from 2.3, is no rise), or sits at
    :data:`BLOWN_UP_FACTOR` times its value at the start or more;
``exploding`` (error; a warning when only the update ratio says so)
    a layer's gradient norm is above :data:`EXPLODING_GRAD_NORM` or not finite, or its
    update ratio is above :data:`LARGE_UPDATE_RATIO` (about 1e-3 is healthy);
``vanishing`` (warning)
    a layer's gradient norm is below :data:`VANISHING_GRAD_NORM`, or below
    :data:`VANISHING_SHARE` of the largest layer's;
``dead_units`` (warning)
    a ReLU layer has :data:`DEAD_SHARE` or more of its units at 0 for whole batches;
``saturated`` (warning, when gradients do not vanish yet)
    a sigmoid/tanh layer has :data:`SATURATED_SHARE` or more of its outputs saturated;
``stuck`` (warning)
    a layer's update ratio is below :data:`STUCK_UPDATE_RATIO`: the weights barely move.

Per-layer figures are medians over the last :data:`RECENT_BATCHES` reported batches, so
one odd batch decides nothing. The "why" of each diagnosis is put together from what
the figures and the :class:`RunContext` (the configuration, when known) show: which
layers saturate, how deep the stack is, which initializer it started from; the
remedies leave out what the run already does (no "add batch normalization" to a stack
that has it).

:class:`HealthMonitor` follows a run record by record, checks every
:data:`CHECK_EVERY` records, says which diagnoses are new, and keeps every kind it saw
(:meth:`HealthMonitor.summary`). The command line prints from one, the window's session
warns from one, and :func:`diagnose_run` replays a saved batch history through one, so
``metrics.json`` says what the command line said. Numpy only, no Keras, no Qt.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np

from model.batches import BatchHistory, BatchLog
from model.events import BatchRecord

if TYPE_CHECKING:
    from model.config import RunConfig

VANISHING_GRAD_NORM: Final = 1e-5
"""A layer whose recent gradient norm is below this barely learns any more."""
VANISHING_SHARE: Final = 1e-3
"""A layer whose gradient norm is below this share of the largest layer's is vanishing too."""
EXPLODING_GRAD_NORM: Final = 1e3
"""A layer whose recent gradient norm is above this is likely to diverge."""
HEALTHY_UPDATE_RATIO: Final = 1e-3
"""The usual healthy size of an update against the weights it changes (‖ΔW‖/‖W‖)."""
LARGE_UPDATE_RATIO: Final = 1e-1
"""Updates this large against the weights (100x the healthy size) overshoot."""
STUCK_UPDATE_RATIO: Final = 1e-5
"""Updates this small against the weights (1/100 of the healthy size) barely move them."""
DEAD_SHARE: Final = 0.5
"""A ReLU layer with this share of units at 0 for whole batches has lost much of its width."""
DEAD_MIN_BATCH: Final = 16
"""Dead units are not judged for smaller batches: a unit is 0 for one sample far more often."""
SATURATED_SHARE: Final = 0.5
"""A sigmoid/tanh layer with this share of outputs saturated passes back little gradient."""
RECENT_BATCHES: Final = 20
"""How many of the latest reported batches the per-layer figures are medians over."""
RISING_WINDOW: Final = 60
"""The loss counts as rising when it rose over this many reported batches ..."""
RISING_FACTOR: Final = 1.5
"""... from the first third of them to the last by this factor or more."""
RISING_SHARE_OF_START: Final = 0.25
"""... and by this share of the loss at the start or more: a healthy run whose loss fell from
2.3 to 0.15 wanders by a few hundredths from batch to batch, which the factor alone takes
for a rise (0.142 to 0.214 is 1.5x), while a run that diverges climbs back a good part of
the way it came down."""
BLOWN_UP_FACTOR: Final = 3.0
"""A loss this many times its value at the start (the lowest of the first batches) has diverged."""
START_BATCHES: Final = 5
"""How many of the first reported batches give the loss at the start (the lowest of them:
a run that diverges at once has a huge loss from its second batch on)."""
CHECK_EVERY: Final = 10
"""A :class:`HealthMonitor` diagnoses after every this many records."""

Severity = Literal["warning", "error"]
_SMALL_INITIALIZERS: Final = frozenset({"random_normal", "random_uniform", "zeros", "ones", "truncated_normal"})


@dataclass(frozen=True)
class Diagnosis:
    """One problem found in a run, in words for people.

    Attributes:
        kind: ``diverging``, ``exploding``, ``vanishing``, ``dead_units``, ``saturated`` or ``stuck``.
        severity: ``error`` (the run is failing) or ``warning`` (it learns badly).
        title: a few words, e.g. ``Vanishing gradients``.
        finding: what the figures show, with the layers and their values.
        why: the likely causes, in a sentence or two.
        remedies: what to try, most promising first.
        layers: the layers concerned (empty when the whole run is).
        step: the last step at which it was found; ``since`` the first.
    """

    kind: str
    severity: Severity
    title: str
    finding: str
    why: str
    remedies: tuple[str, ...]
    layers: tuple[str, ...] = ()
    step: int = -1
    since: int = -1

    def text(self) -> str:
        """The whole diagnosis in one paragraph."""
        return f"{self.title}: {self.finding}. Why: {self.why} Try: {'; '.join(self.remedies)}."

    def to_dict(self) -> dict[str, Any]:
        """For ``metrics.json`` (steps 0-based, as in ``batches.npz``)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "finding": self.finding,
            "why": self.why,
            "remedies": list(self.remedies),
            "layers": list(self.layers),
            "first_step": self.since,
            "last_step": self.step,
        }


@dataclass(frozen=True)
class RunContext:
    """What the configuration says about a run, to make the whys and remedies specific.

    Every field may be unknown (its default): the diagnoses are then phrased generally.
    """

    initializer: str = ""
    optimizer: str = ""
    batch_size: int = 0  # 0: unknown
    momentum: float = math.nan

    @classmethod
    def from_config(cls, config: RunConfig) -> RunContext:
        batch = config.batch_size if isinstance(config.batch_size, int) else 0
        return cls(config.initializer, config.optimizer.name, batch, config.optimizer.momentum)


@dataclass(frozen=True, eq=False)
class Evidence:
    """A run's reported batches so far, oldest first (views are fine: nothing is written).

    ``loss``, ``accuracy``, ``learning_rate`` and ``steps`` have one value per batch; the
    per-layer arrays have shape ``(batches, layers)`` (or a width of 0 when not measured).
    """

    layer_names: tuple[str, ...]
    steps: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    learning_rate: np.ndarray
    grad_norms: np.ndarray
    update_ratios: np.ndarray
    dead_shares: np.ndarray
    saturated_shares: np.ndarray

    @classmethod
    def from_history(cls, history: BatchHistory, upto: int | None = None) -> Evidence:
        """The first ``upto`` batches of ``history`` (all of them by default)."""
        end = len(history) if upto is None else upto
        return cls(
            history.layer_names,
            history.step[:end],
            history.loss[:end],
            history.accuracy[:end],
            history.learning_rate[:end],
            history.grad_norms[:end],
            history.update_ratios[:end],
            history.dead_shares[:end],
            history.saturated_shares[:end],
        )


def _recent(values: np.ndarray, width: int) -> np.ndarray:
    """Per-layer medians of the recent rows, ignoring NaN (not measured); NaN where none.

    Written out rather than ``np.nanmedian``, which goes through masked arrays and cost
    milliseconds a call: a monitor diagnoses every ten batches, a saved run thousands of times.
    """
    rows = values[-RECENT_BATCHES:]
    if rows.ndim != 2 or rows.shape[1] != width or not len(rows):
        return np.full(width, np.nan)
    ordered = np.sort(rows.astype(np.float64), axis=0)  # NaN sorts last
    valid = np.count_nonzero(~np.isnan(rows), axis=0)
    out = np.full(width, np.nan)
    some = np.flatnonzero(valid)
    low, high = (valid[some] - 1) // 2, valid[some] // 2
    out[some] = 0.5 * (ordered[low, some] + ordered[high, some])
    return out


def median(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=0)``, the same figures (NaN where a column has one), faster.

    ``np.median`` spends most of its time in its wrappers on the few dozen rows a check
    reads; a monitor checks every ten batches, in the window's thread while a run streams in.
    """
    rows = np.asarray(values, dtype=np.float64)
    n = len(rows)
    if not n:
        return np.full(rows.shape[1:], np.nan)
    ordered = np.sort(rows, axis=0)  # NaN sorts last
    middle = ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return np.where(np.isnan(ordered[-1]), np.nan, middle)


def _recent_grad_norms(evidence: Evidence) -> np.ndarray:
    """Median gradient norm per layer; a non-finite norm counts as infinitely large."""
    rows = evidence.grad_norms[-RECENT_BATCHES:]
    width = len(evidence.layer_names)
    if rows.ndim != 2 or rows.shape[1] != width or not len(rows):
        return np.full(width, np.nan)
    return median(np.where(np.isfinite(rows), rows, np.inf))


def _listing(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _lower_rate(lr: float) -> str:
    return f"lower the learning rate (from {lr:g} to {lr / 10:g} or less)" if math.isfinite(lr) else "lower the learning rate"


def _diverging(e: Evidence) -> Diagnosis | None:
    n = len(e.loss)
    if not n:
        return None
    # Only the first and the latest batches are looked at: this runs every few batches.
    recent = np.asarray(e.loss[-RECENT_BATCHES:], dtype=np.float64)
    finding = ""
    bad = np.flatnonzero(~np.isfinite(recent))
    if len(bad):
        step = int(e.steps[n - len(recent) + bad[0]])
        finding = f"the loss became {recent[bad[0]]} at step {step}"
    else:
        first = np.asarray(e.loss[: 4 * START_BATCHES], dtype=np.float64)
        first = first[np.isfinite(first)][:START_BATCHES]
        start = float(np.min(first)) if len(first) else math.nan
        now = float(median(recent))
        if n >= 2 * START_BATCHES and start > 0 and now > BLOWN_UP_FACTOR * start:
            finding = f"the loss is {now:.3g}, {now / start:.0f}x its {start:.3g} at the start"
        elif n >= RISING_WINDOW:
            thirds = np.array_split(np.asarray(e.loss[-RISING_WINDOW:], dtype=np.float64), 3)
            m1, m2, m3 = (float(median(t)) for t in thirds)
            # Without a positive loss at the start to compare with, the factor alone decides.
            large = not start > 0 or m3 - m1 >= RISING_SHARE_OF_START * start
            if m1 < m2 < m3 and m3 >= RISING_FACTOR * m1 and large:
                finding = f"the loss rose over the last {RISING_WINDOW} reported batches, from {m1:.3g} to {m3:.3g}"
    if not finding:
        return None
    accuracy = float(median(np.asarray(e.accuracy[-RECENT_BATCHES:], dtype=np.float64)))
    if math.isfinite(accuracy):
        finding += f" (batch accuracy {accuracy:.0%})"
    lr = float(e.learning_rate[-1]) if len(e.learning_rate) else math.nan
    return Diagnosis(
        "diverging",
        "error",
        "Training is diverging",
        finding,
        "The steps are too large for this loss surface: each update overshoots the minimum it "
        "aims for, the errors grow, and the weights run away.",
        (_lower_rate(lr), "clip the gradients (optimizer clipnorm, e.g. 1.0)", "add batch normalization between layers"),
    )


def _exploding(e: Evidence, norms: np.ndarray, ratios: np.ndarray) -> Diagnosis | None:
    names = e.layer_names
    large = [i for i, g in enumerate(norms) if g > EXPLODING_GRAD_NORM]
    overshoot = [i for i, r in enumerate(ratios) if r > LARGE_UPDATE_RATIO and i not in large]
    if not large and not overshoot:
        return None
    parts = []
    for i in large:
        shown = "not finite" if not math.isfinite(norms[i]) else f"≈ {norms[i]:.1e} > {EXPLODING_GRAD_NORM:.0e}"
        parts.append(f"{names[i]} (‖∇W‖ {shown})")
    for i in overshoot:
        parts.append(f"{names[i]} (‖ΔW‖/‖W‖ ≈ {ratios[i]:.1e} > {LARGE_UPDATE_RATIO:.0e}; about {HEALTHY_UPDATE_RATIO:.0e} is healthy)")
    lr = float(e.learning_rate[-1]) if len(e.learning_rate) else math.nan
    why = (
        "Large gradients multiply through the layers on their way back, and a step that "
        "large changes the weights by a big share of their size at once."
        if large
        else "Each step changes these weights by a big share of their size: the learning rate is high for this optimizer."
    )
    return Diagnosis(
        "exploding",
        "error" if large else "warning",
        "Exploding gradients" if large else "Updates too large",
        ", ".join(parts),
        why,
        (_lower_rate(lr), "clip the gradients (optimizer clipnorm, e.g. 1.0)", "add batch normalization between layers"),
        tuple(names[i] for i in [*large, *overshoot]),
    )


def _vanishing(
    e: Evidence, norms: np.ndarray, dead: np.ndarray, saturation: np.ndarray, context: RunContext
) -> Diagnosis | None:
    names = e.layer_names
    # Against the largest gradient that is not itself exploding (that one is its own diagnosis).
    usable = np.isfinite(norms) & (norms <= EXPLODING_GRAD_NORM)
    top = float(norms[usable].max()) if usable.any() else math.nan
    top_name = names[int(np.flatnonzero(usable & (norms == top))[0])] if usable.any() else ""
    parts, layers = [], []
    for i, g in enumerate(norms):
        if g < VANISHING_GRAD_NORM:
            parts.append(f"{names[i]} (‖∇W‖ ≈ {g:.1e} < {VANISHING_GRAD_NORM:.0e})")
        elif len(names) >= 3 and math.isfinite(top) and g < VANISHING_SHARE * top:
            parts.append(f"{names[i]} (‖∇W‖ ≈ {g:.1e}, 1/{top / g:,.0f} of {top_name}'s)")
        else:
            continue
        layers.append(names[i])
    if not layers:
        return None
    saturating = [names[i] for i in range(len(names)) if math.isfinite(saturation[i])]
    dead_layers = [names[i] for i in range(len(names)) if dead[i] >= DEAD_SHARE]
    causes, remedies = [], []
    if dead_layers:
        causes.append(f"most units of {_listing(dead_layers)} are dead (see Dead ReLU units), and a dead unit passes back no gradient")
        remedies.append(_lower_rate(float(e.learning_rate[-1]) if len(e.learning_rate) else math.nan))
    if saturating:
        worst = int(np.nanargmax(saturation))
        saturated = (
            f", and none where saturated ({saturation[worst]:.0%} of {names[worst]}'s outputs are)"
            if saturation[worst] >= SATURATED_SHARE / 2
            else ""
        )
        causes.append(
            f"sigmoid/tanh activations ({_listing(saturating)}) pass back a quarter of the gradient or less "
            f"at each layer{saturated}"
        )
        remedies.append("use ReLU (or leaky ReLU) in the hidden layers")
    if len(names) >= 5:
        causes.append(f"the stack is deep ({len(names)} layers with weights): the gradient is multiplied by every layer on its way back")
    if context.initializer in _SMALL_INITIALIZERS:
        causes.append(f"the initializer ({context.initializer}) starts the weights small, so each layer shrinks the signal further")
    if not context.initializer.startswith("he_"):
        remedies.append("He initialization (he_normal or he_uniform)")
    if not any("BatchNormalization" in name for name in names):
        remedies.append("add batch normalization between layers")
    remedies.append("fewer layers, or a residual shortcut around a few of them")
    why = "; ".join(causes) + "." if causes else "the gradient shrinks on its way back through the layers."
    return Diagnosis(
        "vanishing", "warning", "Vanishing gradients", ", ".join(parts), why[0].upper() + why[1:], tuple(remedies), tuple(layers)
    )


def _dead_units(e: Evidence, dead: np.ndarray, context: RunContext) -> Diagnosis | None:
    if 0 < context.batch_size < DEAD_MIN_BATCH:
        return None
    names = e.layer_names
    layers = [i for i, d in enumerate(dead) if d >= DEAD_SHARE]
    if not layers:
        return None
    lr = float(e.learning_rate[-1]) if len(e.learning_rate) else math.nan
    remedies = [_lower_rate(lr), "use leaky ReLU (or ELU / GELU), whose slope is never 0"]
    if not context.initializer.startswith("he_"):
        remedies.append("He initialization (he_normal or he_uniform)")
    return Diagnosis(
        "dead_units",
        "warning",
        "Dead ReLU units",
        ", ".join(f"{names[i]} ({dead[i]:.0%} of its units output 0 for every sample of a batch)" for i in layers),
        "A large update pushed these units' inputs below 0 for every sample; a ReLU at 0 passes back no "
        "gradient, so nothing brings them back. A too-high learning rate is the usual cause.",
        tuple(remedies),
        tuple(names[i] for i in layers),
    )


def _saturated(e: Evidence, saturation: np.ndarray) -> Diagnosis | None:
    names = e.layer_names
    layers = [i for i, s in enumerate(saturation) if s >= SATURATED_SHARE]
    if not layers:
        return None
    return Diagnosis(
        "saturated",
        "warning",
        "Saturated units",
        ", ".join(f"{names[i]} ({saturation[i]:.0%} of its outputs saturated)" for i in layers),
        "These sigmoid/tanh units sit near 0/1 (or ±1), where their slope is almost flat: they pass back "
        "a tenth of the gradient or less, and deeper stacks then stop learning in their early layers.",
        ("use ReLU (or leaky ReLU) in the hidden layers", "add batch normalization before these layers",
         "smaller initial weights (Glorot initialization)"),  # fmt: skip
        tuple(names[i] for i in layers),
    )


def _stuck(e: Evidence, ratios: np.ndarray, context: RunContext, skip: Sequence[str]) -> Diagnosis | None:
    names = e.layer_names
    layers = [i for i, r in enumerate(ratios) if r < STUCK_UPDATE_RATIO and names[i] not in skip]
    if not layers:
        return None
    lr = float(e.learning_rate[-1]) if len(e.learning_rate) else math.nan
    raise_rate = f"raise the learning rate (from {lr:g} to {lr * 10:g})" if math.isfinite(lr) else "raise the learning rate"
    remedies = [raise_rate]
    if context.optimizer == "sgd" and not context.momentum > 0:
        remedies.append("add momentum (0.9) to SGD, or use Adam")
    return Diagnosis(
        "stuck",
        "warning",
        "Learning is stuck",
        ", ".join(f"{names[i]} (‖ΔW‖/‖W‖ ≈ {ratios[i]:.1e} < {STUCK_UPDATE_RATIO:.0e})" for i in layers),
        f"Each step changes these weights by a tiny share of their size (about {HEALTHY_UPDATE_RATIO:.0e} is "
        "healthy): the learning rate is too small for this optimizer and these gradients.",
        tuple(remedies),
        tuple(names[i] for i in layers),
    )


def diagnose(evidence: Evidence, context: RunContext | None = None) -> list[Diagnosis]:
    """What is wrong with the run as of its latest batch, errors first; ``[]`` when nothing is.

    Args:
        evidence: the run's reported batches so far.
        context: what the configuration says, when known.
    """
    if not len(evidence.steps):
        return []
    context = context or RunContext()
    width = len(evidence.layer_names)
    norms = _recent_grad_norms(evidence)
    ratios = _recent(evidence.update_ratios, width)
    dead = _recent(evidence.dead_shares, width)
    saturation = _recent(evidence.saturated_shares, width)
    found: list[Diagnosis | None] = [_diverging(evidence), _exploding(evidence, norms, ratios)]
    vanishing = _vanishing(evidence, norms, dead, saturation, context)
    found += [vanishing, _dead_units(evidence, dead, context)]
    if vanishing is None:
        found.append(_saturated(evidence, saturation))
    found.append(_stuck(evidence, ratios, context, vanishing.layers if vanishing else ()))
    step = int(evidence.steps[-1])
    result = [dataclasses.replace(d, step=step, since=step) for d in found if d is not None]
    return sorted(result, key=lambda d: d.severity != "error")


class HealthMonitor:
    """Follows a run's batch records and keeps what :func:`diagnose` found along the way.

    Args:
        layer_names: the run's layers with weights.
        context: what the configuration says, when known.
        check_every: diagnose after every this many records (and at :meth:`finish`).
    """

    def __init__(self, layer_names: Sequence[str], context: RunContext | None = None, check_every: int = CHECK_EVERY) -> None:
        self.log = BatchLog(layer_names)
        self.context = context or RunContext()
        self.check_every = max(1, check_every)
        self.current: list[Diagnosis] = []
        self._seen: dict[str, Diagnosis] = {}
        self._checked = 0  # records seen at the last check

    def add(self, record: BatchRecord) -> list[Diagnosis]:
        """Take one record; the diagnoses of kinds not seen before in this run, if it checked now."""
        self.log.append(record)
        return self.check() if len(self.log) % self.check_every == 0 else []

    def extend(self, records: Sequence[BatchRecord]) -> list[Diagnosis]:
        """Take records in order, checking where :meth:`add` would; the new kinds found."""
        new: list[Diagnosis] = []
        for record in records:
            new += self.add(record)
        return new

    def check(self) -> list[Diagnosis]:
        """Diagnose now; the diagnoses of kinds not seen before in this run."""
        self._checked = len(self.log)
        self.current = diagnose(Evidence.from_history(self.log.history()), self.context)
        return _remember(self._seen, self.current)

    def finish(self) -> list[Diagnosis]:
        """The last check, at the run's end (when records came since the last one)."""
        return self.check() if len(self.log) > self._checked else []

    def summary(self) -> list[Diagnosis]:
        """Every kind found during the run (its latest finding, and since when), errors first."""
        return _summary(self._seen)


def _remember(seen: dict[str, Diagnosis], found: list[Diagnosis]) -> list[Diagnosis]:
    """Keep ``found`` in ``seen`` (by kind, with the step first seen); the kinds new to it."""
    new = []
    for d in found:
        first = seen.get(d.kind)
        if first is None:
            new.append(d)
        seen[d.kind] = dataclasses.replace(d, since=d.step if first is None else first.since)
    return new


def _summary(seen: dict[str, Diagnosis]) -> list[Diagnosis]:
    return sorted(seen.values(), key=lambda d: (d.severity != "error", d.since))


def diagnose_run(history: BatchHistory, context: RunContext | None = None, check_every: int = CHECK_EVERY) -> list[Diagnosis]:
    """What a :class:`HealthMonitor` that followed the whole run says at its end (its summary)."""
    seen: dict[str, Diagnosis] = {}
    ends = list(range(check_every, len(history) + 1, check_every))
    if len(history) and (not ends or ends[-1] != len(history)):
        ends.append(len(history))
    for end in ends:
        _remember(seen, diagnose(Evidence.from_history(history, end), context))
    return _summary(seen)
