"""The built-in experiments: the comparisons the gradient-descent literature makes.

Each :class:`BuiltinExperiment` has a key (``sweep --experiment KEY``), a title, two
sentences on what to look for, a line saying what it varies, and a function that builds
the :class:`~model.experiments.spec.Experiment` from the user's configuration. The user's
data, split, seed and (unless the experiment needs its own) epochs and batch size are kept;
what the comparison is about is set here, so one click gives a comparison that shows the
effect. The settings follow the classic demonstrations: Bottou's and Ruder's overviews of
gradient descent (batch / mini-batch / stochastic, learning rates, momentum, Adam,
RMSprop), Glorot & Bengio 2010 and He et al. 2015 (initialization and activations in deep
stacks), and Srivastava et al. 2014 / Ioffe & Szegedy 2015 (dropout, batch norm).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from model.config import DataSpec, LayerSpec, OptimizerSpec, RunConfig, ScheduleSpec
from model.errors import ConfigError
from model.experiments.spec import Experiment, Variant, Variation


@dataclass(frozen=True)
class BuiltinExperiment:
    """A one-click comparison: its texts for people, and how to build it from a configuration."""

    key: str
    title: str
    look_for: str
    varies: str
    build: Callable[[RunConfig], Experiment]

    def experiment(self, base: RunConfig) -> Experiment:
        """The comparison built on ``base`` (its data, split and seed are kept), validated."""
        experiment = self.build(base)
        _ = experiment.trials
        return experiment


def _sgd(rate: float, momentum: float = 0.0) -> OptimizerSpec:
    return OptimizerSpec(name="sgd", learning_rate=rate, momentum=momentum)


def _stack(depth: int, units: int, activation: str) -> tuple[LayerSpec, ...]:
    hidden = tuple(LayerSpec("Dense", units=units, activation=activation) for _ in range(depth))
    return (LayerSpec("Flatten"), *hidden, LayerSpec("Dense", units=10, activation="softmax"))


def _limited(base: RunConfig, samples: int) -> RunConfig:
    """``base`` on at most ``samples`` samples (a smaller limit the user set is kept)."""
    limit = samples if base.data.limit is None else min(base.data.limit, samples)
    return base.replace(data=DataSpec(name=base.data.name, path=base.data.path, limit=limit))


def _experiment(
    key: str, base: RunConfig, *, variations: tuple[Variation, ...] = (), variants: tuple[Variant, ...] = ()
) -> Experiment:
    spec = BUILTIN[key]
    return Experiment(base, variations, variants, name=key, title=spec.title, look_for=spec.look_for)


def _batch(base: RunConfig) -> Experiment:
    # Stochastic descent takes one step per sample: 2,000 samples keep its epochs short.
    base = _limited(base, 2000).replace(optimizer=_sgd(0.05))
    return _experiment("batch", base, variations=(Variation("batch_size", ("full", 64, 1)),))


def _learning_rate(base: RunConfig) -> Experiment:
    base = base.replace(optimizer=_sgd(0.1), schedule=ScheduleSpec())
    return _experiment("learning_rate", base, variations=(Variation("optimizer.learning_rate", (0.001, 0.1, 3.0)),))


def _optimizers(base: RunConfig) -> Experiment:
    variants = (
        Variant("SGD", base.replace(optimizer=_sgd(0.01))),
        Variant("SGD + momentum 0.9", base.replace(optimizer=_sgd(0.01, 0.9))),
        Variant("Adam", base.replace(optimizer=OptimizerSpec(name="adam", learning_rate=1e-3))),
        Variant("RMSprop", base.replace(optimizer=OptimizerSpec(name="rmsprop", learning_rate=1e-3))),
    )
    return _experiment("optimizers", base, variants=variants)


def _initialization(base: RunConfig) -> Experiment:
    # A deep tanh stack: random_normal's small weights shrink the signal layer by layer.
    base = base.replace(layers=_stack(6, 128, "tanh"), optimizer=_sgd(0.05), l1=0.0, l2=0.0)
    return _experiment(
        "initialization", base, variations=(Variation("initializer", ("glorot_uniform", "he_normal", "random_normal")),)
    )


def _with_after_hidden(layers: tuple[LayerSpec, ...], extra: LayerSpec) -> tuple[LayerSpec, ...]:
    out: list[LayerSpec] = []
    for i, layer in enumerate(layers):
        out.append(layer)
        if layer.type in ("Dense", "Conv2D") and i < len(layers) - 1:
            out.append(extra)
    return tuple(out)


def _overfitting(base: RunConfig) -> Experiment:
    # A wide network on 1,000 samples memorizes them; the gap to validation shows it.
    layers = _stack(2, 512, "relu")
    base = _limited(base, 1000).replace(
        layers=layers, optimizer=OptimizerSpec(name="adam", learning_rate=1e-3), l1=0.0, l2=0.0,
        epochs=max(base.epochs, 20),
    )  # fmt: skip
    variants = (
        Variant("no regularization", base),
        Variant("L2 1e-3", base.replace(l2=1e-3)),
        Variant("dropout 0.3", base.replace(layers=_with_after_hidden(layers, LayerSpec("Dropout", rate=0.3)))),
        Variant("batch norm", base.replace(layers=_with_after_hidden(layers, LayerSpec("BatchNormalization")))),
    )
    return _experiment("overfitting", base, variants=variants)


def _activations(base: RunConfig) -> Experiment:
    base = base.replace(optimizer=_sgd(0.1), initializer="glorot_uniform", l1=0.0, l2=0.0)
    variants = tuple(
        Variant(f"{activation}, {depth} hidden layers", base.replace(layers=_stack(depth, 64, activation)))
        for depth in (2, 8)
        for activation in ("sigmoid", "relu")
    )
    return _experiment("activations", base, variants=variants)


BUILTIN: Final[dict[str, BuiltinExperiment]] = {
    spec.key: spec
    for spec in (
        BuiltinExperiment(
            "batch",
            "Batch vs mini-batch vs stochastic",
            "Full-batch descent takes one smooth step per epoch and barely moves in a few epochs, while "
            "stochastic descent steps after every sample: its loss falls fastest per epoch but zigzags. "
            "Mini-batches sit between, with nearly the progress per epoch of stochastic descent and far "
            "less noise and time per epoch.",
            "batch_size: full, 64, 1 (plain SGD at 0.05, on 2,000 samples)",
            _batch,
        ),
        BuiltinExperiment(
            "learning_rate",
            "Learning rate: too small, right, too large",
            "At 0.001 the loss creeps down and is still high when training ends; at 0.1 it falls quickly and "
            "settles. At 3.0 every step overshoots: the loss jumps up and becomes NaN within the first epoch.",
            "optimizer.learning_rate: 0.001, 0.1, 3.0 (plain SGD)",
            _learning_rate,
        ),
        BuiltinExperiment(
            "optimizers",
            "SGD vs momentum vs Adam vs RMSprop",
            "Plain SGD at 0.01 makes slow, steady progress; momentum builds up speed along consistent "
            "directions and gets much further in the same epochs. Adam and RMSprop scale each weight's step "
            "by its recent gradients and usually lead early, at the price of a noisier loss.",
            "the optimizer: SGD 0.01, SGD 0.01 with momentum 0.9, Adam 1e-3, RMSprop 1e-3",
            _optimizers,
        ),
        BuiltinExperiment(
            "initialization",
            "Initialization in a deep network",
            "In a six-layer tanh stack, Glorot and He initialization keep the signal's scale from layer to "
            "layer, so training starts at once. A plain random normal (standard deviation 0.05) shrinks it at "
            "every layer: the accuracy stays near chance and the early layers' gradients are tiny.",
            "initializer: glorot_uniform, he_normal, random_normal (6 x Dense 128 tanh, SGD 0.05)",
            _initialization,
        ),
        BuiltinExperiment(
            "overfitting",
            "Fighting overfitting",
            "Trained on 1,000 samples, the unregularized network drives its training loss towards zero while "
            "validation loss turns back up: it memorizes. L2, dropout and batch norm each narrow the gap "
            "between training and validation accuracy; compare their best validation accuracy and best epoch.",
            "regularization: none, L2 1e-3, dropout 0.3 after each hidden layer, batch norm after each hidden "
            "layer (2 x Dense 512 relu, Adam, 1,000 samples)",
            _overfitting,
        ),
        BuiltinExperiment(
            "activations",
            "Sigmoid vs ReLU in depth",
            "With two hidden layers, sigmoid and ReLU both learn, ReLU faster. With eight, the sigmoid "
            "network's early-layer gradients vanish (each sigmoid passes back at most a quarter of the "
            "gradient) and it stays near chance, while ReLU still trains.",
            "activation x depth: sigmoid or relu, 2 or 8 hidden Dense 64 layers (SGD 0.1)",
            _activations,
        ),
    )
}


def builtin_experiments() -> tuple[BuiltinExperiment, ...]:
    """Every built-in experiment, in the order a menu lists them."""
    return tuple(BUILTIN.values())


def builtin(key: str) -> BuiltinExperiment:
    """The built-in experiment called ``key``.

    Raises:
        ConfigError: naming the experiments there are.
    """
    if key not in BUILTIN:
        raise ConfigError("experiment", f"no built-in experiment {key!r}; choose one of: {', '.join(BUILTIN)}")
    return BUILTIN[key]
