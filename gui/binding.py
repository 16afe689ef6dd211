"""Bind a form's widgets to configuration paths by their objectName.

A :class:`FormBinder` replaces the hand-written "fill every control, read every control,
connect every control, enable every control" methods of a settings form. Each widget is
named after the config path it edits (``"optimizer.learning_rate"``, or ``"units"`` for
a :class:`~model.config.LayerSpec`) and bound once; its getter, setter and change signal
follow from its type:

========================  ===========================================  =======================
widget                    value                                        change signal
========================  ===========================================  =======================
QComboBox                 ``currentData()``                            ``currentIndexChanged``
ScientificSpinBox         ``current_value()``: typed, uncommitted      ``valueChanged``
                          text counts
QSpinBox, QDoubleSpinBox  ``value()``                                  ``valueChanged``
OptionalSpinBox           ``value()``, ``None`` while unchecked        ``valueChanged``
QCheckBox                 ``isChecked()``                              ``toggled``
QLineEdit                 the text stripped, ``None`` when empty       ``editingFinished``,
                                                                       only after a change
========================  ===========================================  =======================

From the bindings the binder does everything a form does with its configuration:
:meth:`~FormBinder.fill` shows a configuration without reporting edits (all or nothing:
a value no widget of the form can hold, such as a number past a spin box's range, raises
a :class:`~model.errors.ConfigError` naming its path, and the form keeps what it showed),
:meth:`~FormBinder.apply` builds the edited configuration through
:func:`model.configpath.with_values` (all or nothing: a whole new validated config, or a
:class:`~model.errors.ConfigError`), :attr:`~FormBinder.edited` reports each user edit
with its path, :meth:`~FormBinder.show_error` puts an error beside the section owning its
field (the longest matching path prefix wins), and the lock states, ``depends_on`` (a
path enabled only while a bool path is true) and ``visible_when`` (a row shown only while
a condition on other values holds) are applied after every fill and edit.

A config field shown by several widgets (descent mode + batch size -> ``batch_size``) is
one :meth:`~FormBinder.bind_composite` with explicit to/from functions.

:class:`FormRows` adds a section's rows to its ``QFormLayout`` and binds them in the same
call, so each widget is declared once: path, label, widget, condition.

This is the Qt shell's counterpart of glue-qt's ``autoconnect_callbacks_to_qt`` and
napari's ``connect_setattr``; the core knows nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
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

from gui.widgets import OptionalSpinBox, ScientificSpinBox
from model import configpath
from model.config import LayerSpec, RunConfig
from model.errors import ConfigError, shorten

Record = TypeVar("Record", RunConfig, LayerSpec)
W = TypeVar("W", bound=QWidget)

Reader = Callable[[str], Any]
"""The value a bound path shows now, by path."""

Condition = Callable[[str, Reader], bool]
"""Whether a row is shown, given its own path and a :data:`Reader` of the others."""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""Returned by a composite's ``to_widgets`` for a widget that should keep what it shows."""


@dataclass(frozen=True)
class ListedIn:
    """A :data:`Condition`: shown while the row's field is listed for the value at ``switch``.

    ``ListedIn("optimizer.name", OPTIMIZER_PARAMS)`` shows ``optimizer.momentum`` only
    while the chosen optimizer's entry lists ``"momentum"``.
    """

    switch: str
    table: Mapping[str, Sequence[str]]

    def __call__(self, path: str, value: Reader) -> bool:
        return path.rsplit(".", 1)[-1] in self.table.get(value(self.switch), ())


@dataclass(frozen=True)
class _Access:
    read: Callable[[], Any]
    write: Callable[[Any], None]
    connect: Callable[[Callable[..., None]], None]


def _select_data(box: QComboBox, value: object) -> None:
    box.setCurrentIndex(max(0, box.findData(value)))


