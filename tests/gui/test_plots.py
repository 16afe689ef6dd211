"""The live plots, fed with synthetic records (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtWidgets import QApplication

from gui import plot_export
from gui import plots as plots_module
from gui.plot_hover import HOVER_HINT
from gui.plot_items import steady_range
from gui.plots import (
    EXPLODING_GRAD_NORM,
    HEATMAP_MAX_COLUMNS,
    VANISHING_GRAD_NORM,
    TrainingPlots,
)
from model import series as series_module
from model.diagnosis import CHECK_EVERY
from model.events import BatchRecord, EpochRecord, RunStarted

LAYERS = ("L2_Dense", "L3_Dense", "L4_Dense")


def started(run_id: int = 1, steps_per_epoch: int = 10, layers: tuple[str, ...] = LAYERS) -> RunStarted:
    return RunStarted(run_id, 2, 0, steps_per_epoch, 32, 320, 40, 40, layers, 1e-3)


def batch(
    step: int, norms: list[float] | np.ndarray, *, loss: float | None = None, run_id: int = 1
) -> BatchRecord:
    epoch, index = divmod(step, 10)
    value = 2.0 / (1 + step) if loss is None else loss
    arr = np.asarray(norms, dtype=np.float64)
    return BatchRecord(
        run_id, epoch, index, step, value, 1 - value / 2, 1e-3, arr, arr, 100.0, step / 20, 1.0
    )


def epoch(index: int, run_id: int = 1) -> EpochRecord:
    norms = np.ones(len(LAYERS))
    return EpochRecord(run_id, index, 0.5, 0.8, 0.6, 0.75, 1e-3, norms, norms, 1.0, 100.0)


def points(curve) -> int:
    """How many points a curve holds (not only those in view; pyqtgraph says None for none)."""
    x, _ = curve.getOriginalDataset()
    return 0 if x is None else len(x)


@pytest.fixture
def plots(qtbot) -> TrainingPlots:
    widget = TrainingPlots()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_names_moved_to_model_series_are_still_importable_from_gui_plots() -> None:
    for name in ("GrowingBuffer", "DebiasedEma", "RunSeries", "VANISHING_GRAD_NORM", "HEATMAP_LEVELS"):
        assert getattr(plots_module, name) is getattr(series_module, name)


def test_every_plot_fills_from_records(plots: TrainingPlots) -> None:
    plots.start_run(started())
    for step in range(20):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
        if step % 10 == 9:
            plots.add_epoch(epoch(step // 10))
    plots.refresh()

    x, y = plots.loss_batch_curve.getOriginalDataset()
    assert len(x) == 20 and y[0] == pytest.approx(2.0)
    assert points(plots.loss_smooth_curve) == 20
    assert points(plots.accuracy_batch_curve) == 20
    ex, ey = plots.loss_epoch_curve.getOriginalDataset()
    assert ex.tolist() == [9, 19] and ey.tolist() == [0.5, 0.5]
    assert plots.val_loss_curve.getOriginalDataset()[1].tolist() == [0.6, 0.6]
    assert plots.val_accuracy_curve.getOriginalDataset()[1].tolist() == [0.75, 0.75]

    grad = plots._grad_curves
    assert [c.name() for c in grad] == list(LAYERS)  # legend in layer order
    assert all(points(c) == 20 for c in grad)
    assert plots.legend_names() == list(LAYERS)
    text = plots.grad_legend.text()
    assert text.index("L2_Dense") < text.index("L3_Dense") < text.index("L4_Dense")
    assert plots.heatmap_image.image.shape == (3, 20)  # layers x steps
    assert plots.heatmap_image.isVisible()


def test_refresh_is_timer_driven_not_per_record(plots: TrainingPlots, qtbot, monkeypatch) -> None:
    plots.start_run(started())
    calls = []
    original = plots.refresh_part
    monkeypatch.setattr(plots, "refresh_part", lambda: (calls.append(1), original()))
    for step in range(2000):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    assert calls == []  # nothing drawn while records pour in
    qtbot.waitUntil(lambda: len(calls) >= 1, timeout=2000)
    qtbot.wait(100)
    assert len(calls) <= 8  # a plot per tick: the four, and at most a few ticks' worth more
    assert points(plots.loss_batch_curve) == 2000
    qtbot.waitUntil(lambda: not plots._pacer.timer.isActive(), timeout=2000)  # idle: the timer stops
    assert points(plots.accuracy_batch_curve) == 2000 and points(plots._grad_curves[0]) == 2000
    assert plots.heatmap_image.isVisible()


def test_a_tick_redraws_one_plot_and_four_ticks_redraw_them_all(plots: TrainingPlots) -> None:
    plots.start_run(started())
    plots._pacer.timer.stop()  # the ticks are called by hand here
    for step in range(30):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    drawn = []
    for _ in range(4):
        assert plots._pacer.dirty
        plots.refresh_part()
        grads = points(plots._grad_curves[0]) if plots._grad_curves else None  # made in their own redraw
        drawn.append((points(plots.loss_batch_curve), points(plots.accuracy_batch_curve),
                      grads, plots.heatmap_image.isVisible(), plots.paints_held()))  # fmt: skip
    assert drawn == [
        (30, 0, None, False, ["accuracy", "gradients", "heatmap"]),
        (30, 30, None, False, ["gradients", "heatmap"]),
        (30, 30, 30, False, ["heatmap"]),
        (30, 30, 30, True, []),
    ]
    assert plots.legend_names() == list(LAYERS)
    assert not plots._pacer.dirty  # all drawn: the pacer's timer stops at its next tick
    plots.add_batch(batch(30, [0.1, 0.2, 0.3]))
    plots.refresh_part()  # the cycle goes on where it was: the loss plot first again
    assert points(plots.loss_batch_curve) == 31 and points(plots.accuracy_batch_curve) == 30


class PaintLog(QObject):
    """Records which plot's viewport got a paint event."""

    def __init__(self, plots: TrainingPlots) -> None:
        super().__init__()
        self.painted: list[str] = []
        self._parts = {}
        for part, plot in plots.plot_items().items():
            viewport = plots._widgets[plot].viewport()
            self._parts[viewport] = part
            viewport.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint and watched in self._parts:
            self.painted.append(self._parts[watched])
        return False


