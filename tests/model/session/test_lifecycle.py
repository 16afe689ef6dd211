"""Runs through the session: start, records, stale answers, pause, stop, endings, several runs."""

from __future__ import annotations

import numpy as np

from model.events import EndReason
from model.session import CLOSE_TIMEOUT_S
from tests.model.session.fakes import FakePredictor, Harness
from tests.model.session.test_document import TINY


def batches_shown(h: Harness) -> list[object]:
    """The batch records the view was given, in order (the session hands them over in groups)."""
    return [record for call in h.view.run_batches.call_args_list for record in call.args[0]]


def start(h: Harness) -> None:
    h.ready()
    h.session.edit(TINY)
    h.session.train()
    h.pump()


def test_train_starts_a_run_that_autosaves_and_locks_the_panels(h: Harness) -> None:
    start(h)
    run = h.runner.last
    assert run.request.run_id == 1 and run.request.config == TINY
    assert run.request.checkpoint_dir == h.autosave
    h.view.lock_panels.assert_called_with("locked")
    assert h.state().running and h.state().can_pause and not h.state().can_open
    assert h.last("show_progress") == ("Loading digits…", 0.0)


def test_a_run_that_cannot_start_is_not_started(h: Harness) -> None:
    h.session.train()  # TensorFlow has not loaded
    assert h.runner.runs == []
    h.ready()
    h.session.edit(None, "bad")
    h.session.train()
    assert h.runner.runs == []


