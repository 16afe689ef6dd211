"""Benchmark: does training from the window keep the GUI responsive, and at what cost?

Trains the MLP preset (784-512-256-128-10, Adam) with batch size 32 for one epoch on a
stratified subset of MNIST (``../shared/data/mnist.npz``), the same way twice per round:

- from the window (offscreen): Train pressed, the run training in a worker process (the
  window's default :class:`~model.worker_process.ProcessRunner`, its spare warmed first),
  reporting every batch through the pipe to the GUI, the plots redrawing (the Training
  tab shows, so no weight snapshots flow: they go to the Draw tab's live model while that
  tab shows, see ``bench/canvas_latency.py``), while a 5 ms ``QTimer`` measures how late the event
  loop gets to it, from pressing Train to the end of the run (the worst delay is what a
  user feels as a freeze). ``--thread`` trains in a thread of the window's process
  instead (the old way), for comparison;
- headless: ``model.training.train`` with a listener that does nothing (a
  ``NullListener``) in this same process, on the same split, once the spare worker that
  the previous GUI run's end started has imported TensorFlow (before, the two overlapped,
  and the headless run paid for the contention, which flattered the ratio).

Throughput is the training epoch's samples per second as the core reports it (data
loading, model building and evaluation excluded, the same way for both). It is also given
per second of CPU time, the steadier figure on a shared machine: for the window, the CPU
time of the window's process (all threads: drawing, the pipe's reader) *and* of the worker
process, from the run's first report to its epoch's end. The probe's own cost is not the
window's: its 5 ms timer alone takes the window's thread about 3% of a CPU. Each round
measures it just before pressing Train, as the window's CPU time while idle with the probe
ticking less the same without it, per tick; that cost times the ticks of the epoch is
taken off the window's CPU time (both figures are printed). Rounds
alternate the two runs, headless first in odd rounds and the window first in even ones, so
that noise from other processes hits both alike. The target's figure is the median of
the rounds' own ratios (each round's two runs side by side); the ratio of the two sides'
medians is printed too.

Targets: the event loop's worst delay < 50 ms in every round, p99 < 16 ms; throughput from
the window >= 0.95 of headless per CPU second.

``--trace-stalls FILE`` says where the delays come from: whenever the probe's next tick is
more than ``--stall-ms`` late, Python's faulthandler (a C thread, no GIL needed) appends the
stacks of every thread to FILE at that moment. It reads the other threads' stacks without
the GIL, so a thread starting or ending at that moment can crash the process (seen once in
four runs here): a diagnostic, not a way to take the figures.

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--limit 20000] [--rounds 6] [--thread]
        [--trace-stalls FILE [--stall-ms 30]]
"""

from __future__ import annotations

import argparse
import faulthandler
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

from bench.procstat import cpu_seconds  # noqa: E402
from gui import tf_loader  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from model.config import DataSpec, RunConfig, load_preset  # noqa: E402
from model.data import prepare  # noqa: E402
from model.events import BatchRecord, EpochRecord, NullListener, RunFinished, RunStarted  # noqa: E402
from model.runner import Runner, RunRequest, RunSink, ThreadRunner  # noqa: E402
from model.worker_process import ProcessRunner  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist.npz"
PROBE_INTERVAL_MS = 5
MAX_DELAY_TARGET_MS = 50.0
P99_TARGET_MS = 16.0
RATIO_TARGET = 0.95
IDLE_PROBE_S = 5.0
IDLE_BASE_S = 2.5  # idle without the probe: the baseline its own cost is measured against


class EventLoopProbe(QObject):
    """A 5 ms timer that records how late each tick comes (the event loop's delay)."""

    def __init__(self, trace: Any = None, stall_ms: float = 30.0) -> None:
        super().__init__()
        self._trace = trace  # a file: every thread's stack whenever a tick is stall_ms late
        self._stall_s = (PROBE_INTERVAL_MS + stall_ms) / 1000
        self.delays_ms: list[float] = []
        self.tick_times: list[float] = []  # time.perf_counter() of each tick
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(PROBE_INTERVAL_MS)
        self._timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        self.delays_ms.clear()
        self.tick_times.clear()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._trace is not None:
            faulthandler.cancel_dump_traceback_later()

    def worst_and_p99(self) -> tuple[float, float]:
        delays = sorted(self.delays_ms)
        if not delays:
            return 0.0, 0.0
        return delays[-1], delays[int(0.99 * (len(delays) - 1))]

    def _on_tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.tick_times.append(time.perf_counter())
        self.delays_ms.append(max(0.0, elapsed - PROBE_INTERVAL_MS))
        if self._trace is not None:
            if elapsed / 1000 > self._stall_s:  # the stacks above were dumped during this stall
                self._trace.write(f"--- that tick came {elapsed - PROBE_INTERVAL_MS:.0f} ms late\n")
                self._trace.flush()
            faulthandler.dump_traceback_later(self._stall_s, file=self._trace)