def _access(widget: QWidget) -> _Access:
    """How to read, write and watch ``widget``, from its type (see the module's table)."""
    if isinstance(widget, QComboBox):
        return _Access(widget.currentData, lambda v: _select_data(widget, v), widget.currentIndexChanged.connect)
    if isinstance(widget, ScientificSpinBox):
        return _Access(widget.current_value, widget.setValue, widget.valueChanged.connect)
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        return _Access(widget.value, widget.setValue, widget.valueChanged.connect)
    if isinstance(widget, OptionalSpinBox):
        return _Access(widget.value, widget.setValue, widget.valueChanged.connect)
    if isinstance(widget, QCheckBox):
        return _Access(widget.isChecked, widget.setChecked, widget.toggled.connect)
    if isinstance(widget, QLineEdit):
        return _Access(
            lambda: widget.text().strip() or None,
            lambda v: widget.setText("" if v is None else str(v)),
            widget.editingFinished.connect,
        )
    raise TypeError(f"cannot bind a {type(widget).__name__} ({widget.objectName()!r}) to a config path")


@dataclass
class ErrorTarget:
    """Where errors about some paths are shown: a label, and how to bring it into view."""

    label: QLabel
    prefixes: tuple[str, ...]
    reveal: Callable[[], None] | None = None


@dataclass
class _Binding:
    path: str
    read: Callable[[], Any]
    write: Callable[[Any], None]
    controls: list[QWidget]  # what the lock states and depends_on switch on and off
    depends_on: str | Callable[[Reader], bool] | None
    errors: ErrorTarget | None
    dedupe: bool  # report only real changes (a line edit's editingFinished fires on focus-out)
    last: Any = None
    on_shown: list[Callable[[Any], None]] = field(default_factory=list)
    on_edited: list[Callable[[Any], None]] = field(default_factory=list)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _matches(prefix: str, path: str) -> bool:
    return not prefix or path == prefix or path.startswith((prefix + ".", prefix + "["))


def _set_row_visible(widget: QWidget, visible: bool) -> None:
    """Show or hide ``widget``'s form row (label included), or the widget outside a form."""
    parent = widget.parentWidget()
    layout = parent.layout() if parent is not None else None
    if isinstance(layout, QFormLayout) and layout.getWidgetPosition(widget)[0] >= 0:
        layout.setRowVisible(widget, visible)
    else:
        widget.setVisible(visible)


