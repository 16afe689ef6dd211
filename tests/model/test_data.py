"""Tests for model.data: every reader, every way a file can be wrong, splitting, fallbacks.

All data is tiny and synthetic, written to ``tmp_path``; only the last test reads the real
MNIST file beside the project. Nothing here imports Qt, TensorFlow or Keras.
"""

from __future__ import annotations

import gzip
import io
import socket
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from model import data
from model.config import DataSpec, SplitSpec
from model.data import (
    DIGIT_CLASS_NAMES,
    FASHION_CLASS_NAMES,
    Dataset,
    load_dataset,
    split_dataset,
    to_model_input,
)
from model.errors import DataError, ProjectError

ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------- helpers


def images(n: int, seed: int = 0, size: int = 28) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size), dtype=np.uint8)


def labels(n: int, k: int = 3) -> np.ndarray:
    return (np.arange(n) % k).astype(np.uint8)


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False, type_code: int = 0x08) -> Path:
    """An IDX file as LeCun describes it: 00 00 type ndim, big-endian dims, the values."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(">u1" if type_code == 0x08 else array.dtype).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_idx_folder(folder: Path, *, gz: bool = False, n_train: int = 9, n_test: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte", images(n_train, 1), gz=gz)
    write_idx(folder / "train-labels-idx1-ubyte", labels(n_train), gz=gz)
    write_idx(folder / "t10k-images-idx3-ubyte", images(n_test, 2), gz=gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", labels(n_test), gz=gz)
    return folder


def write_npz(path: Path, *, compressed: bool = False, n_train: int = 9, n_test: int = 6, **extra: object) -> Path:
    arrays: dict[str, object] = {
        "x_train": images(n_train, 1),
        "y_train": labels(n_train),
        "x_test": images(n_test, 2),
        "y_test": labels(n_test),
    }
    arrays.update(extra)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    (np.savez_compressed if compressed else np.savez)(path, **arrays)  # type: ignore[operator]
    return path


def write_csv(path: Path, rows: np.ndarray, *, header: bool = False) -> Path:
    lines = []
    if header:
        lines.append(",".join(["label"] + [f"pixel{i}" for i in range(rows.shape[1] - 1)]))
    lines += [",".join(str(int(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_rows(n: int, pixels: int = 784, k: int = 3) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.column_stack([np.arange(n) % k, rng.integers(0, 256, size=(n, pixels))])


def load_file(path: Path) -> Dataset:
    return load_dataset(DataSpec(name="file", path=str(path)), allow_download=False)


def load_or_data_error(path: Path) -> None:
    """Loading may succeed or raise DataError; any other exception fails the test."""
    try:
        ds = load_file(path)
    except DataError as exc:
        assert str(exc)
    else:
        assert ds.x.dtype == np.float32 and len(ds) == len(ds.y)


def assert_data_error(path: Path, *fragments: str) -> DataError:
    with pytest.raises(DataError) as info:
        load_file(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return info.value


@pytest.fixture
def no_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras home, so MNIST can be found only where a test puts it."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def refuse_download(name: str) -> None:
        # pytest.fail raises a BaseException, which the loader's fallback cannot swallow.
        pytest.fail(f"a test tried to download {name}")

    monkeypatch.setattr(data, "_download_with_keras", refuse_download)
    return home


# ----------------------------------------------------------------------------- scaling


def test_to_model_input_scales_uint8_and_adds_a_channel() -> None:
    raw = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = to_model_input(raw)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(out[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    assert to_model_input(raw[..., None]).shape == (1, 2, 2, 1)


def test_to_model_input_keeps_unit_floats_and_scales_0_255_floats() -> None:
    unit = np.full((2, 3, 3), 0.5, dtype=np.float64)
    np.testing.assert_allclose(to_model_input(unit), 0.5)
    np.testing.assert_allclose(to_model_input(unit * 255), 0.5)
    ints = np.full((1, 3, 3), 255, dtype=np.int64)
    np.testing.assert_allclose(to_model_input(ints), 1.0)


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((28, 28), np.uint8), "shape"),
        (np.zeros((2, 28, 28, 3), np.uint8), "shape"),
        (np.full((1, 2, 2), 256, np.int32), "0..255"),
        (np.full((1, 2, 2), -1.0), "0..255"),
        (np.full((1, 2, 2), np.nan), "NaN"),
        (np.array([[["a"]]]), "numbers"),
    ],
)
def test_to_model_input_rejects_bad_images(array: np.ndarray, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment) as info:
        to_model_input(array, source="canvas")
    assert "canvas" in str(info.value)


# ----------------------------------------------------------------------------- npz


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


def test_dataset_refuses_malformed_arrays() -> None:
    with pytest.raises(DataError, match="float32"):
        Dataset("file", np.zeros((2, 3)), np.array([0, 1]), ("a", "b"), "toy")
    with pytest.raises(DataError, match="one label per sample"):
        Dataset("file", np.zeros((2, 3), np.float32), np.array([0, 1, 1]), ("a", "b"), "toy")


def test_labels_are_remapped_to_indices_and_named(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=images(4), y=np.array([7, 3, 7, 3]))
    ds = load_file(path)
    assert ds.class_names == ("3", "7") and ds.y.tolist() == [1, 0, 1, 0]


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


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_is_pooled(tmp_path: Path, gz: bool) -> None:
    ds = load_file(write_idx_folder(tmp_path / "idx", gz=gz))
    assert ds.x.shape == (15, 28, 28, 1)
    np.testing.assert_allclose(ds.x[9:, ..., 0], images(6, 2) / 255, rtol=1e-6)
    assert ds.y.tolist() == labels(9).tolist() + labels(6).tolist()
    assert "IDX" in ds.source


def test_idx_dotted_names_and_a_single_part(tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder / "train-images.idx3-ubyte", images(5))
    write_idx(folder / "train-labels.idx1-ubyte", labels(5))
    assert len(load_file(folder)) == 5


def test_idx_bad_magic(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34" + path.read_bytes()[2:])
    assert_data_error(folder, str(path), "magic")


def test_idx_wrong_dimensions_and_type_code(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    write_idx(folder / "train-labels-idx1-ubyte", images(9))
    assert_data_error(folder, "train-labels-idx1-ubyte", "dimensions")
    folder = write_idx_folder(tmp_path / "idx2")
    path = folder / "t10k-labels-idx1-ubyte"
    raw = bytearray(path.read_bytes())
    raw[2] = 0x42
    path.write_bytes(bytes(raw))
    assert_data_error(folder, "t10k-labels-idx1-ubyte", "type code")


def test_idx_size_mismatch_is_caught_from_the_header(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    assert_data_error(folder, str(path), "truncated")


@pytest.mark.parametrize("gz", [False, True])
def test_idx_absurd_header_sizes_do_not_allocate(tmp_path: Path, gz: bool) -> None:
    folder = write_idx_folder(tmp_path / "idx", gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**16, 2**16)
    payload = header + b"\x00" * 64
    (folder / name).write_bytes(gzip.compress(payload) if gz else payload)
    assert_data_error(folder, name, "bytes")


def test_idx_truncated_gz(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx", gz=True)
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    assert_data_error(folder, str(path))


def test_idx_label_image_count_mismatch(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    write_idx(folder / "train-labels-idx1-ubyte", labels(8))
    assert_data_error(folder, "9 images", "8 labels")


def test_idx_pair_with_a_missing_file(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "idx")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    assert_data_error(folder, "t10k-labels-idx1-ubyte")


# ----------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("header", [False, True])
def test_csv_784_columns_are_images(tmp_path: Path, header: bool) -> None:
    rows = csv_rows(7)
    ds = load_file(write_csv(tmp_path / "d.csv", rows, header=header))
    assert ds.x.shape == (7, 28, 28, 1) and ds.y.tolist() == (np.arange(7) % 3).tolist()
    np.testing.assert_allclose(ds.x.reshape(7, -1), rows[:, 1:] / 255, rtol=1e-6)


def test_csv_other_widths_are_flat_and_scaled_by_the_max(tmp_path: Path) -> None:
    rows = np.array([[0, 0, 8, 16], [1, 4, 2, 0], [1, 16, 16, 16]])
    ds = load_file(write_csv(tmp_path / "flat.csv", rows))
    assert ds.x.shape == (3, 3) and ds.input_shape == (3,)
    np.testing.assert_allclose(ds.x, rows[:, 1:] / 16)


def test_csv_semicolons_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("label;a;b\n\n0;1;2\n1;3;4\n")
    assert load_file(path).x.shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("0,1,2\n1,x,3\n", ["row 2", "column 2", "'x'", "not a number"]),
        ("0,1,2\n1,2\n", ["row 2", "2 columns", "3"]),
        ("0,1,2\n1,2,\n", ["row 2", "column 3"]),
        ("0,1,300\n1,2,3\n", ["0..255"]),
        ("0,1,-2\n1,2,3\n", ["0..255"]),
        ("0,1,nan\n1,2,3\n", ["finite"]),
        ("0.5,1,2\n1,2,3\n", ["whole numbers"]),
        ("1,1,2\n1,2,3\n", ["two classes"]),
        ("", ["empty"]),
        ("label,a,b\n", ["no data rows"]),
        ("1\n2\n", ["single column"]),
    ],
)
def test_csv_problems_are_data_errors(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert_data_error(path, str(path), *fragments)


def test_csv_that_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81" * 10)
    assert_data_error(path, "not a text file")


# ----------------------------------------------------------------------------- images


def write_image_folder(root: Path) -> Path:
    rng = np.random.default_rng(4)
    for name, count in (("cat", 3), ("ant", 2)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / name / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(root / "cat" / "big.JPG")
    Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(root / "ant" / "small.bmp")
    (root / "ant" / "readme.txt").write_text("not an image")
    return root


def test_image_folder_classes_are_sorted_subfolders(tmp_path: Path) -> None:
    ds = load_file(write_image_folder(tmp_path / "imgs"))
    assert ds.class_names == ("ant", "cat")
    assert ds.x.shape == (7, 28, 28, 1) and sorted(ds.y.tolist()) == [0, 0, 0, 1, 1, 1, 1]
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0 and ds.notice is None


def test_image_folder_skips_undecodable_files_with_a_notice(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "imgs")
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ds = load_file(root)
    assert len(ds) == 7 and ds.notice is not None and "broken.png" in ds.notice


def test_image_folder_without_subfolders_or_readable_images(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(images(1)[0]).save(flat / "a.png")
    assert_data_error(flat, str(flat), "sub-folder")
    broken = tmp_path / "broken"
    for name in ("a", "b"):
        (broken / name).mkdir(parents=True)
        (broken / name / "x.png").write_bytes(b"not a png")
    assert_data_error(broken, "no readable", "could not be decoded")


def test_image_folder_with_one_class_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "one"
    (root / "only").mkdir(parents=True)
    Image.fromarray(images(1)[0]).save(root / "only" / "a.png")
    (root / "empty").mkdir()
    assert_data_error(root, "two classes")


# ----------------------------------------------------------------------------- dispatch


def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    assert_data_error(tmp_path / "nope.npz", "does not exist")
    other = tmp_path / "model.h5"
    other.write_bytes(b"\x89HDF\r\n")
    assert_data_error(other, "not a supported data file")


def test_every_data_error_is_a_project_error() -> None:
    assert issubclass(DataError, ProjectError)


# ----------------------------------------------------------------------------- MNIST sources


def test_mnist_from_a_picked_file_gets_digit_names(tmp_path: Path, no_keras_cache: Path) -> None:
    path = write_npz(tmp_path / "mnist.npz", y_train=np.arange(9) % 10)
    ds = load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)
    assert ds.name == "mnist" and ds.class_names == DIGIT_CLASS_NAMES
    assert ds.source == f"MNIST from {path}" and ds.notice is None


def test_mnist_from_a_picked_file_checks_labels_and_size(tmp_path: Path, no_keras_cache: Path) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, x=images(4), y=np.array([0, 1, 12, 3]))
    with pytest.raises(DataError, match=r"0\.\.9.*12"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)
    np.savez(path, x=images(4, size=8), y=labels(4))
    with pytest.raises(DataError, match="28x28"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)


def test_a_broken_picked_mnist_file_is_an_error_not_a_fallback(tmp_path: Path, no_keras_cache: Path) -> None:
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)


def test_mnist_from_the_keras_cache(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    write_npz(no_keras_cache / "datasets" / "mnist.npz")
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert len(ds) == 15 and "Keras cache" in ds.source and ds.notice is None


def test_fashion_mnist_from_the_keras_cache_has_fashion_names(no_keras_cache: Path) -> None:
    write_idx_folder(no_keras_cache / "datasets" / "fashion-mnist", gz=True)
    ds = load_dataset(DataSpec(name="fashion_mnist"), allow_download=False)
    assert ds.name == "fashion_mnist" and ds.class_names == FASHION_CLASS_NAMES
    assert ds.class_names[0] == "T-shirt/top" and len(ds) == 15


def test_mnist_offline_without_a_copy_falls_back_to_digits(no_keras_cache: Path) -> None:
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert ds.name == "digits" and ds.x.shape == (1797, 28, 28, 1)
    assert ds.notice is not None and "offline digits" in ds.notice and "mnist.npz" in ds.notice


def test_failed_download_falls_back_with_the_promised_notice(
    no_keras_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def no_network(name: str) -> None:
        calls.append(name)
        raise OSError("Name or service not known")

    monkeypatch.setattr(data, "_download_with_keras", no_network)
    ds = load_dataset(DataSpec(name="mnist"))
    assert calls == ["mnist"] and ds.name == "digits"
    assert ds.notice is not None and ds.notice.startswith(
        "MNIST could not be downloaded (no network?) and no local copy was found; using the "
        "built-in offline digits (scikit-learn's 8x8 digits resized to 28x28). To use MNIST, "
        "pick a mnist.npz file or connect to the internet."
    )


def test_corrupt_cache_falls_back_and_says_why(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    (no_keras_cache / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert ds.name == "digits" and ds.notice is not None and "cached copy" in ds.notice


def test_keras_cache_dirs_follow_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data.keras_cache_dirs()[0] == tmp_path / "datasets"


def test_download_socket_timeout_is_restored_even_on_failure() -> None:
    before = socket.getdefaulttimeout()

    def fail() -> None:
        assert socket.getdefaulttimeout() == 3.0
        raise OSError("offline")

    with pytest.raises(OSError):
        data._with_socket_timeout(fail, 3.0)
    assert socket.getdefaulttimeout() == before


def test_importing_and_loading_digits_does_not_start_keras() -> None:
    code = (
        "import sys; from model.data import load_dataset; from model.config import DataSpec; "
        "load_dataset(DataSpec(name='digits')); "
        "bad = [m for m in ('keras', 'tensorflow', 'PySide6') if m in sys.modules]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_digits_are_28x28_in_unit_range() -> None:
    ds = load_dataset(DataSpec(name="digits"))
    assert ds.x.shape == (1797, 28, 28, 1) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.class_names == DIGIT_CLASS_NAMES and np.bincount(ds.y).min() > 170
    # Drawn the MNIST way: a 4-pixel empty margin, like the 20x20 box in a 28x28 field.
    assert ds.x[:, :2].max() == 0.0 and ds.x[:, :, :2].max() == 0.0
    assert ds.notice is None


# ----------------------------------------------------------------------------- splitting


def toy_dataset(n_per_class: tuple[int, ...] = (60, 30, 10), flat: bool = False) -> Dataset:
    y = np.concatenate([np.full(n, k) for k, n in enumerate(n_per_class)]).astype(np.int64)
    shape = (len(y), 5) if flat else (len(y), 4, 4, 1)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    x.reshape(len(y), -1)[:, 0] = np.arange(len(y)) / len(y)  # a per-sample tag
    return Dataset("file", x, y, tuple(str(k) for k in range(len(n_per_class))), "toy")


def test_stratified_split_keeps_class_proportions() -> None:
    ds = toy_dataset()
    split = split_dataset(ds, SplitSpec(train=0.6, validation=0.2, test=0.2), seed=1)
    counts = split.counts()
    assert counts["train"].tolist() == [36, 18, 6]
    assert counts["validation"].tolist() == [12, 6, 2] and counts["test"].tolist() == [12, 6, 2]
    assert split.describe() == "train 60 · validation 20 · test 20" and split.notice is None
    assert split.class_names == ds.class_names


def test_split_parts_are_disjoint_and_cover_the_dataset() -> None:
    ds = toy_dataset()
    split = split_dataset(ds, SplitSpec(), seed=3)
    tags = np.concatenate([p[:, 0, 0, 0] for p in (split.x_train, split.x_val, split.x_test)])
    assert sorted(tags.tolist()) == sorted(ds.x[:, 0, 0, 0].tolist())
    assert sum(int(c.sum()) for c in split.counts().values()) == len(ds)


def test_split_is_deterministic_for_a_seed_and_differs_for_another() -> None:
    ds = toy_dataset()
    a = split_dataset(ds, SplitSpec(), seed=7)
    b = split_dataset(ds, SplitSpec(), seed=7)
    c = split_dataset(ds, SplitSpec(), seed=8)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_test, c.x_test)


def test_empty_validation_and_test_keep_their_trailing_shape() -> None:
    ds = toy_dataset(flat=True)
    split = split_dataset(ds, SplitSpec(train=1.0, validation=0.0, test=0.0), seed=0)
    assert split.x_train.shape == (100, 5)
    assert split.x_val.shape == (0, 5) and split.x_test.shape == (0, 5)
    assert split.y_val.shape == (0,) and split.y_val.dtype == np.int64
    assert split.describe() == "train 100 · validation 0 · test 0"
    assert split.counts()["test"].tolist() == [0, 0, 0]


def test_limit_keeps_a_stratified_subset() -> None:
    ds = toy_dataset((200, 100, 100))
    split = split_dataset(ds, SplitSpec(train=0.5, validation=0.25, test=0.25), seed=0, limit=40)
    counts = split.counts()
    assert sum(int(c.sum()) for c in counts.values()) == 40
    assert (counts["train"] + counts["validation"] + counts["test"]).tolist() == [20, 10, 10]
    assert len(split_dataset(ds, SplitSpec(), seed=0, limit=10_000).y_train) == 320


def test_unstratifiable_split_falls_back_with_a_notice() -> None:
    ds = toy_dataset((20, 1, 2))
    split = split_dataset(ds, SplitSpec(train=0.8, validation=0.1, test=0.1), seed=0)
    assert split.notice is not None and "stratified" in split.notice
    assert len(split.y_train) + len(split.y_val) + len(split.y_test) == 23


def test_unstratified_split_needs_no_notice() -> None:
    split = split_dataset(toy_dataset((20, 1, 2)), SplitSpec(stratified=False), seed=0)
    assert split.notice is None


def test_split_too_small_and_bad_limit_are_data_errors() -> None:
    tiny = Dataset("file", np.zeros((2, 3), np.float32), np.array([0, 1]), ("a", "b"), "toy")
    with pytest.raises(DataError, match="too few"):
        split_dataset(tiny, SplitSpec(train=0.5, validation=0.25, test=0.25), seed=0)
    with pytest.raises(DataError, match="limit"):
        split_dataset(toy_dataset(), SplitSpec(), seed=0, limit=0)


# ----------------------------------------------------------------------------- fuzzing

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def small_npz_bytes(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, x=images(4, size=4), y=labels(4, 2))
    return buffer.getvalue()


def small_idx_bytes() -> dict[str, bytes]:
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 4, 3, 3)
    return {
        "train-images-idx3-ubyte": header + images(4, size=3).tobytes(),
        "train-labels-idx1-ubyte": bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes([0, 1, 0, 1]),
    }


def small_csv_bytes() -> bytes:
    return b"label,p1,p2,p3\n0,0,128,255\n1,3,4,5\n0,9,9,9\n"


def mutate(blob: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(blob)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


edits_strategy = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6)
cut_strategy = st.none() | st.integers(0, 2_000)


@FUZZ
@given(blob=st.binary(max_size=600))
def test_fuzz_random_bytes_only_raise_data_error(tmp_path: Path, blob: bytes) -> None:
    for name in ("random.npz", "random.csv", "random.bin"):
        (tmp_path / name).write_bytes(blob)
        load_or_data_error(tmp_path / name)


@FUZZ
@given(compressed=st.booleans(), edits=edits_strategy, cut=cut_strategy)
def test_fuzz_damaged_npz_only_raises_data_error(
    tmp_path: Path, compressed: bool, edits: list[tuple[int, int]], cut: int | None
) -> None:
    path = tmp_path / "fuzz.npz"
    path.write_bytes(mutate(small_npz_bytes(compressed), edits, cut))
    load_or_data_error(path)


@FUZZ
@given(gz=st.booleans(), which=st.sampled_from(["images", "labels"]), edits=edits_strategy, cut=cut_strategy)
def test_fuzz_damaged_idx_only_raises_data_error(
    tmp_path: Path, gz: bool, which: str, edits: list[tuple[int, int]], cut: int | None
) -> None:
    folder = tmp_path / "fuzz_idx"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(exist_ok=True)
    for name, blob in small_idx_bytes().items():
        if gz:
            blob = gzip.compress(blob, mtime=0)
        if which in name:
            blob = mutate(blob, edits, cut)
        (folder / (name + (".gz" if gz else ""))).write_bytes(blob)
    load_or_data_error(folder)


@FUZZ
@given(edits=edits_strategy, cut=cut_strategy)
def test_fuzz_damaged_csv_only_raises_data_error(tmp_path: Path, edits: list[tuple[int, int]], cut: int | None) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(mutate(small_csv_bytes(), edits, cut))
    load_or_data_error(path)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from("0123456789,;.-\n e+naxi\t"), max_size=200))
def test_fuzz_csv_like_text_only_raises_data_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz_text.csv"
    path.write_text(text)
    load_or_data_error(path)


# ----------------------------------------------------------------------------- real MNIST


def test_real_mnist_file_pools_70000_images(mnist_path: Path) -> None:
    ds = load_dataset(DataSpec(name="mnist", path=str(mnist_path)), allow_download=False)
    assert ds.x.shape == (70000, 28, 28, 1) and ds.y.shape == (70000,)
    assert ds.num_classes == 10 and ds.class_names == DIGIT_CLASS_NAMES
    assert ds.x.dtype == np.float32 and float(ds.x.max()) == 1.0 and float(ds.x.min()) == 0.0
    assert ds.source == f"MNIST from {mnist_path}" and ds.notice is None
    split = split_dataset(ds, SplitSpec(), seed=0, limit=1000)
    assert split.describe() == "train 800 · validation 100 · test 100"
    assert split.counts()["train"].min() >= 60


def test_official_test_split_uses_the_sources_own_test_set(mnist_path: Path) -> None:
    from model.config import DataSpec, SplitSpec

    ds = load_dataset(DataSpec(name="mnist", path=str(mnist_path)))
    assert ds.n_official_test == 10_000
    split = split_dataset(ds, SplitSpec(train=0.75, validation=0.1, test=0.15, official_test=True), seed=1)
    with np.load(mnist_path) as raw:
        assert np.array_equal(split.y_test, raw["y_test"].astype(np.int64))
    assert len(split.y_val) == round(60_000 * 0.1 / 0.85)
    assert len(split.y_train) + len(split.y_val) == 60_000
    # Without the flag the same fractions apply to the pooled 70,000.
    pooled = split_dataset(ds, SplitSpec(train=0.75, validation=0.1, test=0.15), seed=1)
    assert len(pooled.y_test) == 10_500