def test_a_run_start_paints_one_plot_and_the_others_in_their_own_ticks(plots: TrainingPlots) -> None:
    """A new run changes all four linked plots at once; Qt would paint them in one turn."""
    log = PaintLog(plots)
    plots.start_run(started(steps_per_epoch=50))  # a new x range for all four linked plots
    plots._pacer.timer.stop()  # the ticks are called by hand here
    QApplication.processEvents()  # the end of this turn: Qt paints what changed
    assert log.painted == ["loss"]
    for _ in range(4):
        log.painted.clear()
        plots.refresh_part()
        QApplication.processEvents()
        assert len(set(log.painted)) <= 1  # one plot per tick
    assert plots.paints_held() == []
    plots.hide()
    plots.start_run(started(run_id=2))  # hidden: nothing is held (it paints when shown)
    assert plots.paints_held() == []


def test_held_plots_are_redrawn_at_the_shortest_interval_however_slow_drawing_was(plots: TrainingPlots) -> None:
    from gui.plot_pacing import MAX_REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS

    pacer = plots._pacer
    pacer._frame_ms = 400.0  # the last redraws were slow: the pacer waits its longest
    pacer.timer.setInterval(MAX_REFRESH_INTERVAL_MS)
    plots.start_run(started())
    intervals = [pacer.interval_ms]
    while plots.paints_held():
        pacer._on_timer()  # a tick: one plot drawn, and released
        intervals.append(pacer.interval_ms)
    # Ticks for the loss, accuracy and gradient plots at the shortest interval; once the
    # heat map (the last held) is drawn, the interval adapts to the cost again.
    assert intervals[:4] == [REFRESH_INTERVAL_MS] * 4 and len(intervals) == 5
    assert intervals[4] > REFRESH_INTERVAL_MS


