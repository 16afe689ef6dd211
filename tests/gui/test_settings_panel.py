"""The training settings panel: round trips, applicable fields, batch modes, split, locks."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from gui.settings_panel import (
    DATASET_TEXT,
    LOSS_TEXT,
    OPTIMIZER_TEXT,
    SCHEDULE_TEXT,
    TrainingSettings,
)
from gui.widgets import CollapsibleSection, OptionalSpinBox, ScientificSpinBox
from model.config import (
    DATASETS,
    INITIALIZERS,
    LOSSES,
    MONITORS,
    OPTIMIZER_PARAMS,
    OPTIMIZERS,
    SCHEDULE_PARAMS,
    SCHEDULES,
    AugmentationSpec,
    DataSpec,
    EarlyStoppingSpec,
    OptimizerSpec,
    RunConfig,
    ScheduleSpec,
    SplitSpec,
    list_presets,
    load_preset,
)
from model.errors import ConfigError

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

OPTIMIZER_FIELDS = ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "rho", "epsilon",
                    "weight_decay", "clipnorm")  # fmt: skip
SCHEDULE_FIELDS = ("step_epochs", "factor", "patience", "min_learning_rate")


@pytest.fixture
def panel(qtbot) -> TrainingSettings:
    widget = TrainingSettings()
    qtbot.addWidget(widget)
    return widget


def control(panel: TrainingSettings, name: str) -> QWidget:
    widget = panel.findChild(QWidget, name)
    assert widget is not None, name
    return widget


def choose(panel: TrainingSettings, name: str, value: object) -> None:
    box = control(panel, name)
    assert isinstance(box, QComboBox)
    index = box.findData(value)
    assert index >= 0, (name, value)
    box.setCurrentIndex(index)


def only_panel_fields(config: RunConfig) -> RunConfig:
    """What the panel should produce from the defaults: config minus its name and layers."""
    default = RunConfig()
    return config.replace(name=default.name, layers=default.layers)


# ---------------------------------------------------------------------------- round trips


def test_text_tables_cover_every_choice() -> None:
    assert set(LOSS_TEXT) == set(LOSSES)
    assert set(OPTIMIZER_TEXT) == set(OPTIMIZERS)
    assert set(SCHEDULE_TEXT) == set(SCHEDULES)
    assert set(DATASET_TEXT) == set(DATASETS)


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_round_trips(qtbot, panel: TrainingSettings, preset: str) -> None:
    config = load_preset(preset)
    with qtbot.assertNotEmitted(panel.configChanged), qtbot.assertNotEmitted(panel.dataChanged):
        panel.set_config(config)
    assert panel.error() is None
    assert panel.apply_to(RunConfig()) == only_panel_fields(config)
    # Layers and name come from the config passed in, untouched.
    assert panel.apply_to(config) == config


def test_every_optimizer_and_schedule_round_trips(qtbot, panel: TrainingSettings) -> None:
    for name, kind in itertools.product(OPTIMIZERS, SCHEDULES):
        config = RunConfig(
            loss="hinge",
            optimizer=OptimizerSpec(name=name, learning_rate=0.05, momentum=0.9, nesterov=True, beta_1=0.85,
                                    beta_2=0.995, rho=0.95, epsilon=1e-8, weight_decay=0.004, clipnorm=2.5),
            schedule=ScheduleSpec(kind=kind, step_epochs=3, factor=0.25, patience=4, min_learning_rate=1e-5),
            initializer="orthogonal",
            l1=1e-5,
            l2=0.002,
            batch_size="full",
            epochs=12,
            early_stopping=EarlyStoppingSpec(True, "val_accuracy", 6, 0.001, False),
            seed=7,
            data=DataSpec("file", "/data/my digits.npz", 500),
            split=SplitSpec(0.6, 0.25, 0.15, stratified=False),
            augmentation=AugmentationSpec(True, 0.05, 12.5, 0.15, 0.7),
            report_every=5,
        )  # fmt: skip
        with qtbot.assertNotEmitted(panel.configChanged):
            panel.set_config(config)
        assert panel.apply_to(RunConfig()) == only_panel_fields(config), (name, kind)


def _fractions(decimals: int, low: int, high: int) -> st.SearchStrategy[float]:
    """Numbers a spin box with ``decimals`` decimals can hold exactly."""
    return st.integers(low, high).map(lambda k: k / 10**decimals)


_logs = st.sampled_from([1e-7, 3e-6, 1e-5, 2.5e-4, 0.001, 0.003, 0.02, 0.1, 0.5, 1.0])

_configs = st.builds(
    RunConfig,
    loss=st.sampled_from(LOSSES),
    optimizer=st.builds(
        OptimizerSpec,
        name=st.sampled_from(OPTIMIZERS),
        learning_rate=_logs,
        momentum=_fractions(3, 0, 999),
        nesterov=st.booleans(),
        beta_1=_fractions(4, 0, 9999),
        beta_2=_fractions(5, 0, 99999),
        rho=_fractions(4, 0, 9999),
        epsilon=st.sampled_from([1e-12, 1e-8, 1e-7, 1e-3]),
        weight_decay=st.sampled_from([0.0, 1e-5, 4e-3, 0.1]),
        clipnorm=st.none() | st.sampled_from([1e-3, 0.5, 1.0, 10.0]),
    ),
    schedule=st.builds(
        ScheduleSpec,
        kind=st.sampled_from(SCHEDULES),
        step_epochs=st.integers(1, 10000),
        factor=_fractions(3, 1, 1000),
        patience=st.integers(1, 10000),
        min_learning_rate=st.sampled_from([0.0, 1e-8, 1e-6, 1e-4]),
    ),
    initializer=st.sampled_from(INITIALIZERS),
    l1=st.sampled_from([0.0, 1e-6, 1e-4, 0.01]),
    l2=st.sampled_from([0.0, 1e-6, 5e-4, 0.01]),
    batch_size=st.just("full") | st.integers(1, 1_000_000),
    epochs=st.integers(1, 100_000),
    early_stopping=st.builds(
        EarlyStoppingSpec,
        enabled=st.booleans(),
        monitor=st.sampled_from(MONITORS),
        patience=st.integers(0, 10000),
        min_delta=st.sampled_from([0.0, 1e-4, 0.01]),
        restore_best_weights=st.booleans(),
    ),
    seed=st.integers(0, 2**31 - 1),
    data=st.builds(
        DataSpec,
        name=st.sampled_from(("mnist", "fashion_mnist", "file")),
        path=st.just("/tmp/data.npz"),
        limit=st.none() | st.integers(20, 10_000_000),
    ),
    split=st.sampled_from(
        [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.6, 0.25, 0.15), (1.0, 0.0, 0.0), (0.5, 0.5, 0.0)]
    ).map(lambda s: SplitSpec(*s)),
    augmentation=st.builds(
        AugmentationSpec,
        enabled=st.booleans(),
        shift=_fractions(3, 0, 500),
        rotation=_fractions(1, 0, 900),
        zoom=_fractions(3, 0, 500),
        thickness=_fractions(2, 0, 100),
    ),
    report_every=st.integers(1, 100_000),
)


def test_random_configs_round_trip(qtbot, panel: TrainingSettings) -> None:
    @settings(max_examples=60, deadline=None)
    @given(config=_configs)
    def check(config: RunConfig) -> None:
        panel.set_config(config)
        assert panel.error() is None
        assert panel.apply_to(RunConfig()) == only_panel_fields(config)

    check()


# ---------------------------------------------------------------------------- what is shown


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_only_the_optimizers_own_fields_are_visible(panel: TrainingSettings, name: str) -> None:
    choose(panel, "optimizer.name", name)
    for field in OPTIMIZER_FIELDS:
        widget = control(panel, f"optimizer.{field}")
        assert widget.isVisibleTo(panel) == (field in OPTIMIZER_PARAMS[name]), field


@pytest.mark.parametrize("kind", SCHEDULES)
def test_only_the_schedules_own_fields_are_visible(panel: TrainingSettings, kind: str) -> None:
    choose(panel, "schedule.kind", kind)
    for field in SCHEDULE_FIELDS:
        widget = control(panel, f"schedule.{field}")
        assert widget.isVisibleTo(panel) == (field in SCHEDULE_PARAMS[kind]), field
    assert control(panel, "schedule_about").text() == SCHEDULE_TEXT[kind][1]


def test_set_config_shows_the_fields_of_its_optimizer(panel: TrainingSettings) -> None:
    panel.set_config(load_preset("vanishing_sigmoid"))  # sgd
    assert control(panel, "optimizer.momentum").isVisibleTo(panel)
    assert not control(panel, "optimizer.beta_1").isVisibleTo(panel)
    panel.set_config(load_preset("cnn"))  # adam, exponential decay
    assert not control(panel, "optimizer.momentum").isVisibleTo(panel)
    assert control(panel, "optimizer.beta_1").isVisibleTo(panel)
    assert control(panel, "schedule.factor").isVisibleTo(panel)
    assert not control(panel, "schedule.step_epochs").isVisibleTo(panel)


# ---------------------------------------------------------------------------- batches


def test_batch_modes_set_the_batch_size(qtbot, panel: TrainingSettings) -> None:
    panel.set_train_count(56_000)
    about = control(panel, "batch_mode_about")
    size = control(panel, "batch_size")
    assert panel.apply_to(RunConfig()).batch_size == 128
    assert about.text() == "Mini-batch: 438 updates per epoch of 56,000 samples."
    assert size.isVisibleTo(panel)

    with qtbot.waitSignal(panel.configChanged):
        choose(panel, "batch_mode", "stochastic")
    assert panel.apply_to(RunConfig()).batch_size == 1
    assert "56,000" in about.text() and "one per sample" in about.text()
    assert not size.isVisibleTo(panel)

    with qtbot.waitSignal(panel.configChanged):
        choose(panel, "batch_mode", "full")
    assert panel.apply_to(RunConfig()).batch_size == "full"
    assert about.text().startswith("Full batch: one exact gradient step per epoch over all 56,000 samples")

    choose(panel, "batch_mode", "mini")
    with qtbot.waitSignal(panel.configChanged):
        size.setValue(32)
    assert panel.apply_to(RunConfig()).batch_size == 32
    assert about.text() == "Mini-batch: 1,750 updates per epoch of 56,000 samples."


def test_batch_text_without_a_train_count(panel: TrainingSettings) -> None:
    panel.set_train_count(None)
    assert control(panel, "batch_mode_about").text() == "Mini-batch: one update per 128 samples."


def test_batch_size_one_reads_as_stochastic(panel: TrainingSettings) -> None:
    panel.set_config(RunConfig(batch_size=1))
    assert control(panel, "batch_mode").currentData() == "stochastic"
    panel.set_config(RunConfig(batch_size="full"))
    assert control(panel, "batch_mode").currentData() == "full"


# ---------------------------------------------------------------------------- split


def split_of(panel: TrainingSettings) -> tuple[float, float, float]:
    return tuple(control(panel, f"split.{part}").value() for part in ("train", "validation", "test"))


def test_editing_validation_or_test_adjusts_train(qtbot, panel: TrainingSettings) -> None:
    with qtbot.waitSignal(panel.dataChanged):
        control(panel, "split.validation").setValue(0.2)
    assert split_of(panel) == pytest.approx((0.7, 0.2, 0.1))
    control(panel, "split.test").setValue(0.15)
    assert split_of(panel) == pytest.approx((0.65, 0.2, 0.15))
    assert sum(split_of(panel)) == pytest.approx(1.0)
    assert panel.apply_to(RunConfig()).split == SplitSpec(0.65, 0.2, 0.15)


def test_editing_train_adjusts_test_then_validation(panel: TrainingSettings) -> None:
    control(panel, "split.train").setValue(0.85)
    assert split_of(panel) == pytest.approx((0.85, 0.1, 0.05))
    control(panel, "split.train").setValue(0.95)
    assert split_of(panel) == pytest.approx((0.95, 0.05, 0.0))
    control(panel, "split.train").setValue(0.6)
    assert split_of(panel) == pytest.approx((0.6, 0.05, 0.35))
    assert panel.error() is None


def test_a_split_that_cannot_sum_to_one_shows_an_error(qtbot, panel: TrainingSettings) -> None:
    control(panel, "split.validation").setValue(0.5)
    with qtbot.waitSignal(panel.configChanged):
        control(panel, "split.test").setValue(0.6)
    error = panel.error()
    assert error is not None and error.startswith("split: train + validation + test must sum to 1")
    shown = [label for label in panel.findChildren(QLabel) if label.text() == error]
    assert len(shown) == 1 and shown[0].isVisibleTo(panel)
    with pytest.raises(ConfigError):
        panel.apply_to(RunConfig())
    control(panel, "split.test").setValue(0.1)
    assert panel.error() is None
    assert not shown[0].isVisibleTo(panel)
    assert split_of(panel) == pytest.approx((0.4, 0.5, 0.1))


def test_split_fields_rebalance_on_commit_not_per_keystroke(qtbot, panel: TrainingSettings) -> None:
    panel.show_page("Data")  # where the split is
    panel.show()
    qtbot.waitExposed(panel)
    validation = control(panel, "split.validation")
    assert isinstance(validation, QDoubleSpinBox)
    validation.setFocus()
    qtbot.waitUntil(validation.hasFocus)
    validation.selectAll()
    qtbot.keyClicks(validation, "0.")
    assert split_of(panel) == pytest.approx((0.8, 0.1, 0.1))  # "0." moved nothing
    qtbot.keyClicks(validation, "3")
    assert split_of(panel)[0] == pytest.approx(0.8)
    qtbot.keyClick(validation, Qt.Key.Key_Return)
    assert split_of(panel) == pytest.approx((0.6, 0.3, 0.1))


def test_the_test_fraction_is_disabled_while_the_official_test_set_replaces_it(panel: TrainingSettings) -> None:
    test = control(panel, "split.test")
    official = control(panel, "split.official_test")
    assert test.isEnabled() and "Range: 0 to 0.999." in test.toolTip()
    official.setChecked(True)
    assert not test.isEnabled()
    assert test.toolTip().startswith("Not used now: with “Official test set” on")
    choose(panel, "data.name", "digits")  # no test set of its own: the fraction is used
    assert test.isEnabled() and "Range:" in test.toolTip()
    choose(panel, "data.name", "mnist")
    assert not test.isEnabled()
    panel.set_config(RunConfig(split=SplitSpec(0.8, 0.1, 0.1, official_test=False)))
    assert test.isEnabled()
    panel.set_locked(True)
    panel.set_locked(False)
    assert test.isEnabled()


# ---------------------------------------------------------------------------- data


def test_file_dataset_needs_a_path_and_browse_fills_it(
    qtbot, panel: TrainingSettings, monkeypatch, tmp_path
) -> None:
    with qtbot.waitSignal(panel.dataChanged):
        choose(panel, "data.name", "file")
    assert panel.error() == "data.path: is required when data.name is 'file'"
    assert control(panel, "data.path").isVisibleTo(panel)

    chosen = tmp_path / "digits.npz"
    calls = []

    def fake_dialog(parent, caption, folder, filters):  # noqa: ANN001, ANN202
        calls.append(filters)
        return str(chosen), filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_dialog))
    with qtbot.waitSignal(panel.dataChanged):
        control(panel, "data.browse").menu().actions()[0].trigger()
    assert "*.npz" in calls[0] and "*.csv" in calls[0]
    assert panel.error() is None
    assert panel.apply_to(RunConfig()).data == DataSpec("file", str(chosen))

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a: str(tmp_path)))
    with qtbot.waitSignal(panel.dataChanged):
        control(panel, "data.browse").menu().actions()[1].trigger()
    assert panel.apply_to(RunConfig()).data.path == str(tmp_path)


def test_browse_starts_in_the_current_paths_folder_then_the_last_one_chosen(
    qtbot, panel: TrainingSettings, monkeypatch, tmp_path
) -> None:
    starts: list[str] = []

    def fake_open(parent, caption, folder, filters):  # noqa: ANN001, ANN202
        starts.append(folder)
        return "", ""

    def fake_folder(parent, caption, folder):  # noqa: ANN001, ANN202
        starts.append(folder)
        return str(tmp_path / "chosen")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake_folder))
    (tmp_path / "data").mkdir()
    (tmp_path / "chosen").mkdir()
    panel.set_browse_folder(str(tmp_path / "data"))
    browse = control(panel, "data.browse").menu().actions()
    browse[0].trigger()
    assert starts[-1] == str(tmp_path / "data")  # no path yet: the default folder
    panel.set_config(RunConfig(data=DataSpec("mnist", str(tmp_path / "data" / "mnist.npz"))))
    browse[0].trigger()
    assert starts[-1] == str(tmp_path / "data")  # the current path's folder
    browse[1].trigger()  # chooses tmp_path/chosen as the data folder
    browse[1].trigger()
    assert starts[-1] == str(tmp_path / "chosen")  # the folder path itself
    control(panel, "data.path").setText("")
    browse[0].trigger()
    assert starts[-1] == str(tmp_path)  # the folder of the last choice
    assert str(Path.home()) not in starts


def test_cancelled_browse_changes_nothing(qtbot, panel: TrainingSettings, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a: ""))
    with qtbot.assertNotEmitted(panel.configChanged):
        control(panel, "data.browse").menu().actions()[1].trigger()
    assert panel.apply_to(RunConfig()).data.path is None


def test_typed_path_is_reported_once_when_editing_finishes(qtbot, panel: TrainingSettings) -> None:
    path = control(panel, "data.path")
    assert isinstance(path, QLineEdit)
    with qtbot.assertNotEmitted(panel.dataChanged):
        path.setText("/data/mnist.npz")  # still typing
    with qtbot.waitSignal(panel.dataChanged):
        path.editingFinished.emit()
    with qtbot.assertNotEmitted(panel.dataChanged):
        path.editingFinished.emit()  # focus left again, nothing new
    assert panel.apply_to(RunConfig()).data == DataSpec("mnist", "/data/mnist.npz")


def test_sample_limit_is_optional(qtbot, panel: TrainingSettings) -> None:
    limit = control(panel, "data.limit")
    assert isinstance(limit, OptionalSpinBox)
    assert panel.apply_to(RunConfig()).data.limit is None
    with qtbot.waitSignal(panel.dataChanged):
        limit.check.setChecked(True)
    assert panel.apply_to(RunConfig()).data.limit == 10_000


def test_digits_hides_the_path(panel: TrainingSettings) -> None:
    choose(panel, "data.name", "digits")
    assert not control(panel, "data.path").isVisibleTo(panel)


def test_data_changed_only_for_data_settings(qtbot, panel: TrainingSettings) -> None:
    for name, edit in (
        ("seed", lambda: control(panel, "seed").setValue(3)),
        ("dataset", lambda: choose(panel, "data.name", "digits")),
        ("stratified", lambda: control(panel, "split.stratified").setChecked(False)),
    ):
        with (
            qtbot.waitSignal(panel.dataChanged, timeout=100, raising=True),
            qtbot.waitSignal(panel.configChanged),
        ):
            edit()
        assert name
    with qtbot.assertNotEmitted(panel.dataChanged), qtbot.waitSignal(panel.configChanged):
        control(panel, "optimizer.learning_rate").setValue(0.01)
    with qtbot.assertNotEmitted(panel.dataChanged), qtbot.waitSignal(panel.configChanged):
        control(panel, "epochs").setValue(9)


def test_split_counts_are_shown(panel: TrainingSettings) -> None:
    panel.show_page("Data")  # where the counts are
    counts = control(panel, "split_counts")
    assert not counts.isVisibleTo(panel)
    panel.set_split_counts("train 0: 5,523  1: 6,302")
    assert counts.isVisibleTo(panel) and counts.text() == "train 0: 5,523  1: 6,302"
    panel.set_split_counts("")
    assert not counts.isVisibleTo(panel)


# ---------------------------------------------------------------------------- edits and states


def test_scientific_learning_rate_steps_on_the_1_2_5_grid(qtbot, panel: TrainingSettings) -> None:
    rate = control(panel, "optimizer.learning_rate")
    assert isinstance(rate, ScientificSpinBox)
    assert rate.text() == "0.001"
    rate.stepBy(1)
    assert rate.value() == pytest.approx(0.002)
    rate.stepBy(2)
    assert rate.value() == pytest.approx(0.01)
    rate.stepBy(-4)
    assert rate.value() == pytest.approx(0.0005)
    rate.lineEdit().setText("3e-4")
    rate.interpretText()
    assert panel.learning_rate() == pytest.approx(3e-4)
    assert rate.text() == "0.0003"
    epsilon = control(panel, "optimizer.epsilon")
    assert epsilon.text() == "1e-7"


def test_a_typed_learning_rate_counts_before_enter(qtbot, panel: TrainingSettings) -> None:
    """Resume by shortcut reads the rate while the cursor is still in the box."""
    rate = control(panel, "optimizer.learning_rate")
    rate.lineEdit().setText("2e-3")  # typed, not committed: no configChanged yet
    assert rate.value() == pytest.approx(0.001)
    assert panel.learning_rate() == pytest.approx(0.002)
    assert panel.apply_to(RunConfig()).optimizer.learning_rate == pytest.approx(0.002)
    rate.lineEdit().setText("2e-")  # half typed: the last committed value stands
    assert panel.learning_rate() == pytest.approx(0.001)


def test_scientific_spin_box_steps_from_zero(qtbot) -> None:
    box = ScientificSpinBox(0.0, 1.0, smallest_step=1e-6)
    qtbot.addWidget(box)
    box.stepBy(1)
    assert box.value() == pytest.approx(1e-6)
    box.stepBy(-1)
    assert box.value() == 0.0
    box.setValue(0.7)
    box.stepBy(5)
    assert box.value() == 1.0  # clamped at the maximum


def test_gradient_clipping_is_optional(qtbot, panel: TrainingSettings) -> None:
    clip = control(panel, "optimizer.clipnorm")
    assert isinstance(clip, OptionalSpinBox)
    assert not clip.spin.isEnabled()
    with qtbot.waitSignal(panel.configChanged):
        clip.check.setChecked(True)
    assert clip.spin.isEnabled()
    assert panel.apply_to(RunConfig()).optimizer.clipnorm == 1.0
    clip.spin.setValue(5.0)
    assert panel.apply_to(RunConfig()).optimizer.clipnorm == 5.0
    clip.check.setChecked(False)
    assert panel.apply_to(RunConfig()).optimizer.clipnorm is None


def test_early_stopping_and_augmentation_fields_follow_their_switch(panel: TrainingSettings) -> None:
    assert not control(panel, "early_stopping.patience").isEnabled()
    control(panel, "early_stopping.enabled").setChecked(True)
    assert control(panel, "early_stopping.patience").isEnabled()
    assert not control(panel, "augmentation.rotation").isEnabled()
    control(panel, "augmentation.enabled").setChecked(True)
    assert control(panel, "augmentation.rotation").isEnabled()


TOP_LEVEL_FIELDS = (
    "loss",
    "initializer",
    "l1",
    "l2",
    "batch_mode",
    "batch_size",
    "epochs",
    "report_every",
    "seed",
)


def inputs(panel: TrainingSettings) -> list[QWidget]:
    """The panel's named controls (section headers and inner parts left out)."""
    found: list[QWidget] = []
    for kind in (QAbstractSpinBox, QComboBox, QCheckBox, QLineEdit, QAbstractButton):
        for widget in panel.findChildren(kind):
            if isinstance(widget, QLineEdit) and isinstance(widget.parent(), QAbstractSpinBox):
                continue  # a spin box's own editor
            name = widget.objectName()
            if "." in name or name in TOP_LEVEL_FIELDS:
                found.append(widget)
    return found


