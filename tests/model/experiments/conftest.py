"""Fixtures for the comparison tests: a tiny dataset file, and a listener that keeps everything."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from model.experiments.link import NullComparisonListener
from model.experiments.recorder import ComparisonState, TrialRecord, TrialUpdate
from tests.model.experiments.helpers import write_tiny_npz


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_npz(tmp_path_factory.mktemp("data"))


class KeepingListener(NullComparisonListener):
    """Keeps every call, with the thread it came from."""

    def __init__(self) -> None:
        self.records: list[tuple[int, TrialRecord]] = []
        self.updates: list[TrialUpdate] = []
        self.notices: list[str] = []
        self.finished: list[ComparisonState] = []
        self.threads: set[str] = set()

    def _seen(self) -> None:
        self.threads.add(threading.current_thread().name)

    def on_record(self, trial_id: int, record: TrialRecord) -> None:
        self._seen()
        self.records.append((trial_id, record))

    def on_trial_state(self, update: TrialUpdate) -> None:
        self._seen()
        self.updates.append(update)

    def on_notice(self, text: str) -> None:
        self._seen()
        self.notices.append(text)

    def on_finished(self, state: ComparisonState) -> None:
        self._seen()
        self.finished.append(state)

    def of(self, trial_id: int) -> list[TrialRecord]:
        return [r for t, r in self.records if t == trial_id]


@pytest.fixture
def heard() -> KeepingListener:
    return KeepingListener()