class FormBinder(QObject):
    """Binds widgets to the paths of a record (a RunConfig or a LayerSpec) by objectName.

    Signals:
        edited(str): after the user changed the value at this path (never during
            :meth:`fill`), once the form's visibility and enabled states follow it.
    """

    edited = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bindings: dict[str, _Binding] = {}
        self._visibility: list[tuple[QWidget, str, Condition]] = []
        self._targets: list[ErrorTarget] = []
        self._editable: frozenset[str] | None = None  # None: every path
        self._filling = False

    # ------------------------------------------------------------------ declaring

    def bind(
        self,
        widget: W,
        *,
        depends_on: str | Callable[[Reader], bool] | None = None,
        visible_when: Condition | None = None,
        row: QWidget | None = None,
        errors: ErrorTarget | None = None,
    ) -> W:
        """Bind ``widget`` to the config path that is its objectName.

        Args:
            widget: a widget of a type in the module's table, already named.
            depends_on: a bool path; the widget is enabled only while it is true (or a
                function of a :data:`Reader` saying whether it is enabled).
            visible_when: shows the widget's row only while this holds.
            row: the widget whose form row to show or hide, when ``widget`` sits inside it.
            errors: where errors about this path are shown.
        """
        path = widget.objectName()
        access = _access(widget)
        self._add(
            _Binding(path, access.read, access.write, [widget], depends_on, errors, isinstance(widget, QLineEdit))
        )
        access.connect(lambda *_: self._on_changed(path))
        if visible_when is not None:
            self.show_when(row or widget, visible_when, path)
        return widget

    def bind_composite(
        self,
        path: str,
        widgets: Sequence[QWidget],
        to_widgets: Callable[[Any], Sequence[Any]],
        from_widgets: Callable[..., Any],
        *,
        errors: ErrorTarget | None = None,
    ) -> None:
        """Bind one config field shown by several widgets.

        Args:
            path: the config path.
            widgets: the widgets that together show it (each of a type in the table).
            to_widgets: the field's value -> one value per widget (:data:`KEEP` leaves it).
            from_widgets: the widgets' values, in order -> the field's value.
            errors: where errors about this path are shown.
        """
        accesses = [_access(w) for w in widgets]

        def read() -> Any:
            return from_widgets(*(a.read() for a in accesses))

        def write(value: Any) -> None:
            for access, shown in zip(accesses, to_widgets(value), strict=True):
                if shown is not KEEP:
                    access.write(shown)

        self._add(_Binding(path, read, write, list(widgets), None, errors, False))
        for access in accesses:
            access.connect(lambda *_: self._on_changed(path))

    def attach(self, widget: QWidget, path: str) -> None:
        """Lock and unlock ``widget`` (a Browse button, say) together with ``path``."""
        self._bindings[path].controls.append(widget)

    def show_when(self, widget: QWidget, condition: Condition, path: str = "") -> None:
        """Show ``widget``'s row only while ``condition(path, value)`` holds."""
        self._visibility.append((widget, path or widget.objectName(), condition))

    def when_shown(self, path: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` after every fill and every user edit of ``path``."""
        self._bindings[path].on_shown.append(callback)

    def when_edited(self, path: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(value)`` after a user edit of ``path``, before :attr:`edited`."""
        self._bindings[path].on_edited.append(callback)

    def add_error_target(
        self, label: QLabel, prefixes: Sequence[str] = (), reveal: Callable[[], None] | None = None
    ) -> ErrorTarget:
        """Show errors about paths under ``prefixes`` (``""``: any path) in ``label``."""
        target = ErrorTarget(label, tuple(prefixes), reveal)
        self._targets.append(target)
        return target

    def _add(self, binding: _Binding) -> None:
        if binding.path in self._bindings:
            raise ValueError(f"{binding.path!r} is bound twice")
        self._bindings[binding.path] = binding

    # ------------------------------------------------------------------ values

    def paths(self) -> tuple[str, ...]:
        """The bound paths, in the order they were bound."""
        return tuple(self._bindings)

    def value(self, path: str) -> Any:
        """What the widgets bound to ``path`` show now."""
        return self._bindings[path].read()

    def values(self) -> dict[str, Any]:
        """Every bound path with what its widgets show now."""
        return {path: binding.read() for path, binding in self._bindings.items()}

    def fill(self, record: RunConfig | LayerSpec) -> None:
        """Show ``record`` in every bound widget without emitting :attr:`edited`.

        Raises:
            ConfigError: a value that a widget cannot show as it is (a whole number past a
                spin box's range, which Qt would clamp or refuse with an ``OverflowError``);
                every widget then shows what it showed before.
        """
        before = {path: binding.read() for path, binding in self._bindings.items()}
        self._filling = True
        try:
            for path, binding in self._bindings.items():
                value = configpath.get(record, path)
                try:
                    binding.write(value)
                except (OverflowError, TypeError, ValueError):
                    raise self._unshowable(path, value) from None
                if _is_int(value) and binding.read() != value:
                    raise self._unshowable(path, value)
        except ConfigError:
            for path, value in before.items():
                self._bindings[path].write(value)
            raise
        finally:
            self._filling = False
        for binding in self._bindings.values():
            binding.last = binding.read()
            value = binding.last
            for callback in binding.on_shown:
                callback(value)
        self.refresh()

    def _unshowable(self, path: str, value: object) -> ConfigError:
        box = next((w for w in self._bindings[path].controls if isinstance(w, QSpinBox)), None)
        if box is None:
            box = next((w.spin for w in self._bindings[path].controls if isinstance(w, OptionalSpinBox)), None)
        if isinstance(box, QSpinBox):
            limits = f" (it takes {box.minimum():,} to {box.maximum():,})"
        else:
            limits = ""
        return ConfigError(path, f"{shorten(value)} cannot be shown in this window{limits}; change it in the file")

    def apply(self, record: Record) -> Record:
        """``record`` with every bound value written into it, validated as a whole.

        Raises:
            ConfigError: when the values do not form a valid record; nothing is half done.
        """
        return configpath.with_values(record, self.values())

    def commit(self, path: str) -> None:
        """Treat what ``path``'s widget shows now as a user edit (after a programmatic setText)."""
        self._on_changed(path)

    def set_quietly(self, path: str, value: Any) -> None:
        """Show ``value`` at ``path`` without it counting as an edit."""
        filling, self._filling = self._filling, True
        try:
            self._bindings[path].write(value)
        finally:
            self._filling = filling
        self._bindings[path].last = self._bindings[path].read()

    def _on_changed(self, path: str) -> None:
        if self._filling:
            return
        binding = self._bindings[path]
        value = binding.read()
        if binding.dedupe and value == binding.last:
            return
        binding.last = value
        for callback in binding.on_edited:
            callback(value)
        for callback in binding.on_shown:
            callback(value)
        self.refresh()
        self.edited.emit(path)

    # ------------------------------------------------------------------ states

    def unlock(self) -> None:
        """Every bound widget editable (``depends_on`` still applies)."""
        self._editable = None
        self.refresh()

    def lock(self) -> None:
        """No bound widget editable."""
        self._editable = frozenset()
        self.refresh()

    def lock_all_except(self, *paths: str) -> None:
        """Only the widgets of ``paths`` editable."""
        self._editable = frozenset(paths)
        self.refresh()

    def is_editable(self, path: str) -> bool:
        """Whether the lock state lets ``path`` be edited (whatever its ``depends_on``)."""
        return self._editable is None or path in self._editable

    def refresh(self) -> None:
        """Apply the visibility conditions, the lock state and ``depends_on`` to the widgets."""
        for widget, path, condition in self._visibility:
            _set_row_visible(widget, bool(condition(path, self.value)))
        for path, binding in self._bindings.items():
            enabled = self.is_editable(path) and self._depends(binding.depends_on)
            for widget in binding.controls:
                widget.setEnabled(enabled)

    def _depends(self, depends_on: str | Callable[[Reader], bool] | None) -> bool:
        if depends_on is None:
            return True
        if callable(depends_on):
            return bool(depends_on(self.value))
        return bool(self.value(depends_on))

    # ------------------------------------------------------------------ errors

    def target_for(self, path: str) -> ErrorTarget | None:
        """The error target whose path prefix (or bound path) matches ``path`` the longest."""
        best: tuple[int, ErrorTarget] | None = None
        candidates = [(prefix, t) for t in self._targets for prefix in t.prefixes]
        candidates += [(b.path, b.errors) for b in self._bindings.values() if b.errors is not None]
        for prefix, target in candidates:
            if _matches(prefix, path) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), target)
        return None if best is None else best[1]

    def show_error(self, error: ConfigError | None) -> ErrorTarget | None:
        """Show ``error`` beside the section owning its field and clear every other target."""
        where = None if error is None else self.target_for(error.field)
        for target in self._targets:
            shown = target is where and error is not None
            target.label.setText(str(error) if shown else "")
            target.label.setVisible(shown)
        if where is not None and where.reveal is not None:
            where.reveal()
        return where


class FormRows:
    """Adds rows to one ``QFormLayout`` and binds those named by a config path.

    A ``label`` of ``None`` makes the widget span the whole row; ``""`` leaves the label
    column empty.
    """

    def __init__(self, form: QFormLayout, binder: FormBinder, errors: ErrorTarget | None = None) -> None:
        self.form = form
        self.binder = binder
        self.errors = errors

    def field(
        self,
        path: str,
        label: str | None,
        widget: W,
        *,
        depends_on: str | Callable[[Reader], bool] | None = None,
        visible_when: Condition | None = None,
        row: QWidget | None = None,
    ) -> W:
        """Add ``widget`` (or the ``row`` holding it) and bind it to ``path``."""
        widget.setObjectName(path)
        self.add(label, row or widget)
        return self.binder.bind(
            widget, depends_on=depends_on, visible_when=visible_when, row=row, errors=self.errors
        )

    def add(self, label: str | None, widget: W, name: str = "") -> W:
        """Add a row that is not bound by itself (an explanation, part of a composite)."""
        if name:
            widget.setObjectName(name)
        if label is None:
            self.form.addRow(widget)
        else:
            self.form.addRow(label, widget)
        return widget
