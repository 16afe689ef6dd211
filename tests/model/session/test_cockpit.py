"""The session's cockpit tools, driven without Qt: step, range test, preview, settings, replay, export."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from model.config import OptimizerSpec
from model.session import CockpitView
from tests.model.session.fakes import Harness
from tests.model.session.test_document import TINY


def start(h: Harness) -> None:
    h.ready()
    h.session.edit(TINY)
    h.session.train()
    h.pump()


def cockpit(h: Harness) -> MagicMock:
    view = MagicMock(spec=CockpitView)
    h.session.attach_cockpit(view)
    return view


# ---------------------------------------------------------------------- step mode


def test_step_is_for_a_paused_run_and_hands_it_the_edited_rate(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    run.batch(0)
    h.pump()
    assert not h.state().can_step
    h.session.step()
    assert run.control.wait_if_paused() is False  # not paused: nothing was let through
    h.session.pause_or_resume()
    assert h.state().can_step
    h.session.step(learning_rate=0.02)
    assert run.control.take_learning_rate() == 0.02
    h.view.mark.assert_called_once_with(1, "lr → 0.02")
    assert run.control.wait_if_paused() is True  # exactly one batch let through
    run.batch(1)
    h.pump()
    text, fraction = h.last("show_progress")
    assert text.startswith("Paused after epoch 1, batch 2 (loss 1.0000): Step runs one more batch") and fraction == 0.1
    run.control.stop()
    assert not h.state().can_step


# ---------------------------------------------------------------------- the tools


def test_the_tools_wait_for_tensorflow_and_for_runs(h: Harness) -> None:
    view = cockpit(h)
    assert not h.session.find_learning_rate()
    assert view.show_lr_result.call_args.args == (None, "Loading TensorFlow…")
    start(h)
    assert not h.session.preview_initializers()
    assert "A run is in progress" in view.show_init_preview.call_args.args[1]


def test_a_range_test_streams_its_points_and_leaves_the_session_as_it_was(h: Harness) -> None:
    from model.lr_finder import RangeTestSpec

    view = cockpit(h)
    h.ready()
    h.session.set_config(TINY)
    assert h.session.find_learning_rate(RangeTestSpec(start=1e-5, end=1.0, steps=20))
    assert h.session.lr_running and not h.session.find_learning_rate()  # one at a time
    h.until(lambda: view.show_lr_result.call_args is not None and view.show_lr_result.call_args.args[0] is not None)
    result, message = view.show_lr_result.call_args.args
    points = [c.args[0] for c in view.show_lr_point.call_args_list]
    assert [p.step for p in points] == list(range(len(result.losses)))
    assert [p.loss for p in points] == list(result.losses)
    assert message == result.summary() and not h.session.lr_running
    assert h.session.memory is None and h.runner.runs == [] and not h.session.document.modified


def test_a_range_test_stops_after_its_current_batch(h: Harness) -> None:
    from model.lr_finder import RangeTestSpec

    view = cockpit(h)
    h.ready()
    h.session.edit(TINY)
    h.session.find_learning_rate(RangeTestSpec(steps=5000))
    h.until(lambda: view.show_lr_point.call_count >= 3)
    h.session.stop_tool()
    h.until(lambda: not h.session.lr_running)
    result = view.show_lr_result.call_args.args[0]
    assert result.ended.startswith("stopped by the user") and len(result.losses) < 5000


def test_the_preview_compares_every_initializer(h: Harness) -> None:
    from model.init_preview import PREVIEW_INITIALIZERS

    view = cockpit(h)
    h.ready()
    h.session.edit(TINY)
    assert h.session.preview_initializers()
    h.until(lambda: view.show_init_preview.call_args is not None)
    preview, message = view.show_init_preview.call_args.args
    assert [r.initializer for r in preview.rows] == list(PREVIEW_INITIALIZERS)
    assert preview.current == TINY.initializer and message == preview.summary()


def test_a_setting_chosen_in_a_tool_is_an_unsaved_edit(h: Harness) -> None:
    h.ready()
    h.session.set_config(TINY)
    assert h.session.apply_setting("optimizer.learning_rate", 0.0006)
    assert h.session.document.current.optimizer == OptimizerSpec(learning_rate=0.0006)
    assert h.session.document.modified
    h.view.show_config.assert_called_with(TINY.replace(optimizer=OptimizerSpec(learning_rate=0.0006)))
    assert h.session.apply_setting("initializer", "he_normal") and h.session.config.initializer == "he_normal"
    assert not h.session.apply_setting("initializer", "magic")
    assert "initializer: 'magic' is not one of" in h.warnings()[-1][1]


def test_no_setting_changes_while_a_run_goes_on(h: Harness) -> None:
    start(h)
    assert not h.session.apply_setting("initializer", "he_normal")
    assert h.warnings()[-1] == ("Cannot change the settings", "A run is in progress; change them once it has ended.")


def test_replay_offers_the_run_folder_last_saved_or_opened(h: Harness, tmp_path: Path) -> None:
    from model.runfolder.layout import REQUIRED_FILES

    assert h.session.default_replay_folder() is None
    config = tmp_path / "run.json"
    assert h.session.save_config_to(config)  # a recent file that is not a run folder
    assert h.session.default_replay_folder() is None
    run = tmp_path / "run"
    run.mkdir()
    for name in REQUIRED_FILES:
        (run / name).write_text("")
    h.session._remember_recent(run)  # what saving or opening a run folder does
    assert h.session.save_config_to(tmp_path / "later.json")
    assert h.session.default_replay_folder() == run


def test_replay_refuses_what_is_not_a_run_folder(h: Harness, tmp_path: Path) -> None:
    view = cockpit(h)
    assert not h.session.replay(tmp_path)
    assert "is not a run folder" in view.show_replay_outcome.call_args.args[1]


def test_a_replay_shows_the_saved_run_then_the_new_one_and_the_verdict(h: Harness, deterministic_run: Path) -> None:
    from model.events import BatchRecord, EpochRecord, RunStarted

    view = cockpit(h)
    assert h.session.replay(deterministic_run)
    assert not h.session.replay(deterministic_run)  # one at a time
    folder, history = view.show_replay_saved.call_args.args
    assert folder == deterministic_run and len(history) == 2
    h.until(lambda: not h.session.replay_running, timeout=600)
    outcome, message = view.show_replay_outcome.call_args_list[-1].args
    assert outcome is not None and outcome.comparison.exact, message
    records = [c.args[0] for c in view.show_replay_record.call_args_list]
    assert isinstance(records[0], RunStarted)
    assert sum(isinstance(r, EpochRecord) for r in records) == 2 and any(isinstance(r, BatchRecord) for r in records)


def test_the_shown_history_exports_to_tensorboard(h: Harness, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from tests.model.test_tb_export import read_events

    start(h)
    h.runner.last.started()
    h.runner.last.end()
    h.pump()
    h.session.export_tensorboard_to(tmp_path / "tb")
    h.until(lambda: any(c.args[0].startswith("wrote ") for c in h.view.show_status.call_args_list) or h.warnings())
    assert not h.warnings()
    assert read_events(tmp_path / "tb")["train/epoch_loss"] == [(0, 1.0)]


def test_nothing_to_export_says_so(h: Harness, tmp_path: Path) -> None:
    h.session.export_tensorboard_to(tmp_path / "tb")
    assert h.warnings() == [("Nothing to export", "There is no epoch history yet.")]


def test_closing_stops_a_running_tool(h: Harness) -> None:
    from model.lr_finder import RangeTestSpec

    view = cockpit(h)
    h.ready()
    h.session.edit(TINY)
    h.session.find_learning_rate(RangeTestSpec(steps=5000))
    h.until(lambda: view.show_lr_point.call_count >= 1)
    h.session.shutdown()  # returns once the test has stopped and its worker ended
    assert not any(t.name.startswith("cockpit") for t in __import__("threading").enumerate())
