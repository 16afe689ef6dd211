"""``training_state.npz``: the optimizer's state, so a saved run can be trained further.

The optimizer's variables (step count, momenta ...) are stored by position, as plain
numpy arrays, with the number of epochs they belong to (``__epochs_done__``): a state
from another point of the run than the saved history is not used. Nothing here imports
Keras; the optimizer is passed in.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import ModelFileError
from model.fileio import write_bytes_atomic

_EPOCHS_KEY = "__epochs_done__"


def optimizer_state(optimizer: Any) -> dict[str, np.ndarray]:
    """The optimizer's variables by position (``000_adam/iteration`` ...), as numpy arrays."""
    return {f"{i:03d}_{v.path}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}


def restore_optimizer_state(optimizer: Any, weights: Any, state: dict[str, np.ndarray]) -> None:
    """Load :func:`optimizer_state` output into ``optimizer`` (built for ``weights``).

    Raises:
        ModelFileError: the state was saved for another model or optimizer.
    """
    optimizer.build(weights)
    variables = list(optimizer.variables)
    arrays = [state[k] for k in sorted(state)]
    if len(arrays) != len(variables) or any(tuple(a.shape) != tuple(v.shape) for a, v in zip(arrays, variables, strict=False)):
        raise ModelFileError(
            "the saved optimizer state does not match this model and optimizer "
            "(was the optimizer or a layer changed?); resume without it or retrain"
        )
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def save_training_state(path: Path, state: dict[str, np.ndarray], epochs_done: int) -> None:
    """Write ``state`` (for ``epochs_done`` epochs) to ``path``, atomically."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {_EPOCHS_KEY: np.array(epochs_done), **state}
    np.savez(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


def load_training_state(path: Path) -> tuple[dict[str, np.ndarray], int]:
    """The optimizer state in ``path`` and the number of epochs it belongs to (-1: not said).

    Raises:
        ModelFileError: the file is damaged.
    """
    try:
        # The file is opened here, not by np.load, which leaks it when the archive is damaged.
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        epochs_done = int(arrays.pop(_EPOCHS_KEY, np.array(-1)))
    except (OSError, ValueError, EOFError, KeyError, TypeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        # NotImplementedError and zlib.error: zipfile's words for a damaged header or compression method.
        raise ModelFileError(f"{path.name}: the saved optimizer state is damaged ({exc}); resume is not possible") from None
    return arrays, epochs_done
