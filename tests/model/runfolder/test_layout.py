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


# --------------------------------------------------------------------------- one writer, leftovers, permissions


HOLD = (
    "import sys, time; from pathlib import Path; from model.runfolder.layout import claim_folder\n"
    "with claim_folder(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


def test_a_folder_another_process_writes_is_refused_at_once(tmp_path: Path) -> None:
    target = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(target)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert layout.is_claimed(target)
        with pytest.raises(ProjectError, match=rf"run is being written by another run \(process {holder.pid}\)"):
            layout.replace_folder(target, lambda d: (d / "model.keras").write_text("mine"))
        assert not target.exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    # The system released the lock of the killed process: the folder can be written again.
    layout.replace_folder(target, lambda d: (d / "model.keras").write_text("mine"))
    assert (target / "model.keras").read_text() == "mine" and not layout.is_claimed(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock file left behind


def test_claims_nest_in_one_thread_and_exclude_other_threads(tmp_path: Path) -> None:
    import threading

    target = tmp_path / "run"
    seen: list[str] = []
    with layout.claim_folder(target):
        layout.replace_folder(target, lambda d: (d / "model.keras").write_text("v1"))  # nested: allowed

        def other() -> None:
            try:
                with layout.claim_folder(target):
                    seen.append("claimed")
            except ProjectError as exc:
                seen.append(str(exc))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert "being written by another run" in seen[0]


def test_a_read_only_or_impossible_target_is_refused_when_claimed(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ProjectError, match="cannot write into"), layout.claim_folder(tmp_path / "afile" / "run"):
        pass


def test_leftovers_of_a_killed_save_are_cleaned_and_an_interrupted_swap_undone(tmp_path: Path) -> None:
    target = tmp_path / "run"
    def fill(folder: Path) -> None:
        (folder / "model.keras").write_text("v1")
        (folder / "config.json").write_text("{}")

    layout.replace_folder(target, fill)
    # What kill -9 leaves: a temporary model file inside, a staging folder beside.
    (target / ".model.keras.k3j_x9a2.tmp.keras").write_bytes(b"half a model")
    (tmp_path / ".run.abcd1234.saving").mkdir()
    assert layout.check_target(target)  # the leftovers do not make it "a run and other files"
    layout.clean_leftovers(target)
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # Killed between the two renames of a swap: only the old folder is left; it is put back.
    target.rename(tmp_path / ".run.zzzz9999.old")
    layout.clean_leftovers(target)
    assert (target / "model.keras").read_text() == "v1"


def test_saved_folders_and_files_get_the_users_permissions(tmp_path: Path) -> None:
    import os
    import stat

    from model.fileio import write_text_atomic

    old = os.umask(0o022)
    try:
        target = tmp_path / "run"
        layout.replace_folder(target, lambda d: write_text_atomic(d / "config.json", "{}"))
        assert stat.S_IMODE(target.stat().st_mode) == 0o755  # was 0700, the staging folder's
        assert stat.S_IMODE((target / "config.json").stat().st_mode) == 0o644  # was 0600, mkstemp's
        os.chmod(target, 0o750)
        layout.replace_folder(target, lambda d: write_text_atomic(d / "config.json", "{}"))
        assert stat.S_IMODE(target.stat().st_mode) == 0o750  # an existing folder keeps its mode
        os.chmod(target / "config.json", 0o640)
        write_text_atomic(target / "config.json", "{1}")
        assert stat.S_IMODE((target / "config.json").stat().st_mode) == 0o640  # and a replaced file its own
    finally:
        os.umask(old)
