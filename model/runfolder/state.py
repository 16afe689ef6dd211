"""``training_state.npz``: the optimizer's state, so a saved run can be trained further.

The optimizer's variables (step count, momenta ...) are stored by position, as plain
numpy arrays, with the number of epochs they belong to (``__epochs_done__``): a state
from another point of the run than the saved history is not used. Nothing here imports
Keras; the optimizer is passed in.

The file is read like any untrusted archive (:func:`model.data.npz.read_numeric_npz`): a
regular file, plain numeric arrays only, no header believed before its sizes are checked.
A header claiming 8 TiB, random bytes, or an epoch count that is not one whole number
are "damaged", never a ``MemoryError`` or numpy's words about pickled data.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from model.errors import DataError, ModelFileError
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
    from model.data.npz import read_numeric_npz  # numpy only; imported late to keep start-up light

    damaged = f"{path.name}: the saved optimizer state is damaged"
    try:
        arrays = read_numeric_npz(path, "it", fix="")
    except DataError as exc:
        raise ModelFileError(f"{damaged} ({str(exc).removeprefix('it ')}); resume is not possible") from None
    epochs = arrays.pop(_EPOCHS_KEY, np.array(-1))
    if epochs.shape not in ((), (1,)) or epochs.dtype.kind not in "iu":
        raise ModelFileError(
            f"{damaged} (its epoch count is {epochs.dtype} shaped {epochs.shape}, not one whole number); "
            "resume is not possible"
        )
    return arrays, int(epochs.reshape(()))
