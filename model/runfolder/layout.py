"""The run folder's files, what counts as one, and how a whole folder is replaced safely.

A run folder holds:

``model.keras``
    the plain inference model; loads with ``keras.saving.load_model(safe_mode=True)``
    in any Python with Keras, without this project.
``config.json``
    the :class:`~model.config.RunConfig` that produced it.
``history.csv``
    one row per epoch (:mod:`model.runfolder.history`).
``batches.npz``
    one row per reported batch: the batch curves, gradient norms and layer health
    (:mod:`model.runfolder.batches`); absent from folders written before it existed.
``metrics.json``
    test figures, how the run ended, the data, and what is needed to reproduce it
    (:mod:`model.runfolder.metrics`).
``training_state.npz``
    the optimizer's state, so training can be resumed (:mod:`model.runfolder.state`).
``epoch_confusion.npz``
    the validation confusion matrix of every epoch, when the run had validation data
    (:mod:`model.runfolder.confusion`).
``best.keras``, ``autosave.json``
    only in the autosave folder: the best model so far and how far the run got
    (:mod:`model.runfolder.autosave`).

A folder with ``model.keras`` and ``config.json`` is a run folder. Saving replaces a
whole folder at once (:func:`replace_folder`), so a folder on disk always holds one
consistent run, and a save that fails half-way leaves the previous run as it was.

Only one writer at a time: whoever writes a run folder first claims it
(:func:`claim_folder`, an exclusive lock on ``.<name>.lock`` beside it, which the system
releases when the process ends, however it ends), so two runs can never write one folder;
the second is refused at once, before it trains. What a killed writer leaves (temporary
files inside, a staging or old folder beside) is removed by the next writer, and an
interrupted swap that left no folder at all is undone (:func:`clean_leftovers`).

The window imports this module at start-up: it imports nothing heavier than the
standard library.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, Literal

from model.errors import ProjectError
from model.fileio import is_leftover, new_file_mode, remove_leftovers

try:  # the lock is an flock; where there is none (Windows) an exclusively created file
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None  # type: ignore[assignment]

MODEL_FILE: Final = "model.keras"
CONFIG_FILE: Final = "config.json"
HISTORY_FILE: Final = "history.csv"
BATCHES_FILE: Final = "batches.npz"
METRICS_FILE: Final = "metrics.json"
STATE_FILE: Final = "training_state.npz"
BEST_MODEL_FILE: Final = "best.keras"
AUTOSAVE_FILE: Final = "autosave.json"
CONFUSION_FILE: Final = "epoch_confusion.npz"  # written and read by model.runfolder.confusion

# What makes a folder a run folder.
REQUIRED_FILES: Final = (MODEL_FILE, CONFIG_FILE)
# What a saved run holds (a copy of a run takes these, and only these).
SAVED_RUN_FILES: Final = (MODEL_FILE, CONFIG_FILE, HISTORY_FILE, BATCHES_FILE, METRICS_FILE, STATE_FILE, CONFUSION_FILE)
# Everything a run folder may hold: the saved run's files and the autosave's bookkeeping.
RUN_FOLDER_FILES: Final = frozenset({*SAVED_RUN_FILES, BEST_MODEL_FILE, AUTOSAVE_FILE})

MODEL_SUFFIXES: Final = (".keras", ".h5", ".hdf5")

PathKind = Literal["run", "model", "config"]


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a run (its model and configuration, at least)."""
    return folder.is_dir() and all((folder / name).is_file() for name in REQUIRED_FILES)


def path_kind(path: Path) -> PathKind:
    """``run`` (a folder), ``model`` (.keras / .h5) or ``config`` (anything else: JSON is tried)."""
    if path.is_dir():
        return "run"
    if path.suffix.lower() in MODEL_SUFFIXES:
        return "model"
    return "config"


def check_target(folder: Path) -> bool:
    """Whether saving a run into ``folder`` replaces an existing run (``True``) or fills a new one.

    Raises:
        ProjectError: ``folder`` is a file, or a folder holding something other than a run:
            saving there would mix the run with, or replace, the user's other files.
    """
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise ProjectError(f"{folder} is a file; choose a folder (a new or empty one) for the run")
    if is_run_folder(folder):
        others = sorted(p.name for p in folder.iterdir() if p.name not in RUN_FOLDER_FILES and not is_leftover(p.name))
        if others:
            raise ProjectError(
                f"{folder} holds a run and other files ({', '.join(others[:3])}); "
                "choose a new or empty folder so nothing else is replaced"
            )
        return True
    if any(folder.iterdir()):
        raise ProjectError(
            f"{folder} is not empty and is not a run folder; choose a new or empty folder "
            "so that none of its files are replaced"
        )
    return False


# --------------------------------------------------------------------------- one writer


