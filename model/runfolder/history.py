"""``history.csv``: one row per epoch, written by the run and read back when it is opened.

Columns: ``epoch`` (from 1), ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` (empty
without validation, or for a partial epoch), ``learning_rate``, ``seconds``,
``samples_per_second``, a ``grad_norm_<layer>`` and a ``weight_norm_<layer>`` per layer
with weights, ``partial`` (``1`` for an epoch cut short, else ``0``) and ``note`` (text for
people). Files written before the ``partial`` column existed are still read: there the
note was the only sign of a partial epoch, so it is read from the note.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import numpy as np

from model.errors import ModelFileError
from model.events import EpochRecord

_FIXED_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "samples_per_second")
# What the run wrote into the note of a cut-short epoch before the partial column existed.
_LEGACY_PARTIAL_NOTE = "partial epoch"


def history_csv(history: Sequence[EpochRecord], layer_names: Sequence[str]) -> str:
    """The epoch history as CSV text (epochs numbered from 1)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = list(_FIXED_COLUMNS)
    header += [f"grad_norm_{name}" for name in layer_names]
    header += [f"weight_norm_{name}" for name in layer_names]
    header += ["partial", "note"]
    writer.writerow(header)

    def num(value: float | None) -> str:
        return "" if value is None else repr(float(value))

    for rec in history:
        row = [
            str(rec.epoch + 1),
            num(rec.loss),
            num(rec.accuracy),
            num(rec.val_loss),
            num(rec.val_accuracy),
            num(rec.learning_rate),
            f"{rec.seconds:.3f}",
            f"{rec.samples_per_second:.1f}",
        ]
        row += [num(v) for v in rec.grad_norms]
        row += [num(v) for v in rec.weight_norms]
        row += ["1" if rec.partial else "0", rec.note]
        writer.writerow(row)
    return out.getvalue()


def _float_or_none(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def _partial(cell: str) -> bool:
    if cell not in ("0", "1"):
        raise ValueError(f"partial is {cell!r}, not 0 or 1")
    return cell == "1"


def read_history_csv(text: str, source: str = "history.csv") -> tuple[list[EpochRecord], tuple[str, ...]]:
    """Parse :func:`history_csv` output (of this or an earlier version) into records and layer names.

    Raises:
        ModelFileError: naming ``source`` and what is wrong with it.
    """
    try:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise ValueError("the file is empty")
        header = rows[0]
        grad_cols = [i for i, h in enumerate(header) if h.startswith("grad_norm_")]
        weight_cols = [i for i, h in enumerate(header) if h.startswith("weight_norm_")]
        names = tuple(header[i][len("grad_norm_") :] for i in grad_cols)
        col = {h: i for i, h in enumerate(header)}
        records = []
        for n, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise ValueError(f"line {n} has {len(row)} cells, the header {len(header)}")
            note = row[col["note"]]
            partial = _partial(row[col["partial"]]) if "partial" in col else _LEGACY_PARTIAL_NOTE in note
            records.append(
                EpochRecord(
                    run_id=0,
                    epoch=int(row[col["epoch"]]) - 1,
                    loss=float(row[col["loss"]]),
                    accuracy=float(row[col["accuracy"]]),
                    val_loss=_float_or_none(row[col["val_loss"]]),
                    val_accuracy=_float_or_none(row[col["val_accuracy"]]),
                    learning_rate=float(row[col["learning_rate"]]),
                    grad_norms=np.array([float(row[i]) for i in grad_cols]),
                    weight_norms=np.array([float(row[i]) for i in weight_cols]),
                    seconds=float(row[col["seconds"]]),
                    samples_per_second=float(row[col["samples_per_second"]]),
                    note=note,
                    partial=partial,
                )
            )
        if [r.epoch for r in records] != list(range(len(records))):
            raise ValueError("the epochs are not numbered 1, 2, 3, ...")
    except (KeyError, ValueError, IndexError, csv.Error) as exc:
        raise ModelFileError(f"{source}: not a training history written by this app ({exc})") from None
    return records, names


def estimate_steps_per_epoch(history: Sequence[EpochRecord], batch_size: int | str) -> int:
    """Batches per epoch of a saved history that does not say (samples = rate x time)."""
    full = [r for r in history if not r.partial and r.seconds > 0]
    if not full or batch_size == "full":
        return 1
    samples = full[0].samples_per_second * full[0].seconds
    if not math.isfinite(samples):
        return 1
    return max(1, math.ceil(max(1, round(samples)) / int(batch_size)))
