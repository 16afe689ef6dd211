"""The command line end to end, on a small slice of the real MNIST file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent.parent


def run_main(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def test_train_evaluate_predict_end_to_end(mnist_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_main(
        "train", "--config", "resources/presets/mlp.json", "--data", str(mnist_path),
        "--epochs", "2", "--limit", "3000", "--out", str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "epoch 1/2" in proc.stderr and "epoch 2/2" in proc.stderr
    assert f"run folder: {out}" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8  # 2,400 training samples, two epochs
    assert metrics["finished"]["reason"] == "completed" and metrics["dataset"]["name"] == "mnist"
    n_train = int(metrics["dataset"]["split"].split(" · ")[0].removeprefix("train ").replace(",", ""))
    assert metrics["steps_per_epoch"] == -(-n_train // 128)  # batches of the preset's 128
    assert (out / "history.csv").read_text().count("\n") == 3

    proc = run_main("evaluate", str(out))
    assert proc.returncode == 0, proc.stderr
    n_test = sum(row["support"] for row in metrics["per_class"])
    assert f"the run's test split ({n_test} samples)" in proc.stdout
    accuracy = float(proc.stdout.split("accuracy ")[1].split()[0])
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-4)

    with np.load(mnist_path) as data:
        digits, labels = data["x_test"][:3], data["y_test"][:3]
    paths = []
    for i, digit in enumerate(digits):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(digit).resize((112, 112)).save(path)
        paths.append(str(path))
    proc = run_main("predict", str(out / "model.keras"), *paths)
    assert proc.returncode == 0, proc.stderr
    predicted = [int(line.split(": ")[1].split()[0]) for line in proc.stdout.strip().splitlines()]
    assert sum(p == t for p, t in zip(predicted, labels, strict=True)) >= 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "--config", "nope.json"), "cannot read configuration"),
        (("train", "--config", "resources/presets/mlp.json", "--epochs", "0"), "--epochs must be at least 1"),
        (("train", "--config", "resources/presets/mlp.json", "--data", "/nonexistent/x.npz"), "/nonexistent/x.npz"),
        (("train", "--config", "resources/presets/mlp.json", "--out", "resources"), "is not a run folder"),
        (("evaluate", "/nonexistent/model.keras"), "no such model file"),
        (("predict", "pyproject.toml", "x.png"), "not a Keras model file"),
        (("frobnicate",), "invalid choice"),
        (("train", "--config", "resources/presets/mlp.json", "--set", "optimiser.name=adam"),
         "optimiser.name: no such setting; did you mean optimizer.name?"),
        (("train", "--config", "resources/presets/mlp.json", "--set", "epochs=many"),
         "epochs: must be a whole number, got 'many'"),
        (("train", "--config", "resources/presets/mlp.json", "--set", "optimizer.name=lbfgs"),
         "optimizer.name: 'lbfgs' is not one of: sgd, adam, adamw, nadam, adamax"),
        (("train", "--config", "resources/presets/mlp.json", "--set", "layers[0].units=5"),
         "layers[0].units: a Flatten layer has no units"),
        (("train", "--config", "resources/presets/mlp.json", "--set", "epochs"), "expected PATH=VALUE"),
    ],
)
def test_bad_arguments_end_with_one_line_and_nonzero_exit(args: tuple[str, ...], message: str) -> None:
    proc = run_main(*args, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(("error:", "main.py")) and message in last


def test_set_changes_the_configuration_that_is_trained(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_main(
        "train", "--config", "resources/presets/mlp.json", "--set", "data.name=digits", "--set", "epochs=1",
        "--set", "schedule.kind=plateau", "--set", "schedule.min_delta=0.01", "--set", "optimizer.name=adamax",
        "--set", "optimizer.beta_2=0.99", "--set", "batch_size=full", "--limit", "200", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "epoch 1/1" in proc.stderr
    saved = json.loads((out / "config.json").read_text())
    assert saved["schedule"]["kind"] == "plateau" and saved["schedule"]["min_delta"] == 0.01
    assert saved["optimizer"]["name"] == "adamax" and saved["optimizer"]["beta_2"] == 0.99
    assert saved["batch_size"] == "full" and saved["data"] == {"name": "digits", "path": None, "limit": 200}


def test_bad_set_fails_before_any_data_loads() -> None:
    proc = run_main("train", "--config", "resources/presets/mlp.json", "--set", "split.train=0.5", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: split: train + validation + test must sum to 1, got 0.75 (0.5 + 0.1 + 0.15)"


def test_bad_config_file_names_the_field(tmp_path: Path) -> None:
    config = json.loads((ROOT / "resources/presets/mlp.json").read_text())
    config["layers"][1]["units"] = -3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    proc = run_main("train", "--config", str(path), timeout=120)
    assert proc.returncode == 2
    assert "error: layers[1].units: must be between 1 and 65536, got -3 (in bad.json)" in proc.stderr


def test_help_for_each_command() -> None:
    for args in ((), ("train",), ("evaluate",), ("predict",)):
        proc = run_main(*args, "--help", timeout=120)
        assert proc.returncode == 0
        assert "usage:" in proc.stdout


# --------------------------------------------------------------------------- nothing lost (issue 12)


def _status(folder: Path) -> dict:
    try:
        return json.loads((folder / "autosave.json").read_text())
    except (OSError, ValueError):
        return {}


def test_one_writer_per_folder_a_checkpoint_every_epoch_and_resume_after_kill_9(mnist_path: Path, tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "run"
    args = ("train", "--config", "resources/presets/mlp.json", "--data", str(mnist_path), "--limit", "3000", "--out", str(out))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *args, "--epochs", "40"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while _status(out).get("epochs_done", 0) < 2:
            assert first.poll() is None and time.monotonic() < deadline, "no checkpoint"
            time.sleep(0.05)
        # A second run into the same folder is refused at once, before any data loads.
        second = run_main(*args, "--epochs", "1", timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"is being written by another run (process {first.pid})" in second.stderr.strip().splitlines()[-1]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    from model.runfolder import load_run

    done = len(load_run(out).history)  # the folder holds one consistent run after kill -9
    assert done >= 2 and _status(out)["status"] == "running"

    resumed = run_main("train", "--resume", str(out), "--epochs", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"epoch {done + 1}/{done + 1}" in resumed.stderr and "starts afresh" not in resumed.stderr
    saved = load_run(out)
    assert len(saved.history) == done + 1 and saved.optimizer_state
    assert sorted(p.name for p in out.iterdir()) == [
        "batches.npz", "config.json", "epoch_confusion.npz", "history.csv", "metrics.json", "model.keras", "training_state.npz"
    ]

    # Rough edge 9: with --data, the data's own test set, and it says which.
    evaluated = run_main("evaluate", str(out), "--data", str(mnist_path))
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"evaluated on the official test set of MNIST from {mnist_path} (10,000 samples)" in evaluated.stdout


def test_a_disk_full_at_the_end_keeps_the_last_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    pytest.importorskip("tensorflow")
    import model.runfolder.save
    from model.cli import main
    from model.runfolder import load_run
    from tests.model.hostile import tiny_npz

    def disk_full(path: Path, *args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # half-way: the model is in the staging folder

    monkeypatch.setattr(model.runfolder.save, "save_training_state", disk_full)
    out = tmp_path / "run"
    code = main(["train", "--config", str(ROOT / "resources/presets/mlp.json"), "--data", tiny_npz(tmp_path / "d.npz"),
                 "--epochs", "2", "--out", str(out)])  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "No space left on device" in error
    assert f"the checkpoint of the last finished epoch is kept in {out} (continue with: train --resume {out})" in error
    assert len(load_run(out).history) == 2  # was: nothing at all (the run was written only at the end)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "run"]


def test_evaluate_without_a_run_config_uses_the_datas_test_part(tmp_path: Path) -> None:
    model = tmp_path / "m.keras"
    model.write_bytes((ROOT / "tests/fixtures/run_v1/model.keras").read_bytes())
    data = tmp_path / "d.csv"
    rows = ["label," + ",".join(f"p{i}" for i in range(16))] + [f"{k % 4}," + ",".join(["0"] * 16) for k in range(200)]
    data.write_text("\n".join(rows))
    proc = run_main("evaluate", str(model), "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    assert f"evaluated on the test part of the CSV file {data} (20 samples, a default split and seed 42)" in proc.stdout


def test_an_older_keras_is_named_at_start_and_opens_no_model(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import model.modelio
    from model.cli import main

    monkeypatch.setattr(model.modelio, "keras_version", lambda: "3.12.0")
    assert main(["evaluate", str(ROOT / "tests/fixtures/run_v1")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("warning: Keras 3.12.0 is older than 3.14.1")
    assert lines[-1].startswith("error: model.keras: not opened: Keras 3.12.0 is older than 3.14.1")


def test_two_runs_started_in_one_second_get_two_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the hostile-input table: two `train` without --out in the same second both
    # picked runs/<date-time>, and the second was refused as "being written by another run".
    import datetime
    import threading

    from model import cli
    from model.runfolder import claim_folder

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return cls(2026, 12, 2, 3, 4, 5)

    monkeypatch.setattr(cli._dt, "datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    written: list[Path] = []
    monkeypatch.setattr(cli, "_train_into", lambda out, config, args: written.append(out) or 0)
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:  # claims the name first, from another thread (as another process would)
        with claim_folder(Path("runs") / "20261202-030405"):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(10)
        assert cli._train_into_new_folder(None, None) == 0  # type: ignore[arg-type]
        (tmp_path / "runs" / "20261202-030405-2").mkdir()  # a finished run keeps its name too
        assert cli._train_into_new_folder(None, None) == 0  # type: ignore[arg-type]
    finally:
        release.set()
        thread.join()
    assert [p.name for p in written] == ["20261202-030405-2", "20261202-030405-3"]


def test_data_and_limit_options_keep_the_other_data_settings() -> None:
    """--data and --limit change where the data comes from and how much, nothing else: the
    drawing preset's pen digits stay mixed in."""
    from model.cli import _data_spec
    from model.config import load_preset

    config = load_preset("cnn_drawing")
    assert config.data.pen_digits > 0
    spec = _data_spec(config, "/data/mnist.npz")
    assert (spec.name, spec.path, spec.pen_digits) == ("mnist", "/data/mnist.npz", config.data.pen_digits)
