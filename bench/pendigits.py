"""Real pen trajectories for benchmarks: the UCI pen-based digits, placed on the canvas.

"Pen-Based Recognition of Handwritten Digits" (E. Alpaydin, F. Alimoglu, 1998; UCI Machine
Learning Repository, CC BY 4.0) holds digits written by 30 people on a pressure-sensitive
tablet, as the pen's path (UNIPEN text format). Those writers are not MNIST's, and a pen
path is exactly what a person leaves on the Draw tab's canvas, so these digits are the
benchmark's stand-in for people drawing. :func:`read_pendigits` parses the file (the
tablet's y grows upwards: it is flipped here); :func:`place` maps a digit onto the canvas
at one of the benchmark's :data:`CONDITIONS` (a size, a place and a pen width).

Writers can be held out: :data:`DEV_WRITERS` may be used to tune or to train, and the
benchmark's headline figures are on the others.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

PENDIGITS: Final = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "pendigits-orig-tra.txt.gz"

DEV_WRITERS: Final = frozenset(range(1, 16))
"""Writers whose digits may tune the preprocessing or train a model; the benchmark reports
writers 16-30 as the held-out figure."""

CANVAS: Final = 280


@dataclass(frozen=True)
class PenDigit:
    """One digit as its writer drew it.

    Attributes:
        label: The digit.
        writer: Who wrote it (1-30).
        index: Its position in the file.
        strokes: Polylines of ``(x, y)`` in tablet units, y downwards (flipped).
    """

    label: int
    writer: int
    index: int
    strokes: tuple[NDArray[np.float64], ...]


@dataclass(frozen=True)
class Condition:
    """How a digit is drawn: its longest side as a fraction of the canvas, where, which pen.

    ``where`` is ``"centre"`` or ``"corner"`` (the four corners in turn, by digit index,
    with a margin of :attr:`margin` of the canvas).
    """

    name: str
    size: float
    where: str
    pen: float
    margin: float = 0.04


CONDITIONS: Final = (
    Condition("centred 60%, pen 20", 0.60, "centre", 20.0),
    Condition("corner 28%, pen 20", 0.28, "corner", 20.0),
    Condition("centred 60%, pen 36", 0.60, "centre", 36.0),
)


def read_pendigits(path: str | Path = PENDIGITS) -> list[PenDigit]:
    """Parse the UNIPEN file: ``.SEGMENT DIGIT`` starts a digit (label in quotes),
    ``.COMMENT label writer n`` names its writer, ``.PEN_DOWN`` ... ``.PEN_UP`` a stroke."""
    opener = gzip.open if str(path).endswith(".gz") else open
    digits: list[PenDigit] = []
    label, writer = -1, -1
    strokes: list[NDArray[np.float64]] = []
    points: list[tuple[float, float]] | None = None

    def flush() -> None:
        if label >= 0 and strokes:
            flipped = tuple(np.column_stack([s[:, 0], -s[:, 1]]) for s in strokes)
            digits.append(PenDigit(label, writer, len(digits), flipped))

    with opener(path, "rt", encoding="ascii") as lines:
        for line in lines:
            text = line.strip()
            if not text:
                continue
            if text.startswith(".SEGMENT"):
                flush()
                label, writer, strokes = int(text.rsplit('"', 2)[-2]), -1, []
            elif text.startswith(".COMMENT") and label >= 0:
                fields = text.split()
                if len(fields) >= 3:
                    writer = int(fields[2])
            elif text.startswith(".PEN_DOWN"):
                points = []
            elif text.startswith(".PEN_UP"):
                if points:
                    strokes.append(np.asarray(points, dtype=np.float64))
                points = None
            elif not text.startswith(".") and points is not None:
                x, y = text.split()[:2]
                points.append((float(x), float(y)))
    flush()
    return digits


def place(digit: PenDigit, condition: Condition, canvas: int = CANVAS) -> list[list[tuple[float, float]]]:
    """The digit's strokes in canvas pixels, drawn as ``condition`` says.

    The centre lines' longest side becomes ``condition.size`` of the canvas (the pen adds
    its width around them), keeping the aspect ratio; a corner digit's ink keeps
    ``condition.margin`` of the canvas from the two edges.
    """
    every = np.concatenate(digit.strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    span = float(max(high - low)) or 1.0
    scale = condition.size * canvas / span
    size = (high - low) * scale
    if condition.where == "centre":
        origin = (canvas - size) / 2.0
    else:
        edge = condition.margin * canvas + condition.pen / 2.0
        corner = digit.index % 4  # top-left, top-right, bottom-right, bottom-left
        right, bottom = corner in (1, 2), corner in (2, 3)
        origin = np.array(
            [canvas - edge - size[0] if right else edge, canvas - edge - size[1] if bottom else edge]
        )
    return [[(float(x), float(y)) for x, y in (s - low) * scale + origin] for s in digit.strokes]


def split_by_writer(digits: Sequence[PenDigit]) -> tuple[list[PenDigit], list[PenDigit]]:
    """The digits of :data:`DEV_WRITERS` and those of the held-out writers."""
    dev = [d for d in digits if d.writer in DEV_WRITERS]
    held_out = [d for d in digits if d.writer not in DEV_WRITERS]
    return dev, held_out
