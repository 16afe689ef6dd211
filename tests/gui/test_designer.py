"""The layer designer: rows match the core's analysis, edits go through, problems get fixed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gui.designer import LayerDesigner, LayerStackModel
from model.config import LAYER_PARAMS, LAYER_TYPES, LayerSpec, load_preset
from model.shapes import analyze, format_shape

ROOT = Path(__file__).resolve().parents[2]

# The offscreen platform says this whenever a shown window's size limits change.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
EDITOR_FIELDS = ("units", "filters", "kernel_size", "strides", "padding", "pool_size", "rate",
                 "activation", "initializer", "l1", "l2")  # fmt: skip


@pytest.fixture
def designer(qtbot) -> LayerDesigner:
    widget = LayerDesigner(load_preset("mlp").layers)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def listview(designer: LayerDesigner) -> QListView:
    return designer.findChild(QListView, "layer_list")


def select(designer: LayerDesigner, row: int) -> None:
    view = listview(designer)
    view.setCurrentIndex(view.model().index(row, 0))


def click(qtbot, designer: LayerDesigner, name: str) -> None:
    button = designer.findChild(QToolButton, f"{name}_button")
    assert button.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def types(designer: LayerDesigner) -> list[str]:
    return [layer.type for layer in designer.layers()]


def units(designer: LayerDesigner) -> list[int]:
    return [layer.units for layer in designer.layers() if layer.type == "Dense"]


def field(designer: LayerDesigner, name: str) -> QWidget:
    return designer.findChild(QWidget, name)


# ---------------------------------------------------------------------------- rows


@pytest.mark.parametrize("preset", ["mlp", "cnn", "vanishing_sigmoid"])
def test_rows_show_the_shapes_and_params_of_analyze(qtbot, designer: LayerDesigner, preset: str) -> None:
    layers = load_preset(preset).layers
    designer.set_layers(layers)
    expected = analyze(layers, (28, 28, 1), 10, "crossentropy")
    model = listview(designer).model()
    assert model.rowCount() == len(layers)
    for row, (spec, rep) in enumerate(zip(layers, expected.layers, strict=True)):
        index = model.index(row, 0)
        assert index.data() == f"{row + 1}. {spec.describe()}"
        assert index.data(LayerStackModel.ShapeRole) == format_shape(rep.output_shape)
        assert index.data(LayerStackModel.ParamsRole) == rep.params
        assert index.data(LayerStackModel.ProblemRole) is None
        assert f"{rep.params:,} parameters" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert designer.report() == expected
    assert designer.is_valid()
    totals = designer.findChild(QLabel, "totals").text()
    assert f"{expected.total_params:,}" in totals and f"{expected.trainable_params:,} trainable" in totals
    assert not designer.findChild(QWidget, "problem_banner").isVisibleTo(designer)


def test_mlp_preset_numbers(designer: LayerDesigner) -> None:
    """A hand-checked anchor: 784*512+512 = 401,920 and 567,434 in all."""
    model = listview(designer).model()
    assert model.index(1, 0).data(LayerStackModel.ShapeRole) == "(512)"
    assert model.index(1, 0).data(LayerStackModel.ParamsRole) == 401_920
    assert designer.report().total_params == 567_434


# ---------------------------------------------------------------------------- edits


def test_add_inserts_after_the_selection_with_the_chosen_type(qtbot, designer: LayerDesigner) -> None:
    select(designer, 1)
    designer.findChild(QComboBox, "new_layer_type").setCurrentText("Dropout")
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "add")
    assert types(designer) == ["Flatten", "Dense", "Dropout", "Dense", "Dense", "Dense"]
    assert listview(designer).currentIndex().row() == 2  # the new layer is selected


def test_insert_goes_before_the_selection(qtbot, designer: LayerDesigner) -> None:
    select(designer, 1)
    designer.findChild(QComboBox, "new_layer_type").setCurrentText("BatchNormalization")
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "insert")
    assert types(designer) == ["Flatten", "BatchNormalization", "Dense", "Dense", "Dense", "Dense"]
    assert designer.report().layers[1].params == 4 * 784


def test_remove_and_duplicate(qtbot, designer: LayerDesigner) -> None:
    select(designer, 2)
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "remove")
    assert units(designer) == [512, 128, 10]
    assert listview(designer).currentIndex().row() == 2  # the next layer moved up into place
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "duplicate")
    assert units(designer) == [512, 128, 128, 10]
    assert designer.is_valid()


def test_move_up_and_down(qtbot, designer: LayerDesigner) -> None:
    select(designer, 3)  # Dense(128)
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "move_up")
    assert units(designer) == [512, 128, 256, 10]
    assert listview(designer).currentIndex().row() == 2  # the selection follows the layer
    with qtbot.waitSignal(designer.layersChanged):
        click(qtbot, designer, "move_down")
    assert units(designer) == [512, 256, 128, 10]


def test_move_buttons_are_disabled_at_the_ends(designer: LayerDesigner) -> None:
    select(designer, 0)
    assert not designer.findChild(QToolButton, "move_up_button").isEnabled()
    assert designer.findChild(QToolButton, "move_down_button").isEnabled()
    select(designer, 4)
    assert designer.findChild(QToolButton, "move_up_button").isEnabled()
    assert not designer.findChild(QToolButton, "move_down_button").isEnabled()


def test_drop_reorders_rows_like_a_drag(qtbot, designer: LayerDesigner) -> None:
    """A QListView in InternalMove mode drops by calling the model's moveRow."""
    model = listview(designer).model()
    with qtbot.waitSignal(designer.layersChanged):
        # Drag row 3 (Dense 128) and drop it before row 1.
        assert model.moveRow(QModelIndex(), 3, QModelIndex(), 1)
    assert units(designer) == [128, 512, 256, 10]
    assert model.index(1, 0).data() == "2. Dense(128, relu)"
    assert model.index(1, 0).data(LayerStackModel.ParamsRole) == 784 * 128 + 128
    with qtbot.waitSignal(designer.layersChanged):
        # Drag row 1 to the end (after the last row).
        assert model.moveRow(QModelIndex(), 1, QModelIndex(), 5)
    assert units(designer) == [512, 256, 10, 128]
    assert not designer.is_valid()  # the output layer now has 128 units


