"""Compare mode through the session: start, follow, stop, open, save and draw with trials.

The trials train for real, on a 300-image slice of MNIST (seconds each), on the engine's
in-process path unless the test is about Ray; the view is a ``MagicMock(spec=ComparisonView)``
and the session's dispatch a ``ManualDispatch`` the test drains, as in the other session tests.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from model.config import DataSpec, LayerSpec, OptimizerSpec, RunConfig
from model.events import BatchRecord, EpochRecord, RunStarted
from model.experiments import CLUSTER_NOTICE, TrialState, load_comparison
from model.runfolder import is_run_folder
from model.session import ADDRESS_KEY, ComparisonSession, ComparisonView
from model.session.compare import _Inbox
from tests.model.session.fakes import Harness, make_harness

TIMEOUT = 300.0


def tiny_mnist(path: Path, **changes: object) -> RunConfig:
    return RunConfig(
        name="tiny mnist",
        layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=16), LayerSpec("Dense", units=10, activation="softmax")),
        optimizer=OptimizerSpec(name="sgd", learning_rate=0.1),
        epochs=2,
        batch_size=32,
        seed=3,
        data=DataSpec(name="mnist", path=str(path), limit=300),
    ).replace(**changes)


@dataclass
class CompareHarness:
    h: Harness
    compare: ComparisonSession
    view: MagicMock

    def until_done(self) -> None:
        self.h.until(lambda: self.compare.comparison is None, TIMEOUT)

    def messages(self) -> list[tuple[str, str]]:
        return [(c.args[0], c.args[1]) for c in self.view.show_comparison_message.call_args_list]

    def records(self, trial_id: int) -> list[Any]:
        return [c.args[1] for c in self.view.comparison_record.call_args_list if c.args[0] == trial_id]


def make_compare(tmp_path: Path, config: RunConfig | None, *, engine: str = "in-process") -> CompareHarness:
    h = make_harness(tmp_path)
    if config is not None:
        h.session.edit(config)
    view = MagicMock(spec=ComparisonView)
    compare = h.session.attach_compare(view, tmp_path / "comparisons", engine=engine)  # type: ignore[arg-type]
    return CompareHarness(h, compare, view)


@pytest.fixture
def c(tmp_path: Path, digits_path: Path) -> Iterator[CompareHarness]:
    harness = make_compare(tmp_path, tiny_mnist(digits_path))
    yield harness
    harness.h.session.shutdown()


def test_a_varied_setting_trains_every_trial_streams_its_records_and_fills_the_table(c: CompareHarness) -> None:
    assert c.compare.start(vary=[("optimizer.name", "sgd, adam")])
    assert c.compare.compare_state().running and not c.compare.compare_state().can_start
    state = c.view.show_comparison.call_args.args[0]
    assert [t.trial.label for t in state.trials] == ["optimizer.name=sgd", "optimizer.name=adam"]
    assert "2 trials on this process" in c.messages()[-1][0]
    c.until_done()
    for trial_id in (0, 1):
        kinds = [type(r) for r in c.records(trial_id)]
        assert RunStarted in kinds and BatchRecord in kinds and kinds.count(EpochRecord) == 2
    table = c.view.show_trial_table.call_args.args[0]
    assert [r.state for r in table.rows] == [TrialState.FINISHED, TrialState.FINISHED]
    assert all(r.test_accuracy is not None and r.best_epoch is not None for r in table.rows)
    assert "The comparison ended (2 finished)" in c.messages()[-1][0]
    assert c.view.show_compare_state.call_args.args[0].can_start
    assert all(c.compare.trial_folder(i) is not None for i in (0, 1))


def test_a_bad_setting_or_value_is_named_and_nothing_starts(c: CompareHarness) -> None:
    assert not c.compare.start(vary=[("optimizer.nmae", "sgd, adam")])
    assert "optimizer.nmae" in c.messages()[-1][0] and c.messages()[-1][1] == "error"
    assert not c.compare.start(vary=[("optimizer.learning_rate", "fast")])
    assert "optimizer.learning_rate" in c.messages()[-1][0]
    assert not c.compare.start(vary=[])
    assert "nothing to compare" in c.messages()[-1][0]
    c.view.show_comparison.assert_not_called()
    assert c.compare.comparison is None and not (c.h.autosave.parent.parent / "comparisons").exists()


def test_invalid_panels_refuse_a_comparison(tmp_path: Path) -> None:
    ch = make_compare(tmp_path, None)
    try:
        ch.h.session.edit(None, "batch_size: must be at least 1")
        assert not ch.compare.compare_state().can_start
        assert not ch.compare.start("learning_rate")
        assert "Fix the settings first: batch_size" in ch.messages()[-1][0]
    finally:
        ch.h.session.shutdown()


def test_a_builtin_experiment_says_what_to_look_for_and_one_trial_can_be_stopped(c: CompareHarness) -> None:
    lr = next(b for b in c.compare.builtins() if b.key == "learning_rate")
    assert c.compare.start("learning_rate")
    assert lr.look_for in c.messages()[-1][0]
    # Stop the first trial at its first batch; the others train on.
    c.h.until(lambda: any(isinstance(r, BatchRecord) for r in c.records(0)), TIMEOUT)
    c.compare.stop_trial(0)
    assert c.messages()[-1] == ("Stopping trial 1 (optimizer.learning_rate=0.001)…", "info")
    c.until_done()
    rows = c.view.show_trial_table.call_args.args[0].rows
    assert rows[0].state is TrialState.STOPPED
    assert [r.state for r in rows[1:]] == [TrialState.FINISHED, TrialState.FINISHED]


def test_stop_all_stops_every_trial_and_the_comparison_ends(c: CompareHarness) -> None:
    c.h.session.edit(tiny_mnist(Path(c.h.session.config.data.path or ""), epochs=50))
    assert c.compare.start(vary=[("optimizer.learning_rate", "0.1, 0.01")])
    c.h.until(lambda: any(isinstance(r, BatchRecord) for r in c.records(0)), TIMEOUT)
    c.compare.stop_all()
    assert c.compare.compare_state().stopping
    c.until_done()
    rows = c.compare.state.table.rows if c.compare.state else ()
    assert [r.state for r in rows] == [TrialState.STOPPED, TrialState.STOPPED]
    assert rows[0].epochs < 50


def test_a_trial_opens_as_a_run_saves_and_answers_the_draw_tab(c: CompareHarness, tmp_path: Path) -> None:
    assert c.compare.start(vary=[("layers[1].units", "8, 32")])
    c.until_done()
    h = c.h
    # Use in Draw: the model in memory is the trial's; the panels keep their configuration.
    config = h.session.config
    assert h.wait(c.compare.use_in_draw(1))
    assert h.session.memory is not None and "trial 2 (layers[1].units=32)" in h.session.memory.description
    c.view.show_in_draw.assert_called_once()
    assert h.session.config == config
    assert h.last("show_predictor")[0] is h.session.memory.predictor
    # Save: the run folder copied into a new folder, which Open Recent lists.
    target = tmp_path / "kept"
    assert h.wait(c.compare.save_trial(0, target))
    assert is_run_folder(target) and (target / "model.keras").is_file()
    assert str(target.resolve()) in h.session.recent_files()
    # Open: the session's open-run workflow shows the trial's configuration and history.
    assert h.wait(c.compare.open_trial(0))
    assert h.session.config.layers[1].units == 8
    records = h.last("show_history")[0]
    assert len(records) == 2


def test_a_trial_without_a_run_folder_cannot_be_used(c: CompareHarness) -> None:
    assert not c.compare.open_trial(0).result()  # no comparison yet
    assert c.h.warnings()[-1][0] == "Cannot open the trial"


def test_a_saved_comparison_opens_with_all_its_curves(c: CompareHarness) -> None:
    assert c.compare.start(vary=[("optimizer.name", "sgd, adam")])
    c.until_done()
    folder = c.compare.state.folder if c.compare.state else Path()
    c.view.reset_mock()
    assert c.h.wait(c.compare.open_comparison(folder))
    state = c.view.show_comparison.call_args.args[0]
    assert state.folder == folder and all(len(run.batches) > 0 and len(run.history) == 2 for run in state.trials)
    assert [r.state for r in c.view.show_trial_table.call_args.args[0].rows] == [TrialState.FINISHED] * 2
    assert c.messages()[-1][0].startswith(f"Opened the comparison {folder.name}: optimizer.name, 2 of 2 trials ended")
    # A damaged one says which file.
    (folder / "comparison.json").write_text("{", encoding="utf-8")
    assert not c.h.wait(c.compare.open_comparison(folder))
    assert "comparison.json" in c.h.warnings()[-1][1]


def test_records_of_a_replaced_comparison_are_dropped(c: CompareHarness) -> None:
    stale = _Inbox(c.compare, generation=0)
    stale.on_notice("old news")
    stale.on_trial_state(MagicMock())
    c.view.show_comparison_message.assert_not_called()
    c.view.comparison_record.assert_not_called()


def test_the_cluster_address_persists_and_a_cluster_gets_the_notice(
    c: CompareHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    c.compare.engine = "ray"  # the in-process engine has no cluster
    assert c.compare.address() is None
    c.compare.set_address(" 10.0.0.5:6379 ")
    assert c.h.store.value(ADDRESS_KEY) == "10.0.0.5:6379"
    assert c.compare.compare_state().address == "10.0.0.5:6379"
    assert CLUSTER_NOTICE in c.messages()[-1][0]
    c.compare.set_address("")
    assert c.compare.address() is None and "local Ray instance" in c.messages()[-1][0]
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    ray = make_compare(c.h.autosave.parent.parent / "second", None, engine="ray")
    try:
        assert ray.compare.address() == "ray://head:10001"  # RAY_ADDRESS honoured without a setting
    finally:
        ray.h.session.shutdown()


def test_closing_the_session_stops_the_comparison(c: CompareHarness) -> None:
    c.h.session.edit(tiny_mnist(Path(c.h.session.config.data.path or ""), epochs=50))
    assert c.compare.start(vary=[("optimizer.learning_rate", "0.1, 0.01")])
    c.h.until(lambda: any(isinstance(r, BatchRecord) for r in c.records(0)), TIMEOUT)
    comparison = c.compare.comparison
    assert comparison is not None
    assert not c.compare.open_comparison(comparison.out_dir).result()
    assert c.h.warnings()[-1] == ("Cannot open the comparison", "A comparison is running; stop it first.")
    assert c.h.session.close()
    assert comparison.done()
    assert not c.compare.start("batch")


# --------------------------------------------------------------------------- on real Ray


@pytest.fixture
def ray_marked(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Marks the Ray processes the engine starts, to check that none is left."""
    from tests.model.experiments.raytools import MARKER, kill_marked, new_mark, require_ray, wait_until_gone

    require_ray()
    mark = new_mark()
    tmp = Path(tempfile.mkdtemp(prefix="glray-", dir="/tmp"))  # short: Ray's socket paths live in it
    monkeypatch.setenv(MARKER, mark)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    yield mark
    left = wait_until_gone(mark)
    kill_marked(mark)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not left, f"the comparison left Ray processes behind: {left}"


def test_a_comparison_on_a_local_ray_instance_the_engine_starts(
    ray_marked: str, tmp_path: Path, digits_path: Path
) -> None:
    ch = make_compare(tmp_path, tiny_mnist(digits_path, epochs=1), engine="ray")
    try:
        assert ch.compare.start(vary=[("optimizer.name", "sgd, adam")])
        assert "2 trials on a local Ray instance" in ch.messages()[-1][0]
        ch.until_done()
        failure = ch.compare.state is not None and next(
            (text for text, level in ch.messages() if level == "error"), None
        )
        if failure and "Ray" in failure and "start" in failure:
            pytest.skip(f"Ray cannot start a local instance on this machine: {failure}")
        rows = ch.view.show_trial_table.call_args.args[0].rows
        assert [r.state for r in rows] == [TrialState.FINISHED, TrialState.FINISHED], ch.messages()
        assert any(isinstance(r, BatchRecord) for r in ch.records(1))
        assert any("local Ray instance" in text for text, _ in ch.messages())
        loaded = load_comparison(ch.compare.state.folder if ch.compare.state else tmp_path)
        assert loaded.engine == "ray"
    finally:
        ch.h.session.shutdown()
