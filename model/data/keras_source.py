"""MNIST and Fashion-MNIST: a picked file, the Keras cache, a Keras download, or offline.

The lookup order for ``mnist`` / ``fashion_mnist``:

1. a file the user picked (``DataSpec.path``): if it is unusable that is an error, not a
   quiet switch to something else;
2. the copy Keras keeps in its cache (:func:`keras_cache_dirs`): ``mnist.npz`` or the
   ``fashion-mnist`` folder of IDX files, read directly with this package's readers,
   because Keras's own loader rejects any file whose hash differs from the official
   download; a damaged cached copy is skipped and the notice says why;
3. a download through ``keras.datasets`` (when allowed), with a socket timeout so a
   silent network cannot block the loading worker forever;
4. else the built-in offline digits (:mod:`.digits`), with a :attr:`Dataset.notice` that
   says why and how to get the real data. Asking for MNIST therefore never fails: a
   person without a network still gets something to train.

Cached and picked files are untrusted and go through the same readers as any user file
(:mod:`.npz`, :mod:`.idx`); downloaded arrays go through the same checks. Keras (and so
TensorFlow) is imported only inside the download, never at import time.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np

from model.catalogue import DATASET_CHOICES
from model.config import DataSpec
from model.data._common import DIGIT_CLASS_NAMES, Dataset, _dataset_from_raw, _pool, _RawData
from model.data.digits import _load_digits
from model.data.files import _load_path
from model.data.idx import _has_idx_files, _load_idx_folder
from model.data.npz import _load_npz
from model.errors import DataError

FASHION_CLASS_NAMES: Final[tuple[str, ...]] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# How long one socket operation of the Keras download may block before it gives up.
# Without it, urllib waits forever on a network that accepts connections but never answers.
DOWNLOAD_SOCKET_TIMEOUT_S: Final = 15.0

_T = TypeVar("_T")


def keras_cache_dirs() -> tuple[Path, ...]:
    """The folders where Keras keeps downloaded datasets, in the order Keras uses them.

    ``$KERAS_HOME/datasets`` when that variable is set, else ``~/.keras/datasets``; Keras
    falls back to ``/tmp/.keras/datasets`` when that home is not writable, so we look
    there too in that case. Tests set ``KERAS_HOME`` (or monkeypatch this function in
    ``model.data.keras_source``, where the lookup calls it).
    """
    env_home = os.environ.get("KERAS_HOME")
    if env_home:
        base = Path(env_home).expanduser()
    else:
        try:
            user_home = Path.home()
        except RuntimeError:  # no resolvable home directory
            user_home = Path(tempfile.gettempdir())
        base = user_home / ".keras"
    dirs = [base / "datasets"]
    writable_probe = base if base.exists() else base.parent
    if not os.access(writable_probe, os.W_OK):
        dirs.append(Path(tempfile.gettempdir()) / ".keras" / "datasets")
    return tuple(dirs)


def _read_keras_cache(name: str, cache_dir: Path) -> _RawData | None:
    """The dataset from one Keras cache folder, ``None`` when it is not there."""
    if name == "mnist":
        path = cache_dir / "mnist.npz"
        return _load_npz(path) if path.is_file() else None
    folder = cache_dir / "fashion-mnist"
    return _load_idx_folder(folder) if folder.is_dir() and _has_idx_files(folder) else None


def _with_socket_timeout(call: Callable[[], _T], timeout_s: float) -> _T:
    """Run ``call`` with a default socket timeout, restoring the previous one afterwards.

    Keras downloads with ``urllib`` without a timeout; on a network that accepts a
    connection and then goes silent, that would block the loading worker forever.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        return call()
    finally:
        socket.setdefaulttimeout(previous)


def _download_with_keras(name: str) -> _RawData:
    """Download (or find in Keras's cache) a dataset through ``keras.datasets``.

    Keras is imported here and only here, so importing this module stays cheap and does
    not start TensorFlow. Any failure propagates; the caller falls back.
    """

    def fetch() -> Any:
        import keras

        module = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
        return module.load_data()

    (x_train, y_train), (x_test, y_test) = _with_socket_timeout(fetch, DOWNLOAD_SOCKET_TIMEOUT_S)
    return _pool(
        [np.asarray(x_train), np.asarray(x_test)],
        [np.asarray(y_train), np.asarray(y_test)],
        f"the {name} download",
        "the Keras download",
    )


def _load_keras_dataset(spec: DataSpec, allow_download: bool) -> Dataset:
    """MNIST or Fashion-MNIST from the picked file, the Keras cache, a download, or offline."""
    title = DATASET_CHOICES[spec.name].title
    names = DIGIT_CLASS_NAMES if spec.name == "mnist" else FASHION_CLASS_NAMES

    def finish(raw: _RawData, where: str) -> Dataset:
        return _dataset_from_raw(raw, name=spec.name, source=f"{title} from {where}", class_names=names)

    if spec.path is not None:
        # The user picked this file: if it is unusable, say so rather than quietly
        # training on something else.
        path = Path(spec.path).expanduser()
        picked = _load_path(path)
        return finish(picked, picked.location)

    problems: list[str] = []
    for cache_dir in keras_cache_dirs():
        try:
            cached = _read_keras_cache(spec.name, cache_dir)
            if cached is not None:
                return finish(cached, f"{cached.location} (the Keras cache)")
        except DataError as exc:
            problems.append(f"The cached copy could not be used: {exc}.")

    if allow_download:
        try:
            downloaded = _download_with_keras(spec.name)
            return finish(downloaded, downloaded.location)
        # A download can fail in many ways (no network, DNS, timeout, HTTP error, hash
        # mismatch, a broken Keras install); all of them mean "use the offline fallback".
        except Exception:  # noqa: BLE001
            pass
        reason = f"{title} could not be downloaded (no network?) and no local copy was found"
    else:
        reason = f"{title} was not downloaded (downloading is off) and no local copy was found"
    picker = "a mnist.npz file" if spec.name == "mnist" else "a .npz file or a folder holding its four IDX files,"
    notice = (
        f"{reason}; using the built-in offline digits (scikit-learn's 8x8 digits resized to "
        f"28x28). To use {title}, pick {picker} or connect to the internet."
    )
    return _load_digits(" ".join([notice, *problems]))