class EpochCpuClock(NullListener):
    """CPU seconds from a run's first report to its last epoch's end.

    Counts this process (all threads) and, once :attr:`worker` is set, the worker process
    that trains the run. Wraps another listener (or none) so the window's run and the
    headless run are timed at the same points.
    """

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner or NullListener()
        self.worker: int | None = None
        self._start = (0.0, 0.0)
        self.seconds = 0.0
        self.worker_seconds = 0.0  # of which the worker process's
        self.sink_thread_seconds = 0.0  # of which the thread that calls the sink (the pipe's reader)
        self.wall_seconds = 0.0  # from the first report to the epoch's end
        self.wall_started = 0.0  # time.perf_counter() at the first report
        self._thread_start = 0.0
        self._wall_start = 0.0

    def _now(self) -> tuple[float, float]:
        return time.process_time(), cpu_seconds(self.worker) if self.worker is not None else 0.0

    def on_run_start(self, info: RunStarted) -> None:
        self._start = self._now()
        self.wall_started = self._wall_start = time.perf_counter()
        self._thread_start = time.thread_time()  # the thread that calls the sink: the pipe's reader
        self._inner.on_run_start(info)

    def on_batch(self, record: BatchRecord) -> None:
        self._inner.on_batch(record)

    def on_epoch(self, record: EpochRecord) -> None:
        (own, worker), (own0, worker0) = self._now(), self._start
        self.seconds = own - own0 + worker - worker0
        self.worker_seconds = worker - worker0
        self.sink_thread_seconds = time.thread_time() - self._thread_start
        self.wall_seconds = time.perf_counter() - self._wall_start
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
    window_cpu_s: float = 0.0  # the window's process, during the epoch
    worker_cpu_s: float = 0.0
    reader_cpu_s: float = 0.0  # of the window's: the thread that hands records to the session
    probe_cpu_s: float = 0.0  # of the window's: the probe's own, estimated from its idle rate
    raw_samples_per_cpu_s: float = 0.0  # with the probe's CPU counted as the window's
    idle_worst_ms: float = 0.0  # the event loop with nothing running, just before
    idle_p99_ms: float = 0.0
    samples: int = 0  # trained in the run


def figures(result: Any, clock: EpochCpuClock) -> Figures:
    n = result.info["n_train"] * len(result.history)
    return Figures(result.history[-1].samples_per_second, n / clock.seconds if clock.seconds else 0.0, samples=n)


class TimedRunner:
    """The window's runner, with the CPU clock around the session's sink."""

    def __init__(self, inner: Runner, clocks: list[EpochCpuClock]) -> None:
        self._clocks = clocks
        self._inner = inner

    def start(self, request: RunRequest, sink: RunSink) -> Any:
        clock = EpochCpuClock(sink)
        self._clocks.append(clock)
        handle = self._inner.start(request, clock)
        clock.worker = getattr(handle, "pid", None)  # set long before the run's first report
        return handle


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


def idle_cpu_rate(seconds: float) -> float:
    """This process's CPU seconds per second over ``seconds`` of a real, otherwise idle event loop."""
    idle = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), idle.quit)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    idle.exec()
    return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def wait_for_spare(window: MainWindow) -> None:
    """Wait until the window's spare worker has imported TensorFlow (it starts as a run ends).

    Before either run of a round: the spare's import takes a CPU for seconds, and a run
    beside it pays for the contention in CPU time too (TensorFlow's thread pools spin).
    """
    inner = getattr(window.session.runner, "_inner", None)
    if isinstance(inner, ProcessRunner):
        inner.prewarm()
        if not inner.wait_warm(180):
            raise RuntimeError("the spare worker did not start")


