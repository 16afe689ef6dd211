"""The built-in offline digits: scikit-learn's bundled 8x8 digits, redrawn MNIST-style.

scikit-learn ships 1,797 8x8 digits with its install, so this source needs no network
and no file: it is the dataset ``digits`` and the fallback when MNIST or Fashion-MNIST
cannot be found or downloaded (:mod:`.keras_source`). Each digit is redrawn the way MNIST
drew its own, in 28x28, so a model trained here reads MNIST-like input and hand-drawn
digits alike. The data is trusted (it comes with the install), but still passes through
the common checks of :func:`~model.data._common._dataset_from_raw`. scikit-learn and
Pillow are imported on first use, not at import time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from model.data._common import DIGIT_CLASS_NAMES, IMAGE_SIZE, Dataset, _dataset_from_raw, _RawData


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
