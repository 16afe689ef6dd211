"""The cockpit's commands: the learning-rate range test, replay, and TensorBoard export.

    python main.py lr-find --config FILE [--set PATH=VALUE ...] [--data PATH] [--limit N]
                           [--start 1e-7] [--end 10] [--steps 200] [--csv FILE]
    python main.py replay RUN_FOLDER [--tolerance 1e-5]
    python main.py export-tensorboard RUN_FOLDER DIR
    python main.py train ... --tensorboard DIR          (see with_tensorboard)

:func:`add_commands` registers them on :mod:`model.cli`'s parser, which hands over its
console listener (so epochs print the same way in every command). Bad input ends with a
one-line ``error: ...`` and exit status 2, as in every command; ``replay`` exits 1 when
the replay parts from the saved run.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from model import quiet
from model.config import DataSpec, RunConfig, load_config
from model.configpath import apply_assignments
from model.errors import ConfigError, ProjectError
from model.events import BatchRecord, EpochRecord, RunFinished, RunStarted, TrainingListener

ListenerFactory = Callable[[TextIO], TrainingListener]


def _config(args: argparse.Namespace) -> RunConfig:
    """``--config`` with every ``--set``, and ``--data`` / ``--limit`` applied (before any data loads)."""
    config = apply_assignments(load_config(args.config), args.set)
    spec = config.data
    if args.data is not None:
        name = spec.name if spec.name in ("mnist", "fashion_mnist") else "file"
        spec = DataSpec(name=name, path=args.data, limit=spec.limit)
    if args.limit is not None:
        spec = DataSpec(name=spec.name, path=spec.path, limit=args.limit)
    return config.replace(data=spec)


# ---------------------------------------------------------------------- lr-find


def cmd_lr_find(args: argparse.Namespace) -> int:
    from model.lr_finder import RangePoint, RangeTestSpec

    try:
        spec = RangeTestSpec(start=args.start, end=args.end, steps=args.steps)
    except ConfigError as exc:
        raise ConfigError(f"--{exc.field}", exc.reason) from None
    config = _config(args)
    from model.data import prepare

    prepared = prepare(config)
    if prepared.notice:
        print(f"note: {prepared.notice}", file=sys.stderr)
    print(f"data: {prepared.source} · {prepared.description}", file=sys.stderr)
    quiet.import_tensorflow()  # its start-up notes stay out of the terminal unless --verbose
    from model.lr_finder import run_range_test

    every = max(1, spec.steps // 10)

    def progress(point: RangePoint) -> None:
        if point.step % every == 0:
            print(
                f"batch {point.step + 1}/{spec.steps} · learning rate {point.rate:.2e} · loss {point.loss:.4f} "
                f"(smoothed {point.smoothed:.4f})",
                file=sys.stderr,
            )

    result = run_range_test(config, prepared.split, spec, on_point=progress)
    print(result.summary())
    if result.suggestion is not None:
        print(f"to train with it: --set optimizer.learning_rate={result.suggestion.rate:.3g}")
    if args.csv:
        path = Path(args.csv)
        try:
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["step", "learning_rate", "loss", "smoothed_loss"])
                for i, (rate, loss, smoothed) in enumerate(zip(result.rates, result.losses, result.smoothed, strict=True)):
                    writer.writerow([i, repr(float(rate)), repr(float(loss)), repr(float(smoothed))])
        except OSError as exc:
            raise ProjectError(f"cannot write {path}: {exc.strerror or exc}; choose another file for --csv") from None
        print(f"curve: {path}")
    return 0


# ---------------------------------------------------------------------- replay


def cmd_replay(args: argparse.Namespace, console: ListenerFactory) -> int:
    quiet.import_tensorflow()  # its start-up notes stay out of the terminal unless --verbose
    from model.replay import replay_here

    if not args.tolerance >= 0:
        raise ConfigError("--tolerance", f"must be 0 or more, got {args.tolerance}")
    print(f"replaying {args.run_folder} with TensorFlow's op determinism on", file=sys.stderr)
    outcome = replay_here(args.run_folder, console(sys.stderr), tolerance=args.tolerance)
    print(outcome.describe())
    return 0 if outcome.comparison.matches else 1


# ---------------------------------------------------------------------- TensorBoard


def cmd_export_tensorboard(args: argparse.Namespace) -> int:
    quiet.import_tensorflow()  # its start-up notes stay out of the terminal unless --verbose
    from model.tb_export import export_run_folder

    print(export_run_folder(args.run_folder, args.dir).describe())
    return 0


class _Both:
    """Two listeners as one (the console and TensorBoard), called in order."""

    def __init__(self, first: TrainingListener, second: TrainingListener) -> None:
        self.first, self.second = first, second

    def on_run_start(self, info: RunStarted) -> None:
        self.first.on_run_start(info)
        self.second.on_run_start(info)

    def on_batch(self, record: BatchRecord) -> None:
        self.first.on_batch(record)
        self.second.on_batch(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.first.on_epoch(record)
        self.second.on_epoch(record)

    def on_run_end(self, info: RunFinished) -> None:
        self.first.on_run_end(info)
        self.second.on_run_end(info)


def with_tensorboard(listener: TrainingListener, folder: str, class_names: tuple[str, ...]) -> tuple[TrainingListener, Callable[[], str]]:
    """``listener`` that also writes the run to TensorBoard in ``folder`` as it trains.

    Returns the combined listener and a function that closes the files and says what
    was written. The folder is created now, so an unwritable one fails before training.
    """
    quiet.import_tensorflow()  # its start-up notes stay out of the terminal unless --verbose
    from model.tb_export import TensorBoardListener

    board = TensorBoardListener(folder, class_names)
    return _Both(listener, board), lambda: board.close().describe()


# ---------------------------------------------------------------------- the parser


def _verbose_option(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` after the command too, as :mod:`model.cli`'s own commands take it."""
    parser.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="show TensorFlow's own log messages and warnings (hidden otherwise)",
    )  # fmt: skip


