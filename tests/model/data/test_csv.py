"""model.data.csv: label-then-pixels tables, every way one can be wrong, and fuzzing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.model.data.helpers import (
    FUZZ,
    assert_data_error,
    csv_rows,
    cut_strategy,
    edits_strategy,
    load_file,
    load_or_data_error,
    mutate,
    write_csv,
)


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


def small_csv_bytes() -> bytes:
    return b"label,p1,p2,p3\n0,0,128,255\n1,3,4,5\n0,9,9,9\n"


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
