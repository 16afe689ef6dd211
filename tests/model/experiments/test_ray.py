"""Comparisons on real Ray: a local instance, end to end through the API and the command line.

One local instance is shared by the API tests of this module (starting Ray takes seconds);
the command-line tests run ``sweep`` in a subprocess, which starts and stops its own
instance, as a user's would. Every Ray process carries a marker in its environment, and
each test checks that none of its processes is left (other people's Ray is never touched).
They skip, saying why, only when Ray is not installed or cannot start here.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.events import BatchRecord, DataReady, EpochRecord, RunFinished, RunStarted
from model.experiments.engine import start_comparison
from model.experiments.spec import experiment_from_vary
from model.experiments.store import RESULTS_FILE, TUNE_DIR, load_comparison
from model.experiments.table import TrialState
from model.runfolder import is_run_folder
from tests.model.experiments.conftest import KeepingListener
from tests.model.experiments.helpers import TOO_BIG_KERNEL, same_tables, tiny_config
from tests.model.experiments.raytools import (
    MARKER,
    kill_marked,
    new_mark,
    ray_env,
    require_ray,
    sweep_command,
    wait_until_gone,
)

TIMEOUT = 600


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """A local Ray instance in this process, as the engine starts it; its marker."""
    require_ray()
    import ray

    from model.experiments.ray_driver import init_local

    mark = new_mark()
    tmp = Path(tempfile.mkdtemp(prefix="glray-", dir="/tmp"))  # short: Ray's socket paths live in it
    patch = pytest.MonkeyPatch()
    patch.setenv(MARKER, mark)
    patch.setenv("RAY_TMPDIR", str(tmp))
    try:
        init_local(num_cpus=2)
    except Exception as exc:  # noqa: BLE001 - any reason Ray cannot start here is a reason to skip
        patch.undo()
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"Ray cannot start a local instance on this machine: {type(exc).__name__}: {exc}")
    yield mark
    ray.shutdown()
    left = wait_until_gone(mark)
    kill_marked(mark)
    patch.undo()
    shutil.rmtree(tmp, ignore_errors=True)
    assert not left, f"Ray processes left after ray.shutdown(): {left}"


def test_a_sweep_on_ray_streams_every_trial_and_a_failed_trial_does_not_end_the_others(
    local_ray: str, tiny_data: Path, tmp_path: Path, heard: KeepingListener
) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data), [f"layers[0].kernel_size=3,{TOO_BIG_KERNEL},5"])
    comparison = start_comparison(experiment, heard, out_dir=tmp_path / "cmp", max_concurrent=2)
    assert comparison.wait(TIMEOUT), "the comparison did not end"
    assert comparison.failure is None, comparison.failure
    rows = comparison.results().rows
    assert [row.state for row in rows] == [TrialState.FINISHED, TrialState.FAILED, TrialState.FINISHED]
    assert "cannot be built" in rows[1].message
    assert rows[0].epochs == 2 and rows[0].test_accuracy is not None
    assert heard.threads <= {"comparison-driver", "comparison-pump"}
    assert any("already connected" in n for n in heard.notices)
    # The records crossed from Ray's workers in order, each trial's own.
    for trial_id in (0, 2):
        kinds = [type(r) for r in heard.of(trial_id)]
        assert kinds[:2] == [DataReady, RunStarted] and kinds[-1] is RunFinished, kinds
        assert BatchRecord in kinds and kinds.count(EpochRecord) == 2
    running = [u for u in heard.updates if u.state is TrialState.RUNNING]
    assert {u.node for u in running} == {"127.0.0.1"}
    # Each trained trial's run folder came home through the hub; Tune kept its state.
    state = comparison.state()
    assert state.trials[1].run_folder is None
    for run in (state.trials[0], state.trials[2]):
        assert run.run_folder is not None and is_run_folder(run.run_folder)
    assert (tmp_path / "cmp" / TUNE_DIR).is_dir()
    loaded = load_comparison(tmp_path / "cmp")
    assert loaded.engine == "ray"
    same_tables(loaded.table, comparison.results())


class StopsAt(KeepingListener):
    """Stops one trial, or all, at the first batch of ``trial_id``."""

    def __init__(self, trial_id: int, everything: bool) -> None:
        super().__init__()
        self.trial_id = trial_id
        self.everything = everything
        self.comparison = None

    def on_record(self, trial_id: int, record: object) -> None:
        super().on_record(trial_id, record)  # type: ignore[arg-type]
        if trial_id == self.trial_id and isinstance(record, BatchRecord) and self.comparison is not None:
            if self.everything:
                self.comparison.stop_all()
            else:
                self.comparison.stop(trial_id)


def test_one_trial_stops_through_the_hub_while_the_other_finishes(
    local_ray: str, tiny_data: Path, tmp_path: Path
) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data), ["epochs=200,1"])
    listener = StopsAt(0, everything=False)
    comparison = start_comparison(experiment, listener, out_dir=tmp_path / "cmp", max_concurrent=2)
    listener.comparison = comparison  # type: ignore[assignment]
    assert comparison.wait(TIMEOUT)
    first, second = comparison.state().trials
    assert first.state is TrialState.STOPPED and not first.rerun
    assert first.finished is not None and "stopped by the user" in first.finished.message
    assert len(first.history) < 200
    assert second.state is TrialState.FINISHED


def test_an_interrupted_sweep_resumes_from_the_tune_state_in_its_folder(
    local_ray: str, tiny_data: Path, tmp_path: Path
) -> None:
    # The first trial is long enough for the stop to reach it while it trains.
    experiment = experiment_from_vary(tiny_config(tiny_data), ["epochs=30,2,1"])
    listener = StopsAt(0, everything=True)
    comparison = start_comparison(experiment, listener, out_dir=tmp_path / "cmp", max_concurrent=1)
    listener.comparison = comparison  # type: ignore[assignment]
    assert comparison.wait(TIMEOUT)
    runs = comparison.state().trials
    assert [r.state for r in runs] == [TrialState.STOPPED] * 3
    assert all(r.rerun for r in runs)

    heard = KeepingListener()
    resumed = start_comparison(experiment, heard, out_dir=tmp_path / "cmp", max_concurrent=2, resume=True)
    assert resumed.wait(TIMEOUT)
    assert any(n.startswith("resuming") for n in heard.notices)
    assert [r.state for r in resumed.state().trials] == [TrialState.FINISHED] * 3


# --------------------------------------------------------------------------- the command line


def _results(folder: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / RESULTS_FILE).read_text(encoding="utf-8"))))


@pytest.fixture
def sweep_env(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    require_ray()
    mark = new_mark()
    tmp = Path(tempfile.mkdtemp(prefix="glray-", dir="/tmp"))
    yield mark, ray_env(mark, tmp)
    left = wait_until_gone(mark)
    kill_marked(mark)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not left, f"the sweep left Ray processes behind: {left}"


def _config_file(tmp_path: Path, tiny_data: Path, **changes: object) -> Path:
    path = tmp_path / "base.json"
    path.write_text(tiny_config(tiny_data, **changes).to_json(), encoding="utf-8")
    return path


def test_the_sweep_command_starts_its_own_ray_and_writes_the_comparison(
    sweep_env: tuple[str, dict[str, str]], tiny_data: Path, tmp_path: Path
) -> None:
    _, env = sweep_env
    out = tmp_path / "sweep"
    command = sweep_command(
        "--config", str(_config_file(tmp_path, tiny_data)), "--vary", f"layers[0].kernel_size=3,{TOO_BIG_KERNEL}",
        "--vary", "optimizer.name=sgd,adam", "--max-concurrent", "2", "--out", str(out),
    )  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if "cannot start a local Ray instance" in done.stderr:
        pytest.skip(f"Ray cannot start on this machine: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 1, done.stderr  # a trial failed: the exit status says so
    assert "started a local Ray instance" in done.stderr
    assert "[1/4] layers[0].kernel_size=3, optimizer.name=sgd: training on 127.0.0.1" in done.stderr
    assert "[1/4] layers[0].kernel_size=3, optimizer.name=sgd: finished" in done.stderr
    assert f"[4/4] layers[0].kernel_size={TOO_BIG_KERNEL}, optimizer.name=adam: failed" in done.stderr
    rows = _results(out)
    assert [r["state"] for r in rows] == ["finished", "finished", "failed", "failed"]
    assert [r["layers[0].kernel_size"] for r in rows] == ["3", "3", "64", "64"]
    assert all("cannot be built" in r["message"] for r in rows[2:])
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["00-3-sgd", "01-3-adam"]
    assert "results:" in done.stdout and "layers[0].kernel_size=3, optimizer.name=adam" in done.stdout


def test_ctrl_c_stops_the_sweep_writes_what_it_has_and_resume_finishes_it(
    sweep_env: tuple[str, dict[str, str]], tiny_data: Path, tmp_path: Path
) -> None:
    _, env = sweep_env
    out = tmp_path / "sweep"
    config = _config_file(tmp_path, tiny_data, epochs=3)
    command = sweep_command(
        "--config", str(config), "--vary", "optimizer.learning_rate=0.1,0.01", "--max-concurrent", "1", "--out", str(out)
    )  # fmt: skip
    # Like Ctrl+C at a terminal: SIGINT to the sweep's whole process group.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    lines = []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if "training on" in line:
            os.killpg(process.pid, signal.SIGINT)
            break
    _, rest = process.communicate(timeout=TIMEOUT)
    stderr = "".join(lines) + rest
    assert process.returncode == 130, stderr
    assert "stopping every trial" in stderr and "resume with: --resume" in stderr
    assert [r["state"] for r in _results(out)] == ["stopped", "stopped"]

    done = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert [r["state"] for r in _results(out)] == ["finished", "finished"]
    assert load_comparison(out).trials[0].history[-1].epoch == 2
