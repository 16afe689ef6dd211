"""TensorBoard export: event files readable by TensorFlow's and TensorBoard's readers, with the
expected tags and values."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from model.errors import ProjectError
from model.events import BatchRecord, EpochRecord, RunFinished, RunStarted

tf = pytest.importorskip("tensorflow")

from model.batch_series import BatchSeries  # noqa: E402
from model.tb_export import TensorBoardListener, export_run_folder, write_history  # noqa: E402

NAMES = ("L2_Dense", "L3_Dense")


def read_events(folder: Path) -> dict[str, list[tuple[int, object]]]:
    """``{"train/epoch_loss": [(step, value), ...]}`` for every event file under ``folder``."""
    values: dict[str, list[tuple[int, object]]] = defaultdict(list)
    for part in ("train", "validation"):
        for path in sorted((folder / part).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    array = tf.make_ndarray(value.tensor)
                    plugin = value.metadata.plugin_data.plugin_name
                    values[f"{part}/{value.tag}"].append((event.step, array.item() if plugin == "scalars" else array.item().decode()))
                    assert plugin in ("scalars", "text")
    return dict(values)


def _history() -> list[EpochRecord]:
    g = np.array([0.5, 0.25])
    w = np.array([3.0, 2.0])
    first = EpochRecord(0, 0, 1.5, 0.6, 1.2, 0.7, 0.01, g, w, 2.0, 500.0, val_confusion=np.array([[3, 1], [0, 4]]))
    second = dataclasses.replace(first, epoch=1, loss=0.9, val_loss=None, val_accuracy=None, val_confusion=None,
                                 note="learning rate changed from 0.01 to 0.001", partial=True)  # fmt: skip
    return [first, second]


def test_a_history_becomes_train_and_validation_scalars(tmp_path: Path) -> None:
    batches = BatchSeries.of(
        [BatchRecord(0, 0, b, b, 2.0 - b / 10, 0.5, 0.01, np.array([0.1 * b, 0.2]), np.array([1.0, 1.0]), 1, 0, 0)
         for b in range(4)]
    )  # fmt: skip
    written = write_history(tmp_path / "tb", _history(), NAMES, batches=batches, class_names=("cat", "dog"),
                            more_scalars=[("health/update_ratio/L2_Dense", 3, 1e-3)])  # fmt: skip
    events = read_events(tmp_path / "tb")
    expected = {
        "train/epoch_loss", "train/epoch_accuracy", "train/epoch_learning_rate", "train/epoch_seconds",
        "train/epoch_samples_per_second", "train/gradient_norm/L2_Dense", "train/gradient_norm/L3_Dense",
        "train/weight_norm/L2_Dense", "train/weight_norm/L3_Dense", "train/notes", "train/batch_loss",
        "train/batch_accuracy", "train/batch_learning_rate", "train/batch_gradient_norm/L2_Dense",
        "train/batch_gradient_norm/L3_Dense", "train/health/update_ratio/L2_Dense", "validation/epoch_loss",
        "validation/epoch_accuracy", "validation/class_accuracy/cat", "validation/class_accuracy/dog",
    }  # fmt: skip
    assert set(events) == expected == set(written.tags)
    assert events["train/epoch_loss"] == [(0, 1.5), (1, pytest.approx(0.9))]
    assert events["validation/epoch_loss"] == [(0, pytest.approx(1.2))]  # none for the partial epoch
    assert events["validation/class_accuracy/cat"] == [(0, 0.75)]
    assert events["train/gradient_norm/L3_Dense"] == [(0, 0.25), (1, 0.25)]
    assert events["train/notes"] == [(1, "learning rate changed from 0.01 to 0.001")]
    assert [s for s, _ in events["train/batch_loss"]] == [0, 1, 2, 3]
    assert events["train/batch_gradient_norm/L2_Dense"][2] == (2, pytest.approx(0.2))
    assert written.values == sum(len(v) for v in events.values())
    assert "tensorboard --logdir" in written.describe()


def test_tensorboards_own_reader_sees_the_scalars(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    write_history(tmp_path / "tb", _history(), NAMES)
    accumulator = EventAccumulator(str(tmp_path / "tb" / "train"), size_guidance={"tensors": 0})
    accumulator.Reload()
    assert {"epoch_loss", "gradient_norm/L2_Dense", "notes"} <= set(accumulator.Tags()["tensors"])
    loss = [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors("epoch_loss")]
    assert loss == [(0, 1.5), (1, pytest.approx(0.9))]
    metadata = accumulator.SummaryMetadata("epoch_loss")
    assert metadata.plugin_data.plugin_name == "scalars"


def test_the_listener_writes_a_run_as_it_trains(tmp_path: Path) -> None:
    listener = TensorBoardListener(tmp_path / "live", ("cat", "dog"))
    listener.on_run_start(RunStarted(0, 2, 0, 2, 8, 16, 4, 4, NAMES, 0.01))
    for step in range(2):
        listener.on_batch(BatchRecord(0, 0, step, step, 1.0, 0.5, 0.01, np.array([0.1, 0.2]), np.ones(2), 1, 0, 0))
    listener.on_epoch(_history()[0])
    # Flushed at the epoch's end: readable while the run goes on.
    assert read_events(tmp_path / "live")["train/epoch_loss"] == [(0, 1.5)]
    listener.on_run_end(RunFinished(0, "completed", "done", 1))  # type: ignore[arg-type]
    written = listener.close()
    assert written is listener.close() and "train/batch_loss" in written.tags


def test_a_run_folder_is_exported_with_its_confusion_timeline(tmp_path: Path) -> None:
    from model.runfolder import save_run
    from model.training import train
    from tests.model.helpers import small_config, synthetic_split

    save_run(train(small_config(epochs=2), synthetic_split(n_train=128)), tmp_path / "run")
    written = export_run_folder(tmp_path / "run", tmp_path / "tb")
    events = read_events(tmp_path / "tb")
    assert set(written.tags) == set(events)
    assert [s for s, _ in events["train/epoch_loss"]] == [0, 1]
    assert len([t for t in events if t.startswith("validation/class_accuracy/")]) == 10
    assert "train/gradient_norm/L2_Dense" in events and "train/weight_norm/L4_Dense" in events


def test_bad_folders_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="is not a run folder"):
        export_run_folder(tmp_path, tmp_path / "tb")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="cannot write TensorBoard logs into"):
        write_history(tmp_path / "file" / "tb", _history(), NAMES)
