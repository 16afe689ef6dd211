"""Drawing preprocessing: MNIST-style framing, stroke width, files, robustness, augmentation."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from model.config import AugmentationSpec
from model.errors import ProjectError
from model.preprocess import (
    Preprocessed,
    augment_batch,
    load_image_file,
    preprocess_drawing,
    robustness_variants,
    rotate,
    shift,
    thicken,
    to_network_input,
)

CANVAS = 280

# --------------------------------------------------------------------------- synthetic drawings


def draw(strokes: list[list[tuple[float, float]]], pen: float, size: int = CANVAS) -> np.ndarray:
    """Polylines drawn with an anti-aliased round pen ``pen`` pixels wide, as a canvas would."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    distance = np.full((size, size), np.inf)
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:], strict=True):
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            t = np.clip(((cols - x0) * dx + (rows - y0) * dy) / length2, 0.0, 1.0) if length2 else 0.0
            distance = np.minimum(distance, np.hypot(cols - (x0 + t * dx), rows - (y0 + t * dy)))
    return np.clip(pen / 2.0 - distance + 0.5, 0.0, 1.0).astype(np.float32)


def two(cx: float, cy: float, size: float) -> list[list[tuple[float, float]]]:
    """A "2" about ``size`` pixels tall centred on (cx, cy): an arc, a diagonal and a base."""
    angles = np.linspace(1.1 * np.pi, -0.2 * np.pi, 20)
    arc = [(cx + 0.35 * size * np.cos(a), cy - 0.25 * size - 0.25 * size * np.sin(a)) for a in angles]
    return [[*arc, (cx - 0.35 * size, cy + 0.5 * size), (cx + 0.4 * size, cy + 0.5 * size)]]


def four(cx: float, cy: float, size: float) -> list[list[tuple[float, float]]]:
    """A "4" in two strokes, off-balance so its centre of mass is not its box's centre."""
    top, bottom = cy - 0.5 * size, cy + 0.5 * size
    return [
        [(cx + 0.05 * size, top), (cx - 0.35 * size, cy + 0.15 * size), (cx + 0.35 * size, cy + 0.15 * size)],
        [(cx + 0.15 * size, cy - 0.1 * size), (cx + 0.15 * size, bottom)],
    ]


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    return np.array(ndimage.center_of_mass(image))