_claims = threading.local()  # lock path -> how many nested claims this thread holds


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _lock_owner(lock: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(lock.read_text(encoding="ascii").strip() or "x")
        return f" (process {pid})"
    return ""


def _busy(target: Path, lock: Path) -> ProjectError:
    return ProjectError(
        f"{target} is being written by another run{_lock_owner(lock)}; wait for it to finish "
        "or choose another folder"
    )


def _acquire(target: Path, lock: Path) -> int:
    """Lock ``lock`` exclusively without waiting; the descriptor that holds it."""
    while True:
        try:
            if fcntl is None:  # pragma: no cover - Windows: the file's existence is the lock
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            else:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:  # pragma: no cover - Windows
            raise _busy(target, lock) from None
        except OSError as exc:
            raise ProjectError(
                f"cannot write into {target.parent}: {exc.strerror or exc}; choose another folder"
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise _busy(target, lock) from None
                raise ProjectError(f"cannot lock {target}: {exc.strerror or exc}") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the last holder removed the file between our open and lock
                os.close(fd)
                continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        return fd


@contextlib.contextmanager
def claim_folder(target: Path) -> Iterator[None]:
    """Hold the right to write the run folder ``target`` while the block runs.

    Nested claims of the same folder in one thread share the first one (the command line
    claims its output folder for the whole run; the saves inside claim it again). Another
    thread or process that claims it meanwhile is refused.

    Raises:
        ProjectError: another run holds ``target``, or its parent folder cannot be written
            (so a read-only or impossible target is refused before a run starts, not after).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"cannot write into {target.parent}: {exc.strerror or exc}; choose another folder") from None
    lock = _lock_path(target)
    key = os.path.realpath(lock)
    held: dict[str, int] = _claims.__dict__.setdefault("held", {})
    if key in held:
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    fd = _acquire(target, lock)
    held[key] = 1
    try:
        yield
    finally:
        del held[key]
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def is_claimed(target: Path) -> bool:
    """Whether another thread or process is writing the run folder ``target`` now.

    Also ``True`` when ``target`` could not be claimed at all (its parent cannot be
    written): either way, this caller must not write or clean it.
    """
    if not target.parent.is_dir():
        return False  # nothing there to write
    try:
        with claim_folder(target):
            return False
    except ProjectError:
        return True


def _siblings(target: Path) -> list[Path]:
    """Staging (``.saving``) and swapped-out (``.old``) folders that a killed save left beside ``target``."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.[A-Za-z0-9_]{{8}}\.(saving|old)$")
    with contextlib.suppress(OSError):
        return sorted(p for p in target.parent.iterdir() if pattern.match(p.name) and p.is_dir())
    return []


def clean_leftovers(target: Path) -> None:
    """Remove what killed writers left in and beside the run folder ``target``.

    A process killed between the two renames of a swap leaves no ``target`` at all, only
    its previous contents as a ``.old`` folder: that is put back. Everything else (staging
    folders, swapped-out folders, temporary files inside ``target``) is deleted. Call it
    while holding the folder's claim.
    """
    leftovers = _siblings(target)
    if not target.exists():
        olds = [p for p in leftovers if p.name.endswith(".old")]
        if olds:
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            with contextlib.suppress(OSError):
                os.rename(newest, target)
                leftovers.remove(newest)
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    if target.is_dir():
        remove_leftovers(target)


# --------------------------------------------------------------------------- staged swaps


def replace_folder(target: Path, fill: Callable[[Path], None]) -> None:
    """Write a folder with ``fill(staging)`` beside ``target``, then swap it in.

    A failure while filling (a full disk, a read-only folder, a model that cannot be
    saved) leaves ``target`` exactly as it was, and the staging folder is removed. The
    swap is two renames in the same parent folder; the old folder is deleted only after
    the new one is in place. The new folder gets the permissions of the one it replaces,
    or the user's usual ones (not the ``0700`` of a temporary folder). The folder is
    claimed (:func:`claim_folder`) meanwhile, and a killed save's leftovers are cleaned first.

    Raises:
        ProjectError: saying what failed; ``target`` is unchanged. Whatever ``fill``
            raises other than ``OSError`` passes through as it is.
    """
    with claim_folder(target):
        clean_leftovers(target)
        _replace_folder(target, fill)


def _replace_folder(target: Path, fill: Callable[[Path], None]) -> None:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".saving", dir=parent))
    except OSError as exc:
        raise ProjectError(f"cannot write into {parent}: {exc.strerror or exc}; choose another folder") from None
    old: Path | None = None
    try:
        fill(staging)
        os.chmod(staging, new_file_mode(target, folder=True))
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except OSError:
                os.rename(old, target)
                old = None
                raise
        else:
            os.rename(staging, target)
    except OSError as exc:
        raise ProjectError(
            f"cannot save to {target}: {exc.strerror or exc}; the previous contents are unchanged"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            if staging.exists():
                shutil.rmtree(staging)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def copy_run_files(source: Path, destination: Path) -> None:
    """Copy a run folder's saved-run files (not the autosave's bookkeeping, nor anything else)."""
    for name in SAVED_RUN_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, destination / name)


def remove_folder(folder: Path) -> None:
    """Delete ``folder`` and what is in it; a folder that is not there is fine."""
    shutil.rmtree(folder, ignore_errors=True)
