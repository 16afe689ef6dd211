"""model.data.images: folders of class folders of images, readable or not."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.model.data.helpers import (
    assert_data_error,
    images,
    load_file,
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
