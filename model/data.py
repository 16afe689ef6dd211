"""Datasets: find, read, check, scale and split the images a run trains on.

:func:`load_dataset` turns a :class:`~model.config.DataSpec` into one pooled
:class:`Dataset` (the train and test parts of the source are joined; splitting is a
separate, seeded step, :func:`split_dataset`, so that the split fractions in the run
configuration mean the same thing for every source).

Where the data comes from:

- ``mnist`` / ``fashion_mnist``: a file the user picked (``DataSpec.path``), else the copy
  Keras keeps in its cache (read directly with numpy, because Keras's own loader rejects
  any file whose hash differs from the official download), else a Keras download, else
  the built-in offline digits with a :attr:`Dataset.notice` that says why. Asking for
  MNIST therefore never fails: a person without a network still gets something to train.
- ``digits``: scikit-learn's bundled 8x8 digits, redrawn the MNIST way in 28x28.
- ``file``: a Keras-layout ``.npz``, a folder of the four MNIST IDX files (optionally
  gzipped), a CSV (label, then pixels), or a folder with one sub-folder of images per
  class.

Every reader treats its input as untrusted: anything wrong with a file (missing,
truncated, corrupt, inconsistent, absurdly large header sizes, pickled objects) raises
:class:`~model.errors.DataError` naming the file, the problem and the fix, and no other
exception type escapes. Pixel scaling and shaping live in one function,
:func:`to_model_input`, which the drawing canvas's preprocessing uses too, so a model sees
the same numbers at training time and when it reads a hand-drawn digit.

This module is Qt-free and does not import TensorFlow or Keras at import time: the GUI
imports it before TensorFlow has loaded, and only the download path needs Keras.
"""

from __future__ import annotations

import gzip
import io
import lzma
import math
import os
import socket
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from model.config import DataSpec, SplitSpec
from model.errors import DataError

__all__ = [
    "DIGIT_CLASS_NAMES",
    "FASHION_CLASS_NAMES",
    "IMAGE_SIZE",
    "Dataset",
    "Split",
    "keras_cache_dirs",
    "load_dataset",
    "split_dataset",
    "to_model_input",
]

IMAGE_SIZE: Final = 28
DIGIT_CLASS_NAMES: Final[tuple[str, ...]] = tuple(str(i) for i in range(10))
FASHION_CLASS_NAMES: Final[tuple[str, ...]] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# How long one socket operation of the Keras download may block before it gives up.
# Without it, urllib waits forever on a network that accepts connections but never answers.
DOWNLOAD_SOCKET_TIMEOUT_S: Final = 15.0

# Deflate cannot expand data by more than about 1032:1, so a gzip or zip member that
# claims to hold more than this many times its compressed size is lying, and we refuse it
# before allocating anything.
_MAX_DEFLATE_RATIO: Final = 1100
_READ_CHUNK: Final = 1 << 24

_IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg", ".bmp"})
_CSV_SUFFIXES: Final = frozenset({".csv", ".txt", ".tsv"})

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

# Everything a damaged archive or stream can raise from zipfile, gzip, zlib, lzma, struct
# or numpy's .npy header parser. Readers turn these into DataError naming the file.
_CORRUPT_FILE_ERRORS: Final = (
    OSError,  # includes gzip.BadGzipFile and truncated reads
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    NotImplementedError,  # zip members with an unknown compression method
    RuntimeError,  # encrypted zip members
    OverflowError,
    MemoryError,
    KeyError,
    IndexError,
    TypeError,
    SyntaxError,
)

_T = TypeVar("_T")


