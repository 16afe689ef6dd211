"""Turning a drawing or an image file into the 28x28 input an MNIST model expects.

MNIST digits were made by scaling each scanned digit to fit a 20x20 box (keeping its
aspect ratio, with anti-aliasing) and placing the result in a 28x28 field so that its
centre of mass sits at the centre. :func:`preprocess_drawing` does the same to a canvas
drawing. Before scaling it brings the stroke width into MNIST's range, because a thin or
a thick pen changes what a network sees far more than anything in MNIST itself does.
Every stage is returned, so the GUI can show what the network is actually given.

The module also holds the "what if" transforms the GUI uses to probe a trained network
(:func:`shift`, :func:`rotate`, :func:`thicken`, :func:`robustness_variants`) and the
training-time augmentation (:func:`augment_batch`).

Pure numpy, scipy and Pillow: no Qt and no TensorFlow, so it runs anywhere and is cheap to
test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from scipy import ndimage

from model.config import AugmentationSpec
from model.errors import ProjectError
from model.reading import open_regular, os_error_reason

FloatImage = NDArray[np.float32]

MNIST_SIZE: Final = 28
"""The side of an MNIST image."""

MNIST_BOX: Final = 20
"""The side of the box MNIST scaled each digit to fit."""

MNIST_CENTRE: Final = 14.0
"""Where MNIST put a digit's centre of mass, in the row/column index coordinates that
``scipy.ndimage.center_of_mass`` reports (over the MNIST test set: 14.0 +- 0.3 on both
axes, i.e. the centre rounded to whole pixels)."""

INK_THRESHOLD: Final = 0.2
"""A pixel at or above this level counts as ink when cropping and when deciding that a
canvas is empty; fainter pixels (anti-aliasing fringes, a scan's grain) are ignored."""

EMPTY_FRACTION: Final = 0.001
"""A canvas with fewer ink pixels than this fraction of its area counts as empty."""

WORK_SIZE: Final = 200
"""The longest side, in pixels, at which the stroke width is measured and normalised: ten
times the 20-pixel box, so the final area-averaging gives MNIST-like anti-aliasing."""

MNIST_STROKE_RANGE: Final = (0.093, 0.134)
"""Stroke width relative to the digit's longest side: the 25th and 75th percentiles over
the first 500 MNIST test digits, measured the way :func:`_normalise_stroke_width` measures
(median of twice the distance transform along the medial axis, digits upscaled 10x).
Widths inside the range are left alone; widths outside are redrawn at the nearer end."""

_NETWORK_SHAPES: Final = ((MNIST_SIZE * MNIST_SIZE,), (MNIST_SIZE, MNIST_SIZE), (MNIST_SIZE, MNIST_SIZE, 1))

_IMAGE_FORMATS: Final = ("PNG", "JPEG", "BMP")
_MAX_IMAGE_PIXELS: Final = 50_000_000
# Pillow raises a zoo of exception types on malformed files, depending on the decoder.
_DECODE_ERRORS: Final = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    MemoryError,
    OverflowError,
    RuntimeError,
)


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """The result of :func:`preprocess_drawing`.

    All arrays are float32 in [0, 1] and read-only.

    Attributes:
        image: The 28x28 network input (all zeros when ``empty``).
        stages: Each step's result in order, as ``(name, array)``: ``"drawn"``,
            ``"cropped"``, ``"thickness"`` (only when the stroke width was normalised),
            ``"20x20"`` and ``"28x28 centred"``. An empty canvas has only ``"drawn"``.
            (:func:`model.ink.preprocess_strokes` names its steps in the same way.)
        empty: True when the canvas held too little ink to be a digit.
        notice: Why a canvas with some ink is not read (``empty`` is then true), in
            words for the person drawing; ``""`` otherwise.
        scribble: How much pen path the drawing holds per unit of its size
            (:func:`model.ink.scribble_score`); 0 when unknown (a picture file).
        stroke_count: How many strokes the drawing has; 0 when unknown (a picture file).
    """

    image: FloatImage
    stages: tuple[tuple[str, FloatImage], ...]
    empty: bool
    notice: str = ""
    scribble: float = 0.0
    stroke_count: int = 0


