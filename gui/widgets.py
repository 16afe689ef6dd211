"""Small input widgets shared by the designer and the settings panel.

- :class:`ScientificSpinBox`: a spin box for values that span decades (learning rates,
  epsilons, regularization factors). It shows compact text such as ``1e-7`` and steps
  along the 1-2-5 grid, so the arrow keys move by "one notch on a log scale".
- :class:`OptionalSpinBox`: a check box plus a spin box for a value that may be ``None``
  (gradient clipping, a per-layer L2 override, a sample limit).
- :class:`CollapsibleSection`: a titled section whose body folds away, so a long settings
  panel fits a narrow side bar.
- :class:`RangedSpinBox`, :class:`RangedDoubleSpinBox` (and :class:`ScientificSpinBox`):
  spin boxes that say their range instead of silently refusing a keystroke or clamping:
  the tooltip ends with the range (:func:`with_range`), and typing a number beyond it
  shows, at the field, what the range is (:func:`say_out_of_range`).
- :func:`guard_wheel`: number fields and combo boxes take the mouse wheel only once they
  have the focus; over an unfocused one the wheel scrolls the panel around it, so
  scrolling down a form never changes a setting by accident.

All of them are plain views without state of their own beyond their controls.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QValidator, QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

_MANTISSAS = (1.0, 2.0, 5.0)
RANGE_NOTICE_MS = 6000
"""How long the "out of range" message stays at a field."""


def compact_number(value: float) -> str:
    """Format ``value`` briefly: ``0.001``, ``1e-7``, ``2.5e-5``, ``0``."""
    if value == 0:
        return "0"
    text = f"{value:.6g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _grid_neighbour(value: float, up: bool) -> float:
    """The next value on the 1-2-5 grid strictly above (or below) a positive ``value``."""
    decade = math.floor(math.log10(value))
    candidates = sorted(m * 10.0**k for k in (decade - 1, decade, decade + 1) for m in _MANTISSAS)
    if up:
        return next(c for c in candidates if c > value * (1 + 1e-9))
    return next(c for c in reversed(candidates) if c < value * (1 - 1e-9))


# ---------------------------------------------------------------------- the wheel


class WheelGuard(QObject):
    """An event filter: a wheel over an unfocused number field or combo box scrolls its panel.

    The field never sees the event: it goes to the viewport of the nearest scroll area
    around the field (the settings panel's), as if the field were not there; with no
    scroll area around, it is left to the parent widgets.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (
            event.type() != QEvent.Type.Wheel
            or not isinstance(watched, (QAbstractSpinBox, QComboBox))
            or watched.hasFocus()
            or not isinstance(event, QWheelEvent)
        ):
            return False
        area = _scroll_area_around(watched)
        if area is None:
            event.ignore()  # Qt hands an ignored wheel event on to the parents
            return True
        viewport = area.viewport()
        position = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
        forwarded = QWheelEvent(
            position,
            event.globalPosition(),
            event.pixelDelta(),
            event.angleDelta(),
            event.buttons(),
            event.modifiers(),
            event.phase(),
            event.inverted(),
        )
        QApplication.sendEvent(viewport, forwarded)
        event.accept()
        return True


def _scroll_area_around(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def guard_wheel(root: QWidget) -> WheelGuard:
    """Let every spin box and combo box under ``root`` take the wheel only while focused.

    Their focus policy becomes ``StrongFocus`` (Qt's default for them, ``WheelFocus``,
    gives them the focus on the first wheel tick and then the value changes anyway).
    Returns the filter, owned by ``root``.
    """
    guard = WheelGuard(root)
    for widget in root.findChildren(QWidget):
        if isinstance(widget, (QAbstractSpinBox, QComboBox)):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(guard)
    return guard


# ---------------------------------------------------------------------- ranges


def _format_limit(box: QAbstractSpinBox, value: float) -> str:
    if isinstance(box, ScientificSpinBox):
        return compact_number(value)
    if isinstance(box, QDoubleSpinBox):
        return f"{value:.{box.decimals()}f}".rstrip("0").rstrip(".") or "0"
    return f"{int(value):,}"


def range_text(box: QSpinBox | QDoubleSpinBox) -> str:
    """``"1 to 65,536"``: the values ``box`` takes, as its text shows them."""
    return f"{_format_limit(box, box.minimum())} to {_format_limit(box, box.maximum())}"


def with_range(tip: str, box: QSpinBox | QDoubleSpinBox) -> str:
    """``tip`` followed by the range ``box`` takes (every number field's tooltip ends so)."""
    tip = tip.rstrip()
    return f"{tip} Range: {range_text(box)}." if tip else f"Range: {range_text(box)}."


def typed_number(box: QSpinBox | QDoubleSpinBox, text: str) -> float | None:
    """The number ``text`` holds (prefix, suffix and group separators aside), or ``None``."""
    core = text
    if box.prefix() and core.startswith(box.prefix()):
        core = core[len(box.prefix()) :]
    if box.suffix() and core.endswith(box.suffix()):
        core = core[: -len(box.suffix())]
    core = core.strip().replace(box.locale().groupSeparator(), "").replace(",", "")
    try:
        value = float(core)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def out_of_range_message(box: QSpinBox | QDoubleSpinBox, text: str) -> str:
    """What to tell someone who typed ``text`` into ``box``: ``""`` unless it is beyond the range."""
    value = typed_number(box, text)
    if value is None or box.minimum() <= value <= box.maximum():
        return ""
    shown = text.strip()
    if box.suffix() and shown.endswith(box.suffix().strip()):
        shown = shown[: -len(box.suffix().strip())].strip()
    side = "above the largest" if value > box.maximum() else "below the smallest"
    limit = _format_limit(box, box.maximum() if value > box.maximum() else box.minimum())
    if box.correctionMode() == QAbstractSpinBox.CorrectionMode.CorrectToNearestValue:
        then = f"Enter sets {limit}"
    else:
        then = "it is not taken"
    return f"{shown} is {side} value, {limit} (range {range_text(box)}): {then}."


def say_out_of_range(box: QSpinBox | QDoubleSpinBox, text: str) -> None:
    """Show, at ``box``, why ``text`` is not taken, while the user types it (once per text)."""
    if not box.hasFocus() or text == box.property("range_text_seen"):
        return
    box.setProperty("range_text_seen", text)
    message = out_of_range_message(box, text)
    box.setProperty("range_notice", message)
    if message:
        QToolTip.showText(box.mapToGlobal(QPoint(0, box.height())), message, box, box.rect(), RANGE_NOTICE_MS)


class RangedSpinBox(QSpinBox):
    """A :class:`QSpinBox` that says its range when a typed number is beyond it."""

    def validate(self, text: str, pos: int) -> object:
        result = super().validate(text, pos)
        say_out_of_range(self, text)
        return result


class RangedDoubleSpinBox(QDoubleSpinBox):
    """A :class:`QDoubleSpinBox` that says its range when a typed number is beyond it.

    ``-0`` reads as 0 (else a rate of "-0" would be stored and shown as such).
    """

    def validate(self, text: str, pos: int) -> object:
        result = super().validate(text, pos)
        say_out_of_range(self, text)
        return result

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        return super().valueFromText(text) + 0.0  # -0.0 + 0.0 is 0.0


class ScientificSpinBox(QDoubleSpinBox):
    """A double spin box for values spanning several decades.

    Text is compact (``1e-7`` rather than ``0.0000001``) and accepts scientific notation;
    stepping moves along the 1-2-5 grid (0.001, 0.002, 0.005, 0.01, ...), which is how
    people actually tune a learning rate. From 0, a step up goes to ``smallest_step``.

    Args:
        minimum: the lowest value allowed.
        maximum: the highest value allowed.
        smallest_step: the first non-zero value reached when stepping up from 0.
        parent: the Qt parent.
    """

    def __init__(
        self,
        minimum: float = 0.0,
        maximum: float = 1.0,
        smallest_step: float = 1e-6,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # Qt rounds every value to `decimals`; 15 keeps 1e-12 and friends exact enough.
        self.setDecimals(15)
        self.setRange(minimum, maximum)
        self._smallest_step = smallest_step
        # Intermediate text like "1e-" must not be committed while the user types.
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

    def current_value(self) -> float:
        """The value, counting text typed but not yet committed with Enter or focus-out.

        Keyboard tracking is off, so ``value()`` lags while someone types; a caller that
        acts now (Resume, Train) should read this instead. Incomplete text such as ``1e-``
        does not count.
        """
        text = self.text()
        if self.validate(text, len(text)) != QValidator.State.Acceptable:
            return self.value()
        return round(float(text.strip()), self.decimals())

    def textFromValue(self, value: float) -> str:
        return compact_number(value)

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip()) + 0.0  # never -0.0
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> QValidator.State:
        say_out_of_range(self, text)
        stripped = text.strip()
        if stripped in ("", "-", "+", ".") or stripped.lower().endswith(("e", "e-", "e+")):
            return QValidator.State.Intermediate
        try:
            value = float(stripped)
        except ValueError:
            return QValidator.State.Invalid
        if not math.isfinite(value):
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = self._step_once(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def _step_once(self, value: float, up: bool) -> float:
        if value <= 0:
            return max(self._smallest_step, self.minimum()) if up else self.minimum()
        if not up and value <= max(self._smallest_step, self.minimum()) * (1 + 1e-9):
            return self.minimum()
        return _grid_neighbour(value, up)


class OptionalSpinBox(QWidget):
    """A check box and a spin box for a value that may be absent (``None``).

    Unchecked means "not set" (``value()`` is ``None``) and greys the spin box out while
    keeping its number, so re-checking restores what was there.

    Args:
        label: the check box text, e.g. "Clip at".
        spin: the spin box that holds the value.
        parent: the Qt parent.
    """

    valueChanged = Signal()

    def __init__(self, label: str, spin: QSpinBox | QDoubleSpinBox, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(label)
        self.spin = spin
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)
        layout.addWidget(self.spin, 1)
        self.spin.setEnabled(False)
        self.check.toggled.connect(self._on_toggled)
        self.spin.valueChanged.connect(self._on_spin_changed)

    def value(self) -> float | int | None:
        """The spin box's value (including uncommitted typing), or ``None`` while unchecked."""
        if not self.check.isChecked():
            return None
        return self.spin.current_value() if isinstance(self.spin, ScientificSpinBox) else self.spin.value()

    def setValue(self, value: float | int | None) -> None:
        """Check and fill the box for a number; uncheck it for ``None``."""
        if value is not None:
            self.spin.setValue(value)
        self.check.setChecked(value is not None)

    def setToolTip(self, text: str) -> None:
        """Give the same one-sentence explanation to the widget and both its controls
        (the spin box's ends with its range)."""
        super().setToolTip(text)
        self.check.setToolTip(text)
        self.spin.setToolTip(with_range(text, self.spin))

    def _on_toggled(self, checked: bool) -> None:
        self.spin.setEnabled(checked and self.isEnabled())
        self.valueChanged.emit()

    def _on_spin_changed(self) -> None:
        if self.check.isChecked():
            self.valueChanged.emit()

    def changeEvent(self, event: QEvent) -> None:
        # Re-enabling the whole widget must not wake a spin box whose box is unchecked.
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            self.spin.setEnabled(self.isEnabled() and self.check.isChecked())


class CollapsibleSection(QWidget):
    """A section with a clickable title that shows or hides its body.

    Args:
        title: the header text.
        body: the widget to fold away.
        tooltip: what the section holds, in one sentence.
        expanded: whether the body starts visible.
        parent: the Qt parent.
    """

    def __init__(
        self,
        title: str,
        body: QWidget,
        tooltip: str,
        expanded: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.header = QToolButton()
        self.header.setText(title)
        self.header.setToolTip(tooltip)
        self.header.setCheckable(True)
        self.header.setChecked(expanded)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setAutoRaise(True)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.body = body
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(rule)
        layout.addWidget(body)
        self.header.toggled.connect(self._on_toggled)
        self._on_toggled(expanded)

    def is_expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        self.header.setChecked(expanded)

    def _on_toggled(self, expanded: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
