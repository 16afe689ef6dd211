"""Benchmark: the training core's throughput against plain ``model.fit``.

Trains the MLP preset (784-512-256-128-10, Adam, batch 128) on MNIST through the core
(``model.training.train``: instrumented ``train_step`` with per-layer gradient and weight
norms, the streaming callback reporting every batch to a listener) and through plain
``keras.Sequential.fit`` with no callbacks, on the same data, batch size and seed,
alternating the two so that machine noise hits both alike. Throughput is measured per
epoch, excluding each run's first epoch (graph tracing and compilation).

Target: the core is within 5% of plain fit (ratio >= 0.95), with layer health on (update
ratios, dead ReLU units, saturation: always measured). Each round runs both, alternating
which goes first; the script prints the pooled medians and the spread of the per-round
ratios, then what rewriting ``batches.npz`` after every epoch costs against an epoch.

    python bench/train_overhead.py [--epochs 3] [--rounds 5] [--data ../shared/data/mnist.npz]
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


def _spread(values: list[float]) -> str:
    """Median, and the lowest and highest value, for people."""
    return f"{statistics.median(values):.3f} (range {min(values):.3f}-{max(values):.3f}, {len(values)} rounds)"


def batch_history_write_cost(layers: int, epoch_seconds: float, batches_per_epoch: int) -> None:
    """What rewriting ``batches.npz`` after every epoch costs, against the epoch's own time."""
    import tempfile

    from model.batches import BatchLog
    from model.events import BatchRecord
    from model.runfolder.batches import write_batches

    log = BatchLog(tuple(f"L{i}" for i in range(layers)))
    norms = np.linspace(0.1, 1.0, layers)
    with tempfile.TemporaryDirectory() as folder:
        for epochs in (10, 50, 200):
            while len(log) < epochs * batches_per_epoch:
                n = len(log)
                log.append(BatchRecord(0, n // batches_per_epoch, n % batches_per_epoch, n, 0.5, 0.9, 1e-3,
                                       norms, norms, 0.0, 0.0, 0.0, norms, norms, norms))  # fmt: skip
            history = log.history()
            started = time.perf_counter()
            write_batches(Path(folder) / "batches.npz", history)
            seconds = time.perf_counter() - started
            size = (Path(folder) / "batches.npz").stat().st_size
            print(
                f"batches.npz after {epochs} epochs ({len(history):,} rows, {size / 1e6:.1f} MB): written in "
                f"{seconds * 1000:.0f} ms = {seconds / epoch_seconds:.2%} of an epoch ({epoch_seconds:.1f} s)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is discarded)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of plain and core")
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
    print(
        f"MLP preset on {n:,} MNIST samples, batch {config.batch_size}, {args.epochs} epochs x {args.rounds} rounds; "
        "the core measures gradient norms, update ratios, dead ReLU units and saturation"
    )

    rates: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("plain", "core")}
    # Ratio of the round's medians: plain and core run back to back, so a busy spell of the
    # machine tends to hit both of a round alike.
    round_ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for r in range(args.rounds):
        # Alternate which goes first, so neither always inherits a warm (or busy) machine.
        order = ("plain", "core") if r % 2 == 0 else ("core", "plain")
        clocks: dict[str, _Clock] = {}
        batches = 0
        for name in order:
            if name == "plain":
                clocks[name] = plain_fit(config, x, y, args.epochs)
            else:
                clocks[name], batches = core_fit(config, split, args.epochs)
        for name, clock in clocks.items():
            # The first epoch includes graph tracing: left out.
            rates[name]["wall"] += [n / s for s in clock.wall[1:]]
            rates[name]["cpu"] += [n / s for s in clock.cpu[1:]]
        for kind in ("wall", "cpu"):
            plain = statistics.median(n / s for s in getattr(clocks["plain"], kind)[1:])
            core = statistics.median(n / s for s in getattr(clocks["core"], kind)[1:])
            round_ratios[kind].append(core / plain)
        print(
            f"round {r + 1} ({order[0]} first): plain {statistics.median(rates['plain']['wall'][-args.epochs + 1:]):,.0f} "
            f"samples/s · core {statistics.median(rates['core']['wall'][-args.epochs + 1:]):,.0f} samples/s · "
            f"ratio wall {round_ratios['wall'][-1]:.3f}, cpu {round_ratios['cpu'][-1]:.3f} ({batches} batch records streamed)"
        )
    for kind, unit in (("wall", "samples/s"), ("cpu", "samples per CPU-second")):
        plain = statistics.median(rates["plain"][kind])
        core = statistics.median(rates["core"][kind])
        ratio = core / plain
        print(
            f"{kind:>4}: plain {plain:,.0f} · core {core:,.0f} {unit} (medians of {len(rates['core'][kind])} epochs) · "
            f"ratio core/plain {ratio:.3f} (target >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'}); "
            f"per-round ratio {_spread(round_ratios[kind])}"
        )
    epoch_seconds = n / statistics.median(rates["core"]["wall"])
    steps = -(-n // int(config.batch_size))
    batch_history_write_cost(4, epoch_seconds, steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
