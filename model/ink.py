"""Turning the strokes a person drew into the 28x28 input an MNIST model expects.

A canvas knows more than its pixels: it knows the pen's path. That matters because what
MNIST's digits share is a stroke width *relative to the digit* (about a ninth of its
longest side), not to the page. A small digit drawn with the canvas's 20-pixel pen comes
out, once scaled up to MNIST's 20x20 box, with strokes several times thicker than any
MNIST digit; a thick pen does the same to a large one. Measuring and redrawing the width
from the pixels (what :func:`model.preprocess.preprocess_drawing` must do for a picture
file) is fragile exactly there, where the strokes have merged into blobs.

:func:`preprocess_strokes` therefore ignores the pen and the canvas altogether. It takes
the strokes' centre lines, scales them so the digit's ink (centre lines plus pen) has a
longest side of :data:`~model.preprocess.WORK_SIZE` pixels, and re-inks them with a round,
anti-aliased pen of :data:`STROKE_WIDTH` times that side; then it frames the result the
way MNIST did: fit to 20x20 by area-averaging (here exactly ten by ten pixels each, see
:func:`reink`) and centre of mass at the centre (:func:`model.preprocess.centre_like_mnist`). The same strokes drawn at any size, anywhere, with any pen
give the same input, up to the rounding of mouse positions.

It also says when there is nothing worth reading: no strokes, a dot or a tick too small to
be a digit (:data:`MIN_EXTENT`), or a scribble whose pen path is far longer than any digit's
(:func:`scribble_score`, kept in :attr:`~model.preprocess.Preprocessed.scribble`). The last is a hint for :mod:`model.verdict`, which decides what
the Draw tab says; the first two make the result :attr:`~model.preprocess.Preprocessed.empty`
with a :attr:`~model.preprocess.Preprocessed.notice` saying why.

Pure numpy and scipy, no Qt and no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from model.errors import ProjectError
from model.preprocess import (
    MNIST_BOX,
    MNIST_SIZE,
    WORK_SIZE,
    FloatImage,
    Preprocessed,
    centre_like_mnist,
    preprocessed,
)

STROKE_WIDTH: Final = 0.11
"""The re-inked pen's width as a fraction of the digit's longest ink side: inside MNIST's
usual range (:data:`model.preprocess.MNIST_STROKE_RANGE`, 0.093-0.134), near its median."""

MIN_EXTENT: Final = 0.04
"""Strokes whose centre lines span less than this fraction of the canvas (11 pixels of
the 280-pixel canvas) are a dot or a tick, not a digit."""

MAX_CANVAS: Final = 4096
"""The largest canvas side accepted, in pixels (the Draw tab's is 280)."""

MAX_COORDINATE: Final = 1e9
"""The largest coordinate accepted, in pixels either way: far beyond any screen, and small
enough that no sum or difference of coordinates overflows."""

TOO_LITTLE_MESSAGE: Final = "Too little to read: draw a whole digit"

_STEP: Final = 0.5  # centre-line samples per work pixel: dense enough for a gap-free line
_BLOCK: Final = WORK_SIZE // MNIST_BOX  # work pixels per pixel of the 20x20 box

Strokes = Sequence[Sequence[Sequence[float]]]
"""Polylines in canvas pixels: each stroke a sequence of points ``(x, y)`` or
``(x, y, pressure)`` (the pressure is ignored), x to the right and y downwards."""


def stroke_arrays(strokes: Strokes) -> list[NDArray[np.float64]]:
    """The strokes as ``(n, 2)`` float arrays of ``(x, y)``, strokes without points dropped.

    Raises:
        ProjectError: A point is not two or three finite numbers; the message names the
            stroke and the point.
    """
    out: list[NDArray[np.float64]] = []
    try:
        stroke_list = list(strokes)
    except TypeError:
        raise ProjectError(
            f"strokes must be a list of polylines, got {type(strokes).__name__}; "
            "pass one list of (x, y) points per stroke"
        ) from None
    for number, stroke in enumerate(stroke_list, start=1):
        try:
            points = np.asarray(stroke, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise ProjectError(
                f"stroke {number} is not a list of (x, y) points; pass numbers for every point"
            ) from None
        if points.size == 0:
            continue
        if points.ndim != 2 or points.shape[1] not in (2, 3):
            raise ProjectError(
                f"stroke {number} has points of shape {points.shape[1:]}; each point must be (x, y) "
                "or (x, y, pressure)"
            )
        xy = points[:, :2]
        bad = ~(np.abs(xy) <= MAX_COORDINATE).all(axis=1)  # NaN compares false too
        if bad.any():
            raise ProjectError(
                f"stroke {number}, point {int(np.flatnonzero(bad)[0]) + 1} is not finite or lies beyond "
                f"{MAX_COORDINATE:.0e} pixels; every coordinate must be a finite number of canvas pixels"
            )
        out.append(np.ascontiguousarray(xy))
    return out


def extent(strokes: Sequence[NDArray[np.float64]]) -> float:
    """The longest side of the box around the strokes' centre lines (0 without points)."""
    if not strokes:
        return 0.0
    every = np.concatenate(strokes)
    return float(np.max(every.max(axis=0) - every.min(axis=0)))


def path_length(strokes: Sequence[NDArray[np.float64]]) -> float:
    """The total length of the strokes' centre lines."""
    return float(sum(np.hypot(*np.diff(s, axis=0).T).sum() for s in strokes if len(s) > 1))


def scribble_score(strokes: Sequence[NDArray[np.float64]]) -> float:
    """How much pen path the drawing holds per unit of its size: path length over extent.

    Digits need little: about 1 for a "1", 3 for a "0", 4 for an "8" (over 7,494 digits by
    30 writers of the UCI pen-digits set, 99.9% score below 4.6 and none above 5). A
    back-and-forth scribble that fills its box scores 8 to 14. Returns 0 for strokes
    without extent.
    """
    size = extent(strokes)
    return path_length(strokes) / size if size > 0 else 0.0


def _centre_line(strokes: Sequence[NDArray[np.float64]], shape: tuple[int, int]) -> NDArray[np.bool_]:
    """A one-pixel mask of the polylines (already in work pixels), sampled densely."""
    mask = np.zeros(shape, dtype=np.bool_)
    for stroke in strokes:
        if len(stroke) == 1:
            samples = stroke
        else:
            starts, ends = stroke[:-1], stroke[1:]
            lengths = np.hypot(*(ends - starts).T)
            counts = np.maximum(1, np.ceil(lengths / _STEP)).astype(np.int64)
            # t in [0, 1) along each segment, then the stroke's last point itself.
            segment = np.repeat(np.arange(len(starts)), counts)
            t = (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)) / np.repeat(
                counts, counts
            )
            samples = np.concatenate(
                [starts[segment] + (ends - starts)[segment] * t[:, None], stroke[-1:]]
            )
        # Pixel i covers [i, i + 1): a point belongs to the pixel it falls in.
        cols = np.clip(np.floor(samples[:, 0]).astype(np.int64), 0, shape[1] - 1)
        rows = np.clip(np.floor(samples[:, 1]).astype(np.int64), 0, shape[0] - 1)
        mask[rows, cols] = True
    return mask


def reink(strokes: Sequence[NDArray[np.float64]], width: float = STROKE_WIDTH) -> FloatImage:
    """Draw the strokes' centre lines with a pen ``width`` times the ink's longest side.

    The drawing is scaled so that its ink (centre lines plus the pen) spans exactly
    :data:`~model.preprocess.WORK_SIZE` pixels on its longer side, and inked by distance to
    the centre line with a one-pixel soft edge (anti-aliasing). The image is that side long
    and, across, the ink's width rounded up to whole blocks of :data:`_BLOCK` pixels with
    the ink centred in it, so that averaging blocks gives the 20-pixel digit directly:
    nothing is rounded to a whole number of final pixels but the width of the image, and
    a digit drawn a hair wider or narrower comes out a hair wider or narrower, not a whole
    pixel.

    Args:
        strokes: Polylines as from :func:`stroke_arrays`, with a positive :func:`extent`.
        width: The pen as a fraction of the ink's longest side, in (0, 1).
    """
    pen = width * WORK_SIZE
    scale = (WORK_SIZE - pen) / extent(strokes)
    every = np.concatenate(strokes)
    low = every.min(axis=0)
    ink = (every.max(axis=0) - low) * scale + pen  # (across, down), the longer one WORK_SIZE
    cells = np.maximum(1, np.ceil(ink / _BLOCK - 1e-9)).astype(np.int64) * _BLOCK
    shape = (min(int(cells[1]), WORK_SIZE), min(int(cells[0]), WORK_SIZE))
    offset = (np.array([shape[1], shape[0]]) - ink) / 2.0 + pen / 2.0
    placed = [(s - low) * scale + offset for s in strokes]
    centre = _centre_line(placed, shape)
    distance = np.asarray(ndimage.distance_transform_edt(~centre), dtype=np.float32)
    return np.asarray(np.clip(np.float32(pen / 2.0 + 0.5) - distance, 0.0, 1.0), dtype=np.float32)


def _fit_to_box(work: FloatImage) -> FloatImage:
    """The re-inked digit at MNIST's size: each :data:`_BLOCK` x :data:`_BLOCK` block averaged."""
    rows, cols = work.shape[0] // _BLOCK, work.shape[1] // _BLOCK
    blocks = work[: rows * _BLOCK, : cols * _BLOCK].reshape(rows, _BLOCK, cols, _BLOCK)
    return np.asarray(blocks.mean(axis=(1, 3)), dtype=np.float32)


def preprocess_strokes(
    strokes: Strokes, *, canvas_size: int, drawn: NDArray[np.generic] | None = None
) -> Preprocessed:
    """Turn pen strokes into a 28x28 MNIST-style image, whatever their size, place and pen.

    Args:
        strokes: The drawing's polylines in canvas pixels (see :data:`Strokes`).
        canvas_size: The side of the canvas in pixels; sets what is too small to read.
        drawn: The canvas as the person sees it, shown as the ``"drawn"`` stage (a blank
            canvas when not given).

    Returns:
        Stages ``"drawn"``, ``"re-inked"`` (the centre lines at MNIST's relative pen
        width), ``"20x20"`` and ``"28x28 centred"``. Without strokes, or with strokes
        spanning less than :data:`MIN_EXTENT` of the canvas, the result is empty (the
        latter with :data:`TOO_LITTLE_MESSAGE` as its notice) and has only ``"drawn"``.

    Raises:
        ProjectError: ``strokes`` holds something that is not a point, or
            ``canvas_size`` is not positive.
    """
    if isinstance(canvas_size, bool) or not isinstance(canvas_size, int) or not 8 <= canvas_size <= MAX_CANVAS:
        raise ProjectError(
            f"canvas_size must be a whole number of pixels from 8 to {MAX_CANVAS}, got {canvas_size!r}"
        )
    lines = stroke_arrays(strokes)
    shown = _drawn_stage(drawn, canvas_size)
    blank = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    if not lines:
        return preprocessed(blank, [("drawn", shown)], empty=True)
    if extent(lines) < MIN_EXTENT * canvas_size:
        return preprocessed(blank, [("drawn", shown)], empty=True, notice=TOO_LITTLE_MESSAGE)
    work = reink(lines)
    box, image = centre_like_mnist(_fit_to_box(work))
    stages = [("drawn", shown), ("re-inked", work), ("20x20", box), ("28x28 centred", image)]
    return preprocessed(image, stages, empty=False, scribble=scribble_score(lines), stroke_count=len(lines))


def render_digit(strokes: Strokes, width: float = STROKE_WIDTH) -> FloatImage | None:
    """The 28x28 image :func:`preprocess_strokes` would give, without the canvas's checks.

    For strokes that come from elsewhere (a pen-digits file rendered for training): no
    canvas, so nothing is too small; ``width`` may differ from :data:`STROKE_WIDTH`.

    Returns:
        The image, or None for strokes without extent (no points, or a single dot).

    Raises:
        ProjectError: ``strokes`` holds something that is not a point.
    """
    lines = stroke_arrays(strokes)
    if extent(lines) <= 0.0:
        return None
    return centre_like_mnist(_fit_to_box(reink(lines, width)))[1]


def _drawn_stage(drawn: NDArray[np.generic] | None, canvas_size: int) -> FloatImage:
    if drawn is None:
        return np.zeros((canvas_size, canvas_size), dtype=np.float32)
    array = np.asarray(drawn)
    if array.ndim != 2 or array.size == 0:
        raise ProjectError(f"drawn must be a 2-D grayscale image, got shape {array.shape}")
    return np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
