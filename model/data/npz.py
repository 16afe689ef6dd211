"""Keras-layout NumPy archives: ``x_train, y_train, x_test, y_test`` (or ``x, y``), pooled.

The ``.npz`` that ``keras.datasets.mnist`` keeps in its cache has this layout, so the same
reader serves a file the user picked and the Keras cache (:mod:`.keras_source`).

An ``.npz`` is a zip of ``.npy`` members, and ``numpy.load`` is not safe on a file from
anywhere: it can unpickle objects and it allocates whatever a header claims before
reading. So members are read here by hand: only plain numeric dtypes (never pickles), and
each header's size is checked against the member's size, and that against the archive's
real size and the most deflate can expand, before any allocation. Anything wrong with
the file raises :class:`~model.errors.DataError` naming it and the fix.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.data._common import _CORRUPT_FILE_ERRORS, _MAX_DEFLATE_RATIO, _pool, _RawData, _read_bounded
from model.errors import DataError


def _read_npy_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int, label: str
) -> NDArray[Any]:
    """Read one ``.npy`` member of an ``.npz`` without pickles or header-driven allocation.

    ``numpy.load`` would allocate whatever a (possibly damaged) header claims before
    reading; here the claimed size is first checked against the member's size, and that
    against the archive's real size and the most deflate can expand.
    """
    if info.compress_size > archive_size or (
        info.file_size > max(info.compress_size, 1) * _MAX_DEFLATE_RATIO + 4096
    ):
        raise ValueError(f"member {info.filename} declares impossible sizes")
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.itemsize == 0:
            raise DataError(
                f"{label}: array {info.filename!r} has dtype {dtype}; only plain numeric "
                "arrays are read (pickled objects are never loaded, for safety)"
            )
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes > info.file_size:
            raise ValueError(f"array {info.filename} claims {nbytes} bytes, more than its member holds")
        data = _read_bounded(stream, nbytes)
    if len(data) != nbytes:
        raise ValueError(f"array {info.filename} is truncated")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    return flat.reshape(shape, order="F" if fortran else "C")


def _read_npz_arrays(path: Path, label: str) -> dict[str, NDArray[Any]]:
    """All numeric arrays of an ``.npz`` keyed by name, or ``DataError``."""
    fix = "save it again with numpy.savez(x_train=..., y_train=..., x_test=..., y_test=...)"
    arrays: dict[str, NDArray[Any]] = {}
    try:
        archive_size = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".npy"):
                    continue
                key = info.filename[: -len(".npy")]
                if key in ("x_train", "y_train", "x_test", "y_test", "x", "y"):
                    arrays[key] = _read_npy_member(archive, info, archive_size, label)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{label} does not exist; pick an existing .npz file") from None
    except IsADirectoryError:
        raise DataError(f"{label} is a folder, not an .npz file") from None
    except PermissionError:
        raise DataError(f"{label} cannot be read (permission denied); check its permissions") from None
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataError(f"{label} is not a valid .npz archive or is damaged ({exc}); {fix}") from None
    return arrays


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
