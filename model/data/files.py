"""A file or folder the user picked: choose the reader from what is there.

A folder holding any of the MNIST IDX files is read by :mod:`.idx`, any other folder as
class folders of images (:mod:`.images`). A file is read by its suffix (``.npz`` by
:mod:`.npz`; ``.csv``, ``.txt``, ``.tsv`` by :mod:`.csv`), else by its first bytes (a zip
is taken for an ``.npz``). The path is untrusted like the file: one that does not exist,
cannot be read, or holds nothing supported raises :class:`~model.errors.DataError` that
lists what is supported.
"""

from __future__ import annotations

import stat
from pathlib import Path

from model.data._common import _RawData
from model.data.csv import _CSV_SUFFIXES, _load_csv
from model.data.idx import _has_idx_files, _load_idx_folder
from model.data.images import _load_image_folder
from model.data.npz import _load_npz
from model.errors import DataError, clip, shorten
from model.reading import open_regular, os_error_reason


def _load_path(path: Path) -> _RawData:
    """Read a user-picked file or folder, choosing the reader from what is there."""
    try:
        is_folder = stat.S_ISDIR(path.stat().st_mode)
    except OSError as exc:
        raise DataError(f"{clip(str(path), 1000)} {os_error_reason(exc)}; pick an existing data file or folder") from None
    except ValueError:  # a NUL character in the path
        raise DataError(f"{shorten(str(path), 200)} is not a valid path; pick an existing data file or folder") from None
    if is_folder:
        if _has_idx_files(path):
            return _load_idx_folder(path)
        return _load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix in _CSV_SUFFIXES:
        return _load_csv(path)
    try:
        with open_regular(path) as stream:
            magic = stream.read(4)
    except OSError as exc:
        raise DataError(f"{path} {os_error_reason(exc)}; pick a data file or folder") from None
    if magic[:2] == b"PK":
        return _load_npz(path)
    raise DataError(
        f"{path} is not a supported data file; pick a .npz (Keras layout), a .csv "
        "(label then pixels), a folder with the MNIST IDX files, or a folder with one "
        "sub-folder of images per class"
    )
