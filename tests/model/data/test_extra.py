"""model.data.extra: a folder of class folders mixed into the training part, and only there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from model.config import DataSpec, RunConfig, SplitSpec, config_from_dict, config_from_json
from model.data import class_folder_name, prepare
from model.errors import ConfigError, DataError
from tests.model.data.helpers import FUZZ


def write_drawings(root: Path, counts: dict[str, int], value: int = 255) -> Path:
    """Class folders of 28x28 PNGs whose pixels are all ``value`` (easy to find again)."""
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(np.full((28, 28), value, np.uint8)).save(root / name / f"{i}.png")
    return root


def digits(extra: Path | None = None, share: float = 0.1, **data: object) -> RunConfig:
    spec = DataSpec(name="digits", limit=300, extra_path=None if extra is None else str(extra), extra_share=share, **data)
    return RunConfig(data=spec, split=SplitSpec(0.6, 0.2, 0.2), seed=3)


def is_drawing(x: np.ndarray) -> np.ndarray:
    return np.all(x.reshape(len(x), -1) == 1.0, axis=1)


def test_the_extra_images_join_the_training_part_only_oversampled_to_their_share(tmp_path: Path) -> None:
    folder = write_drawings(tmp_path / "mine", {"3": 2, "7": 3})
    plain = prepare(digits(), allow_download=False)
    mixed = prepare(digits(folder, share=0.2), allow_download=False)
    n_train = len(plain.split.y_train)
    added = len(mixed.split.y_train) - n_train
    assert added == round(0.2 / 0.8 * n_train)  # a fifth of the training part
    np.testing.assert_array_equal(mixed.split.x_train[:n_train], plain.split.x_train)
    extra = mixed.split.x_train[n_train:]
    assert is_drawing(extra).all()
    labels = mixed.split.y_train[n_train:]
    assert set(labels.tolist()) == {3, 7}
    assert np.isclose((labels == 7).mean(), 3 / 5, atol=0.05)  # each drawing about as often
    # Validation and test are the dataset's own: never a drawing there.
    for part in ("val", "test"):
        np.testing.assert_array_equal(getattr(mixed.split, f"x_{part}"), getattr(plain.split, f"x_{part}"))
        assert not is_drawing(getattr(mixed.split, f"x_{part}")).any()
    assert mixed.description.startswith(mixed.split.describe())
    assert f"(+ 5 from mine, repeated to {added:,})" in mixed.description and mixed.notice is None


def test_every_image_is_used_at_least_once_and_the_mix_is_seeded(tmp_path: Path) -> None:
    folder = write_drawings(tmp_path / "mine", {"1": 40})
    first = prepare(digits(folder, share=0.01), allow_download=False)
    again = prepare(digits(folder, share=0.01), allow_download=False)
    plain = len(prepare(digits(), allow_download=False).split.y_train)
    assert len(first.split.y_train) - plain == 40  # 1% would be 2; every drawing counts once
    np.testing.assert_array_equal(first.split.y_train, again.split.y_train)


def test_sub_folders_that_name_no_class_are_left_out_and_said(tmp_path: Path) -> None:
    folder = write_drawings(tmp_path / "mine", {"4": 1, "cat": 2})
    mixed = prepare(digits(folder), allow_download=False)
    assert mixed.notice is not None and "cat" in mixed.notice and "not classes" in mixed.notice
    with pytest.raises(DataError, match=r"data.extra_path: none of the sub-folders .* \(cat\)"):
        prepare(digits(write_drawings(tmp_path / "cats", {"cat": 2})), allow_download=False)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda root: root, "cannot be listed"),
        (lambda root: (root.mkdir(), root)[1], "no class sub-folders"),
        (lambda root: (root.mkdir(), (root / "3").mkdir(), root)[2], "no readable"),
    ],
)
def test_an_unreadable_folder_is_a_data_error_naming_the_setting(tmp_path: Path, make, fragment: str) -> None:
    folder = make(tmp_path / "missing")
    with pytest.raises(DataError, match=fragment) as info:
        prepare(digits(folder), allow_download=False)
    assert str(info.value).startswith("data.extra_path: ")


def test_images_of_another_size_are_refused_for_flat_data_of_another_size(tmp_path: Path) -> None:
    rows = np.column_stack([np.arange(30) % 3, np.random.default_rng(0).integers(0, 256, (30, 16))])
    csv = tmp_path / "small.csv"
    csv.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    folder = write_drawings(tmp_path / "mine", {"1": 2})
    config = RunConfig(data=DataSpec(name="file", path=str(csv), extra_path=str(folder)))
    with pytest.raises(DataError, match=r"data.extra_path: the images .* are \(28, 28, 1\) but the dataset's are \(16,\)"):
        prepare(config)


def test_old_configurations_are_unchanged_and_the_fields_round_trip(tmp_path: Path) -> None:
    raw = RunConfig().to_dict()
    assert set(raw["data"]) == {"name", "path", "limit"}  # written exactly as before
    assert config_from_dict(raw).data.extra_path is None
    config = RunConfig(data=DataSpec(extra_path=str(tmp_path), extra_share=0.25))
    assert config.to_dict()["data"]["extra_path"] == str(tmp_path)
    assert config_from_json(config.to_json()) == config
    assert config_from_json(RunConfig(data=DataSpec(extra_share=0.3)).to_json()).data.extra_share == 0.3


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"extra_share": 0.0}, "data.extra_share: must be > 0.0 and <= 0.9"),
        ({"extra_share": 0.95}, "data.extra_share: must be > 0.0 and <= 0.9"),
        ({"extra_share": "half"}, "data.extra_share: must be a number"),
        ({"extra_path": ""}, "data.extra_path: must be a folder path"),
    ],
)
def test_bad_extra_settings_name_the_field(changes: dict[str, object], fragment: str) -> None:
    raw = RunConfig().to_dict()
    raw["data"].update(changes)
    with pytest.raises(ConfigError, match=fragment):
        config_from_dict(raw)


@given(st.text(max_size=30), st.integers(0, 99))
def test_any_class_name_becomes_one_safe_folder_name(name: str, index: int) -> None:
    folder = class_folder_name(name, index)
    assert folder and folder not in (".", "..") and "/" not in folder and "\\" not in folder
    assert folder.strip(".") and "\x00" not in folder
    assert class_folder_name(folder, index) == folder  # already safe: kept


def test_plain_class_names_are_kept() -> None:
    assert [class_folder_name(str(k), k) for k in range(10)] == [str(k) for k in range(10)]
    assert class_folder_name("T-shirt/top", 0) == "T-shirt_top"
    assert class_folder_name("..", 4) == "class-4"


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["0", "1", "x", ".h"]), st.binary(max_size=200)), max_size=6))
def test_whatever_the_folder_holds_only_data_errors_escape(tmp_path_factory, files) -> None:
    root = tmp_path_factory.mktemp("extra")
    for i, (sub, blob) in enumerate(files):
        (root / sub).mkdir(exist_ok=True)
        (root / sub / f"{i}.png").write_bytes(blob)
    try:
        mixed = prepare(digits(root), allow_download=False)
    except DataError as exc:
        assert str(exc).startswith("data.extra_path: ")
    else:
        assert mixed.split.x_train.dtype == np.float32
