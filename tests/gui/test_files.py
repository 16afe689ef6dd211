"""The window's own file helpers: the recent-files list (the run folder is model.runfolder's)."""

from __future__ import annotations

from pathlib import Path

from gui import files


def test_recent_list_moves_to_front_and_is_bounded(tmp_path: Path) -> None:
    entries: list[str] = []
    for i in range(10):
        entries = files.updated_recent(entries, tmp_path / f"{i}.json")
    assert len(entries) == files.RECENT_LIMIT
    entries = files.updated_recent(entries, tmp_path / "5.json")
    assert entries[0].endswith("5.json") and entries.count(entries[0]) == 1
    assert files.recent_from_setting(None) == [] and files.recent_from_setting("a") == ["a"]