def ink_box(image: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    rows, cols = np.nonzero(image >= threshold)
    return int(np.ptp(rows)) + 1, int(np.ptp(cols)) + 1


DRAWINGS = {
    "centred": draw(two(140, 140, 200), pen=24),
    "off-centre": draw(two(70, 75, 100), pen=10),
    "tiny": draw(two(230, 220, 24), pen=4),
    "huge": draw(two(140, 140, 272), pen=22),
    "thin pen": draw(two(140, 140, 200), pen=2),
    "thick pen": draw(two(140, 140, 200), pen=40),
    "four": draw(four(150, 130, 180), pen=16),
    "wide": draw([[(20, 140), (260, 150)], [(20, 160), (260, 170)]], pen=12),
}


# --------------------------------------------------------------------------- framing


@pytest.mark.parametrize("name", list(DRAWINGS))
def test_digit_is_framed_like_mnist(name: str) -> None:
    result = preprocess_drawing(DRAWINGS[name])

    assert isinstance(result, Preprocessed)
    assert not result.empty
    image = result.image
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    # MNIST: centre of mass at (14, 14), rounded to whole pixels.
    assert np.all(np.abs(centre_of_mass(image) - 14.0) <= 1.0), centre_of_mass(image)
    # MNIST: the longest side fills the 20x20 box.
    assert 19 <= max(ink_box(image)) <= 21, ink_box(image)
    assert min(ink_box(image)) <= 21


def test_position_and_size_do_not_matter() -> None:
    centred = preprocess_drawing(draw(two(140, 140, 200), pen=14)).image
    moved = preprocess_drawing(draw(two(60, 200, 200 * 0.5), pen=7)).image
    assert np.abs(centred - moved).mean() < 0.03


def test_thin_and_thick_pens_give_similar_ink() -> None:
    thin = preprocess_drawing(DRAWINGS["thin pen"]).image.sum()
    thick = preprocess_drawing(DRAWINGS["thick pen"]).image.sum()
    assert max(thin, thick) / min(thin, thick) < 1.6, (thin, thick)

    # Without the normalisation the pen width dominates: that is what the step is for.
    raw_thin = preprocess_drawing(DRAWINGS["thin pen"], normalize_thickness=False).image.sum()
    raw_thick = preprocess_drawing(DRAWINGS["thick pen"], normalize_thickness=False).image.sum()
    assert raw_thick / raw_thin > 3.0


def test_mnist_like_stroke_width_is_left_alone() -> None:
    drawing = DRAWINGS["centred"]  # 24 px on a 224 px digit: inside MNIST's range
    normalised = preprocess_drawing(drawing).image
    as_drawn = preprocess_drawing(drawing, normalize_thickness=False).image
    np.testing.assert_allclose(normalised, as_drawn, atol=1e-6)


def test_stages_are_named_and_read_only() -> None:
    result = preprocess_drawing(DRAWINGS["off-centre"])
    names = [name for name, _ in result.stages]
    assert names == ["drawn", "cropped", "thickness", "20x20", "28x28 centred"]
    stages = dict(result.stages)
    assert stages["drawn"].shape == (CANVAS, CANVAS)
    assert max(stages["cropped"].shape) < CANVAS
    assert stages["20x20"].shape == (20, 20)
    np.testing.assert_array_equal(stages["28x28 centred"], result.image)
    for _, array in result.stages:
        assert array.dtype == np.float32
        assert not array.flags.writeable
    assert not result.image.flags.writeable

    without = preprocess_drawing(DRAWINGS["off-centre"], normalize_thickness=False)
    assert [name for name, _ in without.stages] == ["drawn", "cropped", "20x20", "28x28 centred"]


def test_uint8_and_float_canvases_agree() -> None:
    drawing = DRAWINGS["four"]
    as_uint8 = np.round(drawing * 255).astype(np.uint8)
    np.testing.assert_allclose(
        preprocess_drawing(as_uint8).image, preprocess_drawing(drawing).image, atol=0.02
    )


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280), np.float32),
        np.zeros((280, 280), np.uint8),
        np.full((280, 280), 0.1, np.float32),  # a faint wash, no ink
        draw([[(100, 100), (103, 100)]], pen=3),  # a speck: far below 0.1% of the canvas
        np.zeros((0, 5), np.float32),
    ],
    ids=["zeros", "zeros-uint8", "faint", "speck", "no-pixels"],
)
def test_empty_canvas_gives_zero_image(canvas: np.ndarray) -> None:
    result = preprocess_drawing(canvas)
    assert result.empty
    assert result.image.shape == (28, 28) and result.image.dtype == np.float32
    assert not result.image.any()
    assert [name for name, _ in result.stages] == ["drawn"]


def test_non_2d_canvas_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="2-D"):
        preprocess_drawing(np.zeros((28, 28, 3), np.float32))


@st.composite
def random_canvases(draw_: st.DrawFn) -> np.ndarray:
    height = draw_(st.integers(1, 300))
    width = draw_(st.integers(1, 300))
    seed = draw_(st.integers(0, 2**32 - 1))
    kind = draw_(st.sampled_from(["noise", "sparse", "binary", "constant", "blob"]))
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.random((height, width))
    if kind == "sparse":
        density = draw_(st.floats(0.0, 0.05))
        return np.where(rng.random((height, width)) < density, rng.random((height, width)), 0.0)
    if kind == "binary":
        return (rng.random((height, width)) < draw_(st.floats(0.0, 1.0))).astype(np.float64)
    if kind == "constant":
        return np.full((height, width), draw_(st.floats(0.0, 1.0)))
    canvas = np.zeros((height, width))
    top, left = rng.integers(0, height), rng.integers(0, width)
    canvas[top : top + rng.integers(1, 40), left : left + rng.integers(1, 40)] = rng.random()
    return canvas


@settings(max_examples=60, deadline=None)
@given(random_canvases(), st.booleans())
def test_any_canvas_gives_empty_or_a_valid_image(canvas: np.ndarray, normalize: bool) -> None:
    result = preprocess_drawing(canvas, normalize_thickness=normalize)
    assert result.image.shape == (28, 28)
    assert result.image.dtype == np.float32
    assert np.all(np.isfinite(result.image))
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    if result.empty:
        assert not result.image.any()
    else:
        assert result.image.any()


