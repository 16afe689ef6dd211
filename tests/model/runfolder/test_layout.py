"""The run folder's layout: what a path is, where a run may be saved, staged folder swaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model.errors import ProjectError
from model.runfolder import layout

ROOT = Path(__file__).resolve().parents[3]


def test_path_kinds(tmp_path: Path) -> None:
    assert layout.path_kind(tmp_path) == "run"
    assert layout.path_kind(tmp_path / "m.keras") == "model"
    assert layout.path_kind(tmp_path / "m.H5") == "model"
    assert layout.path_kind(tmp_path / "c.json") == "config"


def test_a_run_folder_has_a_model_and_a_configuration(tmp_path: Path) -> None:
    assert not layout.is_run_folder(tmp_path)
    (tmp_path / layout.MODEL_FILE).write_text("x")
    assert not layout.is_run_folder(tmp_path)
    (tmp_path / layout.CONFIG_FILE).write_text("x")
    assert layout.is_run_folder(tmp_path)
    assert not layout.is_run_folder(tmp_path / layout.MODEL_FILE)


def test_run_folder_target_rules(tmp_path: Path) -> None:
    assert layout.check_target(tmp_path / "new") is False
    (tmp_path / "empty").mkdir()
    assert layout.check_target(tmp_path / "empty") is False
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.keras", "config.json", "history.csv"):
        (run / name).write_text("x")
    assert layout.check_target(run) is True
    (run / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="notes.txt"):
        layout.check_target(run)
    with pytest.raises(ProjectError, match="is a file"):
        layout.check_target(run / "notes.txt")


def test_an_autosave_folder_is_a_run_that_may_be_replaced(tmp_path: Path) -> None:
    for name in layout.RUN_FOLDER_FILES:
        (tmp_path / name).write_text("x")
    assert layout.check_target(tmp_path) is True


def test_replace_folder_swaps_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "run"
    layout.replace_folder(target, lambda d: (d / "model.keras").write_text("v1"))
    assert (target / "model.keras").read_text() == "v1"

    def fails_half_way(folder: Path) -> None:
        (folder / "model.keras").write_text("v2")
        raise OSError(28, "No space left on device")

    with pytest.raises(ProjectError, match="No space left on device.*unchanged"):
        layout.replace_folder(target, fails_half_way)
    assert (target / "model.keras").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left
    layout.replace_folder(target, lambda d: (d / "model.keras").write_text("v2"))
    assert (target / "model.keras").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_copy_run_files_leaves_the_autosave_bookkeeping_and_other_files(tmp_path: Path) -> None:
    source, destination = tmp_path / "a", tmp_path / "b"
    source.mkdir()
    destination.mkdir()
    for name in (*layout.RUN_FOLDER_FILES, "notes.txt"):
        (source / name).write_text(name)
    layout.copy_run_files(source, destination)
    assert sorted(p.name for p in destination.iterdir()) == sorted(layout.SAVED_RUN_FILES)
    assert (destination / layout.HISTORY_FILE).read_text() == layout.HISTORY_FILE


def test_remove_folder_is_fine_with_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_text("x")
    layout.remove_folder(tmp_path / "run")
    layout.remove_folder(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_package_imports_no_keras_tensorflow_or_scikit_learn() -> None:
    # The window imports it at start-up, before TensorFlow loads in the background.
    code = (
        "import sys, model.runfolder, model.results\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'sklearn', 'scipy'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
