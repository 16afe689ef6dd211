"""Keras-layout NumPy archives: ``x_train, y_train, x_test, y_test`` (or ``x, y``), pooled.

The ``.npz`` that ``keras.datasets.mnist`` keeps in its cache has this layout, so the same
reader serves a file the user picked and the Keras cache (:mod:`.keras_source`).

An ``.npz`` is a zip of ``.npy`` members, and ``numpy.load`` is not safe on a file from
anywhere: it can unpickle objects and it allocates whatever a header claims before
reading. So members are read here by hand: only plain numeric dtypes (never pickles), and
each header's size is checked against the member's size, and that against the archive's
real size and the most deflate can expand, before any allocation, and the whole
archive's arrays, once float32, against the memory there is. Anything wrong with the file
raises :class:`~model.errors.DataError` naming it and the fix.

:func:`read_numeric_npz` is the same reader for other ``.npz`` files of the project (a
run folder's ``training_state.npz``).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data._common import (
    _CORRUPT_FILE_ERRORS,
    _MAX_DEFLATE_RATIO,
    _check_memory,
    _pool,
    _RawData,
    _read_bounded,
    _training_bytes,
)
from model.errors import DataError
from model.reading import open_regular, os_error_reason

_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test", "x", "y")


def _read_header(stream: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(shape), bool(fortran), dtype


def _read_npy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int, label: str, budget: int = 0
) -> NDArray[Any]:
    """Read one ``.npy`` member of an ``.npz`` without pickles or header-driven allocation.

    ``numpy.load`` would allocate whatever a (possibly damaged) header claims before
    reading; here the claimed size is first checked against the member's size, and that
    against the archive's real size and the most deflate can expand. With ``budget`` (the
    memory the archive's arrays read so far will need), the member's own need for
    training is added and checked against the memory there is.
    """
    if info.compress_size > archive_size or (
        info.file_size > max(info.compress_size, 1) * _MAX_DEFLATE_RATIO + 4096
    ):
        raise ValueError(f"member {info.filename} declares impossible sizes")
    with archive.open(info) as stream:
        shape, fortran, dtype = _read_header(stream, info.filename)
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.itemsize == 0:
            raise DataError(
                f"{label}: array {info.filename!r} has dtype {dtype}; only plain numeric "
                "arrays are read (pickled objects are never loaded, for safety)"
            )
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise ValueError(f"array {info.filename} claims {nbytes} bytes, more than its member holds")
        if budget >= 0:
            _check_memory(budget + _training_bytes(count, dtype.itemsize), label)
        data = _read_bounded(stream, nbytes)
    if len(data) != nbytes:
        raise ValueError(f"array {info.filename} is truncated")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    return flat.reshape(shape, order="F" if fortran else "C")


_FIX = "save it again with numpy.savez(x_train=..., y_train=..., x_test=..., y_test=...)"


def read_numeric_npz(
    path: Path, label: str, keys: tuple[str, ...] | None = None, *, for_training: bool = False, fix: str = _FIX
) -> dict[str, NDArray[Any]]:
    """The plain numeric arrays of an ``.npz`` (those in ``keys``, or all), never a pickle.

    Args:
        path: the archive, a regular file.
        label: how messages name it, e.g. ``the NumPy archive /data/mnist.npz``.
        keys: the array names to read; ``None`` reads every ``.npy`` member.
        for_training: check the arrays' memory as float32 for training (a dataset), not
            just as read.
        fix: what the message of a damaged file tells the user to do ("" for nothing).

    Raises:
        DataError: naming ``label``: missing, not a regular file, unreadable, damaged, a
            header whose sizes are impossible, pickled data, or too large for memory.
    """
    then = f"; {fix}" if fix else ""
    arrays: dict[str, NDArray[Any]] = {}
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise DataError(f"{label} {os_error_reason(exc)}" + ("; pick an existing .npz file" if fix else "")) from None
    try:
        with handle:
            archive_size = path.stat().st_size
            budget = 0
            with zipfile.ZipFile(handle) as archive:
                for info in archive.infolist():
                    if info.is_dir() or not info.filename.endswith(".npy"):
                        continue
                    key = info.filename[: -len(".npy")]
                    if keys is None or key in keys:
                        array = _read_npy_member(archive, info, archive_size, label, budget if for_training else -1)
                        arrays[key] = array
                        budget += _training_bytes(array.size, array.dtype.itemsize)
    except DataError:
        raise
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataError(f"{label} is not a valid .npz archive or is damaged ({exc}){then}") from None
    return arrays


def _read_npz_arrays(path: Path, label: str) -> dict[str, NDArray[Any]]:
    """The Keras-layout arrays of an ``.npz`` keyed by name, or ``DataError``."""
    return read_numeric_npz(path, label, _KERAS_KEYS, for_training=True)


def _load_npz(path: Path) -> _RawData:
    """A Keras-layout ``.npz``: ``x_train, y_train, x_test, y_test`` (or ``x, y``), pooled."""
    label = f"the NumPy archive {path}"
    arrays = _read_npz_arrays(path, label)
    pairs = [("x_train", "y_train"), ("x_test", "y_test"), ("x", "y")]
    xs: list[NDArray[Any]] = []
    ys: list[NDArray[Any]] = []
    for x_key, y_key in pairs:
        if (x_key in arrays) != (y_key in arrays):
            missing = y_key if x_key in arrays else x_key
            raise DataError(f"{label} has no {missing!r} array to go with its {x_key if missing == y_key else y_key!r}")
        if x_key in arrays:
            x, y = arrays[x_key], arrays[y_key]
            if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
                raise DataError(
                    f"{label}: {x_key!r} has shape {x.shape} but {y_key!r} has shape {y.shape}; "
                    "there must be one label per image"
                )
            xs.append(x)
            ys.append(y)
    if not xs:
        raise DataError(
            f"{label} holds none of the arrays x_train/y_train, x_test/y_test or x/y; "
            f"found {sorted(arrays) or 'no numeric arrays'}. Save it in the layout of "
            "keras.datasets.mnist.load_data()"
        )
    return _pool(xs, ys, label, str(path))