def test_the_redraw_budget_grows_with_the_machines_cpus() -> None:
    from gui.plot_pacing import FRAME_BUDGET_PER_CPU, MAX_FRAME_BUDGET, available_cpus, frame_budget

    assert frame_budget(2) == 2 * FRAME_BUDGET_PER_CPU < frame_budget(4) < frame_budget(8)
    assert frame_budget(1000) == MAX_FRAME_BUDGET
    assert frame_budget(0) == frame_budget(1) > 0
    assert frame_budget() == frame_budget(available_cpus())


def test_the_refresh_interval_is_the_redraw_cost_over_the_budget(plots: TrainingPlots) -> None:
    from gui.plot_pacing import MAX_REFRESH_INTERVAL_MS, REFRESH_INTERVAL_MS

    pacer = plots._pacer
    pacer.timer.stop()  # the ticks are called by hand here
    pacer.budget = 0.025
    pacer._redraw = lambda: None  # a redraw that costs nothing: only the metered paint counts
    pacer.dirty = True
    pacer._frame_ms = 0.0
    plots.show()
    pacer.paint_seconds[0] = 0.004  # the last redraw's painting took 4 ms
    pacer._on_timer()
    assert abs(pacer.interval_ms - 4 / 0.025) <= 2  # 160 ms: 2.5% of the thread
    pacer.budget = 0.1
    pacer.paint_seconds[0] = 0.004
    pacer.dirty = True
    pacer._on_timer()
    assert REFRESH_INTERVAL_MS <= pacer.interval_ms < 4 / 0.025 - 20  # a larger budget redraws sooner
    pacer.paint_seconds[0] = 10.0  # however slow, at least every MAX_REFRESH_INTERVAL_MS
    pacer.dirty = True
    pacer._on_timer()
    assert pacer.interval_ms == MAX_REFRESH_INTERVAL_MS


def test_showing_the_plots_releases_every_held_paint(plots: TrainingPlots) -> None:
    plots.start_run(started())
    assert plots.paints_held() == ["accuracy", "gradients", "heatmap"]
    plots.hide()
    plots.show()  # back from another tab: each plot paints what it has at once
    assert plots.paints_held() == []


def test_vanishing_and_exploding_layers_are_flagged(plots: TrainingPlots) -> None:
    plots.start_run(started())
    for step in range(30):
        plots.add_batch(batch(step, [VANISHING_GRAD_NORM / 10, 0.5, EXPLODING_GRAD_NORM * 10]))
    plots.refresh()
    flags = plots.flags()
    assert set(flags) == {"L2_Dense", "L4_Dense"}
    assert flags["L2_Dense"].startswith("vanishing")
    assert flags["L4_Dense"].startswith("exploding")
    assert "L2_Dense" in plots.flags_label.text() and "L4_Dense" in plots.flags_label.text()
    assert "L3_Dense" not in plots.flags_label.text()


def test_non_finite_gradients_count_as_exploding(plots: TrainingPlots) -> None:
    plots.start_run(started())
    for step in range(5):
        plots.add_batch(batch(step, [0.1, math.nan, 0.0], loss=math.nan if step == 4 else None))
    plots.refresh()  # no warnings from NaN losses, NaN or zero norms on a log axis
    flags = plots.flags()
    assert "exploding" in flags["L3_Dense"]
    assert "vanishing" in flags["L4_Dense"]  # an exactly zero gradient


def test_heat_map_bins_long_histories(plots: TrainingPlots) -> None:
    plots.start_run(started(steps_per_epoch=5000))
    for step in range(3 * HEATMAP_MAX_COLUMNS + 7):
        plots.add_batch(batch(step, [1e-6, 1.0, 1e2]))
    plots.refresh()
    image = plots.heatmap_image.image
    assert image.shape[0] == 3 and image.shape[1] <= HEATMAP_MAX_COLUMNS + 1
    assert image[0].mean() == pytest.approx(-6.0) and image[2].mean() == pytest.approx(2.0)


