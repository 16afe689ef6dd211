"""The ``sweep`` command: a comparison from the command line, on Ray or in this process.

    python main.py sweep --config FILE (--vary PATH=V1,V2,... [--vary ...] | --experiment NAME)
        [--data PATH] [--epochs N] [--limit N] [--target ACC] [--max-concurrent K]
        [--cpus-per-trial N] [--address ADDR] [--engine ray|in-process] [--out DIR] [--resume]

Everything is checked before anything starts (every ``--vary`` path and value, the
experiment's name, the output folder): a problem ends with one ``error: <path>: <what is
allowed>`` line and exit status 2. While the trials run, one line per trial says when it
starts (and where) and how it ended. Ctrl+C stops every trial after its current batch and
still writes the comparison folder (``results.csv`` marks the trials that did not end as
stopped; ``--resume`` with the same ``--out`` runs them again). Exit status: 0 when every
trial ended, 1 when one failed, 130 after Ctrl+C.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from model.config import RunConfig, load_config
from model.configpath import with_values
from model.errors import ConfigError, ProjectError
from model.events import EpochRecord, RunFinished
from model.experiments.builtin import BUILTIN, builtin
from model.experiments.engine import ENGINES, Comparison, start_comparison
from model.experiments.link import NullComparisonListener
from model.experiments.recorder import ComparisonState, TrialRecord, TrialUpdate
from model.experiments.spec import DEFAULT_TARGET_ACCURACY, Experiment, experiment_from_vary
from model.experiments.store import PLOT_FILE, RESULTS_FILE
from model.experiments.table import TrialState


class ConsoleComparisonListener(NullComparisonListener):
    """One line per trial start and end, and the engine's notices (from the driver thread)."""

    def __init__(self, stream: TextIO, experiment: Experiment) -> None:
        self.stream = stream
        self.trials = experiment.trials
        self.last_epoch: dict[int, EpochRecord] = {}
        self.finished: dict[int, RunFinished] = {}

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def on_notice(self, text: str) -> None:
        self._say(f"note: {text}")

    def on_record(self, trial_id: int, record: TrialRecord) -> None:
        if isinstance(record, EpochRecord) and not record.partial:
            self.last_epoch[trial_id] = record
        elif isinstance(record, RunFinished):
            self.finished[trial_id] = record

    def on_trial_state(self, update: TrialUpdate) -> None:
        trial = self.trials[update.trial_id]
        head = f"[{update.trial_id + 1}/{len(self.trials)}] {trial.label}"
        if update.state is TrialState.RUNNING:
            self._say(f"{head}: {update.message or 'running'}")
            return
        if not update.state.over:
            return
        parts = [str(update.state)]
        epoch = self.last_epoch.get(update.trial_id)
        if epoch is not None:
            parts.append(f"{epoch.epoch + 1} epochs")
            if epoch.val_accuracy is not None:
                parts.append(f"val_acc {epoch.val_accuracy:.4f}")
        finished = self.finished.get(update.trial_id)
        if finished is not None and finished.test_accuracy is not None:
            parts.append(f"test_acc {finished.test_accuracy:.4f}")
        if update.message:
            parts.append(update.message)
        self._say(f"{head}: {' · '.join(parts)}")


def _overrides(args: argparse.Namespace, base: RunConfig) -> dict[str, object]:
    changes: dict[str, object] = {}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.limit is not None:
        changes["data.limit"] = args.limit
    if args.data is not None:
        if not Path(args.data).expanduser().exists():
            raise ProjectError(f"--data: {args.data} does not exist; give a dataset file or folder")
        changes["data.path"] = args.data
        if base.data.name not in ("mnist", "fashion_mnist"):
            changes["data.name"] = "file"
    return changes


def build_experiment(args: argparse.Namespace) -> Experiment:
    """The experiment the arguments describe, validated (every trial), before anything runs.

    Raises:
        ProjectError: naming the bad argument, path or value.
    """
    base = load_config(args.config)
    target = DEFAULT_TARGET_ACCURACY if args.target is None else args.target
    changes = _overrides(args, base)
    if args.experiment and args.vary:
        raise ConfigError("vary", "--vary and --experiment do not go together; a built-in experiment sets what it varies")
    if args.experiment:
        built = builtin(args.experiment).build(base)
        experiment = built.with_settings(changes)
        if target != experiment.target_accuracy:
            experiment = Experiment(
                experiment.base, experiment.variations, experiment.variants, name=experiment.name,
                title=experiment.title, look_for=experiment.look_for, target_accuracy=target,
            )  # fmt: skip
        _ = experiment.trials
        return experiment
    if not args.vary:
        raise ConfigError(
            "vary", f"give --vary PATH=V1,V2 (e.g. --vary optimizer.name=sgd,adam) or --experiment NAME ({', '.join(BUILTIN)})"
        )
    return experiment_from_vary(with_values(base, changes) if changes else base, args.vary, target_accuracy=target)


