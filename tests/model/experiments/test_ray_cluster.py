"""The cluster path: a sweep against a separately started Ray head, given by its address.

The head is ``ray start --head --block`` on 127.0.0.1 with a port, a temp dir and a token of
its own, in a process group of its own. It is stopped by ending that group, not with
``ray stop``, which would end every Ray process on the machine, other people's too; a
marker in the environment finds anything of ours left over. The head's environment does not
carry this checkout on ``PYTHONPATH``: the engine ships the package to the workers
(``runtime_env`` ``py_modules``). The drivers (the command line, and the API in a script)
run in processes of their own, as a user's would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.experiments.store import RESULTS_FILE
from tests.model.experiments.helpers import TOO_BIG_KERNEL, tiny_config
from tests.model.experiments.raytools import (
    ROOT,
    kill_marked,
    new_mark,
    ray_env,
    require_ray,
    sweep_command,
    wait_until_gone,
)

TIMEOUT = 600


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_head() -> Iterator[tuple[str, dict[str, str]]]:
    """A Ray head on 127.0.0.1: its address, and the environment its drivers need."""
    require_ray()
    mark = new_mark()
    tmp = Path(tempfile.mkdtemp(prefix="glhead-", dir="/tmp"))
    token = tmp / "token"
    token.write_text(secrets.token_hex(16), encoding="utf-8")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    head_env = ray_env(mark, tmp, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", **auth)  # loopback only
    head_env.pop("PYTHONPATH")
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    command = [
        str(ray_cli), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
        f"--temp-dir={tmp / 'ray'}", "--include-dashboard=false", "--disable-usage-stats", "--block",
    ]  # fmt: skip
    head = subprocess.Popen(
        command, env=head_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    said = []
    assert head.stdout is not None
    deadline = time.monotonic() + 180
    for line in head.stdout:
        said.append(line)
        if "Ray runtime started" in line or time.monotonic() > deadline:
            break
    if not any("Ray runtime started" in line for line in said):
        os.killpg(head.pid, signal.SIGKILL)
        kill_marked(mark)
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"a Ray head cannot start on this machine: {''.join(said[-5:]).strip()}")
    driver_env = ray_env(mark, tmp, **auth)
    try:
        yield f"127.0.0.1:{port}", driver_env
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # the head's group: this head and what it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(10)
        head.stdout.close()
        left = wait_until_gone(mark, timeout=30)
        kill_marked(mark)
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"processes of the Ray head were left: {left}"


_API_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from model.experiments import start_comparison
from model.experiments.spec import experiment_from_vary
from model.config import load_config
experiment = experiment_from_vary(load_config({config!r}), [{vary!r}])
comparison = start_comparison(experiment, out_dir={out!r}, address={address!r}, max_concurrent=2)
comparison.wait()
print(json.dumps({{
    "states": [str(r.state) for r in comparison.results().rows],
    "messages": [r.message for r in comparison.results().rows],
    "address": comparison.address,
    "failure": None if comparison.failure is None else comparison.failure.message,
}}))
"""


def test_the_api_runs_a_comparison_on_a_cluster_given_by_address(
    ray_head: tuple[str, dict[str, str]], tiny_data: Path, tmp_path: Path
) -> None:
    address, env = ray_head
    config = tmp_path / "base.json"
    config.write_text(tiny_config(tiny_data).to_json(), encoding="utf-8")
    script = _API_SCRIPT.format(
        root=str(ROOT), config=str(config), vary=f"layers[0].kernel_size=3,{TOO_BIG_KERNEL}",
        out=str(tmp_path / "api"), address=address,
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["failure"] is None
    assert answer["address"] == address
    assert answer["states"] == ["finished", "failed"]
    assert "cannot be built" in answer["messages"][1]


def test_the_sweep_command_honours_ray_address_and_says_one_trial_trains_on_one_node(
    ray_head: tuple[str, dict[str, str]], tiny_data: Path, tmp_path: Path
) -> None:
    address, env = ray_head
    config = tmp_path / "base.json"
    config.write_text(tiny_config(tiny_data).to_json(), encoding="utf-8")
    out = tmp_path / "sweep"
    command = sweep_command("--config", str(config), "--vary", "optimizer.name=sgd,adam", "--out", str(out))
    done = subprocess.run(
        command, env={**env, "RAY_ADDRESS": address}, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert f"connected to the Ray cluster at {address}: 1 nodes, 2 CPUs" in done.stderr
    assert "keras-team/keras#20585" in done.stderr
    rows = list(csv.DictReader(io.StringIO((out / RESULTS_FILE).read_text(encoding="utf-8"))))
    assert [r["state"] for r in rows] == ["finished", "finished"]


def test_a_wrong_address_is_one_sentence_with_the_fix(tiny_data: Path, tmp_path: Path) -> None:
    require_ray()
    mark = new_mark()
    tmp = Path(tempfile.mkdtemp(prefix="glbad-", dir="/tmp"))
    config = tmp_path / "base.json"
    config.write_text(tiny_config(tiny_data).to_json(), encoding="utf-8")
    command = sweep_command(
        "--config", str(config), "--vary", "seed=1,2", "--address", f"127.0.0.1:{_free_port()}", "--out", str(tmp_path / "x")
    )  # fmt: skip
    env = ray_env(mark, tmp)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        left = wait_until_gone(mark, timeout=30)
        kill_marked(mark)
        shutil.rmtree(tmp, ignore_errors=True)
    assert done.returncode == 1
    assert "error: cannot connect to the Ray cluster at 127.0.0.1:" in done.stderr
    assert "nothing answers at" in done.stderr and "check the address" in done.stderr
    assert not left
