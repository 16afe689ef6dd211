"""Pen strokes for benchmarks: digits from outside MNIST, traced, and replayed as mouse events.

The hand-drawn benchmarks need digits drawn the way a person draws on the canvas: as pen
strokes, by writers MNIST never saw. scikit-learn ships such digits: the UCI "optdigits"
set, written by 43 people (30 for its training part, 13 others for its test part)
unrelated to MNIST's Census and high-school writers, stored as 8x8 grids of ink counts.
:func:`trace_digit` upsamples one smoothly, thins it to a one-pixel skeleton (Zhang-Suen)
and follows the skeleton into polylines: the strokes a pen would make along the middle of
the ink. :func:`replay` then draws them into a :class:`~gui.canvas.DrawingCanvas` with real
Qt mouse events (press, moves, release) and a chosen pen width.

The 8x8 grids are coarse, so some traced digits are odd (a closed loop may come out
filled, a 4 may lose its gap); that is part of the test, not noise to remove: a person's
quick digit is odd too. The tracing is deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

Point = tuple[float, float]
Stroke = list[Point]

UPSCALE: Final = 10
"""Each of the 8x8 cells becomes this many pixels a side before thinning."""

SPUR_PIXELS: Final = 10
"""Skeleton branches shorter than this, ending in a free end, are thinning artefacts."""

POINT_SPACING: Final = 3
"""Keep every this-many skeleton pixels as a stroke point (a mouse reports about as often)."""

# 8-neighbourhood offsets in Zhang-Suen's order: P2 (north), P3, ..., P9 (north-west).
_RING: Final = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


@dataclass(frozen=True)
class TracedDigit:
    """A digit from the independent source, as pen strokes in canvas pixels.

    Attributes:
        label: The digit it shows.
        index: Its position in scikit-learn's digits (to find the original).
        strokes: Polylines as ``(x, y)`` canvas pixels, in drawing order.
    """

    label: int
    index: int
    strokes: tuple[tuple[Point, ...], ...]


# --------------------------------------------------------------------------- thinning


def zhang_suen(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Thin a binary image to a one-pixel-wide skeleton (Zhang & Suen, CACM 1984).

    Each pass removes, all at once, the boundary pixels whose removal keeps the shape
    connected (exactly one background-to-ink transition around them) and that are not the
    end of a line (two to six ink neighbours); the two sub-passes peel the south-east and
    the north-west sides in turn, so the skeleton stays centred.
    """
    image = np.pad(np.asarray(mask, dtype=np.uint8), 1)
    rows, cols = image.shape
    while True:
        changed = False
        for first in (True, False):
            p = [image[1 + dy : rows - 1 + dy, 1 + dx : cols - 1 + dx] for dy, dx in _RING]
            p2, p3, p4, p5, p6, p7, p8, p9 = p
            neighbours = sum(x.astype(np.int16) for x in p)
            ring = [*p, p2]
            transitions = sum(
                ((a == 0) & (b == 1)).astype(np.int16) for a, b in zip(ring, ring[1:], strict=False)
            )
            if first:
                keep_shape = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                keep_shape = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            centre = image[1:-1, 1:-1]
            remove = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & keep_shape
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


# --------------------------------------------------------------------------- tracing


def _graph(skeleton: NDArray[np.bool_]) -> dict[tuple[int, int], set[tuple[int, int]]]:
    """The skeleton's pixels and their links: 8-connected, except that a diagonal link is
    dropped where an L-shaped path through a shared 4-neighbour joins the same two pixels
    (otherwise every staircase corner would look like a junction)."""
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    links: dict[tuple[int, int], set[tuple[int, int]]] = {p: set() for p in pixels}
    for r, c in pixels:
        for dr, dc in _RING:
            q = (r + dr, c + dc)
            if q not in pixels:
                continue
            if dr != 0 and dc != 0 and ((r + dr, c) in pixels or (r, c + dc) in pixels):
                continue
            links[(r, c)].add(q)
    return links


def _walk(
    links: dict[tuple[int, int], set[tuple[int, int]]],
    start: tuple[int, int],
    step: tuple[int, int],
    used: set[frozenset[tuple[int, int]]],
) -> list[tuple[int, int]]:
    """Follow unused links from ``start`` through ``step`` until an end or a junction."""
    path = [start, step]
    used.add(frozenset((start, step)))
    current = step
    while len(links[current]) == 2:
        following = [q for q in links[current] if frozenset((current, q)) not in used]
        if not following:
            break  # a closed loop came back to where it began
        current = following[0]
        used.add(frozenset((path[-1], current)))
        path.append(current)
    return path


