"""model.data.pendigits: the shipped pen digits, mixed into the training part only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import DataSpec, RunConfig, SplitSpec
from model.data import DIGIT_CLASS_NAMES, prepare
from model.data.pendigits import PEN_DIGITS_FILE, load_pen_digits, mix_pen_digits
from model.data.split import Split
from model.errors import DataError

PENDIGITS_STROKES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pendigits-orig-tra.txt.gz"


def small_split(count: int = 90, classes: tuple[str, ...] = DIGIT_CLASS_NAMES) -> Split:
    rng = np.random.default_rng(0)
    x = rng.random((count, 28, 28, 1)).astype(np.float32)
    y = np.arange(count, dtype=np.int64) % len(classes)
    return Split(x, y, x[:10], y[:10], x[:20], y[:20], classes)


def test_the_shipped_file_holds_digits_of_writers_one_to_fifteen() -> None:
    images, labels = load_pen_digits()
    assert images.shape[1:] == (28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert len(images) > 3500 and set(np.unique(labels)) == set(range(10))
    with np.load(PEN_DIGITS_FILE) as data:
        assert set(np.unique(data["writer"])) == set(range(1, 16))
    assert (PEN_DIGITS_FILE.parent / "README.md").read_text().count("CC BY 4.0") >= 1


def test_the_shipped_file_matches_the_canvas_preprocessing() -> None:
    """The images are what model.ink makes of the original strokes (rerun
    bench/render_pendigits.py when this fails after a preprocessing change)."""
    if not PENDIGITS_STROKES.is_file():
        pytest.skip(f"{PENDIGITS_STROKES} is absent")
    from bench.pendigits import DEV_WRITERS, read_pendigits
    from bench.render_pendigits import render

    digits = [d for d in read_pendigits(PENDIGITS_STROKES) if d.writer in DEV_WRITERS]
    x, y, writer = render(digits[::250])
    with np.load(PEN_DIGITS_FILE) as data:
        np.testing.assert_array_equal(data["x"][::250], x)
        np.testing.assert_array_equal(data["y"][::250], y)


def test_mixing_reaches_the_share_of_the_training_part_only() -> None:
    split = small_split()
    mixed = mix_pen_digits(split, 0.25, seed=1)
    assert mixed.notice is None
    assert len(mixed.split.x_train) == 90 + 30  # 30 of 120 is a quarter
    assert mixed.description == "30 of them pen digits"
    assert mixed.split.x_train.shape[1:] == (28, 28, 1) and mixed.split.x_train.dtype == np.float32
    for name in ("x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(mixed.split, name), getattr(split, name))
    again = mix_pen_digits(split, 0.25, seed=1)
    np.testing.assert_array_equal(again.split.x_train, mixed.split.x_train)


def test_a_share_beyond_the_file_oversamples_it() -> None:
    count = len(load_pen_digits()[0])
    split = small_split(count)
    mixed = mix_pen_digits(split, 0.75, seed=0)
    assert len(mixed.split.y_train) == 4 * count


def test_without_the_file_training_goes_on_and_says_why(tmp_path: Path) -> None:
    split = small_split()
    mixed = mix_pen_digits(split, 0.2, seed=0, path=tmp_path / "gone.npz")
    assert mixed.split is split and mixed.description == ""
    assert mixed.notice is not None and "missing" in mixed.notice and "training without them" in mixed.notice


def test_other_datasets_are_left_alone() -> None:
    split = small_split(classes=("a", "b", "c"))
    mixed = mix_pen_digits(split, 0.2, seed=0)
    assert mixed.split is split and mixed.notice is not None and "not mixed" in mixed.notice


@pytest.mark.parametrize(
    "content",
    [b"not a zip", None],
    ids=["damaged", "wrong layout"],
)
def test_a_damaged_file_is_a_data_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "pen.npz"
    if content is None:
        np.savez(path, x=np.zeros((3, 8, 8), np.uint8), y=np.zeros(3, np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match="pen digits"):
        load_pen_digits(path)


def test_prepare_mixes_them_when_the_config_asks() -> None:
    base = RunConfig(data=DataSpec(name="digits", limit=300), split=SplitSpec(0.6, 0.2, 0.2), seed=3)
    plain = prepare(base, allow_download=False)
    mixed = prepare(base.replace(data=DataSpec(name="digits", limit=300, pen_digits=0.1)), allow_download=False)
    assert len(mixed.split.y_train) == 200 and len(plain.split.y_train) == 180
    assert mixed.description == "train 200 (20 of them pen digits) · validation 60 · test 60"
    np.testing.assert_array_equal(mixed.split.x_test, plain.split.x_test)
    assert mixed.notice is None
