"""Benchmark: how well a model trained on MNIST reads digits drawn on the canvas.

MNIST test accuracy says little about the Draw tab: MNIST's test digits come from the
same scanning, cropping and writers' population as its training digits, while a canvas
digit is a clean pen trace, drawn at another width, by someone else. This benchmark draws
digits by *other* writers (scikit-learn's optdigits, traced into pen strokes by
:mod:`bench.strokes`) into a real :class:`~gui.predict_panel.PredictPanel` with mouse
events, at a few pen widths, and scores what the panel shows against the true labels.

It trains the CNN preset on MNIST first (``--epochs``, ``--limit``, ``--augment``,
``--seed``; ``--save-run`` keeps the run), or uses saved runs (``--run FOLDER ...``). With
several runs, the drawings are replayed once, through the panel, with the first run's
model, and every model is scored on the very 28x28 inputs the panel gave the network
(the panel shows the arg-max of the model's output, so this is what it would show; the
script checks that batch scoring agrees with the panel for the first model), with a
paired count of the drawings only one of two models reads right. So to see what
training-time augmentation buys, train with ``--augment off`` and ``--augment on`` for a
few seeds (``--per-class 0`` trains without replaying), then compare all the runs at once.

Some traces lose their digit on the way (the source grids are only 8x8: a loop can fill
in); an independent judge, a classifier trained on the other optdigits grids, flags
those, and the accuracy on the traces it reads correctly is printed too.

    python bench/handdrawn_accuracy.py [--epochs 2] [--limit 20000] [--augment off|on]
        [--seed N] [--save-run DIR] [--run FOLDER [FOLDER ...]] [--per-class 40]
        [--pen-widths 10,20,32] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.strokes import LegibilityJudge, TracedDigit, replay, traced_digits  # noqa: E402
from gui.predict_panel import PredictPanel  # noqa: E402

MNIST_NPZ = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist.npz"


@dataclass
class Trained:
    """The model under test and its MNIST figures."""

    model: Any
    description: str
    mnist_accuracy: float | None
    mnist_test_count: int
    evaluation: Any = None  # on the held-out MNIST images
    test_images: np.ndarray | None = None


def train_cnn(args: argparse.Namespace) -> Trained:
    from model.config import AugmentationSpec, DataSpec, load_preset
    from model.data import load_dataset, split_dataset
    from model.training import train

    if not Path(args.data).is_file():
        raise SystemExit(f"{args.data} is missing: pass --data PATH to an MNIST .npz, or --run FOLDER")
    augment = args.augment == "on"
    config = load_preset("cnn").replace(
        seed=args.seed if args.seed is not None else load_preset("cnn").seed,
        epochs=args.epochs,
        data=DataSpec(name="mnist", path=str(args.data), limit=args.limit),
        augmentation=AugmentationSpec(enabled=augment),
    )
    dataset = load_dataset(config.data, allow_download=False)
    split = split_dataset(dataset, config.split, config.seed, limit=args.limit)
    print(
        f"training the CNN preset on {len(split.x_train):,} MNIST images, {args.epochs} epoch(s), "
        f"augmentation {'on' if augment else 'off'}, seed {config.seed} ...",
        flush=True,
    )
    started = time.perf_counter()
    result = train(config, split)
    seconds = time.perf_counter() - started
    evaluation = result.evaluation
    accuracy = None if evaluation is None else evaluation.accuracy
    print(f"trained in {seconds:.0f} s; {result.finished.message}")
    if args.save_run:
        from model.runfolder import save_run

        print(f"saved the run to {save_run(result, args.save_run)}")
    return Trained(
        result.model,
        f"CNN preset, {args.epochs} epoch(s) on {len(split.x_train):,} MNIST images, "
        f"augmentation {'on' if augment else 'off'}",
        accuracy,
        len(split.x_test),
        evaluation,
        split.x_test,
    )


def load_saved(folder: str, data: str) -> Trained:
    """A saved run's model, scored on the same held-out MNIST images it was tested on
    (the split is seeded, so the run's own data settings rebuild it exactly)."""
    from model.data import load_dataset, split_dataset
    from model.runfolder import load_run
    from model.training import evaluate_model

    run = load_run(folder)
    config = run.config
    description = (
        f"model from {Path(folder).name}/model.keras ({config.name}, augmentation "
        f"{'on' if config.augmentation.enabled else 'off'})"
    )
    spec = config.data
    if spec.name == "mnist" and (spec.path is None or not Path(spec.path).is_file()):
        spec = spec.__class__(name="mnist", path=data, limit=spec.limit)
    try:
        dataset = load_dataset(spec, allow_download=False)
    except Exception as exc:  # noqa: BLE001 - the benchmark goes on without the reference figure
        print(f"cannot rebuild the run's test images ({exc}); no MNIST figure")
        return Trained(run.model, description, None, 0)
    split = split_dataset(dataset, config.split, config.seed, limit=spec.limit)
    evaluation = evaluate_model(run.model, split.x_test, split.y_test, split.class_names, config.loss)
    accuracy = None if evaluation is None else evaluation.accuracy
    return Trained(run.model, description, accuracy, len(split.x_test), evaluation, split.x_test)


def read_all(
    panel: PredictPanel, digits: Sequence[TracedDigit], pen_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draw every digit; return the class the panel showed for each (-1: none) and the
    28x28 image it gave the network."""
    app = QApplication.instance()
    assert app is not None
    answers = np.full(len(digits), -1, dtype=np.int64)
    inputs = np.zeros((len(digits), 28, 28), dtype=np.float32)
    for number, digit in enumerate(digits):
        panel.canvas.clear()
        replay(panel.canvas, digit.strokes, pen_width)
        request = panel.last_request_id()
        deadline = time.monotonic() + 10.0
        shown = panel.shown_prediction()
        while (shown is None or shown.request_id != request) and time.monotonic() < deadline:
            app.processEvents()
            shown = panel.shown_prediction()
        if shown is not None and shown.request_id == request:
            answers[number] = shown.predicted_class
            inputs[number] = shown.image28
    return answers, inputs


def answers_of(model: Any, inputs: dict[float, np.ndarray]) -> dict[float, np.ndarray]:
    """What ``model`` says about the recorded network inputs: the same answers the panel
    would show it (the panel shows the arg-max of the model's output for that input)."""
    from model.inference import adapt_batch

    out = {}
    for width, images in inputs.items():
        batch = adapt_batch(images[..., None], model)
        out[width] = np.argmax(np.asarray(model.predict(batch, batch_size=256, verbose=0)), axis=1)
    return out


def report(
    digits: Sequence[TracedDigit],
    widths: Sequence[float],
    answers: dict[float, np.ndarray],
    legible: np.ndarray,
) -> tuple[float, float]:
    """Print per-class and overall accuracy; return (all traces, legible traces)."""
    labels = np.array([d.label for d in digits])
    print()
    header = "  class   n  " + "  ".join(f"pen {w:>4g}" for w in widths) + "    all"
    print(header)
    for k in range(10):
        mask = labels == k
        cells = [f"{np.mean(answers[w][mask] == k):8.1%}" for w in widths]
        combined = np.mean(np.concatenate([answers[w][mask] for w in widths]) == k)
        print(f"{k:>7} {int(mask.sum()):>3}  " + "  ".join(cells) + f"  {combined:6.1%}")
    every = [f"{np.mean(answers[w] == labels):8.1%}" for w in widths]
    total = np.mean(np.concatenate([answers[w] for w in widths]) == np.tile(labels, len(widths)))
    print(f"{'all':>7} {len(labels):>3}  " + "  ".join(every) + f"  {total:6.1%}")
    kept = legible
    judged = [f"{np.mean(answers[w][kept] == labels[kept]):8.1%}" for w in widths]
    judged_total = np.mean(
        np.concatenate([answers[w][kept] for w in widths]) == np.tile(labels[kept], len(widths))
    )
    print(f"legible {int(kept.sum()):>3}  " + "  ".join(judged) + f"  {judged_total:6.1%}")
    pairs: dict[tuple[int, int], int] = {}
    for w in widths:
        for true, said in zip(labels, answers[w], strict=True):
            if true != said:
                pairs[(int(true), int(said))] = pairs.get((int(true), int(said)), 0) + 1
    worst = sorted(pairs.items(), key=lambda item: -item[1])[:6]
    print("most common mistakes (all widths): " + ", ".join(f"{t}->{p} x{n}" for (t, p), n in worst))
    print(f"HAND-DRAWN ACCURACY {total:.1%} (legible traces: {judged_total:.1%})")
    return float(total), float(judged_total)


def screenshots(
    folder: Path, trained: Trained, panel: PredictPanel, digits: Sequence[TracedDigit], label: int
) -> None:
    """Save the Draw tab with a traced ``label`` (the first the judge finds legible), and
    the confusion view with the model's most common MNIST mistake selected."""
    from gui.confusion_view import ConfusionView

    app = QApplication.instance()
    assert app is not None
    folder.mkdir(parents=True, exist_ok=True)
    panel.robustness_section.set_expanded(True)
    panel.stages_section.set_expanded(True)
    panel.resize(1200, 880)
    judge = LegibilityJudge(exclude=[d.index for d in digits])
    sample = next(d for d in digits if d.label == label and judge.legible(d))
    panel.canvas.clear()
    replay(panel.canvas, sample.strokes, 22.0, pace_ms=2)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    panel.grab().save(str(folder / "canvas.png"))
    evaluation = trained.evaluation
    if evaluation is None or trained.test_images is None:
        print("no MNIST test results to show in the confusion view")
        return
    view = ConfusionView()
    view.resize(1120, 560)
    view.show()
    view.set_evaluation(evaluation, trained.test_images)
    confusion = evaluation.confusion.copy()
    np.fill_diagonal(confusion, 0)
    true_class, predicted = np.unravel_index(int(np.argmax(confusion)), confusion.shape)
    view.select_cell(int(true_class), int(predicted))
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    view.grab().save(str(folder / "confusion.png"))
    view.close()
    print(f"screenshots saved in {folder}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=20000, help="MNIST images to use (split 80/10/10)")
    parser.add_argument("--augment", choices=("on", "off"), default="off", help="training-time augmentation")
    parser.add_argument("--seed", type=int, help="training seed (default: the preset's)")
    parser.add_argument(
        "--run", nargs="+", help="use these run folders' models instead of training (the first is drawn for)"
    )
    parser.add_argument("--data", default=str(MNIST_NPZ), help="the MNIST .npz file")
    parser.add_argument("--per-class", type=int, default=40, help="traced digits per class (0: train only)")
    parser.add_argument(
        "--pen-widths", default="10,20,32", help="pen widths in canvas pixels, comma-separated"
    )
    parser.add_argument("--save-run", help="save the trained run to this folder")
    parser.add_argument("--screenshots", help="save canvas.png and confusion.png to this folder")
    parser.add_argument("--screenshot-digit", type=int, default=3, help="the digit drawn for canvas.png")
    args = parser.parse_args(argv)
    widths = [float(w) for w in args.pen_widths.split(",") if w.strip()]

    app = QApplication.instance() or QApplication(sys.argv[:1])
    models = [load_saved(folder, args.data) for folder in args.run] if args.run else [train_cnn(args)]
    if args.per_class < 1:
        return 0
    first = models[0]

    from model.inference import DirectPredictor

    digits = traced_digits(per_class=args.per_class, seed=0)
    labels = np.array([d.label for d in digits])
    judge = LegibilityJudge(exclude=[d.index for d in digits])
    legible = np.array([judge.legible(d) for d in digits])
    panel = PredictPanel()
    panel.resize(980, 640)
    panel.show()
    panel.robustness_section.set_expanded(False)  # not needed for the score; saves time
    panel.set_predictor(DirectPredictor(first.model), first.description)
    print(
        f"{len(digits)} traced optdigits digits ({args.per_class} per class; the judge reads "
        f"{legible.mean():.0%} of the traces as their label), pen widths {args.pen_widths}, "
        f"Qt platform {app.platformName()}"
    )
    answers: dict[float, np.ndarray] = {}
    inputs: dict[float, np.ndarray] = {}
    started = time.perf_counter()
    for width in widths:
        answers[width], inputs[width] = read_all(panel, digits, width)
    print(f"replayed {len(digits) * len(widths)} drawings in {time.perf_counter() - started:.0f} s")

    all_answers = [answers]
    if len(models) > 1:
        # The other models read the very inputs the panel gave the first one.
        check = answers_of(first.model, inputs)
        differ = sum(int(np.sum(check[w] != answers[w])) for w in widths)
        print(
            f"batch scoring agrees with the panel on {len(digits) * len(widths) - differ} of "
            f"{len(digits) * len(widths)} drawings for the first model"
        )
        all_answers += [answers_of(trained.model, inputs) for trained in models[1:]]
    summary = []
    for trained, model_answers in zip(models, all_answers, strict=True):
        print(f"\n=== {trained.description}")
        total, judged = report(digits, widths, model_answers, legible)
        if trained.mnist_accuracy is not None:
            count = f" on {trained.mnist_test_count:,} held-out images" if trained.mnist_test_count else ""
            print(f"MNIST TEST ACCURACY {trained.mnist_accuracy:.1%}{count}")
        summary.append((trained, total, judged))
    if len(models) > 1:
        print("\nhand-drawn (all / legible)   MNIST test   model")
        for trained, total, judged in summary:
            mnist = "-" if trained.mnist_accuracy is None else f"{trained.mnist_accuracy:.1%}"
            print(f"{total:8.1%} / {judged:6.1%}         {mnist:>6}   {trained.description}")
        right = [np.concatenate([a[w] for w in widths]) == np.tile(labels, len(widths)) for a in all_answers]
        for trained, correct in zip(models[1:], right[1:], strict=True):
            print(
                f"paired with the first model: {int(np.sum(correct & ~right[0]))} drawings only this one "
                f"reads right, {int(np.sum(right[0] & ~correct))} only the first ({trained.description})"
            )
    if args.screenshots:
        screenshots(Path(args.screenshots), first, panel, digits, args.screenshot_digit)
    panel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
