"""model.data.images: folders of class folders of images, readable or not."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.model.data.helpers import (
    FUZZ,
    assert_data_error,
    cut_strategy,
    edits_strategy,
    images,
    load_file,
    load_or_data_error,
    mutate,
    write_image_folder,
)


def test_image_folder_classes_are_sorted_subfolders(tmp_path: Path) -> None:
    ds = load_file(write_image_folder(tmp_path / "imgs"))
    assert ds.class_names == ("ant", "cat")
    assert ds.x.shape == (7, 28, 28, 1) and sorted(ds.y.tolist()) == [0, 0, 0, 1, 1, 1, 1]
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0 and ds.notice is None


def test_image_folder_skips_undecodable_files_with_a_notice(tmp_path: Path) -> None:
    root = write_image_folder(tmp_path / "imgs")
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ds = load_file(root)
    assert len(ds) == 7 and ds.notice is not None and "broken.png" in ds.notice


def test_image_folder_without_subfolders_or_readable_images(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(images(1)[0]).save(flat / "a.png")
    assert_data_error(flat, str(flat), "sub-folder")
    broken = tmp_path / "broken"
    for name in ("a", "b"):
        (broken / name).mkdir(parents=True)
        (broken / name / "x.png").write_bytes(b"not a png")
    assert_data_error(broken, "no readable", "could not be decoded")


def test_image_folder_with_one_class_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "one"
    (root / "only").mkdir(parents=True)
    Image.fromarray(images(1)[0]).save(root / "only" / "a.png")
    (root / "empty").mkdir()
    assert_data_error(root, "two classes")


def small_png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(images(1, seed, size=6)[0]).save(buffer, format="PNG")
    return buffer.getvalue()


@FUZZ
@given(
    blobs=st.lists(st.binary(max_size=300), min_size=1, max_size=3),
    edits=edits_strategy,
    cut=cut_strategy,
    suffix=st.sampled_from([".png", ".jpg", ".bmp"]),
)
def test_fuzz_image_folder_files_only_raise_data_error(
    tmp_path: Path, blobs: list[bytes], edits: list[tuple[int, int]], cut: int | None, suffix: str
) -> None:
    """Random files and damaged PNGs, beside intact images or alone: only DataError escapes."""
    root = tmp_path / "fuzz_images"
    for name in ("a", "b"):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
    for i, blob in enumerate(blobs):
        (root / "a" / f"random{i}{suffix}").write_bytes(blob)
    (root / "b" / "damaged.png").write_bytes(mutate(small_png_bytes(1), edits, cut))
    load_or_data_error(root)
    (root / "a" / "intact.png").write_bytes(small_png_bytes(2))
    (root / "b" / "intact.png").write_bytes(small_png_bytes(3))
    load_or_data_error(root)
