"""Reading a digit from its strokes: the same 28x28 input whatever the size, place and pen."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from model.errors import ProjectError
from model.ink import (
    MIN_EXTENT,
    TOO_LITTLE_MESSAGE,
    preprocess_strokes,
    render_digit,
    scribble_score,
    stroke_arrays,
)
from model.preprocess import preprocess_drawing

CANVAS = 280

Strokes = list[list[tuple[float, float]]]


def unit_digits() -> dict[str, Strokes]:
    """A few digits as strokes in a unit box (x right, y down)."""
    angles = np.linspace(0.0, 2.0 * np.pi, 40)
    zero = [[(0.5 + 0.3 * np.cos(a), 0.5 + 0.5 * np.sin(a)) for a in angles]]
    arc = np.linspace(1.1 * np.pi, -0.2 * np.pi, 20)
    two = [[*((0.5 + 0.4 * np.cos(a), 0.25 - 0.25 * np.sin(a)) for a in arc), (0.1, 1.0), (0.9, 1.0)]]
    four = [[(0.6, 0.0), (0.1, 0.65), (0.9, 0.65)], [(0.65, 0.3), (0.65, 1.0)]]
    seven = [[(0.1, 0.0), (0.9, 0.0), (0.5, 1.0)]]
    one = [[(0.45, 0.0), (0.5, 1.0)]]
    return {"zero": zero, "two": two, "four": four, "seven": seven, "one": one}


def placed(strokes: Strokes, size: float, left: float, top: float) -> Strokes:
    return [[(left + x * size, top + y * size) for x, y in stroke] for stroke in strokes]


def corners(size: float, margin: float = 12.0) -> list[tuple[float, float]]:
    far = CANVAS - margin - size
    return [(margin, margin), (far, margin), (margin, far), (far, far)]


def read(strokes: Strokes) -> np.ndarray:
    result = preprocess_strokes(strokes, canvas_size=CANVAS)
    assert not result.empty
    return result.image


# --------------------------------------------------------------------------- invariance


@pytest.mark.parametrize("name", list(unit_digits()))
def test_size_and_place_do_not_change_the_input(name: str) -> None:
    """The same strokes at 0.25x-1x of a 240-pixel digit, centred or in any corner, read alike."""
    strokes = unit_digits()[name]
    reference = read(placed(strokes, 240.0, 20.0, 20.0))
    for scale in (1.0, 0.6, 0.4, 0.25):
        size = 240.0 * scale
        for left, top in corners(size):
            image = read(placed(strokes, size, left, top))
            # Exact geometry: only floating-point rounding differs (MNIST's mean ink is 0.13).
            assert np.abs(image - reference).mean() < 1e-3, (scale, left, top)
            assert np.corrcoef(image.ravel(), reference.ravel())[0, 1] > 0.999


def test_mouse_rounding_changes_little() -> None:
    """Whole-pixel mouse positions move a small digit's centre lines by up to half a pixel."""
    strokes = placed(unit_digits()["two"], 60.0, 200.0, 20.0)
    rounded = [[(round(x), round(y)) for x, y in stroke] for stroke in strokes]
    assert np.abs(read(rounded) - read(strokes)).mean() < 0.02


def test_the_pen_is_ignored_but_the_old_raster_path_is_not() -> None:
    """The pen's width reaches only the "drawn" stage; from the pixels, a small digit drawn
    with a thick pen reads far from the same digit drawn large and thin."""
    from tests.model.test_preprocess import draw

    small = placed(unit_digits()["four"], 70.0, 195.0, 195.0)
    large = placed(unit_digits()["four"], 240.0, 20.0, 20.0)
    reference = read(large)
    for pen in (8.0, 20.0, 40.0):
        drawn = draw(small, pen)
        image = preprocess_strokes(small, canvas_size=CANVAS, drawn=drawn).image
        assert np.abs(image - reference).mean() < 1e-3
    raster = preprocess_drawing(draw(small, 40.0)).image
    assert np.abs(raster - reference).mean() > 0.05


@pytest.mark.parametrize("name", list(unit_digits()))
def test_digit_is_framed_like_mnist(name: str) -> None:
    image = read(placed(unit_digits()[name], 200.0, 40.0, 40.0))
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert np.all(np.abs(np.array(ndimage.center_of_mass(image)) - 14.0) <= 1.0)
    rows, cols = np.nonzero(image >= 0.1)
    assert 19 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 21


def test_strokes_are_as_wide_as_mnist_strokes() -> None:
    """Re-inked at MNIST's relative width: as much ink per unit of pen path as MNIST has."""
    image = read(placed(unit_digits()["seven"], 200.0, 40.0, 40.0))
    ink_pixels = float(image.sum())
    # Path of the seven in 20x20-box units: 0.8 + 1.08 of a unit box scaled to 20 * (1 - pen share).
    path = (0.8 + np.hypot(0.4, 1.0)) * 20.0 * (1.0 - 0.11)
    width = ink_pixels / path
    assert 1.8 < width < 3.0, width  # MNIST's strokes are about 2-3 pixels wide


