"""The widget factories the settings sections declare their fields with.

Each returns a configured, unnamed widget: the section's :class:`~gui.binding.FormRows`
names it after its config path when it adds the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QSpinBox

from gui.widgets import OptionalSpinBox, RangedDoubleSpinBox, RangedSpinBox, ScientificSpinBox, with_range
from model.words import noun


def narrow_combo() -> QComboBox:
    """A combo box that does not insist on being as wide as its longest item."""
    box = QComboBox()
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def combo(
    values: Sequence[str], texts: Mapping[str, str | tuple[str, str]] | None = None, tip: str = ""
) -> QComboBox:
    """A combo box of config ``values`` (the item data), labelled by ``texts``.

    An entry of ``texts`` is a label, or a label and the sentence shown as the item's
    tooltip. Without ``texts`` each value is its own label. With them, every value needs
    an entry: a choice the panel cannot name fails loudly here rather than showing blank.
    """
    box = narrow_combo()
    for value in values:
        text = value if texts is None else texts[value]
        label, about = (text, None) if isinstance(text, str) else text
        box.addItem(label, value)
        if about is not None:
            box.setItemData(box.count() - 1, about, Qt.ItemDataRole.ToolTipRole)
    box.setToolTip(tip)
    return box


def spin(low: int, high: int, tip: str, unit: str = "", step: int = 1, value: int | None = None) -> QSpinBox:
    """An integer spin box; ``unit`` (e.g. "epoch") is shown after the number, pluralized.

    Its tooltip ends with its range, and a number typed beyond it is said so at the field.
    """
    box = RangedSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setToolTip(with_range(tip, box) if tip else "")
    box.setGroupSeparatorShown(True)
    if value is not None:
        box.setValue(value)
    if unit:

        def show_unit(value: int) -> None:
            box.setSuffix(" " + noun(value, unit))

        box.valueChanged.connect(show_unit)
        show_unit(box.value())
    return box


def fraction(low: float, high: float, decimals: int, step: float, tip: str, suffix: str = "") -> QDoubleSpinBox:
    """A decimal spin box with a fixed number of decimals; its tooltip ends with its range."""
    box = RangedDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setToolTip(with_range(tip, box))
    return box


def science(low: float, high: float, tip: str, smallest_step: float = 1e-6) -> ScientificSpinBox:
    """A spin box for values spanning decades (1e-7 ... 1), stepping on the 1-2-5 grid."""
    box = ScientificSpinBox(low, high, smallest_step)
    box.setToolTip(with_range(tip, box))
    return box


def optional(label: str, box: QSpinBox | QDoubleSpinBox, start: float, tip: str) -> OptionalSpinBox:
    """A check box and ``box`` for a value that may be absent, ``start`` shown while unchecked."""
    widget = OptionalSpinBox(label, box)
    widget.spin.setValue(start)
    widget.setToolTip(tip)
    return widget


def check(text: str, tip: str) -> QCheckBox:
    box = QCheckBox(text)
    box.setToolTip(tip)
    return box


def explanation() -> QLabel:
    """A word-wrapped line of text under a control, saying what its setting means now."""
    label = QLabel()
    label.setWordWrap(True)
    return label


def error_label() -> QLabel:
    """A red, selectable, initially hidden label for a section's configuration error."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #c62828;")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label