def trace_skeleton(skeleton: NDArray[np.bool_], spur: int = SPUR_PIXELS) -> list[list[tuple[int, int]]]:
    """Split a skeleton into polylines of ``(row, col)`` pixels.

    Lines run between free ends and junctions; closed loops come out as one polyline that
    ends where it began. Short branches from a junction to a free end (``spur`` pixels or
    fewer) are dropped: thinning leaves them at corners, and nobody draws them.
    """
    links = _graph(skeleton)
    used: set[frozenset[tuple[int, int]]] = set()
    paths: list[list[tuple[int, int]]] = []
    degree = {p: len(q) for p, q in links.items()}
    # Free ends first (where a pen would start), then junctions, then whatever is left:
    # loops with no end at all. Top-left first within each group, as people tend to start.
    ends = sorted(p for p, d in degree.items() if d == 1)
    junctions = sorted(p for p, d in degree.items() if d >= 3)
    others = sorted(p for p, d in degree.items() if d == 2)
    for start in (*ends, *junctions, *others):
        for step in sorted(links[start]):
            if frozenset((start, step)) not in used:
                paths.append(_walk(links, start, step, used))
    isolated = [[p] for p, d in degree.items() if d == 0]
    kept = []
    for path in paths:
        a, b = degree[path[0]], degree[path[-1]]
        if len(path) <= spur and {a, b} & {1} and max(a, b) >= 3:
            continue
        kept.append(path)
    return kept + (isolated if not kept else [])


def _join(paths: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Join polylines that meet end to end, where a pen would carry on without lifting:
    at a junction, pair up the branches that continue most nearly straight."""
    paths = [list(p) for p in paths]
    merged = True
    while merged:
        merged = False
        best: tuple[float, int, int, bool, bool] | None = None
        for i, a in enumerate(paths):
            for j, b in enumerate(paths):
                if i >= j:
                    continue
                for a_end in (True, False):
                    for b_start in (True, False):
                        pa = a[-1] if a_end else a[0]
                        pb = b[0] if b_start else b[-1]
                        if pa != pb:
                            continue
                        ina = np.subtract(pa, a[-min(6, len(a))] if a_end else a[min(5, len(a) - 1)])
                        outb = np.subtract(b[min(5, len(b) - 1)] if b_start else b[-min(6, len(b))], pb)
                        norm = float(np.linalg.norm(ina) * np.linalg.norm(outb))
                        straightness = float(np.dot(ina, outb)) / norm if norm else -1.0
                        if straightness > 0.3 and (best is None or straightness > best[0]):
                            best = (straightness, i, j, a_end, b_start)
        if best is not None:
            _, i, j, a_end, b_start = best
            a = paths[i] if a_end else paths[i][::-1]
            b = paths[j] if b_start else paths[j][::-1]
            paths[i] = a + b[1:]
            del paths[j]
            merged = True
    return paths


def trace_digit(
    grid: NDArray[np.floating],
    *,
    box: float = 180.0,
    canvas_size: int = 280,
    offset: tuple[float, float] = (0.0, 0.0),
) -> list[Stroke]:
    """Turn one 8x8 ink grid into pen strokes on a canvas.

    Args:
        grid: The digit: an 8x8 (or any small) array of ink amounts, any scale.
        box: The height of the digit's box on the canvas, in pixels (the aspect ratio is
            kept, so a 1 stays narrow).
        canvas_size: The canvas side in pixels.
        offset: Where the digit sits relative to the canvas centre, in pixels.

    Returns:
        Polylines of ``(x, y)`` canvas pixels, in drawing order (top-most start first).
    """
    values = np.asarray(grid, dtype=np.float64)
    values = values / max(float(values.max()), 1e-9)
    smooth = ndimage.zoom(np.pad(values, 1), UPSCALE, order=3)
    smooth = ndimage.gaussian_filter(smooth, UPSCALE * 0.3)
    # Half the peak: lower fills the small loops of 8s and 9s, higher breaks faint strokes.
    mask = smooth >= 0.5 * float(smooth.max())
    skeleton = zhang_suen(mask)
    paths = _join(trace_skeleton(skeleton))
    if not paths:
        return []
    points = np.array([p for path in paths for p in path], dtype=np.float64)
    top, left = points.min(axis=0)
    bottom, right = points.max(axis=0)
    scale = box / max(bottom - top, (right - left) * 1.0, 1.0)
    centre_row, centre_col = (top + bottom) / 2.0, (left + right) / 2.0
    middle = canvas_size / 2.0
    strokes: list[Stroke] = []
    for path in sorted(paths, key=lambda p: min(p)):
        kept = path[::POINT_SPACING]
        if kept[-1] != path[-1]:
            kept.append(path[-1])
        strokes.append(
            [
                (
                    middle + offset[0] + (col - centre_col) * scale,
                    middle + offset[1] + (row - centre_row) * scale,
                )
                for row, col in kept
            ]
        )
    return strokes


def traced_digits(per_class: int = 40, *, seed: int = 0, canvas_size: int = 280) -> list[TracedDigit]:
    """``per_class`` digits of each class from scikit-learn's digits, traced into strokes.

    The digits are drawn at random (seeded) from the whole set; each gets a random size
    (a box 140 to 210 pixels high) and a random place near the centre, as a person's would.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    rng = np.random.default_rng(seed)
    out: list[TracedDigit] = []
    for label in range(10):
        candidates = np.flatnonzero(data.target == label)
        for index in rng.choice(candidates, size=min(per_class, len(candidates)), replace=False):
            box = float(rng.uniform(140.0, 210.0))
            slack = (canvas_size - box) / 2.0 - 20.0
            offset = (float(rng.uniform(-slack, slack)) * 0.5, float(rng.uniform(-slack, slack)) * 0.5)
            strokes = trace_digit(data.images[index], box=box, canvas_size=canvas_size, offset=offset)
            if strokes:
                out.append(TracedDigit(label, int(index), tuple(tuple(s) for s in strokes)))
    return out


