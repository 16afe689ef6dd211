"""Reading run folders back, including one written before the format had one owner.

``tests/fixtures/run_v1`` was written by ``model.runio.save_run`` (commit 2547ca9) for a
tiny run (4x4 inputs, Flatten-Dense(6)-Dense(4), Adam, 64 training samples of
:func:`tests.model.helpers.synthetic_split` in batches of 16) that the user stopped in its
third epoch: its history has no ``partial`` column and its ``metrics.json`` has the CLI's
``dataset`` but no ``steps_per_epoch``. Keep it: it is what users' old run folders look like.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from model.errors import ModelFileError
from model.events import EndReason
from model.results import DataInfo
from model.runfolder import end_reason_from_metrics, evaluation_from_metrics, load_run

pytest.importorskip("keras")

RUN_V1 = Path(__file__).resolve().parents[2] / "fixtures" / "run_v1"


def test_a_v1_run_folder_still_opens() -> None:
    saved = load_run(RUN_V1)
    assert saved.config.name == "run_v1 fixture" and saved.config.batch_size == 16
    assert saved.layer_names == ("L2_Dense", "L3_Dense")
    assert [r.epoch for r in saved.history] == [0, 1, 2]
    assert [r.partial for r in saved.history] == [False, False, True]  # inferred from the notes
    assert saved.history[2].note == "partial epoch: 2 of 4 batches" and saved.history[2].val_loss is None
    assert saved.steps_per_epoch == 4  # estimated: the file does not say
    assert saved.data == DataInfo("synthetic", "tests.model.helpers.synthetic_split", "train 64 · validation 16 · test 20")
    assert end_reason_from_metrics(saved.metrics) is EndReason.STOPPED
    assert saved.metrics["finished"]["epochs_completed"] == 2
    evaluation = evaluation_from_metrics(saved.metrics)
    assert evaluation is not None and evaluation.class_names == ("0", "1", "2", "3")
    assert evaluation.accuracy == 1.0 and int(evaluation.confusion.sum()) == 20
    iterations = next(v for k, v in saved.optimizer_state.items() if k.endswith("iteration"))
    assert int(iterations) == 2 * 4 + 2  # two full epochs of four batches, then two
    assert saved.model.predict(np.zeros((1, 4, 4, 1), np.float32), verbose=0).shape == (1, 4)


def test_a_v1_run_folder_can_be_resumed() -> None:
    pytest.importorskip("tensorflow")
    from model.training import train
    from tests.model.helpers import synthetic_split

    saved = load_run(RUN_V1)
    split = synthetic_split(n_train=64, n_val=16, n_test=20, shape=(4, 4, 1), classes=4)
    resumed = train(saved.config.replace(epochs=1), split, resume=saved, evaluate=False)
    assert [r.epoch for r in resumed.history] == [0, 1, 2, 3]
    assert [r.partial for r in resumed.history] == [False, False, True, False]
    assert resumed.finished.epochs_completed == 3


def test_a_damaged_history_names_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(RUN_V1, folder)
    (folder / "history.csv").write_text("epoch,loss\n1\n")
    with pytest.raises(ModelFileError, match="run/history.csv"):
        load_run(folder)


def test_a_state_from_another_point_of_the_run_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(RUN_V1, folder)
    lines = (folder / "history.csv").read_text().splitlines(keepends=True)
    (folder / "history.csv").write_text("".join(lines[:-1]))  # one epoch fewer than the state
    saved = load_run(folder)
    assert len(saved.history) == 2 and saved.optimizer_state == {}


def test_a_damaged_state_names_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(RUN_V1, folder)
    data = (folder / "training_state.npz").read_bytes()
    (folder / "training_state.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="training_state.npz"):
        load_run(folder)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not a run folder"):
        load_run(tmp_path / "missing")


# --------------------------------------------------------------------------- hostile run folders (issue 12)


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(RUN_V1, folder)
    return folder


def test_huge_numbers_in_metrics_open_and_huge_integers_are_refused_in_words(tmp_path: Path) -> None:
    import json

    folder = _copy(tmp_path)
    text = (folder / "metrics.json").read_text()
    metrics = json.loads(text)
    metrics["confusion_matrix"][0][0] = 0.5
    (folder / "metrics.json").write_text(json.dumps(metrics).replace("0.5", "1e400"))
    saved = load_run(folder)  # was: OverflowError
    assert evaluation_from_metrics(saved.metrics) is None and len(saved.history) == 3
    (folder / "metrics.json").write_text(text.replace('"seed": ', '"seed": ' + "7" * 5000 + ", \"x\": "))
    with pytest.raises(ModelFileError, match="metrics.json: not valid JSON .*5,000 digits"):
        load_run(folder)  # was: ValueError "Exceeds the limit (4300 digits)"


@pytest.mark.parametrize("epochs", [np.arange(3), np.array(["two"])])
def test_a_state_with_an_odd_epoch_count_is_a_model_file_error(tmp_path: Path, epochs: np.ndarray) -> None:
    folder = _copy(tmp_path)
    np.savez(folder / "training_state.npz", __epochs_done__=epochs, a=np.zeros(2))
    with pytest.raises(ModelFileError, match="training_state.npz"):
        load_run(folder)


def test_files_that_are_pipes_never_block(tmp_path: Path) -> None:
    import os

    from tests.model.test_reading import in_a_thread

    folder = _copy(tmp_path)
    (folder / "metrics.json").unlink()
    os.mkfifo(folder / "metrics.json")  # not a regular file: read as absent
    assert in_a_thread(lambda: load_run(folder))["value"].metrics == {}
    (folder / "config.json").unlink()
    os.mkfifo(folder / "config.json")
    error = in_a_thread(lambda: load_run(folder))["error"]
    assert isinstance(error, ModelFileError) and "named pipe" in str(error)


def test_opening_cleans_what_a_killed_save_left(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / ".model.keras.k3j_x9a2.tmp.keras").write_bytes(b"half a model")
    load_run(folder)
    assert not (folder / ".model.keras.k3j_x9a2.tmp.keras").exists()


def test_a_model_with_non_finite_weights_reads_as_diverged(tmp_path: Path) -> None:
    from tests.model.hostile import diverged_model

    folder = _copy(tmp_path)
    assert not load_run(folder).diverged
    diverged_model(folder / "model.keras")
    assert load_run(folder).diverged
