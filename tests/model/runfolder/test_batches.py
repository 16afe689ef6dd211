"""``batches.npz``: the round trip of every column, hostile files, and the run folder that holds it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.batches import LAYER_COLUMNS, BatchHistory, learning_rate_changes
from model.errors import ModelFileError
from model.runfolder.batches import MAX_BYTES, read_batches, write_batches
from tests.model.hostile import deflated, stored, zip_bytes

NAMES = ("L2_Dense", "L3_BatchNormalization", "L4_Dense")
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def sample_history(rows: int = 12) -> BatchHistory:
    """Two epochs of ``rows // 2`` batches, the learning rate changed twice, NaN where not measured."""
    rng = np.random.default_rng(0)
    width = len(NAMES)
    rates = np.where(np.arange(rows) < 3, 0.01, np.where(np.arange(rows) < 7, 0.005, 0.0025))
    layer = {name: rng.random((rows, width)) for name in LAYER_COLUMNS}
    layer["dead_shares"][:, 1:] = np.nan  # only the first layer is ReLU
    layer["saturated_shares"][:, [0, 2]] = np.nan
    layer["update_ratios"][1:10:3] = np.nan  # carried over between measurements elsewhere
    columns = {
        "step": np.arange(rows) * 2,  # reported every other step
        "epoch": np.arange(rows) // (rows // 2),
        "batch": np.arange(rows) % (rows // 2),
        "loss": np.geomspace(2.3, 0.3, rows),
        "accuracy": np.linspace(0.1, 0.9, rows),
        "learning_rate": rates,
        **layer,
    }
    return BatchHistory.from_columns(NAMES, columns)


def assert_same(a: BatchHistory, b: BatchHistory) -> None:
    assert a.layer_names == b.layer_names and len(a) == len(b)
    for (name, x), y in zip(a.columns().items(), b.columns().values(), strict=True):
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)  # NaN where NaN


def test_every_column_and_the_learning_rate_changes_read_back(tmp_path: Path) -> None:
    history = sample_history()
    path = tmp_path / "batches.npz"
    write_batches(path, history)
    assert_same(read_batches(path), history)
    # Readable without this project, markers included: the step of the first batch at each new rate.
    with np.load(path, allow_pickle=False) as raw:
        assert raw["lr_change_steps"].tolist() == [6, 14]
        assert raw["lr_change_rates"].tolist() == [0.005, 0.0025]
        assert raw["layer_names"].tolist() == list(NAMES) and int(raw["format"]) == 1
    assert learning_rate_changes(history.step, history.learning_rate) == [(6, 0.005), (14, 0.0025)]


def test_an_empty_history_and_one_without_layers_read_back(tmp_path: Path) -> None:
    for history in (BatchHistory.empty(NAMES), BatchHistory.empty()):
        write_batches(tmp_path / "b.npz", history)
        assert_same(read_batches(tmp_path / "b.npz"), history)


def test_a_rewrite_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "batches.npz"
    write_batches(path, sample_history(12))
    write_batches(path, sample_history(20))
    assert len(read_batches(path)) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["batches.npz"]  # no temporary left beside it


# --------------------------------------------------------------------------- hostile files


@pytest.fixture(scope="module")
def real_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("real") / "batches.npz"
    write_batches(path, sample_history())
    return path.read_bytes()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def only_history_or_model_file_error(path: Path, data: bytes) -> BatchHistory | None:
    """What reading ``data`` gives: a history, or None when it raised ModelFileError (anything else fails)."""
    path.write_bytes(data)
    try:
        return read_batches(path, "run/batches.npz")
    except ModelFileError as exc:
        message = str(exc)
        assert message.startswith("run/batches.npz: ") and "remove the file" in message and "\n" not in message
        return None


@HYPOTHESIS
@given(data=st.binary(max_size=2048))
def test_random_bytes_are_refused_plainly(tmp_path: Path, data: bytes) -> None:
    assert only_history_or_model_file_error(tmp_path / "batches.npz", data) is None


@HYPOTHESIS
@given(cut=st.integers(min_value=0))
def test_a_file_cut_anywhere_is_refused_plainly(tmp_path: Path, real_bytes: bytes, cut: int) -> None:
    cut %= len(real_bytes)
    assert only_history_or_model_file_error(tmp_path / "batches.npz", real_bytes[:cut]) is None


@HYPOTHESIS
@given(where=st.integers(min_value=0), value=st.integers(0, 255))
def test_a_file_with_any_byte_changed_reads_or_is_refused_plainly(tmp_path: Path, real_bytes: bytes, where: int, value: int) -> None:
    changed = bytearray(real_bytes)
    changed[where % len(changed)] = value
    only_history_or_model_file_error(tmp_path / "batches.npz", bytes(changed))


