"""Atomic file writes: a save that fails half-way leaves the previous file intact.

Every file the project writes goes to a temporary file in the same folder first, is
flushed to disk, and only then renamed over the target (``os.replace`` is atomic on the
same file system).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from model.errors import ProjectError


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    ``suffix`` keeps a file extension that a writer insists on (Keras wants ``.keras``).
    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=folder)
    except OSError as exc:
        raise ProjectError(f"cannot write {target}: {exc.strerror or exc}; choose another folder") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise ProjectError(
            f"cannot write {target}: {exc.strerror or exc}; the previous file, if any, is unchanged"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_with_atomic(target: str | Path, writer: Callable[[Path], None], suffix: str = "") -> None:
    """Run ``writer(tmp_path)`` and move the result over ``target`` only if it succeeded."""
    with atomic_path(target, suffix) as tmp:
        writer(tmp)