def test_the_shown_runs_records_reach_the_view(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.data(notice="fell back")
    run.started()
    record = run.batch(0)
    epoch = run.epoch(note="learning rate changed")
    h.pump()
    h.view.show_class_names.assert_called_with(("a", "b"))
    assert h.last("show_data")[0] == "Digits · train 10 · validation 0 · test 4"
    assert ("fell back", "info") in h.messages()
    h.view.run_started.assert_called_once()
    h.view.run_batches.assert_called_once()
    assert batches_shown(h) == [record]
    h.view.run_epoch.assert_called_once_with(epoch)
    h.view.show_predictor.assert_called_with(run.live, "live model of run 1 (training)")
    assert h.last("show_status")[0] == "Epoch 1: learning rate changed"
    assert h.session.shown_run.batches_seen == 1


def test_progress_lines_are_throttled(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    for step in range(200):
        run.batch(step)
    h.pump()
    assert h.view.run_batches.call_count < 200  # records that waited together came as groups
    lines = [c for c in h.view.show_progress.call_args_list if c.args[0].startswith("epoch 1/1 · batch")]
    assert 1 <= len(lines) <= 3
    assert [r.step for r in batches_shown(h)] == list(range(200))  # type: ignore[attr-defined]


def test_a_new_run_during_a_run_asks_then_supersedes_it(h: Harness) -> None:
    start(h)
    first = h.runner.last
    first.started()
    h.pump()
    h.view.ask.return_value = False
    h.session.train()
    assert len(h.runner.runs) == 1 and not first.control.stop_requested
    h.view.ask.return_value = True
    h.session.train()
    assert first.control.stop_requested
    assert h.state().train_reason == "Starting a new run once the current one has stopped…"
    # The first run's last records are stale: none reaches the view.
    first.batch(5)
    first.end(EndReason.STOPPED, "stopped by the user")
    h.pump()
    h.view.run_batches.assert_not_called()
    assert all(level != "info" or not text.startswith("Stopped") for text, level in h.messages())
    second = h.runner.last
    assert second is not first and second.request.run_id == 2
    assert h.session.shown == 2
    second.started()
    second.batch(0)
    h.pump()
    assert len(batches_shown(h)) == 1


def test_records_of_a_run_no_longer_shown_are_dropped(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    h.pump()
    h.session.shown = None  # as after a newer run took over
    run.batch(0)
    run.epoch()
    h.pump()
    h.view.run_batches.assert_not_called()
    h.view.run_epoch.assert_not_called()


def test_several_runs_at_once_have_distinct_ids(h: Harness) -> None:
    h.ready()
    ids = [h.session.start_run(TINY.replace(seed=s), shown=False) for s in (1, 2, 3)]
    assert ids == [1, 2, 3] and len({r.request.run_id for r in h.runner.runs}) == 3
    assert all(r.request.checkpoint_dir is None for r in h.runner.runs)  # only the shown run autosaves
    assert h.session.running and h.session.shown is None
    for run in h.runner.runs:
        run.started()
        run.batch(0)
    h.pump()
    h.view.run_batches.assert_not_called()
    for run in h.runner.runs:
        run.end()
    h.pump()
    assert not h.session.running


def test_pause_then_resume_with_a_new_learning_rate_marks_the_plots(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    run.batch(0)
    run.batch(1)
    h.pump()
    h.session.pause_or_resume()
    assert run.control.paused and h.state().paused
    h.view.lock_panels.assert_called_with("learning_rate")
    h.session.pause_or_resume(learning_rate=0.01)
    assert not run.control.paused
    assert run.control.take_learning_rate() == 0.01
    h.view.mark.assert_called_once_with(2, "lr → 0.01")
    h.view.lock_panels.assert_called_with("locked")


def test_resume_with_the_same_learning_rate_changes_nothing(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    run.batch(0)
    h.pump()
    h.session.pause_or_resume()
    h.session.pause_or_resume(learning_rate=0.1)
    assert run.control.take_learning_rate() is None
    h.view.mark.assert_not_called()


def test_stop_asks_the_run_to_stop_after_its_batch(h: Harness) -> None:
    start(h)
    run = h.runner.last
    h.session.stop()
    assert run.control.stop_requested
    assert h.last("show_progress")[0] == "Stopping after the current batch…"
    assert not h.state().can_pause
    run.end(EndReason.STOPPED, "stopped by the user at epoch 1, batch 3")
    h.pump()
    assert ("Stopped: stopped by the user at epoch 1, batch 3", "info") in h.messages()
    assert h.state().can_train


def test_a_diverged_run_says_what_to_try(h: Harness) -> None:
    start(h)
    h.runner.last.end(EndReason.NAN, "the loss became nan at epoch 1, batch 4")
    h.pump()
    text, level = h.messages()[-1]
    assert level == "error" and "smaller learning rate" in text and "nan" in text


def test_a_failed_run_is_shown_and_the_session_stays_usable(h: Harness) -> None:
    start(h)
    h.runner.last.fail("data.path: /tmp/missing.npz does not exist", "Traceback: ...")
    h.pump()
    h.view.show_message.assert_called_with("data.path: /tmp/missing.npz does not exist", "error", "Traceback: ...")
    assert h.last("show_progress")[0] == "Training failed."
    h.view.lock_panels.assert_called_with("editable")
    assert h.state().can_train and not h.state().running


def test_a_result_becomes_the_model_in_memory(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.data()
    run.started()
    h.autosave.mkdir(parents=True)
    result = run.end()
    h.pump()
    memory = h.session.memory
    assert memory is not None and memory.result is result and memory.history == result.history
    h.view.show_results.assert_called_with(result.finished, None)
    assert not h.autosave.exists()  # the results are in memory: the autosave is done with
    assert h.state().can_save_model and h.state().can_resume
    # On exit the canvas changes from the live model to the finished one.
    predictor, description = h.last("show_predictor")
    assert predictor is memory.predictor and description == "model of run 1"
    assert not isinstance(predictor, FakePredictor)


def test_resume_training_continues_with_a_copy_of_the_weights(h: Harness) -> None:
    start(h)
    h.runner.last.end()
    h.pump()
    assert h.wait(h.session.resume_training())
    request = h.runner.last.request
    assert request.run_id == 2 and request.resume is not None
    np.testing.assert_array_equal(request.resume.model.get_weights()[0], np.ones((2, 2)))
    assert request.resume.optimizer_state and len(request.resume.history) == 1
    assert h.session.runs[2].prior_history == request.resume.history


def test_resume_training_can_run_another_configuration_of_the_same_layers(h: Harness) -> None:
    start(h)
    h.runner.last.end()
    h.pump()
    other = TINY.replace(epochs=3, name="fine-tuning")
    assert h.wait(h.session.resume_training(other))
    request = h.runner.last.request
    assert request.config == other and request.resume is not None
    assert h.session.document.current == TINY  # the panels keep theirs


def test_close_stops_every_run_and_remembers_the_configuration(h: Harness) -> None:
    start(h)
    run = h.runner.last
    assert h.session.close()
    assert run.control.stop_requested
    assert h.store.value("config") == TINY.to_json()
    assert not h.session.running


def test_close_waits_for_a_slow_run_then_closes_when_it_has_exited(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.stop_in_time = False
    assert not h.session.close(timeout=0.01)
    assert h.messages()[-1][1] == "warning"
    run.exit()
    h.pump()
    h.view.close_now.assert_called_once()
    assert h.session.close(timeout=CLOSE_TIMEOUT_S)


def test_close_with_unsaved_changes_can_be_cancelled(h: Harness) -> None:
    start(h)
    h.view.ask_save.return_value = "cancel"
    assert not h.session.close()
    assert not h.runner.last.control.stop_requested
