"""How often a trial reports: batch records are throttled, everything else goes out at once.

A trial at a thousand batches a second must not send a thousand records a second to a
driver on another machine, nor to a plot that redraws thirty times a second. Both
engines keep a batch record when at least :data:`BATCH_INTERVAL` has passed since the
last one kept (and always the first batch of an epoch, so every epoch starts a curve),
and every ``RunStarted``, ``EpochRecord`` and ``RunFinished``. A trial on Ray sends what
it kept at most every :data:`FLUSH_INTERVAL`, and at once at each epoch's end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from model.events import BatchRecord

BATCH_INTERVAL: Final = 0.05  # at most 20 batch records a second per trial
FLUSH_INTERVAL: Final = 0.2  # a trial on Ray sends at most 5 times a second


class BatchThrottle:
    """Says which batch records to keep (see the module docstring); O(1) per batch."""

    def __init__(self, interval: float = BATCH_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last = -float("inf")

    def keep(self, record: BatchRecord) -> bool:
        now = self.clock()
        if record.batch == 0 or now - self._last >= self.interval:
            self._last = now
            return True
        return False
