"""``epoch_confusion.npz``: the validation confusion matrix at the end of every epoch.

The confusion timeline of a run (:attr:`~model.events.EpochRecord.val_confusion`, summed
by the training step's validation pass) is saved beside ``history.csv`` in one small
numpy archive, written and read only here:

``epochs``
    the 0-based epoch of each matrix (epochs without one, such as a partial last epoch,
    are left out), ``int64``, shape ``(n,)``;
``confusion``
    the matrices, true class in rows, predicted class in columns, ``int64``, shape
    ``(n, k, k)``.

The archive is read with ``allow_pickle=False``. A run folder without the file (older
runs, runs without validation data) simply has no timeline; a damaged file raises
:class:`~model.errors.ModelFileError` naming it.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.errors import DataError, ModelFileError
from model.events import EpochRecord
from model.fileio import write_bytes_atomic
from model.runfolder.layout import CONFUSION_FILE


def confusion_archive(history: Sequence[EpochRecord]) -> bytes | None:
    """The file's bytes for ``history``, or ``None`` when no epoch has a matrix."""
    kept = [r for r in history if r.val_confusion is not None]
    if not kept:
        return None
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        epochs=np.array([r.epoch for r in kept], dtype=np.int64),
        confusion=np.stack([np.asarray(r.val_confusion, dtype=np.int64) for r in kept]),
    )
    return buffer.getvalue()


def write_confusion(path: Path, history: Sequence[EpochRecord]) -> None:
    """Write the timeline of ``history`` to ``path`` (nothing when no epoch has a matrix)."""
    data = confusion_archive(history)
    if data is not None:
        write_bytes_atomic(path, data)


def read_confusion(path: Path, source: str = CONFUSION_FILE) -> dict[int, np.ndarray]:
    """The matrices by 0-based epoch.

    Raises:
        ModelFileError: naming ``source``, when the file is not an archive this app wrote.
    """
    from model.data.npz import read_numeric_npz  # like every untrusted archive: no pickles, sizes checked

    try:
        arrays = read_numeric_npz(path, "it", keys=("epochs", "confusion"), fix="")
    except DataError as exc:
        raise ModelFileError(
            f"{source}: not a confusion timeline written by this app ({str(exc).removeprefix('it ')}); "
            "delete the file to open the run without it"
        ) from None
    if "epochs" not in arrays or "confusion" not in arrays:
        raise ModelFileError(
            f"{source}: not a confusion timeline written by this app (it lacks 'epochs' or 'confusion'); "
            "delete the file to open the run without it"
        )
    epochs, matrices = arrays["epochs"], arrays["confusion"]
    if (
        epochs.ndim != 1
        or matrices.ndim != 3
        or len(epochs) != len(matrices)
        or matrices.shape[1] != matrices.shape[2]
        or not np.issubdtype(epochs.dtype, np.integer)
        or not np.issubdtype(matrices.dtype, np.integer)
        or (len(matrices) and int(matrices.min()) < 0)
    ):
        raise ModelFileError(
            f"{source}: not a confusion timeline written by this app "
            f"(epochs {epochs.shape}, matrices {matrices.shape}); delete the file to open the run without it"
        )
    return {int(e): matrices[i].astype(np.int64) for i, e in enumerate(epochs)}


def with_confusion(history: Sequence[EpochRecord], matrices: dict[int, np.ndarray]) -> list[EpochRecord]:
    """``history`` with each epoch's matrix attached (epochs without one keep ``None``)."""
    return [
        dataclasses.replace(record, val_confusion=matrices[record.epoch]) if record.epoch in matrices else record
        for record in history
    ]
