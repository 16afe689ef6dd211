"""model.data.files: a picked path goes to the right reader, or to a DataError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.model.data.helpers import (
    FUZZ,
    assert_data_error,
    load_or_data_error,
)


def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    assert_data_error(tmp_path / "nope.npz", "does not exist")
    other = tmp_path / "model.h5"
    other.write_bytes(b"\x89HDF\r\n")
    assert_data_error(other, "not a supported data file")


@FUZZ
@given(blob=st.binary(max_size=600))
def test_fuzz_random_bytes_only_raise_data_error(tmp_path: Path, blob: bytes) -> None:
    for name in ("random.npz", "random.csv", "random.bin"):
        (tmp_path / name).write_bytes(blob)
        load_or_data_error(tmp_path / name)
