"""model.data.digits: the built-in offline digits, drawn the MNIST way, without Keras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from model.config import DataSpec
from model.data import (
    DIGIT_CLASS_NAMES,
    load_dataset,
)

ROOT = Path(__file__).resolve().parents[3]


def test_importing_and_loading_digits_does_not_start_keras() -> None:
    code = (
        "import sys; from model.data import load_dataset; from model.config import DataSpec; "
        "load_dataset(DataSpec(name='digits')); "
        "bad = [m for m in ('keras', 'tensorflow', 'PySide6') if m in sys.modules]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_digits_are_28x28_in_unit_range() -> None:
    ds = load_dataset(DataSpec(name="digits"))
    assert ds.x.shape == (1797, 28, 28, 1) and ds.x.dtype == np.float32
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.class_names == DIGIT_CLASS_NAMES and np.bincount(ds.y).min() > 170
    # Drawn the MNIST way: a 4-pixel empty margin, like the 20x20 box in a 28x28 field.
    assert ds.x[:, :2].max() == 0.0 and ds.x[:, :, :2].max() == 0.0
    assert ds.notice is None
