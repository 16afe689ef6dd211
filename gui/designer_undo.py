"""Undo and redo of the designer's stack edits (Ctrl+Z / Ctrl+Shift+Z).

:class:`StackUndo` watches a :class:`~gui.designer.LayerStackModel`: every edit it reports
(add, insert, remove, duplicate, move, drag, an edit in the layer editor, a one-click fix)
becomes a step of a Qt-free :class:`~model.undo.UndoHistory`, named by
:func:`~model.undo.describe_edit`. Undoing puts the stack back as a whole (the model's
``set_layers``, which is no edit of its own) and selects the row the step touched; the
designer then reports the change as the user's edit, so the window takes it like any other.
A stack shown from outside (a file opened, File -> New) starts a new history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from model.undo import Stack, Step, UndoHistory, describe_edit


class LayerStackModel(Protocol):
    """What is undone: :class:`gui.designer.LayerStackModel` (not imported: it imports this)."""

    edited: Any  # the Signal emitted after each edit

    def layers(self) -> Stack: ...

    def set_layers(self, layers: Stack) -> None: ...


class StackUndo(QObject):
    """The undo history of one layer stack model.

    Args:
        model: the stack whose edits are recorded.
        restored: called with the row to select after an undo or redo has put a stack back.

    Signals:
        changed: whenever what Undo and Redo would do changed.
    """

    changed = Signal()

    def __init__(self, model: LayerStackModel, restored: Callable[[int], None]) -> None:
        super().__init__(model if isinstance(model, QObject) else None)
        self._model = model
        self._restored = restored
        self._history: UndoHistory[Stack] = UndoHistory()
        self._shown: Stack = model.layers()
        model.edited.connect(self._on_edited)

    @property
    def history(self) -> UndoHistory[Stack]:
        return self._history

    def reset(self, layers: Stack) -> None:
        """A stack shown from outside: nothing before it can be undone."""
        self._history.clear()
        self._shown = tuple(layers)
        self.changed.emit()

    def undo(self) -> None:
        self._put_back(self._history.undo(), undo=True)

    def redo(self) -> None:
        self._put_back(self._history.redo(), undo=False)

    def _put_back(self, step: Step[Stack] | None, *, undo: bool) -> None:
        if step is None:
            return
        self._shown = step.before if undo else step.after
        self._model.set_layers(self._shown)
        self.changed.emit()
        self._restored(step.focus)

    def _on_edited(self) -> None:
        after = self._model.layers()
        self._history.record(describe_edit(self._shown, after))
        self._shown = after
        self.changed.emit()


def bind_actions(undo: StackUndo, undo_action: QAction, redo_action: QAction, over: QWidget) -> None:
    """Keep the window's Undo and Redo actions enabled, and named, after what they would do.

    Their shortcuts work while the focus is in ``over`` (the designer): elsewhere Ctrl+Z
    belongs to the field or the canvas being edited.
    """
    for action in (undo_action, redo_action):
        over.addAction(action)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def update() -> None:
        history = undo.history
        undo_action.setEnabled(history.can_undo)
        redo_action.setEnabled(history.can_redo)
        undo_action.setText(f"&Undo {history.undo_label}" if history.can_undo else "&Undo layer edit")
        redo_action.setText(f"&Redo {history.redo_label}" if history.can_redo else "&Redo layer edit")

    undo.changed.connect(update)
    update()
