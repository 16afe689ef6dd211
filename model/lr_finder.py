"""The learning-rate range test: a short run whose rate rises exponentially, and what it says.

Leslie Smith's test (fastai's ``lr_find``): train for a few hundred batches while the
learning rate climbs from ``start`` to ``end`` by the same factor every batch, record the
loss of each batch, and read the curve on a log axis. The loss first barely moves (the
rate is too small to matter), then falls, then blows up (the rate is too large). A good
rate sits where the loss falls fastest.

Design:

- **Each batch's own loss.** Keras hands batch callbacks ``logs["loss"]``, the running
  mean since the epoch began (tensorflow/tensorflow#58098): a finder that reads it sees a
  curve that lags and flattens, and suggests rates far too high. Here the loss of each
  batch is read from the :class:`~model.builder.TrainingProbe` that the instrumented
  training step writes, the same figure the live plots show.
- **Smoothed, debiased.** Per-batch losses are noisy, so the curve is smoothed with an
  exponential moving average with Adam's bias correction (:func:`smooth`); both the raw
  and the smoothed curve are returned and shown.
- **Stops when the loss blows up**: once the smoothed loss exceeds :data:`BLOWUP` times its
  best value, or a loss is not finite, the rest of the range says nothing new.
- **The suggestion** (:func:`suggest`) is the rate where the smoothed loss falls fastest
  per decade of rate, among the rates below the smoothed minimum; :attr:`Suggestion.rule`
  says so in words, with the figures.
- **The model is left as it was.** :func:`range_test` takes a compiled trainer, copies
  its weights and its optimizer's variables first and puts both back afterwards, whatever
  happens; :func:`run_range_test` (what the window and ``main.py lr-find`` call) trains a
  model built afresh from the configuration, so the model in memory is never touched.

Everything Keras here runs in the calling thread (a worker thread in the window), like a
training run; :class:`~model.events.RunControl` stops it from another thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from model.errors import ConfigError
from model.events import RunControl

if TYPE_CHECKING:
    from model.config import RunConfig
    from model.data import Split

FloatArray = NDArray[np.float64]

DEFAULT_START: Final = 1e-7
DEFAULT_END: Final = 10.0
DEFAULT_STEPS: Final = 200

BLOWUP: Final = 4.0
"""The test stops once the smoothed loss is this many times its best value."""

SMOOTHING: Final = 0.9
"""Weight of the past in the debiased moving average of the losses (about ten batches,
which at 200 batches over eight decades is under half a decade of rate)."""

SKIP_START: Final = 10
"""Batches left out at the start when looking for the steepest descent: the moving
average is still settling there."""

MIN_DROP: Final = 0.98
"""A descent counts when the smoothed minimum is at most this share of the loss where the
search starts (2% lower)."""


@dataclass(frozen=True)
class RangeTestSpec:
    """How a range test runs: the rate goes from ``start`` to ``end`` over ``steps`` batches.

    Raises:
        ConfigError: naming the option (``start``, ``end``, ``steps``, ``blowup``,
            ``smoothing``) and what is allowed.
    """

    start: float = DEFAULT_START
    end: float = DEFAULT_END
    steps: int = DEFAULT_STEPS
    blowup: float = BLOWUP
    smoothing: float = SMOOTHING

    def __post_init__(self) -> None:
        for name in ("start", "end", "blowup", "smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(name, f"must be a finite number, got {value!r}")
        if not 0 < self.start < self.end:
            raise ConfigError("start", f"must be above 0 and below end ({self.end:g}), got {self.start:g}")
        if self.end > 1e6:
            raise ConfigError("end", f"must be at most 1e6, got {self.end:g}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 10 <= self.steps <= 100_000:
            raise ConfigError("steps", f"must be a whole number from 10 to 100000, got {self.steps!r}")
        if not self.blowup > 1:
            raise ConfigError("blowup", f"must be above 1, got {self.blowup:g}")
        if not 0 <= self.smoothing < 1:
            raise ConfigError("smoothing", f"must be at least 0 and below 1, got {self.smoothing:g}")

    def rates(self) -> FloatArray:
        """The rate of each batch: ``start * (end / start) ** (i / (steps - 1))``."""
        return np.asarray(np.geomspace(self.start, self.end, self.steps), dtype=np.float64)


@dataclass(frozen=True)
class RangePoint:
    """One batch of a range test, as it happens (for a live curve)."""

    step: int  # 0-based
    rate: float
    loss: float  # this batch's own loss
    smoothed: float
    progress: float  # 0..1 of the planned batches


@dataclass(frozen=True)
class Suggestion:
    """The suggested rate and why: the steepest descent of the smoothed loss."""

    rate: float
    index: int  # into the curve's arrays
    slope: float  # change of the smoothed loss per decade of rate there (negative)
    minimum_rate: float  # where the smoothed loss is lowest
    rule: str  # the rule, in words, with the figures


@dataclass(frozen=True)
class RangeTestResult:
    """The curve of a range test: per batch, its rate, its own loss and the smoothed loss.

    ``ended`` says in words why the test ended (all batches run, the loss blew up, a
    stop); ``suggestion`` is ``None`` when the loss never fell.
    """

    rates: FloatArray = field(repr=False)
    losses: FloatArray = field(repr=False)
    smoothed: FloatArray = field(repr=False)
    suggestion: Suggestion | None
    ended: str
    spec: RangeTestSpec = field(default_factory=RangeTestSpec)

    def summary(self) -> str:
        """Two lines for people: what ran, and the suggestion (or why there is none)."""
        head = f"{len(self.rates)} batches, learning rate {self.spec.start:.0e} to {self.rates[-1]:.2e}: {self.ended}"
        if self.suggestion is None:
            return f"{head}\nno suggestion: the smoothed loss never fell; start the test at a lower rate or run more batches"
        return f"{head}\n{self.suggestion.rule}"


def smooth(losses: Sequence[float] | FloatArray, weight: float = SMOOTHING) -> FloatArray:
    """The debiased exponential moving average of ``losses`` (Adam's bias correction).

    ``out[i] = sum_j<=i w^(i-j) (1-w) x_j / (1 - w^(i+1))``. A non-finite loss leaves the
    average where it was (NaN until a finite value came).
    """
    out = np.full(len(losses), np.nan)
    average, norm = 0.0, 0.0
    for i, value in enumerate(losses):
        if math.isfinite(value):
            average = weight * average + (1 - weight) * float(value)
            norm = weight * norm + (1 - weight)
        if norm > 0:
            out[i] = average / norm
    return out


def suggest(rates: FloatArray, smoothed: FloatArray, skip_start: int = SKIP_START) -> Suggestion | None:
    """The rate where the smoothed loss falls fastest per decade, below its minimum.

    The slope is taken on the log10 rate axis (central differences), from the
    ``skip_start``-th batch up to the smoothed minimum; past the minimum the loss is
    rising, and the steepest descent there would be a blow-up's recovery, not learning.

    Returns:
        ``None`` when there is no descent to speak of: the minimum comes within the first
        ``skip_start + 2`` batches, or it is not 2% (:data:`MIN_DROP`) below the loss where
        the search starts.
    """
    finite = np.isfinite(smoothed)
    if finite.sum() < skip_start + 3:
        return None
    lowest = int(np.nanargmin(np.where(finite, smoothed, np.inf)))
    if lowest < skip_start + 2:
        return None
    if not smoothed[lowest] < MIN_DROP * smoothed[skip_start]:
        return None  # a flat curve: float noise would pick a "steepest" point at random
    span = slice(0, lowest + 1)
    slopes = np.gradient(smoothed[span], np.log10(rates[span]))
    window = slopes[skip_start:]
    index = skip_start + int(np.argmin(window))
    slope = float(slopes[index])
    if not slope < 0:
        return None
    rate, minimum = float(rates[index]), float(rates[lowest])
    rule = (
        f"suggested learning rate {rate:.2e}: where the smoothed loss falls fastest "
        f"({slope:.3g} per tenfold rise of the rate), below the rate of the lowest loss ({minimum:.2e}, "
        f"smoothed loss {float(smoothed[lowest]):.3g})"
    )
    return Suggestion(rate=rate, index=index, slope=slope, minimum_rate=minimum, rule=rule)


def analyze(rates: FloatArray, losses: FloatArray, spec: RangeTestSpec, ended: str) -> RangeTestResult:
    """The result for a recorded curve: smoothed, with its suggestion."""
    smoothed = smooth(losses, spec.smoothing)
    return RangeTestResult(
        rates=np.asarray(rates, dtype=np.float64),
        losses=np.asarray(losses, dtype=np.float64),
        smoothed=smoothed,
        suggestion=suggest(rates, smoothed),
        ended=ended,
        spec=spec,
    )


PointSink = Callable[[RangePoint], None]


def _ramp_callback(
    probe: Any, spec: RangeTestSpec, control: RunControl, on_point: PointSink | None
) -> Any:
    """The Keras callback that sets each batch's rate and records its own loss."""
    import keras

    rates = spec.rates()

    class RateRamp(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []
            self.ended = f"ran all {spec.steps} batches"
            self._average = 0.0
            self._norm = 0.0
            self._best = math.inf

        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.model.optimizer.learning_rate.assign(float(rates[len(self.losses)]))

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            # The probe holds this batch's loss; logs["loss"] is the epoch's running mean.
            loss = float(probe.read()[0])
            step = len(self.losses)
            self.losses.append(loss)
            smoothed = math.nan
            if math.isfinite(loss):
                self._average = spec.smoothing * self._average + (1 - spec.smoothing) * loss
                self._norm = spec.smoothing * self._norm + (1 - spec.smoothing)
            if self._norm > 0:
                smoothed = self._average / self._norm
                self._best = min(self._best, smoothed)
            if on_point is not None:
                on_point(RangePoint(step, float(rates[step]), loss, smoothed, (step + 1) / spec.steps))
            if not math.isfinite(loss):
                self.ended = f"stopped at {rates[step]:.2e}: the loss became {loss}"
            elif step >= SKIP_START and smoothed > spec.blowup * self._best:
                self.ended = (
                    f"stopped at {rates[step]:.2e}: the loss blew up (smoothed {smoothed:.3g}, "
                    f"over {spec.blowup:g}x its best {self._best:.3g})"
                )
            elif control.stop_requested:
                self.ended = f"stopped by the user at {rates[step]:.2e}"
            elif step + 1 < spec.steps:
                return
            self.model.stop_training = True

    return RateRamp()


def range_test(
    trainer: Any,
    probe: Any,
    x: NDArray[Any],
    y: NDArray[Any],
    batch_size: int,
    spec: RangeTestSpec | None = None,
    *,
    control: RunControl | None = None,
    on_point: PointSink | None = None,
) -> RangeTestResult:
    """Run the test on a compiled :class:`~model.builder.InstrumentedModel`, then restore it.

    Batches are taken in the order of ``x`` (shuffle it first), cycling through it as
    often as ``spec.steps`` needs. The trainer's weights (of its inner model, batch-norm
    statistics included) and its optimizer's variables (step count, moments, learning
    rate) are copied first and restored at the end, also after an error.

    Args:
        trainer: the compiled instrumented model.
        probe: its :class:`~model.builder.TrainingProbe`, where each batch's loss is read.
        x, y: training inputs and one-hot targets.
        batch_size: samples per batch.
        spec: the range; :class:`RangeTestSpec` defaults when ``None``.
        control: its ``stop()`` ends the test after the current batch.
        on_point: called with each batch's :class:`RangePoint`, in the calling thread.
    """
    spec = spec or RangeTestSpec()
    control = control or RunControl()
    inner = trainer.inner
    optimizer = trainer.optimizer
    if not optimizer.built:
        # Built now (zeros, as Keras would on the first batch), so restoring is complete.
        optimizer.build(inner.trainable_weights)
    saved_weights = inner.get_weights()
    saved_optimizer = [np.array(v.numpy()) for v in optimizer.variables]
    ramp = _ramp_callback(probe, spec, control, on_point)
    steps_per_epoch = max(1, math.ceil(len(x) / batch_size))
    try:
        trainer.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=math.ceil(spec.steps / steps_per_epoch),
            shuffle=False,
            verbose=0,
            callbacks=[ramp],
        )
    finally:
        inner.set_weights(saved_weights)
        for variable, value in zip(optimizer.variables, saved_optimizer, strict=True):
            variable.assign(value)
    losses = np.asarray(ramp.losses, dtype=np.float64)
    return analyze(spec.rates()[: len(losses)], losses, spec, ramp.ended)


def run_range_test(
    config: RunConfig,
    split: Split,
    spec: RangeTestSpec | None = None,
    *,
    control: RunControl | None = None,
    on_point: PointSink | None = None,
) -> RangeTestResult:
    """A range test of ``config`` on ``split``'s training data, on a model of its own.

    The model is built from the configuration as a run would build it (the same seed, so
    the same initial weights), with the configured optimizer, loss, batch size and
    augmentation; the training data is shuffled once with the seed. Nothing of any other
    model is touched.

    Raises:
        ProjectError: the stack cannot be built for this data.
    """
    from model.builder import (
        InstrumentedModel,
        TrainingProbe,
        build_inference_model,
        make_loss,
        make_optimizer,
        one_hot,
        tracked_layers,
    )

    input_shape = tuple(int(d) for d in split.x_train.shape[1:])
    num_classes = len(split.class_names)
    inner = build_inference_model(config, input_shape, num_classes)
    probe = TrainingProbe.create(len(tracked_layers(inner)))
    trainer = InstrumentedModel(inner, probe, config.augmentation, seed=config.seed)
    trainer.compile(optimizer=make_optimizer(config.optimizer), loss=make_loss(config.loss), metrics=["accuracy"])
    batch_size = config.effective_batch_size(len(split.x_train))
    spec = spec or RangeTestSpec()
    # Only the samples the test will use (one shuffle with the seed), not a copy of them all.
    order = np.random.default_rng(config.seed).permutation(len(split.x_train))[: spec.steps * batch_size]
    x = split.x_train[order]
    y = one_hot(split.y_train[order], num_classes)
    return range_test(trainer, probe, x, y, batch_size, spec, control=control, on_point=on_point)
