"""A manual look at the live plots, fed with synthetic records (no TensorFlow).

Three layers: one whose gradient vanishes, one whose gradient fades, one that stays
steady; three epochs of 200 batches, and a learning-rate marker at step 250. Run
``python -m gui.plots``: it hands :func:`main` its :class:`~gui.plots.TrainingPlots`, so
this module never imports :mod:`gui.plots` and the two stay free of an import cycle.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Protocol

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from model.events import BatchRecord, EpochRecord, RunStarted


class DemoPlots(Protocol):
    """What the demo feeds: the feeding side of :class:`~gui.plots.TrainingPlots`, and a window."""

    def start_run(self, info: RunStarted) -> None: ...
    def add_batch(self, rec: BatchRecord) -> None: ...
    def add_epoch(self, rec: EpochRecord) -> None: ...
    def mark(self, step: int, text: str) -> None: ...
    def resize(self, width: int, height: int) -> None: ...
    def show(self) -> None: ...


def main(make_plots: Callable[[], DemoPlots]) -> None:  # pragma: no cover - a manual look
    """Show the plots that ``make_plots`` builds and feed them a synthetic run, 200 batches a second."""
    app = QApplication(sys.argv)
    plots = make_plots()
    names = ("L2_Dense", "L3_Dense", "L4_Dense")
    plots.start_run(RunStarted(0, 3, 0, 200, 32, 6400, 800, 800, names, 1e-3))
    rng = np.random.default_rng(0)
    state = {"step": 0}

    def feed() -> None:
        step = state["step"]
        if step >= 600:
            return
        epoch, batch = divmod(step, 200)
        loss = 2.3 * math.exp(-step / 150) + 0.1 + 0.2 * rng.random()
        norms = np.array([1e-6 * (1 + rng.random()), 0.5 * math.exp(-step / 300), 2.0]) * (1 + rng.random())
        plots.add_batch(
            BatchRecord(
                0,
                epoch,
                batch,
                step,
                loss,
                1 - loss / 2.5,
                1e-3,
                norms,
                norms,
                1000.0,
                step / 600,
                (600 - step) / 100,
            )
        )
        if batch == 199:
            plots.add_epoch(
                EpochRecord(
                    0,
                    epoch,
                    loss,
                    1 - loss / 2.5,
                    loss * 1.1,
                    1 - loss / 2.3,
                    1e-3,
                    norms,
                    norms,
                    1.0,
                    1000.0,
                )
            )
        if step == 250:
            plots.mark(step, "lr → 0.01")
        state["step"] = step + 1

    timer = QTimer()
    timer.timeout.connect(feed)
    timer.start(5)
    plots.resize(1000, 700)
    plots.show()
    sys.exit(app.exec())

