"""Files through the session, with real Keras models: open, save, recover, export, counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model import runfolder
from model.config import DataSpec
from model.events import EndReason, RunFinished
from model.runner import ThreadRunner
from tests.model.session.fakes import Harness, digits_model, make_harness, make_result
from tests.model.session.test_document import TINY

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def saved_run(folder: Path) -> Path:
    """A real run folder of a tiny digits model (no training needed to read one back)."""
    result = make_result(TINY, 1, RunFinished(1, EndReason.COMPLETED, "done", 1))
    result = type(result)(**{**result.__dict__, "model": digits_model(), "optimizer_state": {}})
    runfolder.save_run(result, folder)
    return folder


def test_a_run_folder_opens_with_its_history_model_and_title(h: Harness, tmp_path: Path) -> None:
    folder = saved_run(tmp_path / "run")
    assert h.wait(h.session.open_run_folder(folder))
    assert h.session.config.to_dict() == TINY.to_dict()
    assert h.last("show_document") == ("run", False)
    records, names, steps = h.last("show_history")
    assert [r.epoch for r in records] == [0] and names == ("L2_Dense",)
    predictor, description = h.last("show_predictor")
    assert description.startswith("run")
    x = np.zeros((2, 28, 28, 1), np.float32)
    assert predictor.submit(x).result(timeout=60).shape == (2, 10)
    assert h.session.recent_files()[0] == str(folder.resolve())
    assert h.state().can_save_model


def test_a_damaged_run_folder_changes_nothing(h: Harness, tmp_path: Path) -> None:
    folder = saved_run(tmp_path / "run")
    (folder / "model.keras").write_bytes(b"PK\x03\x04 not really")
    h.session.set_config(TINY)
    assert not h.wait(h.session.open_run_folder(folder))
    title, _ = h.warnings()[-1]
    assert title == "Cannot open run"
    assert h.session.memory is None and h.session.document.name == ""


def test_nothing_opens_while_a_run_trains(h: Harness, tmp_path: Path) -> None:
    h.ready()
    h.session.train()
    assert not h.wait(h.session.open_run_folder(tmp_path))
    assert h.warnings()[-1] == ("Cannot open run", "A run is in progress; stop it first.")


def test_a_plain_keras_model_opens_for_drawing(h: Harness, tmp_path: Path) -> None:
    path = tmp_path / "fits.keras"
    digits_model().save(path)
    assert h.wait(h.session.open_model_file(path))
    assert [layer.type for layer in h.session.config.layers] == ["Flatten", "Dense"]
    assert h.last("show_document")[0] == "fits.keras"
    assert h.last("show_predictor")[1] == "fits.keras (opened)"
    assert not h.state().can_save_model  # a plain model has no run to save


def test_a_model_that_does_not_read_digits_is_refused(h: Harness, tmp_path: Path) -> None:
    path = tmp_path / "wrong.keras"
    digits_model((32, 32, 3)).save(path)
    assert not h.wait(h.session.open_model_file(path))
    title, text = h.warnings()[-1]
    assert title == "Cannot open model" and "expects input (32, 32, 3)" in text and text.startswith("wrong.keras")


def test_an_interrupted_autosave_is_offered_and_moved_aside(h: Harness) -> None:
    saved_run(h.autosave)
    runfolder.write_autosave_status(h.autosave, "running", 3, 10, 2)
    h.session.backend_ready()  # offers recovery once
    h.until(lambda: h.session.memory is not None)
    assert h.view.ask.call_args.args[1] == "A run was interrupted after epoch 3 of 10 (best epoch 3). Open it?"
    assert not h.autosave.exists()
    recovered = [p for p in h.autosave.parent.iterdir() if p.name.startswith("recovered-")]
    assert len(recovered) == 1 and h.session.document.name == recovered[0].name


@pytest.mark.parametrize("status", ["running", "finished"])
def test_a_declined_or_finished_autosave_is_deleted(h: Harness, status: str) -> None:
    saved_run(h.autosave)
    runfolder.write_autosave_status(h.autosave, status, 3, 10, None)
    h.view.ask.return_value = False
    assert not h.wait(h.session.offer_recovery())
    assert h.view.ask.call_count == (1 if status == "running" else 0)
    assert not h.autosave.exists() and h.session.memory is None


def test_save_model_refuses_a_folder_of_other_files_and_an_empty_memory(h: Harness, tmp_path: Path) -> None:
    assert not h.wait(h.session.save_model_to(tmp_path / "x"))
    assert h.warnings()[-1][0] == "Nothing to save"
    folder = saved_run(tmp_path / "run")
    assert h.wait(h.session.open_run_folder(folder))
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"jpeg")
    assert not h.wait(h.session.save_model_to(photos))
    assert h.warnings()[-1][0] == "Cannot save model" and "not a run folder" in h.warnings()[-1][1]
    assert [p.name for p in photos.iterdir()] == ["holiday.jpg"]


def test_an_opened_run_saves_elsewhere_and_replacing_asks(h: Harness, tmp_path: Path) -> None:
    folder = saved_run(tmp_path / "run")
    assert h.wait(h.session.open_run_folder(folder))
    copy = tmp_path / "copy"
    assert h.wait(h.session.save_model_to(copy))
    assert runfolder.is_run_folder(copy)
    h.view.ask.return_value = False
    assert not h.wait(h.session.save_model_to(copy))
    assert "already holds a run" in h.view.ask.call_args.args[1]


def test_exports_need_a_history_then_write_csv_and_a_script(h: Harness, tmp_path: Path) -> None:
    assert not h.session.export_history_to(tmp_path / "empty.csv")
    assert h.warnings()[-1][0] == "Nothing to export"
    assert h.wait(h.session.open_run_folder(saved_run(tmp_path / "run")))
    assert h.session.export_history_to(tmp_path / "history.csv")
    assert (tmp_path / "history.csv").read_text().startswith("epoch,loss,accuracy")
    assert h.session.export_script_to(tmp_path / "train.py")
    compile((tmp_path / "train.py").read_text(), "train.py", "exec")


def test_counts_follow_the_latest_settings_and_are_not_repeated(h: Harness) -> None:
    small, larger = TINY, TINY.replace(data=DataSpec(name="digits", limit=500))
    h.session.edit(small)
    h.session.edit(larger)
    h.session.edit(small)
    h.until(lambda: h.view.show_counts.called and "train 240" in h.last("show_data")[0])
    counted = h.view.show_counts.call_count
    h.session.edit(small.replace(epochs=7))  # same data, split and seed: not counted again
    h.pump()
    assert h.view.show_counts.call_count == counted
    h.session.edit(larger)
    h.until(lambda: "train 400" in h.last("show_data")[0])
    assert h.last("show_data")[0].startswith("Digits")


def test_a_real_run_trains_saves_and_reopens_with_the_same_predictions(tmp_path: Path) -> None:
    h = make_harness(tmp_path, runner=ThreadRunner())
    try:
        h.ready()
        h.session.edit(TINY)
        h.session.train()
        h.until(lambda: h.session.memory is not None and not h.session.running, timeout=180)
        result = h.session.memory.result
        assert result is not None and result.evaluation is not None
        assert [r.epoch for r in result.history] == [0]
        # The confusion view follows the results in a turn of its own.
        h.until(lambda: h.view.show_confusion.call_args.args[0] is not None)
        h.view.show_confusion.assert_called_with(result.evaluation, h.view.show_confusion.call_args.args[1])
        x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
        trained = h.session.memory.predictor.submit(x).result(timeout=60)
        folder = tmp_path / "run"
        assert h.wait(h.session.save_model_to(folder))
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["steps_per_epoch"] == 8 and metrics["dataset"]["name"] == "digits"
        other = make_harness(tmp_path / "other")
        try:
            assert other.wait(other.session.open_run_folder(folder))
            again = other.session.memory.predictor.submit(x).result(timeout=60)
            np.testing.assert_allclose(again, trained, rtol=1e-5, atol=1e-6)
            # The test images come back in the background and fill the confusion view.
            other.until(lambda: other.view.show_confusion.call_args is not None
                        and other.view.show_confusion.call_args.args[0] is not None)
            shown = other.view.show_confusion.call_args.args[0]
            assert shown.confusion.tolist() == metrics["confusion_matrix"]
        finally:
            other.session.shutdown()
    finally:
        h.session.shutdown()
