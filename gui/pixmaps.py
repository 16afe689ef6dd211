"""Numpy grayscale images as Qt pixmaps, for every view that shows what a network reads.

The Draw tab shows the 28x28 network input and its preprocessing stages with
:func:`gray_pixmap`, and the confusion view makes its sample icons with it, so the two
draw a digit the same way: pixels as crisp squares when enlarged, smoothed when shrunk.
:func:`heat_overlay_pixmap` lays a saliency map over the input (what the network looked
at), and :func:`unit_gray_pixmap` shows a feature map in its own range.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def gray_pixmap(image: NDArray[np.generic], width: int, height: int | None = None) -> QPixmap:
    """A float image in [0, 1] as a pixmap fitting ``width`` x ``height``, keeping its aspect.

    Images smaller than the target are enlarged with nearest-neighbour sampling so each
    pixel stays a crisp square (that is what the network sees); larger ones are smoothed.
    """
    values = np.asarray(image, dtype=np.float32)
    if values.ndim == 3:
        values = values[..., 0]
    pixels = np.ascontiguousarray(np.round(np.clip(np.nan_to_num(values), 0.0, 1.0) * 255.0).astype(np.uint8))
    rows, cols = pixels.shape
    qimage = QImage(pixels.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
    height = width if height is None else height
    enlarging = rows <= height and cols <= width
    mode = (
        Qt.TransformationMode.FastTransformation if enlarging else Qt.TransformationMode.SmoothTransformation
    )
    return QPixmap.fromImage(qimage).scaled(width, height, Qt.AspectRatioMode.KeepAspectRatio, mode)


def heat_colours(heat: NDArray[np.generic]) -> NDArray[np.float32]:
    """A map in [0, 1] as RGB in [0, 1] on a red-orange-yellow ramp.

    It stops at yellow, never white, so heat can never be mistaken for white ink.
    """
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0.0, 1.0)
    return np.stack([np.clip(0.6 + 0.8 * h, 0, 1), np.clip(1.6 * h - 0.4, 0, 0.9), np.zeros_like(h)], axis=-1)


def heat_overlay_pixmap(image: NDArray[np.generic], heat: NDArray[np.generic], side: int) -> QPixmap:
    """``image`` (gray, [0, 1]) with ``heat`` (its shape, [0, 1]) laid over it, ``side`` pixels square.

    The image is dimmed a little so the heat reads on white ink too; where the heat is 0
    the image shows as it is, and even where it is highest the ink still shows through.
    Pixels stay crisp squares.
    """
    gray = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0.0, 1.0)
    gray = gray[..., 0] if gray.ndim == 3 else gray
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0.0, 1.0).reshape(gray.shape)
    alpha = np.clip(h * 0.75, 0.0, 0.6)[..., None]
    base = np.repeat((0.8 * gray)[..., None], 3, axis=-1)
    rgb = base * (1.0 - alpha) + heat_colours(h) * alpha
    pixels = np.ascontiguousarray(np.round(rgb * 255.0).astype(np.uint8))
    rows, cols = gray.shape
    qimage = QImage(pixels.data, cols, rows, 3 * cols, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(qimage).scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


def unit_gray_pixmap(values: NDArray[np.generic], side: int) -> QPixmap:
    """Any real map (a feature map's activations) scaled to its own range, as :func:`gray_pixmap`."""
    data = np.nan_to_num(np.asarray(values, dtype=np.float32))
    low, high = float(data.min(initial=0.0)), float(data.max(initial=0.0))
    scaled = (data - low) / (high - low) if high > low else np.zeros_like(data)
    return gray_pixmap(scaled, side)