# --------------------------------------------------------------------------- helpers


def _frozen(array: FloatImage) -> FloatImage:
    array.setflags(write=False)
    return array


def _as_unit_float(canvas: NDArray[np.generic]) -> FloatImage:
    """A float32 copy of a 2-D grayscale array, scaled to [0, 1].

    Integer arrays are divided by their type's maximum (255 for uint8); floats are taken
    to be in [0, 1] already and are clipped, with NaN counted as no ink.
    """
    arr = np.asarray(canvas)
    if arr.ndim != 2:
        raise ValueError(f"a drawing must be a 2-D grayscale array, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        scaled = arr.astype(np.float64) / float(np.iinfo(arr.dtype).max)
    elif np.issubdtype(arr.dtype, np.floating):
        scaled = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    else:
        raise ValueError(f"a drawing must hold numbers, got dtype {arr.dtype}")
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def _as_image(image: NDArray[np.generic]) -> FloatImage:
    """A float32 copy of a 2-D image, clipped to [0, 1] (for the robustness transforms)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {arr.shape}")
    return np.clip(np.nan_to_num(arr), 0.0, 1.0)


def _ink_bbox(image: FloatImage, threshold: float = INK_THRESHOLD) -> tuple[slice, slice] | None:
    """The bounding box of the pixels at or above ``threshold``, or None without any."""
    mask = image >= threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def _is_empty(image: FloatImage) -> bool:
    ink_pixels = int(np.count_nonzero(image >= INK_THRESHOLD))
    return ink_pixels < max(1.0, EMPTY_FRACTION * image.size)


def _resize(image: FloatImage, height: int, width: int) -> FloatImage:
    """Resample to ``height`` x ``width``: area-averaging when shrinking (as MNIST's
    anti-aliasing did), bilinear when enlarging."""
    if image.shape == (height, width):
        return image.copy()
    shrinking = height <= image.shape[0] and width <= image.shape[1]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))
    out = np.array(pil.resize((width, height), resample=resample), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)


def _fit(shape: tuple[int, ...], long_side: int) -> tuple[int, int]:
    """The size that scales ``shape`` so its longer side is ``long_side``, keeping aspect."""
    height, width = shape[0], shape[1]
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _long_side(mask: NDArray[np.bool_]) -> int:
    box = _ink_bbox(mask.astype(np.float32), 0.5)
    if box is None:
        return 0
    return int(max(box[0].stop - box[0].start, box[1].stop - box[1].start))


def _normalise_stroke_width(work: FloatImage) -> FloatImage:
    """Redraw the strokes at an MNIST-like width when they are too thin or too thick.

    The stroke width is the median, along the medial axis (the ridge of the distance
    transform), of twice the distance to the background. When the width relative to the
    digit's longest side lies in :data:`MNIST_STROKE_RANGE` the drawing is returned as it
    is (padded); otherwise the medial axis is redrawn with a round pen whose width puts it
    at the nearer end of the range, which both thins thick strokes without breaking them
    and thickens hairlines.

    Returns:
        The image padded by a margin that leaves room to thicken.
    """
    margin = math.ceil(WORK_SIZE * MNIST_STROKE_RANGE[1]) + 2
    padded = np.pad(work, margin)
    peak = float(padded.max())
    if peak <= 0.0:
        return padded
    mask = padded >= 0.5 * peak
    distance = np.asarray(ndimage.distance_transform_edt(mask), dtype=np.float64)
    ridge = mask & (distance >= ndimage.maximum_filter(distance, size=3))
    radius = float(np.median(distance[ridge]))
    # A strip n pixels wide has n/2 + 1/2 at its centre: the "- 1" undoes the half pixel.
    width = max(1.0, 2.0 * radius - 1.0)
    relative = width / max(1, _long_side(mask))
    low, high = MNIST_STROKE_RANGE
    if low <= relative <= high:
        return padded
    # Drop the medial axis's short spurs into corners, where the distance is small.
    core = ridge & (distance >= 0.3 * radius)
    target = min(max(relative, low), high)
    # The redrawn digit's long side is the core's extent plus one pen width.
    core_extent = max(1, _long_side(core))
    pen = max(1.0, target * core_extent / (1.0 - target))
    to_core = np.asarray(ndimage.distance_transform_edt(~core), dtype=np.float64)
    # A one-pixel soft edge, so the redrawn stroke is anti-aliased like a drawn one.
    return np.clip(pen / 2.0 - to_core + 0.5, 0.0, 1.0).astype(np.float32)


def _centre_by_mass(digit: FloatImage) -> FloatImage:
    """Place ``digit`` in a 28x28 field with its centre of mass at :data:`MNIST_CENTRE`.

    The offset is rounded to whole pixels (as MNIST did, so nothing is blurred) and
    clamped so that no ink falls off the field.
    """
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    height, width = digit.shape
    centre_y, centre_x = (float(c) for c in ndimage.center_of_mass(digit))
    top = int(np.clip(math.floor(MNIST_CENTRE - centre_y + 0.5), 0, MNIST_SIZE - height))
    left = int(np.clip(math.floor(MNIST_CENTRE - centre_x + 0.5), 0, MNIST_SIZE - width))
    out[top : top + height, left : left + width] = digit
    return out


def _in_box(digit: FloatImage) -> FloatImage:
    """``digit`` centred in a 20x20 box, for showing the "20x20" stage."""
    box = np.zeros((MNIST_BOX, MNIST_BOX), dtype=np.float32)
    height, width = digit.shape
    top, left = (MNIST_BOX - height) // 2, (MNIST_BOX - width) // 2
    box[top : top + height, left : left + width] = digit
    return box


# --------------------------------------------------------------------------- drawings


def preprocess_drawing(canvas: NDArray[np.generic], *, normalize_thickness: bool = True) -> Preprocessed:
    """Turn a drawing into a 28x28 MNIST-style image, keeping every stage.

    The steps follow MNIST's own preparation: crop to the ink; optionally bring the stroke
    width into MNIST's range (measured and redrawn at a working resolution whose longest
    side is :data:`WORK_SIZE`); scale to fit a 20x20 box keeping the aspect ratio, with
    area-averaging; place in a 28x28 field with the centre of mass at the centre.

    Args:
        canvas: A 2-D grayscale array of any size, ink bright on a black background:
            uint8 (0-255), another integer type (scaled by its maximum) or float in
            [0, 1] (values outside are clipped, NaN counts as no ink).
        normalize_thickness: Whether to redraw strokes thinner or thicker than MNIST's
            usual range. Off, the pen's width passes through as drawn.

    Returns:
        The image, the stages and whether the canvas was (nearly) empty. An empty canvas
        gives a zero image rather than an error, so live prediction can simply skip it.

    Raises:
        ValueError: ``canvas`` is not a 2-D numeric array (a programming error).
    """
    drawn = _as_unit_float(canvas)
    stages: list[tuple[str, FloatImage]] = [("drawn", drawn)]
    blank = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    if _is_empty(drawn):
        return preprocessed(blank, stages, empty=True)
    box = _ink_bbox(drawn)
    assert box is not None  # not empty, so there is ink
    cropped = drawn[box].copy()
    stages.append(("cropped", cropped))

    work = _resize(cropped, *_fit(cropped.shape, WORK_SIZE))
    if normalize_thickness:
        work = _normalise_stroke_width(work)
        stages.append(("thickness", work))
    framed = frame_like_mnist(work)
    if framed is None:  # area-averaging spread sparse ink below the ink threshold
        return preprocessed(blank, stages[:1], empty=True)
    box20, image = framed
    stages += [("20x20", box20), ("28x28 centred", image)]
    return preprocessed(image, stages, empty=False)


def frame_like_mnist(work: FloatImage) -> tuple[FloatImage, FloatImage] | None:
    """Frame a digit drawn at a working resolution the way MNIST framed its digits.

    Crops to the ink, scales the crop to fit a 20x20 box keeping its aspect ratio (by
    area-averaging, MNIST's anti-aliasing), and places it in a 28x28 field with its
    centre of mass at the centre.

    Returns:
        The scaled digit centred in a 20x20 box (for showing) and the 28x28 image, or
        None when no ink is left at or above :data:`INK_THRESHOLD`.
    """
    box = _ink_bbox(work)
    if box is None:
        return None
    digit = work[box]
    small = _resize(digit, *_fit(digit.shape, MNIST_BOX))
    if float(small.sum()) <= 0.0:
        return None
    return centre_like_mnist(small)


def centre_like_mnist(digit: FloatImage) -> tuple[FloatImage, FloatImage]:
    """A digit already fitted to the 20x20 box, shown in that box and placed in a 28x28
    field with its centre of mass at the centre (rounded to whole pixels, as MNIST did)."""
    return _in_box(digit), _centre_by_mass(digit)


def preprocessed(
    image: FloatImage,
    stages: Sequence[tuple[str, FloatImage]],
    *,
    empty: bool,
    notice: str = "",
    scribble: float = 0.0,
    stroke_count: int = 0,
) -> Preprocessed:
    """A :class:`Preprocessed` whose arrays are made read-only (for the other input paths)."""
    return Preprocessed(
        image=_frozen(image),
        stages=tuple((name, _frozen(array)) for name, array in stages),
        empty=empty,
        notice=notice,
        scribble=float(scribble),
        stroke_count=int(stroke_count),
    )


def to_network_input(image28: NDArray[np.generic], input_shape: Sequence[int | None]) -> NDArray[np.float32]:
    """Shape a 28x28 image as a batch of one for a model.

    Args:
        image28: A 28x28 image in [0, 1], such as :attr:`Preprocessed.image`.
        input_shape: The model's input shape, without the batch dimension; a leading
            ``None`` (as in Keras's ``model.input_shape``) is dropped. Accepted:
            ``(28, 28, 1)`` and ``(28, 28)`` for image models, ``(784,)`` for flat ones.

    Returns:
        A float32 array of shape ``(1, *input_shape)``.

    Raises:
        ProjectError: The model expects some other input, which a drawing cannot give.
        ValueError: ``image28`` is not 28x28 (a programming error).
    """
    shape = tuple(input_shape)
    if len(shape) in (2, 4) and shape[0] is None:
        shape = shape[1:]
    image = np.asarray(image28, dtype=np.float32)
    if image.shape != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
    if shape not in _NETWORK_SHAPES:
        shown = (
            "("
            + ", ".join("None" if d is None else str(d) for d in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
        raise ProjectError(
            f"this model expects input {shown}; drawings give 28x28 grayscale. "
            "Draw with a model built for MNIST-sized input: (28, 28, 1) or 784 values."
        )
    # A fresh, writable array: the caller may hand it to a framework that writes in place.
    return np.array(
        image.reshape((1, *(int(d) for d in shape if d is not None))), dtype=np.float32, copy=True
    )


# --------------------------------------------------------------------------- image files


def load_image_file(path: str | Path) -> FloatImage:
    """Read a PNG, JPEG or BMP picture of a digit as a canvas-like grayscale array.

    Colour is converted to grayscale (transparent areas count as white paper). A picture
    that is mostly light (mean above 0.5: dark ink on paper) is inverted so the ink is
    bright, like the canvas. Then levels are stretched so that the background (the median)
    becomes 0 and the brightest ink 1, so a pencil photo on grey paper reads like a clean
    drawing.

    Args:
        path: The file to read.

    Returns:
        A float32 array in [0, 1] of the picture's size, ready for
        :func:`preprocess_drawing`.

    Raises:
        ProjectError: The file is missing, unreadable, too large, or not an image; the
            message names the file and what to do.
    """
    path = Path(path)
    name = path.name or str(path)
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise ProjectError(f"cannot open {name}: no such file; check the path") from None
    except OSError as exc:
        raise ProjectError(f"cannot open {name}: it {os_error_reason(exc)}; choose an image file") from None
    try:
        with handle, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle, formats=_IMAGE_FORMATS) as picture:
                width, height = picture.size
                if width * height > _MAX_IMAGE_PIXELS:
                    raise ProjectError(
                        f"{name} is {width}x{height} pixels, too large for a digit; "
                        "crop or shrink it below 50 megapixels and try again"
                    )
                picture.load()
                gray = _grayscale(picture)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ProjectError(
            f"{name} is too large for a digit (over {Image.MAX_IMAGE_PIXELS:,} pixels); "
            "crop or shrink it and try again"
        ) from None
    except UnidentifiedImageError:
        raise ProjectError(
            f"{name} is not a PNG, JPEG or BMP image (or it is damaged); "
            "save the drawing as PNG or JPEG and try again"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ProjectError(
            f"{name} could not be decoded as an image ({type(exc).__name__}); "
            "the file may be truncated or damaged: export it again as PNG or JPEG"
        ) from None
    if gray.size == 0:
        raise ProjectError(f"{name} has no pixels; choose a picture of a digit")
    if float(gray.mean()) > 0.5:
        gray = 1.0 - gray
    background = float(np.median(gray))
    peak = float(gray.max())
    if peak - background < 1.0 / 255.0:
        return np.zeros_like(gray, dtype=np.float32)
    return np.clip((gray - background) / (peak - background), 0.0, 1.0).astype(np.float32)


def _grayscale(picture: Image.Image) -> NDArray[np.float64]:
    """The first frame of ``picture`` as float64 grayscale in [0, 1]."""
    mode = picture.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        values = np.asarray(picture, dtype=np.float64)
        top = (
            65535.0 if mode.startswith("I;16") else max(1.0, float(np.nanmax(values)) if values.size else 1.0)
        )
        return np.clip(np.nan_to_num(values) / top, 0.0, 1.0)
    if "A" in mode or (mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(paper, rgba)
    return np.asarray(picture.convert("L"), dtype=np.float64) / 255.0


# --------------------------------------------------------------------------- robustness


def shift(image: NDArray[np.generic], dx: float, dy: float) -> FloatImage:
    """Move an image ``dx`` pixels right and ``dy`` pixels down (negative: left, up).

    What moves off the edge is lost; what comes in is black. Whole-pixel shifts are exact.
    """
    img = _as_image(image)
    moved = ndimage.shift(img, (dy, dx), order=1, mode="constant", cval=0.0)
    return np.clip(np.asarray(moved, dtype=np.float32), 0.0, 1.0)


def rotate(image: NDArray[np.generic], degrees: float) -> FloatImage:
    """Rotate an image about its centre; positive ``degrees`` turn it counter-clockwise
    as displayed (rows growing downwards)."""
    img = _as_image(image)
    turned = ndimage.rotate(img, degrees, reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(np.asarray(turned, dtype=np.float32), 0.0, 1.0)


def _disk(radius: int) -> NDArray[np.bool_]:
    span = np.arange(-radius, radius + 1)
    return np.asarray(span[:, None] ** 2 + span[None, :] ** 2 <= radius * radius)


def thicken(image: NDArray[np.generic], pixels: float) -> FloatImage:
    """Make strokes ``pixels`` wider (negative: narrower) by grey morphology.

    The width changes by about ``pixels`` in total, half on each side: the image is
    dilated (or eroded) with a disk of radius ``|pixels| / 2``, blending between the two
    nearest whole radii for fractional amounts, so ``thicken(img, 1)`` is half-way to a
    one-pixel dilation on each side.
    """
    img = _as_image(image)
    radius = abs(float(pixels)) / 2.0
    if radius == 0.0:
        return img
    operation = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    whole = math.floor(radius)
    fraction = radius - whole
    lower = img if whole == 0 else np.asarray(operation(img, footprint=_disk(whole)), dtype=np.float32)
    if fraction == 0.0:
        return lower
    upper = np.asarray(operation(img, footprint=_disk(whole + 1)), dtype=np.float32)
    return np.clip(lower + np.float32(fraction) * (upper - lower), 0.0, 1.0).astype(np.float32)


def robustness_variants(image: NDArray[np.generic]) -> list[tuple[str, FloatImage]]:
    """Small, label-preserving changes of an image, to see whether a network's answer
    survives them.

    Returns:
        ``(label, image)`` pairs: shifts of 3 pixels each way, rotations of 15 degrees
        each way, and strokes one pixel thinner and thicker.
    """
    img = _as_image(image)
    return [
        ("shift left 3px", shift(img, -3, 0)),
        ("shift right 3px", shift(img, 3, 0)),
        ("shift up 3px", shift(img, 0, -3)),
        ("shift down 3px", shift(img, 0, 3)),
        ("rotate -15°", rotate(img, -15)),
        ("rotate +15°", rotate(img, 15)),
        ("thinner", thicken(img, -1)),
        ("thicker", thicken(img, 1)),
    ]


# --------------------------------------------------------------------------- augmentation

_CROSS: Final = _disk(1)[None, :, :]


def augment_batch(
    images: NDArray[np.generic], spec: AugmentationSpec, rng: np.random.Generator
) -> FloatImage:
    """Randomly perturb a batch of training images, as ``spec`` says.

    Each image gets its own random shift (up to ``spec.shift`` of the image size on each
    axis), rotation (up to ``spec.rotation`` degrees either way) and zoom (a factor
    within ``1 +- spec.zoom``), applied together as one affine resampling of the whole
    batch; then, with probability ``spec.thickness``, its strokes are made one pixel
    thicker or thinner (either with equal chance, see :func:`thicken`).

    Args:
        images: A float batch in [0, 1] of shape ``(N, H, W, 1)`` or ``(N, H, W)``.
        spec: The perturbations. When ``spec.enabled`` is false the batch comes back
            unchanged (as a float32 copy).
        rng: The random source; the same seed gives the same batch.

    Returns:
        A new float32 array of the input's shape, in [0, 1].

    Raises:
        ValueError: ``images`` has another shape (a programming error).
    """
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim == 4 and batch.shape[-1] == 1:
        planes = batch[..., 0]
    elif batch.ndim == 3:
        planes = batch
    else:
        raise ValueError(f"expected a batch of shape (N, H, W, 1) or (N, H, W), got {batch.shape}")
    if not spec.enabled or planes.shape[0] == 0:
        return batch.copy()
    count, height, width = planes.shape

    angle = np.deg2rad(rng.uniform(-spec.rotation, spec.rotation, count))
    zoom = 1.0 + rng.uniform(-spec.zoom, spec.zoom, count)
    move_y = rng.uniform(-spec.shift, spec.shift, count) * height
    move_x = rng.uniform(-spec.shift, spec.shift, count) * width
    change = np.asarray(rng.random(count) < spec.thickness, dtype=np.bool_)
    thicker = np.asarray(rng.random(count) < 0.5, dtype=np.bool_)

    # Each output pixel p samples the input at c + R(-angle) (p - c - move) / zoom.
    centre_y, centre_x = (height - 1) / 2.0, (width - 1) / 2.0
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    cos = (np.cos(angle) / zoom)[:, None, None]
    sin = (np.sin(angle) / zoom)[:, None, None]
    from_y = rows[None] - centre_y - move_y[:, None, None]
    from_x = cols[None] - centre_x - move_x[:, None, None]
    source = np.empty((3, count, height, width), dtype=np.float64)
    source[0] = np.arange(count, dtype=np.float64)[:, None, None]
    source[1] = centre_y + cos * from_y - sin * from_x
    source[2] = centre_x + sin * from_y + cos * from_x
    out = np.asarray(
        ndimage.map_coordinates(planes, source, order=1, mode="constant", cval=0.0, prefilter=False),
        dtype=np.float32,
    )

    # One pixel in total: half-way to a one-pixel dilation or erosion on each side.
    for selected, operation in (
        (np.logical_and(change, thicker), ndimage.grey_dilation),
        (np.logical_and(change, ~thicker), ndimage.grey_erosion),
    ):
        if selected.any():
            changed = np.asarray(operation(out[selected], footprint=_CROSS), dtype=np.float32)
            out[selected] = 0.5 * (out[selected] + changed)
    np.clip(out, 0.0, 1.0, out=out)
    return out.reshape(batch.shape)