def test_drop_onto_itself_is_refused(qtbot, designer: LayerDesigner) -> None:
    model = listview(designer).model()
    with qtbot.assertNotEmitted(designer.layersChanged):
        assert not model.moveRow(QModelIndex(), 2, QModelIndex(), 2)
        assert not model.moveRow(QModelIndex(), 2, QModelIndex(), 3)
        assert not model.moveRow(QModelIndex(), 2, QModelIndex(), 9)


def test_shortcuts_work_while_the_list_has_focus(qtbot, designer: LayerDesigner) -> None:
    view = listview(designer)
    designer.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    select(designer, 1)
    with qtbot.waitSignal(designer.layersChanged):
        qtbot.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert units(designer) == [512, 512, 256, 128, 10]
    with qtbot.waitSignal(designer.layersChanged):
        qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert units(designer) == [512, 256, 128, 10]
    select(designer, 2)
    with qtbot.waitSignal(designer.layersChanged):
        qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert units(designer) == [256, 512, 128, 10]


# ---------------------------------------------------------------------------- editor


def test_editing_units_updates_the_param_count(qtbot, designer: LayerDesigner) -> None:
    select(designer, 1)
    spin = designer.findChild(QSpinBox, "units")
    assert spin.value() == 512
    with qtbot.waitSignal(designer.layersChanged):
        spin.setValue(100)
    assert designer.layers()[1].units == 100
    model = listview(designer).model()
    assert model.index(1, 0).data(LayerStackModel.ParamsRole) == 784 * 100 + 100
    assert model.index(2, 0).data(LayerStackModel.ParamsRole) == 100 * 256 + 256
    assert model.index(1, 0).data() == "2. Dense(100, relu)"
    assert f"{designer.report().total_params:,}" in designer.findChild(QLabel, "totals").text()


def test_typing_units_updates_as_you_type(qtbot, designer: LayerDesigner) -> None:
    select(designer, 4)
    spin = designer.findChild(QSpinBox, "units")
    spin.selectAll()
    with qtbot.waitSignal(designer.validityChanged) as blocker:
        qtbot.keyClicks(spin, "9")
    assert blocker.args[0] is False
    assert "9 units but the dataset has 10 classes" in blocker.args[1]


@pytest.mark.parametrize("kind", LAYER_TYPES)
def test_editor_shows_only_the_fields_of_the_type(qtbot, designer: LayerDesigner, kind: str) -> None:
    designer.set_layers(
        (LayerSpec("Flatten"), LayerSpec(kind), LayerSpec("Dense", units=10, activation="softmax"))
    )
    select(designer, 1)
    assert designer.findChild(QComboBox, "type").currentText() == kind
    for name in EDITOR_FIELDS:
        assert field(designer, name).isVisibleTo(designer) == (name in LAYER_PARAMS[kind]), name


def test_dropout_shows_rate_but_not_units(designer: LayerDesigner) -> None:
    designer.set_layers(
        (
            LayerSpec("Flatten"),
            LayerSpec("Dropout", rate=0.4),
            LayerSpec("Dense", units=10, activation="softmax"),
        )
    )
    select(designer, 1)
    assert field(designer, "rate").isVisibleTo(designer)
    assert field(designer, "rate").value() == pytest.approx(0.4)
    assert not field(designer, "units").isVisibleTo(designer)
    assert not field(designer, "activation").isVisibleTo(designer)


