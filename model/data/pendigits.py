"""Real pen digits shipped with the app, for training models that read what people draw.

MNIST's writers were American Census staff and students, on paper; people at a canvas
write otherwise (a "1" with a long flag and a foot is read as a 7 by a network that knows
only MNIST). The app ships digits from "Pen-Based Recognition of Handwritten Digits"
(E. Alpaydin, F. Alimoglu, 1998; UCI Machine Learning Repository; CC BY 4.0): the pen
trajectories of writers 1-15 of its training file, rendered into 28x28 images by the Draw
tab's own stroke preprocessing (:func:`model.ink.render_digit`), so a model trains on
exactly what the canvas gives it. Writers 16-30 are kept out for the benchmark
(``bench/pendigits_accuracy.py``). ``resources/pendigits/README.md`` carries the
attribution and how the file was made (``bench/render_pendigits.py``).

:func:`mix_pen_digits` adds them to the *training* part of a split, oversampled to a
share of it (``data.pen_digits``); validation and test stay the dataset's own, so MNIST's
test figure stays MNIST's. Nothing needs them: when the file is missing, or the dataset
is not 28x28 digits, the split comes back unchanged with a notice saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from model.data._common import _CORRUPT_FILE_ERRORS, DIGIT_CLASS_NAMES, IMAGE_SIZE
from model.data.split import Split
from model.errors import DataError

PEN_DIGITS_FILE: Final = (
    Path(__file__).resolve().parent.parent.parent / "resources" / "pendigits" / "pendigits-writers-1-15.npz"
)
"""The bundled pen digits: ``x`` (N, 28, 28) uint8, ``y`` (N,) labels, ``writer`` (N,)."""

_MAX_SAMPLES: Final = 100_000


@dataclass(frozen=True, eq=False)
class Mixed:
    """A split with pen digits in its training part, and what to say about it.

    Attributes:
        split: The split (the one given, unchanged, when nothing was mixed in).
        description: E.g. ``"6,000 of them pen digits"``; ``""`` when none were.
        notice: Why none were mixed in, for people; ``None`` when they were.
    """

    split: Split
    description: str
    notice: str | None


def load_pen_digits(path: Path = PEN_DIGITS_FILE) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The bundled pen digits as float images in [0, 1] of shape (N, 28, 28) and labels.

    Raises:
        DataError: The file is missing, damaged or not in the expected layout.
    """
    if not path.is_file():
        raise DataError(f"the bundled pen digits ({path.name}) are missing; reinstall the app to get them back")
    try:
        with np.load(path, allow_pickle=False) as data:
            images, labels = np.asarray(data["x"]), np.asarray(data["y"])
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataError(
            f"the bundled pen digits ({path.name}) cannot be read ({type(exc).__name__}); reinstall the app"
        ) from None
    if (
        images.dtype != np.uint8
        or images.ndim != 3
        or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE)
        or not 0 < len(images) <= _MAX_SAMPLES
        or labels.shape != (len(images),)
        or not np.issubdtype(labels.dtype, np.integer)
        or labels.min() < 0
        or labels.max() > 9
    ):
        raise DataError(f"the bundled pen digits ({path.name}) are not 28x28 uint8 digits; reinstall the app")
    return images.astype(np.float32) / np.float32(255.0), labels.astype(np.int64)


def mix_pen_digits(split: Split, share: float, seed: int, path: Path = PEN_DIGITS_FILE) -> Mixed:
    """Add pen digits to ``split``'s training part until they make up ``share`` of it.

    They are drawn without replacement, pass after pass (oversampled when the share asks
    for more than there are), then the training part is shuffled; the same seed gives the
    same part. Validation and test are left alone.

    Args:
        split: A split of 28x28 digits labelled ``"0"`` to ``"9"``.
        share: The pen digits' share of the training part, in (0, 1).
        seed: The run's seed.
        path: The pen digits file.
    """
    shape = split.x_train.shape[1:]
    if split.class_names != DIGIT_CLASS_NAMES or shape not in ((IMAGE_SIZE, IMAGE_SIZE, 1), (IMAGE_SIZE, IMAGE_SIZE)):
        return Mixed(split, "", "data.pen_digits: the pen digits are 28x28 digits 0-9, so they were not mixed into this dataset")
    try:
        images, labels = load_pen_digits(path)
    except DataError as exc:
        return Mixed(split, "", f"data.pen_digits: {exc}; training without them")
    count = len(split.x_train)
    wanted = max(1, round(share * count / (1.0 - share)))
    rng = np.random.default_rng(seed)
    passes = -(-wanted // len(images))
    chosen = np.concatenate([rng.permutation(len(images)) for _ in range(passes)])[:wanted]
    added = images[chosen].reshape((wanted, *shape))
    x = np.concatenate([split.x_train, added.astype(split.x_train.dtype)])
    y = np.concatenate([split.y_train, labels[chosen].astype(split.y_train.dtype)])
    order = rng.permutation(len(x))
    mixed = replace(split, x_train=x[order], y_train=y[order])
    return Mixed(mixed, f"{wanted:,} of them pen digits", None)
