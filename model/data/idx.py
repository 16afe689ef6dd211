"""MNIST's own IDX format: a folder of the four files, optionally gzipped, pooled.

The layout is LeCun's (http://yann.lecun.com/exdb/mnist/): ``00 00 type ndim``, then one
big-endian 32-bit size per dimension, then the values. Fashion-MNIST ships the same four
files, and Keras caches them in a ``fashion-mnist`` folder (:mod:`.keras_source`).

A header is only a claim: before anything is allocated, the size it declares is checked
against the file's real size (plain files) or against the most a gzip file of that size
can expand to, and data is read in bounded chunks. A bad magic number, an unknown type
code, a wrong number of dimensions, truncation, trailing data, a damaged gzip stream or a
pair whose counts disagree raises :class:`~model.errors.DataError` naming the file.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path
from typing import Any, BinaryIO, Final

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

# IDX type codes (http://yann.lecun.com/exdb/mnist/): all multi-byte types are big-endian.
_IDX_DTYPES: Final[dict[int, np.dtype[Any]]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_PARTS: Final = (("train", "training"), ("t10k", "test"))


def _find_idx_file(folder: Path, prefix: str, kind: str, idx: str) -> Path | None:
    """The IDX file for e.g. ``train``/``images``/``idx3``, in any of its usual spellings."""
    for stem in (f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"):
        for name in (stem, f"{stem}.gz"):
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _read_idx(path: Path, expected_ndim: int) -> NDArray[Any]:
    """Read one IDX file (plain or ``.gz``) after checking its header against its size."""
    label = f"the IDX file {path}"
    fix = "replace it with an intact copy of the MNIST-format file"
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise DataError(f"{label} {os_error_reason(exc)}; {fix}") from None
    try:
        file_size = path.stat().st_size
        gzipped = path.name.endswith(".gz")
        raw_stream: gzip.GzipFile | BinaryIO = gzip.GzipFile(fileobj=handle, mode="rb") if gzipped else handle
        with handle, raw_stream as stream:
            head = stream.read(4)
            if len(head) < 4 or head[:2] != b"\x00\x00":
                raise DataError(
                    f"{label} does not start with an IDX magic number (00 00 type ndim); "
                    f"it is not an MNIST-format file or is damaged; {fix}"
                )
            dtype = _IDX_DTYPES.get(head[2])
            if dtype is None:
                raise DataError(f"{label} has an unknown IDX data type code 0x{head[2]:02x}; {fix}")
            if head[3] != expected_ndim:
                what = "an image file (3 dimensions)" if expected_ndim == 3 else "a label file (1 dimension)"
                raise DataError(f"{label} has {head[3]} dimensions but should be {what}; {fix}")
            dims_bytes = stream.read(4 * expected_ndim)
            if len(dims_bytes) < 4 * expected_ndim:
                raise DataError(f"{label} is truncated inside its header; {fix}")
            dims = struct.unpack(f">{expected_ndim}I", dims_bytes)
            nbytes = math.prod(dims) * dtype.itemsize
            header_size = 4 + 4 * expected_ndim
            if not gzipped and nbytes != file_size - header_size:
                raise DataError(
                    f"{label}: its header declares {' x '.join(map(str, dims))} values "
                    f"({nbytes:,} bytes) but the file holds {file_size - header_size:,} bytes "
                    f"after the header; it is truncated or damaged; {fix}"
                )
            if gzipped and nbytes > file_size * _MAX_DEFLATE_RATIO + 4096:
                raise DataError(
                    f"{label}: its header declares {' x '.join(map(str, dims))} values "
                    f"({nbytes:,} bytes), far more than a {file_size:,}-byte gzip file can hold; {fix}"
                )
            _check_memory(_training_bytes(math.prod(dims), dtype.itemsize), label)
            data = _read_bounded(stream, nbytes)
    except DataError:
        raise
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataError(f"{label} is damaged or not a valid (gzipped) IDX file ({exc}); {fix}") from None
    if len(data) != nbytes:
        raise DataError(
            f"{label} is truncated: its header declares {nbytes:,} bytes of data but only "
            f"{len(data):,} are present; {fix}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(dims)


def _has_idx_files(folder: Path) -> bool:
    return any(
        _find_idx_file(folder, prefix, kind, idx) is not None
        for prefix, _ in _IDX_PARTS
        for kind, idx in (("images", "idx3"), ("labels", "idx1"))
    )


def _load_idx_folder(folder: Path) -> _RawData:
    """The MNIST IDX files of a folder, training and test parts pooled.

    Any part whose images and labels are both present is read (normally both parts); an
    images file without its labels, or the reverse, is an error rather than silently
    half a dataset.
    """
    label = f"the IDX folder {folder}"
    xs: list[NDArray[Any]] = []
    ys: list[NDArray[Any]] = []
    for prefix, part in _IDX_PARTS:
        images_path = _find_idx_file(folder, prefix, "images", "idx3")
        labels_path = _find_idx_file(folder, prefix, "labels", "idx1")
        if images_path is None and labels_path is None:
            continue
        if images_path is None or labels_path is None:
            missing = f"{prefix}-images-idx3-ubyte" if images_path is None else f"{prefix}-labels-idx1-ubyte"
            raise DataError(
                f"{label} has the {part} {'labels' if images_path is None else 'images'} but not "
                f"{missing}(.gz); put both files of the pair in the folder"
            )
        images = _read_idx(images_path, 3)
        labels = _read_idx(labels_path, 1)
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{label}: {images_path.name} holds {images.shape[0]:,} images but "
                f"{labels_path.name} holds {labels.shape[0]:,} labels; the two files of a pair "
                "must come from the same release"
            )
        xs.append(images)
        ys.append(labels)
    if not xs:
        raise DataError(
            f"{label} holds none of the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)"
        )
    return _pool(xs, ys, label, str(folder))
