"""Export a run configuration as a standalone Python script that uses plain Keras.

The script rebuilds the same layer stack (names, initializers, regularizers), optimizer,
loss, learning-rate schedule, early stopping and split, trains, evaluates on the test
split and saves ``model.keras``. It imports only Keras, NumPy and scikit-learn, never
this project, so it can be shared, read and run anywhere. Run on the same data and seed it
trains to a comparable accuracy (not bit-identical: the project's training step also
records gradient norms, and stroke-thickness augmentation has no Keras layer).

A run whose learning rate was changed while paused is exported as it happened: the
changes (global step and rate) go into the script as ``RATE_CHANGES``, and a callback
sets them at those steps, rescaling the schedule's base the way the app does (later
epochs follow the schedule from the new rate). What it cannot repeat it says in the
script's docstring: steps known only to within the run's reporting interval, and a run
that continued an earlier model (the script trains from scratch).
"""

from __future__ import annotations

from collections.abc import Sequence

from model.config import LayerSpec, RunConfig
from model.shapes import layer_name
from model.words import count

_TEMPLATE = '''#!/usr/bin/env python3
"""{title}

Exported by Gradient Lab from the configuration {name!r}. Plain Keras: this script does
not need Gradient Lab. Run it with a Keras-layout MNIST .npz, or let Keras download the data:

    python {filename} [--data mnist.npz] [--epochs N] [--limit N] [--out model.keras]
{notes}"""

import argparse
import math

import keras
import numpy as np
from sklearn.model_selection import train_test_split

SEED = {seed}
EPOCHS = {epochs}
BATCH_SIZE = {batch_size}  # None = the whole training set in one batch (full-batch descent)
SPLIT = {{"train": {train!r}, "validation": {validation!r}, "test": {test!r}}}
STRATIFIED = {stratified}
OFFICIAL_TEST = {official_test}  # test on the dataset's own test set (x_test), as published results do
DATASET = {dataset!r}


def load_data(path, limit):
    """All images pooled (train + test), scaled to [0, 1] with a channel axis.

    Returns ``(x, y, is_test)``: ``is_test`` marks the samples of the official test set.
    """
    if path:
        with np.load(path, allow_pickle=False) as data:
            (a, b), (c, d) = (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    elif DATASET == "fashion_mnist":
        (a, b), (c, d) = keras.datasets.fashion_mnist.load_data()
    else:
        (a, b), (c, d) = keras.datasets.mnist.load_data()
    x, y = np.concatenate([a, c]), np.concatenate([b, d])
    is_test = np.arange(len(x)) >= len(a)
    x = (x.astype("float32") / 255.0)[..., None]
    y = y.astype("int64")
    if limit and limit < len(x):
        x, _, y, _, is_test, _ = train_test_split(x, y, is_test, train_size=limit, random_state=SEED, stratify=y)
    return x, y, is_test


def split(x, y, is_test):
    if OFFICIAL_TEST:
        share = SPLIT["validation"] / (SPLIT["train"] + SPLIT["validation"])
        x_rest, y_rest = x[~is_test], y[~is_test]
        if share == 0:
            return (x_rest, y_rest), (x_rest[:0], y_rest[:0]), (x[is_test], y[is_test])
        x_tr, x_val, y_tr, y_val = train_test_split(
            x_rest, y_rest, test_size=share, random_state=SEED, stratify=y_rest if STRATIFIED else None
        )
        return (x_tr, y_tr), (x_val, y_val), (x[is_test], y[is_test])
    strat = y if STRATIFIED else None
    rest = SPLIT["validation"] + SPLIT["test"]
    if rest == 0:
        empty = x[:0], y[:0]
        return (x, y), empty, empty
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=rest, random_state=SEED, stratify=strat)
    if SPLIT["test"] == 0:
        return (x_tr, y_tr), (x_rest, y_rest), (x_rest[:0], y_rest[:0])
    if SPLIT["validation"] == 0:
        return (x_tr, y_tr), (x_rest[:0], y_rest[:0]), (x_rest, y_rest)
    strat = y_rest if STRATIFIED else None
    x_val, x_te, y_val, y_te = train_test_split(
        x_rest, y_rest, test_size=SPLIT["test"] / rest, random_state=SEED + 1, stratify=strat
    )
    return (x_tr, y_tr), (x_val, y_val), (x_te, y_te)


def build_model(input_shape, num_classes):
    keras.utils.set_random_seed(SEED)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="image"),
{augmentation}{layers}
        ],
        name={model_name!r},
    )


def schedule(epoch, lr):
    """The learning rate for ``epoch`` (0-based): {schedule_doc}."""
    base = {base}
{schedule_body}
{rate_changes}

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Keras-layout .npz (x_train, y_train, x_test, y_test)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit", type=int, help="use a stratified subset of this many samples")
    parser.add_argument("--out", default="model.keras")
    args = parser.parse_args()

    x, y, is_test = load_data(args.data, args.limit)
    num_classes = int(y.max()) + 1
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(x, y, is_test)
    onehot = lambda labels: keras.utils.to_categorical(labels, num_classes)  # noqa: E731
    print(f"train {{len(x_train)}} · validation {{len(x_val)}} · test {{len(x_test)}}")

    model = build_model(x_train.shape[1:], num_classes)
    model.compile(optimizer={optimizer}, loss={loss!r}, metrics=["accuracy"])
    callbacks = [{callbacks}]
    model.fit(
        x_train,
        onehot(y_train),
        batch_size=BATCH_SIZE or len(x_train),
        epochs=args.epochs,
        validation_data=(x_val, onehot(y_val)) if len(x_val) else None,
        shuffle=True,
        callbacks=[c for c in callbacks if c is not None],
        verbose=2,
    )
    if len(x_test):
        loss, accuracy = model.evaluate(x_test, onehot(y_test), verbose=0)
        print(f"test accuracy {{accuracy:.4f}} · test loss {{loss:.4f}}")
    model.save(args.out)
    print(f"saved {{args.out}}")


if __name__ == "__main__":
    main()
'''