def test_keep_previous_run_and_clear(plots: TrainingPlots) -> None:
    plots.start_run(started(run_id=1))
    for step in range(10):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.add_epoch(epoch(0))
    plots.keep_previous.setChecked(True)
    plots.start_run(started(run_id=2))
    plots.refresh()
    assert points(plots.previous_loss_curve) == 10
    assert points(plots.previous_val_loss_curve) == 1
    assert points(plots.loss_batch_curve) == 0  # the new run starts empty

    plots.clear_button.click()
    assert plots.previous is None
    assert points(plots.previous_loss_curve) == 0


def test_without_keep_previous_the_old_run_disappears(plots: TrainingPlots) -> None:
    plots.start_run(started(run_id=1))
    plots.add_batch(batch(0, [0.1, 0.2, 0.3]))
    plots.start_run(started(run_id=2))
    plots.refresh()
    assert plots.previous is None
    assert points(plots.previous_loss_curve) == 0


def test_marker_is_drawn_at_the_step(plots: TrainingPlots) -> None:
    plots.start_run(started())
    for step in range(5):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.mark(5, "lr → 0.01")
    assert plots.marker_steps() == [5]
    lines = [item for item in plots.loss_plot.items if getattr(item, "label", None) is not None]
    assert lines and lines[0].value() == 5
    plots.start_run(started(run_id=2))
    assert plots.marker_steps() == []


def test_hover_describes_the_point(plots: TrainingPlots, qapp) -> None:
    plots.start_run(started())
    for step in range(10):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.refresh()
    qapp.processEvents()  # let the views auto-range to the new data
    assert plots.describe_point(plots.loss_plot, 3.2, 0).startswith("step 3: loss 0.5")
    assert "accuracy" in plots.describe_point(plots.accuracy_plot, 3, 0)
    assert "L3_Dense 0.2" in plots.describe_point(plots.grad_plot, 9, 0)
    assert plots.describe_point(plots.heatmap_plot, 0, 2.5) == "step 0: L4_Dense ‖∇W‖ = 0.3"
    # Through the mouse-move handler, as the SignalProxy calls it.
    plots._hover.on_mouse_moved(plots.loss_plot, plots.loss_plot.vb.mapViewToScene(QPointF(4, 0.3)))
    assert plots.readout.text().startswith("step 4")


def hover(plots: TrainingPlots, plot, x: float, y: float) -> None:
    plots._hover.on_mouse_moved(plot, plot.vb.mapViewToScene(QPointF(x, y)))


def crosshairs_shown(plots: TrainingPlots) -> bool:
    return plots._hover.visible()


def test_crosshairs_and_readout_go_when_the_mouse_leaves(plots: TrainingPlots, qapp) -> None:
    plots.start_run(started())
    for step in range(10):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.refresh()
    qapp.processEvents()
    hover(plots, plots.loss_plot, 4, 0.3)
    assert crosshairs_shown(plots) and plots.readout.text().startswith("step 4")
    QApplication.sendEvent(plots._widgets[plots.loss_plot], QEvent(QEvent.Type.Leave))
    assert not crosshairs_shown(plots)
    assert plots.readout.text() == HOVER_HINT
    # A move the rate-limited proxy hands on after the mouse left does not bring them back.
    plots._hover._make_hover(plots.loss_plot, plots._widgets[plots.loss_plot])(
        (plots.loss_plot.vb.mapViewToScene(QPointF(5, 0.3)),)
    )
    assert not crosshairs_shown(plots)
    QApplication.sendEvent(plots._widgets[plots.loss_plot], QEvent(QEvent.Type.Enter))
    hover(plots, plots.loss_plot, 5, 0.3)
    assert crosshairs_shown(plots)
    plots._hover.on_mouse_moved(plots.loss_plot, QPointF(-500, -500))  # off the plot
    assert not crosshairs_shown(plots) and plots.readout.text() == HOVER_HINT


def test_a_new_run_or_history_clears_the_readout(plots: TrainingPlots, qapp) -> None:
    plots.start_run(started())
    for step in range(10):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.refresh()
    qapp.processEvents()
    hover(plots, plots.grad_plot, 4, -0.7)
    assert "L2_Dense" in plots.readout.text()
    plots.start_run(started(run_id=2, layers=("conv", "dense")))
    assert not crosshairs_shown(plots) and plots.readout.text() == HOVER_HINT
    hover(plots, plots.grad_plot, 4, -0.7)
    plots.show_history([epoch(0)], ("other",), 10)
    assert not crosshairs_shown(plots) and plots.readout.text() == HOVER_HINT


