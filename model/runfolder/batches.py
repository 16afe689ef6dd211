"""``batches.npz``: a run's batch-level history, beside ``history.csv``.

A plain, uncompressed numpy archive (``np.savez``), readable without this project
(``np.load(path)``, no pickles), holding:

``format``
    ``1``, the version of this layout;
``layer_names``
    the layers with weights (a unicode array), as in ``history.csv``'s columns;
``step``, ``epoch``, ``batch``
    int64 per reported batch, 0-based; ``step`` counts over the whole run and increases;
``loss``, ``accuracy``, ``learning_rate``
    per reported batch (float32, float32, float64);
``grad_norms``, ``weight_norms``, ``update_ratios``, ``dead_shares``, ``saturated_shares``
    float32, one row per reported batch and one column per layer, NaN where not
    measured (see :class:`model.events.BatchRecord`);
``lr_change_steps``, ``lr_change_rates``
    the learning-rate changes (:func:`model.batches.learning_rate_changes`): the step
    of the first batch at a new rate, and the rate. They follow from the
    ``learning_rate`` column and are kept for readers that want the markers only.

The run's save and its per-epoch autosave rewrite the file whole and atomically, so it
always holds one consistent history: the cost is a plain write of the rows so far
(about 120 bytes a row for four layers; ``bench/train_overhead.py`` times it).

The reader treats the file as hostile: it is opened as a zip archive first, and every
member is checked (known name, numpy header, dtype, a shape that fits the bytes the
member says it holds) before any array is allocated, so a damaged, hand-made or
enormous file raises :class:`~model.errors.ModelFileError` naming the file and never
costs more memory than its own declared size. Run folders written before this file
existed have none; they open without batch curves.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from pathlib import Path
from typing import Any, Final

import numpy as np

from model.batches import (
    LAYER_COLUMNS,
    SCALAR_COLUMNS,
    STEP_COLUMNS,
    BatchHistory,
    column_dtype,
    learning_rate_changes,
)
from model.errors import ModelFileError
from model.fileio import write_with_atomic

FORMAT: Final = 1
MAX_BYTES: Final = 4 * 1024**3
"""The most a batch history may take unpacked (a few million batches); larger files are refused."""
MAX_LAYERS: Final = 10_000
MAX_NAME_LENGTH: Final = 200

_COLUMNS: Final = (*STEP_COLUMNS, *SCALAR_COLUMNS, *LAYER_COLUMNS)
_MARKER_DTYPES: Final = {"lr_change_steps": np.dtype(np.int64), "lr_change_rates": np.dtype(np.float64)}
_MEMBERS: Final = frozenset({"format", "layer_names", *_COLUMNS, *_MARKER_DTYPES})


def write_batches(path: Path, history: BatchHistory) -> None:
    """Write ``history`` to ``path`` atomically (the previous file stays whole if this fails)."""
    changes = learning_rate_changes(history.step, history.learning_rate)
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT, dtype=np.int64),
        "layer_names": np.array(history.layer_names, dtype=np.str_).reshape(len(history.layer_names)),
        **history.columns(),
        "lr_change_steps": np.array([step for step, _ in changes], dtype=np.int64),
        "lr_change_rates": np.array([rate for _, rate in changes], dtype=np.float64),
    }

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    write_with_atomic(path, save, suffix=".npz")


def read_batches(path: Path, source: str = "batches.npz") -> BatchHistory:
    """The batch history in ``path``.

    Raises:
        ModelFileError: naming ``source`` and what is wrong with the file.
    """
    try:
        arrays = _read_checked(path)
        history = _history(arrays)
    except (OSError, ValueError, EOFError, KeyError, TypeError, NotImplementedError, MemoryError,
            zipfile.BadZipFile, zlib.error) as exc:  # fmt: skip
        # NotImplementedError and zlib.error: zipfile's words for a damaged header or compression method.
        raise ModelFileError(
            f"{source}: not a batch history written by this app ({exc}); remove the file to open the run without its batch curves"
        ) from None
    return history


def _read_checked(path: Path) -> dict[str, np.ndarray]:
    """Every member of the archive, each checked before its data is read."""
    # The file is opened here, not by np.load, which leaks it when the archive is damaged.
    with open(path, "rb") as handle, zipfile.ZipFile(handle) as archive:
        infos = archive.infolist()
        names = [info.filename.removesuffix(".npy") for info in infos]
        unknown = sorted(set(names) - _MEMBERS)
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"unexpected members {unknown[:3] or 'repeated'}")
        missing = sorted(_MEMBERS - set(names))
        if missing:
            raise ValueError(f"missing {', '.join(missing[:3])}")
        if sum(info.file_size for info in infos) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES // 1024**3} GiB unpacked")
        arrays = {}
        for info, name in zip(infos, names, strict=True):
            with archive.open(info) as member:
                _check_header(member, name, info.file_size)
            with archive.open(info) as member:
                arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def _check_header(member: Any, name: str, size: int) -> None:
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"{name}: numpy format {version} is not supported")
    if dtype.hasobject:
        raise ValueError(f"{name}: holds Python objects")
    expected = _expected_kind(name)
    if dtype.kind != expected:
        raise ValueError(f"{name}: dtype {dtype} is not of kind {expected!r}")
    if any(d < 0 for d in shape) or math.prod(shape) * dtype.itemsize > size:
        raise ValueError(f"{name}: shape {shape} does not fit its {size} bytes")


def _expected_kind(name: str) -> str:
    if name == "layer_names":
        return "U"
    if name == "format":
        return "i"
    dtype = _MARKER_DTYPES.get(name) or column_dtype(name)
    return str(dtype.kind)


def _history(arrays: dict[str, np.ndarray]) -> BatchHistory:
    version = arrays["format"]
    if version.shape != () or int(version) != FORMAT:
        raise ValueError(f"format {version.tolist()!r} is not {FORMAT}")
    names = arrays["layer_names"]
    if names.ndim != 1 or len(names) > MAX_LAYERS or any(not 0 < len(str(n)) <= MAX_NAME_LENGTH for n in names):
        raise ValueError("the layer names are not a list of short names")
    history = BatchHistory.from_columns(tuple(str(n) for n in names), {k: arrays[k] for k in _COLUMNS})
    if len(history):
        if np.any(np.diff(history.step) <= 0) or history.step[0] < 0:
            raise ValueError("the steps do not increase from 0 or more")
        if np.any(history.epoch < 0) or np.any(np.diff(history.epoch) < 0) or np.any(history.batch < 0):
            raise ValueError("the epochs or batches are out of order")
    steps, rates = arrays["lr_change_steps"], arrays["lr_change_rates"]
    expected = learning_rate_changes(history.step, history.learning_rate)
    if steps.shape != (len(expected),) or rates.shape != (len(expected),) or steps.tolist() != [s for s, _ in expected]:
        raise ValueError("the learning-rate changes do not match the learning_rate column")
    return history


def batches_csv(history: BatchHistory) -> str:
    """The batch history as CSV text: one row per reported batch, one column per figure and layer.

    Columns: ``step``, ``epoch`` and ``batch`` (from 1, as in ``history.csv``), ``loss``,
    ``accuracy``, ``learning_rate``, then for each layer ``grad_norm_<layer>``,
    ``weight_norm_<layer>``, ``update_ratio_<layer>``, ``dead_share_<layer>`` and
    ``saturated_share_<layer>`` (empty where not measured).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    prefixes = ("grad_norm", "weight_norm", "update_ratio", "dead_share", "saturated_share")
    header = ["step", "epoch", "batch", *SCALAR_COLUMNS]
    header += [f"{prefix}_{name}" for prefix in prefixes for name in history.layer_names]
    writer.writerow(header)

    def short(value: np.float32) -> str:
        # float32's shortest round-trip text ("0.1", not 0.10000000149011612).
        return str(value) if np.isfinite(value) else ""

    per_layer = [getattr(history, column) for column in LAYER_COLUMNS]
    for i in range(len(history)):
        row = [str(int(history.step[i])), str(int(history.epoch[i]) + 1), str(int(history.batch[i]) + 1)]
        row += [str(history.loss[i]), str(history.accuracy[i]), repr(float(history.learning_rate[i]))]
        for column in per_layer:
            row += [short(v) for v in column[i]]
        writer.writerow(row)
    return out.getvalue()