def test_changing_the_type_changes_the_layer_and_the_fields(qtbot, designer: LayerDesigner) -> None:
    select(designer, 2)
    with qtbot.waitSignal(designer.layersChanged):
        designer.findChild(QComboBox, "type").setCurrentText("Dropout")
    assert designer.layers()[2].type == "Dropout"
    assert designer.report().layers[2].output_shape == (512,)
    assert field(designer, "rate").isVisibleTo(designer)
    assert not field(designer, "units").isVisibleTo(designer)


def test_initializer_and_regularization_overrides(qtbot, designer: LayerDesigner) -> None:
    select(designer, 1)
    initializer = designer.findChild(QComboBox, "initializer")
    assert initializer.currentData() is None  # "run default"
    with qtbot.waitSignal(designer.layersChanged):
        initializer.setCurrentIndex(initializer.findData("he_normal"))
    assert designer.layers()[1].initializer == "he_normal"
    l2 = field(designer, "l2")
    with qtbot.waitSignal(designer.layersChanged):
        l2.findChild(QCheckBox).setChecked(True)
    assert designer.layers()[1].l2 == pytest.approx(1e-4)
    with qtbot.waitSignal(designer.layersChanged):
        l2.findChild(QCheckBox).setChecked(False)
    assert designer.layers()[1].l2 is None
    with qtbot.waitSignal(designer.layersChanged):
        initializer.setCurrentIndex(0)
    assert designer.layers()[1].initializer is None


def test_selecting_a_row_does_not_count_as_an_edit(qtbot, designer: LayerDesigner) -> None:
    with qtbot.assertNotEmitted(designer.layersChanged):
        for row in range(5):
            select(designer, row)


# ---------------------------------------------------------------------------- problems


def test_invalid_stack_is_marked_and_fixed_in_one_click(qtbot, designer: LayerDesigner) -> None:
    select(designer, 0)
    with qtbot.waitSignal(designer.validityChanged) as blocker:
        click(qtbot, designer, "remove")  # the Flatten: Dense now receives (28, 28, 1)
    valid, reason = blocker.args
    assert valid is False
    assert reason.startswith("Layer 1 (Dense) needs a flat input")
    assert not designer.is_valid()

    index = listview(designer).model().index(0, 0)
    assert index.data(LayerStackModel.ProblemRole) == reason
    assert index.data(Qt.ItemDataRole.ToolTipRole) == reason
    assert index.data(Qt.ItemDataRole.ForegroundRole).color().red() > 150
    assert not index.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert listview(designer).model().index(1, 0).data(LayerStackModel.ProblemRole) is None

    banner = designer.findChild(QWidget, "problem_banner")
    assert banner.isVisibleTo(designer)
    assert designer.findChild(QLabel, "problem_text").text() == reason
    fix = designer.findChild(QPushButton, "fix_button")
    assert fix.text() == "Insert Flatten before layer 1"

    with qtbot.waitSignal(designer.layersChanged), qtbot.waitSignal(designer.validityChanged) as blocker:
        qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert blocker.args == [True, ""]
    assert designer.is_valid()
    assert types(designer) == ["Flatten", "Dense", "Dense", "Dense", "Dense"]
    assert not banner.isVisibleTo(designer)
    assert listview(designer).model().index(0, 0).data(LayerStackModel.ProblemRole) is None


def test_validity_changed_carries_the_reason_then_clears(qtbot, designer: LayerDesigner) -> None:
    seen: list[tuple[bool, str]] = []
    designer.validityChanged.connect(lambda ok, why: seen.append((ok, why)))
    select(designer, 4)
    activation = designer.findChild(QComboBox, "activation")
    activation.setCurrentText("relu")
    activation.setCurrentText("softmax")
    assert seen == [
        (False, "Cross-entropy loss needs probabilities: the output layer must use softmax"),
        (True, ""),
    ]


def test_context_change_reanalyzes_without_an_edit(qtbot, designer: LayerDesigner) -> None:
    with (
        qtbot.assertNotEmitted(designer.layersChanged),
        qtbot.waitSignal(designer.validityChanged) as blocker,
    ):
        designer.set_context((28, 28, 1), 5, "crossentropy")
    assert blocker.args == [False, "The output layer has 10 units but the dataset has 5 classes"]
    qtbot.mouseClick(designer.findChild(QPushButton, "fix_button"), Qt.MouseButton.LeftButton)
    assert designer.layers()[-1].units == 5
    assert designer.findChild(QSpinBox, "units").value() == 5  # the fixed layer is shown
    designer.set_context((28, 28, 1), 5, "mse")
    designer.findChild(QComboBox, "activation").setCurrentText("linear")
    assert designer.is_valid()  # mse does not need softmax


