"""training_state.npz: the optimizer state round trip, and damaged files refused cleanly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import ModelFileError
from model.runfolder.state import load_training_state, save_training_state


def test_state_round_trips_with_its_epoch_count(tmp_path: Path) -> None:
    state = {"000_adam/iteration": np.array(12), "001_adam/m": np.arange(6, dtype=np.float32).reshape(2, 3)}
    save_training_state(tmp_path / "s.npz", state, 3)
    loaded, epochs = load_training_state(tmp_path / "s.npz")
    assert epochs == 3 and sorted(loaded) == sorted(state)
    np.testing.assert_array_equal(loaded["001_adam/m"], state["001_adam/m"])


def test_a_state_without_an_epoch_count_says_minus_one(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", a=np.zeros(2))
    assert load_training_state(tmp_path / "s.npz")[1] == -1


def _valid_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, __epochs_done__=np.array(2), a=np.zeros(3))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"", b"hello", _valid_npz()[:100], b"PK\x03\x04junk", np.lib.format.MAGIC_PREFIX + b"\x01\x00junk"],
)
def test_damaged_states_name_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "training_state.npz").write_bytes(content)
    with pytest.raises(ModelFileError, match="training_state.npz: the saved optimizer state is damaged"):
        load_training_state(tmp_path / "training_state.npz")


def test_an_odd_epoch_count_is_damage(tmp_path: Path) -> None:
    np.savez(tmp_path / "training_state.npz", __epochs_done__=np.zeros(3))
    with pytest.raises(ModelFileError, match="damaged"):
        load_training_state(tmp_path / "training_state.npz")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_states_load_or_raise_a_model_file_error(tmp_path: Path, data: st.DataObject) -> None:
    blob = bytearray(_valid_npz())
    for _ in range(data.draw(st.integers(1, 10))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path / "training_state.npz"
    path.write_bytes(bytes(blob))
    try:
        load_training_state(path)
    except ModelFileError:
        pass


# --------------------------------------------------------------------------- hostile states (issue 12)


def test_a_header_claiming_8_tib_is_damage_not_a_memory_error(tmp_path: Path) -> None:
    from tests.model.hostile import state_claiming_8_tib

    path = tmp_path / "training_state.npz"
    state_claiming_8_tib(path)
    with pytest.raises(ModelFileError, match="the saved optimizer state is damaged"):
        load_training_state(path)


@pytest.mark.parametrize("epochs", [np.arange(3), np.array(["two"]), np.array(2.5), np.array([[1]])])
def test_an_epoch_count_that_is_not_one_whole_number_is_damage(tmp_path: Path, epochs: np.ndarray) -> None:
    np.savez(tmp_path / "training_state.npz", __epochs_done__=epochs)  # was: ValueError / TypeError
    with pytest.raises(ModelFileError, match="damaged"):
        load_training_state(tmp_path / "training_state.npz")


def test_random_bytes_are_not_called_pickled_data(tmp_path: Path) -> None:
    import os

    (tmp_path / "training_state.npz").write_bytes(os.urandom(4096))
    with pytest.raises(ModelFileError) as info:
        load_training_state(tmp_path / "training_state.npz")
    assert "pickle" not in str(info.value) and "not a valid .npz archive" in str(info.value)
