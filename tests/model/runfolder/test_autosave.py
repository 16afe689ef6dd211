"""The autosave: rewritten after every epoch by the training loop, and read at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.events import NullListener, RunControl
from model.runfolder import AUTOSAVE_FILE, load_run, read_autosave, save_run
from tests.model.helpers import small_config, synthetic_split


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"status": "running", "epochs_done": 3, "epochs": 10, "best_epoch": 2}', True),
        ('{"status": "finished", "epochs_done": 10, "epochs": 10, "best_epoch": 9}', False),
        ("{not json", None),
        ("[]", None),
        ('{"status": "exploded", "epochs_done": 1, "epochs": 2}', None),
    ],
)
def test_read_autosave(tmp_path: Path, text: str, expected: bool | None) -> None:
    (tmp_path / AUTOSAVE_FILE).write_text(text)
    info = read_autosave(tmp_path)
    assert (None if info is None else info.interrupted) == expected
    if expected:
        assert info is not None
        assert info.question() == "A run was interrupted after epoch 3 of 10 (best epoch 2). Open it?"


def test_no_autosave_reads_as_none(tmp_path: Path) -> None:
    assert read_autosave(tmp_path) is None


def test_autosave_checkpoints_every_epoch(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from model.training import train

    control = RunControl()
    folder = tmp_path / "autosave"

    class StopInEpochThree(NullListener):
        def on_epoch(self, record) -> None:
            if record.epoch == 1:
                status = json.loads((folder / "autosave.json").read_text()) if (folder / "autosave.json").exists() else None
                # The checkpoint for this epoch is written right after the record.
                assert status is None or status["epochs_done"] == 1

        def on_batch(self, record) -> None:
            if record.epoch == 2:
                control.stop()

    train(small_config(epochs=5), synthetic_split(n_train=128), listener=StopInEpochThree(), control=control,
          checkpoint_dir=folder)
    status = json.loads((folder / "autosave.json").read_text())
    assert status["status"] == "finished" and status["epochs_done"] == 3
    assert (folder / "best.keras").is_file()
    saved = load_run(folder)
    assert len(saved.history) == 3 and saved.optimizer_state
    assert [r.partial for r in saved.history] == [False, False, True]


def test_autosave_of_a_resumed_run_holds_the_whole_history(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from model.training import train

    split = synthetic_split(n_train=64)
    save_run(train(small_config(epochs=2), split, evaluate=False), tmp_path / "run")
    folder = tmp_path / "autosave"
    train(small_config(epochs=1), split, evaluate=False, resume=load_run(tmp_path / "run"), checkpoint_dir=folder)
    recovered = load_run(folder)
    assert [r.epoch for r in recovered.history] == [0, 1, 2]
    assert recovered.optimizer_state
