"""start_comparison's own checks and helpers, without running trials."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.config import load_preset
from model.errors import ProjectError
from model.experiments import engine
from model.experiments.engine import DispatchingListener, resolve_address, start_comparison
from model.experiments.recorder import TrialUpdate
from model.experiments.spec import experiment_from_vary
from model.experiments.table import TrialState
from model.tasks import ManualDispatch
from tests.model.experiments.conftest import KeepingListener

EXPERIMENT = experiment_from_vary(load_preset("mlp"), ["seed=1,2"])


def test_the_address_is_the_argument_then_ray_address_else_a_local_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address(None) is None
    assert resolve_address(" 10.0.0.5:6379 ") == "10.0.0.5:6379"
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert resolve_address(None) == "ray://head:10001"
    assert resolve_address("local") is None
    monkeypatch.setenv("RAY_ADDRESS", "")
    assert resolve_address(None) is None


def test_without_ray_the_message_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "ray_available", lambda: False)
    with pytest.raises(ProjectError, match=r"pip install 'ray\[tune\]'.*in-process"):
        start_comparison(EXPERIMENT, out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_dispatching_listener_hands_calls_to_the_owners_thread() -> None:
    inner = KeepingListener()
    dispatch = ManualDispatch()
    listener = DispatchingListener(inner, dispatch)
    listener.on_trial_state(TrialUpdate(1, TrialState.RUNNING, "training"))
    listener.on_notice("started")
    assert inner.updates == [] and inner.notices == []
    assert dispatch.run_pending() == 2
    assert inner.updates == [TrialUpdate(1, TrialState.RUNNING, "training")] and inner.notices == ["started"]
