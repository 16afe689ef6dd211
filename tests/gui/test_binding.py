"""The form binder: accessors per widget type, quiet fills, whole-record applies, errors, states."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from gui.binding import KEEP, FormBinder, FormRows, ListedIn
from gui.settings.panel import SECTIONS
from gui.widgets import CollapsibleSection, OptionalSpinBox, ScientificSpinBox
from model import configpath
from model.config import OPTIMIZER_PARAMS, OPTIMIZERS, DataSpec, EarlyStoppingSpec, OptimizerSpec, RunConfig
from model.errors import ConfigError


class Form(QWidget):
    """A small form bound to a few paths of a RunConfig, one widget of each kind."""

    def __init__(self) -> None:
        super().__init__()
        self.binder = FormBinder(self)
        form = QFormLayout(self)
        self.errors = QLabel()
        target = self.binder.add_error_target(self.errors, ("optimizer",))
        rows = FormRows(form, self.binder, target)
        self.name = QComboBox()
        for value in OPTIMIZERS:
            self.name.addItem(value.upper(), value)
        rows.field("optimizer.name", "Optimizer", self.name)
        uses = ListedIn("optimizer.name", OPTIMIZER_PARAMS)
        self.rate = rows.field("optimizer.learning_rate", "Rate", ScientificSpinBox(1e-7, 10.0), visible_when=uses)
        self.momentum = rows.field("optimizer.momentum", "Momentum", QDoubleSpinBox(), visible_when=uses)
        self.clip = rows.field("optimizer.clipnorm", "Clip", OptionalSpinBox("Clip at", ScientificSpinBox(1e-6, 1e6)),
                               visible_when=uses)  # fmt: skip
        self.stop = rows.field("early_stopping.enabled", None, QCheckBox("Stop"))
        self.patience = QSpinBox()
        self.patience.setRange(0, 100)
        rows.field("early_stopping.patience", "Patience", self.patience, depends_on="early_stopping.enabled")
        self.path = FormRows(form, self.binder).field("data.path", "Path", QLineEdit())  # no error target
        self.general = QLabel()
        self.binder.add_error_target(self.general, ("",))


@pytest.fixture
def form(qtbot) -> Form:
    widget = Form()
    qtbot.addWidget(widget)
    return widget


CONFIG = RunConfig(
    optimizer=OptimizerSpec(name="sgd", learning_rate=0.05, momentum=0.5, clipnorm=2.0),
    early_stopping=EarlyStoppingSpec(enabled=True, patience=7),
    data=DataSpec(path="/data/x.npz"),
)


def test_fill_shows_every_bound_path_quietly(qtbot, form: Form) -> None:
    with qtbot.assertNotEmitted(form.binder.edited):
        form.binder.fill(CONFIG)
    assert form.name.currentData() == "sgd"
    assert form.rate.value() == pytest.approx(0.05)
    assert form.momentum.value() == 0.5
    assert form.clip.value() == 2.0
    assert form.stop.isChecked() and form.patience.value() == 7
    assert form.path.text() == "/data/x.npz"
    assert form.binder.values() == {
        "optimizer.name": "sgd", "optimizer.learning_rate": 0.05, "optimizer.momentum": 0.5,
        "optimizer.clipnorm": 2.0, "early_stopping.enabled": True, "early_stopping.patience": 7,
        "data.path": "/data/x.npz",
    }  # fmt: skip
    assert form.binder.apply(RunConfig()) == CONFIG


def test_values_follow_the_widget_type(form: Form) -> None:
    form.binder.fill(CONFIG)
    form.rate.lineEdit().setText("3e-4")  # typed, not committed
    assert form.binder.value("optimizer.learning_rate") == pytest.approx(3e-4)
    form.clip.check.setChecked(False)
    assert form.binder.value("optimizer.clipnorm") is None
    form.path.setText("   ")
    assert form.binder.value("data.path") is None
    form.path.setText("  /d  ")
    assert form.binder.value("data.path") == "/d"


def test_each_edit_reports_its_path(qtbot, form: Form) -> None:
    form.binder.fill(CONFIG)
    for path, edit in (
        ("optimizer.name", lambda: form.name.setCurrentIndex(form.name.findData("adam"))),
        ("optimizer.momentum", lambda: form.momentum.setValue(0.7)),
        ("optimizer.clipnorm", lambda: form.clip.check.setChecked(False)),
        ("early_stopping.enabled", lambda: form.stop.setChecked(False)),
    ):
        with qtbot.waitSignal(form.binder.edited) as blocker:
            edit()
        assert blocker.args == [path]


def test_a_line_edit_reports_only_real_changes(qtbot, form: Form) -> None:
    form.binder.fill(CONFIG)
    with qtbot.assertNotEmitted(form.binder.edited):
        form.path.editingFinished.emit()  # focus left, nothing typed
        form.path.setText("/other.npz")  # still typing
    with qtbot.waitSignal(form.binder.edited) as blocker:
        form.path.editingFinished.emit()
    assert blocker.args == ["data.path"]
    form.path.setText("/chosen.npz")
    with qtbot.waitSignal(form.binder.edited):
        form.binder.commit("data.path")


def test_apply_is_all_or_nothing(form: Form) -> None:
    form.binder.fill(CONFIG)
    form.rate.setValue(0.5)
    form.path.setText("/new.npz")
    applied = form.binder.apply(RunConfig(data=DataSpec("file", "/old.npz"), epochs=3))
    assert applied.optimizer.learning_rate == 0.5 and applied.epochs == 3
    assert applied.data == DataSpec("file", "/new.npz")
    form.path.setText("   ")
    with pytest.raises(ConfigError) as info:  # dataset "file" now without a path
        form.binder.apply(RunConfig(data=DataSpec("file", "/old.npz")))
    assert info.value.field == "data.path"


def test_visible_when_follows_the_switch(form: Form) -> None:
    form.show()
    for name in OPTIMIZERS:
        form.name.setCurrentIndex(form.name.findData(name))
        assert form.momentum.isVisibleTo(form) == ("momentum" in OPTIMIZER_PARAMS[name]), name
        label = form.layout().labelForField(form.momentum)
        assert label.isVisibleTo(form) == form.momentum.isVisibleTo(form)  # the whole row
    form.binder.fill(CONFIG)
    assert form.momentum.isVisibleTo(form)


def test_lock_states_and_depends_on(form: Form) -> None:
    form.binder.fill(CONFIG)
    controls = [form.name, form.rate, form.momentum, form.clip, form.stop, form.patience, form.path]
    assert all(w.isEnabled() for w in controls)
    form.stop.setChecked(False)
    assert not form.patience.isEnabled()
    form.binder.lock()
    assert not any(w.isEnabled() for w in controls)
    form.binder.lock_all_except("optimizer.learning_rate")
    assert [w for w in controls if w.isEnabled()] == [form.rate]
    assert form.binder.is_editable("optimizer.learning_rate") and not form.binder.is_editable("data.path")
    form.binder.fill(CONFIG)  # a fill keeps the lock state
    assert [w for w in controls if w.isEnabled()] == [form.rate]
    form.binder.unlock()
    assert all(w.isEnabled() for w in controls)  # the switch is on again after the fill


def test_errors_go_to_the_longest_matching_prefix(form: Form) -> None:
    form.binder.show_error(ConfigError("optimizer.beta_1", "must be < 1"))
    assert form.errors.text() == "optimizer.beta_1: must be < 1" and not form.general.text()
    form.binder.show_error(ConfigError("data.path", "is required"))
    assert form.errors.text() == "" and form.general.text() == "data.path: is required"
    form.binder.show_error(ConfigError("optimizerx", "no"))  # a prefix only at a path boundary
    assert form.general.text() == "optimizerx: no"
    form.binder.show_error(None)
    assert form.errors.text() == form.general.text() == ""
    assert form.binder.target_for("optimizer.clipnorm") is form.binder.target_for("optimizer")


def test_a_composite_binding_shows_one_field_in_two_widgets(qtbot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    binder = FormBinder(host)
    mode, size = QComboBox(host), QSpinBox(host)
    for value in ("full", "mini", "one"):
        mode.addItem(value, value)
    size.setRange(2, 1000)
    size.setValue(64)

    def to_widgets(batch_size: object) -> tuple[object, object]:
        return {"full": ("full", KEEP), 1: ("one", KEEP)}.get(batch_size, ("mini", batch_size))  # type: ignore[arg-type]

    binder.bind_composite("batch_size", (mode, size), to_widgets, lambda m, n: {"full": "full", "one": 1}.get(m, n))
    binder.fill(RunConfig(batch_size="full"))
    assert mode.currentData() == "full" and size.value() == 64  # the box keeps its number
    binder.fill(RunConfig(batch_size=32))
    assert (mode.currentData(), size.value()) == ("mini", 32)
    with qtbot.waitSignal(binder.edited) as blocker:
        mode.setCurrentIndex(2)
    assert blocker.args == ["batch_size"] and binder.apply(RunConfig()).batch_size == 1
    with qtbot.waitSignal(binder.edited):
        mode.setCurrentIndex(1)
    assert binder.apply(RunConfig()).batch_size == 32


def test_binding_twice_or_an_unknown_widget_type_is_refused(qtbot) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    binder = FormBinder(host)
    box = QSpinBox(host)
    box.setObjectName("epochs")
    binder.bind(box)
    other = QSpinBox(host)
    other.setObjectName("epochs")
    with pytest.raises(ValueError, match="bound twice"):
        binder.bind(other)
    label = QLabel(host)
    label.setObjectName("name")
    with pytest.raises(TypeError, match="cannot bind a QLabel"):
        binder.bind(label)


# ---------------------------------------------------------------------------- the panel's sections


@pytest.fixture
def sections(qtbot) -> tuple[FormBinder, dict[str, QLabel], QLabel, QWidget]:
    """The panel's real sections on one binder, with their error labels by section title."""
    host = QWidget()
    qtbot.addWidget(host)
    binder = FormBinder(host)
    general = QLabel(host)
    binder.add_error_target(general, ("",))
    labels: dict[str, QLabel] = {}
    for kind in SECTIONS:
        body = QWidget(host)
        label = QLabel(body)
        section = CollapsibleSection(kind.title, body, kind.about, kind.expanded, host)
        target = binder.add_error_target(label, kind.owns, reveal=lambda s=section: s.set_expanded(True))
        kind(FormRows(QFormLayout(body), binder, target), host)
        labels[kind.title] = label
    binder.fill(RunConfig())
    return binder, labels, general, host