class _ByteStream(Protocol):
    """What :func:`_read_bounded` needs: a binary file, gzip stream or zip member."""

    def read(self, size: int = -1, /) -> bytes: ...


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Dataset:
    """A whole labelled dataset in model-ready form, before it is split.

    Attributes:
        name: Which source this is, one of ``mnist``, ``fashion_mnist``, ``digits``,
            ``file``. After an offline fallback it is ``digits``, whatever was asked for.
        x: Inputs as float32 in [0, 1]: images shaped ``(N, H, W, 1)`` (28x28 for the
            built-in sources) or, for flat non-image data, ``(N, D)``.
        y: Integer labels ``0 .. num_classes - 1`` (int64), shape ``(N,)``.
        class_names: A human name per label, indexed by label.
        source: Where the data came from, for people, e.g. ``MNIST from /data/mnist.npz``.
        notice: A message to show the user when something did not go as asked (an offline
            fallback, skipped unreadable images), else ``None``.
        n_official_test: How many of the last samples are the source's own test set
            (MNIST's 10,000 test digits, an ``.npz``'s ``x_test``); 0 when it has none.
    """

    name: str
    x: NDArray[np.float32]
    y: NDArray[np.int64]
    class_names: tuple[str, ...]
    source: str
    notice: str | None = None
    n_official_test: int = 0

    def __post_init__(self) -> None:
        # Cheap structural checks only: the readers have validated the values already.
        if self.x.dtype != np.float32 or self.x.ndim not in (2, 4):
            raise DataError(f"Dataset {self.name!r}: x must be float32 (N, H, W, 1) or (N, D)")
        if self.y.dtype != np.int64 or self.y.shape != (self.x.shape[0],):
            raise DataError(f"Dataset {self.name!r}: y must be int64 with one label per sample")
        if len(self.class_names) < 2:
            raise DataError(f"Dataset {self.name!r}: a classifier needs at least two classes")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample, e.g. ``(28, 28, 1)``."""
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset divided into training, validation and test parts.

    Empty parts (a validation or test fraction of 0) are arrays with zero rows and the
    right trailing shape, so code can always index and ``len()`` them.

    Attributes:
        notice: Set when a part could not be stratified (too few samples of some class)
            and was drawn at random instead; ``None`` otherwise.
    """

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]
    class_names: tuple[str, ...]
    notice: str | None = None

    def counts(self) -> dict[str, NDArray[np.int64]]:
        """Samples per class in each part, keyed ``train``, ``validation``, ``test``."""
        k = len(self.class_names)
        parts = {"train": self.y_train, "validation": self.y_val, "test": self.y_test}
        return {name: np.bincount(y, minlength=k).astype(np.int64) for name, y in parts.items()}

    def describe(self) -> str:
        """One line for a status bar, e.g. ``train 56,000 · validation 7,000 · test 7,000``."""
        return (
            f"train {len(self.y_train):,} · validation {len(self.y_val):,} · "
            f"test {len(self.y_test):,}"
        )


@dataclass(frozen=True)
class _RawData:
    """What a file reader found, before scaling: images ``(N, H, W)`` or flat ``(N, D)``."""

    x: NDArray[Any]
    labels: NDArray[Any]
    flat: bool
    description: str  # e.g. "the NumPy archive /data/mnist.npz", for messages
    location: str  # the file or folder it came from, e.g. "/data/mnist.npz"
    notice: str | None = None
    class_names: tuple[str, ...] | None = None  # when labels are already indices into these
    n_official_test: int = 0  # the last samples that came from the source's own test part


# --------------------------------------------------------------------------- scaling


def _scale_pixels(values: NDArray[Any], source: str, *, by_max: bool = False) -> NDArray[np.float32]:
    """Check that ``values`` are pixel intensities in 0..255 and scale them to [0, 1].

    The one place where raw pixel values become model inputs (:func:`to_model_input` is
    its public face). Integers are divided by 255. Floats whose maximum is at most 1 are
    taken as already scaled, larger floats are divided by 255. With ``by_max`` the
    divisor is the largest value present instead, for flat feature data whose range is
    not 0..255 (such as the 0..16 counts of scikit-learn's digits exported to CSV).
    """
    kind = values.dtype.kind
    if kind == "b":
        return values.astype(np.float32)
    if kind not in "iuf":
        raise DataError(
            f"{source}: pixel values must be numbers, found {values.dtype}; "
            "save the images as integers 0..255 or floats 0..1"
        )
    if values.size == 0:
        return values.astype(np.float32)
    if kind == "f" and not bool(np.isfinite(values).all()):
        raise DataError(f"{source}: some pixel values are NaN or infinite; every pixel must be 0..255")
    if values.dtype == np.uint8:
        low, high = 0.0, 255.0
    else:
        low, high = float(values.min()), float(values.max())
    if low < 0 or high > 255:
        raise DataError(
            f"{source}: pixel values must lie in 0..255, found values from {low:g} to {high:g}; "
            "rescale the images to 0..255 (or 0..1)"
        )
    if by_max:
        divisor = high if high > 0 else 1.0
    elif kind == "f" and high <= 1.0:
        divisor = 1.0
    else:
        divisor = 255.0
    out = values.astype(np.float32)
    if divisor != 1.0:
        out /= np.float32(divisor)
    return out