# --------------------------------------------------------------------------- replay


def replay(
    canvas: object,
    strokes: Sequence[Sequence[Point]],
    pen_width: float | None = None,
    *,
    pace_ms: int = 0,
    before_last_release: object = None,
) -> None:
    """Draw strokes into a shown :class:`~gui.canvas.DrawingCanvas` with real mouse events.

    Args:
        canvas: The canvas widget (its on-screen size may differ from its pixel size;
            points are mapped as the canvas maps the mouse).
        strokes: Polylines in canvas pixels.
        pen_width: The brush width to draw with, or ``None`` to keep the canvas's.
        pace_ms: Milliseconds of event processing between moves (0: just process what
            is pending, as fast as possible).
        before_last_release: Called (no arguments) just before the last mouse release,
            e.g. to start a stopwatch.
    """
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from gui.canvas import DrawingCanvas

    assert isinstance(canvas, DrawingCanvas)
    if pen_width is not None:
        canvas.set_brush_width(pen_width)
    side = min(canvas.width(), canvas.height())
    left, top = (canvas.width() - side) / 2.0, (canvas.height() - side) / 2.0
    scale = side / canvas.canvas_size()

    def to_widget(point: Point) -> QPoint:
        return QPoint(round(left + point[0] * scale), round(top + point[1] * scale))

    def pause() -> None:
        if pace_ms > 0:
            QTest.qWait(pace_ms)
        else:
            QApplication.processEvents()

    button, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for number, stroke in enumerate(strokes):
        points = [to_widget(p) for p in stroke]
        QTest.mousePress(canvas, button, none, points[0])
        for point in points[1:]:
            pause()
            QTest.mouseMove(canvas, point)
        pause()
        if number == len(strokes) - 1 and callable(before_last_release):
            before_last_release()
        QTest.mouseRelease(canvas, button, none, points[-1])


# --------------------------------------------------------------------------- legibility


def rasterise(
    strokes: Sequence[Sequence[Point]], pen_width: float, canvas_size: int = 280
) -> NDArray[np.float32]:
    """Draw strokes with a round pen into a ``canvas_size`` square, without Qt."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (canvas_size, canvas_size))
    draw = ImageDraw.Draw(picture)
    radius = pen_width / 2.0
    for stroke in strokes:
        points = [tuple(p) for p in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(pen_width)), joint="curve")
        for x, y in points:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(picture, dtype=np.float32) / 255.0


def as_optdigits_grid(image: NDArray[np.floating]) -> NDArray[np.float64]:
    """An ink image as optdigits made its grids: the digit fitted into a 32x32 box (aspect
    kept), then ink counted in 4x4 blocks, giving 8x8 values from 0 to 16."""
    from PIL import Image

    rows, cols = np.nonzero(image >= 0.5)
    if rows.size == 0:
        return np.zeros((8, 8))
    crop = np.asarray(image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], dtype=np.float32)
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    bitmap = np.asarray(Image.fromarray(square).resize((32, 32), Image.Resampling.BOX)) >= 0.5
    return bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.float64)


class LegibilityJudge:
    """Says whether a traced digit still shows its digit, without asking any MNIST model.

    A support-vector classifier trained on scikit-learn's own 8x8 digits (leaving out
    the ones being judged) reads each trace after it is drawn and gridded the way those
    digits were made. A trace it reads as its label kept the digit's shape through
    upsampling, thinning and tracing; one it does not may have lost it (a filled loop,
    a dropped stroke). It is a strict judge: a trace it rejects may still be legible.
    """

    def __init__(self, exclude: Sequence[int] = ()) -> None:
        from sklearn.datasets import load_digits
        from sklearn.svm import SVC

        data = load_digits()
        keep = np.setdiff1d(np.arange(len(data.target)), np.asarray(exclude, dtype=np.intp))
        self._classifier = SVC(gamma=0.001, C=10.0).fit(data.data[keep], data.target[keep])

    def reads(self, digit: TracedDigit, pen_width: float = 30.0) -> int:
        """The class the judge reads the drawn trace as."""
        grid = as_optdigits_grid(rasterise(digit.strokes, pen_width))
        return int(self._classifier.predict(grid.reshape(1, -1))[0])

    def legible(self, digit: TracedDigit) -> bool:
        return self.reads(digit) == digit.label
