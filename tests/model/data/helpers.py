"""Shared helpers for the model.data tests: tiny synthetic files and how to load them.

Everything is written to ``tmp_path``; nothing here imports Qt, TensorFlow or Keras.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image

from model.config import DataSpec
from model.data import Dataset, load_dataset
from model.errors import DataError


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


FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def mutate(blob: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(blob)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


edits_strategy = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6)


cut_strategy = st.none() | st.integers(0, 2_000)