def test_locked_disables_every_control(panel: TrainingSettings) -> None:
    controls = inputs(panel)
    assert len(controls) >= 30
    panel.set_locked(True)
    assert [w.objectName() for w in controls if w.isEnabled()] == []
    panel.set_locked(False)
    enabled = {w.objectName() for w in controls if w.isEnabled()}
    assert "optimizer.learning_rate" in enabled and "split.train" in enabled
    assert "early_stopping.patience" not in enabled  # still follows its switch


def test_learning_rate_only_while_paused(qtbot, panel: TrainingSettings) -> None:
    panel.set_locked(True)
    panel.set_learning_rate_editable_only(True)
    rate = control(panel, "optimizer.learning_rate")
    assert [w.objectName() for w in inputs(panel) if w.isEnabled()] == ["optimizer.learning_rate"]
    with qtbot.waitSignal(panel.configChanged):
        rate.setValue(0.02)
    assert panel.learning_rate() == pytest.approx(0.02)
    assert panel.apply_to(RunConfig()).optimizer.learning_rate == pytest.approx(0.02)
    panel.set_locked(True)  # resumed: the latest call wins
    assert not rate.isEnabled()
    panel.set_learning_rate_editable_only(False)
    assert control(panel, "epochs").isEnabled()


def test_set_config_while_locked_stays_locked(panel: TrainingSettings) -> None:
    panel.set_locked(True)
    panel.set_config(load_preset("cnn"))
    assert not any(w.isEnabled() for w in inputs(panel))


