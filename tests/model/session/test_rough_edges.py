"""Rough edges of a session found by driving the window (issue 12): each one, through the session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.config import DataSpec, LayerSpec, OptimizerSpec
from model.events import DataReady, EndReason
from tests.model.session.fakes import Harness
from tests.model.session.test_document import TINY
from tests.model.session.test_lifecycle import start
from tests.model.session.test_workflows import saved_run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def trained(h: Harness) -> None:
    """A run of TINY that ended with a result: the model in memory is unsaved."""
    start(h)
    run = h.runner.last
    run.data()
    run.started()
    run.end()
    h.pump()


# ---------------------------------------------------------------------- resume


def test_resume_is_disabled_at_once_with_the_reason_when_the_stack_changed(h: Harness) -> None:
    trained(h)
    assert h.state().can_resume and not h.state().resume_reason
    h.session.edit(TINY.replace(layers=(*TINY.layers[:1], LayerSpec("Dense", units=9), *TINY.layers[2:])))
    state = h.state()
    assert not state.can_resume
    assert state.resume_reason.startswith("Resume Training continues the model in memory, but the layer stack changed")
    runs = len(h.runner.runs)
    assert not h.wait(h.session.resume_training())  # no data loaded, no run started
    assert len(h.runner.runs) == runs
    h.session.edit(TINY.replace(epochs=4))  # other settings do not matter
    assert h.state().can_resume


def test_resuming_with_another_stack_is_refused_without_loading_anything(h: Harness) -> None:
    trained(h)
    other = TINY.replace(layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax")))
    assert not h.wait(h.session.resume_training(other))
    assert h.warnings()[-1][0] == "Cannot resume"
    assert len(h.runner.runs) == 1


def test_a_run_that_fails_keeps_the_results_of_the_model_in_memory(h: Harness) -> None:
    trained(h)
    memory = h.session.memory
    assert memory is not None
    shown = h.last("show_results")
    assert h.wait(h.session.resume_training())
    h.runner.last.fail("data.path: cannot read it")  # before it started: nothing was cleared
    h.pump()
    assert h.last("show_results") == shown
    assert h.session.memory is memory
    assert h.wait(h.session.resume_training())
    run = h.runner.last
    run.data()
    run.started()  # it started: its results replace the old ones ...
    h.pump()
    assert h.last("show_results") == (None, None)
    run.fail("ResourceExhaustedError: out of memory")  # ... until it fails: the old ones are back
    h.pump()
    assert h.last("show_results") == shown
    assert h.last("show_predictor")[0] is memory.predictor


# ---------------------------------------------------------------------- data


def test_the_status_bar_names_the_offline_fallback_in_use(h: Harness) -> None:
    h.ready()
    h.session.edit(TINY.replace(data=DataSpec("mnist", limit=300)))
    h.session.train()
    run = h.runner.last
    run.sink.on_data(DataReady(run.run_id, "train 240 · test 60", "scikit-learn digits", "offline", ("0",), (28, 28, 1),
                               np.zeros((1, 28, 28, 1)), fell_back=True))  # fmt: skip
    h.pump()
    assert h.last("show_data")[0] == "Digits (offline fallback for MNIST) · train 240 · test 60"


def test_counting_says_so_in_place_of_the_last_counts(h: Harness, tmp_path: Path) -> None:
    h.session.edit(TINY.replace(data=DataSpec("mnist", path=str(tmp_path / "mnist.npz"))))
    h.view.show_counts_pending.assert_called_with("MNIST (mnist.npz)")


def test_a_preset_keeps_the_users_copy_of_its_dataset(h: Harness, tmp_path: Path) -> None:
    local = str(tmp_path / "mnist.npz")
    h.session.edit(TINY.replace(data=DataSpec("mnist", path=local)))
    h.view.ask_save.return_value = "discard"
    h.session.load_preset("cnn")
    config = h.session.document.current
    assert config is not None and config.name != TINY.name
    assert config.data.name == "mnist" and config.data.path == local
    h.session.edit(TINY.replace(data=DataSpec("digits")))
    h.session.load_preset("cnn")
    assert h.session.document.current.data.path is None  # nothing to keep


# ---------------------------------------------------------------------- unsaved work


def test_closing_during_a_run_asks_first(h: Harness) -> None:
    start(h)
    h.view.ask.return_value = False
    assert not h.session.close()
    assert h.view.ask.call_args.args[0] == "Quit while training?"
    assert not h.runner.last.control.stop_requested
    h.view.ask.return_value = True
    assert h.session.close()
    assert h.runner.last.control.stop_requested


@pytest.mark.parametrize(("answer", "closes"), [("discard", True), ("cancel", False)])
def test_quitting_after_training_an_unsaved_model_asks(h: Harness, answer: str, closes: bool) -> None:
    trained(h)
    h.session.save_config_to(h.autosave.parent / "tiny.json")  # the configuration is saved, the model is not
    h.view.ask_save.reset_mock()
    h.view.ask_save.return_value = answer
    assert h.session.close() is closes
    title, text = h.view.ask_save.call_args.args
    assert title == "Save the trained model?"
    assert text.startswith("The model of run 1") and "has not been saved" in text


def test_save_model_on_quit_saves_then_closes(h: Harness, tmp_path: Path) -> None:
    trained(h)
    h.session.save_config_to(tmp_path / "tiny.json")
    h.view.ask_save.return_value = "save"
    h.view.ask_model_folder.return_value = tmp_path / "kept"
    saved: list[Path] = []
    h.session.save_model_to = lambda folder: _saving(h, saved, folder)  # type: ignore[method-assign]
    assert not h.session.close()  # not yet: the model is being saved
    assert saved == [tmp_path / "kept"]
    h.view.close_now.assert_called_once()
    h.view.ask_save.reset_mock()
    assert h.session.close()  # the second close asks nothing more
    h.view.ask_save.assert_not_called()


def _saving(h: Harness, saved: list[Path], folder: Path):  # noqa: ANN202 - a stand-in for save_model_to
    from concurrent.futures import Future

    saved.append(folder)
    assert h.session.memory is not None
    h.session.memory.saved_to = folder
    done: Future[bool] = Future()
    done.set_result(True)
    return done


def test_an_opened_run_folder_is_no_unsaved_model(h: Harness, tmp_path: Path) -> None:
    assert h.wait(h.session.open_run_folder(saved_run(tmp_path / "run")))
    h.view.ask_save.reset_mock()
    assert h.session.close()
    h.view.ask_save.assert_not_called()


def test_new_forgets_the_model_in_memory_after_asking(h: Harness) -> None:
    trained(h)
    h.view.ask_save.return_value = "cancel"
    h.session.new()
    assert h.session.memory is not None
    h.view.ask_save.return_value = "discard"
    h.session.new()
    assert h.session.memory is None
    h.view.show_predictor.assert_called_with(None, "")
    assert h.last("show_results") == (None, None)
    assert h.last("show_history") == ([], (), 1)
    assert not h.state().can_resume and not h.state().can_save_model


# ---------------------------------------------------------------------- learning rate while paused


def paused_change(h: Harness, rate: float) -> None:
    run = h.runner.last
    run.started()
    for step in range(3):
        run.batch(step)
    h.pump()
    h.session.pause_or_resume()
    current = h.session.document.current
    assert current is not None
    h.session.edit(current.replace(optimizer=OptimizerSpec(learning_rate=rate)))  # the panel, while paused
    h.session.pause_or_resume(learning_rate=rate)


def test_a_rate_changed_while_paused_does_not_become_the_configured_rate(h: Harness) -> None:
    start(h)
    h.runner.last.data()
    paused_change(h, 0.05)
    h.runner.last.end(EndReason.STOPPED, "stopped by the user at epoch 1, batch 4")
    h.pump()
    current = h.session.document.current
    assert current is not None and current.optimizer.learning_rate == TINY.optimizer.learning_rate
    h.view.show_config.assert_called_with(current)
    text, level = h.messages()[-1]
    assert text.startswith("Stopped: stopped by the user at epoch 1, batch 4. The learning rate was changed while paused")
    assert "0.05 from step 3" in text and f"back at the configured {TINY.optimizer.learning_rate:g}" in text
    memory = h.session.memory
    assert memory is not None and [(c.step, c.learning_rate) for c in memory.rate_changes] == [(3, 0.05)]


def test_a_rate_edited_while_paused_but_never_used_is_put_back_too(h: Harness) -> None:
    start(h)
    run = h.runner.last
    run.started()
    h.pump()
    h.session.pause_or_resume()
    h.session.edit(TINY.replace(optimizer=OptimizerSpec(learning_rate=0.5)))
    h.session.stop()
    run.end(EndReason.STOPPED, "stopped")
    h.pump()
    assert h.session.document.current == TINY
    assert "never used" in h.messages()[-1][0]


def test_the_exported_script_repeats_the_rate_changes_of_the_run(h: Harness, tmp_path: Path) -> None:
    start(h)
    h.runner.last.data()
    paused_change(h, 0.05)
    h.runner.last.end()
    h.pump()
    assert h.session.export_script_to(tmp_path / "train.py")
    source = (tmp_path / "train.py").read_text()
    compile(source, "train.py", "exec")
    assert "RATE_CHANGES = {3: 0.05}" in source and "RateChangesWhilePaused()" in source
    assert "The run changed its learning rate while paused (0.05 from step 3)" in source
    # Another configuration is not that run: nothing to repeat.
    h.session.edit(TINY.replace(epochs=7))
    assert h.session.export_script_to(tmp_path / "other.py")
    assert "RATE_CHANGES" not in (tmp_path / "other.py").read_text()


# ---------------------------------------------------------------------- words


def test_the_recovery_banner_counts_one_epoch(h: Harness) -> None:
    from model import runfolder

    saved_run(h.autosave)
    runfolder.write_autosave_status(h.autosave, "running", 1, 10, 0)
    h.session.backend_ready()
    h.until(lambda: h.session.memory is not None)
    text = h.messages()[-1][0]
    assert ": 1 epoch." in text and "1 epochs" not in text