@HYPOTHESIS
@given(
    victim=st.sampled_from(["step.npy", "loss.npy", "grad_norms.npy", "layer_names.npy", "format.npy"]),
    declared=st.integers(0, 2**32 - 1),
)
def test_a_member_that_lies_about_its_size_is_refused_plainly(
    tmp_path: Path, real_bytes: bytes, victim: str, declared: int
) -> None:
    entries = [stored(name, data, declared if name == victim else None) for name, data in members(real_bytes).items()]
    # A stored member is read by its stored size: a lie the data still fits may read; nothing else escapes.
    result = only_history_or_model_file_error(tmp_path / "batches.npz", zip_bytes(entries))
    if declared < len(members(real_bytes)[victim]):
        assert result is None


def test_a_zip_declaring_more_than_the_limit_is_refused_before_reading(tmp_path: Path, real_bytes: bytes) -> None:
    entries = [stored(name, data, 2**32 - 1) for name, data in members(real_bytes).items()]
    assert sum(e[2] for e in entries) > MAX_BYTES
    assert only_history_or_model_file_error(tmp_path / "batches.npz", zip_bytes(entries)) is None
    with pytest.raises(ModelFileError, match="larger than 4 GiB unpacked"):
        read_batches(tmp_path / "batches.npz")


def test_a_header_claiming_a_huge_array_is_refused_without_allocating_it(tmp_path: Path, real_bytes: bytes) -> None:
    entries = [
        deflated(name, npy_header((10**12,), "<f4") + bytes(1000) if name == "loss.npy" else data)
        for name, data in members(real_bytes).items()
    ]
    (tmp_path / "batches.npz").write_bytes(zip_bytes(entries))
    with pytest.raises(ModelFileError, match="loss: shape"):
        read_batches(tmp_path / "batches.npz")


@HYPOTHESIS
@given(name=st.text(min_size=1, max_size=30), payload=st.binary(max_size=64))
def test_unknown_members_are_refused_plainly(tmp_path: Path, real_bytes: bytes, name: str, payload: bytes) -> None:
    entries = [stored(n, d) for n, d in members(real_bytes).items()]
    result = only_history_or_model_file_error(tmp_path / "batches.npz", zip_bytes([*entries, stored(name, payload)]))
    assert result is None


ARRAYS = st.sampled_from(
    [
        np.zeros(0), np.zeros((2, 3), np.float32), np.arange(12), np.array(1), np.array(["a", ""]),
        np.array([b"x"]), np.array([True, False]), np.full(12, -1), np.zeros((12, 2), np.float32),
        np.zeros((12, 3), np.float16), np.array(2**40), np.array([1.5 + 2j]), np.array(["é" * 300]),
    ]
)  # fmt: skip


@HYPOTHESIS
@given(victim=st.sampled_from(["format", "layer_names", "step", "epoch", "batch", "loss", "learning_rate",
                               "grad_norms", "dead_shares", "lr_change_steps", "lr_change_rates"]),
       array=ARRAYS)  # fmt: skip
def test_a_member_replaced_by_any_array_reads_or_is_refused_plainly(
    tmp_path: Path, real_bytes: bytes, victim: str, array: np.ndarray
) -> None:
    entries = [stored(n, npy(array) if n == f"{victim}.npy" else d) for n, d in members(real_bytes).items()]
    result = only_history_or_model_file_error(tmp_path / "batches.npz", zip_bytes(entries))
    if result is not None:  # whatever it read is a history of consistent shape
        assert all(len(column) == len(result) for column in result.columns().values())


def test_a_file_that_is_no_file_is_refused_plainly(tmp_path: Path) -> None:
    (tmp_path / "batches.npz").mkdir()
    with pytest.raises(ModelFileError, match="batches.npz"):
        read_batches(tmp_path / "batches.npz")
    with pytest.raises(ModelFileError, match="batches.npz"):
        read_batches(tmp_path / "missing.npz", "batches.npz")


# --------------------------------------------------------------------------- run folders

pytest.importorskip("tensorflow")

from model.results import RunResult  # noqa: E402
from model.runfolder import load_run, save_run  # noqa: E402
from model.training import train  # noqa: E402
from tests.model.helpers import small_config, synthetic_split  # noqa: E402


@pytest.fixture(scope="module")
def finished() -> RunResult:
    return train(small_config(epochs=2), synthetic_split(n_train=128), evaluate=False)


def test_a_saved_run_loads_with_its_batches(finished: RunResult, tmp_path: Path) -> None:
    assert finished.batches is not None and len(finished.batches) == 8
    saved = load_run(save_run(finished, tmp_path / "run"))
    assert saved.batches is not None
    assert_same(saved.batches, finished.batches)
    assert saved.batches.layer_names == saved.layer_names


def test_a_run_folder_without_batches_loads_without_them(finished: RunResult, tmp_path: Path) -> None:
    folder = save_run(finished, tmp_path / "run")
    (folder / "batches.npz").unlink()
    saved = load_run(folder)
    assert saved.batches is None and len(saved.history) == 2
