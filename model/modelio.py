"""Open model files safely.

A ``.keras`` file is a zip archive holding a JSON description and the weights. Loading
never executes code from the file: the description is checked first (Lambda layers and
classes Keras does not ship are refused with a reason), and Keras then loads it with
``safe_mode=True``. Legacy HDF5 (``.h5``) models are refused: their loader has had
file-read and denial-of-service flaws.

Before Keras reads anything, the archive itself is checked (:mod:`model.kerasfile`): a
regular file (a named pipe would block forever), caps on the texts, lists and layers
inside the description, and entries whose declared sizes fit what the description
implies. And Keras itself must be recent enough: :data:`MIN_KERAS` closes known
safe-mode bypasses, so an older Keras opens no model (:func:`keras_version_problem`).
"""

from __future__ import annotations

import importlib.metadata
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from model.errors import ModelFileError, clip, one_line, shorten
from model.kerasfile import check_description, check_entries
from model.reading import JsonError, loads_json, open_regular, os_error_reason

MAX_CONFIG_BYTES = 16 * 1024 * 1024
MIN_KERAS: Final = (3, 14, 1)
"""The oldest Keras whose ``safe_mode`` this app trusts (3.14.1 closes known bypasses)."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def keras_version() -> str | None:
    """The installed Keras version, read without importing Keras (``None``: not installed)."""
    try:
        return importlib.metadata.version("keras")
    except importlib.metadata.PackageNotFoundError:
        return None


def keras_version_problem() -> str | None:
    """Why this Keras must not open model files, or ``None`` when it may."""
    version = keras_version()
    if version is None:
        return "Keras is not installed; install it with: pip install 'keras>=3.14.1'"
    if _version_tuple(version) < MIN_KERAS:
        wanted = ".".join(map(str, MIN_KERAS))
        return (
            f"Keras {version} is older than {wanted}, whose safe mode closes known ways for a model file "
            f"to run code; models are not opened with it. Upgrade with: pip install 'keras>={wanted}'"
        )
    return None
# Layer classes a saved inference model may contain; anything else is not ours to run.
KNOWN_MODULES = ("keras", "keras.layers", "keras.models", "keras.src")


def resolve_model_path(path: str | Path) -> Path:
    """The model file for ``path``: the file itself, or ``model.keras`` in a run folder."""
    p = Path(path)
    try:
        if stat.S_ISDIR(p.stat().st_mode):
            p = p / "model.keras"
        p.stat()
    except FileNotFoundError:
        raise ModelFileError(f"{p}: no such model file; give a .keras file or a run folder that holds model.keras") from None
    except (OSError, ValueError) as exc:
        reason = os_error_reason(exc) if isinstance(exc, OSError) else "is not a valid path"
        raise ModelFileError(f"{clip(str(p), 1000)}: {reason}; give a .keras file or a run folder") from None
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
    """The JSON description inside a ``.keras`` archive, checked for unsafe content and sizes."""
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise ModelFileError(f"{path.name}: the model file {os_error_reason(exc)}") from None
    try:
        with handle, zipfile.ZipFile(handle) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(f"{path.name}: its description is implausibly large; the file is not a model saved by Keras")
            with archive.open(info) as stream:
                raw = stream.read(MAX_CONFIG_BYTES + 1)
            if len(raw) > MAX_CONFIG_BYTES:
                raise ModelFileError(f"{path.name}: its description is implausibly large; the file is not a model saved by Keras")
            try:
                description = loads_json(raw)
            except JsonError as exc:
                raise ModelFileError(f"{path.name}: its model description is not valid JSON ({exc}); the file is corrupt") from None
            if not isinstance(description, dict):
                raise ModelFileError(f"{path.name}: its model description is malformed")
            check_description(description, path.name)
            check_entries(archive, path.stat().st_size, description, path.name)
    except ModelFileError:
        raise
    except KeyError:
        raise ModelFileError(f"{path.name}: not a Keras model archive (no config.json inside)") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name}: the file is corrupt or truncated ({one_line(str(exc), 120)}); save the model again") from None
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
                f"{path.name}: uses the custom object {shorten(name)} (from {shorten(module) if module else 'an unknown module'}), "
                "which this app does not load because custom objects run code from outside Keras"
            )
    return description


def load_model_safe(path: str | Path) -> Any:
    """Load a ``.keras`` model for inference, never executing code from the file."""
    p = resolve_model_path(path)
    problem = keras_version_problem()
    if problem is not None:
        raise ModelFileError(f"{p.name}: not opened: {problem}")
    read_model_description(p)
    import keras

    try:
        return keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any failure inside Keras is a bad file to the user
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(f"{p.name}: Keras could not load this model ({one_line(first_line, 300)})") from None
