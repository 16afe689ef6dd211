"""Class-folder images: a folder with one sub-folder of PNG, JPEG or BMP images per class.

Class names are the sub-folder names in sorted order. Images are converted to grayscale
and resized to 28x28 (without keeping the aspect ratio, and without inverting:
MNIST-trained models expect a light digit on a dark background).

Every image is decoded by Pillow (imported on first use, not at import time). A file
that cannot be decoded, whatever Pillow raises for it (a damaged file, a
``DecompressionBombError``), is skipped and listed in the dataset's notice; only a folder
that cannot be listed, has no class sub-folders, or holds no readable image at all raises
:class:`~model.errors.DataError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from model.data._common import IMAGE_SIZE, _RawData
from model.errors import DataError
from model.reading import open_regular

_IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg", ".bmp"})


def _read_image(path: Path) -> NDArray[np.uint8]:
    """One image file as 28x28 grayscale uint8, resized with anti-aliasing if needed."""
    from PIL import Image

    with open_regular(path) as handle, Image.open(handle) as image:
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
