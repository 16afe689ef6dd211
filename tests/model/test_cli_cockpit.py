"""The cockpit's commands end to end: lr-find, replay, export-tensorboard, train --tensorboard."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tests.model.test_cli import run_main

DIGITS = ("--config", "resources/presets/mlp.json", "--set", "data.name=digits", "--limit", "300")


def test_lr_find_prints_a_suggestion_and_writes_the_curve(tmp_path: Path) -> None:
    proc = run_main("lr-find", *DIGITS, "--start", "1e-6", "--end", "1", "--steps", "40", "--csv", str(tmp_path / "c.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "batch 1/40 · learning rate 1.00e-06" in proc.stderr
    assert proc.stdout.startswith(("40 batches", "3"))  # all of them, or fewer when the loss blew up
    assert "suggested learning rate" in proc.stdout and "--set optimizer.learning_rate=" in proc.stdout
    rows = list(csv.DictReader((tmp_path / "c.csv").read_text().splitlines()))
    assert rows and list(rows[0]) == ["step", "learning_rate", "loss", "smoothed_loss"]
    assert float(rows[0]["learning_rate"]) == pytest.approx(1e-6)


def test_train_with_tensorboard_writes_the_run_as_it_trains(deterministic_run: Path) -> None:
    from tests.model.test_tb_export import read_events

    events = read_events(deterministic_run.parent / "tensorboard")
    assert [s for s, _ in events["train/epoch_loss"]] == [0, 1]
    assert len(events["train/batch_loss"]) >= 2 and "validation/epoch_accuracy" in events
    assert "train/batch_gradient_norm/L2_Dense" in events and "validation/class_accuracy/9" in events


def test_replay_of_a_deterministic_run_matches_exactly(deterministic_run: Path) -> None:
    proc = run_main("replay", str(deterministic_run))
    assert proc.returncode == 0, proc.stderr
    # The saved batches.npz is compared step by step (before it was read, only the epoch figures were).
    assert "the replay matches the saved run exactly (4 per-batch losses compared)" in proc.stdout
    assert "op determinism on" in proc.stderr and "epoch 2/2" in proc.stderr


def test_replay_says_where_a_run_parts(deterministic_run: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(deterministic_run, changed)
    rows = list(csv.reader((changed / "history.csv").read_text().splitlines()))
    rows[2][1] = repr(float(rows[2][1]) * 1.01)  # epoch 2's loss
    with (changed / "history.csv").open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    proc = run_main("replay", str(changed))
    assert proc.returncode == 1, proc.stderr
    assert "the replay parts from the saved run at epoch 2: loss" in proc.stdout


def test_export_tensorboard_of_a_run_folder(deterministic_run: Path, tmp_path: Path) -> None:
    from tests.model.test_tb_export import read_events

    proc = run_main("export-tensorboard", str(deterministic_run), str(tmp_path / "tb"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote ") and "tensorboard --logdir" in proc.stdout
    events = read_events(tmp_path / "tb")
    assert [s for s, _ in events["validation/epoch_loss"]] == [0, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lr-find", *DIGITS, "--start", "0"), "error: --start: must be above 0 and below end (10), got 0"),
        (("lr-find", *DIGITS, "--steps", "3"), "error: --steps: must be a whole number from 10 to 100000, got 3"),
        (("lr-find", *DIGITS, "--end", "1e9"), "error: --end: must be at most 1e6"),
        (("lr-find", "--config", "nope.json"), "cannot read configuration"),
        (("lr-find", *DIGITS, "--set", "optimizer.learning_rat=1"), "optimizer.learning_rat: no such setting"),
        (("lr-find", *DIGITS, "--start", "abc"), "argument --start: invalid float value: 'abc'"),
        (("lr-find", "--config", "resources/presets/mlp.json", "--limit", "5"), "--limit must be at least 20"),
        (("replay", "/nonexistent/run"), "error: /nonexistent/run is not a run folder"),
        (("replay", "resources", "--tolerance", "-1"), "error: --tolerance: must be 0 or more"),
        (("export-tensorboard", "/nonexistent/run", "tb"), "error: /nonexistent/run is not a run folder"),
        (("train", *DIGITS, "--tensorboard", "pyproject.toml/tb"), "error: cannot write TensorBoard logs into pyproject.toml/tb"),
    ],
)
def test_bad_input_ends_with_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    proc = run_main(*args, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(("error:", "main.py")) and message in last


def test_help_for_each_new_command() -> None:
    for command in ("lr-find", "replay", "export-tensorboard"):
        proc = run_main(command, "--help", timeout=120)
        assert proc.returncode == 0 and "usage:" in proc.stdout