def test_the_error_goes_away_with_a_valid_config(panel: TrainingSettings) -> None:
    choose(panel, "data.name", "file")
    assert panel.error() is not None
    panel.set_config(RunConfig())
    assert panel.error() is None


def test_every_control_has_a_tooltip(panel: TrainingSettings) -> None:
    controls = [
        widget
        for kind in (QAbstractSpinBox, QComboBox, QCheckBox, QAbstractButton, QLineEdit)
        for widget in panel.findChildren(kind)
    ]
    assert len(controls) > 40
    missing = []
    for widget in controls:
        tip = widget.toolTip()
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
            tip = widget.parent().toolTip()  # shown for the inner editor too
        if not tip.strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    assert not missing


@pytest.mark.parametrize("end", ["minimum", "maximum"])
def test_spin_box_ranges_stay_within_what_the_core_accepts(panel: TrainingSettings, end: str) -> None:
    """No spin box can make a value the core rejects (the split's sum aside)."""
    for box in panel.findChildren(QDoubleSpinBox) + panel.findChildren(QSpinBox):
        box.setValue(getattr(box, end)())
    for check in panel.findChildren(QCheckBox):
        check.setChecked(True)  # optional values on
    control(panel, "split.train").setValue(0.5)
    control(panel, "split.validation").setValue(0.25)
    control(panel, "split.test").setValue(0.25)
    assert panel.error() is None
    config = panel.apply_to(RunConfig())
    assert config.data.limit is not None and config.optimizer.clipnorm is not None


