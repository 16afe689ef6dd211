"""Benchmark: the training core's throughput against plain ``model.fit``.

Trains the MLP preset (784-512-256-128-10, Adam, batch 128) on MNIST through the core
(``model.training.train``: instrumented ``train_step`` with per-layer gradient and weight
norms, the streaming callback reporting every batch to a listener) and through plain
``keras.Sequential.fit`` with no callbacks, on the same data, batch size and seed,
alternating the two so that machine noise hits both alike. Throughput is measured per
epoch, excluding each run's first epoch (graph tracing and compilation).

Target: the core is within 5% of plain fit (ratio >= 0.95).

    python bench/train_overhead.py [--epochs 3] [--rounds 3] [--data ../shared/data/mnist.npz]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from model.builder import make_loss, make_optimizer, one_hot  # noqa: E402
from model.config import DataSpec, SplitSpec, load_preset  # noqa: E402
from model.data import load_dataset, split_dataset  # noqa: E402
from model.events import NullListener  # noqa: E402
from model.training import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist.npz"


class _Clock:
    """Wall and process-CPU time between consecutive epoch ends.

    CPU time is the steadier figure on a shared machine: other processes stretch wall
    time but not the work this process does per sample.
    """

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._last = (time.perf_counter(), time.process_time())

    def tick(self) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall.append(now[0] - self._last[0])
        self.cpu.append(now[1] - self._last[1])
        self._last = now


class _EpochTimer(keras.callbacks.Callback):
    """Epoch times for the plain baseline (epoch-level only: no per-batch hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = _Clock()

    def on_epoch_end(self, epoch: int, logs: object = None) -> None:
        self.clock.tick()


class _CountingListener(NullListener):
    def __init__(self) -> None:
        self.batches = 0
        self.clock = _Clock()

    def on_batch(self, record: object) -> None:
        self.batches += 1

    def on_epoch(self, record: object) -> None:
        self.clock.tick()


def plain_fit(config, x: np.ndarray, y: np.ndarray, epochs: int) -> _Clock:
    keras.utils.set_random_seed(config.seed)
    layers: list[object] = [keras.Input(shape=x.shape[1:])]
    for spec in config.layers:
        if spec.type == "Flatten":
            layers.append(keras.layers.Flatten())
        else:
            layers.append(
                keras.layers.Dense(spec.units, activation=spec.activation, kernel_initializer=config.initializer)
            )
    model = keras.Sequential(layers)
    model.compile(optimizer=make_optimizer(config.optimizer), loss=make_loss(config.loss), metrics=["accuracy"])
    timer = _EpochTimer()
    model.fit(x, one_hot(y, 10), batch_size=config.batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[timer])
    return timer.clock


def core_fit(config, split, epochs: int) -> tuple[_Clock, int]:
    listener = _CountingListener()
    train(config.replace(epochs=epochs), split, listener=listener, evaluate=False)
    return listener.clock, listener.batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is discarded)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of plain and core")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST .npz")
    args = parser.parse_args()
    if not Path(args.data).is_file():
        print(f"skip: {args.data} not found (needs the shared MNIST file)")
        return 0

    config = load_preset("mlp")
    dataset = load_dataset(DataSpec(name="mnist", path=args.data))
    # All 60,000 training-sized samples go to training; no validation, no test: the plain
    # baseline does the same work.
    split = split_dataset(dataset, SplitSpec(train=60000 / 70000, validation=0.0, test=10000 / 70000), config.seed)
    x, y = split.x_train, split.y_train
    n = len(x)
    print(f"MLP preset on {n:,} MNIST samples, batch {config.batch_size}, {args.epochs} epochs x {args.rounds} rounds")

    rates: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("plain", "core")}
    for r in range(args.rounds):
        plain_clock = plain_fit(config, x, y, args.epochs)
        core_clock, batches = core_fit(config, split, args.epochs)
        for name, clock in (("plain", plain_clock), ("core", core_clock)):
            # The first epoch includes graph tracing: left out.
            rates[name]["wall"] += [n / s for s in clock.wall[1:]]
            rates[name]["cpu"] += [n / s for s in clock.cpu[1:]]
        print(
            f"round {r + 1}: plain {statistics.median(rates['plain']['wall'][-args.epochs + 1:]):,.0f} samples/s · "
            f"core {statistics.median(rates['core']['wall'][-args.epochs + 1:]):,.0f} samples/s "
            f"({batches} batch records streamed)"
        )
    for kind, unit in (("wall", "samples/s"), ("cpu", "samples per CPU-second")):
        plain = statistics.median(rates["plain"][kind])
        core = statistics.median(rates["core"][kind])
        ratio = core / plain
        print(
            f"{kind:>4}: plain {plain:,.0f} · core {core:,.0f} {unit} (medians of {len(rates['core'][kind])} epochs) · "
            f"ratio core/plain {ratio:.3f} (target >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