def test_axes_show_real_values_without_an_si_prefix(plots: TrainingPlots, qapp) -> None:
    plots.start_run(started(steps_per_epoch=100))
    for step in range(50):
        plots.add_batch(batch(step, [3e-4, 5e-4, 6e-4], loss=0.0015 + step * 1e-5))
    plots.refresh()
    qapp.processEvents()
    for plot in (plots.loss_plot, plots.accuracy_plot, plots.grad_plot, plots.heatmap_plot):
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            assert axis.autoSIPrefixScale == 1.0
            assert "(x" not in axis.labelString()
    assert plots.heatmap_colorbar.getAxis("right").autoSIPrefixScale == 1.0
    left = plots.loss_plot.getAxis("left")
    ticks = [value for level in left.tickValues(0.0015, 0.002, 300) for value in level[1]]
    assert ticks and all(0.001 < value < 0.003 for value in ticks)  # real losses, not 150-200


def test_axes_name_their_units(plots: TrainingPlots) -> None:
    assert plots.loss_plot.getAxis("bottom").labelText == "step (batches)"
    assert plots.loss_plot.getAxis("left").labelText == "loss"
    assert plots.accuracy_plot.getAxis("left").labelText == "accuracy"
    assert plots.grad_plot.getAxis("left").labelText == "‖∇W‖ (L2 norm)"


def test_epochs_without_validation_leave_the_validation_curve_empty(plots: TrainingPlots) -> None:
    plots.start_run(started())
    for step in range(3):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    norms = np.ones(len(LAYERS))
    plots.add_epoch(EpochRecord(1, 0, 0.5, 0.8, None, None, 1e-3, norms, norms, 1.0, 100.0, "partial epoch"))
    plots.refresh()  # an all-NaN curve would make pyqtgraph's auto-range warn
    assert points(plots.loss_epoch_curve) == 1
    assert points(plots.val_loss_curve) == 0
    assert plots.series.epochs.view[0, 0] == 2  # a partial epoch ends at its last batch


def test_flag_text_survives_rich_text(plots: TrainingPlots) -> None:
    plots.start_run(started())
    plots.add_batch(batch(0, [1e-9, 1.0, 1.0]))
    plots.refresh()
    # "<" in "< 1e-05" must not be read as the start of an HTML tag.
    assert "&lt; 1e-05)" in plots.flags_label.text()


def test_a_saved_history_is_shown_and_a_resumed_run_continues_it(qtbot) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    history = [epoch(0), epoch(1)]
    plots.show_history(history, LAYERS, 10)
    assert plots.epoch_numbers() == [1, 2]
    assert len(plots.series.batches) == 0  # per-batch figures are not saved
    info = RunStarted(1, 4, 2, 10, 32, 320, 0, 0, LAYERS, 0.1)
    plots.start_run(info, history)
    plots.add_epoch(epoch(2))
    plots.add_epoch(epoch(3))
    assert plots.epoch_numbers() == [1, 2, 3, 4]


def test_each_plot_exports_as_png_and_svg(qtbot, tmp_path) -> None:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 600)
    plots.show()
    qtbot.waitExposed(plots)
    plots.show_history([epoch(0), epoch(1)], LAYERS, 10)
    png = plots.export_images(tmp_path / "run", "png")
    svg = plots.export_images(tmp_path / "run", "svg")
    assert [p.name for p in png] == ["run-loss.png", "run-accuracy.png", "run-gradients.png", "run-heatmap.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in png)
    assert all("<svg" in p.read_text() for p in svg)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in png + svg)  # no temp files