# --------------------------------------------------------------------------- MNIST itself


@pytest.fixture
def mnist_digits(mnist_path: Path) -> np.ndarray:
    with np.load(mnist_path) as data:
        return data["x_test"][:200].astype(np.float32) / 255.0


def test_pipeline_reproduces_mnist_preparation(mnist_digits: np.ndarray) -> None:
    """Upscaled MNIST digits, like canvas drawings, come back as the original digits."""
    as_drawn, normalised, offsets = [], [], []
    for digit in mnist_digits:
        canvas = np.clip(ndimage.zoom(digit, 10, order=1), 0.0, 1.0)  # 280x280
        plain = preprocess_drawing(canvas, normalize_thickness=False).image
        thick = preprocess_drawing(canvas).image
        as_drawn.append(np.abs(plain - digit).mean())
        normalised.append(np.abs(thick - digit).mean())
        offsets.append(np.abs(centre_of_mass(plain) - centre_of_mass(digit)))
    mean_ink = float(mnist_digits.mean())  # what an all-black guess would score
    # Interpolating up and area-averaging back down blurs a little; nothing else differs.
    assert np.mean(as_drawn) < 0.25 * mean_ink, np.mean(as_drawn)
    assert np.max(as_drawn) < 0.1
    # Both centres are rounded to whole pixels, so they agree within one pixel.
    assert np.max(offsets) <= 1.0
    # The stroke-width step only touches digits outside MNIST's usual range, and gently.
    assert np.mean(normalised) < 0.4 * mean_ink, np.mean(normalised)


def test_block_upscaled_mnist_is_reproduced_exactly(mnist_digits: np.ndarray) -> None:
    """Pixel-block upscaling adds no blur, so area-averaging recovers MNIST almost exactly."""
    errors = [
        np.abs(
            preprocess_drawing(np.kron(digit, np.ones((10, 10), np.float32)), normalize_thickness=False).image
            - digit
        ).mean()
        for digit in mnist_digits[:50]
    ]
    assert np.median(errors) < 1e-4
    assert np.mean(errors) < 0.005


# --------------------------------------------------------------------------- network input


@pytest.mark.parametrize(
    ("input_shape", "expected"),
    [
        ((28, 28, 1), (1, 28, 28, 1)),
        ((None, 28, 28, 1), (1, 28, 28, 1)),
        ((784,), (1, 784)),
        ((None, 784), (1, 784)),
        ((28, 28), (1, 28, 28)),
    ],
)
def test_network_input_shapes(input_shape: tuple[int | None, ...], expected: tuple[int, ...]) -> None:
    image = preprocess_drawing(DRAWINGS["four"]).image
    batch = to_network_input(image, input_shape)
    assert batch.shape == expected
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(batch.reshape(28, 28), image)
    batch[...] = 0  # a fresh, writable array: the read-only result is untouched
    assert image.any()


@pytest.mark.parametrize("input_shape", [(32, 32, 3), (28, 28, 3), (None, 10), (64,), (1, 28, 28)])
def test_network_input_rejects_other_models_clearly(input_shape: tuple[int | None, ...]) -> None:
    with pytest.raises(ProjectError, match="drawings give 28x28 grayscale") as info:
        to_network_input(np.zeros((28, 28), np.float32), input_shape)
    shown = tuple(d for d in input_shape if d is not None) if input_shape[0] is None else input_shape
    assert f"this model expects input {shown}" in str(info.value)


def test_network_input_wants_a_28x28_image() -> None:
    with pytest.raises(ValueError, match="28x28"):
        to_network_input(np.zeros((20, 20), np.float32), (28, 28, 1))


# --------------------------------------------------------------------------- image files


