"""Fixtures shared by the core's tests: a run folder trained deterministically by the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="session")
def deterministic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch run of the MLP preset on the offline digits, trained with op determinism on.

    Its TensorBoard logs, written as it trained, are in ``tensorboard`` beside it.
    """
    out = tmp_path_factory.mktemp("replayable") / "run"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "train", "--config", "resources/presets/mlp.json",
         "--set", "data.name=digits", "--limit", "300", "--epochs", "2", "--deterministic", "--out", str(out),
         "--tensorboard", str(out.parent / "tensorboard")],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out
