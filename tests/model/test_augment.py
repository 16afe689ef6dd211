"""Elastic distortions and pen-width variation: seeded, bounded, and digits stay digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from model.augment import (  # noqa: E402
    affine_fields,
    distort,
    elastic_distort,
    elastic_fields,
    field_rms,
    gaussian_kernel,
    vary_stroke_width,
    warp,
)


@pytest.fixture(scope="module")
def mnist(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    path = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist.npz"
    if not path.is_file():
        pytest.skip(f"{path} is absent: the MNIST tests need ../shared/data/mnist.npz")
    with np.load(path) as data:
        x_train = data["x_train"][:6000].astype(np.float32) / 255.0
        x_test = data["x_test"][:400].astype(np.float32) / 255.0
        return x_train, data["y_train"][:6000], x_test, data["y_test"][:400]


def seeded(seed: int = 0) -> keras.random.SeedGenerator:
    return keras.random.SeedGenerator(seed)


def batch(count: int = 8) -> tf.Tensor:
    rng = np.random.default_rng(0)
    images = np.zeros((count, 28, 28, 1), dtype=np.float32)
    images[:, 6:22, 12:16] = rng.uniform(0.5, 1.0, (count, 16, 4, 1))
    return tf.constant(images)


# --------------------------------------------------------------------------- the fields


def test_gaussian_kernel_is_normalised_and_wide_enough() -> None:
    kernel = gaussian_kernel(4.0)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    assert len(kernel) == 2 * 12 + 1
    assert kernel[12] == kernel.max()


@pytest.mark.parametrize(("alpha", "sigma"), [(34.0, 4.0), (20.0, 4.0), (10.0, 2.0)])
def test_elastic_fields_have_the_statistics_of_smoothed_noise(alpha: float, sigma: float) -> None:
    fields = elastic_fields(512, 28, 28, alpha, sigma, seeded()).numpy()
    assert fields.shape == (512, 28, 28, 2)
    middle = fields[:, 10:18, 10:18]  # away from the zero-padded borders
    expected = field_rms(alpha, sigma)
    assert middle.std() == pytest.approx(expected, rel=0.1)
    assert abs(float(middle.mean())) < 0.1 * expected  # no drift in any direction
    assert np.abs(fields).max() < 6.0 * expected  # bounded: sums of bounded noise
    # Smooth: neighbouring pixels move nearly together (correlation of a Gaussian field).
    left, right = middle[:, :, :-1].ravel(), middle[:, :, 1:].ravel()
    assert np.corrcoef(left, right)[0, 1] > np.exp(-1.0 / (4.0 * sigma**2)) - 0.05
    # Simard's setting moves pixels about 1.4 pixels: strong enough to matter, not to break.
    assert field_rms(34.0, 4.0) == pytest.approx(1.39, abs=0.02)


def test_the_same_seed_gives_the_same_distortion() -> None:
    images = batch()
    first = elastic_distort(images, 34.0, 4.0, seeded(3)).numpy()
    again = elastic_distort(images, 34.0, 4.0, seeded(3)).numpy()
    other = elastic_distort(images, 34.0, 4.0, seeded(4)).numpy()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.1
    generator = seeded(3)
    assert not np.array_equal(  # a generator moves on: every batch is distorted anew
        elastic_distort(images, 34.0, 4.0, generator).numpy(), elastic_distort(images, 34.0, 4.0, generator).numpy()
    )


def test_warp_without_displacement_is_the_identity_and_whole_pixels_shift_exactly() -> None:
    images = batch()
    np.testing.assert_array_equal(warp(images, tf.zeros((8, 28, 28, 2))).numpy(), images.numpy())
    right = np.zeros((8, 28, 28, 2), dtype=np.float32)
    right[..., 1] = 2.0  # each pixel reads the one two columns to its right
    moved = warp(images, tf.constant(right)).numpy()
    np.testing.assert_array_equal(moved[:, :, :-2], images.numpy()[:, :, 2:])
    assert not moved[:, :, -2:].any()  # what comes in from outside is black


def test_affine_fields_without_any_change_are_zero() -> None:
    fields = affine_fields(4, 28, 28, 0.0, 0.0, 0.0, seeded()).numpy()
    assert np.abs(fields).max() < 1e-5


@pytest.mark.parametrize(
    "settings",
    [
        {"shift": 0.1, "degrees": 10.0, "zoom": 0.1, "alpha": 34.0, "sigma": 4.0},
        {"shift": 0.0, "degrees": 0.0, "zoom": 0.0, "alpha": 34.0, "sigma": 4.0},
        {"shift": 0.1, "degrees": 0.0, "zoom": 0.0, "alpha": 0.0, "sigma": 4.0},
    ],
)
def test_distortions_keep_shape_dtype_and_range(settings: dict[str, float]) -> None:
    images = batch()
    out = distort(images, **settings, seed=seeded()).numpy()
    assert out.shape == (8, 28, 28, 1) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # Ink is moved, not made: a field that is not area-preserving stretches or squeezes a
    # stroke's ink a little, but never creates or removes much of it.
    ratio = out.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio


def test_stroke_width_varies_both_ways_within_bounds() -> None:
    images = batch(256)
    out = vary_stroke_width(images, 1.0, seeded()).numpy()
    ink = out.sum(axis=(1, 2, 3)) / images.numpy().sum(axis=(1, 2, 3))
    assert ink.min() < 0.85 and ink.max() > 1.15  # some thinner, some wider
    assert ink.min() > 0.4 and ink.max() < 1.8  # by at most half a pixel on each side
    assert 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_allclose(vary_stroke_width(images, 0.0, seeded()).numpy(), images.numpy())


# --------------------------------------------------------------------------- still digits


def test_distorted_digits_keep_their_labels(mnist: tuple[np.ndarray, ...]) -> None:
    """A judge that knows only clean MNIST (1-nearest-neighbour on 6,000 digits, blurred a
    little so that it tolerates a pixel of displacement) reads distorted test digits
    nearly as well as clean ones at the strengths the drawing preset uses."""
    from scipy import ndimage

    x_train, y_train, x_test, y_test = mnist

    def blurred(images: np.ndarray) -> np.ndarray:
        return np.stack([ndimage.gaussian_filter(image, 1.0) for image in images]).reshape(len(images), -1)

    reference = blurred(x_train)

    def judge(images: np.ndarray) -> float:
        flat = blurred(images)
        distances = (flat**2).sum(1)[:, None] - 2.0 * flat @ reference.T + (reference**2).sum(1)[None]
        return float(np.mean(y_train[np.argmin(distances, axis=1)] == y_test))

    clean = judge(x_test)
    images = tf.constant(x_test[..., None])
    generator = seeded(1)
    elastic = distort(images, shift=0.0, degrees=0.0, zoom=0.0, alpha=20.0, sigma=4.0, seed=generator)
    widths = vary_stroke_width(images, 1.0, generator)
    assert clean > 0.9
    assert judge(elastic.numpy()[..., 0]) > clean - 0.06, clean
    assert judge(widths.numpy()[..., 0]) > clean - 0.05, clean
