"""Numpy grayscale images as Qt pixmaps, for every view that shows what a network reads.

The Draw tab shows the 28x28 network input and its preprocessing stages with
:func:`gray_pixmap`, and the confusion view makes its sample icons with it, so the two
draw a digit the same way: pixels as crisp squares when enlarged, smoothed when shrunk.
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
