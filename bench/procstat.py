"""CPU time and memory of a process, read from Linux's ``/proc`` (psutil is not a dependency).

The benchmarks count the worker process's CPU time with the window's: a run's cost is
both. ``/proc/<pid>/stat`` has the user and system ticks of a process (all its threads);
``/proc/<pid>/status`` its resident memory now (``VmRSS``) and at its peak (``VmHWM``).
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of every thread of ``pid`` so far (0 once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime: fields 14 and 15


def memory_bytes(pid: int | str = "self") -> tuple[int, int]:
    """(resident now, resident at its peak) of ``pid``, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values.get("VmRSS", 0), values.get("VmHWM", 0)
