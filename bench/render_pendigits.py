"""Make ``resources/pendigits/pendigits-writers-1-15.npz``: the pen digits the app ships.

Reads the UCI pen-based digits (``../shared/data/pendigits-orig-tra.txt.gz``, see
:mod:`bench.pendigits`), keeps the writers in :data:`bench.pendigits.DEV_WRITERS` (1-15;
16-30 stay out for the benchmark) and renders each digit's strokes with the Draw tab's
own stroke preprocessing (:func:`model.ink.render_digit`), so a model trained on them sees
what the canvas gives. Rerun it when that preprocessing changes;
``tests/model/data/test_pendigits.py`` checks that the shipped file still matches.

    python bench/render_pendigits.py [--out resources/pendigits/pendigits-writers-1-15.npz]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.pendigits import DEV_WRITERS, PenDigit, read_pendigits  # noqa: E402
from model.data.pendigits import PEN_DIGITS_FILE  # noqa: E402
from model.ink import render_digit  # noqa: E402


def render(digits: Sequence[PenDigit]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The digits as uint8 28x28 images, their labels and writers (digits without extent dropped)."""
    images, labels, writers = [], [], []
    for digit in digits:
        image = render_digit(list(digit.strokes))
        if image is None:
            continue
        images.append(np.round(image * 255.0).astype(np.uint8))
        labels.append(digit.label)
        writers.append(digit.writer)
    return np.stack(images), np.array(labels, dtype=np.uint8), np.array(writers, dtype=np.uint8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(PEN_DIGITS_FILE))
    args = parser.parse_args(argv)
    digits = [d for d in read_pendigits() if d.writer in DEV_WRITERS]
    x, y, writer = render(digits)
    np.savez_compressed(args.out, x=x, y=y, writer=writer)
    print(f"wrote {len(x):,} digits by writers {writer.min()}-{writer.max()} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