def to_model_input(images: npt.ArrayLike, *, source: str = "the images") -> NDArray[np.float32]:
    """Turn grayscale images into what a model reads: float32 in [0, 1] with a channel axis.

    The single place where pixels are scaled and shaped, used for every dataset and for
    the drawing canvas, so training and inference cannot disagree.

    Args:
        images: A batch shaped ``(N, H, W)`` or ``(N, H, W, 1)``: integers 0..255 (usually
            uint8) or floats, where floats with a maximum of at most 1 are taken as
            already scaled and larger floats as 0..255. Pass one image as ``image[None]``.
        source: How to name the images in an error message, e.g. a file name.

    Returns:
        A new float32 array shaped ``(N, H, W, 1)`` with values in [0, 1].

    Raises:
        DataError: if the shape is not a batch of single-channel images, or a value is
            not a number in 0..255.
    """
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[..., np.newaxis]
    elif not (arr.ndim == 4 and arr.shape[-1] == 1):
        raise DataError(
            f"{source}: expected a batch of grayscale images shaped (N, H, W) or (N, H, W, 1), "
            f"got shape {arr.shape}"
        )
    return _scale_pixels(arr, source)


def _flat_model_input(features: NDArray[Any], source: str) -> NDArray[np.float32]:
    """Flat ``(N, D)`` pixel features scaled by their maximum (see :func:`_scale_pixels`)."""
    return _scale_pixels(features, source, by_max=True)


# --------------------------------------------------------------------------- labels


def _integer_labels(values: NDArray[Any], source: str) -> NDArray[np.int64]:
    """Labels as int64 ``(N,)``: accepts ints, integral floats, ``(N, 1)`` and one-hot rows."""
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim == 2 and values.shape[1] > 1 and values.dtype.kind in "biuf":
        # One-hot rows (Keras's to_categorical): exactly one 1 per row, zeros elsewhere.
        ones = values == 1
        if bool(((values == 0) | ones).all()) and bool((ones.sum(axis=1) == 1).all()):
            return np.asarray(np.argmax(values, axis=1), dtype=np.int64)
        raise DataError(
            f"{source}: labels are a {values.shape} table but not one-hot rows; "
            "store one integer class label per sample"
        )
    if values.ndim != 1:
        raise DataError(f"{source}: labels must be one integer per sample, got shape {values.shape}")
    kind = values.dtype.kind
    if kind in "biu" or values.size == 0:
        if kind == "u" and values.size and int(values.max()) > 2**62:
            raise DataError(f"{source}: a label is absurdly large ({int(values.max())})")
        return values.astype(np.int64)
    if kind == "f":
        if not bool(np.isfinite(values).all()):
            raise DataError(f"{source}: some labels are NaN or infinite; labels must be whole numbers")
        if bool((np.abs(values) > 2**53).any()) or not bool((values == np.round(values)).all()):
            raise DataError(
                f"{source}: labels must be whole numbers (class indices such as 0..9), "
                "found fractional values"
            )
        return values.astype(np.int64)
    raise DataError(f"{source}: labels must be integers, found {values.dtype}")


def _dataset_from_raw(
    raw: _RawData,
    *,
    name: str,
    source: str,
    class_names: tuple[str, ...] | None = None,
    notice: str | None = None,
) -> Dataset:
    """Scale, label and check a reader's output; the common last step of every source.

    With fixed ``class_names`` (MNIST, Fashion-MNIST) labels must already be indices into
    them and images must be 28x28. A reader that knows the names (an image folder's
    sub-folders) passes them in ``raw.class_names``. Otherwise the distinct labels found
    become the classes, in sorted order, so a file labelled 3 and 7 trains a two-class
    model named "3", "7".
    """
    where = raw.description
    n = int(raw.x.shape[0])
    if n == 0:
        raise DataError(f"{where} holds no samples; pick a file with labelled images")
    if raw.labels.shape[0] != n:
        raise DataError(
            f"{where} has {n} samples but {raw.labels.shape[0]} labels; "
            "every image needs exactly one label"
        )
    labels = _integer_labels(raw.labels, where)
    if class_names is not None:
        if raw.flat or raw.x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise DataError(
                f"{where}: this dataset needs 28x28 images, found samples shaped {raw.x.shape[1:]}; "
                "choose the data source 'file' for other data"
            )
        bad = (labels < 0) | (labels >= len(class_names))
        if bool(bad.any()):
            raise DataError(
                f"{where}: this dataset's labels must be 0..{len(class_names) - 1}, found "
                f"{int(labels[bad][0])}; choose the data source 'file' for other labels"
            )
        y = labels
        names = class_names
    elif raw.class_names is not None:
        y = labels
        names = raw.class_names
    else:
        values, inverse = np.unique(labels, return_inverse=True)
        y = inverse.reshape(-1).astype(np.int64)
        names = tuple(str(int(v)) for v in values)
    present = np.unique(y)
    if present.size < 2:
        only = names[int(present[0])]
        raise DataError(
            f"{where}: every sample has the same label ({only}); a classifier needs at least "
            "two classes, so add samples of another class"
        )
    x = _flat_model_input(raw.x, where) if raw.flat else to_model_input(raw.x, source=where)
    notices = [m for m in (raw.notice, notice) if m]
    return Dataset(
        name=name,
        x=x,
        y=y,
        class_names=names,
        source=source,
        notice=" ".join(notices) if notices else None,
        n_official_test=raw.n_official_test,
    )


