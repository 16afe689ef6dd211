"""CSV files: one sample per row, the label first, then the pixels 0..255.

784 pixel columns are read as 28x28 images; any other count as flat features scaled by
their maximum. A header row is optional. Commas, semicolons, tabs or spaces may separate
the values.

The file is read as UTF-8 text and parsed by numpy into float64, never evaluated. A file
that is not text, is empty, has ragged rows, a cell that is not a number, or a value that
is not finite raises :class:`~model.errors.DataError` naming the file and, where one is to
blame, the row and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from model.data._common import IMAGE_SIZE, _RawData
from model.errors import DataError
from model.reading import os_error_reason, read_capped

# A CSV is parsed in memory as float64 (8 bytes a value from a few bytes of text): refuse
# files whose text alone is already too much to hold.
_MAX_CSV_BYTES = 2 * 1024**3

_CSV_SUFFIXES: Final = frozenset({".csv", ".txt", ".tsv"})


def _guess_delimiter(line: str) -> str | None:
    for delimiter in (",", ";", "\t"):
        if delimiter in line:
            return delimiter
    return None  # whitespace-separated


def _split_row(line: str, delimiter: str | None) -> list[str]:
    return line.split(delimiter) if delimiter is not None else line.split()


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _looks_like_header(cells: list[str]) -> bool:
    """A first row is a header when its label cell, or most of its cells, are not numbers.

    Column names such as ``label, 1x1, 1x2`` are text; some exporters name pixel columns
    by number, so a single numeric-looking cell does not make a row data.
    """
    numeric = sum(_is_number(cell) for cell in cells)
    return not _is_number(cells[0]) or numeric * 2 < len(cells)


def _load_csv(path: Path) -> _RawData:
    """A CSV: one sample per row, the label first, then the pixels 0..255.

    784 pixel columns are read as 28x28 images; any other count as flat features scaled
    by their maximum. A header row is optional. Commas, semicolons, tabs or spaces may
    separate the values.
    """
    label = f"the CSV file {path}"
    fix = "each row must be a label followed by the pixel values 0..255, separated by commas"
    try:
        text = read_capped(path, _MAX_CSV_BYTES).decode("utf-8-sig")
    except OSError as exc:
        raise DataError(f"{label} {os_error_reason(exc)}; pick an existing CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{label} is not a text file (not UTF-8); {fix}") from None
    rows = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        raise DataError(f"{label} is empty; {fix}")
    delimiter = _guess_delimiter(rows[0][1])
    if _looks_like_header(_split_row(rows[0][1], delimiter)):
        rows = rows[1:]
        if not rows:
            raise DataError(f"{label} has a header row but no data rows; {fix}")
    width = len(_split_row(rows[0][1], delimiter))
    if width < 2:
        raise DataError(f"{label}: row {rows[0][0]} has a single column; {fix}")
    try:
        table = np.loadtxt(
            [line for _, line in rows], delimiter=delimiter, dtype=np.float64, ndmin=2, comments=None
        )
    except (ValueError, TypeError, OverflowError) as exc:
        _diagnose_csv(label, rows, delimiter, width, fix)
        raise DataError(f"{label} cannot be parsed ({exc}); {fix}") from None
    if table.shape != (len(rows), width):
        raise DataError(f"{label} cannot be parsed into {len(rows)} rows of {width} columns; {fix}")
    if not bool(np.isfinite(table).all()):
        row = int(np.argwhere(~np.isfinite(table))[0][0])
        raise DataError(f"{label}: row {rows[row][0]} holds a value that is not a finite number; {fix}")
    pixels = table[:, 1:]
    flat = pixels.shape[1] != IMAGE_SIZE * IMAGE_SIZE
    x = pixels if flat else pixels.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    return _RawData(x=x, labels=table[:, 0], flat=flat, description=label, location=str(path))


def _diagnose_csv(
    label: str, rows: list[tuple[int, str]], delimiter: str | None, width: int, fix: str
) -> None:
    """Find the first ragged row or non-numeric cell and raise a ``DataError`` naming it."""
    first = rows[0][0]
    for number, line in rows:
        cells = _split_row(line, delimiter)
        if len(cells) != width:
            raise DataError(
                f"{label}: row {number} has {len(cells)} columns but row {first} has {width}; "
                "every row needs the label followed by the same number of pixel values"
            )
        for column, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                shown = cell.strip()[:20] or "an empty cell"
                raise DataError(
                    f"{label}: row {number}, column {column} holds {shown!r}, which is not a number; {fix}"
                )
