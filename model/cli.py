"""The headless command line: train, evaluate and predict without a window.

    python main.py train --config FILE [--set PATH=VALUE ...] [--data PATH] [--epochs N] [--limit N] [--out DIR]
    python main.py evaluate MODEL [--data PATH]
    python main.py predict MODEL IMAGE [IMAGE ...]

Bad arguments and files end with a one-line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from model.catalogue import data_title
from model.config import DataSpec, RunConfig, load_config
from model.configpath import apply_assignments
from model.errors import ProjectError
from model.events import (
    BatchRecord,
    EndReason,
    EpochRecord,
    NullListener,
    RunControl,
    RunFinished,
    RunStarted,
    format_duration,
)

EXIT_ERROR = 2


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class ConsoleListener(NullListener):
    """Prints a progress bar (on a terminal) and one summary line per epoch."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.epochs = 0
        self.layer_names: tuple[str, ...] = ()

    def on_run_start(self, info: RunStarted) -> None:
        self.epochs = info.epochs
        self.layer_names = info.layer_names
        print(
            f"training on {info.n_train:,} samples (validation {info.n_validation:,}, test {info.n_test:,}), "
            f"batch size {info.batch_size}, {info.steps_per_epoch} batches per epoch",
            file=self.stream,
        )

    def on_batch(self, record: BatchRecord) -> None:
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
        note = f" · {record.note}" if record.note else ""
        print(
            f"epoch {record.epoch + 1}/{self.epochs} · loss {record.loss:.4f} · acc {record.accuracy:.4f}{val}"
            f" · lr {record.learning_rate:.2e} · {record.seconds:.1f} s · {record.samples_per_second:,.0f} samples/s"
            f"{grad}{note}",
            file=self.stream,
        )

    def on_run_end(self, info: RunFinished) -> None:
        print(f"run ended: {info.message}", file=self.stream)


def _data_spec(config: RunConfig, data: str | None) -> DataSpec:
    if data is None:
        return config.data
    name = config.data.name if config.data.name in ("mnist", "fashion_mnist") else "file"
    return DataSpec(name=name, path=data, limit=config.data.limit)


def cmd_train(args: argparse.Namespace) -> int:
    # Every --set together, before anything loads, so a typo costs no waiting.
    config = apply_assignments(load_config(args.config), args.set)
    changes: dict[str, object] = {}
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    spec = _data_spec(config, args.data)
    if args.limit is not None:
        spec = DataSpec(name=spec.name, path=spec.path, limit=args.limit)
    changes["data"] = spec
    config = config.replace(**changes)
    from model.results import DataInfo
    from model.runfolder import check_target, save_run

    if args.out:
        check_target(Path(args.out))  # refuse a folder the run cannot go into before training, not after

    from model.data import prepare

    prepared = prepare(config)
    if prepared.notice:
        print(f"note: {prepared.notice}", file=sys.stderr)
    title = data_title(DataSpec(name=prepared.name) if prepared.fell_back else config.data)
    print(f"data: {title} · {prepared.description} · {prepared.source}", file=sys.stderr)

    _quiet_tensorflow()
    from model.training import describe_device, train

    print(f"device: {describe_device()}", file=sys.stderr)
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
            prepared.split,
            listener=ConsoleListener(sys.stderr),
            control=control,
            data=DataInfo(name=prepared.name, source=prepared.source, description=prepared.description),
        )
    finally:
        signal.signal(signal.SIGINT, previous)

    out = Path(args.out) if args.out else Path("runs") / _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    save_run(result, out)
    if result.evaluation is not None:
        print(f"test accuracy {result.evaluation.accuracy:.4f} · test loss {result.evaluation.loss:.4f}")
    print(f"run folder: {out}")
    ended_well = (EndReason.COMPLETED, EndReason.EARLY_STOPPING, EndReason.STOPPED)
    return 0 if result.finished.reason in ended_well else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from model.data import load_dataset, prepare
    from model.modelio import load_model_safe, resolve_model_path
    from model.runfolder import CONFIG_FILE

    path = resolve_model_path(args.model)
    run_config = path.parent / CONFIG_FILE
    _quiet_tensorflow()
    model = load_model_safe(path)
    if run_config.is_file() and args.data is None:
        config = load_config(run_config)
        prepared = prepare(config)
        split = prepared.split
        x, y, what, loss = split.x_test, split.y_test, f"the run's test split ({len(split.x_test):,} samples)", config.loss
        notice, class_names = prepared.notice, prepared.class_names
    else:
        # The whole dataset, unsplit: there is no run whose split to reproduce.
        spec = DataSpec(name="file", path=args.data) if args.data else DataSpec(name="mnist")
        dataset = load_dataset(spec)
        x, y, what, loss = dataset.x, dataset.y, f"all {len(dataset):,} samples of {dataset.source}", "crossentropy"
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

    from model.modelio import load_model_safe
    from model.preprocess import load_image_file, preprocess_drawing, to_network_input

    _quiet_tensorflow()
    model = load_model_safe(args.model)
    from model.inference import make_predictor, model_input_shape

    predict = make_predictor(model)
    for image_path in args.images:
        pre = preprocess_drawing(load_image_file(image_path))
        if pre.empty:
            print(f"{image_path}: the image is blank; nothing to classify")
            continue
        # The same preparation as the canvas: one 28x28 drawing shaped for this model.
        probs = predict(to_network_input(pre.image, model_input_shape(model)))[0]
        top = np.argsort(probs)[::-1][:3]
        others = ", ".join(f"{k} {probs[k]:.1%}" for k in top[1:])
        print(f"{image_path}: {top[0]} ({probs[top[0]]:.1%}; then {others})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Gradient Lab: design, train and try out neural networks. Without a command, opens the window.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train headless from a configuration file and write a run folder")
    p.add_argument("--config", required=True, help="configuration JSON (e.g. resources/presets/mlp.json)")
    p.add_argument(
        "--set", action="append", default=[], metavar="PATH=VALUE",
        help="change one setting of the configuration, e.g. --set optimizer.learning_rate=3e-4 "
        "--set layers[1].units=256 (repeatable)",
    )  # fmt: skip
    p.add_argument("--data", help="dataset file or folder to use instead of the configured one (.npz, IDX folder, CSV, image folders)")
    p.add_argument("--epochs", type=int, help="override the number of epochs")
    p.add_argument("--limit", type=int, help="train on a stratified subset of this many samples")
    p.add_argument("--out", help="run folder to write (default runs/<date-time>)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model (a .keras file or a run folder)")
    p.add_argument("model", help="a .keras file or a run folder")
    p.add_argument("--data", help="dataset file or folder (default: the run's own test split, or MNIST)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify digit images (PNG/JPEG) with a saved model")
    p.add_argument("model", help="a .keras file or a run folder")
    p.add_argument("images", nargs="+", help="image files")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if getattr(args, "limit", None) is not None and args.limit < 20:
        parser.error("--limit must be at least 20")
    try:
        return int(args.func(args))
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