# --------------------------------------------------------------------------- readers


def _read_bounded(stream: _ByteStream, nbytes: int) -> bytes:
    """Read exactly ``nbytes`` from a stream in chunks, then insist on end of stream.

    Chunked so memory grows with the data actually present, not with a size a header
    merely claims. Returns fewer bytes when the stream ends early; raises ``ValueError``
    when it holds more.
    """
    chunks: list[bytes] = []
    remaining = nbytes
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    if stream.read(1):  # reading to the end also makes gzip/zip verify their checksums
        raise ValueError("the file holds more data than its header describes")
    return b"".join(chunks)


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


def _pool(xs: list[NDArray[Any]], ys: list[NDArray[Any]], label: str, location: str) -> _RawData:
    """Join parts (train, test) into one set, shaping images ``(N, H, W)`` or flat ``(N, D)``."""
    shaped: list[NDArray[Any]] = []
    for x in xs:
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        elif x.ndim == 2 and x.shape[1] == IMAGE_SIZE * IMAGE_SIZE:
            x = x.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        elif x.ndim not in (2, 3):
            raise DataError(
                f"{label}: images must be shaped (N, H, W), (N, H, W, 1) or flat (N, D), "
                f"got {x.shape}"
            )
        shaped.append(x)
    if len({x.shape[1:] for x in shaped}) > 1:
        shapes = " and ".join(str(x.shape[1:]) for x in shaped)
        raise DataError(f"{label}: its parts have different sample shapes ({shapes}); they must match")
    try:
        x_all = np.concatenate(shaped) if len(shaped) > 1 else shaped[0]
        y_all = np.concatenate(ys) if len(ys) > 1 else ys[0]
    except (ValueError, TypeError) as exc:
        raise DataError(f"{label}: its parts cannot be joined ({exc})") from None
    # By convention the last part handed in is the source's official test set.
    n_test = len(ys[-1]) if len(ys) > 1 else 0
    return _RawData(
        x=x_all, labels=y_all, flat=x_all.ndim == 2, description=label, location=location, n_official_test=n_test
    )


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
        file_size = path.stat().st_size
        gzipped = path.name.endswith(".gz")
        raw_stream: io.BufferedIOBase = gzip.GzipFile(path, "rb") if gzipped else open(path, "rb")
        with raw_stream as stream:
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
            data = _read_bounded(stream, nbytes)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{label} does not exist") from None
    except PermissionError:
        raise DataError(f"{label} cannot be read (permission denied); check its permissions") from None
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


def _guess_delimiter(line: str) -> str | None:
    for delimiter in (",", ";", "\t"):
        if delimiter in line:
            return delimiter
    return None  # whitespace-separated


def _split_row(line: str, delimiter: str | None) -> list[str]:
    return line.split(delimiter) if delimiter is not None else line.split()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _looks_like_header(cells: list[str]) -> bool:
    """A first row is a header when its label cell, or most of its cells, are not numbers.

    Column names such as ``label, 1x1, 1x2`` are text; some exporters name pixel columns
    by number, so a single numeric-looking cell does not make a row data.
    """
    numeric = sum(_is_number(cell) for cell in cells)
    return not _is_number(cells[0]) or numeric * 2 < len(cells)


