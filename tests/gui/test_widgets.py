"""Shared input widgets: the wheel only for a focused field, ranges said instead of enforced silently."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QScrollArea,
    QSpinBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from gui.designer import LayerDesigner
from gui.layer_editor import LayerEditor
from gui.settings_panel import TrainingSettings
from gui.widgets import (
    RangedDoubleSpinBox,
    RangedSpinBox,
    ScientificSpinBox,
    guard_wheel,
    out_of_range_message,
    with_range,
)
from model.config import LayerSpec

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def wheel(widget: QWidget, ticks: int = -1) -> None:
    """Turn the wheel over the middle of ``widget`` (negative: towards the user, scrolling down)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120 * ticks),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


@pytest.fixture
def scrolled_form(qtbot) -> tuple[QScrollArea, QSpinBox, QComboBox]:
    """A tall form in a small scroll area, its fields guarded."""
    body = QWidget()
    layout = QVBoxLayout(body)
    spin = QSpinBox()
    spin.setRange(0, 100)
    spin.setValue(50)
    combo = QComboBox()
    combo.addItems(["a", "b", "c"])
    combo.setCurrentIndex(1)
    layout.addWidget(spin)
    layout.addWidget(combo)
    for _ in range(30):
        layout.addWidget(QSpinBox())
    area = QScrollArea()
    area.setWidget(body)
    area.setWidgetResizable(True)
    area.resize(200, 150)
    guard_wheel(body)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    return area, spin, combo


def test_the_wheel_over_an_unfocused_field_scrolls_the_panel(scrolled_form) -> None:
    area, spin, combo = scrolled_form
    area.setFocus()
    for _ in range(10):
        wheel(spin)
    wheel(combo)
    assert spin.value() == 50
    assert combo.currentIndex() == 1
    assert area.verticalScrollBar().value() > 0
    assert not spin.hasFocus()  # the wheel does not focus it either (StrongFocus, not WheelFocus)


def test_the_wheel_over_a_focused_field_changes_it(qtbot, scrolled_form) -> None:
    _, spin, combo = scrolled_form
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    wheel(spin, ticks=1)
    assert spin.value() == 51
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    wheel(combo, ticks=-1)
    assert combo.currentIndex() == 2


@pytest.mark.parametrize("make", [TrainingSettings, LayerDesigner, LayerEditor])
def test_every_number_field_and_combo_of_the_forms_is_guarded(qtbot, make) -> None:
    form = make()
    qtbot.addWidget(form)
    fields = form.findChildren(QSpinBox) + form.findChildren(QDoubleSpinBox) + form.findChildren(QComboBox)
    assert fields
    for field in fields:
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus, field.objectName()


def test_beta_2_does_not_move_under_the_wheel_in_the_settings_panel(qtbot) -> None:
    panel = TrainingSettings()
    panel.resize(380, 300)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    area = panel.pages.currentWidget()  # the Training page scrolls on its own
    assert isinstance(area, QScrollArea)
    beta_2 = panel.findChild(QDoubleSpinBox, "optimizer.beta_2")
    before = beta_2.value()
    for _ in range(10):
        wheel(beta_2)
    assert beta_2.value() == before
    assert area.verticalScrollBar().value() > 0


# ---------------------------------------------------------------------- ranges


def test_number_fields_say_their_range_in_the_tooltip() -> None:
    spin = RangedSpinBox()
    spin.setRange(1, 65536)
    assert with_range("Number of neurons.", spin) == "Number of neurons. Range: 1 to 65,536."
    science = ScientificSpinBox(0.0, 10.0)
    assert with_range("", science) == "Range: 0 to 10."
    rate = RangedDoubleSpinBox()
    rate.setDecimals(3)
    rate.setRange(0.0, 0.999)
    assert with_range("Rate.", rate) == "Rate. Range: 0 to 0.999."


def test_the_forms_fields_end_their_tooltips_with_the_range(qtbot) -> None:
    editor = LayerEditor()
    qtbot.addWidget(editor)
    assert editor.findChild(QSpinBox, "units").toolTip().endswith("Range: 1 to 65,536.")
    assert editor.findChild(QDoubleSpinBox, "rate").toolTip().endswith("Range: 0 to 0.999.")
    panel = TrainingSettings()
    qtbot.addWidget(panel)
    assert panel.findChild(QDoubleSpinBox, "optimizer.learning_rate").toolTip().endswith("Range: 1e-7 to 10.")
    assert "Range: 1 to 100,000." in panel.findChild(QSpinBox, "epochs").toolTip()


def test_out_of_range_messages_say_the_range() -> None:
    units = RangedSpinBox()
    units.setRange(1, 65536)
    assert out_of_range_message(units, "100000") == (
        "100000 is above the largest value, 65,536 (range 1 to 65,536): it is not taken."
    )
    assert out_of_range_message(units, "600") == ""
    assert out_of_range_message(units, "") == ""
    learning_rate = ScientificSpinBox(1e-7, 10.0)
    assert out_of_range_message(learning_rate, "1e9") == (
        "1e9 is above the largest value, 10 (range 1e-7 to 10): Enter sets 10."
    )
    epochs = RangedSpinBox()
    epochs.setRange(1, 100)
    epochs.setSuffix(" epochs")
    assert out_of_range_message(epochs, "0 epochs").startswith("0 is below the smallest value, 1")


def test_typing_beyond_the_range_shows_the_range_at_the_field(qtbot) -> None:
    editor = LayerEditor()
    qtbot.addWidget(editor)
    editor.show_layer(LayerSpec("Dense", units=10), 1)
    editor.show()
    qtbot.waitExposed(editor)
    units = editor.findChild(QSpinBox, "units")
    units.setFocus()
    qtbot.waitUntil(units.hasFocus)
    units.selectAll()
    qtbot.keyClicks(units, "100000")
    assert units.value() == 10000  # the last keystroke was refused ...
    notice = units.property("range_notice")
    assert notice.startswith("100000 is above the largest value, 65,536")  # ... and said why
    assert QToolTip.text() == notice


def test_a_dropout_rate_of_minus_zero_reads_as_zero(qtbot) -> None:
    editor = LayerEditor()
    qtbot.addWidget(editor)
    editor.show_layer(LayerSpec("Dropout", rate=0.25), 1)
    editor.show()
    qtbot.waitExposed(editor)
    rate = editor.findChild(QDoubleSpinBox, "rate")
    rate.setFocus()
    rate.selectAll()
    edited: list[LayerSpec] = []
    editor.layerEdited.connect(edited.append)
    qtbot.keyClicks(rate, "-0")
    rate.interpretText()
    assert edited and str(edited[-1].rate) == "0.0"
    assert edited[-1].describe() == "Dropout(0)"
