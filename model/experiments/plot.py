"""The comparison plot a sweep writes: loss and accuracy of every trial, one colour per trial.

Drawn with matplotlib's object-oriented API on an Agg canvas (``Figure`` +
``FigureCanvasAgg``), never ``pyplot``: nothing global is switched, no GUI backend is
loaded, and the window's Qt is left alone. The x axis is epochs for every trial, so
trials with different batch sizes line up: the reported batches are drawn thin and pale
at their fractional epoch (``step / steps_per_epoch``), each epoch's validation figure
(training figure without validation) bold with a marker. The legend names each trial by
its label, which names only the settings that differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.experiments.recorder import ComparisonState, TrialRun
from model.fileio import write_with_atomic


def _epoch_axis(run: TrialRun) -> np.ndarray:
    return (run.batches.step.astype(np.float64) + 1.0) / max(1, run.steps_per_epoch)


def _epoch_series(run: TrialRun, metric: str) -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    for record in run.history:
        if record.partial:
            continue
        value = getattr(record, f"val_{metric}")
        value = getattr(record, metric) if value is None else value
        if np.isfinite(value):
            xs.append(record.epoch + 1.0)
            ys.append(float(value))
    return xs, ys


def render_png(state: ComparisonState, path: Path) -> None:
    """Draw ``state``'s curves into the PNG file ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(state.trials))]
    for run, colour in zip(state.trials, colours, strict=True):
        x = _epoch_axis(run)
        label = run.trial.label + ("" if run.state.value == "finished" else f" ({run.state})")
        for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            values = getattr(run.batches, metric)
            finite = np.isfinite(values)
            if finite.any():
                axes.plot(x[finite], values[finite], color=colour, linewidth=0.7, alpha=0.45)
            ex, ey = _epoch_series(run, metric)
            axes.plot(ex, ey, color=colour, linewidth=2.0, marker="o", markersize=3, label=label)
    validation = any(r.val_loss is not None for run in state.trials for r in run.history)
    which = "validation" if validation else "training"
    loss_axes.set_title(f"Loss (bold: {which} per epoch, pale: training batches)")
    accuracy_axes.set_title(f"Accuracy (bold: {which} per epoch, pale: training batches)")
    for axes in (loss_axes, accuracy_axes):
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
    loss_axes.set_yscale("log")
    accuracy_axes.set_ylim(0.0, 1.0)
    accuracy_axes.legend(loc="lower right", fontsize="small")
    figure.suptitle(state.experiment.describe())
    figure.savefig(path, format="png")


def write_plot(state: ComparisonState, path: Path) -> Path:
    """Write the comparison plot at ``path`` atomically; the path."""
    write_with_atomic(path, lambda tmp: render_png(state, tmp), suffix=".png")
    return path
