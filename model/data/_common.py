"""What every data source shares: the :class:`Dataset` record, pixel scaling, labels, reads.

Each reader (:mod:`.npz`, :mod:`.idx`, :mod:`.csv`, :mod:`.images`, and the built-in
sources) produces a :class:`_RawData`: images ``(N, H, W)`` or flat features ``(N, D)``
with their labels, exactly as found. :func:`_dataset_from_raw` is the common last step
that checks, labels and scales it into a model-ready :class:`Dataset`, so every source
obeys the same rules.

Pixel scaling and shaping live in one function, :func:`to_model_input`, which the drawing
canvas's preprocessing uses too, so a model sees the same numbers at training time and
when it reads a hand-drawn digit.

Nothing here trusts its input: values that are not numbers, not finite or outside 0..255,
labels that are not whole numbers, mismatched counts and single-class data all raise
:class:`~model.errors.DataError` naming the source and the fix. :data:`_CORRUPT_FILE_ERRORS`
lists everything a damaged archive or stream can raise, for readers to turn into a
``DataError``, and :func:`_read_bounded` reads a stream without trusting the size its
header claims. :func:`_check_memory` refuses data that would not fit in memory once it is
float32 (four bytes per pixel, and once more for the split's copies), with the figures,
before the allocation that would fail.
"""

from __future__ import annotations

import lzma
import struct
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from model.errors import DataError
from model.machine import available_memory, format_bytes

IMAGE_SIZE: Final = 28
DIGIT_CLASS_NAMES: Final[tuple[str, ...]] = tuple(str(i) for i in range(10))

# Deflate cannot expand data by more than about 1032:1, so a gzip or zip member that
# claims to hold more than this many times its compressed size is lying, and we refuse it
# before allocating anything.
_MAX_DEFLATE_RATIO: Final = 1100
_READ_CHUNK: Final = 1 << 24

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
    tokenize.TokenError,  # numpy tokenizes a damaged .npy header dict before evaluating it
)


def _training_bytes(count: int, itemsize: int) -> int:
    """Memory ``count`` values need from reading to training: as read, as float32, and the split's copy."""
    return count * itemsize + 2 * count * 4


def _check_memory(needed: int, label: str) -> None:
    """Refuse ``label`` when ``needed`` bytes exceed the memory available now (when that is known)."""
    available = available_memory()
    if available is not None and needed > available:
        raise DataError(
            f"{label} needs about {format_bytes(needed)} of memory to train on (as read, as float32 "
            f"and split), but this computer has {format_bytes(available)} available; use a smaller "
            "file (fewer or smaller images) or free some memory"
        )


class _ByteStream(Protocol):
    """What :func:`_read_bounded` needs: a binary file, gzip stream or zip member."""

    def read(self, size: int = -1, /) -> bytes: ...


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


# --------------------------------------------------------------------------- records


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
    # The raw array is in memory already: what is left to find is its float32 copy and the split's.
    _check_memory(2 * int(raw.x.size) * 4, where)
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
