"""model.data.keras_source: MNIST and Fashion-MNIST from a file, the cache, a download, or offline.

Downloads are refused (the ``no_keras_cache`` fixture); only the last test reads the real
MNIST file beside the project.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.config import DataSpec, SplitSpec
from model.data import (
    DIGIT_CLASS_NAMES,
    FASHION_CLASS_NAMES,
    keras_cache_dirs,
    keras_source,
    load_dataset,
    split_dataset,
)
from model.errors import DataError
from tests.model.data.helpers import (
    FUZZ,
    cut_strategy,
    edits_strategy,
    images,
    labels,
    mutate,
    write_idx_folder,
    write_npz,
)


def test_mnist_from_a_picked_file_gets_digit_names(tmp_path: Path, no_keras_cache: Path) -> None:
    path = write_npz(tmp_path / "mnist.npz", y_train=np.arange(9) % 10)
    ds = load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)
    assert ds.name == "mnist" and ds.class_names == DIGIT_CLASS_NAMES
    assert ds.source == f"MNIST from {path}" and ds.notice is None


def test_mnist_from_a_picked_file_checks_labels_and_size(tmp_path: Path, no_keras_cache: Path) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, x=images(4), y=np.array([0, 1, 12, 3]))
    with pytest.raises(DataError, match=r"0\.\.9.*12"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)
    np.savez(path, x=images(4, size=8), y=labels(4))
    with pytest.raises(DataError, match="28x28"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)


def test_a_broken_picked_mnist_file_is_an_error_not_a_fallback(tmp_path: Path, no_keras_cache: Path) -> None:
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_dataset(DataSpec(name="mnist", path=str(path)), allow_download=False)


def test_mnist_from_the_keras_cache(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    write_npz(no_keras_cache / "datasets" / "mnist.npz")
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert len(ds) == 15 and "Keras cache" in ds.source and ds.notice is None


def test_fashion_mnist_from_the_keras_cache_has_fashion_names(no_keras_cache: Path) -> None:
    write_idx_folder(no_keras_cache / "datasets" / "fashion-mnist", gz=True)
    ds = load_dataset(DataSpec(name="fashion_mnist"), allow_download=False)
    assert ds.name == "fashion_mnist" and ds.class_names == FASHION_CLASS_NAMES
    assert ds.class_names[0] == "T-shirt/top" and len(ds) == 15


def test_mnist_offline_without_a_copy_falls_back_to_digits(no_keras_cache: Path) -> None:
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert ds.name == "digits" and ds.x.shape == (1797, 28, 28, 1)
    assert ds.notice is not None and "offline digits" in ds.notice and "mnist.npz" in ds.notice


def test_failed_download_falls_back_with_the_promised_notice(
    no_keras_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def no_network(name: str) -> None:
        calls.append(name)
        raise OSError("Name or service not known")

    monkeypatch.setattr(keras_source, "_download_with_keras", no_network)
    ds = load_dataset(DataSpec(name="mnist"))
    assert calls == ["mnist"] and ds.name == "digits"
    assert ds.notice is not None and ds.notice.startswith(
        "MNIST could not be downloaded (no network?) and no local copy was found; using the "
        "built-in offline digits (scikit-learn's 8x8 digits resized to 28x28). To use MNIST, "
        "pick a mnist.npz file or connect to the internet."
    )


def test_corrupt_cache_falls_back_and_says_why(no_keras_cache: Path) -> None:
    (no_keras_cache / "datasets").mkdir()
    (no_keras_cache / "datasets" / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert ds.name == "digits" and ds.notice is not None and "cached copy" in ds.notice


def test_keras_cache_dirs_follow_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_cache_dirs()[0] == tmp_path / "datasets"


def test_download_socket_timeout_is_restored_even_on_failure() -> None:
    before = socket.getdefaulttimeout()

    def fail() -> None:
        assert socket.getdefaulttimeout() == 3.0
        raise OSError("offline")

    with pytest.raises(OSError):
        keras_source._with_socket_timeout(fail, 3.0)
    assert socket.getdefaulttimeout() == before


def test_real_mnist_file_pools_70000_images(mnist_path: Path) -> None:
    ds = load_dataset(DataSpec(name="mnist", path=str(mnist_path)), allow_download=False)
    assert ds.x.shape == (70000, 28, 28, 1) and ds.y.shape == (70000,)
    assert ds.num_classes == 10 and ds.class_names == DIGIT_CLASS_NAMES
    assert ds.x.dtype == np.float32 and float(ds.x.max()) == 1.0 and float(ds.x.min()) == 0.0
    assert ds.source == f"MNIST from {mnist_path}" and ds.notice is None
    split = split_dataset(ds, SplitSpec(), seed=0, limit=1000)
    assert split.describe() == "train 800 · validation 100 · test 100"
    assert split.counts()["train"].min() >= 60


@FUZZ
@given(blob=st.binary(max_size=600), edits=edits_strategy, cut=cut_strategy, damage=st.booleans())
def test_fuzz_whatever_the_cache_holds_only_data_error_escapes_the_reader(
    tmp_path: Path, blob: bytes, edits: list[tuple[int, int]], cut: int | None, damage: bool
) -> None:
    """A cached file is untrusted: random bytes, or a damaged valid archive."""
    cache = tmp_path / "cache"
    (cache / "fashion-mnist").mkdir(parents=True, exist_ok=True)
    content = mutate(write_npz(tmp_path / "good.npz").read_bytes(), edits, cut) if damage else blob
    (cache / "mnist.npz").write_bytes(content)
    (cache / "fashion-mnist" / "train-images-idx3-ubyte.gz").write_bytes(content)
    (cache / "fashion-mnist" / "train-labels-idx1-ubyte.gz").write_bytes(blob)
    for name in ("mnist", "fashion_mnist"):
        try:
            raw = keras_source._read_keras_cache(name, cache)
        except DataError as exc:
            assert str(exc)
        else:
            assert raw is not None and len(raw.x) == len(raw.labels)


@settings(FUZZ, max_examples=15)
@given(blob=st.binary(max_size=300))
def test_fuzz_a_broken_cache_never_stops_mnist_from_loading(no_keras_cache: Path, blob: bytes) -> None:
    """Whatever the cache holds, asking for MNIST gives a dataset (at worst the offline digits)."""
    (no_keras_cache / "datasets").mkdir(exist_ok=True)
    (no_keras_cache / "datasets" / "mnist.npz").write_bytes(blob)
    ds = load_dataset(DataSpec(name="mnist"), allow_download=False)
    assert ds.name in ("mnist", "digits") and len(ds) == len(ds.y)
