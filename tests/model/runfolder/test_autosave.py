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


def test_a_checkpoint_is_staged_whole_so_a_failed_one_leaves_the_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    import model.runfolder.autosave
    from model.training import train

    folder = tmp_path / "autosave"
    calls: list[int] = []
    real = model.runfolder.autosave.save_training_state

    def full_disk_at_epoch_two(path: Path, state: object, epochs_done: int) -> None:
        calls.append(epochs_done)
        if epochs_done == 2:
            raise OSError(28, "No space left on device")
        real(path, state, epochs_done)

    monkeypatch.setattr(model.runfolder.autosave, "save_training_state", full_disk_at_epoch_two)
    from model.errors import ProjectError

    with pytest.raises(ProjectError, match="No space left on device"):
        train(small_config(epochs=3), synthetic_split(n_train=64), evaluate=False, checkpoint_dir=folder)
    saved = load_run(folder)  # the checkpoint of epoch 1, whole: no new model beside an old history
    assert len(saved.history) == 1 and saved.optimizer_state
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autosave"]  # no staging folder, no lock left


def test_an_autosave_status_that_is_a_pipe_or_absurd_reads_as_none(tmp_path: Path) -> None:
    import os

    from tests.model.test_reading import in_a_thread

    os.mkfifo(tmp_path / AUTOSAVE_FILE)
    assert in_a_thread(lambda: read_autosave(tmp_path))["value"] is None
    os.unlink(tmp_path / AUTOSAVE_FILE)
    (tmp_path / AUTOSAVE_FILE).write_text('{"status": "running", "epochs_done": ' + "9" * 5000 + ', "epochs": 3}')
    assert read_autosave(tmp_path) is None
    (tmp_path / AUTOSAVE_FILE).write_text('{"status": "running", "epochs_done": 7, "epochs": 3}')
    assert read_autosave(tmp_path) is None
