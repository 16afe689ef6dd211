"""Benchmark: does the learning-rate finder's suggestion train the MLP preset as well as its own rate?

Runs the range test (:func:`model.lr_finder.run_range_test`, its default range and
batches) on the MLP preset (784-512-256-128-10, Adam at 1e-3, batch 128) with full MNIST,
prints the suggested rate and its ratio to 1e-3, then trains the preset twice, at its own
rate and at the suggested one, with the same seed, split and epochs (the preset's), and
prints both runs' validation and test accuracies.

It does so for ``--seeds`` seeds (the preset's and the ones after it; each seed its own
split, initial weights, range test and suggestion), and compares the mean test accuracies.
One seed does not settle it: on the preset's seed, 1e-3 gives 0.9791 and 1.06e-3 gives
0.9743, so two rates 6% apart differ by more than the gap being looked for.

``--control F`` also trains each seed at F times the preset's rate (say 1.01): a change
that should not matter, so its differences show how far two runs of one seed part by
chance once their rates differ at all (the trajectories diverge), the yardstick for the
suggestion's difference.

Targets: every suggestion is within a factor of 3 of 1e-3 (Adam's usual rate, and the
preset's), and the runs at the suggested rates reach at least the preset rate's mean test
accuracy in the same epochs.

    python bench/lr_finder_accuracy.py [--data ../shared/data/mnist.npz] [--epochs N] [--seeds 3] [--control 1.01]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import DataSpec, RunConfig, load_preset  # noqa: E402
from model.configpath import with_value  # noqa: E402
from model.data import Split, prepare  # noqa: E402
from model.lr_finder import run_range_test  # noqa: E402
from model.training import train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist.npz"
ADAM_RATE = 1e-3
WITHIN = 3.0  # the suggestion counts as right within this factor of ADAM_RATE


def accuracies(config: RunConfig, split: Split) -> tuple[float, float]:
    """(last epoch's validation accuracy, test accuracy) of a run of ``config``."""
    started = time.perf_counter()
    result = train(config, split)
    last = result.history[-1]
    assert result.evaluation is not None and last.val_accuracy is not None
    print(
        f"  learning rate {config.optimizer.learning_rate:.3g}: validation {last.val_accuracy:.4f}, "
        f"test {result.evaluation.accuracy:.4f} after {len(result.history)} epochs "
        f"({time.perf_counter() - started:.0f} s)"
    )
    return last.val_accuracy, result.evaluation.accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST .npz")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: the preset's)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds to compare over (default 3)")
    parser.add_argument(
        "--control", type=float, default=None, help="also train at this factor of the preset's rate (e.g. 1.01): chance's yardstick"
    )
    args = parser.parse_args()
    if not Path(args.data).is_file():
        print(f"skip: {args.data} not found (needs the shared MNIST file)")
        return 0

    base = load_preset("mlp")
    base = base.replace(data=DataSpec(name="mnist", path=args.data))
    if args.epochs is not None:
        base = base.replace(epochs=args.epochs)
    print(f"MLP preset ({base.optimizer.name}, rate {base.optimizer.learning_rate:g}, batch {base.batch_size}, "
          f"{base.epochs} epochs) on MNIST, seeds {base.seed} to {base.seed + args.seeds - 1}")  # fmt: skip
    preset_tests: list[float] = []
    suggested_tests: list[float] = []
    control_tests: list[float] = []
    all_within = True
    for seed in range(base.seed, base.seed + max(1, args.seeds)):
        config = base.replace(seed=seed)
        prepared = prepare(config)
        split = prepared.split
        started = time.perf_counter()
        test = run_range_test(config, split)
        print(f"seed {seed}: {prepared.description}; range test ({time.perf_counter() - started:.0f} s): {test.summary()}")
        if test.suggestion is None:
            print("no suggestion: target NOT met")
            return 0
        rate = test.suggestion.rate
        ratio = rate / ADAM_RATE
        within = 1 / WITHIN <= ratio <= WITHIN
        all_within = all_within and within
        print(f"  suggested {rate:.3g} = {ratio:.2f} x {ADAM_RATE:g} (within a factor of {WITHIN:g}: {'yes' if within else 'NO'})")
        _, preset_test = accuracies(config, split)
        _, suggested_test = accuracies(with_value(config, "optimizer.learning_rate", rate), split)
        preset_tests.append(preset_test)
        suggested_tests.append(suggested_test)
        if args.control is not None:
            control_rate = args.control * config.optimizer.learning_rate
            _, control_test = accuracies(with_value(config, "optimizer.learning_rate", control_rate), split)
            control_tests.append(control_test)
        print(f"  seed {seed}: test accuracy {suggested_test:.4f} at the suggestion, {preset_test:.4f} at the preset's rate "
              f"({suggested_test - preset_test:+.4f})")  # fmt: skip

    differences = [s - p for s, p in zip(suggested_tests, preset_tests, strict=True)]
    spread = statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else math.nan
    preset_mean, suggested_mean = statistics.mean(preset_tests), statistics.mean(suggested_tests)
    reached = suggested_mean >= preset_mean
    print(f"suggestions within a factor of {WITHIN:g} of {ADAM_RATE:g}: {'met' if all_within else 'NOT met'}")
    print(
        f"mean test accuracy over {len(differences)} seeds: {suggested_mean:.4f} at the suggestions vs {preset_mean:.4f} "
        f"at the preset's rate ({suggested_mean - preset_mean:+.4f}, standard error of the difference {spread:.4f}): "
        f"{'reached' if reached else 'NOT reached'}"
    )
    if control_tests:
        chance = [c - p for c, p in zip(control_tests, preset_tests, strict=True)]
        chance_sd = statistics.stdev(chance) if len(chance) > 1 else math.nan
        print(
            f"control at {args.control:g} x the preset's rate: mean test accuracy {statistics.mean(control_tests):.4f} "
            f"({statistics.mean(chance):+.4f}; per seed {min(chance):+.4f} to {max(chance):+.4f}, standard deviation "
            f"{chance_sd:.4f}, so chance alone gives a {len(chance)}-seed mean difference a standard error of about "
            f"{chance_sd / math.sqrt(len(chance)):.4f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