def _regularizer(spec: LayerSpec, config: RunConfig) -> str:
    l1 = config.l1 if spec.l1 is None else spec.l1
    l2 = config.l2 if spec.l2 is None else spec.l2
    if l1 == 0 and l2 == 0:
        return "None"
    return f"keras.regularizers.L1L2(l1={l1!r}, l2={l2!r})"


def _layer_code(index: int, spec: LayerSpec, config: RunConfig) -> str:
    name = layer_name(index, spec)
    init = spec.initializer or config.initializer
    if spec.type == "Dense":
        return (
            f"keras.layers.Dense({spec.units}, activation={spec.activation!r}, kernel_initializer={init!r}, "
            f"kernel_regularizer={_regularizer(spec, config)}, name={name!r})"
        )
    if spec.type == "Conv2D":
        return (
            f"keras.layers.Conv2D({spec.filters}, {spec.kernel_size}, strides={spec.strides}, padding={spec.padding!r}, "
            f"activation={spec.activation!r}, kernel_initializer={init!r}, "
            f"kernel_regularizer={_regularizer(spec, config)}, name={name!r})"
        )
    if spec.type in ("MaxPooling2D", "AveragePooling2D"):
        return f"keras.layers.{spec.type}({spec.pool_size}, padding={spec.padding!r}, name={name!r})"
    if spec.type == "Dropout":
        return f"keras.layers.Dropout({spec.rate!r}, seed=SEED + {index}, name={name!r})"
    return f"keras.layers.{spec.type}(name={name!r})"


def _optimizer_code(config: RunConfig) -> str:
    o = config.optimizer
    args = [f"learning_rate={o.learning_rate!r}"]
    if o.clipnorm is not None:
        args.append(f"clipnorm={o.clipnorm!r}")
    if o.weight_decay > 0:
        args.append(f"weight_decay={o.weight_decay!r}")
    if o.name == "sgd":
        args += [f"momentum={o.momentum!r}", f"nesterov={o.nesterov!r}"]
        cls = "SGD"
    elif o.name in ("adam", "adamw", "nadam", "adamax"):
        args += [f"beta_1={o.beta_1!r}", f"beta_2={o.beta_2!r}", f"epsilon={o.epsilon!r}"]
        cls = {"adam": "Adam", "adamw": "AdamW", "nadam": "Nadam", "adamax": "Adamax"}[o.name]
    elif o.name == "rmsprop":
        args += [f"rho={o.rho!r}", f"momentum={o.momentum!r}", f"epsilon={o.epsilon!r}"]
        cls = "RMSprop"
    else:
        args.append(f"epsilon={o.epsilon!r}")
        cls = "Adagrad"
    return f"keras.optimizers.{cls}({', '.join(args)})"


def _schedule(config: RunConfig) -> tuple[str, str]:
    s = config.schedule
    if s.kind == "step":
        return f"x{s.factor:g} every {count(s.step_epochs, 'epoch')}", f"    return base * {s.factor!r} ** (epoch // {s.step_epochs})"
    if s.kind == "exponential":
        return f"x{s.factor:g} every epoch", f"    return base * {s.factor!r} ** epoch"
    if s.kind == "cosine":
        body = (
            f"    floor = min({s.min_learning_rate!r} / base, 1.0)\n"
            f"    progress = min(1.0, epoch / max(1, EPOCHS))\n"
            f"    return max(base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))), "
            f"min({s.min_learning_rate!r}, base))"
        )
        return f"cosine decay to {s.min_learning_rate:g}", body
    return "constant (plateau reductions are made by ReduceLROnPlateau)", "    return lr if epoch else base"


def _callbacks(config: RunConfig) -> str:
    items = ["keras.callbacks.LearningRateScheduler(schedule)"]
    s = config.schedule
    if s.kind == "plateau":
        items.append(
            f"keras.callbacks.ReduceLROnPlateau(monitor='val_loss' if SPLIT['validation'] else 'loss', "
            f"factor={s.factor!r}, patience={s.patience}, min_delta={s.min_delta!r}, min_lr={s.min_learning_rate!r})"
        )
    es = config.early_stopping
    if es.enabled:
        monitor = es.monitor if config.split.validation > 0 or not es.monitor.startswith("val_") else es.monitor[4:]
        items.append(
            f"keras.callbacks.EarlyStopping(monitor={monitor!r}, patience={es.patience}, min_delta={es.min_delta!r}, "
            f"restore_best_weights={es.restore_best_weights!r})"
        )
    return ", ".join(items)