def _ink_on_paper(tmp_path: Path, name: str, *, dark_on_light: bool, mode: str = "L") -> Path:
    ink = DRAWINGS["four"] > 0.5
    paper, pen = (255, 0) if dark_on_light else (0, 255)
    pixels = np.where(ink, pen, paper).astype(np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    path = tmp_path / name
    image.save(path)
    return path


@pytest.mark.parametrize("name", ["dark.png", "dark.jpg", "dark.bmp"])
def test_dark_on_light_files_are_inverted(tmp_path: Path, name: str) -> None:
    path = _ink_on_paper(tmp_path, name, dark_on_light=True, mode="RGB")
    loaded = load_image_file(path)
    ink = DRAWINGS["four"] > 0.5
    assert loaded.shape == (CANVAS, CANVAS) and loaded.dtype == np.float32
    assert loaded[ink].mean() > 0.9
    assert loaded[~ink].mean() < 0.05
    assert not preprocess_drawing(loaded).empty


def test_light_on_dark_files_are_kept(tmp_path: Path) -> None:
    path = _ink_on_paper(tmp_path, "light.png", dark_on_light=False)
    loaded = load_image_file(path)
    ink = DRAWINGS["four"] > 0.5
    np.testing.assert_array_equal(loaded > 0.5, ink)


def test_grey_paper_is_stretched_to_black(tmp_path: Path) -> None:
    ink = DRAWINGS["four"] > 0.5
    pixels = np.where(ink, 90, 200).astype(np.uint8)  # pencil on grey paper
    path = tmp_path / "pencil.png"
    Image.fromarray(pixels).save(path)
    loaded = load_image_file(path)
    assert loaded[~ink].max() == 0.0
    assert loaded[ink].min() == pytest.approx(1.0)


def test_transparent_background_counts_as_paper(tmp_path: Path) -> None:
    ink = DRAWINGS["four"] > 0.5
    rgba = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    rgba[ink] = (0, 0, 0, 255)  # black ink, everything else fully transparent
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    np.testing.assert_array_equal(load_image_file(path) > 0.5, ink)


def test_corrupt_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "digit.png"
    path.write_text("this is not a picture")
    with pytest.raises(ProjectError, match=r"digit\.png.*PNG or JPEG"):
        load_image_file(path)


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    good = _ink_on_paper(tmp_path, "whole.png", dark_on_light=True)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ProjectError, match=r"cut\.png"):
        load_image_file(cut)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"nothere\.png.*no such file"):
        load_image_file(tmp_path / "nothere.png")
    with pytest.raises(ProjectError, match="folder"):
        load_image_file(tmp_path)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: enough for a size check."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [8000, 20000], ids=["over-our-limit", "decompression-bomb"])
def test_huge_images_are_refused_before_decoding(tmp_path: Path, side: int) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(ProjectError, match=r"huge\.png is .*too large.*shrink"):
        load_image_file(path)


