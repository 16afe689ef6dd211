"""Helpers for the tests that run real Ray: a marker for our processes, and the sweep command.

Every Ray process a test starts (a local instance in this process, a ``ray start`` head,
the instance a ``sweep`` subprocess starts) inherits :data:`MARKER` in its environment,
so a test can find exactly its own processes (never other people's Ray) and check that
none is left.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MARKER = "GRADIENT_LAB_RAY_TEST"


def require_ray() -> None:
    try:
        import ray  # noqa: F401
        import ray.tune  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"Ray is not installed ({exc}); pip install -e '.[test]' brings it")


def new_mark() -> str:
    return uuid.uuid4().hex


def marked_processes(mark: str) -> list[tuple[int, str]]:
    """The processes (other than this one) whose environment carries ``MARKER=mark``."""
    needle = f"{MARKER}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")[:120]
        except OSError:
            continue
        found.append((int(entry), command))
    return found


def wait_until_gone(mark: str, timeout: float = 60.0) -> list[tuple[int, str]]:
    """Wait for every marked process to end; the ones still there after ``timeout``."""
    deadline = time.monotonic() + timeout
    left = marked_processes(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = marked_processes(mark)
    return left


def kill_marked(mark: str) -> None:
    """Last resort after a failed test: end our own leftovers, and only those."""
    for pid, _ in marked_processes(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def ray_env(mark: str, tmp: Path, **extra: str) -> dict[str, str]:
    """An environment for a process that runs Ray: marked, with a short temp dir of its own."""
    env = dict(os.environ)
    env.update({MARKER: mark, "RAY_TMPDIR": str(tmp), "RAY_USAGE_STATS_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def sweep_command(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "sweep", *args]
