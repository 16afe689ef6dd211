"""Training-time distortions that make a network expect real pens: elastic warps and pen widths.

People do not write like MNIST's scanned forms: their strokes wobble, lean and bulge in
ways no affine transform makes. Simard, Steinkraus and Platt ("Best practices for
convolutional neural networks applied to visual document analysis", ICDAR 2003) showed
that *elastic distortions* model those oscillations: draw a random displacement per pixel
and axis, uniform in [-1, 1]; smooth the field with a Gaussian of standard deviation
``sigma`` pixels (normalised, so the smoother the field the smaller it gets); scale it by
``alpha``; and resample the image at each pixel plus its displacement, bilinearly. With
``sigma = 4`` and ``alpha = 34`` (their values for 29x29 digits) pixels move about 1.4
pixels (RMS per axis), smoothly, so a digit keeps its identity; see
:func:`field_rms` for the figure for any setting.

Pens differ in width too. :func:`vary_stroke_width` widens or narrows each image's strokes
by a random amount up to ``max_change`` pixels in total, by blending towards a 3x3 grey
dilation (or erosion), which moves each edge by up to one pixel.

Both work on a batch of ``(N, H, W, 1)`` float images in the training step's graph, with
their randomness drawn from a seeded ``keras.random.SeedGenerator``, so a seed gives the
same distortions; the inference model never contains them. With elastic distortion on,
:func:`distort` also does the shift, rotation and zoom, adding their displacements to the
elastic field so that each image is interpolated once (chained resamplings blur strokes
that the canvas draws sharp). :class:`~model.builder.InstrumentedModel` applies them as
:class:`~model.config.AugmentationSpec` says.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def gaussian_kernel(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of standard deviation ``sigma``, 3 sigma each side."""
    radius = max(1, math.ceil(3.0 * sigma))
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    return np.asarray(kernel / kernel.sum(), dtype=np.float32)


def field_rms(alpha: float, sigma: float) -> float:
    """The RMS displacement per axis, in pixels, away from the edges, of an elastic field.

    Uniform noise on [-1, 1] has variance 1/3; a normalised separable Gaussian filter
    scales it by the sum of its squared 2-D taps, so the smoothed field has standard
    deviation ``sqrt(1/3) * sum(k**2)`` (the 1-D sum squared) times ``alpha``.
    """
    kernel = gaussian_kernel(sigma).astype(np.float64)
    return float(alpha * math.sqrt(1.0 / 3.0) * float(np.sum(kernel**2)))


def elastic_fields(
    count: Any, height: int, width: int, alpha: float, sigma: float, seed: keras.random.SeedGenerator
) -> tf.Tensor:
    """Random displacement fields, ``(count, height, width, 2)`` pixels as (down, right).

    Zero padding at the borders makes the field fade near the edges, where MNIST digits
    have no ink anyway.
    """
    noise = keras.random.uniform((count, height, width, 2), minval=-1.0, maxval=1.0, seed=seed)
    kernel = tf.constant(gaussian_kernel(sigma))
    taps = int(kernel.shape[0])
    # Separable smoothing of both channels (depthwise: each axis of the field on its own).
    along_rows = tf.tile(tf.reshape(kernel, (taps, 1, 1, 1)), (1, 1, 2, 1))
    along_cols = tf.tile(tf.reshape(kernel, (1, taps, 1, 1)), (1, 1, 2, 1))
    smooth = tf.nn.depthwise_conv2d(noise, along_rows, (1, 1, 1, 1), "SAME")
    smooth = tf.nn.depthwise_conv2d(smooth, along_cols, (1, 1, 1, 1), "SAME")
    return tf.cast(alpha, tf.float32) * smooth


