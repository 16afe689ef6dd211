"""history.csv: written and read back, the partial flag, and files from before it had one."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.errors import ModelFileError
from model.events import EpochRecord
from model.runfolder.history import estimate_steps_per_epoch, history_csv, read_history_csv


def record(epoch: int, *, partial: bool = False, note: str = "", val: float | None = 0.5) -> EpochRecord:
    return EpochRecord(
        run_id=4,
        epoch=epoch,
        loss=1.0 / (epoch + 1),
        accuracy=0.5,
        val_loss=val,
        val_accuracy=val,
        learning_rate=1e-3,
        grad_norms=np.array([0.25, 0.125]),
        weight_norms=np.array([2.0, 3.0]),
        seconds=0.5,
        samples_per_second=512.0,
        note=note,
        partial=partial,
    )


def test_history_round_trips_with_the_partial_flag() -> None:
    history = [
        record(0, note="learning rate changed from 0.01 to 0.001 at epoch 1, batch 3 (step 3)"),
        record(1, partial=True, note="partial epoch: 2 of 8 batches", val=None),
    ]
    text = history_csv(history, ("L1_Dense", "L2_Dense"))
    header, *rows = csv.reader(io.StringIO(text))
    assert header[-2:] == ["partial", "note"]
    assert [row[-2] for row in rows] == ["0", "1"]
    records, names = read_history_csv(text)
    assert names == ("L1_Dense", "L2_Dense")
    assert [r.partial for r in records] == [False, True]
    assert [r.note for r in records] == [h.note for h in history]
    assert records[1].val_loss is None and records[0].val_loss == 0.5
    np.testing.assert_array_equal(records[0].grad_norms, [0.25, 0.125])
    np.testing.assert_array_equal(records[1].weight_norms, [2.0, 3.0])


def test_the_flag_not_the_note_says_whether_an_epoch_is_partial() -> None:
    # A note that happens to mention a partial epoch does not make a full one partial.
    text = history_csv([record(0, note="resumed after a partial epoch")], ("L1_Dense", "L2_Dense"))
    (rec,), _ = read_history_csv(text)
    assert not rec.partial


OLD_HISTORY = (
    "epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,samples_per_second,"
    "grad_norm_L2_Dense,weight_norm_L2_Dense,note\n"
    "1,1.2,0.4,1.1,0.6,0.01,0.694,92.2,0.5,3.1,\n"
    "2,0.9,0.9,,,0.01,0.126,254.0,0.47,3.2,partial epoch: 2 of 4 batches\n"
)


def test_an_old_history_without_the_partial_column_infers_it_from_the_note() -> None:
    records, names = read_history_csv(OLD_HISTORY)
    assert names == ("L2_Dense",)
    assert [r.partial for r in records] == [False, True]
    assert records[1].note == "partial epoch: 2 of 4 batches"


@pytest.mark.parametrize("cell", ["yes", "", "2", "true"])
def test_a_partial_cell_other_than_0_or_1_is_refused(cell: str) -> None:
    text = history_csv([record(0)], ("L1_Dense", "L2_Dense"))
    header, row = text.splitlines()
    cells = row.split(",")
    cells[-2] = cell
    with pytest.raises(ModelFileError, match="history.csv: not a training history.*partial"):
        read_history_csv(header + "\n" + ",".join(cells) + "\n")


def test_steps_per_epoch_estimated_from_rate_and_time() -> None:
    rec = EpochRecord(0, 0, 1.0, 0.5, None, None, 1e-3, np.zeros(1), np.zeros(1), 0.123, 240 / 0.123)
    assert estimate_steps_per_epoch([rec], 32) == 8
    assert estimate_steps_per_epoch([], 32) == 1
    assert estimate_steps_per_epoch([rec], "full") == 1


def test_steps_per_epoch_estimate_skips_partial_epochs() -> None:
    cut = EpochRecord(0, 0, 1.0, 0.5, None, None, 1e-3, np.zeros(1), np.zeros(1), 0.1, 320.0, partial=True)
    full = EpochRecord(0, 1, 1.0, 0.5, None, None, 1e-3, np.zeros(1), np.zeros(1), 0.2, 1280.0)
    assert estimate_steps_per_epoch([cut, full], 32) == 8
    assert estimate_steps_per_epoch([cut], 32) == 1


@given(st.text(max_size=400))
def test_any_text_reads_as_a_history_or_a_model_file_error(text: str) -> None:
    try:
        read_history_csv(text)
    except ModelFileError as exc:
        assert str(exc).startswith("history.csv: ")


@given(st.lists(st.sampled_from(["1", "0", "", "x", "1.5", "nan", "partial epoch", '"a,b"']), max_size=14))
def test_mangled_rows_read_as_a_history_or_a_model_file_error(cells: list[str]) -> None:
    header = history_csv([], ("L1_Dense", "L2_Dense")).strip()
    try:
        read_history_csv(header + "\n" + ",".join(cells) + "\n")
    except ModelFileError:
        pass
