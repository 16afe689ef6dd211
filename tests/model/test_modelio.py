"""Opening model files: safe, and every bad file gives one clear ModelFileError."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import ModelFileError
from model.modelio import load_model_safe, read_model_description

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path_factory.mktemp("models") / "plain.keras"
    model.save(path)
    return path


def test_plain_keras_model_loads_and_predicts(saved_model: Path, tmp_path: Path) -> None:
    model = load_model_safe(saved_model)
    assert model.predict(np.zeros((1, 28, 28, 1), np.float32), verbose=0).shape == (1, 10)
    # A run folder (holding model.keras) opens too.
    (tmp_path / "model.keras").write_bytes(saved_model.read_bytes())
    assert load_model_safe(tmp_path).output_shape == (None, 10)


def test_lambda_layer_is_refused_before_keras_sees_it(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(2)])
    path = tmp_path / "hostile.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Lambda layer, which holds Python code"):
        load_model_safe(path)


def _rewrite_config(src: Path, dst: Path, change) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "config.json":
                description = json.loads(data)
                change(description)
                data = json.dumps(description).encode()
            zout.writestr(item, data)


def test_custom_objects_are_refused(saved_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "custom.keras"

    def make_custom(description: dict) -> None:
        layer = description["config"]["layers"][-1]
        layer["module"] = "evil_package.layers"
        layer["registered_name"] = "evil>Dense"

    _rewrite_config(saved_model, path, make_custom)
    with pytest.raises(ModelFileError, match="custom object"):
        load_model_safe(path)


def test_legacy_h5_truncated_empty_and_wrong_type(saved_model: Path, tmp_path: Path) -> None:
    h5 = tmp_path / "old.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ModelFileError, match="legacy HDF5.*save\\('model.keras'\\)"):
        load_model_safe(h5)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(saved_model.read_bytes()[: saved_model.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        load_model_safe(truncated)
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError):
        load_model_safe(empty)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a Keras model file"):
        load_model_safe(text)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model_safe(tmp_path / "missing.keras")


def test_archive_without_description(tmp_path: Path) -> None:
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.h5", b"0")
    with pytest.raises(ModelFileError, match="no config.json"):
        read_model_description(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_model_files_only_raise_model_file_errors(saved_model: Path, tmp_path: Path, data: st.DataObject) -> None:
    original = saved_model.read_bytes()
    mode = data.draw(st.sampled_from(["flip", "truncate", "random", "config"]))
    if mode == "flip":
        blob = bytearray(original)
        for _ in range(data.draw(st.integers(1, 20))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] = data.draw(st.integers(0, 255))
        content = bytes(blob)
    elif mode == "truncate":
        content = original[: data.draw(st.integers(0, len(original)))]
    elif mode == "random":
        content = data.draw(st.binary(max_size=2000))
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(original)) as zin, zipfile.ZipFile(buffer, "w") as zout:
            for item in zin.infolist():
                payload = zin.read(item)
                if item.filename == "config.json":
                    payload = data.draw(st.one_of(st.binary(max_size=200), st.just(b'{"class_name": "Sequential"}'),
                                                  st.just(b"[]"), st.just(b'{"config": {"layers": 5}}')))
                zout.writestr(item, payload)
        content = buffer.getvalue()
    path = tmp_path / f"m{abs(hash(content)) % 10**8}.keras"
    path.write_bytes(content)
    try:
        load_model_safe(path)
    except ModelFileError as exc:
        assert path.name in str(exc)


# --------------------------------------------------------------------------- issue 12


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    from tests.model.test_reading import in_a_thread

    pipe = tmp_path / "model.keras"
    os.mkfifo(pipe)
    error = in_a_thread(lambda: load_model_safe(pipe))["error"]
    assert isinstance(error, ModelFileError) and "named pipe" in str(error)
    error = in_a_thread(lambda: load_model_safe(tmp_path))["error"]  # a run folder whose model.keras is a pipe
    assert isinstance(error, ModelFileError) and "named pipe" in str(error)


def test_an_unreadable_model_says_it_cannot_be_read_not_corrupt(saved_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import model.modelio

    def denied(path: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(model.modelio, "open_regular", denied)  # root reads any file: stand in for chmod 000
    with pytest.raises(ModelFileError) as info:
        load_model_safe(saved_model)
    assert "cannot be read (permission denied)" in str(info.value) and "corrupt" not in str(info.value)


def test_an_older_keras_opens_no_model(saved_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import model.modelio

    assert model.modelio.keras_version_problem() is None  # the installed one is recent enough
    monkeypatch.setattr(model.modelio, "keras_version", lambda: "3.13.2")
    problem = model.modelio.keras_version_problem()
    assert problem is not None and "Keras 3.13.2 is older than 3.14.1" in problem and "pip install" in problem
    with pytest.raises(ModelFileError, match="not opened: Keras 3.13.2 is older than 3.14.1"):
        load_model_safe(saved_model)
