"""model.data.idx: folders of MNIST IDX files, plain or gzipped, damaged or not."""

from __future__ import annotations

import gzip
import struct
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
    write_idx,
    write_idx_folder,
)


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


def small_idx_bytes() -> dict[str, bytes]:
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 4, 3, 3)
    return {
        "train-images-idx3-ubyte": header + images(4, size=3).tobytes(),
        "train-labels-idx1-ubyte": bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes([0, 1, 0, 1]),
    }


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
@given(
    blob=st.binary(max_size=400),
    which=st.sampled_from(["images", "labels"]),
    layer=st.sampled_from(["plain", "gz-name", "gzipped"]),
)
def test_fuzz_random_bytes_in_an_idx_file_only_raise_data_error(
    tmp_path: Path, blob: bytes, which: str, layer: str
) -> None:
    """Whatever bytes one file of a pair holds (raw, misnamed .gz, or truly gzipped)."""
    folder = tmp_path / "random_idx"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(exist_ok=True)
    for name, good in small_idx_bytes().items():
        content = blob if which in name else good
        if layer == "gzipped":
            content = gzip.compress(content, mtime=0)
        (folder / (name + ("" if layer == "plain" else ".gz"))).write_bytes(content)
    load_or_data_error(folder)
