"""What the machine has: available memory, an address-space limit included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from model.machine import available_memory, format_bytes

ROOT = Path(__file__).resolve().parent.parent.parent


def test_available_memory_is_known_on_linux() -> None:
    available = available_memory()
    assert available is not None and available > 10**7


def test_an_address_space_limit_counts() -> None:
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3)); "
        "from model.machine import available_memory; print(available_memory())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert int(out.stdout) < 2 * 1024**3


def test_bytes_for_people() -> None:
    assert [format_bytes(n) for n in (512, 1500, 3.2e6, 7.5e9, 173e9, 2e12)] == [
        "512 bytes", "1.5 kB", "3.2 MB", "7.5 GB", "173 GB", "2.0 TB",
    ]  # fmt: skip
