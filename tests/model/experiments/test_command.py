"""The sweep command's checks: every bad argument is one line and exit status 2, before anything runs."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
from model.experiments.store import RESULTS_FILE
from tests.model.experiments.helpers import tiny_config
from tests.model.experiments.raytools import ROOT


@pytest.fixture
def config(tmp_path: Path, tiny_data: Path) -> Path:
    path = tmp_path / "base.json"
    path.write_text(tiny_config(tiny_data, epochs=1).to_json(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--vary", "optimizer.nmae=sgd"], "error: optimizer.nmae: no such setting; did you mean optimizer.name?"),
        (["--vary", "optimizer.name=sgd,fast"], "error: optimizer.name: 'fast' is not one of: sgd, adam"),
        (["--vary", "optimizer.learning_rate=0.1,0"], "error: optimizer.learning_rate: must be > 0.0"),
        (["--vary", "batch_size=32", "--vary", "batch_size=64"], "error: batch_size: is varied twice"),
        ([], "error: vary: give --vary PATH=V1,V2"),
        (["--vary", "seed=1,2", "--max-concurrent", "0"], "error: max_concurrent must be at least 1, got 0"),
        (["--vary", "seed=1,2", "--data", "/nowhere/data.npz"], "error: --data: /nowhere/data.npz does not exist"),
        (["--experiment", "overfitting", "--epochs", "2", "--vary", "seed=1"], None),
    ],
)
def test_bad_arguments_end_with_one_line_and_status_2_before_anything_starts(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str | None
) -> None:
    out = tmp_path / "out"
    status = main(["sweep", "--config", str(config), "--out", str(out), *args])
    err = capsys.readouterr().err
    if line is None:  # --experiment with --vary: the experiment decides, --vary is refused
        assert status == 2 and "error: vary: --vary and --experiment" in err
    else:
        assert status == 2, err
        assert err.strip().splitlines()[-1].startswith(line), err
    assert not out.exists()


def test_an_unknown_experiment_and_an_earlier_comparison_are_refused(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sweep", "--config", str(config), "--experiment", "momentum"])
    assert caught.value.code == 2
    assert "invalid choice: 'momentum'" in capsys.readouterr().err
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "comparison.json").write_text("{}", encoding="utf-8")
    status = main(["sweep", "--config", str(config), "--vary", "seed=1,2", "--out", str(tmp_path / "earlier")])
    assert status == 2
    assert "holds a comparison already; resume it (--resume)" in capsys.readouterr().err


def test_a_sweep_in_process_writes_the_comparison(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    status = main(["sweep", "--config", str(config), "--vary", "seed=1,2", "--engine", "in-process", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "[1/2] seed=1: training in this process" in captured.err
    assert "[2/2] seed=2: finished" in captured.err
    rows = list(csv.DictReader(io.StringIO((out / RESULTS_FILE).read_text(encoding="utf-8"))))
    assert [(r["seed"], r["state"]) for r in rows] == [("1", "finished"), ("2", "finished")]
    assert f"results: {out / RESULTS_FILE}" in captured.out


def test_the_command_line_and_the_experiments_package_start_without_ray_or_tensorflow() -> None:
    code = (
        "import sys; import model.experiments, model.cli; model.cli.build_parser(); "
        "print(sorted(m for m in ('ray', 'tensorflow', 'keras', 'matplotlib', 'PySide6') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
