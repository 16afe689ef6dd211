"""The cockpit's screens: the range test, the initialization preview, replay, the confusion
timeline, and Step, alone and in the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence

from gui.confusion_timeline import ConfusionTimeline
from gui.confusion_view import ConfusionView, synthetic_evaluation
from gui.init_preview_dialog import InitPreviewDialog
from gui.lr_finder_dialog import LrFinderDialog
from gui.replay_dialog import ReplayDialog
from model.events import BatchRecord, EpochRecord, RunStarted
from model.init_preview import PREVIEW_INITIALIZERS, InitializerPreview, InitPreview
from model.lr_finder import RangePoint, RangeTestSpec, analyze
from model.replay import ReplayOutcome, compare
from tests.gui.runs import DIGITS_MLP
from tests.gui.test_main_window import RUN_TIMEOUT_MS, make_window, wait_ready  # noqa: F401 - a fixture

G = np.ones(2)


def DISCARD(parent: object, title: str, text: str) -> str:  # noqa: N802 - stands in for a dialog
    return "discard"  # the tools leave the settings edited: closing must not ask


def _curve() -> tuple[np.ndarray, np.ndarray]:
    rates = np.geomspace(1e-7, 10, 200)
    log_rates = np.log10(rates)
    losses = 2.3 - 2.0 / (1 + np.exp(-(log_rates + 3) * 3)) + np.where(log_rates > -1.5, (log_rates + 1.5) ** 2 * 8, 0)
    return rates[:170], losses[:170]


def _click_plot_at(qtbot, dialog: LrFinderDialog, log_rate: float) -> None:
    box = dialog.plot.getPlotItem().vb
    scene = box.mapViewToScene(QPointF(log_rate, 1.0))
    widget = dialog.plot.viewport()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=dialog.plot.mapFromScene(scene))


def test_the_lr_dialog_draws_the_curve_marks_the_suggestion_and_offers_a_clicked_rate(qtbot) -> None:
    dialog = LrFinderDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.begin()
    assert not dialog.run_button.isEnabled() and dialog.stop_button.isEnabled()
    dialog.add_point(RangePoint(0, 1e-7, 2.3, 2.3, 0.005))
    assert dialog.status.text().startswith("batch 1 · learning rate 1.00e-07")
    rates, losses = _curve()
    result = analyze(rates, losses, RangeTestSpec(), "stopped at 0.9: the loss blew up")
    dialog.show_result(result, result.summary())
    assert result.suggestion is not None
    assert dialog.suggestion_line.isVisible() and dialog.suggestion_line.value() == pytest.approx(np.log10(result.suggestion.rate))
    assert dialog.rule.text().startswith("<b>Suggested learning rate") and "falls fastest" in dialog.rule.text()
    x, y = dialog.smooth_curve.getOriginalDataset()
    assert len(x) == 170 and np.allclose(y, result.smoothed)
    chosen: list[float] = []
    dialog.rateChosen.connect(chosen.append)
    dialog.use_button.click()
    assert chosen == [result.suggestion.rate]
    qtbot.wait(50)
    _click_plot_at(qtbot, dialog, -2.0)
    assert len(chosen) == 2 and chosen[1] == pytest.approx(1e-2, rel=0.1)
    assert dialog.chosen_line.isVisible()


def test_the_lr_axis_labels_are_rates_not_scaled_numbers(qtbot) -> None:
    dialog = LrFinderDialog()
    qtbot.addWidget(dialog)
    rates, losses = _curve()
    dialog.show_result(analyze(rates, losses, RangeTestSpec(), "done"), "")
    axis = dialog.plot.getPlotItem().getAxis("bottom")
    assert axis.labelUnitPrefix == "" and "x0.001" not in axis.labelString()
    assert axis.tickStrings([-7.0, -3.0, 0.0, 1.0], axis.scale, 1.0) == ["1e-7", "0.001", "1", "10"]


def test_the_lr_dialog_says_which_option_is_wrong(qtbot) -> None:
    dialog = LrFinderDialog()
    qtbot.addWidget(dialog)
    asked: list[object] = []
    dialog.runRequested.connect(asked.append)
    dialog.start_edit.setText("tiny")
    dialog.run_button.click()
    assert asked == [] and dialog.status.text() == "start: must be a number such as 1e-7, got 'tiny'"
    dialog.start_edit.setText("1e-3")
    dialog.end_edit.setText("1e-4")
    dialog.run_button.click()
    assert asked == [] and dialog.status.text().startswith("start: must be above 0 and below end")
    dialog.end_edit.setText("1")
    dialog.steps_box.setValue(50)
    dialog.run_button.click()
    assert asked == [RangeTestSpec(start=1e-3, end=1.0, steps=50)]


def _preview() -> InitPreview:
    names = ("L2_Dense", "L3_Dense")
    rows = tuple(
        InitializerPreview(n, np.array([0.5, 0.1 * (i + 1)]), np.ones(2), np.array([1e-3, 1e-2]), 2.3, 0.2 * (i + 1), f"verdict {n}")
        for i, n in enumerate(PREVIEW_INITIALIZERS)
    )
    return InitPreview(names, (True, True), 0.3, 256, rows, "he_uniform")


def test_the_preview_dialog_lists_every_initializer_and_applies_the_selected(qtbot) -> None:
    dialog = InitPreviewDialog()
    qtbot.addWidget(dialog)
    dialog.set_busy("Computing…")
    assert not dialog.apply_button.isEnabled()
    preview = _preview()
    dialog.show_preview(preview, "")
    assert dialog.table.rowCount() == len(PREVIEW_INITIALIZERS)
    assert dialog.selected() == "he_uniform" and "(current" in dialog.table.item(2, 0).text()
    steadiest = PREVIEW_INITIALIZERS[preview.rows.index(preview.row(preview.recommended))]
    assert "★ steadiest" in dialog.table.item(PREVIEW_INITIALIZERS.index(steadiest), 0).text()
    assert dialog.table.item(0, 2).text() == "verdict glorot_uniform"
    assert len(dialog._lines) == len(PREVIEW_INITIALIZERS)
    chosen: list[str] = []
    dialog.initializerChosen.connect(chosen.append)
    dialog.select("random_normal")
    assert dialog._lines[PREVIEW_INITIALIZERS.index("random_normal")][0].opts["pen"].width() == 3
    dialog.apply_button.click()
    assert chosen == ["random_normal"]
    zeros = dialog._lines[PREVIEW_INITIALIZERS.index("zeros")][0].getOriginalDataset()[1]
    assert zeros is not None and np.isfinite(zeros).all()  # positive figures: all drawn
    dialog.show_preview(None, "the layer stack cannot be built")
    assert dialog.status.text() == "the layer stack cannot be built" and dialog.apply_button.isEnabled()


def test_the_preview_leaves_zero_figures_out_of_the_log_plots_and_labels_every_layer(qtbot) -> None:
    preview = _preview()
    rows = tuple(r if r.initializer != "zeros" else InitializerPreview("zeros", np.zeros(2), np.zeros(2), np.array([0.0, 0.3]),
                                                                        2.3, 0.0, "all zero") for r in preview.rows)  # fmt: skip
    dialog = InitPreviewDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.show_preview(InitPreview(preview.layer_names, preview.kernel_layers, 0.3, 256, rows, "he_uniform"), "")
    std, grad = dialog._lines[PREVIEW_INITIALIZERS.index("zeros")]
    assert std.getOriginalDataset()[1] is None  # all zero: no line at all
    np.testing.assert_array_equal(grad.getOriginalDataset()[1], [np.nan, 0.3])
    low, high = dialog.std_plot.getPlotItem().viewRange()[1]
    assert low > -3, "a zero must not stretch the log axis down to a floor"
    assert dialog.std_plot.getPlotItem().viewRange()[0] == [0.5, 2.5]  # both layers' labels fit
    assert not dialog.std_plot.getPlotItem().getAxis("left").autoSIPrefix  # no "std (x0.001)"
    swatch = dialog.table.item(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert swatch is not None and swatch.isValid()
    table = dialog.table
    assert table.maximumHeight() < 400  # fitted to its eight rows: the plots get the rest


def _epoch(epoch: int, loss: float) -> EpochRecord:
    return EpochRecord(0, epoch, loss, 0.5, loss + 0.1, 0.6, 1e-3, G, G, 1.0, 1.0)


def test_the_replay_dialog_overlays_the_replay_and_gives_the_verdict(qtbot) -> None:
    dialog = ReplayDialog()
    qtbot.addWidget(dialog)
    saved = [_epoch(0, 1.0), _epoch(1, 0.5)]
    dialog.show_saved(Path("/runs/x"), saved)
    assert dialog.folder_edit.text() == "/runs/x" and dialog.stop_button.isEnabled()
    dialog.add_record(RunStarted(0, 2, 0, 4, 8, 32, 8, 8, ("L2_Dense", "L3_Dense"), 1e-3))
    for step in range(8):
        dialog.add_record(BatchRecord(0, step // 4, step % 4, step, 1.0 - step / 10, 0.5, 1e-3, G, G, 1, 0, 0))
    dialog.add_record(_epoch(0, 1.0))
    dialog.add_record(_epoch(1, 0.6))
    x, _ = dialog.curves["saved_loss"].getOriginalDataset()
    assert list(x) == [3, 7]  # the saved epochs at their steps, from the replay's batches per epoch
    assert len(dialog.curves["batch_loss"].getOriginalDataset()[0]) == 8
    comparison = compare(saved, [_epoch(0, 1.0), _epoch(1, 0.6)])
    dialog.show_outcome(ReplayOutcome(comparison, (), ("the last epoch was cut short",)), comparison.describe())
    assert "✗ The replay parts from the saved run at epoch 2" in dialog.verdict.text()
    assert "Note: the last epoch was cut short." in dialog.verdict.text()
    assert dialog.part_line.isVisible() and dialog.part_line.value() == 7
    dialog.show_outcome(ReplayOutcome(compare(saved, saved), ()), "")
    assert "✓ The replay matches the saved run exactly" in dialog.verdict.text()
    assert "Tolerance: a relative difference of 1e-05." in dialog.verdict.text()


def test_the_timeline_slides_over_epochs_and_the_test_set(qtbot) -> None:
    view = ConfusionView()
    timeline = ConfusionTimeline(view)
    qtbot.addWidget(timeline)
    names = tuple(str(k) for k in range(3))
    timeline.set_class_names(names)
    matrices = [np.array([[5, 5, 0], [0, 10, 0], [2, 0, 8]]), np.array([[9, 1, 0], [0, 10, 0], [1, 0, 9]])]
    for epoch, matrix in enumerate(matrices):
        record = _epoch(epoch, 1.0)
        timeline.add_epoch(EpochRecord(**{**record.__dict__, "val_confusion": matrix}))
    timeline.add_epoch(_epoch(2, 0.9))  # no matrix (no validation): not on the slider
    assert timeline.epochs == (0, 1) and timeline.shown() == 1
    assert view.header_text().startswith("Validation after epoch 2: accuracy 93.3% on 30 images")
    timeline.select_epoch(0)
    assert view.header_text().startswith("Validation after epoch 1: accuracy 76.7%")
    assert timeline.epoch_line.value() == 1
    view.select_cell(0, 1)
    assert view.cell_title() == "0 read as 1: 5 images. Images are listed for the test set only."
    accuracy = timeline._curves[0].getOriginalDataset()[1]
    np.testing.assert_allclose(accuracy, [0.5, 0.9])
    assert "class 0 gained most (+40.0%)" in timeline.summary.text()
    assert [name in timeline.key.text() for name in names] == [True] * 3
    ticks = timeline.plot.getPlotItem().getAxis("bottom")._tickLevels
    assert ticks == [[(1.0, "1"), (2.0, "2")]]  # whole epochs
    y = np.repeat(np.arange(3), 10)
    evaluation = synthetic_evaluation(y, names)
    timeline.set_test(evaluation, np.zeros((30, 28, 28), np.float32))
    assert timeline.shown() is None and view.evaluation() is evaluation
    assert view.header_text().startswith("Test accuracy") and timeline.position_label.text() == "test set (final model)"
    timeline.start()
    assert timeline.epochs == () and not timeline.slider.isEnabled()


# ---------------------------------------------------------------------- in the window


def test_the_tools_are_in_the_menus_with_their_shortcuts(make_window) -> None:  # noqa: F811
    window = make_window()
    assert window.actions["run.step"].shortcut() == QKeySequence("F10")
    assert window.actions["run.step"].autoRepeat(), "holding the key keeps stepping"
    assert not window.actions["run.step"].isEnabled()
    assert window.actions["run.lr_find"].shortcut() == QKeySequence("Ctrl+L")
    assert window.actions["run.init_preview"].shortcut() == QKeySequence("Ctrl+I")
    export = [a.text() for a in window._built.menus["file.export"].actions()]
    assert "&TensorBoard Logs…" in export
    assert "S&tep" in [a.text() for a in window._built.toolbar.actions()]


def test_step_is_enabled_while_paused_and_runs_one_batch(make_window, qtbot) -> None:  # noqa: F811
    from tests.model.session.fakes import FakeRunner

    runner = FakeRunner()
    window = make_window(runner=runner)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    run = runner.last
    run.started()
    run.batch(0)
    qtbot.waitUntil(lambda: window.session.shown_run.batches_seen == 1)
    window.actions["run.pause"].trigger()
    assert window.actions["run.step"].isEnabled()
    window.actions["run.step"].trigger()
    assert run.control.wait_if_paused() is True
    run.batch(1)
    qtbot.waitUntil(lambda: window.progress_label.text().startswith("Paused after epoch 1, batch 2"))
    window.actions["run.pause"].trigger()  # Resume
    assert not window.actions["run.step"].isEnabled()
    run.end()


def test_the_confusion_timeline_follows_a_run_in_the_window(make_window, qtbot) -> None:  # noqa: F811
    from tests.model.session.fakes import FakeRunner

    runner = FakeRunner()
    window = make_window(runner=runner)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    run = runner.last
    run.started()
    for epoch in range(3):
        record = _epoch(epoch, 1.0 / (epoch + 1))
        run.sink.on_epoch(EpochRecord(**{**record.__dict__, "run_id": run.run_id, "val_confusion": np.eye(2, dtype=np.int64) * (epoch + 1)}))
    timeline = window.cockpit.timeline
    qtbot.waitUntil(lambda: timeline.epochs == (0, 1, 2))
    assert window.confusion.header_text().startswith("Validation after epoch 3")
    run.end()


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_range_test_in_the_window_sets_the_suggested_rate(make_window, qtbot) -> None:  # noqa: F811
    window = make_window(ask_save=DISCARD)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.actions["run.lr_find"].trigger()
    dialog = window.cockpit.lr_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.steps_box.setValue(60)
    dialog.start_edit.setText("1e-5")
    dialog.run_button.click()
    assert not window.actions["run.lr_find"].isEnabled() or window.session.lr_running
    qtbot.waitUntil(lambda: dialog.result is not None and not window.session.lr_running, timeout=RUN_TIMEOUT_MS)
    assert dialog.result.suggestion is not None, dialog.result.summary()
    assert len(dialog.smooth_curve.getOriginalDataset()[0]) == len(dialog.result.losses)
    dialog.use_button.click()
    rate = float(f"{dialog.result.suggestion.rate:.3g}")
    assert window.settings_panel.learning_rate() == pytest.approx(rate)
    assert window.current_config().optimizer.learning_rate == pytest.approx(rate)
    assert window.isWindowModified()
    assert window.session.memory is None  # no model of the session was touched


@pytest.mark.usefixtures("tensorflow_loaded")
def test_the_initialization_preview_in_the_window_applies_an_initializer(make_window, qtbot) -> None:  # noqa: F811
    window = make_window(ask_save=DISCARD)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.actions["run.init_preview"].trigger()
    dialog = window.cockpit.init_dialog
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=RUN_TIMEOUT_MS)
    assert dialog.table.rowCount() == len(PREVIEW_INITIALIZERS)
    dialog.select("he_normal")
    dialog.apply_button.click()
    assert window.current_config().initializer == "he_normal"


class ScriptedReplay:
    """Stands in for model.replay.ReplayProcess: replays the saved history from a thread of its own."""

    def __init__(self, run_folder: Path, on_message) -> None:
        import threading

        from model import runfolder

        self.run_folder = run_folder
        saved, _ = runfolder.load_history(run_folder)

        def play() -> None:
            names = ("L2_Dense", "L3_Dense")
            on_message(RunStarted(0, len(saved), 0, 2, 8, 16, 8, 8, names, 1e-3))
            for record in saved:
                for batch in range(2):
                    step = record.epoch * 2 + batch
                    on_message(BatchRecord(0, record.epoch, batch, step, record.loss, record.accuracy, 1e-3, G, G, 1, 0, 0))
                on_message(record)
            on_message(ReplayOutcome(compare(saved, saved), ()))

        self._thread = threading.Thread(target=play, name="scripted-replay")
        self._thread.start()

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


@pytest.mark.usefixtures("tensorflow_loaded")
def test_a_saved_run_exports_to_tensorboard_and_replays_in_the_window(make_window, qtbot, tmp_path, monkeypatch) -> None:  # noqa: F811
    from gui import dialogs
    from tests.gui.test_main_window import settle, wait_idle
    from tests.model.test_tb_export import read_events

    window = make_window(ask_save=DISCARD)
    window.session.set_config(DIGITS_MLP)
    wait_ready(qtbot, window)
    window.session.train()
    wait_idle(qtbot, window)
    run = tmp_path / "run"
    assert settle(qtbot, window.session.save_model_to(run))
    saved_loss = window.session.memory.result.history[-1].loss

    monkeypatch.setattr(dialogs, "choose_folder", lambda parent, title, folder: tmp_path / "tb")
    window.actions["export.tensorboard"].trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("wrote "), timeout=RUN_TIMEOUT_MS)
    assert window.warnings == []
    events = read_events(tmp_path / "tb")
    assert events["train/epoch_loss"][-1][1] == pytest.approx(saved_loss)

    monkeypatch.setattr("model.replay.ReplayProcess", ScriptedReplay)
    window.actions["run.replay"].trigger()
    dialog = window.cockpit.replay_dialog
    assert dialog is not None and dialog.isVisible()
    assert Path(dialog.folder_edit.text()) == run  # the run in memory was saved there
    dialog.run_button.click()
    assert not dialog.run_button.isEnabled() and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=10_000)
    assert dialog.verdict.text().count("✓ The replay matches the saved run exactly") == 1
    assert dialog.run_button.isEnabled() and not window.session.replay_running
    x, _ = dialog.curves["saved_loss"].getOriginalDataset()
    assert len(x) == len(window.session.memory.result.history)
    assert len(dialog.curves["batch_loss"].getOriginalDataset()[0]) == 2 * len(x)
