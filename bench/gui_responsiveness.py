"""Benchmark: does training in the window keep the GUI responsive, and at what cost?

Trains the MLP preset (784-512-256-128-10, Adam) with batch size 32 for one epoch on a
stratified subset of MNIST (``../shared/data/mnist.npz``), the same way twice per round:

- in the window (offscreen): Train pressed, the worker thread training and reporting every
  batch to the GUI, the plots redrawing, while a 5 ms ``QTimer`` measures how late the
  event loop gets to it, from pressing Train to the end of the run (the worst delay is
  what a user feels as a freeze);
- headless: ``model.training.train`` with a listener that does nothing (a
  ``NullListener``) in this same process, on the same split.

Throughput is the training epoch's samples per second as the core reports it (data
loading, model building and evaluation excluded, the same way for both). It is also given
per second of process CPU time (all threads, the GUI's included), the steadier figure on
a shared machine. Rounds alternate the two runs so that noise from other processes hits
both alike; medians are printed.

Targets: the event loop's worst delay < 100 ms; GUI throughput within 10% of headless.

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--limit 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui import tf_loader  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from model.config import DataSpec, RunConfig, load_preset  # noqa: E402
from model.data import prepare  # noqa: E402
from model.events import BatchRecord, EpochRecord, NullListener, RunFinished, RunStarted  # noqa: E402
from model.runner import RunRequest, RunSink, ThreadRunner  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist.npz"
PROBE_INTERVAL_MS = 5
MAX_DELAY_TARGET_MS = 100.0
RATIO_TARGET = 0.90


class EventLoopProbe(QObject):
    """A 5 ms timer that records how late each tick comes (the event loop's delay)."""

    def __init__(self) -> None:
        super().__init__()
        self.delays_ms: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(PROBE_INTERVAL_MS)
        self._timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        self.delays_ms.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def worst_and_p99(self) -> tuple[float, float]:
        delays = sorted(self.delays_ms)
        if not delays:
            return 0.0, 0.0
        return delays[-1], delays[int(0.99 * (len(delays) - 1))]

    def _on_tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.delays_ms.append(max(0.0, elapsed - PROBE_INTERVAL_MS))


class EpochCpuClock(NullListener):
    """Process CPU seconds (all threads) from a run's first report to its last epoch's end.

    Wraps another listener (or none) so the GUI run and the headless run are timed at the
    same points, in the training thread.
    """

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner or NullListener()
        self._start = 0.0
        self.seconds = 0.0

    def on_run_start(self, info: RunStarted) -> None:
        self._start = time.process_time()
        self._inner.on_run_start(info)

    def on_batch(self, record: BatchRecord) -> None:
        self._inner.on_batch(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.seconds = time.process_time() - self._start
        self._inner.on_epoch(record)

    def on_run_end(self, info: RunFinished) -> None:
        self._inner.on_run_end(info)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # the rest of a run sink, passed through


@dataclass
class Figures:
    samples_per_s: float
    samples_per_cpu_s: float
    worst_delay_ms: float = 0.0
    p99_delay_ms: float = 0.0


def figures(result: Any, clock: EpochCpuClock) -> Figures:
    n = result.info["n_train"] * len(result.history)
    return Figures(result.history[-1].samples_per_second, n / clock.seconds if clock.seconds else 0.0)


class TimedRunner:
    """The window's runner, with the CPU clock around the session's sink."""

    def __init__(self, clocks: list[EpochCpuClock]) -> None:
        self._clocks = clocks
        self._inner = ThreadRunner()

    def start(self, request: RunRequest, sink: RunSink) -> Any:
        clock = EpochCpuClock(sink)
        self._clocks.append(clock)
        return self._inner.start(request, clock)


def wait_until(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark run did not finish in time")
        app.processEvents()
        time.sleep(0.002)


def loop_until_idle(window: MainWindow) -> None:
    """Run a real event loop (not processEvents polling) until the run has ended.

    A local QEventLoop, not app.exec()/quit(): since Qt 6, QCoreApplication.quit() also
    closes every window, and the next round would then train behind a closed window.
    """
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: None if window.session.running else loop.quit())
    timer.start()
    loop.exec()
    timer.stop()


def gui_run(
    app: QApplication, window: MainWindow, clocks: list[EpochCpuClock], probe: EventLoopProbe
) -> Figures:
    """Press Train in the window and let the event loop run until the run has ended."""
    wait_until(app, window.actions["run.train"].isEnabled, 120)
    wait_until(app, lambda: "counting" not in window.data_label.text(), 120)
    probe.start()  # from pressing Train: loading the data and building the model count too
    window.actions["run.train"].trigger()
    loop_until_idle(window)
    probe.stop()
    result = window.session.memory.result if window.session.memory is not None else None
    if not window.isVisible():
        raise RuntimeError("the window was closed: the figures would not include drawing")
    if result is None or result.finished.reason != "completed":
        raise RuntimeError(f"the GUI run did not complete: {window.message_bar.text()}")
    out = figures(result, clocks[-1])
    out.worst_delay_ms, out.p99_delay_ms = probe.worst_and_p99()
    return out


def headless_run(config: RunConfig, split: Any) -> Figures:
    from model.training import train

    clock = EpochCpuClock()
    return figures(train(config, split, listener=clock, evaluate=False), clock)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"{args.data} is missing: this benchmark needs the MNIST file", file=sys.stderr)
        return 2

    config = load_preset("mlp").replace(
        batch_size=32, epochs=1, data=DataSpec(name="mnist", path=str(args.data), limit=args.limit)
    )
    app = QApplication(sys.argv[:1])
    tf_loader.start_background_import()
    tf_loader.wait()
    prepared = prepare(config)
    split = prepared.split
    print(f"data: {prepared.source} · {prepared.description}; batch size 32, 1 epoch; platform {app.platformName()}")

    headless: list[Figures] = []
    gui: list[Figures] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        clocks: list[EpochCpuClock] = []
        # Autosave stays on (it is part of every GUI run) but writes into the temporary folder.
        window = MainWindow(settings, runner=TimedRunner(clocks), autosave_dir=Path(folder) / "autosave")
        window.resize(1440, 900)
        window.show()
        window.start_loading()
        window.session.set_config(config)
        probe = EventLoopProbe()
        for round_ in range(args.rounds):
            headless.append(headless_run(config, split))
            gui.append(gui_run(app, window, clocks, probe))
            h, g = headless[-1], gui[-1]
            print(
                f"round {round_ + 1}: headless {h.samples_per_s:,.0f} samples/s ({h.samples_per_cpu_s:,.0f} per CPU s), "
                f"GUI {g.samples_per_s:,.0f} samples/s ({g.samples_per_cpu_s:,.0f} per CPU s), "
                f"event loop worst delay {g.worst_delay_ms:.0f} ms (p99 {g.p99_delay_ms:.0f} ms)"
            )
        window.close()

    def median(values: list[Figures], name: str) -> float:
        return statistics.median(getattr(f, name) for f in values)

    wall = median(gui, "samples_per_s") / median(headless, "samples_per_s")
    cpu = median(gui, "samples_per_cpu_s") / median(headless, "samples_per_cpu_s")
    worst = max(f.worst_delay_ms for f in gui)
    n = args.rounds
    print(f"headless core:  {median(headless, 'samples_per_s'):,.0f} samples/s (median of {n})")
    print(f"in the window:  {median(gui, 'samples_per_s'):,.0f} samples/s (median of {n})")
    print(
        f"ratio GUI/headless: {wall:.3f} wall-clock, {cpu:.3f} per CPU second  "
        f"target >= {RATIO_TARGET}: {'met' if wall >= RATIO_TARGET else 'NOT met'}"
    )
    print(
        f"event loop worst delay: {worst:.0f} ms (median p99 {median(gui, 'p99_delay_ms'):.0f} ms)  "
        f"target < {MAX_DELAY_TARGET_MS:.0f} ms: {'met' if worst < MAX_DELAY_TARGET_MS else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