def _load_csv(path: Path) -> _RawData:
    """A CSV: one sample per row, the label first, then the pixels 0..255.

    784 pixel columns are read as 28x28 images; any other count as flat features scaled
    by their maximum. A header row is optional. Commas, semicolons, tabs or spaces may
    separate the values.
    """
    label = f"the CSV file {path}"
    fix = "each row must be a label followed by the pixel values 0..255, separated by commas"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{label} does not exist; pick an existing CSV file") from None
    except IsADirectoryError:
        raise DataError(f"{label} is a folder, not a CSV file") from None
    except OSError as exc:
        raise DataError(f"{label} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{label} is not a text file (not UTF-8); {fix}") from None
    rows = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        raise DataError(f"{label} is empty; {fix}")
    delimiter = _guess_delimiter(rows[0][1])
    if _looks_like_header(_split_row(rows[0][1], delimiter)):
        rows = rows[1:]
        if not rows:
            raise DataError(f"{label} has a header row but no data rows; {fix}")
    width = len(_split_row(rows[0][1], delimiter))
    if width < 2:
        raise DataError(f"{label}: row {rows[0][0]} has a single column; {fix}")
    try:
        table = np.loadtxt(
            [line for _, line in rows], delimiter=delimiter, dtype=np.float64, ndmin=2, comments=None
        )
    except (ValueError, TypeError, OverflowError) as exc:
        _diagnose_csv(label, rows, delimiter, width, fix)
        raise DataError(f"{label} cannot be parsed ({exc}); {fix}") from None
    if table.shape != (len(rows), width):
        raise DataError(f"{label} cannot be parsed into {len(rows)} rows of {width} columns; {fix}")
    if not bool(np.isfinite(table).all()):
        row = int(np.argwhere(~np.isfinite(table))[0][0])
        raise DataError(f"{label}: row {rows[row][0]} holds a value that is not a finite number; {fix}")
    pixels = table[:, 1:]
    flat = pixels.shape[1] != IMAGE_SIZE * IMAGE_SIZE
    x = pixels if flat else pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return _RawData(x=x, labels=table[:, 0], flat=flat, description=label, location=str(path))


def _diagnose_csv(
    label: str, rows: list[tuple[int, str]], delimiter: str | None, width: int, fix: str
) -> None:
    """Find the first ragged row or non-numeric cell and raise a ``DataError`` naming it."""
    first = rows[0][0]
    for number, line in rows:
        cells = _split_row(line, delimiter)
        if len(cells) != width:
            raise DataError(
                f"{label}: row {number} has {len(cells)} columns but row {first} has {width}; "
                "every row needs the label followed by the same number of pixel values"
            )
        for column, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                shown = cell.strip()[:20] or "an empty cell"
                raise DataError(
                    f"{label}: row {number}, column {column} holds {shown!r}, which is not a number; {fix}"
                )


def _read_image(path: Path) -> NDArray[np.uint8]:
    """One image file as 28x28 grayscale uint8, resized with anti-aliasing if needed."""
    from PIL import Image

    with Image.open(path) as image:
        gray = image.convert("L")
    if gray.size != (IMAGE_SIZE, IMAGE_SIZE):
        gray = gray.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.uint8)


def _load_image_folder(folder: Path) -> _RawData:
    """A folder with one sub-folder of images per class (PNG, JPEG, BMP).

    Class names are the sub-folder names in sorted order. Images are converted to
    grayscale and resized to 28x28 (without keeping the aspect ratio, and without
    inverting: MNIST-trained models expect a light digit on a dark background). Files that
    cannot be decoded are skipped and listed in the notice; only a folder with no readable
    image at all is an error.
    """
    label = f"the image folder {folder}"
    layout = (
        "put the images of each class in their own sub-folder (e.g. digits/0/*.png, digits/1/*.png) "
        "or pick a folder with the MNIST IDX files"
    )
    try:
        class_dirs = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise DataError(f"{label} cannot be listed ({exc.strerror or exc})") from None
    if not class_dirs:
        raise DataError(f"{label} has no class sub-folders and no IDX files; {layout}")
    images: list[NDArray[np.uint8]] = []
    labels: list[int] = []
    names: list[str] = []
    skipped: list[str] = []
    empty: list[str] = []
    for class_dir in class_dirs:
        try:
            files = sorted(
                p
                for p in class_dir.rglob("*")
                if p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
            )
        except OSError as exc:
            raise DataError(f"{label}: the sub-folder {class_dir.name} cannot be listed ({exc})") from None
        found = 0
        for file in files:
            try:
                pixels = _read_image(file)
            # Pillow's decoders raise many types on damaged files (OSError, ValueError,
            # SyntaxError, struct.error, DecompressionBombError, ...); any of them just
            # means this one file is unreadable, which the notice reports.
            except Exception as exc:  # noqa: BLE001
                skipped.append(f"{file.relative_to(folder)} ({type(exc).__name__})")
                continue
            images.append(pixels)
            labels.append(len(names))
            found += 1
        if found:
            names.append(class_dir.name)
        else:
            empty.append(class_dir.name)
    if not images:
        detail = f" ({len(skipped)} image files could not be decoded)" if skipped else ""
        raise DataError(
            f"{label} has class sub-folders but no readable PNG, JPEG or BMP images{detail}; {layout}"
        )
    notes: list[str] = []
    if skipped:
        listed = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        notes.append(f"Skipped {len(skipped)} unreadable image file(s): {listed}.")
    if empty:
        notes.append(f"Ignored sub-folder(s) without readable images: {', '.join(empty)}.")
    return _RawData(
        x=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        flat=False,
        description=label,
        location=str(folder),
        notice=" ".join(notes) if notes else None,
        class_names=tuple(names),
    )


