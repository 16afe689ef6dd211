"""What this computer has to give a run: the memory a new allocation can count on.

Readers and the training set-up compare what they are about to allocate with
:func:`available_memory` and refuse, with the figures, before asking for more than there
is: an allocation past it ends in an ``ArrayMemoryError`` or TensorFlow's
``ResourceExhaustedError`` after a long wait, or in the kernel's out-of-memory killer.

The figure is the smallest of what the operating system says is available
(``MemAvailable`` in ``/proc/meminfo``: free memory plus caches it can drop), what the
process's control group may still use (a container's limit), and what an address-space
limit (``ulimit -v``) leaves. Where none of these can be read the answer is ``None``,
"not known", and callers do not refuse on a guess.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_MEMINFO: Final = Path("/proc/meminfo")
_CGROUP_FILES: Final = (
    (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),  # cgroup v2
    (Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"), Path("/sys/fs/cgroup/memory/memory.usage_in_bytes")),
)


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    return None


def _cgroup_available() -> int | None:
    for limit_file, usage_file in _CGROUP_FILES:
        with contextlib.suppress(OSError, ValueError):
            limit = limit_file.read_text().strip()
            if limit == "max":
                return None
            left = int(limit) - int(usage_file.read_text().strip())
            # cgroup v1 reports "no limit" as a huge number.
            return max(0, left) if int(limit) < 1 << 60 else None
    return None


def _address_space_left() -> int | None:
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        used = 0
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
        return max(0, soft - used)
    return None


def available_memory() -> int | None:
    """Bytes a new allocation can count on now, or ``None`` when this cannot be told."""
    known = [n for n in (_meminfo_available(), _cgroup_available(), _address_space_left()) if n is not None]
    return min(known) if known else None


def format_bytes(n: float) -> str:
    """``n`` bytes for people: ``512 kB``, ``3.2 MB``, ``7.5 GB`` (powers of 1000)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n / size:,.0f} {unit}"
    return f"{int(n)} bytes"


def total_memory() -> int | None:
    """This computer's memory in bytes (``MemTotal``; else the page count), ``None`` when unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    return None


@dataclass(frozen=True)
class MachineMemory:
    """This computer's memory in bytes (``None`` where the system does not say)."""

    total: int | None
    available: int | None

    def describe(self) -> str:
        """E.g. "this computer has 16 GB (9.2 GB free)"; empty when unknown."""
        if self.total is None:
            return ""
        free = f" ({format_bytes(self.available)} free)" if self.available is not None else ""
        return f"this computer has {format_bytes(self.total)}{free}"


def machine_memory() -> MachineMemory:
    """The machine's total memory and what a new allocation can count on now."""
    return MachineMemory(total_memory(), available_memory())
