"""Extra training images: a folder of class folders mixed into the training part only.

``DataSpec.extra_path`` names such a folder (the user's own handwriting, kept by
:mod:`model.handwriting`) and ``DataSpec.extra_share`` the share of the training part its
images should make up. :func:`mix_into_training` adds them *after* the dataset has been
split, and only to the training part: the validation and test parts stay the dataset's
own, so a test accuracy after mixing is measured on the same images as before and the
extra images can never leak into it.

A few dozen drawings beside 60,000 MNIST digits would be lost, so they are oversampled:
repeated (each pass over them in a fresh seeded order) until they make up the share asked
for, and every image appears at least once. Sub-folders are matched to the dataset's
classes by name through :func:`class_folder_name`, the one rule that turns a class name
into a folder name (the handwriting set writes with it); a sub-folder that names no class
of the dataset is left out and the notice says so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np

from model.config import DataSpec
from model.data._common import _scale_pixels
from model.data.images import _load_image_folder
from model.data.split import Split
from model.errors import DataError

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9 ._+-]")


def class_folder_name(name: str, index: int) -> str:
    """The sub-folder that holds the images of class ``name`` (number ``index``).

    Class names become folder names as they are when they are plain ("0" to "9", "Shirt");
    characters a file system may refuse or misread ("T-shirt/top" has a slash) become
    ``_``, and a name that is empty, or only dots, becomes ``class-<index>``.
    """
    cleaned = _UNSAFE.sub("_", name).strip(" ")
    if not cleaned.strip("."):
        return f"class-{index}"
    return cleaned


@dataclass(frozen=True)
class Mixed:
    """The training part with the extra images in, and what to say about it.

    Attributes:
        split: The split; only its training part changed.
        images: How many extra images were found.
        added: How many samples they became in the training part (with repeats).
        description: For the status bar, e.g. ``+ 20 from handwriting, repeated to 6,000``.
        notice: What was left out and why (sub-folders that name no class, unreadable
            files), or ``None``.
    """

    split: Split
    images: int
    added: int
    description: str
    notice: str | None


def mix_into_training(split: Split, spec: DataSpec, seed: int) -> Mixed:
    """Add the images of ``spec.extra_path`` to ``split``'s training part, oversampled.

    Args:
        split: The dataset's split; its class names say which sub-folders count.
        spec: The data settings; ``extra_path`` must be set.
        seed: The run's seed: the same seed repeats the images in the same order.

    Raises:
        DataError: the folder cannot be read, holds no readable image of a class of the
            dataset, or its images do not have the dataset's shape; the message names
            ``data.extra_path``.
    """
    assert spec.extra_path is not None
    folder = Path(spec.extra_path).expanduser()
    try:
        raw = _load_image_folder(folder)
    except DataError as exc:
        raise DataError(f"data.extra_path: {exc}") from None
    folders = {class_folder_name(name, k): k for k, name in enumerate(split.class_names)}
    found = raw.class_names or ()
    mapping = np.asarray([folders.get(name, -1) for name in found], dtype=np.int64)
    labels = mapping[raw.labels]
    keep = labels >= 0
    ignored = [name for name in found if name not in folders]
    if not keep.any():
        raise DataError(
            f"data.extra_path: none of the sub-folders of {folder} ({', '.join(found)}) is a class of "
            f"this dataset ({', '.join(folders)}); name each sub-folder after the class its images show"
        )
    x = _scale_pixels(raw.x[keep], f"data.extra_path ({folder})")[..., np.newaxis]
    y = labels[keep]
    want = split.x_train.shape[1:]
    if x.shape[1:] != want:
        if math.prod(x.shape[1:]) != math.prod(want):
            raise DataError(
                f"data.extra_path: the images of {folder} are {x.shape[1:]} but the dataset's are {want}; "
                "mix in images of the dataset's size"
            )
        x = x.reshape((len(x), *want))
    count = len(x)
    n_train = len(split.x_train)
    share = spec.extra_share
    wanted = max(count, round(share / (1.0 - share) * n_train))
    rng = np.random.default_rng(seed)
    passes = -(-wanted // count)
    order = np.concatenate([rng.permutation(count) for _ in range(passes)])[:wanted]
    mixed = replace(
        split,
        x_train=np.concatenate([split.x_train, x[order]]),
        y_train=np.concatenate([split.y_train, y[order]]),
    )
    notes = [raw.notice] if raw.notice else []
    if ignored:
        notes.append(f"Left out the sub-folder(s) {', '.join(ignored)} of {folder}: not classes of this dataset.")
    repeated = f", repeated to {wanted:,}" if wanted != count else ""
    return Mixed(
        split=mixed,
        images=count,
        added=wanted,
        description=f"+ {count:,} from {folder.name or folder}{repeated}",
        notice=" ".join(notes) if notes else None,
    )