def _load_path(path: Path) -> _RawData:
    """Read a user-picked file or folder, choosing the reader from what is there."""
    if not path.exists():
        raise DataError(f"{path} does not exist; pick an existing data file or folder")
    if path.is_dir():
        if _has_idx_files(path):
            return _load_idx_folder(path)
        return _load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix in _CSV_SUFFIXES:
        return _load_csv(path)
    try:
        with open(path, "rb") as stream:
            magic = stream.read(4)
    except OSError as exc:
        raise DataError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if magic[:2] == b"PK":
        return _load_npz(path)
    raise DataError(
        f"{path} is not a supported data file; pick a .npz (Keras layout), a .csv "
        "(label then pixels), a folder with the MNIST IDX files, or a folder with one "
        "sub-folder of images per class"
    )


# --------------------------------------------------------------------------- digits


def _mnist_style(image: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Redraw one small digit image (values in [0, 1]) the way MNIST drew its digits.

    MNIST fitted each digit's bounding box into 20x20 pixels, keeping the aspect ratio,
    with anti-aliasing, then placed it in a 28x28 field with its centre of mass in the
    middle. Doing the same here makes the offline digits look like MNIST to a model.
    """
    from PIL import Image

    rows = np.flatnonzero(image.max(axis=1) > 0)
    cols = np.flatnonzero(image.max(axis=0) > 0)
    field = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    if rows.size and cols.size:
        crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
        height, width = crop.shape
        scale = 20.0 / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        resized = Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.BICUBIC)
        box = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
        total = float(box.sum())
        if total > 0:
            cy = float(box.sum(axis=1) @ np.arange(new_h)) / total
            cx = float(box.sum(axis=0) @ np.arange(new_w)) / total
        else:
            cy, cx = (new_h - 1) / 2, (new_w - 1) / 2
        centre = IMAGE_SIZE / 2  # where MNIST digits have their centre of mass, on average
        top = min(max(round(centre - cy), 0), IMAGE_SIZE - new_h)
        left = min(max(round(centre - cx), 0), IMAGE_SIZE - new_w)
        field[top : top + new_h, left : left + new_w] = box
    return np.round(field * 255).astype(np.uint8)


def _load_digits(notice: str | None = None) -> Dataset:
    """scikit-learn's bundled digits (1,797 8x8 images), redrawn as 28x28 MNIST-style."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = np.asarray(bunch.images, dtype=np.float64) / 16.0
    images = np.stack([_mnist_style(image) for image in small])
    raw = _RawData(
        x=images,
        labels=np.asarray(bunch.target),
        flat=False,
        description="scikit-learn's bundled digits",
        location="scikit-learn",
    )
    return _dataset_from_raw(
        raw,
        name="digits",
        source="scikit-learn's 8x8 digits, resized to 28x28 (built in, offline)",
        class_names=DIGIT_CLASS_NAMES,
        notice=notice,
    )


# --------------------------------------------------------------------------- keras


def keras_cache_dirs() -> tuple[Path, ...]:
    """The folders where Keras keeps downloaded datasets, in the order Keras uses them.

    ``$KERAS_HOME/datasets`` when that variable is set, else ``~/.keras/datasets``; Keras
    falls back to ``/tmp/.keras/datasets`` when that home is not writable, so we look
    there too in that case. Tests monkeypatch this function (or ``KERAS_HOME``).
    """
    env_home = os.environ.get("KERAS_HOME")
    if env_home:
        base = Path(env_home).expanduser()
    else:
        try:
            user_home = Path.home()
        except RuntimeError:  # no resolvable home directory
            user_home = Path(tempfile.gettempdir())
        base = user_home / ".keras"
    dirs = [base / "datasets"]
    writable_probe = base if base.exists() else base.parent
    if not os.access(writable_probe, os.W_OK):
        dirs.append(Path(tempfile.gettempdir()) / ".keras" / "datasets")
    return tuple(dirs)


def _read_keras_cache(name: str, cache_dir: Path) -> _RawData | None:
    """The dataset from one Keras cache folder, ``None`` when it is not there."""
    if name == "mnist":
        path = cache_dir / "mnist.npz"
        return _load_npz(path) if path.is_file() else None
    folder = cache_dir / "fashion-mnist"
    return _load_idx_folder(folder) if folder.is_dir() and _has_idx_files(folder) else None


def _with_socket_timeout(call: Callable[[], _T], timeout_s: float) -> _T:
    """Run ``call`` with a default socket timeout, restoring the previous one afterwards.

    Keras downloads with ``urllib`` without a timeout; on a network that accepts a
    connection and then goes silent, that would block the loading worker forever.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        return call()
    finally:
        socket.setdefaulttimeout(previous)


def _download_with_keras(name: str) -> _RawData:
    """Download (or find in Keras's cache) a dataset through ``keras.datasets``.

    Keras is imported here and only here, so importing this module stays cheap and does
    not start TensorFlow. Any failure propagates; the caller falls back.
    """

    def fetch() -> Any:
        import keras

        module = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
        return module.load_data()

    (x_train, y_train), (x_test, y_test) = _with_socket_timeout(fetch, DOWNLOAD_SOCKET_TIMEOUT_S)
    return _pool(
        [np.asarray(x_train), np.asarray(x_test)],
        [np.asarray(y_train), np.asarray(y_test)],
        f"the {name} download",
        "the Keras download",
    )


def _load_keras_dataset(spec: DataSpec, allow_download: bool) -> Dataset:
    """MNIST or Fashion-MNIST from the picked file, the Keras cache, a download, or offline."""
    title = "MNIST" if spec.name == "mnist" else "Fashion-MNIST"
    names = DIGIT_CLASS_NAMES if spec.name == "mnist" else FASHION_CLASS_NAMES

    def finish(raw: _RawData, where: str) -> Dataset:
        return _dataset_from_raw(raw, name=spec.name, source=f"{title} from {where}", class_names=names)

    if spec.path is not None:
        # The user picked this file: if it is unusable, say so rather than quietly
        # training on something else.
        path = Path(spec.path).expanduser()
        picked = _load_path(path)
        return finish(picked, picked.location)

    problems: list[str] = []
    for cache_dir in keras_cache_dirs():
        try:
            cached = _read_keras_cache(spec.name, cache_dir)
            if cached is not None:
                return finish(cached, f"{cached.location} (the Keras cache)")
        except DataError as exc:
            problems.append(f"The cached copy could not be used: {exc}.")

    if allow_download:
        try:
            downloaded = _download_with_keras(spec.name)
            return finish(downloaded, downloaded.location)
        # A download can fail in many ways (no network, DNS, timeout, HTTP error, hash
        # mismatch, a broken Keras install); all of them mean "use the offline fallback".
        except Exception:  # noqa: BLE001
            pass
        reason = f"{title} could not be downloaded (no network?) and no local copy was found"
    else:
        reason = f"{title} was not downloaded (downloading is off) and no local copy was found"
    picker = "a mnist.npz file" if spec.name == "mnist" else "a .npz file or a folder holding its four IDX files,"
    notice = (
        f"{reason}; using the built-in offline digits (scikit-learn's 8x8 digits resized to "
        f"28x28). To use {title}, pick {picker} or connect to the internet."
    )
    return _load_digits(" ".join([notice, *problems]))


# --------------------------------------------------------------------------- public


def load_dataset(spec: DataSpec, *, allow_download: bool = True) -> Dataset:
    """Load the dataset a run asks for, as one pooled, model-ready :class:`Dataset`.

    ``spec.limit`` is not applied here; pass it to :func:`split_dataset`, which keeps a
    stratified subset.

    Args:
        spec: Which dataset, and for ``file`` (or a local MNIST copy) its path.
        allow_download: Whether MNIST / Fashion-MNIST may be downloaded through Keras when
            neither a path nor a cached copy is available. The download imports
            TensorFlow, so call this off the GUI thread.

    Returns:
        The dataset. For MNIST and Fashion-MNIST without a path it is never an error: when
        no copy can be found or downloaded the offline digits come back, with a
        :attr:`Dataset.notice` saying so.

    Raises:
        DataError: a picked file or folder is missing, unreadable, corrupt or
            inconsistent; the message names it and says how to fix it.
    """
    if spec.name in ("mnist", "fashion_mnist"):
        return _load_keras_dataset(spec, allow_download)
    if spec.name == "digits":
        return _load_digits()
    if spec.name == "file":
        if spec.path is None:
            raise DataError("data.path is required for the data source 'file'; pick a file or folder")
        path = Path(spec.path).expanduser()
        raw = _load_path(path)
        return _dataset_from_raw(raw, name="file", source=raw.description[0].upper() + raw.description[1:])
    raise DataError(f"unknown dataset {spec.name!r}; choose mnist, fashion_mnist, digits or file")


def _take(
    indices: NDArray[np.intp],
    y: NDArray[np.int64],
    size: int,
    seed: int,
    stratified: bool,
) -> tuple[NDArray[np.intp], NDArray[np.intp], bool]:
    """Draw ``size`` of ``indices`` (the second result) from the rest (the first).

    Stratified when asked and possible; the third result says whether it was. sklearn
    refuses to stratify when a class has a single sample or a part is smaller than the
    number of classes, and then a random draw is the best that can be done.
    """
    from sklearn.model_selection import train_test_split

    if size == 0:
        return indices, indices[:0], stratified
    if stratified:
        try:
            rest, drawn = train_test_split(indices, test_size=size, random_state=seed, stratify=y[indices])
            return np.asarray(rest, dtype=np.intp), np.asarray(drawn, dtype=np.intp), True
        except ValueError:
            pass
    rest, drawn = train_test_split(indices, test_size=size, random_state=seed, shuffle=True)
    return np.asarray(rest, dtype=np.intp), np.asarray(drawn, dtype=np.intp), False


def _part_size(fraction: float, n: int) -> int:
    """Samples for a part: rounded, but at least one when the fraction is not zero."""
    if fraction <= 0:
        return 0
    return max(1, round(fraction * n))


def split_dataset(ds: Dataset, split: SplitSpec, seed: int, limit: int | None = None) -> Split:
    """Divide a dataset into training, validation and test parts, reproducibly.

    The same dataset, split and seed always give the same parts; another seed gives
    others. When ``split.stratified`` every part keeps the class proportions of the
    whole, as far as the part sizes allow; a part that cannot be stratified (a class with a
    single sample, a part smaller than the number of classes) is drawn at random and
    :attr:`Split.notice` says so.

    Args:
        ds: The pooled dataset.
        split: The fractions (validation and test may be 0) and whether to stratify.
        seed: The random seed of the run.
        limit: Keep only this many samples (a stratified subset) before splitting, for
            quick experiments; ``None`` or a number >= ``len(ds)`` keeps everything.

    Raises:
        DataError: ``limit`` is not a positive whole number, or the dataset is too small
            to leave at least one training sample.
    """
    n_all = len(ds)
    indices = np.arange(n_all, dtype=np.intp)
    notes: list[str] = []
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise DataError(f"data.limit must be a positive whole number, got {limit!r}")
        if limit < n_all:
            _, indices, ok = _take(indices, ds.y, limit, seed, split.stratified)
            if split.stratified and not ok:
                notes.append(f"The {limit:,}-sample subset could not be stratified and was drawn at random.")
    n = len(indices)
    if split.official_test and ds.n_official_test > 0:
        # The source's own test set is the test part; train and validation share the rest
        # in proportion.
        is_test = indices >= n_all - ds.n_official_test
        test_idx, rest = indices[is_test], indices[~is_test]
        share = split.validation / (split.train + split.validation)
        n_val = _part_size(share, len(rest))
        if len(rest) - n_val < 1 or len(test_idx) == 0:
            raise DataError(
                f"{n} samples are too few for this split with the official test set; use more data"
            )
        train_idx, val_idx, ok_val = _take(rest, ds.y, n_val, seed, split.stratified)
        ok_test = True
    else:
        n_test = _part_size(split.test, n)
        n_val = _part_size(split.validation, n)
        if n - n_test - n_val < 1:
            raise DataError(
                f"{n} samples are too few for this split (train {split.train:g}, validation "
                f"{split.validation:g}, test {split.test:g}): no training sample would be left; "
                "use more data or smaller validation and test fractions"
            )
        rest, test_idx, ok_test = _take(indices, ds.y, n_test, seed, split.stratified)
        train_idx, val_idx, ok_val = _take(rest, ds.y, n_val, seed, split.stratified)
    for ok, part in ((ok_val, "validation"), (ok_test, "test")):
        if split.stratified and not ok:
            notes.append(
                f"The {part} part could not be stratified (too few samples of some class for "
                "its size) and was drawn at random."
            )
    return Split(
        x_train=ds.x[train_idx],
        y_train=ds.y[train_idx],
        x_val=ds.x[val_idx],
        y_val=ds.y[val_idx],
        x_test=ds.x[test_idx],
        y_test=ds.y[test_idx],
        class_names=ds.class_names,
        notice=" ".join(notes) if notes else None,
    )

