"""model.collector: the collector off around a heavy import, everything frozen after it."""

from __future__ import annotations

import gc

import pytest

from model import collector


@pytest.fixture(autouse=True)
def restore_collector():
    was_enabled = gc.isenabled()
    frozen_before = gc.get_freeze_count()
    yield
    if frozen_before == 0:
        gc.unfreeze()  # as it was (a process that loaded TensorFlow stays frozen, as the app is)
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_nothing_is_collected_inside_and_what_lived_is_frozen_after() -> None:
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with collector.paused_then_frozen():
        assert not gc.isenabled()
        kept = [Cycle() for _ in range(1000)]
        assert gc.get_freeze_count() == frozen_before
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(kept)


def test_the_collector_is_back_on_after_a_failure_and_the_failure_passes_on() -> None:
    gc.enable()
    with pytest.raises(ImportError), collector.paused_then_frozen():
        raise ImportError("no tensorflow here")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector.paused_then_frozen():
        pass
    assert not gc.isenabled()