def add_commands(sub: argparse._SubParsersAction, console: ListenerFactory) -> None:  # type: ignore[type-arg]
    """Register ``lr-find``, ``replay`` and ``export-tensorboard`` on ``sub``."""
    from model.lr_finder import DEFAULT_END, DEFAULT_START, DEFAULT_STEPS
    from model.replay import TOLERANCE

    p = sub.add_parser(
        "lr-find",
        help="learning-rate range test: a short run with the rate rising exponentially; suggests a rate",
        description="Train a copy of the configured network for --steps batches while the learning rate rises "
        "from --start to --end by the same factor each batch, record each batch's own loss, and suggest the "
        "rate where the smoothed loss falls fastest. Nothing is saved but the optional --csv curve.",
    )
    p.add_argument("--config", required=True, help="configuration JSON (e.g. resources/presets/mlp.json)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="change one setting (repeatable)")
    p.add_argument("--data", help="dataset file or folder to use instead of the configured one")
    p.add_argument("--limit", type=int, help="use a stratified subset of this many samples")
    p.add_argument("--start", type=float, default=DEFAULT_START, help=f"first learning rate (default {DEFAULT_START:g})")
    p.add_argument("--end", type=float, default=DEFAULT_END, help=f"last learning rate (default {DEFAULT_END:g})")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"batches (default {DEFAULT_STEPS})")
    p.add_argument("--csv", help="write the curve (step, learning_rate, loss, smoothed_loss) to this CSV file")
    _verbose_option(p)
    p.set_defaults(func=cmd_lr_find)

    p = sub.add_parser(
        "replay",
        help="re-run a saved run with TensorFlow's op determinism on and say whether it matches",
        description="Train a run folder's configuration again from its seed, with op determinism on, and compare "
        "its figures with the saved ones. Exit status 0 when they match, 1 when they part.",
    )
    p.add_argument("run_folder", help="a run folder written by train or Save Model")
    p.add_argument("--tolerance", type=float, default=TOLERANCE, help=f"largest relative difference that still matches (default {TOLERANCE:g})")
    _verbose_option(p)
    p.set_defaults(func=lambda args: cmd_replay(args, console))

    p = sub.add_parser("export-tensorboard", help="write a run folder's history as TensorBoard event files")
    p.add_argument("run_folder", help="a run folder written by train or Save Model")
    p.add_argument("dir", help="the TensorBoard log folder to write (train/ and validation/ go inside)")
    _verbose_option(p)
    p.set_defaults(func=cmd_export_tensorboard)
