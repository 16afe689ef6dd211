"""The editor of one layer: only the fields its type uses, each declared once by LayerSpec field name.

:class:`LayerEditor` is the "Selected layer" box of the designer. Its widgets are named
after the :class:`~model.config.LayerSpec` fields they edit (``"units"``, ``"filters"``,
...) and bound through a :class:`~gui.binding.FormBinder`, so filling the editor from a
spec, reading the edited spec back and showing only the rows of ``LAYER_PARAMS[type]``
all follow from the declarations in :meth:`LayerEditor._build`. A new layer parameter is
its field in :mod:`model.config` plus one ``rows.field(...)`` line here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel, QSpinBox, QWidget

from gui.binding import FormBinder, FormRows, ListedIn, Reader
from gui.widgets import (
    OptionalSpinBox,
    RangedDoubleSpinBox,
    RangedSpinBox,
    ScientificSpinBox,
    guard_wheel,
    with_range,
)
from model.catalogue import LAYER_ABOUT
from model.config import ACTIVATIONS, INITIALIZERS, LAYER_PARAMS, LAYER_TYPES, PADDINGS, LayerSpec
from model.errors import ConfigError


class LayerEditor(QGroupBox):
    """Edit one :class:`LayerSpec`; switching the type keeps the settings both types share.

    Signals:
        layerEdited(LayerSpec): after the user changed a field, with the whole new spec
            (never while :meth:`show_layer` fills the editor).
    """

    layerEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Selected layer", parent)
        self._spec: LayerSpec | None = None
        self._binder = FormBinder(self)
        self._build()
        guard_wheel(self)
        self._binder.edited.connect(self._on_edited)

    def layer(self) -> LayerSpec | None:
        """The layer as the editor shows it, or ``None`` when none is selected."""
        return self._spec

    def show_layer(self, spec: LayerSpec | None, number: int = 0) -> None:
        """Show ``spec`` as layer ``number`` (counting from 1), or nothing selected for ``None``."""
        self._spec = spec
        self.setEnabled(spec is not None)
        if spec is None:
            self.setTitle("Selected layer (none)")
            self._binder.refresh()  # hides every field row
            self._about.setText("Select a layer in the list to edit it.")
            return
        self.setTitle(f"Layer {number}")
        self._binder.fill(spec)

    def _build(self) -> None:
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows = FormRows(form, self._binder)
        listed = ListedIn("type", LAYER_PARAMS)

        def applies(path: str, value: Reader) -> bool:  # and nothing at all with no layer selected
            return self._spec is not None and listed(path, value)

        rows.field("type", "Type", _choices(
            LAYER_TYPES, "The kind of layer; switching keeps the settings both types share.", LAYER_ABOUT
        ))
        self._about = rows.add(None, QLabel())
        self._about.setWordWrap(True)
        self._about.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        rows.field("units", "Units", _spin(
            1, 65536, "Number of neurons (outputs) of this Dense layer."
        ), visible_when=applies)
        rows.field("filters", "Filters", _spin(
            1, 4096, "Number of filters, i.e. output channels (feature maps), of this convolution."
        ), visible_when=applies)
        rows.field("kernel_size", "Kernel size", _spin(
            1, 64, "Width and height of each square filter, in pixels."
        ), visible_when=applies)
        rows.field("strides", "Strides", _spin(
            1, 64, "How many pixels the filter moves between positions; 2 halves the image size."
        ), visible_when=applies)
        rows.field("padding", "Padding", _choices(
            PADDINGS, "'valid' uses only whole windows (the image shrinks); 'same' pads the border to keep the size."
        ), visible_when=applies)
        rows.field("pool_size", "Pool size", _spin(
            1, 64, "Width and height of the square pooling window; the image shrinks by this factor."
        ), visible_when=applies)
        rows.field("rate", "Dropout rate", _rate(
            "Fraction of this layer's inputs set to zero at random in each training step."
        ), visible_when=applies)
        rows.field("activation", "Activation", _choices(
            ACTIVATIONS, "The non-linearity applied to this layer's outputs."
        ), visible_when=applies)
        rows.field("initializer", "Initializer", _choices(
            ("run default", *INITIALIZERS),
            "How this layer's weights start; 'run default' uses the training settings' initializer.",
        ), visible_when=applies)
        rows.field("l1", "L1 penalty", _override(
            "Penalize the sum of absolute weights of this layer by this factor instead of the run's L1."
        ), visible_when=applies)
        rows.field("l2", "L2 penalty", _override(
            "Penalize the sum of squared weights of this layer by this factor instead of the run's L2."
        ), visible_when=applies)
        self._binder.when_shown("type", self._show_about)

    def _on_edited(self, _path: str) -> None:
        if self._spec is None:
            return
        try:
            spec = self._binder.apply(self._spec)
        except ConfigError:  # the spin box ranges make this unreachable; keep the layer as is
            return
        self._spec = spec
        self.layerEdited.emit(spec)

    def _show_about(self, kind: str) -> None:
        about = LAYER_ABOUT[kind]
        if not LAYER_PARAMS[kind]:
            about += " It has no settings."
        self._about.setText(about)


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    box = RangedSpinBox()
    box.setRange(low, high)
    box.setToolTip(with_range(tip, box))
    return box


def _rate(tip: str) -> QDoubleSpinBox:
    box = RangedDoubleSpinBox()
    box.setRange(0.0, 0.999)
    box.setDecimals(3)
    box.setSingleStep(0.05)
    box.setToolTip(with_range(tip, box))
    return box


def _choices(values: tuple[str, ...], tip: str, about: dict[str, str] | None = None) -> QComboBox:
    """A combo box of config values (``"run default"`` stands for ``None``), with item tooltips."""
    box = QComboBox()
    for value in values:
        box.addItem(value, None if value == "run default" else value)
        if about is not None:
            box.setItemData(box.count() - 1, about[value], Qt.ItemDataRole.ToolTipRole)
    box.setToolTip(tip)
    return box


def _override(tip: str) -> OptionalSpinBox:
    """A per-layer penalty that replaces the run's own while checked."""
    box = OptionalSpinBox("Override", ScientificSpinBox(0.0, 1.0))
    box.spin.setValue(1e-4)
    box.setToolTip(tip)
    return box
