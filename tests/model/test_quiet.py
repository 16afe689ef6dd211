"""TensorFlow's start-up notes stay out of the user's terminal unless --verbose (rough edge 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.quiet import is_chatter

ROOT = Path(__file__).resolve().parent.parent.parent
NOTES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796167260.173343    8755 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796167265.056885    8755 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    "2024-05-01 12:00:00.123456: I tensorflow/core/platform/cpu_feature_guard.cc:182] This TensorFlow binary",
)


def test_log_notes_are_told_from_messages() -> None:
    assert all(is_chatter(line) for line in NOTES)
    for ours in ("error: cannot read configuration x.json", "epoch 1/5 · loss 0.3", "warning: the run diverged"):
        assert not is_chatter(ours)


def _python(code: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRADIENT_LAB_VERBOSE")}
    environment.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)


def test_native_notes_are_held_back_and_everything_else_passes() -> None:
    code = (
        "import os, sys\n"
        "from model import quiet\n"
        "quiet.configure(False)\n"
        "with quiet.quiet_native_stderr():\n"
        f"    os.write(2, {NOTES[1]!r}.encode() + b'\\n')\n"
        "    os.write(2, b'a real problem\\n')\n"
        "    print('from python', file=sys.stderr)\n"
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == ["a real problem", "from python"]
    assert out.stdout.strip() == "3"  # inherited by child processes, set before any import of TensorFlow


def test_verbose_leaves_tensorflow_as_it_is() -> None:
    out = _python("from model import quiet; quiet.configure(True); import os; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))")
    assert out.stdout.strip() == "None"


@pytest.mark.parametrize("verbose", [False, True])
def test_tensorflow_is_imported_quietly_unless_verbose(verbose: bool) -> None:
    pytest.importorskip("tensorflow")
    # What every command does (main.py configures first; the commands import through quiet).
    # The table of hostile inputs runs the real commands without TF_CPP_MIN_LOG_LEVEL too.
    code = (
        "import sys\n"
        "from model import quiet\n"
        f"quiet.configure({verbose}); quiet.import_tensorflow()\n"
        "import tensorflow as tf; tf.config.list_physical_devices('GPU')\n"
        "f = tf.function(lambda x: x)\n"
        "[f(tf.zeros([i + 1])) for i in range(8)]  # retracing warnings\n"
        "print('done', file=sys.stderr)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if is_chatter(line) or "retracing" in line or "AutoGraph" in line]
    if verbose:
        assert any("retracing" in line for line in notes)
    else:
        assert notes == [] and out.stderr.strip() == "done"


def test_the_window_s_worker_process_imports_tensorflow_quietly() -> None:
    pytest.importorskip("tensorflow")
    # What the window does: main.py configures, then the runner warms a spare worker, a
    # spawned interpreter that imports TensorFlow (it printed Abseil's oneDNN and CUDA notes).
    code = (
        "import sys\n"
        "from model import quiet\n"
        "quiet.configure(False)\n"
        "from model.worker_process import ProcessRunner\n"
        "runner = ProcessRunner()\n"
        "runner.prewarm()\n"
        "assert runner.wait_warm(240), 'the worker never became ready'\n"
        "runner.close()\n"
        "print('done', file=sys.stderr)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert [line for line in out.stderr.splitlines() if is_chatter(line)] == []
    assert out.stderr.strip() == "done"
