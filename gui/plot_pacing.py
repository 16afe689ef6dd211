"""How often the live plots redraw: about 30 times a second at most, less when drawing is slow.

The plots never redraw once per incoming record. A record only marks them dirty
(:meth:`RefreshPacer.schedule`); a ``QTimer`` then redraws at most every
:data:`REFRESH_INTERVAL_MS`, and stops itself while nothing changed or the plots are
hidden (another tab is showing), so an idle window has no wake-ups.

The interval adapts to what drawing costs. pyqtgraph paints a changed scene later, from
the event loop, so that cost is metered where it happens: :class:`TimedPlotWidget` adds
its painting time to the pacer's meter, and the pacer adds it to the next redraw's own
time (see :data:`FRAME_BUDGET_PER_CPU`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Final

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QWidget

REFRESH_INTERVAL_MS: Final = 33
"""At most about 30 redraws a second, however fast records arrive."""

MAX_REFRESH_INTERVAL_MS: Final = 500
"""At least two redraws a second while records arrive, however slow drawing is."""

FRAME_BUDGET_PER_CPU: Final = 0.0125
"""The share of the GUI thread that redrawing may take while a run streams in, per CPU.

A redraw costs the window a few milliseconds of CPU, and that CPU is taken from the
training process when the machine has few cores: 30 redraws a second of 3 ms each cost a
run on two cores about 9% of its throughput. The refresh interval therefore grows to the
measured cost of the last redraws divided by :func:`frame_budget`, between
:data:`REFRESH_INTERVAL_MS` and :data:`MAX_REFRESH_INTERVAL_MS`.

The window's whole allowance in ``bench/gui_responsiveness.py`` is 5% of the run's CPU
(drawing, the records, the status line, the event loop). On two cores a batch-32 MLP run
takes about 1.3 of them, and redrawing at 5% of a CPU (the fixed budget before) left the
window at 5.3-5.4% of the run: the target's edge, with nothing left for the rest. At 2.5%
(this constant times two cores) the replayed epoch of ``bench/gui_responsiveness.py`` cost
the window's thread 0.32-0.35 s of CPU instead of 0.42-0.45 s; each of the four plots then
redraws about 1.3 times a second instead of 2.5. With more cores the same redraws take a
smaller share of the machine, so the budget grows with them (four cores: 5%, eight: 10%).
"""

MAX_FRAME_BUDGET: Final = 0.1
"""The budget's ceiling, however many cores (at 3 ms a redraw, the 33 ms floor already binds)."""


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says; at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def frame_budget(cpus: int | None = None) -> float:
    """The share of the GUI thread that redrawing may take on a machine with ``cpus`` CPUs
    (this one's by default): :data:`FRAME_BUDGET_PER_CPU` each, at most :data:`MAX_FRAME_BUDGET`."""
    count = available_cpus() if cpus is None else max(1, cpus)
    return min(MAX_FRAME_BUDGET, FRAME_BUDGET_PER_CPU * count)


class TimedPlotWidget(pg.PlotWidget):  # type: ignore[misc] # pyqtgraph has no type hints
    """A PlotWidget that adds the time it spends painting to its owner's meter.

    pyqtgraph paints a changed scene later, from the event loop, so the cost of a redraw
    can only be seen here, not around the ``setData`` calls that caused it.
    """

    def __init__(self, meter: list[float], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._meter = meter

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        started = time.perf_counter()
        super().paintEvent(event)
        self._meter[0] += time.perf_counter() - started


class RefreshPacer(QObject):
    """Calls ``redraw`` from a timer while ``view`` is dirty and visible.

    Args:
        view: The widget redrawn (and the pacer's Qt parent); hidden, it is not redrawn.
        redraw: Draws everything; it is expected to reset :attr:`dirty`.

    Attributes:
        dirty: Something changed since the last redraw.
        paint_seconds: The meter that :class:`TimedPlotWidget` adds its painting time to.
        timer: The timer that drives the redraws (stopped while idle).
    """

    def __init__(self, view: QWidget, redraw: Callable[[], None]) -> None:
        super().__init__(view)
        self._view = view
        self._redraw = redraw
        self.dirty = False
        self._frame_ms = 0.0  # smoothed cost of one redraw
        self.budget = frame_budget()  # the share of this thread that redrawing may take
        self._hurry = False  # the next interval is the shortest (see hurry)
        self.paint_seconds = [0.0]  # painting time since the last refresh
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_INTERVAL_MS)
        self.timer.timeout.connect(self._on_timer)

    def schedule(self) -> None:
        """Mark the view dirty and make sure a redraw is coming."""
        self.dirty = True
        if not self.timer.isActive():
            self.timer.start()

    def hurry(self) -> None:
        """The next redraw comes at the shortest interval, whatever drawing has cost so far.

        For a short burst of cheap redraws that must not wait (a run's first four ticks,
        each painting one plot that was held): the interval adapts again after it.
        """
        self._hurry = True
        self.timer.setInterval(REFRESH_INTERVAL_MS)

    def catch_up(self) -> None:
        """Start redrawing again if something arrived while the view was hidden."""
        if self.dirty:
            self.schedule()

    @property
    def interval_ms(self) -> int:
        """The current redraw interval (it adapts to the cost of drawing)."""
        return self.timer.interval()

    def _on_timer(self) -> None:
        if not self.dirty or not self._view.isVisible():
            self.timer.stop()  # idle or hidden: no wake-ups until there is a reason
            return
        started = time.perf_counter()
        self._redraw()
        # This refresh's own work plus the painting that the previous one caused.
        cost_ms = (time.perf_counter() - started + self.paint_seconds[0]) * 1000
        self.paint_seconds[0] = 0.0
        self._frame_ms = cost_ms if not self._frame_ms else 0.7 * self._frame_ms + 0.3 * cost_ms
        interval = min(MAX_REFRESH_INTERVAL_MS, max(REFRESH_INTERVAL_MS, self._frame_ms / self.budget))
        if self._hurry:
            self._hurry = False
            interval = REFRESH_INTERVAL_MS
        self.timer.setInterval(int(interval))