def _augmentation(config: RunConfig) -> str:
    a = config.augmentation
    if not a.enabled:
        return ""
    lines = ["            # Training-time augmentation: these layers are inactive at inference.\n"]
    if a.shift > 0:
        lines.append(
            f"            keras.layers.RandomTranslation({a.shift!r}, {a.shift!r}, fill_mode='constant', seed=SEED),\n"
        )
    if a.rotation > 0:
        lines.append(f"            keras.layers.RandomRotation({a.rotation / 360.0!r}, fill_mode='constant', seed=SEED + 1),\n")
    if a.zoom > 0:
        lines.append(
            f"            keras.layers.RandomZoom(({-a.zoom!r}, {a.zoom!r}), fill_mode='constant', seed=SEED + 2),\n"
        )
    if a.elastic > 0 or a.stroke_width > 0:
        lines.append(
            "            # Not exported: elastic distortions and stroke-width variation have no Keras layer.\n"
        )
    return "".join(lines)


_RATE_CHANGES = """
# The learning rate was changed while the run was paused in Gradient Lab: from each global
# step (batch, counted from 0) on, the rate set then. Later epochs follow the schedule from it.
RATE_CHANGES = {changes}
BASE_RATE = [{learning_rate!r}]  # the schedule's base rate; a change rescales it


class RateChangesWhilePaused(keras.callbacks.Callback):
    \"\"\"Sets the learning rates of RATE_CHANGES before the batches they were set at.\"\"\"

    def __init__(self):
        super().__init__()
        self.step = 0
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        rate = RATE_CHANGES.get(self.step)
        if rate is not None:
            current = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            scheduled = schedule(self.epoch, current)
            BASE_RATE[0] = BASE_RATE[0] * rate / scheduled if scheduled else rate
            self.model.optimizer.learning_rate.assign(rate)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
"""


def _rate_changes_notes(changes: Sequence[tuple[int, float]], report_every: int, resumed: bool) -> str:
    if not changes:
        return ""
    listed = "; ".join(f"{rate:g} from step {step:,}" for step, rate in changes)
    notes = [f"The run changed its learning rate while paused ({listed}): RateChangesWhilePaused repeats it."]
    if report_every > 1:
        notes.append(
            f"The run reported every {count(report_every, 'batch')}, so those steps are the first reported "
            "after each change: they may be late by as much."
        )
    if resumed:
        notes.append(
            "The run continued an earlier model; this script trains from scratch, so it cannot repeat that "
            "run, only its configuration and changes."
        )
    return "\n" + "\n".join(notes) + "\n"


def export_script(
    config: RunConfig,
    filename: str = "train_model.py",
    *,
    rate_changes: Sequence[tuple[int, float]] = (),
    resumed: bool = False,
) -> str:
    """The source of a standalone plain-Keras training script for ``config``.

    Args:
        config: the configuration to train.
        filename: what the script calls itself in its usage line.
        rate_changes: the run's learning-rate changes made while paused, as (global step,
            rate): the script repeats them.
        resumed: the run continued an earlier model (the script says it cannot repeat that).
    """
    loss = {"crossentropy": "categorical_crossentropy", "mse": "mean_squared_error", "hinge": "categorical_hinge"}[
        config.loss
    ]
    schedule_doc, schedule_body = _schedule(config)
    layers = "".join(f"            {_layer_code(i, spec, config)},\n" for i, spec in enumerate(config.layers))
    safe_name = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in config.name).strip("_")[:60] or "model"
    return _TEMPLATE.format(
        title=f"Train {config.name!r} with plain Keras.".replace('"', "'"),
        name=config.name,
        filename=filename,
        seed=config.seed,
        epochs=config.epochs,
        batch_size="None" if config.batch_size == "full" else config.batch_size,
        train=config.split.train,
        validation=config.split.validation,
        test=config.split.test,
        stratified=config.split.stratified,
        official_test=config.split.official_test and config.data.name in ("mnist", "fashion_mnist"),
        dataset=config.data.name,
        augmentation=_augmentation(config),
        layers=layers.rstrip(",\n") + ",",
        model_name=safe_name,
        base="BASE_RATE[0]" if rate_changes else repr(config.optimizer.learning_rate),
        schedule_doc=schedule_doc,
        schedule_body=schedule_body,
        rate_changes=_RATE_CHANGES.format(
            changes=dict(rate_changes), learning_rate=config.optimizer.learning_rate
        ) if rate_changes else "",
        notes=_rate_changes_notes(rate_changes, config.report_every, resumed),
        optimizer=_optimizer_code(config),
        loss=loss,
        callbacks=_callbacks(config) + (", RateChangesWhilePaused()" if rate_changes else ""),
    )
