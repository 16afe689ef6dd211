"""The headless command line: train, evaluate and predict without a window.

    python main.py train --config FILE [--set PATH=VALUE ...] [--data PATH] [--epochs N] [--limit N] [--out DIR]
    python main.py train --resume RUN_FOLDER [--epochs N] [--out DIR] ...
    python main.py evaluate MODEL [--data PATH]
    python main.py predict MODEL IMAGE [IMAGE ...]
    python main.py sweep --config FILE --vary PATH=V1,V2 [--vary ...] [--address ADDR] [--out DIR]
    python main.py lr-find | replay | export-tensorboard ...   (model.cli_cockpit)

Bad arguments and files end with a one-line ``error: ...`` and exit status 2, whatever
they hold (messages are cut to one line of bounded length). TensorFlow's start-up notes
stay out of the terminal unless ``--verbose`` (:mod:`model.quiet`).

Nothing is lost: ``train`` checks and claims its output folder before any data loads
(refusing a folder that holds anything but a run, or one another run is writing), writes
a checkpoint there after every epoch (the folder always holds one consistent run; a
killed run is continued with ``train --resume FOLDER``), and replaces it, staged, by the
finished run at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as _dt
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from model import cli_cockpit, quiet
from model.catalogue import data_title
from model.config import DataSpec, RunConfig, SplitSpec, load_config
from model.configpath import apply_assignments
from model.diagnosis import Diagnosis, HealthMonitor, RunContext
from model.errors import ModelFileError, ProjectError, one_line
from model.events import (
    BatchRecord,
    EndReason,
    EpochRecord,
    NullListener,
    RunControl,
    RunFinished,
    RunStarted,
    TrainingListener,
    format_duration,
)
from model.words import count

if TYPE_CHECKING:
    from model.data import Dataset

EXIT_ERROR = 2


def format_diagnosis(diagnosis: Diagnosis, indent: str = "  ") -> str:
    """A diagnosis as a few indented lines: what was found, why, what to try."""
    since = f" (since step {diagnosis.since})" if diagnosis.since >= 0 else ""
    return (
        f"{indent}! {diagnosis.severity}: {diagnosis.title}{since}: {diagnosis.finding}\n"
        f"{indent}  why: {diagnosis.why}\n"
        f"{indent}  try: {'; '.join(diagnosis.remedies)}"
    )


class ConsoleListener(NullListener):
    """Prints a progress bar (on a terminal), one summary line per epoch, and the run's health.

    A :class:`~model.diagnosis.HealthMonitor` follows the batches: a problem found during
    an epoch is printed under that epoch's line, and the run's end prints every problem
    found (what ``metrics.json`` keeps as ``diagnoses``).
    """

    def __init__(self, stream: TextIO, context: RunContext | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.epochs = 0
        self.layer_names: tuple[str, ...] = ()
        self.context = context
        self.monitor: HealthMonitor | None = None
        self._new: list[Diagnosis] = []

    def on_run_start(self, info: RunStarted) -> None:
        self.epochs = info.epochs
        self.layer_names = info.layer_names
        self.monitor = HealthMonitor(info.layer_names, self.context)
        print(
            f"training on {info.n_train:,} samples (validation {info.n_validation:,}, test {info.n_test:,}), "
            f"batch size {info.batch_size}, {count(info.steps_per_epoch, 'batch')} per epoch",
            file=self.stream,
        )

    def on_batch(self, record: BatchRecord) -> None:
        if self.monitor is not None:
            self._new += self.monitor.add(record)
        if not self.tty:
            return
        width = 30
        filled = int(width * record.progress)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(
            f"\repoch {record.epoch + 1}/{self.epochs} [{bar}] {record.progress:5.1%} "
            f"loss {record.loss:.4f} acc {record.accuracy:.3f} "
            f"{record.samples_per_second:,.0f} samples/s ETA {format_duration(record.seconds_remaining)} "
        )
        self.stream.flush()

    def on_epoch(self, record: EpochRecord) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 110 + "\r")
        val = ""
        if record.val_loss is not None:
            val = f" · val_loss {record.val_loss:.4f} · val_acc {record.val_accuracy:.4f}"
        smallest = int(record.grad_norms.argmin()) if len(record.grad_norms) else 0
        grad = ""
        if len(record.grad_norms):
            grad = f" · min ‖∇‖ {record.grad_norms[smallest]:.2e} ({self.layer_names[smallest]})"
        ratios = record.update_ratios[np.isfinite(record.update_ratios)] if len(record.update_ratios) else []
        update = f" · ‖ΔW‖/‖W‖ {min(ratios):.0e}..{max(ratios):.0e}" if len(ratios) else ""
        note = f" · {record.note}" if record.note else ""
        print(
            f"epoch {record.epoch + 1}/{self.epochs} · loss {record.loss:.4f} · acc {record.accuracy:.4f}{val}"
            f" · lr {record.learning_rate:.2e} · {record.seconds:.1f} s · {record.samples_per_second:,.0f} samples/s"
            f"{grad}{update}{note}",
            file=self.stream,
        )
        self._print_new()

    def _print_new(self) -> None:
        for diagnosis in self._new:
            print(format_diagnosis(diagnosis), file=self.stream)
        self._new = []

    def on_run_end(self, info: RunFinished) -> None:
        if self.monitor is not None:
            self._new += self.monitor.finish()
            self._print_new()
        print(f"run ended: {info.message}", file=self.stream)
        if self.monitor is None:
            return
        found = self.monitor.summary()
        if not found:
            print("health: no problems found (layer gradients, update sizes, dead and saturated units)", file=self.stream)
            return
        print(f"health: {len(found)} problem{'s' if len(found) > 1 else ''} found (also in metrics.json):", file=self.stream)
        for diagnosis in found:
            print(format_diagnosis(diagnosis), file=self.stream)


def _data_spec(config: RunConfig, data: str | None) -> DataSpec:
    if data is None:
        return config.data
    name = config.data.name if config.data.name in ("mnist", "fashion_mnist") else "file"
    # replace(), not a new DataSpec: the other data settings (pen digits, say) stay.
    return dataclasses.replace(config.data, name=name, path=data)


def _train_config(args: argparse.Namespace) -> RunConfig:
    """The configuration to train: ``--config`` (or the resumed run's), ``--set`` and the overrides."""
    from model.reading import is_regular_file
    from model.runfolder import CONFIG_FILE, STATE_FILE, is_run_folder, load_training_state

    if args.resume is not None:
        folder = Path(args.resume)
        if not is_run_folder(folder):
            raise ProjectError(f"{args.resume}: not a run folder; --resume takes a folder written by train or Save Model")
        if is_regular_file(folder / STATE_FILE):
            load_training_state(folder / STATE_FILE)  # a damaged state ends here, before any data loads
    if args.config is not None:
        base = load_config(args.config)
    elif args.resume is not None:
        base = load_config(Path(args.resume) / CONFIG_FILE)
    else:
        raise ProjectError("train needs --config FILE (or --resume RUN_FOLDER to continue a run)")
    # Every --set together, before anything loads, so a typo costs no waiting.
    config = apply_assignments(base, args.set)
    changes: dict[str, object] = {}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    spec = _data_spec(config, args.data)
    if args.limit is not None:
        spec = dataclasses.replace(spec, limit=args.limit)
    changes["data"] = spec
    return config.replace(**changes)


def cmd_train(args: argparse.Namespace) -> int:
    config = _train_config(args)
    from model.runfolder import check_target, claim_folder, clean_leftovers

    if not args.out and not args.resume:
        return _train_into_new_folder(config, args)
    out = Path(args.out) if args.out else Path(args.resume)
    # The target is checked and claimed before anything loads: a folder of the user's own
    # files, a read-only place, or a folder another run is writing ends here, not after training.
    check_target(out)
    with claim_folder(out):
        clean_leftovers(out)
        return _train_into(out, config, args)


def _train_into_new_folder(config: RunConfig, args: argparse.Namespace) -> int:
    """Train into ``runs/<date-time>``, or ``<date-time>-2``... when another run took that name.

    Two runs started in the same second would otherwise both pick one folder, and the
    second would be refused as "being written by another run".
    """
    from model.runfolder import claim_folder

    base = Path("runs") / _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        out = base if n == 1 else base.with_name(f"{base.name}-{n}")
        if out.exists():
            continue
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(claim_folder(out))
            except ProjectError:
                if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
                    raise  # the runs folder itself cannot be written: no other name helps
                continue  # another run claimed this name a moment ago
            return _train_into(out, config, args)
    raise ProjectError(f"{base.parent}: no free run folder name for {base.name}; choose one with --out")


def _train_into(out: Path, config: RunConfig, args: argparse.Namespace) -> int:
    from model.data import prepare
    from model.memory import check_fits_in_memory
    from model.results import DataInfo

    with quiet.quiet_native_stderr():  # a Keras download imports TensorFlow
        prepared = prepare(config)
    if prepared.notice:
        print(f"note: {prepared.notice}", file=sys.stderr)
    title = data_title(DataSpec(name=prepared.name) if prepared.fell_back else config.data)
    print(f"data: {title} · {prepared.description} · {prepared.source}", file=sys.stderr)
    split = prepared.split
    # Before TensorFlow is imported: a stack that cannot fit is refused in a second.
    check_fits_in_memory(config, prepared.input_shape, len(prepared.class_names), n_train=len(split.x_train))

    quiet.import_tensorflow()
    from model.runfolder import load_run, save_run
    from model.training import describe_device, train

    resume = load_run(Path(args.resume)) if args.resume else None
    if resume is not None and not resume.optimizer_state:
        print("note: the run holds no optimizer state for its epochs; the optimizer starts afresh", file=sys.stderr)
    print(f"device: {describe_device()}", file=sys.stderr)
    if args.deterministic:
        from model.replay import enable_determinism

        enable_determinism(config.seed)  # before TensorFlow runs its first op
    listener: TrainingListener = ConsoleListener(sys.stderr, RunContext.from_config(config))
    if args.tensorboard:
        listener, close_board = cli_cockpit.with_tensorboard(listener, args.tensorboard, prepared.class_names)
    control = RunControl()

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        if control.stop_requested:
            raise KeyboardInterrupt
        print("\nstopping after this batch (Ctrl+C again to abort)", file=sys.stderr)
        control.stop()

    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        result = train(
            config,
            split,
            listener=listener,
            control=control,
            resume=resume,
            checkpoint_dir=out,
            data=DataInfo(name=prepared.name, source=prepared.source, description=prepared.description),
        )
    except KeyboardInterrupt:
        kept = f"; the last finished epoch is kept in {out} (continue with: train --resume {out})" if out.exists() else ""
        print(f"error: interrupted{kept}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        save_run(result, out)
    except ProjectError as exc:
        kept = f"; the checkpoint of the last finished epoch is kept in {out} (continue with: train --resume {out})"
        raise ProjectError(f"{exc}{kept if out.exists() else ''}") from None
    if result.diverged:
        print(f"warning: the run diverged: {result.finished.message}", file=sys.stderr)
    if result.evaluation is not None:
        print(f"test accuracy {result.evaluation.accuracy:.4f} · test loss {result.evaluation.loss:.4f}")
    print(f"run folder: {out}")
    if args.tensorboard:
        print(f"TensorBoard: {close_board()}")
    ended_well = (EndReason.COMPLETED, EndReason.EARLY_STOPPING, EndReason.STOPPED)
    return 0 if result.finished.reason in ended_well and not result.diverged else 1


def _said_diverged(model_path: Path) -> bool:
    """Whether the run folder holding ``model_path`` says in its metrics.json that it diverged."""
    from model.reading import JsonError, loads_json, read_capped
    from model.runfolder import METRICS_FILE, diverged_from_metrics

    try:
        metrics = loads_json(read_capped(model_path.parent / METRICS_FILE, 16 * 1024 * 1024))
    except (OSError, JsonError):
        return False
    return isinstance(metrics, dict) and diverged_from_metrics(metrics)


def _load_model(path: str) -> Any:
    """A model to evaluate or predict with; a diverged one (its run says so, or non-finite weights) is refused."""
    from model.modelio import load_model_safe, resolve_model_path

    with quiet.quiet_native_stderr():  # Keras is imported once the file has passed its checks
        model = load_model_safe(path)
    from model.runfolder import weights_are_finite

    if _said_diverged(resolve_model_path(path)) or not weights_are_finite(model):
        raise ModelFileError(
            f"{path}: the model diverged (its training overflowed), so its answers mean nothing; "
            "train it again with a smaller learning rate or gradient clipping"
        )
    return model


def _test_part(dataset: Dataset, split: SplitSpec, seed: int, whose: str) -> tuple[Any, Any, str]:
    """A dataset's test samples: its official test set if it has one, else the test part of a seeded split."""
    source = dataset.source[0].lower() + dataset.source[1:] if dataset.source.startswith("The ") else dataset.source
    if dataset.n_official_test > 0:
        n = dataset.n_official_test
        return dataset.x[-n:], dataset.y[-n:], f"the official test set of {source} ({n:,} samples)"
    from model.data import split_dataset

    parts = split_dataset(dataset, split, seed)
    n = len(parts.y_test)
    return parts.x_test, parts.y_test, f"the test part of {source} ({n:,} samples, {whose} split and seed {seed})"


def cmd_evaluate(args: argparse.Namespace) -> int:
    from model.data import load_dataset, prepare
    from model.modelio import resolve_model_path
    from model.reading import is_regular_file
    from model.runfolder import CONFIG_FILE

    path = resolve_model_path(args.model)
    run_config = path.parent / CONFIG_FILE
    config = load_config(run_config) if is_regular_file(run_config) else None
    model = _load_model(str(path))
    if config is not None and args.data is None:
        prepared = prepare(config)
        split = prepared.split
        x, y, what, loss = split.x_test, split.y_test, f"the run's test split ({len(split.x_test):,} samples)", config.loss
        notice, class_names = prepared.notice, prepared.class_names
    else:
        # Never the training images: the data's own test set, or the test part of a seeded split.
        if args.data:
            spec = _data_spec(config, args.data) if config is not None else DataSpec(name="file", path=args.data)
        else:
            spec = DataSpec(name="mnist")
        dataset = load_dataset(spec)
        whose = "the run's" if config is not None else "a default"
        split_spec, seed = (config.split, config.seed) if config is not None else (SplitSpec(), RunConfig().seed)
        x, y, what = _test_part(dataset, split_spec, seed, whose)
        loss = config.loss if config is not None else "crossentropy"
        notice, class_names = dataset.notice, dataset.class_names
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    from model.inference import adapt_batch
    from model.training import evaluate_model

    evaluation = evaluate_model(model, adapt_batch(x, model), y, tuple(class_names), loss)
    if evaluation is None:
        raise ProjectError("there is no data to evaluate on; give --data with a dataset file")
    print(f"evaluated on {what}")
    print(f"accuracy {evaluation.accuracy:.4f} · loss {evaluation.loss:.4f}")
    for k, name in enumerate(evaluation.class_names):
        print(
            f"  class {name:>12}: precision {evaluation.precision[k]:.3f} · recall {evaluation.recall[k]:.3f} "
            f"· support {int(evaluation.confusion[k].sum())}"
        )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from model.modelio import resolve_model_path
    from model.preprocess import load_image_file, preprocess_drawing, to_network_input

    resolve_model_path(args.model)  # what the model path is, first; then the images, before TensorFlow loads
    drawings = [(image_path, preprocess_drawing(load_image_file(image_path))) for image_path in args.images]
    model = _load_model(args.model)
    from model.inference import make_predictor, model_input_shape

    predict = make_predictor(model)
    for image_path, pre in drawings:
        if pre.empty:
            print(f"{image_path}: the image is blank; nothing to classify")
            continue
        # The same preparation as the canvas: one 28x28 drawing shaped for this model.
        probs = predict(to_network_input(pre.image, model_input_shape(model)))[0]
        top = np.argsort(probs)[::-1][:3]
        others = ", ".join(f"{k} {probs[k]:.1%}" for k in top[1:])
        print(f"{image_path}: {top[0]} ({probs[top[0]]:.1%}; then {others})")
    return 0


def _verbose_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--verbose", action="store_true", default=default,
        help="show TensorFlow's own log messages and warnings (hidden otherwise)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Gradient Lab: design, train and try out neural networks. Without a command, opens the window.",
    )
    _verbose_option(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train headless from a configuration file and write a run folder")
    p.add_argument("--config", help="configuration JSON (e.g. resources/presets/mlp.json); required unless --resume")
    p.add_argument(
        "--resume", metavar="RUN_FOLDER",
        help="continue the run in RUN_FOLDER (its weights and optimizer state) for --epochs more epochs; "
        "the run is written back there unless --out says otherwise",
    )  # fmt: skip
    p.add_argument(
        "--set", action="append", default=[], metavar="PATH=VALUE",
        help="change one setting of the configuration, e.g. --set optimizer.learning_rate=3e-4 "
        "--set layers[1].units=256 (repeatable)",
    )  # fmt: skip
    p.add_argument("--data", help="dataset file or folder to use instead of the configured one (.npz, IDX folder, CSV, image folders)")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--limit", type=int, help="train on a stratified subset of this many samples")
    p.add_argument(
        "--out", help="run folder to write (default runs/<date-time>): a new or empty folder, or a run folder to replace; "
        "a checkpoint is kept there after every epoch",
    )  # fmt: skip
    _verbose_option(p, argparse.SUPPRESS)
    p.add_argument(
        "--deterministic", action="store_true",
        help="turn TensorFlow's op determinism on, so that `replay` can reproduce the run bit for bit (slower on a GPU)",
    )  # fmt: skip
    p.add_argument("--tensorboard", metavar="DIR", help="also write the run as TensorBoard event files in DIR, as it trains")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model (a .keras file or a run folder)")
    p.add_argument("model", help="a .keras file or a run folder")
    p.add_argument(
        "--data", help="dataset file or folder: evaluated on its official test set, or else on the test part "
        "of the run's split (default: the run's own test split, or MNIST's test set)",
    )  # fmt: skip
    _verbose_option(p, argparse.SUPPRESS)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify digit images (PNG/JPEG) with a saved model")
    p.add_argument("model", help="a .keras file or a run folder")
    p.add_argument("images", nargs="+", help="image files")
    _verbose_option(p, argparse.SUPPRESS)
    p.set_defaults(func=cmd_predict)

    from model.experiments.command import add_sweep_command

    add_sweep_command(sub)
    cli_cockpit.add_commands(sub, ConsoleListener)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet.configure(bool(getattr(args, "verbose", False)))
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if getattr(args, "limit", None) is not None and args.limit < 20:
        parser.error("--limit must be at least 20")
    from model.modelio import keras_version_problem

    problem = keras_version_problem()
    if problem is not None:
        print(f"warning: {problem}", file=sys.stderr)
    try:
        return int(args.func(args))
    except ProjectError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        # Every reader checks sizes first; this is the last line of defence, still one line.
        print("error: not enough memory for this; use smaller data or a smaller model", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
