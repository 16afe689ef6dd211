"""Shared fixtures: the MNIST file from shared/, and a guard against leaked threads."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The app's data and settings folders (Qt's AppDataLocation, QSettings) in a folder of the
# test session's own, set before any QApplication exists: a window made without an
# autosave folder otherwise autosaved into the user's real ~/.local/share.
HOME_FOR_TESTS = Path(tempfile.mkdtemp(prefix="gradientlab-tests-"))
os.environ["XDG_DATA_HOME"] = str(HOME_FOR_TESTS / "data")
os.environ["XDG_CONFIG_HOME"] = str(HOME_FOR_TESTS / "config")
atexit.register(shutil.rmtree, HOME_FOR_TESTS, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
MNIST_NPZ = ROOT.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture
def mnist_path() -> Path:
    """The real MNIST file that sits beside the project (skips when it is absent)."""
    if not MNIST_NPZ.is_file():
        pytest.skip(f"{MNIST_NPZ} is absent: the MNIST tests need ../shared/data/mnist.npz")
    return MNIST_NPZ


@pytest.fixture(scope="session")
def digits_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real MNIST where it is present; otherwise scikit-learn's 1,797 handwritten digits
    (shipped with it) scaled to 28x28 and written in MNIST's npz layout, so tests that need
    some real digits, not MNIST's figures, run on any machine."""
    if MNIST_NPZ.is_file():
        return MNIST_NPZ
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images / 16.0, np.ones((3, 3)))  # 8x8 -> 24x24
    images = (np.pad(images, ((0, 0), (2, 2), (2, 2))) * 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    path = tmp_path_factory.mktemp("digits") / "digits-as-mnist.npz"
    np.savez(path, x_train=images[:1500], y_train=labels[:1500], x_test=images[1500:], y_test=labels[1500:])
    return path


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail a test that leaves a Python thread of its own running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"
