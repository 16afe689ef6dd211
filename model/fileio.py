"""Atomic file writes: a save that fails half-way leaves the previous file intact.

Every file the project writes goes to a temporary file in the same folder first, is
flushed to disk, and only then renamed over the target (``os.replace`` is atomic on the
same file system).

The written file gets the permissions any editor would give it: those of the file it
replaces, or for a new file the user's normal ones (``0666`` less the umask), not the
``0600`` that :func:`tempfile.mkstemp` creates its files with.

A process killed while writing leaves its temporary file behind (``.<name>.<random>.tmp``
and a suffix, e.g. ``.model.keras.k3j_x9a2.tmp.keras``); :func:`remove_leftovers` deletes
such files from a folder, and the run folder's writers and readers call it.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from model.errors import ProjectError

# What atomic_path's temporary files are called: "." + target name + "." + mkstemp's
# eight random characters + ".tmp" + an optional suffix.
_LEFTOVER: Final = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:  # os.umask can only be read by setting it: set it straight back
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode(target: Path, *, folder: bool = False) -> int:
    """The mode a file (or folder) written at ``target`` gets: the replaced one's, else the umask's."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    return (0o777 if folder else 0o666) & ~current_umask()


def is_leftover(name: str) -> bool:
    """Whether ``name`` is a temporary file an interrupted atomic write left behind."""
    return bool(_LEFTOVER.match(name))


def remove_leftovers(folder: Path) -> list[str]:
    """Delete the temporary files interrupted atomic writes left in ``folder``; their names.

    Call it only where no other write into ``folder`` can be going on (the run folder's
    writers hold its claim, :func:`model.runfolder.layout.claim_folder`).
    """
    removed: list[str] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if is_leftover(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


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
        # After the writer: a writer that recreates the file would drop an earlier chmod.
        os.chmod(tmp, new_file_mode(target))
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
