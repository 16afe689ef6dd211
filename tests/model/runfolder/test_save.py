"""Saving a run folder: a folder plain Keras reads, written whole or not at all."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.config import ScheduleSpec
from model.errors import ProjectError
from model.results import DataInfo, RunResult
from model.runfolder import copy_run, load_run, save_run
from tests.model.helpers import small_config, synthetic_split

tf = pytest.importorskip("tensorflow")

from model.inference import make_predictor  # noqa: E402
from model.training import train  # noqa: E402

DATA = DataInfo("synthetic", "tests.model.helpers.synthetic_split", "train 128 · validation 64 · test 64")


@pytest.fixture(scope="module")
def finished() -> RunResult:
    return train(small_config(epochs=1), synthetic_split(n_train=128), data=DATA)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_folder_and_clean_process_load(tmp_path: Path) -> None:
    split = synthetic_split(n_train=128)
    result = train(small_config(epochs=2, schedule=ScheduleSpec(kind="step", step_epochs=1)), split)
    out = save_run(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "batches.npz", "config.json", "epoch_confusion.npz", "history.csv", "metrics.json", "model.keras", "training_state.npz"
    ]

    rows = list(csv.DictReader((out / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"loss", "val_accuracy", "learning_rate", "grad_norm_L2_Dense", "weight_norm_L4_Dense"} <= set(rows[0])
    assert [r["partial"] for r in rows] == ["0", "0"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] == pytest.approx(result.evaluation.accuracy)
    assert len(metrics["per_class"]) == 10 and len(metrics["confusion_matrix"]) == 10
    assert metrics["seed"] == 3 and {"tensorflow", "keras", "numpy"} <= set(metrics["versions"])
    assert metrics["steps_per_epoch"] == 4 and metrics["dataset"] is None

    x = split.x_test[:16]
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, keras\n"
        f"m = keras.saving.load_model({str(out / 'model.keras')!r}, safe_mode=True)\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n"
        "assert not any(name.split('.')[0] in ('model', 'gui') for name in sys.modules), 'imported the project'\n"
    )
    subprocess.run([sys.executable, "-I", "-c", script], check=True, cwd=tmp_path, timeout=180, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), make_predictor(result.model)(x), rtol=1e-5, atol=1e-6)


def test_a_saved_run_reads_back_with_its_data_and_steps(finished: RunResult, tmp_path: Path) -> None:
    saved = load_run(save_run(finished, tmp_path / "run"))
    assert saved.data == DATA and saved.steps_per_epoch == finished.steps_per_epoch == 4
    assert saved.layer_names == finished.layer_names and len(saved.history) == 1
    assert saved.metrics["finished"]["reason"] == "completed"


def test_a_save_that_fails_half_way_leaves_the_old_run_byte_for_byte(
    finished: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model.runfolder.save

    target = save_run(finished, tmp_path / "run")
    before = snapshot(target)
    written: list[str] = []

    def disk_full(path: Path, *args: object) -> None:
        # By now the model, configuration and history are in the staging folder.
        written.extend(p.name for p in path.parent.iterdir())
        raise ProjectError(f"cannot write {path}: No space left on device")

    monkeypatch.setattr(model.runfolder.save, "save_training_state", disk_full)
    with pytest.raises(ProjectError, match="No space left on device"):
        save_run(finished, target)
    assert {"model.keras", "config.json", "history.csv"} <= set(written)
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left


def test_save_run_refuses_a_folder_holding_other_files(finished: RunResult, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(ProjectError, match="not a run folder"):
        save_run(finished, folder)
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"]


def test_copy_run_takes_the_saved_files_only(finished: RunResult, tmp_path: Path) -> None:
    source = save_run(finished, tmp_path / "run")
    (source / "autosave.json").write_text("{}")
    copy = copy_run(source, tmp_path / "copy")
    assert snapshot(copy) == {k: v for k, v in snapshot(source).items() if k != "autosave.json"}
    copy_run(copy, copy)  # onto itself: unchanged
    assert snapshot(copy) == {k: v for k, v in snapshot(source).items() if k != "autosave.json"}


def test_a_disk_full_half_way_through_a_real_write_leaves_the_old_run(
    finished: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ENOSPC from the write itself (an OSError, as the operating system raises it), after the
    # model and the small files are in the staging folder.
    import errno

    import model.fileio

    target = save_run(finished, tmp_path / "run")
    before = snapshot(target)
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if ".training_state.npz." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(model.fileio.Path, "write_bytes", write_bytes)
    with pytest.raises(ProjectError, match="No space left on device"):
        save_run(finished, target)
    monkeypatch.undo()
    assert snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_saved_files_get_the_users_permissions(finished: RunResult, tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = save_run(finished, tmp_path / "run")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == dict.fromkeys(
        ["batches.npz", "config.json", "epoch_confusion.npz", "history.csv", "metrics.json", "model.keras", "training_state.npz"], 0o644
    )  # was 0600 for every file and 0700 for the folder


def test_metrics_say_whether_the_run_diverged(finished: RunResult, tmp_path: Path) -> None:
    import dataclasses

    assert json.loads((save_run(finished, tmp_path / "a") / "metrics.json").read_text())["diverged"] is False
    diverged = dataclasses.replace(finished, diverged=True)
    assert json.loads((save_run(diverged, tmp_path / "b") / "metrics.json").read_text())["diverged"] is True
    assert load_run(tmp_path / "b").diverged