# ---------------------------------------------------------------------------- added settings


def test_adamax_is_in_the_optimizer_combo_with_its_own_fields(qtbot, panel: TrainingSettings) -> None:
    combo = control(panel, "optimizer.name")
    assert combo.itemText(combo.findData("adamax")) == "Adamax"
    with qtbot.waitSignal(panel.configChanged):
        choose(panel, "optimizer.name", "adamax")
    assert "Adamax" in combo.toolTip()
    shown = {f for f in OPTIMIZER_FIELDS if control(panel, f"optimizer.{f}").isVisibleTo(panel)}
    assert shown == set(OPTIMIZER_PARAMS["adamax"])
    control(panel, "optimizer.beta_2").setValue(0.99)
    assert panel.apply_to(RunConfig()).optimizer == OptimizerSpec(name="adamax", beta_2=0.99)


def test_plateau_min_delta_is_shown_for_plateau_only_and_edits_the_config(qtbot, panel: TrainingSettings) -> None:
    min_delta = control(panel, "schedule.min_delta")
    assert isinstance(min_delta, ScientificSpinBox)
    for kind in SCHEDULES:
        choose(panel, "schedule.kind", kind)
        assert min_delta.isVisibleTo(panel) == (kind == "plateau"), kind
    assert min_delta.text() == "0.0001"
    with qtbot.waitSignal(panel.configChanged), qtbot.assertNotEmitted(panel.dataChanged):
        min_delta.setValue(0.01)
    assert panel.apply_to(RunConfig()).schedule == ScheduleSpec(kind="plateau", min_delta=0.01)
    panel.set_config(RunConfig(schedule=ScheduleSpec(kind="plateau", min_delta=0.003)))
    assert min_delta.text() == "0.003"


