"""The confusion timeline: summed by the validation pass, saved with the run, read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.confusion_timeline import ConfusionTimeline, evaluation_from_confusion, per_class_accuracy
from model.errors import ModelFileError, ProjectError
from model.events import EpochRecord
from model.runfolder import CONFUSION_FILE, confusion_archive, read_confusion, with_confusion

G = np.array([0.1])


def _epoch(epoch: int, confusion: np.ndarray | None) -> EpochRecord:
    return EpochRecord(0, epoch, 1.0, 0.5, 0.9, 0.6, 0.01, G, G, 1.0, 10.0, val_confusion=confusion)


def test_figures_from_a_matrix() -> None:
    matrix = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    np.testing.assert_allclose(per_class_accuracy(matrix), [0.8, 0.9, np.nan])
    evaluation = evaluation_from_confusion(matrix, ("a", "b", "c"), loss=0.3)
    assert evaluation.accuracy == pytest.approx(17 / 20) and evaluation.loss == 0.3
    np.testing.assert_allclose(evaluation.precision, [8 / 9, 9 / 11, 0.0])
    np.testing.assert_allclose(evaluation.class_accuracy, [0.8, 0.9, 0.0])
    assert len(evaluation.y_true) == 0 and evaluation.probabilities.shape == (0, 3)


def test_timeline_of_a_history_skips_epochs_without_a_matrix() -> None:
    history = [_epoch(0, np.array([[1, 1], [0, 2]])), _epoch(1, None), _epoch(2, np.array([[2, 0], [0, 2]]))]
    timeline = ConfusionTimeline.of(history)
    assert timeline.epochs == (0, 2) and len(timeline) == 2 and timeline.classes == 2
    np.testing.assert_allclose(timeline.accuracy_per_epoch(), [[0.5, 1.0], [1.0, 1.0]])
    assert timeline.evaluation(1, ("x", "y")).accuracy == 1.0
    assert "class x gained most (+50.0%)" in timeline.most_improved(("x", "y"))
    assert len(ConfusionTimeline.of([])) == 0 and ConfusionTimeline.of([]).accuracy_per_epoch().shape == (0, 0)


def test_the_file_round_trips(tmp_path: Path) -> None:
    history = [_epoch(0, np.array([[3, 1], [0, 4]])), _epoch(1, None), _epoch(2, np.array([[4, 0], [1, 3]]))]
    data = confusion_archive(history)
    assert data is not None and confusion_archive([_epoch(0, None)]) is None
    path = tmp_path / CONFUSION_FILE
    path.write_bytes(data)
    matrices = read_confusion(path)
    assert sorted(matrices) == [0, 2]
    restored = with_confusion([_epoch(e, None) for e in range(3)], matrices)
    assert restored[1].val_confusion is None
    np.testing.assert_array_equal(restored[2].val_confusion, [[4, 0], [1, 3]])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_whatever_the_file_holds_only_a_model_file_error_escapes(tmp_path_factory: pytest.TempPathFactory, blob: bytes) -> None:
    path = tmp_path_factory.mktemp("confusion") / CONFUSION_FILE
    path.write_bytes(blob)
    try:
        read_confusion(path)
    except ProjectError as exc:
        assert isinstance(exc, ModelFileError) and CONFUSION_FILE in str(exc)


@pytest.mark.parametrize(
    "arrays",
    [
        {"epochs": np.array([0]), "confusion": np.zeros((1, 2, 3), np.int64)},
        {"epochs": np.array([0, 1]), "confusion": np.zeros((1, 2, 2), np.int64)},
        {"epochs": np.array([0.5]), "confusion": np.zeros((1, 2, 2), np.int64)},
        {"epochs": np.array([0]), "confusion": -np.ones((1, 2, 2), np.int64)},
        {"epochs": np.array([0])},
    ],
)
def test_a_malformed_archive_is_refused_by_name(tmp_path: Path, arrays: dict[str, np.ndarray]) -> None:
    path = tmp_path / CONFUSION_FILE
    with path.open("wb") as out:
        np.savez(out, **arrays)
    with pytest.raises(ModelFileError, match="epoch_confusion.npz: not a confusion timeline"):
        read_confusion(path)


# ---------------------------------------------------------------------- a real run

tf = pytest.importorskip("tensorflow")

from model.events import RecordingListener, RunControl  # noqa: E402
from model.runfolder import load_run, save_run  # noqa: E402
from model.training import train  # noqa: E402
from tests.model.helpers import small_config, synthetic_split  # noqa: E402


def test_every_epoch_of_a_run_carries_its_validation_confusion_and_the_run_folder_keeps_it(tmp_path: Path) -> None:
    split = synthetic_split(n_train=256, n_val=70)
    listener = RecordingListener()
    result = train(small_config(epochs=3), split, listener=listener)
    assert len(listener.epochs) == 3
    for record in listener.epochs:
        matrix = record.val_confusion
        assert matrix is not None and matrix.shape == (10, 10) and matrix.dtype == np.int64
        assert matrix.sum() == 70  # one validation pass, counted once
        np.testing.assert_array_equal(matrix.sum(axis=1), np.bincount(split.y_val, minlength=10))
        assert np.trace(matrix) / 70 == pytest.approx(record.val_accuracy, abs=1e-6)
    # The last epoch's matrix is the final model's on the validation split.
    predicted = np.argmax(result.model.predict(split.x_val, verbose=0), axis=1)
    expected = np.zeros((10, 10), np.int64)
    np.add.at(expected, (split.y_val, predicted), 1)
    np.testing.assert_array_equal(listener.epochs[-1].val_confusion, expected)

    save_run(result, tmp_path / "run")
    assert (tmp_path / "run" / CONFUSION_FILE).is_file()
    saved = load_run(tmp_path / "run")
    for before, after in zip(result.history, saved.history, strict=True):
        np.testing.assert_array_equal(before.val_confusion, after.val_confusion)


def test_no_validation_or_a_partial_epoch_has_no_matrix(tmp_path: Path) -> None:
    result = train(small_config(epochs=1), synthetic_split(n_train=64, n_val=0), evaluate=False)
    assert result.history[0].val_confusion is None
    save_run(result, tmp_path / "run")
    assert not (tmp_path / "run" / CONFUSION_FILE).exists()

    control = RunControl()

    class StopInSecondEpoch(RecordingListener):
        def on_batch(self, record):  # type: ignore[no-untyped-def]
            if record.epoch == 1:
                control.stop()

    stopped = train(small_config(epochs=3), synthetic_split(n_train=256), listener=StopInSecondEpoch(),
                    control=control, evaluate=False)  # fmt: skip
    assert stopped.history[0].val_confusion is not None
    assert stopped.history[1].partial and stopped.history[1].val_confusion is None