def test_stages_are_named_and_read_only() -> None:
    drawn = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    result = preprocess_strokes(placed(unit_digits()["two"], 150.0, 60.0, 60.0), canvas_size=CANVAS, drawn=drawn)
    assert [name for name, _ in result.stages] == ["drawn", "re-inked", "20x20", "28x28 centred"]
    stages = dict(result.stages)
    assert stages["drawn"].shape == (CANVAS, CANVAS)
    assert stages["20x20"].shape == (20, 20)
    np.testing.assert_array_equal(stages["28x28 centred"], result.image)
    for _, array in result.stages:
        assert not array.flags.writeable
    assert result.notice == "" and result.scribble > 0


def test_render_digit_gives_the_canvas_input() -> None:
    strokes = placed(unit_digits()["zero"], 150.0, 60.0, 60.0)
    rendered = render_digit(strokes)
    assert rendered is not None
    np.testing.assert_array_equal(rendered, read(strokes))
    assert render_digit([[(5.0, 5.0)]]) is None


def test_pressure_is_accepted_and_ignored() -> None:
    strokes = placed(unit_digits()["seven"], 150.0, 60.0, 60.0)
    pressed = [[(x, y, 0.3) for x, y in stroke] for stroke in strokes]
    np.testing.assert_array_equal(read(pressed), read(strokes))


# --------------------------------------------------------------------------- nothing to read


def test_no_strokes_is_empty_without_a_notice() -> None:
    for strokes in ([], [[]], [[], []]):
        result = preprocess_strokes(strokes, canvas_size=CANVAS)
        assert result.empty and result.notice == ""
        assert not result.image.any()
        assert [name for name, _ in result.stages] == ["drawn"]


@pytest.mark.parametrize(
    "strokes",
    [
        [[(140.0, 140.0)]],  # a click
        [[(140.0, 140.0), (143.0, 144.0), (146.0, 148.0)]],  # a tick
        [[(10.0, 10.0)], [(12.0, 11.0)], [(11.0, 13.0)]],  # three dots close together
    ],
    ids=["dot", "tick", "dots"],
)
def test_near_empty_drawings_say_why_they_are_not_read(strokes: Strokes) -> None:
    result = preprocess_strokes(strokes, canvas_size=CANVAS)
    assert result.empty and result.notice == TOO_LITTLE_MESSAGE
    assert not result.image.any()


def test_the_smallest_readable_digit_is_read() -> None:
    size = MIN_EXTENT * CANVAS + 1.0
    assert not preprocess_strokes(placed(unit_digits()["seven"], size, 5.0, 5.0), canvas_size=CANVAS).empty


def test_scribbles_score_far_above_digits() -> None:
    rng = np.random.default_rng(0)
    for strokes in unit_digits().values():
        assert scribble_score(stroke_arrays(placed(strokes, 200.0, 40.0, 40.0))) < 4.5
    zigzag = [[(40.0 + 200.0 * (k % 2), 40.0 + 200.0 * y) for k, y in enumerate(np.sort(rng.random(24)))]]
    assert scribble_score(stroke_arrays(zigzag)) > 12.0
    assert scribble_score([]) == 0.0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("strokes", "words"),
    [
        ([[(1.0, float("nan"))]], "not finite"),
        ([[(1.0, 2.0, 3.0, 4.0)]], "(x, y)"),
        ([["a", "b"]], "stroke 1"),
        ([[(0.0, 0.0)], [(1.0, float("inf"))]], "stroke 2"),
        ([[(-1e308, 0.0), (1e308, 0.0)]], "beyond"),
        (7, "list of polylines"),
    ],
)
def test_bad_strokes_name_the_problem(strokes: object, words: str) -> None:
    with pytest.raises(ProjectError, match=words.replace("(", r"\(").replace(")", r"\)")):
        preprocess_strokes(strokes, canvas_size=CANVAS)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 7, 5000, 2.5, True, "280"])
def test_bad_canvas_sizes_are_refused(size: object) -> None:
    with pytest.raises(ProjectError, match="canvas_size"):
        preprocess_strokes([[(1.0, 1.0)]], canvas_size=size)  # type: ignore[arg-type]


coordinate = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-(10**6), 10**6)
point = st.tuples(coordinate, coordinate) | st.tuples(coordinate, coordinate, coordinate) | st.tuples(coordinate)
anything = st.recursive(
    st.none() | st.booleans() | coordinate | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strokes=st.lists(st.lists(point, max_size=12), max_size=5) | anything)
def test_any_strokes_give_a_result_or_a_project_error(strokes: object) -> None:
    try:
        result = preprocess_strokes(strokes, canvas_size=CANVAS)  # type: ignore[arg-type]
    except ProjectError:
        return
    assert result.image.shape == (28, 28)
    assert np.all(np.isfinite(result.image))
    assert 0.0 <= float(result.image.min()) and float(result.image.max()) <= 1.0
    assert result.empty or result.image.any()
