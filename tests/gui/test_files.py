"""The window's autosave location (the recent list and the run folder are the core's)."""

from __future__ import annotations

from gui import files


def test_the_autosave_folder_is_in_the_app_data_folder(qapp) -> None:
    folder = files.default_autosave_dir()
    assert folder.parts[-2:] == ("autosave", "current")
