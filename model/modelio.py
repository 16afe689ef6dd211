"""Open model files safely.

A ``.keras`` file is a zip archive holding a JSON description and the weights. Loading
never executes code from the file: the description is checked first (Lambda layers and
classes Keras does not ship are refused with a reason), and Keras then loads it with
``safe_mode=True``. Legacy HDF5 (``.h5``) models are refused: their loader has had
file-read and denial-of-service flaws.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from model.errors import ModelFileError

MAX_CONFIG_BYTES = 16 * 1024 * 1024
# Layer classes a saved inference model may contain; anything else is not ours to run.
KNOWN_MODULES = ("keras", "keras.layers", "keras.models", "keras.src")


def resolve_model_path(path: str | Path) -> Path:
    """The model file for ``path``: the file itself, or ``model.keras`` in a run folder."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.keras"
    if not p.exists():
        raise ModelFileError(f"{p}: no such model file; give a .keras file or a run folder that holds model.keras")
    if p.suffix.lower() in (".h5", ".hdf5"):
        raise ModelFileError(
            f"{p.name}: legacy HDF5 models are not opened here, because their loader has had file-read "
            "and denial-of-service flaws. Convert it once with plain Keras in a trusted environment: "
            "keras.models.load_model('model.h5').save('model.keras')"
        )
    if p.suffix.lower() != ".keras":
        raise ModelFileError(f"{p.name}: not a Keras model file; expected a .keras file")
    return p


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def read_model_description(path: Path) -> dict[str, Any]:
    """The JSON description inside a ``.keras`` archive, checked for unsafe content."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(f"{path.name}: its description is implausibly large; the file is not a model saved by Keras")
            raw = archive.read(info)
    except KeyError:
        raise ModelFileError(f"{path.name}: not a Keras model archive (no config.json inside)") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelFileError(f"{path.name}: the file is corrupt or truncated ({exc}); save the model again") from None
    try:
        description = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{path.name}: its model description is not valid JSON; the file is corrupt") from None
    if not isinstance(description, dict):
        raise ModelFileError(f"{path.name}: its model description is malformed")
    for node in _walk(description):
        name = node.get("class_name")
        module = node.get("module")
        if name == "Lambda":
            raise ModelFileError(
                f"{path.name}: contains a Lambda layer, which holds Python code; it is refused because "
                "opening a model must never run code from the file. Rebuild the model with standard layers."
            )
        if node.get("registered_name") not in (None, name) or (
            isinstance(module, str) and not module.startswith(KNOWN_MODULES)
        ):
            raise ModelFileError(
                f"{path.name}: uses the custom object {name!r} (from {module or 'an unknown module'}), "
                "which this app does not load because custom objects run code from outside Keras"
            )
    return description


def load_model_safe(path: str | Path) -> Any:
    """Load a ``.keras`` model for inference, never executing code from the file."""
    p = resolve_model_path(path)
    read_model_description(p)
    import keras

    try:
        return keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any failure inside Keras is a bad file to the user
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{p.name}: Keras could not load this model ({first_line[:300]})") from None