def test_exported_plots_have_no_crosshair_and_the_gradients_a_legend(
    plots: TrainingPlots, qapp, tmp_path, monkeypatch
) -> None:
    plots.start_run(started())
    for step in range(10):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
    plots.refresh()
    qapp.processEvents()
    hover(plots, plots.grad_plot, 4, -0.7)
    assert crosshairs_shown(plots)
    seen: dict[str, tuple[bool, list[str]]] = {}
    write = plot_export.write_with_atomic

    def spy(target, writer, suffix):  # noqa: ANN001, ANN202 - records what each file shows
        plot = plots.plot_items()[target.stem.rsplit("-", 1)[1]]
        legends = [item for item in plot.vb.childItems() if isinstance(item, pg.LegendItem)]
        names = [label.text for legend in legends for _, label in legend.items]
        seen[target.stem] = (crosshairs_shown(plots), names)
        return write(target, writer, suffix=suffix)

    monkeypatch.setattr(plot_export, "write_with_atomic", spy)
    plots.export_images(tmp_path / "run", "png")
    assert seen["run-gradients"] == (False, list(LAYERS))
    assert seen["run-loss"] == (False, ["batch loss", "smoothed", "epoch (train)", "epoch (validation)"])
    assert not any(shown for shown, _ in seen.values())
    # Afterwards the screen is as it was: the crosshair back, no legend inside the plots.
    assert crosshairs_shown(plots)
    assert not [item for item in plots.grad_plot.vb.childItems() if isinstance(item, pg.LegendItem)]


def test_a_saved_history_shows_epoch_gradient_norms(qtbot) -> None:
    import numpy as np

    from gui.plots import TrainingPlots
    from model.events import EpochRecord

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    history = [
        EpochRecord(run_id=0, epoch=e, loss=1.0 / (e + 1), accuracy=0.5, val_loss=None, val_accuracy=None,
                    learning_rate=1e-3, grad_norms=np.array([1e-3 * (e + 1), 0.5]), weight_norms=np.array([1.0, 2.0]),
                    seconds=1.0, samples_per_second=100.0)
        for e in range(3)
    ]
    plots.show_history(history, ("L2_Dense", "L3_Dense"), steps_per_epoch=10)
    x, y = plots._grad_epoch_curves[0].getData()
    assert list(x) == [9, 19, 29]
    np.testing.assert_allclose(10.0**y, [1e-3, 2e-3, 3e-3])  # the axis is logarithmic


# ---------------------------------------------------------------- steady y ranges

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
anything = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None)
@given(current=st.tuples(finite, finite), data=st.tuples(finite, finite))
def test_a_steady_range_always_shows_the_data_and_is_kept_once_chosen(current, data) -> None:
    low, high = sorted(data)
    lo, hi = steady_range(current, low, high)
    assert lo < hi and lo <= low and high <= hi
    assert steady_range((lo, hi), low, high) == (lo, hi)  # the next frame keeps it
    new_lo, _ = steady_range((math.nan, math.nan), low, high)  # chosen afresh
    if low >= 0:
        assert new_lo >= 0  # headroom never takes a positive loss's axis below zero


@settings(max_examples=300, deadline=None)
@given(current=st.one_of(st.none(), st.tuples(anything, anything)), data=st.tuples(anything, anything), keep_sign=st.booleans())
def test_a_steady_range_never_raises_whatever_the_floats(current, data, keep_sign) -> None:
    """It runs while Qt paints: an exception there would come back with every paint."""
    low, high = data
    result = steady_range(current, low, high, keep_sign)
    assert len(result) == 2
    if current is None and math.isfinite(high - low) and low <= high:
        lo, hi = result
        assert lo <= low and high <= hi and lo < hi  # chosen afresh: the data are in it


def test_flat_data_get_a_readable_range() -> None:
    assert steady_range(None, 0.0, 0.0) == (0.0, 1.0)  # a constant loss of 0 (or a norm of 1 on a log axis)
    assert steady_range((0.0, 4.0), 0.0, 0.0, keep_sign=False) == (-1.0, 1.0)
    lo, hi = steady_range(None, 2.0, 2.0)
    assert lo < 2.0 < hi and hi - lo < 1.0


def test_a_log_axis_is_not_held_at_zero() -> None:
    """On a log axis 0 is a norm of 1: data just under it get their room above as elsewhere."""
    assert steady_range((-3.0, -0.1), -3.0, 0.05, keep_sign=False)[1] > 0.3
    assert steady_range((-3.0, -0.1), -3.0, -0.01, keep_sign=True)[1] == 0.0


