"""model.data.npz: Keras-layout archives, every way one can be wrong, and fuzzing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.model.data.helpers import (
    FUZZ,
    assert_data_error,
    cut_strategy,
    edits_strategy,
    images,
    labels,
    load_file,
    load_or_data_error,
    mutate,
    write_npz,
)


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_keras_layout_is_pooled(tmp_path: Path, compressed: bool) -> None:
    ds = load_file(write_npz(tmp_path / "d.npz", compressed=compressed))
    assert ds.x.shape == (15, 28, 28, 1) and ds.x.dtype == np.float32
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert ds.y.dtype == np.int64 and ds.y.tolist() == labels(9).tolist() + labels(6).tolist()
    np.testing.assert_allclose(ds.x[:9, ..., 0], images(9, 1) / 255, rtol=1e-6)
    assert ds.class_names == ("0", "1", "2") and ds.num_classes == 3
    assert ds.input_shape == (28, 28, 1) and len(ds) == 15
    assert ds.name == "file" and str(tmp_path / "d.npz") in ds.source and ds.notice is None


def test_npz_x_y_layout_flat_784_and_one_hot_labels(tmp_path: Path) -> None:
    path = tmp_path / "xy.npz"
    one_hot = np.eye(2, dtype=np.float32)[np.arange(6) % 2]
    np.savez(path, x=images(6).reshape(6, 784), y=one_hot)
    ds = load_file(path)
    assert ds.x.shape == (6, 28, 28, 1) and ds.y.tolist() == [0, 1, 0, 1, 0, 1]


def test_npz_fortran_order_and_big_endian_arrays_read_correctly(tmp_path: Path) -> None:
    path = tmp_path / "fortran.npz"
    x = images(3).astype(">u2")
    np.savez(path, x=np.asfortranarray(x), y=np.array([0, 1, 0], dtype=">i4"))
    ds = load_file(path)
    np.testing.assert_allclose(ds.x[..., 0], x / 255, rtol=1e-6)
    assert ds.y.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("arrays", "fragments"),
    [
        ({"x_train": images(3), "y_train": labels(3), "x_test": images(2)}, ["y_test"]),
        ({"images": images(3)}, ["x_train"]),
        ({"x": images(3), "y": labels(4)}, ["one label per image"]),
        ({"x": images(4), "y": np.array([1, 1, 1, 1])}, ["two classes"]),
        ({"x": images(4), "y": np.array([0.5, 1, 0, 1])}, ["whole numbers"]),
        ({"x": images(4).astype(np.int32) + 1, "y": labels(4)}, ["0..255"]),
        ({"x": np.zeros((0, 28, 28), np.uint8), "y": np.zeros(0, np.uint8)}, ["no samples"]),
        ({"x": np.zeros((2, 2, 2, 2), np.uint8), "y": labels(2)}, ["(N, H, W)"]),
        ({"x_train": images(3), "y_train": labels(3), "x_test": images(2, size=8), "y_test": labels(2)}, ["shapes"]),
    ],
)
def test_npz_content_problems_are_data_errors(tmp_path: Path, arrays: dict, fragments: list[str]) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    assert_data_error(path, str(path), *fragments)


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pickle.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=labels(2))
    assert_data_error(path, "pickled")


def test_npz_not_a_zip_and_truncated(tmp_path: Path) -> None:
    path = tmp_path / "text.npz"
    path.write_text("hello")
    assert_data_error(path, "not a valid .npz", "numpy.savez")
    good = write_npz(tmp_path / "good.npz").read_bytes()
    path.write_bytes(good[: len(good) // 2])
    assert_data_error(path, str(path))


def test_npz_header_claiming_a_huge_array_is_refused(tmp_path: Path) -> None:
    """A damaged header must not make us allocate what it claims."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 28, 28)})
    buffer.write(b"\x00" * 100)
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue())
        archive.writestr("y.npy", buffer.getvalue())
    assert_data_error(path, str(path))


def small_npz_bytes(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, x=images(4, size=4), y=labels(4, 2))
    return buffer.getvalue()


@FUZZ
@given(compressed=st.booleans(), edits=edits_strategy, cut=cut_strategy)
def test_fuzz_damaged_npz_only_raises_data_error(
    tmp_path: Path, compressed: bool, edits: list[tuple[int, int]], cut: int | None
) -> None:
    path = tmp_path / "fuzz.npz"
    path.write_bytes(mutate(small_npz_bytes(compressed), edits, cut))
    load_or_data_error(path)


def test_npz_header_that_numpy_cannot_tokenize_is_a_data_error(tmp_path: Path) -> None:
    """Found by the cache fuzzer: a NUL in the .npy header dict made tokenize raise."""
    blob = bytearray(write_npz(tmp_path / "good.npz").read_bytes())
    blob[134] = 0
    path = tmp_path / "bad_header.npz"
    path.write_bytes(bytes(blob))
    assert_data_error(path, str(path), "not a valid .npz")


def test_data_too_large_for_memory_as_float32_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 1.5 GB npz of zeros, in 1.5 MB: its header is believed only after the checks.
    import model.data._common
    from tests.model.hostile import npz_of_zeros

    path = tmp_path / "zeros.npz"
    npz_of_zeros(path, 2_000_000)
    assert path.stat().st_size < 4 * 10**6
    monkeypatch.setattr(model.data._common, "available_memory", lambda: 8 * 10**9)
    assert_data_error(path, "needs about 14 GB of memory to train on", "has 8.0 GB available", "smaller file")


def test_a_small_file_that_fits_still_loads_when_memory_is_tight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import model.data._common

    monkeypatch.setattr(model.data._common, "available_memory", lambda: 10**6)
    assert len(load_file(write_npz(tmp_path / "d.npz"))) == 15
    monkeypatch.setattr(model.data._common, "available_memory", lambda: 10**3)
    assert_data_error(write_npz(tmp_path / "e.npz"), "of memory to train on")


def test_a_named_pipe_or_a_device_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    from tests.model.test_reading import in_a_thread

    for name in ("pipe.npz", "pipe.csv", "pipe"):
        os.mkfifo(tmp_path / name)
        error = in_a_thread(lambda n=name: load_file(tmp_path / n))["error"]
        assert "named pipe (FIFO), not a regular file" in str(error), error
    assert_data_error(Path("/dev/zero"), "character device")
