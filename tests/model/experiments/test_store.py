"""The comparison folder: written and read back the same, damaged files named, targets checked."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.config import load_preset
from model.errors import ModelFileError, ProjectError
from model.events import BatchRecord, EndReason, EpochRecord, RunFinished, RunStarted
from model.experiments.recorder import ComparisonRecorder, ComparisonState
from model.experiments.spec import experiment_from_vary
from model.experiments.store import (
    COMPARISON_FILE,
    CURVES_FILE,
    PLOT_FILE,
    RESULTS_FILE,
    check_comparison_target,
    comparison_json,
    load_comparison,
    save_all,
    trial_folder,
)
from model.experiments.table import TrialState
from model.runfolder import HISTORY_FILE, history_csv

EXPERIMENT = experiment_from_vary(load_preset("mlp"), ["optimizer.name=sgd,adam"])
LAYERS = ("L2_Dense", "L3_Dense")


def _epoch(trial: int, n: int) -> EpochRecord:
    return EpochRecord(
        run_id=trial, epoch=n, loss=1.0 / (n + 1), accuracy=0.5 + n / 10, val_loss=1.1 / (n + 1),
        val_accuracy=0.5 + n / 10, learning_rate=0.1, grad_norms=np.array([0.5, 0.4]),
        weight_norms=np.array([3.0, 2.0]), seconds=1.5, samples_per_second=200.0,
    )  # fmt: skip


def _batch(trial: int, step: int) -> BatchRecord:
    return BatchRecord(
        run_id=trial, epoch=step // 4, batch=step % 4, step=step, loss=2.0 - step / 10, accuracy=step / 10,
        learning_rate=0.1, grad_norms=np.array([0.5, 0.25]), weight_norms=np.array([3.0, 2.0]),
        samples_per_second=100.0, progress=step / 8, seconds_remaining=1.0,
    )  # fmt: skip


def finished_comparison(folder: Path) -> ComparisonState:
    """Trial 1 trained two epochs (its run folder holds the history); trial 2 failed."""
    recorder = ComparisonRecorder(EXPERIMENT, folder, engine="in-process")
    recorder.set_state(0, TrialState.RUNNING, "training", node="this process")
    recorder.record(0, RunStarted(0, 2, 0, 4, 32, 128, 16, 16, LAYERS, 0.1))
    for step in range(8):
        recorder.record(0, _batch(0, step))
    epochs = [_epoch(0, 0), _epoch(0, 1)]
    for record in epochs:
        recorder.record(0, record)
    recorder.record(0, RunFinished(0, EndReason.COMPLETED, "completed 2 epochs", 2, 0.7, 0.9))
    run_folder = trial_folder(folder, EXPERIMENT.trials[0])
    run_folder.mkdir(parents=True)
    (run_folder / HISTORY_FILE).write_text(history_csv(epochs, LAYERS), encoding="utf-8")
    recorder.set_folder(0, run_folder)
    recorder.set_state(0, TrialState.FINISHED, "completed 2 epochs")
    recorder.set_state(1, TrialState.FAILED, "layers[0]: cannot be built", rerun=False)
    return recorder.snapshot()


def test_a_saved_comparison_reads_back_with_its_curves_states_and_table(tmp_path: Path) -> None:
    state = finished_comparison(tmp_path / "cmp")
    save_all(state)
    for name in (COMPARISON_FILE, CURVES_FILE, RESULTS_FILE, PLOT_FILE):
        assert (state.folder / name).is_file(), name
    loaded = load_comparison(state.folder)
    assert [t.label for t in loaded.experiment.trials] == ["optimizer.name=sgd", "optimizer.name=adam"]
    first, second = loaded.trials
    assert first.state is TrialState.FINISHED and first.node == "this process"
    assert [r.val_accuracy for r in first.history] == [0.5, 0.6]
    assert all(r.run_id == 0 for r in first.history)
    assert first.layer_names == LAYERS and first.steps_per_epoch == 4
    assert first.finished is not None and first.finished.test_accuracy == 0.7
    np.testing.assert_array_equal(first.batches.step, np.arange(8))
    np.testing.assert_allclose(first.batches.grad_norms[:, 1], 0.25)
    assert first.run_folder == state.folder / "trials" / "00-sgd"
    assert second.state is TrialState.FAILED and second.message == "layers[0]: cannot be built"
    assert len(second.batches) == 0 and second.history == ()
    assert loaded.table.to_csv() == state.table.to_csv()
    assert (state.folder / RESULTS_FILE).read_text(encoding="utf-8") == state.table.to_csv()


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    state = finished_comparison(tmp_path / "cmp")
    save_all(state)
    assert (state.folder / PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_new_sweep_never_writes_over_another_comparison_or_other_files(tmp_path: Path) -> None:
    assert check_comparison_target(tmp_path / "new", resume=False) is None
    (tmp_path / "empty").mkdir()
    assert check_comparison_target(tmp_path / "empty", resume=True) is None
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match="is a file"):
        check_comparison_target(tmp_path / "file", resume=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="not empty and holds no comparison"):
        check_comparison_target(tmp_path / "other", resume=True)
    state = finished_comparison(tmp_path / "cmp")
    save_all(state)
    with pytest.raises(ProjectError, match="--resume"):
        check_comparison_target(state.folder, resume=False)
    resumed = check_comparison_target(state.folder, resume=True)
    assert resumed is not None and resumed.trials[0].state is TrialState.FINISHED


def test_damaged_files_are_named(tmp_path: Path) -> None:
    state = finished_comparison(tmp_path / "cmp")
    save_all(state)
    path = state.folder / COMPARISON_FILE
    good = path.read_text(encoding="utf-8")

    def damaged(document: object) -> str:
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(ModelFileError) as caught:
            load_comparison(state.folder)
        return str(caught.value)

    raw = json.loads(good)
    assert "cmp/comparison.json" in damaged([1, 2])
    assert "not a comparison" in damaged({**raw, "format": "something else"})
    assert "newer" in damaged({**raw, "version": 99})
    assert "lists 1 trials" in damaged({**raw, "trials": raw["trials"][:1]})
    outside = json.loads(good)
    outside["trials"][0]["folder"] = "../../etc"
    assert "outside the comparison" in damaged(outside)
    bad_state = json.loads(good)
    bad_state["trials"][1]["state"] = "exploded"
    assert "exploded" in damaged(bad_state)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_comparison(state.folder)
    path.write_text(good, encoding="utf-8")
    (state.folder / CURVES_FILE).write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(ModelFileError, match="curves.npz"):
        load_comparison(state.folder)
    with pytest.raises(ModelFileError, match="not a comparison folder"):
        load_comparison(tmp_path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["experiment", "trials", "version", "engine", "address", "format"]), value=_JSON)
def test_whatever_comparison_json_holds_loading_gives_a_comparison_or_a_model_file_error(
    tmp_path: Path, key: str, value: object
) -> None:
    folder = tmp_path / "fuzzed"
    if not (folder / COMPARISON_FILE).exists():
        save_all(finished_comparison(folder))
        (folder / "good.json").write_text((folder / COMPARISON_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    document = json.loads((folder / "good.json").read_text(encoding="utf-8"))
    document[key] = value
    (folder / COMPARISON_FILE).write_text(json.dumps(document), encoding="utf-8")
    try:
        loaded = load_comparison(folder)
    except ModelFileError:
        return
    assert len(loaded.trials) == len(loaded.experiment.trials)


def test_the_json_names_trials_from_one(tmp_path: Path) -> None:
    state = finished_comparison(tmp_path / "cmp")
    document = json.loads(comparison_json(state))
    assert [t["trial"] for t in document["trials"]] == [1, 2]
    assert document["trials"][0]["folder"] == "trials/00-sgd"
    assert document["experiment"]["variations"] == [{"path": "optimizer.name", "values": ["sgd", "adam"]}]
    assert replace(state, engine="ray").engine == "ray"