def warp(images: tf.Tensor, fields: tf.Tensor) -> tf.Tensor:
    """Resample each image at every pixel plus its displacement, bilinearly, black outside.

    Args:
        images: ``(N, H, W, 1)`` float images.
        fields: ``(N, H, W, 2)`` displacements in pixels, (down, right).
    """
    shape = tf.shape(images)
    count, height, width = shape[0], shape[1], shape[2]
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None] + fields[..., 0]
    cols = tf.cast(tf.range(width), tf.float32)[None, None, :] + fields[..., 1]
    # A one-pixel black frame, so samples that fall off the image read black.
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])
    flat = tf.reshape(padded, [-1])
    side_rows, side_cols = height + 2, width + 2
    rows = tf.clip_by_value(rows + 1.0, 0.0, tf.cast(side_rows - 1, tf.float32))
    cols = tf.clip_by_value(cols + 1.0, 0.0, tf.cast(side_cols - 1, tf.float32))
    top = tf.minimum(tf.floor(rows), tf.cast(side_rows - 2, tf.float32))
    left = tf.minimum(tf.floor(cols), tf.cast(side_cols - 2, tf.float32))
    down, right = rows - top, cols - left
    base = tf.range(count)[:, None, None] * side_rows * side_cols
    top_i, left_i = tf.cast(top, tf.int32), tf.cast(left, tf.int32)
    index = base + top_i * side_cols + left_i

    def at(offset: Any) -> tf.Tensor:
        return tf.gather(flat, index + offset)

    upper = at(0) * (1.0 - right) + at(1) * right
    lower = at(side_cols) * (1.0 - right) + at(side_cols + 1) * right
    return (upper * (1.0 - down) + lower * down)[..., None]


def elastic_distort(images: tf.Tensor, alpha: float, sigma: float, seed: keras.random.SeedGenerator) -> tf.Tensor:
    """Simard et al.'s elastic distortion of a batch of ``(N, H, W, 1)`` images."""
    shape = tf.shape(images)
    fields = elastic_fields(shape[0], int(images.shape[1]), int(images.shape[2]), alpha, sigma, seed)
    return tf.clip_by_value(warp(images, fields), 0.0, 1.0)


def affine_fields(
    count: Any, height: int, width: int, shift: float, degrees: float, zoom: float, seed: keras.random.SeedGenerator
) -> tf.Tensor:
    """Displacements, like :func:`elastic_fields`, that shift, rotate and zoom each image.

    Each image gets its own shift (up to ``shift`` of its size on each axis), rotation (up
    to ``degrees`` either way) and zoom (a factor within ``1 +- zoom``) about its centre:
    output pixel p reads the input at ``c + R(-angle) (p - c - move) / factor``.
    """
    def draw(limit: float) -> tf.Tensor:
        return keras.random.uniform((count, 1, 1), minval=-limit, maxval=limit, seed=seed)

    angle = draw(math.radians(degrees))
    factor = 1.0 + draw(zoom)
    move_rows, move_cols = draw(shift) * height, draw(shift) * width
    centre_rows, centre_cols = (height - 1) / 2.0, (width - 1) / 2.0
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None] - centre_rows
    cols = tf.cast(tf.range(width), tf.float32)[None, None, :] - centre_cols
    from_rows, from_cols = rows - move_rows, cols - move_cols
    cos, sin = tf.cos(angle) / factor, tf.sin(angle) / factor
    source_rows = cos * from_rows - sin * from_cols
    source_cols = sin * from_rows + cos * from_cols
    return tf.stack([source_rows - rows, source_cols - cols], axis=-1)


def distort(
    images: tf.Tensor,
    *,
    shift: float,
    degrees: float,
    zoom: float,
    alpha: float,
    sigma: float,
    seed: keras.random.SeedGenerator,
) -> tf.Tensor:
    """Shift, rotate, zoom and elastically distort ``(N, H, W, 1)`` images in one resampling.

    Adding the affine and the elastic displacements and interpolating once keeps strokes
    sharp: chaining one resampling per transform (as separate Keras layers do) blurs each
    time, and a blurred digit is one the canvas never gives.
    """
    shape = tf.shape(images)
    height, width = int(images.shape[1]), int(images.shape[2])
    fields = affine_fields(shape[0], height, width, shift, degrees, zoom, seed)
    if alpha > 0:
        fields += elastic_fields(shape[0], height, width, alpha, sigma, seed)
    return tf.clip_by_value(warp(images, fields), 0.0, 1.0)


def vary_stroke_width(images: tf.Tensor, max_change: float, seed: keras.random.SeedGenerator) -> tf.Tensor:
    """Widen or narrow each image's strokes by a random amount of up to ``max_change`` pixels.

    The change is uniform in ``[-max_change, max_change]`` (at most 2: a 3x3 dilation or
    erosion moves each edge by one pixel, two in all), made by blending each image
    towards its dilation (wider) or erosion (narrower) by ``|change| / 2``.
    """
    change = keras.random.uniform(
        (tf.shape(images)[0], 1, 1, 1), minval=-max_change, maxval=max_change, seed=seed
    )
    wider = tf.nn.max_pool2d(images, 3, 1, "SAME")
    narrower = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    target = tf.where(change > 0.0, wider, narrower)
    amount = tf.minimum(tf.abs(change) / 2.0, 1.0)
    return images + amount * (target - images)