def gui_run(
    app: QApplication, window: MainWindow, clocks: list[EpochCpuClock], probe: EventLoopProbe
) -> Figures:
    """Press Train in the window and let the event loop run until the run has ended."""
    wait_until(app, window.actions["run.train"].isEnabled, 120)
    wait_until(app, lambda: "counting" not in window.data_label.text(), 120)
    wait_for_spare(window)  # the worker's TensorFlow import is not part of the run
    # The window's CPU time while idle, without the probe and then with it: the probe's own cost.
    base_rate = idle_cpu_rate(IDLE_BASE_S)
    # The machine's own noise: the same probe for a while with nothing running in the app.
    probe.start()
    probe_rate = idle_cpu_rate(IDLE_PROBE_S)
    probe.stop()
    per_tick = max(0.0, probe_rate - base_rate) * IDLE_PROBE_S / max(1, len(probe.tick_times))
    idle_worst, idle_p99 = probe.worst_and_p99()
    probe.start()  # from pressing Train: loading the data and building the model count too
    window.actions["run.train"].trigger()
    loop_until_idle(window)
    probe.stop()
    result = window.session.memory.result if window.session.memory is not None else None
    if not window.isVisible():
        raise RuntimeError("the window was closed: the figures would not include drawing")
    if result is None or result.finished.reason != "completed":
        raise RuntimeError(f"the GUI run did not complete: {window.message_bar.text()}")
    clock = clocks[-1]
    out = figures(result, clock)
    out.raw_samples_per_cpu_s = out.samples_per_cpu_s
    epoch_end = clock.wall_started + clock.wall_seconds
    ticks = sum(1 for t in probe.tick_times if clock.wall_started <= t <= epoch_end)
    out.probe_cpu_s = min(per_tick * ticks, clock.seconds - clock.worker_seconds)
    if clock.seconds - out.probe_cpu_s > 0:
        out.samples_per_cpu_s = out.samples / (clock.seconds - out.probe_cpu_s)
    out.worst_delay_ms, out.p99_delay_ms = probe.worst_and_p99()
    out.idle_worst_ms, out.idle_p99_ms = idle_worst, idle_p99
    out.worker_cpu_s = clock.worker_seconds
    out.window_cpu_s = clock.seconds - clock.worker_seconds - out.probe_cpu_s
    out.reader_cpu_s = clock.sink_thread_seconds
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
    parser.add_argument("--rounds", type=int, default=6, help="rounds, each order half the time (default 6)")
    parser.add_argument("--thread", action="store_true", help="train in a thread of the window's process (the old way)")
    parser.add_argument("--trace-stalls", type=Path, help="append every thread's stack to this file at each stall")
    parser.add_argument("--stall-ms", type=float, default=30.0, help="a tick this late counts as a stall (default 30)")
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
    where = "a thread of the window's process" if args.thread else "a worker process"
    print(f"data: {prepared.source} · {prepared.description}; batch size 32, 1 epoch; platform {app.platformName()}; "
          f"the window trains in {where}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    headless: list[Figures] = []
    gui: list[Figures] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        clocks: list[EpochCpuClock] = []
        # Autosave stays on (it is part of every GUI run) but writes into the temporary folder.
        runner = ThreadRunner() if args.thread else None
        # Closing asks about the unsaved model the rounds leave behind: discard it, unasked.
        window = MainWindow(
            settings, runner=runner, autosave_dir=Path(folder) / "autosave",
            ask=lambda *_: True, ask_save=lambda *_: "discard",
        )  # fmt: skip
        window.session.runner = TimedRunner(window.session.runner, clocks)  # the session's, wrapped
        window.resize(1440, 900)
        window.show()
        window.start_loading()
        window.session.set_config(config)
        trace = open(args.trace_stalls, "w") if args.trace_stalls else None  # noqa: SIM115 - open for the run
        probe = EventLoopProbe(trace, args.stall_ms)
        for round_ in range(args.rounds):
            # Rounds 2, 4, ... run the window first: a machine getting busier or quieter over a
            # round then favours each side in turn (the rounds' noise is slow: see pairs).
            if round_ % 2 == 1:
                gui.append(gui_run(app, window, clocks, probe))
            wait_for_spare(window)
            headless.append(headless_run(config, split))
            if round_ % 2 == 0:
                gui.append(gui_run(app, window, clocks, probe))
            h, g = headless[-1], gui[-1]
            print(
                f"round {round_ + 1} ({'headless' if round_ % 2 == 0 else 'window'} first): "
                f"per CPU second window/headless {g.samples_per_cpu_s / h.samples_per_cpu_s:.3f}; headless {h.samples_per_s:,.0f} samples/s ({h.samples_per_cpu_s:,.0f} per CPU s), "
                f"GUI {g.samples_per_s:,.0f} samples/s ({g.samples_per_cpu_s:,.0f} per CPU s), "
                f"event loop worst delay {g.worst_delay_ms:.0f} ms (p99 {g.p99_delay_ms:.1f} ms; idle just before: "
                f"worst {g.idle_worst_ms:.0f} ms, p99 {g.idle_p99_ms:.1f} ms); CPU s in the epoch: window "
                f"{g.window_cpu_s:.2f} (its pipe reader {g.reader_cpu_s:.2f}; the probe's own {g.probe_cpu_s:.2f} not counted), "
                f"worker {g.worker_cpu_s:.2f}; load {os.getloadavg()[0]:.1f}"
            )
        window.close()
        if trace is not None:
            trace.close()

    def median(values: list[Figures], name: str) -> float:
        return statistics.median(getattr(f, name) for f in values)

    wall = median(gui, "samples_per_s") / median(headless, "samples_per_s")
    # The target's figure: the median of each round's own ratio (its two runs side by side).
    # On this shared machine one run's CPU cost per sample moves by up to 40% from minute to
    # minute (other tenants' load on the caches and memory); a round's pair sees the same.
    pairs = sorted(g.samples_per_cpu_s / h.samples_per_cpu_s for g, h in zip(gui, headless, strict=True))
    cpu = statistics.median(pairs)
    of_medians = median(gui, "samples_per_cpu_s") / median(headless, "samples_per_cpu_s")
    raw_cpu = median(gui, "raw_samples_per_cpu_s") / median(headless, "samples_per_cpu_s")
    worker_only = [f.worker_cpu_s for f in gui]
    if all(worker_only):
        per_worker_s = statistics.median(f.samples / f.worker_cpu_s for f in gui)
        window_share = statistics.median(f.window_cpu_s / (f.window_cpu_s + f.worker_cpu_s) for f in gui)
        print(
            f"of which the worker alone: {per_worker_s / median(headless, 'samples_per_cpu_s'):.3f} of headless per CPU "
            f"second; the window's own share of the CPU time: {window_share:.1%} (drawing, the pipe's reader)"
        )
    worst = [f.worst_delay_ms for f in gui]
    p99 = [f.p99_delay_ms for f in gui]
    n = args.rounds
    print(f"headless core:  {median(headless, 'samples_per_s'):,.0f} samples/s (median of {n})")
    print(f"in the window:  {median(gui, 'samples_per_s'):,.0f} samples/s (median of {n})")
    print(
        f"ratio window/headless per CPU second, per round: {', '.join(f'{r:.3f}' for r in pairs)} (sorted); "
        f"median {cpu:.3f}  target >= {RATIO_TARGET}: {'met' if cpu >= RATIO_TARGET else 'NOT met'}"
    )
    print(f"  (the ratio of the medians: {of_medians:.3f} per CPU second, {wall:.3f} wall-clock)")
    print(f"  (per CPU second with the probe's own CPU counted as the window's: {raw_cpu:.3f})")
    print(
        f"event loop worst delay per round: {', '.join(f'{w:.0f}' for w in worst)} ms  "
        f"target < {MAX_DELAY_TARGET_MS:.0f} ms in every round: {'met' if max(worst) < MAX_DELAY_TARGET_MS else 'NOT met'}"
    )
    print(
        f"event loop p99 delay per round: {', '.join(f'{v:.1f}' for v in p99)} ms (median {statistics.median(p99):.1f})  "
        f"target < {P99_TARGET_MS:.0f} ms: {'met' if max(p99) < P99_TARGET_MS else 'NOT met'}"
    )
    print(
        f"the same probe idle, before each round (the machine's own noise): worst "
        f"{', '.join(f'{f.idle_worst_ms:.0f}' for f in gui)} ms, p99 {', '.join(f'{f.idle_p99_ms:.1f}' for f in gui)} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