def _print_summary(state: ComparisonState, stream: TextIO) -> None:
    table = state.table
    width = max((len(row.label) for row in table.rows), default=10)
    print(f"{'trial':<{width}}  state     val_acc  test_acc  best  seconds  gradients", file=stream)

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    for row in table.rows:
        print(
            f"{row.label:<{width}}  {str(row.state):<8}  {num(row.final_val_accuracy):>7}  {num(row.test_accuracy):>8}  "
            f"{row.best_epoch or '-':>4}  {row.seconds:7.1f}  {row.gradients or ('NaN' if row.diverged else '-')}",
            file=stream,
        )


def cmd_sweep(args: argparse.Namespace) -> int:
    experiment = build_experiment(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads, here or in Ray's workers
    out = Path(args.out) if args.out else Path("runs") / _dt.datetime.now().strftime("sweep-%Y%m%d-%H%M%S")
    print(
        f"comparing {len(experiment.trials)} trials: {experiment.describe()} ({args.engine}) -> {out}",
        file=sys.stderr,
    )
    if experiment.look_for:
        print(f"what to look for: {experiment.look_for}", file=sys.stderr)
    comparison = start_comparison(
        experiment,
        ConsoleComparisonListener(sys.stderr, experiment),
        out_dir=out,
        engine=args.engine,
        address=args.address,
        max_concurrent=args.max_concurrent,
        cpus_per_trial=args.cpus_per_trial,
        resume=args.resume,
    )
    interrupted = _wait_stopping_on_ctrl_c(comparison)
    state = comparison.state()
    _print_summary(state, sys.stdout)
    print(f"results: {out / RESULTS_FILE}")
    print(f"plot: {out / PLOT_FILE}")
    if comparison.failure is not None:
        print(f"error: {comparison.failure.message}", file=sys.stderr)
        return 1
    if interrupted:
        print(f"stopped; resume with: --resume --out {out}", file=sys.stderr)
        return 130
    return 1 if any(row.failed for row in state.table.rows) else 0


def _wait_stopping_on_ctrl_c(comparison: Comparison) -> bool:
    """Wait for the end; Ctrl+C stops every trial (and the wait goes on until it has). Whether it came."""
    interrupted = False

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if not interrupted:
            print("\nstopping every trial after its current batch; what finished is kept", file=sys.stderr)
        else:
            print("\nstill stopping: Ray is winding down", file=sys.stderr)
        interrupted = True
        comparison.stop_all()

    previous: Any = signal.signal(signal.SIGINT, _interrupt)
    try:
        while not comparison.wait(0.2):
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
    return interrupted


def add_sweep_command(sub: Any) -> None:
    """Add ``sweep`` to the command line's subcommands (``sub``: argparse's subparsers)."""
    p = sub.add_parser(
        "sweep",
        help="compare configurations that differ in one or two settings (on Ray) and write a comparison folder",
        description="Train every combination of the --vary values (or a built-in --experiment) with the same "
        "seed, split and batch order, and write one run folder per trial, results.csv and curves.png.",
    )
    p.add_argument("--config", required=True, help="the base configuration JSON (e.g. resources/presets/mlp.json)")
    p.add_argument(
        "--vary", action="append", default=[], metavar="PATH=V1,V2,...",
        help="a setting and the values to try, e.g. --vary optimizer.name=sgd,adam (at most twice: the trials "
        "are the cross product)",
    )  # fmt: skip
    p.add_argument("--experiment", choices=list(BUILTIN), metavar="NAME", help=f"a built-in experiment: {', '.join(BUILTIN)}")
    p.add_argument("--data", help="dataset file or folder to use instead of the configured one")
    p.add_argument("--epochs", type=int, help="override the number of epochs of every trial")
    p.add_argument("--limit", type=int, help="train on a stratified subset of this many samples")
    p.add_argument("--target", type=float, help=f"the validation accuracy to time (default {DEFAULT_TARGET_ACCURACY})")
    p.add_argument("--max-concurrent", type=int, help="at most this many trials at once (default: one per CPU)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs (and TensorFlow threads) per trial (default 1)")
    p.add_argument(
        "--address",
        help="a running Ray cluster (host:port of its head, or ray://host:10001); default RAY_ADDRESS, else a "
        "local Ray instance started for the sweep",
    )
    p.add_argument("--engine", choices=list(ENGINES), default="ray", help="where the trials train (default ray)")
    p.add_argument("--out", help="the comparison folder to write (default runs/sweep-<date-time>)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted comparison in --out")
    p.set_defaults(func=cmd_sweep)
