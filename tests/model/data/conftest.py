"""Fixtures for the model.data tests: a Keras home that holds only what a test puts there."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.data import keras_source


@pytest.fixture
def no_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras home, so MNIST can be found only where a test puts it."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def refuse_download(name: str) -> None:
        # pytest.fail raises a BaseException, which the loader's fallback cannot swallow.
        pytest.fail(f"a test tried to download {name}")

    monkeypatch.setattr(keras_source, "_download_with_keras", refuse_download)
    return home
