"""The window's file logic without the window: kinds, recent files, autosave, staged saves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gui import files
from model.errors import ProjectError
from model.events import EpochRecord


def test_path_kinds(tmp_path: Path) -> None:
    assert files.path_kind(tmp_path) == "run"
    assert files.path_kind(tmp_path / "m.keras") == "model"
    assert files.path_kind(tmp_path / "m.H5") == "model"
    assert files.path_kind(tmp_path / "c.json") == "config"


def test_recent_list_moves_to_front_and_is_bounded(tmp_path: Path) -> None:
    entries: list[str] = []
    for i in range(10):
        entries = files.updated_recent(entries, tmp_path / f"{i}.json")
    assert len(entries) == files.RECENT_LIMIT
    entries = files.updated_recent(entries, tmp_path / "5.json")
    assert entries[0].endswith("5.json") and entries.count(entries[0]) == 1
    assert files.recent_from_setting(None) == [] and files.recent_from_setting("a") == ["a"]


def test_run_folder_target_rules(tmp_path: Path) -> None:
    assert files.check_run_folder_target(tmp_path / "new") is False
    (tmp_path / "empty").mkdir()
    assert files.check_run_folder_target(tmp_path / "empty") is False
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.keras", "config.json", "history.csv"):
        (run / name).write_text("x")
    assert files.check_run_folder_target(run) is True
    (run / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="notes.txt"):
        files.check_run_folder_target(run)
    with pytest.raises(ProjectError, match="is a file"):
        files.check_run_folder_target(run / "notes.txt")


def test_replace_folder_swaps_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "run"
    files.replace_folder(target, lambda d: (d / "model.keras").write_text("v1"))
    assert (target / "model.keras").read_text() == "v1"

    def fails_half_way(folder: Path) -> None:
        (folder / "model.keras").write_text("v2")
        raise OSError(28, "No space left on device")

    with pytest.raises(ProjectError, match="No space left on device.*unchanged"):
        files.replace_folder(target, fails_half_way)
    assert (target / "model.keras").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left
    files.replace_folder(target, lambda d: (d / "model.keras").write_text("v2"))
    assert (target / "model.keras").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


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
    (tmp_path / files.AUTOSAVE_FILE).write_text(text)
    info = files.read_autosave(tmp_path)
    assert (None if info is None else info.interrupted) == expected
    if expected:
        assert info is not None
        assert info.question() == "A run was interrupted after epoch 3 of 10 (best epoch 2). Open it?"


def test_steps_per_epoch_estimated_from_rate_and_time() -> None:
    rec = EpochRecord(0, 0, 1.0, 0.5, None, None, 1e-3, np.zeros(1), np.zeros(1), 0.123, 240 / 0.123)
    assert files.estimate_steps_per_epoch([rec], 32) == 8
    assert files.estimate_steps_per_epoch([], 32) == 1


def test_evaluation_from_metrics_reads_the_table_and_refuses_junk() -> None:
    metrics = {
        "test_accuracy": 0.5,
        "test_loss": 0.7,
        "per_class": [
            {"class": "a", "precision": 1.0, "recall": 0.5, "accuracy": 0.5, "support": 2},
            {"class": "b", "precision": 0.0, "recall": 0.0, "accuracy": 0.0, "support": 0},
        ],
        "confusion_matrix": [[1, 1], [0, 0]],
    }
    evaluation = files.evaluation_from_metrics(metrics)
    assert evaluation is not None and evaluation.class_names == ("a", "b")
    assert evaluation.confusion.tolist() == [[1, 1], [0, 0]]
    assert files.evaluation_from_metrics({}) is None
    assert files.evaluation_from_metrics(json.loads(json.dumps(metrics | {"confusion_matrix": [[1]]}))) is None