def _encoded(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((DRAWINGS["tiny"][200:240, 210:250] * 255).astype(np.uint8)).save(
        buffer, format=image_format
    )
    return buffer.getvalue()


VALID_FILES = (_encoded("PNG"), _encoded("JPEG"))


@st.composite
def damaged_files(draw_: st.DrawFn) -> bytes:
    kind = draw_(st.sampled_from(["random", "png-header", "jpeg-header", "flipped", "truncated"]))
    if kind == "random":
        return draw_(st.binary(max_size=2000))
    if kind == "png-header":
        return b"\x89PNG\r\n\x1a\n" + draw_(st.binary(max_size=2000))
    if kind == "jpeg-header":
        return b"\xff\xd8\xff" + draw_(st.binary(max_size=2000))
    original = draw_(st.sampled_from(VALID_FILES))
    if kind == "truncated":
        return original[: draw_(st.integers(0, len(original) - 1))]
    data = bytearray(original)
    for _ in range(draw_(st.integers(1, 8))):
        data[draw_(st.integers(0, len(data) - 1))] = draw_(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged_files())
def test_damaged_files_raise_only_project_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.png"
    path.write_bytes(data)
    try:
        loaded = load_image_file(path)
    except ProjectError as exc:
        assert "fuzz.png" in str(exc)
    else:  # a flipped byte can land where it does no harm
        assert loaded.ndim == 2 and loaded.dtype == np.float32
        assert 0.0 <= loaded.min() and loaded.max() <= 1.0


# --------------------------------------------------------------------------- robustness


def test_robustness_variants() -> None:
    image = preprocess_drawing(DRAWINGS["four"]).image
    variants = robustness_variants(image)
    assert [label for label, _ in variants] == [
        "shift left 3px",
        "shift right 3px",
        "shift up 3px",
        "shift down 3px",
        "rotate -15°",
        "rotate +15°",
        "thinner",
        "thicker",
    ]
    for label, variant in variants:
        assert variant.shape == (28, 28) and variant.dtype == np.float32, label
        assert 0.0 <= variant.min() and variant.max() <= 1.0, label
        assert not np.array_equal(variant, image), label
    ink = {label: variant.sum() for label, variant in variants}
    assert ink["thinner"] < image.sum() < ink["thicker"]


def test_shift_moves_by_whole_pixels() -> None:
    image = preprocess_drawing(DRAWINGS["four"]).image
    moved = shift(image, -3, 2)
    np.testing.assert_allclose(moved[2:, :-3], image[:-2, 3:], atol=1e-6)
    assert not moved[:2].any() and not moved[:, -3:].any()


def test_rotate_turns_counter_clockwise_as_displayed() -> None:
    dot = np.zeros((28, 28), np.float32)
    dot[13, 22] = 1.0  # right of centre
    row, col = np.unravel_index(np.argmax(rotate(dot, 90)), (28, 28))
    assert row < 10 and abs(col - 13.5) <= 1  # now above centre


def test_thicken_is_monotonic_and_zero_is_identity() -> None:
    image = preprocess_drawing(DRAWINGS["centred"]).image
    np.testing.assert_array_equal(thicken(image, 0), image)
    amounts = [-2, -1, -0.5, 0, 0.5, 1, 2]
    ink = [thicken(image, amount).sum() for amount in amounts]
    assert ink == sorted(ink)


# --------------------------------------------------------------------------- augmentation


@pytest.fixture
def batch() -> np.ndarray:
    digits = [preprocess_drawing(drawing).image for drawing in DRAWINGS.values()]
    return np.stack(digits * 16)[..., None].astype(np.float32)  # (128, 28, 28, 1)


def test_augment_batch_keeps_shape_dtype_and_range(batch: np.ndarray) -> None:
    spec = AugmentationSpec(enabled=True, shift=0.15, rotation=20, zoom=0.2, thickness=0.5)
    out = augment_batch(batch, spec, np.random.default_rng(1))
    assert out.shape == batch.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert not np.array_equal(out, batch)
    assert out is not batch
    # Each image is changed on its own, not the whole batch alike.
    assert not np.allclose(out[0], out[len(DRAWINGS)])

    flat = augment_batch(batch[..., 0], spec, np.random.default_rng(1))
    np.testing.assert_array_equal(flat, out[..., 0])


def test_augment_batch_is_reproducible(batch: np.ndarray) -> None:
    spec = AugmentationSpec(enabled=True)
    first = augment_batch(batch, spec, np.random.default_rng(7))
    again = augment_batch(batch, spec, np.random.default_rng(7))
    other = augment_batch(batch, spec, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_augment_batch_without_perturbations_is_identity(batch: np.ndarray) -> None:
    still = AugmentationSpec(enabled=True, shift=0.0, rotation=0.0, zoom=0.0, thickness=0.0)
    np.testing.assert_allclose(augment_batch(batch, still, np.random.default_rng(0)), batch, atol=1e-6)
    disabled = AugmentationSpec(enabled=False, shift=0.3)
    out = augment_batch(batch, disabled, np.random.default_rng(0))
    np.testing.assert_array_equal(out, batch)
    assert out is not batch


def test_augment_batch_each_perturbation_alone(batch: np.ndarray) -> None:
    base = AugmentationSpec(enabled=True, shift=0.0, rotation=0.0, zoom=0.0, thickness=0.0)
    for change in ({"shift": 0.1}, {"rotation": 15.0}, {"zoom": 0.2}, {"thickness": 1.0}):
        out = augment_batch(batch, base.__class__(**{**base.to_dict(), **change}), np.random.default_rng(3))
        assert not np.allclose(out, batch), change
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_augment_batch_rejects_other_shapes() -> None:
    with pytest.raises(ValueError, match="batch"):
        augment_batch(
            np.zeros((28, 28), np.float32), AugmentationSpec(enabled=True), np.random.default_rng(0)
        )
    empty = augment_batch(
        np.zeros((0, 28, 28, 1), np.float32), AugmentationSpec(enabled=True), np.random.default_rng(0)
    )
    assert empty.shape == (0, 28, 28, 1)