def test_random_configs_with_the_added_settings_round_trip(qtbot, panel: TrainingSettings) -> None:
    added = st.tuples(
        _configs,
        st.sampled_from([0.0, 1e-6, 1e-4, 0.003, 0.5, 2.0]),
        st.sampled_from(["adamax", "adam", "sgd"]),
    ).map(lambda t: t[0].replace(
        schedule=replace(t[0].schedule, kind="plateau", min_delta=t[1]),
        optimizer=replace(t[0].optimizer, name=t[2]),
    ))  # fmt: skip

    @settings(max_examples=40, deadline=None)
    @given(config=added)
    def check(config: RunConfig) -> None:
        panel.set_config(config)
        assert panel.error() is None
        assert panel.apply_to(config) == config

    check()


def test_an_error_is_shown_inside_the_section_owning_its_path(panel: TrainingSettings) -> None:
    choose(panel, "data.name", "file")  # data.path is now required
    sections = {s.header.text(): s for s in panel.findChildren(CollapsibleSection)}
    holding = [title for title, s in sections.items()
               if any(label.text() == panel.error() for label in s.findChildren(QLabel))]  # fmt: skip
    assert holding == ["Data and split"]


def test_an_error_unfolds_its_folded_section(panel: TrainingSettings) -> None:
    sections = {s.header.text(): s for s in panel.findChildren(CollapsibleSection)}
    data = sections["Data and split"]
    data.set_expanded(False)
    choose(panel, "data.name", "file")
    assert data.is_expanded()
