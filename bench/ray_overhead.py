"""Benchmark: a 4-configuration comparison on Ray against the same four runs back to back.

The comparison varies the MLP preset's optimizer (sgd, adam, rmsprop, nadam) on an MNIST
subset. The baseline trains the four trials one after another in this process, without
Ray (``engine="in-process"``: TensorFlow already imported, all cores to one run). Then
a local Ray instance is started (its start-up timed on its own) and the same comparison
runs through the Ray engine, twice:

- concurrent (the default a sweep uses on this machine): ``--max-concurrent`` trials at
  once (2), each reserving ``--cpus-per-trial`` CPUs (1) and so running TensorFlow with
  that many threads: two one-thread runs use two cores better than one two-thread run
  does, which pays for each trial's worker process importing TensorFlow;
- sequential: one trial at a time with every core (the baseline's shape), which shows
  the engine's fixed cost per trial (a worker process, TensorFlow's import, the data from
  the object store, the records through the hub, the run folder shipped home).

Each figure is the wall-clock time from ``start_comparison`` to its end, run folders and
the comparison folder included; the shapes run in interleaved rounds and the best of
each counts (the machine is shared). Target: concurrent Ray / baseline <= 1.15.

    python bench/ray_overhead.py [--limit 20000] [--epochs 10] [--max-concurrent 2]
        [--cpus-per-trial 1] [--rounds 2] [--skip-sequential] [--data ../shared/data/mnist.npz]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import DataSpec, load_preset  # noqa: E402
from model.experiments import start_comparison  # noqa: E402
from model.experiments.spec import Experiment, experiment_from_vary  # noqa: E402
from model.experiments.table import TrialState  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist.npz"


def _experiment(args: argparse.Namespace) -> Experiment:
    base = load_preset("mlp")
    data = DataSpec(name="mnist", path=str(args.data) if args.data.is_file() else None, limit=args.limit)
    base = base.replace(data=data, epochs=args.epochs)
    return experiment_from_vary(base, ["optimizer.name=sgd,adam,rmsprop,nadam"])


def _timed(experiment: Experiment, out: Path, **options: object) -> float:
    started = time.perf_counter()
    comparison = start_comparison(experiment, out_dir=out, **options)  # type: ignore[arg-type]
    comparison.wait()
    seconds = time.perf_counter() - started
    if comparison.failure is not None:
        raise SystemExit(f"the comparison failed: {comparison.failure.message}")
    states = [row.state for row in comparison.results().rows]
    if states != [TrialState.FINISHED] * len(states):
        raise SystemExit(f"not every trial finished: {[(r.label, str(r.state), r.message) for r in comparison.results().rows]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20000, help="MNIST samples (stratified subset)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every shape (best one counts)")
    parser.add_argument("--skip-sequential", action="store_true", help="skip the one-at-a-time Ray figure")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    experiment = _experiment(args)
    print(f"4 trials ({', '.join(t.label for t in experiment.trials)}), MLP preset, {args.limit:,} samples, "
          f"{args.epochs} epochs; {os.cpu_count()} CPUs")  # fmt: skip

    import tensorflow as tf  # a running app has TensorFlow loaded before its first run

    del tf
    import ray

    from model.experiments.ray_driver import init_local

    started = time.perf_counter()
    init_local()
    print(f"local Ray instance start-up: {time.perf_counter() - started:.1f} s (in none of the figures below)")
    cpus = float(os.cpu_count() or 1)
    shapes = {
        "in process": {"engine": "in-process"},
        f"Ray {args.max_concurrent} at once x {args.cpus_per_trial:g} CPU": {
            "engine": "ray", "max_concurrent": args.max_concurrent, "cpus_per_trial": args.cpus_per_trial,
        },
    }  # fmt: skip
    if not args.skip_sequential:
        shapes[f"Ray 1 at once x {cpus:g} CPUs"] = {"engine": "ray", "max_concurrent": 1, "cpus_per_trial": cpus}
    times: dict[str, list[float]] = {name: [] for name in shapes}
    try:
        with tempfile.TemporaryDirectory(prefix="ray-overhead-") as tmp:
            # Interleaved rounds, so that the shared machine's load hits every shape alike.
            for round_ in range(args.rounds):
                for name, options in shapes.items():
                    seconds = _timed(experiment, Path(tmp) / f"{round_}-{list(shapes).index(name)}", **options)
                    times[name].append(seconds)
                    print(f"  round {round_ + 1}: {name:<24} {seconds:7.1f} s", flush=True)
    finally:
        ray.shutdown()
    baseline = min(times["in process"])
    print(f"best of {args.rounds} rounds (wall-clock, comparison start to end, folders written):")
    for name, values in times.items():
        ratio = min(values) / baseline
        target = "   (target <= 1.15)" if name.startswith(f"Ray {args.max_concurrent} at once") else ""
        print(f"  {name:<24} {min(values):7.1f} s   ratio {ratio:.3f}   median {statistics.median(values):.1f} s{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