@pytest.mark.parametrize(
    ("field", "title"),
    [
        ("loss", "Loss and optimizer"),
        ("optimizer.beta_1", "Loss and optimizer"),
        ("optimizer", "Loss and optimizer"),
        ("schedule.min_delta", "Learning-rate schedule"),
        ("l2", "Initialization and regularization"),
        ("batch_size", "Batches and epochs"),
        ("report_every", "Batches and epochs"),
        ("early_stopping.patience", "Early stopping"),
        ("seed", "Data and split"),
        ("split", "Data and split"),
        ("data.path", "Data and split"),
        ("augmentation.zoom", "Augmentation"),
        ("layers[2].units", None),
        ("", None),
    ],
)
def test_each_error_is_shown_beside_the_section_owning_its_path(sections, field: str, title: str | None) -> None:
    binder, labels, general, _ = sections
    binder.show_error(ConfigError(field, "is wrong"))
    shown = [t for t, label in labels.items() if label.text()]
    assert shown == ([title] if title else [])
    assert bool(general.text()) == (title is None)


def test_the_panel_edits_every_setting_but_the_layers_and_the_name(sections) -> None:
    """A field added to model.config without a widget declaration fails here."""
    binder, _, _, _ = sections
    expected = [p for p in configpath.paths(RunConfig()) if p != "name" and not p.startswith("layers[")]
    assert sorted(binder.paths()) == sorted(expected)


def test_fill_is_all_or_nothing_when_a_widget_cannot_show_a_value(qtbot, form: Form) -> None:
    form.binder.fill(CONFIG)
    before = form.binder.values()
    too_patient = CONFIG.replace(early_stopping=EarlyStoppingSpec(enabled=False, patience=5000))  # the box takes 0..100
    with pytest.raises(ConfigError, match=r"early_stopping.patience: 5000 cannot be shown in this window \(it takes 0 to 100\)"):
        form.binder.fill(too_patient)
    assert form.binder.values() == before  # nothing half applied (early stopping stays enabled)
    overflowing = CONFIG.replace(early_stopping=EarlyStoppingSpec(patience=7))
    object.__setattr__(overflowing.early_stopping, "patience", 10**15)  # past what a C int holds: OverflowError in Qt
    with pytest.raises(ConfigError, match="early_stopping.patience"):
        form.binder.fill(overflowing)
    assert form.binder.values() == before