def test_set_layers_is_not_an_edit(qtbot, designer: LayerDesigner) -> None:
    broken = load_preset("mlp").layers[1:]
    with qtbot.assertNotEmitted(designer.layersChanged), qtbot.waitSignal(designer.validityChanged):
        designer.set_layers(broken)
    assert designer.layers() == broken


def test_removing_every_layer_offers_an_output_layer(qtbot, designer: LayerDesigner) -> None:
    designer.set_layers((LayerSpec("Flatten"),))
    select(designer, 0)
    click(qtbot, designer, "remove")
    assert designer.layers() == ()
    assert not designer.is_valid()
    fix = designer.findChild(QPushButton, "fix_button")
    assert fix.text() == "Add Dense(10, softmax)"
    assert not designer.findChild(QToolButton, "remove_button").isEnabled()
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert designer.layers() == (LayerSpec("Dense", units=10, activation="softmax"),)
    assert not designer.is_valid()  # Dense on the raw image: the next fix inserts Flatten
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert designer.is_valid()


def test_image_layer_after_flatten_is_moved_by_the_fix(qtbot, designer: LayerDesigner) -> None:
    layers = (LayerSpec("Flatten"), LayerSpec("Conv2D"), LayerSpec("Dense", units=10, activation="softmax"))
    designer.set_layers(layers)
    fix = designer.findChild(QPushButton, "fix_button")
    assert fix.text() == "Move layer 2 before layer 1"
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert types(designer) == ["Conv2D", "Flatten", "Dense"]
    assert listview(designer).currentIndex().row() == 0  # the moved layer stays selected
    assert designer.is_valid()


# ---------------------------------------------------------------------------- hygiene


def effective_tooltip(widget: QWidget) -> str:
    """A spin box's or combo box's inner line edit shows its owner's tooltip."""
    if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
        return widget.parent().toolTip()
    return widget.toolTip()


def test_every_control_has_a_tooltip(designer: LayerDesigner) -> None:
    controls = [
        widget
        for kind in (QAbstractSpinBox, QComboBox, QCheckBox, QAbstractButton, QLineEdit)
        for widget in designer.findChildren(kind)
    ]
    assert len(controls) > 15
    missing = [f"{type(w).__name__} {w.objectName()!r}" for w in controls if not effective_tooltip(w).strip()]
    assert not missing


def test_no_tensorflow_is_imported() -> None:
    code = (
        "import sys, gui.designer, gui.settings_panel\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------- undo


def test_every_kind_of_stack_edit_can_be_undone_and_redone(qtbot, designer: LayerDesigner) -> None:
    undo = designer.undo_stack
    start = designer.layers()
    assert not undo.history.can_undo
    stacks = [start]
    select(designer, 1)
    click(qtbot, designer, "add")  # add
    stacks.append(designer.layers())
    click(qtbot, designer, "remove")  # remove
    stacks.append(designer.layers())
    select(designer, 3)
    click(qtbot, designer, "move_up")  # move
    stacks.append(designer.layers())
    select(designer, 1)
    spin = designer.findChild(QSpinBox, "units")
    spin.selectAll()
    qtbot.keyClicks(spin, "300")  # edit: three values as typed, one step
    stacks.append(designer.layers())
    select(designer, 0)
    click(qtbot, designer, "remove")  # breaks the stack ...
    stacks.append(designer.layers())
    qtbot.mouseClick(designer.findChild(QPushButton, "fix_button"), Qt.MouseButton.LeftButton)  # ... fix
    stacks.append(designer.layers())
    assert undo.history.undo_label.startswith("Add Flatten")
    for expected in reversed(stacks[:-1]):
        with qtbot.waitSignal(designer.layersChanged):  # an undo is the user's edit
            undo.undo()
        assert designer.layers() == expected
    assert designer.layers() == start and not undo.history.can_undo
    for expected in stacks[1:]:
        undo.redo()
        assert designer.layers() == expected
    assert not undo.history.can_redo


def test_undo_selects_the_row_it_changed_and_set_layers_starts_afresh(qtbot, designer: LayerDesigner) -> None:
    select(designer, 2)
    spin = designer.findChild(QSpinBox, "units")
    spin.setValue(99)
    select(designer, 0)
    designer.undo_stack.undo()
    assert listview(designer).currentIndex().row() == 2
    assert designer.findChild(QSpinBox, "units").value() == 256
    designer.set_layers(load_preset("cnn").layers)
    assert not designer.undo_stack.history.can_undo and not designer.undo_stack.history.can_redo
