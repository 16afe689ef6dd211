"""The window's autosave location (the recent list and the run folder are the core's)."""

from __future__ import annotations

from gui import files


def test_the_autosave_folder_is_in_the_app_data_folder(qapp) -> None:
    folder = files.default_autosave_dir()
    assert folder.parts[-2:] == ("autosave", "current")


def test_the_tests_keep_out_of_the_users_own_folders(qapp) -> None:
    """The test session's app data lives in a folder of its own, not under ~/.local/share.

    (Settings are kept apart by tests/gui/conftest.py.)"""
    from tests.conftest import HOME_FOR_TESTS

    assert files.default_autosave_dir().is_relative_to(HOME_FOR_TESTS)
    assert files.default_comparisons_dir().is_relative_to(HOME_FOR_TESTS)