@given(current=st.tuples(finite, finite), bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_steady_range_ignores_data_without_finite_bounds(current, bad) -> None:
    assert steady_range(current, bad, 1.0) == tuple(float(v) for v in current)
    assert steady_range(current, 0.0, bad) == tuple(float(v) for v in current)


def test_a_steady_range_is_kept_while_the_data_fill_it_and_renewed_when_they_shrink() -> None:
    assert steady_range((0.0, 2.6), 0.3, 2.5) == (0.0, 2.6)  # a falling loss under its first peak
    assert steady_range((0.0, 2.6), 0.3, 2.7) != (0.0, 2.6)  # out of range: a new one
    lo, hi = steady_range((0.0, 2.6), 0.30, 0.35)  # the data fill 2% of it: rescaled to them
    assert 0.25 <= lo < 0.30 and 0.35 < hi <= 0.40


def test_a_falling_loss_rescales_the_axis_a_few_times_not_with_every_frame(plots: TrainingPlots, qapp) -> None:
    """Each change of y range regenerates the axis and its grid, the costliest part of a frame.

    pyqtgraph's own auto-range gave the loss plot 78 ranges in these 120 frames.
    """
    plots.start_run(started(steps_per_epoch=600))
    plots._pacer.timer.stop()
    ranges = []
    plots.loss_plot.vb.sigYRangeChanged.connect(lambda _vb, r: ranges.append(tuple(r)))
    rng = np.random.default_rng(0)
    losses = []
    for step in range(600):
        loss = 2.3 * math.exp(-step / 150) + 0.05 + 0.1 * rng.random()
        losses.append(loss)
        plots.add_batch(batch(step, [0.1, 0.2, 0.3], loss=loss))
        if step % 5 == 4:
            plots.refresh()
            qapp.processEvents()  # paints: pyqtgraph auto-ranges just before
    lo, hi = plots.loss_plot.vb.viewRange()[1]
    assert lo <= min(losses) and max(losses) <= hi  # every point in view
    assert 1 <= len(ranges) <= 12, ranges  # 8 here
    # The user's zoom (the data fill just over half of it) is shown as given ...
    plots.loss_plot.vb.setYRange(0.05, 4.5, padding=0)
    assert plots.loss_plot.vb.viewRange()[1] == pytest.approx([0.05, 4.5])
    plots.loss_plot.enableAutoRange(axis="y")  # ... until the "A" button: fitted to the data again, not kept
    qapp.processEvents()
    lo, hi = plots.loss_plot.vb.viewRange()[1]
    assert lo <= min(losses) and max(losses) <= hi < 4.0


def test_a_streaming_run_is_diagnosed_every_few_batches_not_at_every_redraw(plots: TrainingPlots, monkeypatch) -> None:
    plots.start_run(started(steps_per_epoch=200))
    plots._pacer.timer.stop()  # the ticks are called by hand here
    calls = []
    original = plots.series.diagnoses
    monkeypatch.setattr(plots.series, "diagnoses", lambda *a: (calls.append(1), original(*a))[1])
    for step in range(200):
        plots.add_batch(batch(step, [0.1, 0.2, 0.3]))
        plots.refresh_part()  # a tick per batch: 50 redraws of the gradient plot
    assert 10 <= len(calls) <= 200 // CHECK_EVERY + 2  # 50 when every redraw diagnosed
    calls.clear()
    plots.add_batch(batch(200, [1e-9, 0.2, 0.3]))
    plots.redraw_soon()  # a run's end: diagnosed however few batches came
    for _ in range(4):
        plots.refresh_part()
    assert len(calls) == 1


def test_a_symbols_padding_below_zero_does_not_take_a_loss_axis_further_down() -> None:
    """Epoch symbols make pyqtgraph's data bounds reach a little below a loss of 0."""
    lo, hi = steady_range(None, -0.3, 11.0)
    assert lo == -0.3 and hi >= 11.0  # at the padded data, not rounded down to -2
    assert steady_range(None, -3.0, 11.0)[0] < -3.0  # data truly below zero get their room
