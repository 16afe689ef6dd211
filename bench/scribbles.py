"""Drawings that are not digits, for checking that the Draw tab does not read them as one.

Three kinds, seeded, in canvas pixels: *zigzag* (a fast back-and-forth that fills a box,
the scribble of someone testing the canvas), *tangle* (a few overlapping loops, the way a
person crosses something out) and *hash* (a handful of straight strokes at random angles
across a box). Plus the near-empty ones: a dot and a short tick.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Stroke = list[tuple[float, float]]


def zigzag(rng: np.random.Generator, box: Sequence[float]) -> list[Stroke]:
    left, top, size = box
    turns = int(rng.integers(12, 30))
    xs = np.where(np.arange(turns) % 2 == 0, rng.uniform(0.0, 0.3, turns), rng.uniform(0.7, 1.0, turns))
    ys = np.sort(rng.uniform(0.0, 1.0, turns))
    if rng.random() < 0.5:
        xs, ys = ys, xs
    return [[(left + x * size, top + y * size) for x, y in zip(xs, ys, strict=True)]]


def tangle(rng: np.random.Generator, box: Sequence[float]) -> list[Stroke]:
    left, top, size = box
    loops = rng.uniform(3.0, 7.0)
    t = np.linspace(0.0, 2.0 * np.pi * loops, int(40 * loops))
    radius = 0.5 * size * rng.uniform(0.5, 1.0, len(t)) ** 0.3
    drift = np.cumsum(rng.normal(0.0, 0.02 * size, (len(t), 2)), axis=0)
    cx, cy = left + size / 2.0, top + size / 2.0
    xs = cx + 0.6 * radius * np.cos(t) + drift[:, 0]
    ys = cy + 0.6 * radius * np.sin(rng.uniform(0.8, 1.2) * t) + drift[:, 1]
    return [[(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]]


def hash_marks(rng: np.random.Generator, box: Sequence[float]) -> list[Stroke]:
    left, top, size = box
    strokes = []
    for _ in range(int(rng.integers(5, 9))):
        ends = rng.uniform(0.0, 1.0, (2, 2))
        line = np.linspace(ends[0], ends[1], 8)
        strokes.append([(left + x * size, top + y * size) for x, y in line])
    return strokes


KINDS = {"zigzag": zigzag, "tangle": tangle, "hash": hash_marks}


def scribbles(count: int, seed: int = 0, canvas: int = 280) -> list[tuple[str, list[Stroke]]]:
    """``count`` non-digit drawings, the kinds in turn, each in a random box of 30-70% of
    the canvas."""
    rng = np.random.default_rng(seed)
    out = []
    names = list(KINDS)
    for number in range(count):
        size = rng.uniform(0.3, 0.7) * canvas
        left, top = rng.uniform(0.05 * canvas, 0.95 * canvas - size, 2)
        name = names[number % len(names)]
        out.append((name, KINDS[name](rng, (left, top, size))))
    return out


def near_empty(canvas: int = 280) -> list[tuple[str, list[Stroke]]]:
    """A click (a dot) and a short tick, which hold ink but no digit."""
    middle = canvas / 2.0
    return [
        ("dot", [[(middle, middle)]]),
        ("tick", [[(middle, middle), (middle + 3.0, middle + 4.0), (middle + 6.0, middle + 8.0)]]),
    ]
