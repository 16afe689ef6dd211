"""The network designer: a list of layers, an editor for the selected one, and live checks.

:class:`LayerStackModel` is the layer stack as a Qt list model: it owns the tuple of
:class:`~model.config.LayerSpec` and re-runs the pure-Python shape inference
(:func:`model.shapes.analyze`) after every change, so each row can show its output shape,
parameter count and problem. :class:`LayerDesigner` is the thin view around it: buttons
and shortcuts to add, insert, remove, duplicate and move layers (or drag rows), an editor
(:class:`~gui.layer_editor.LayerEditor`) showing only the parameters that apply to the
selected layer's type, the totals, and a banner with the first problem and its one-click fix.

Nothing here imports TensorFlow, so the designer works while TensorFlow is still loading.
Run ``python -m gui.designer`` to look at it on its own with the ``mlp`` preset.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.designer_rows import PARAMS_ROLE, SHAPE_ROLE, ColumnHeader, LayerRowDelegate
from gui.designer_undo import StackUndo
from gui.layer_editor import LayerEditor
from gui.widgets import guard_wheel
from model.catalogue import LAYER_ABOUT
from model.config import LAYER_TYPES, LayerSpec, RunConfig
from model.errors import ConfigError
from model.machine import available_memory, format_bytes
from model.memory import estimate_memory, memory_problem
from model.shapes import Fix, Problem, Shape, StackReport, analyze, apply_fix, format_shape

DEFAULT_INPUT_SHAPE: Shape = (28, 28, 1)
DEFAULT_NUM_CLASSES = 10
DEFAULT_LOSS = "crossentropy"

_PROBLEM_COLOR = QColor("#c62828")


def analyze_stack(
    layers: tuple[LayerSpec, ...], input_shape: Shape, num_classes: int, loss: str
) -> StackReport:
    """:func:`model.shapes.analyze`, plus a fixable problem for an empty stack.

    The core expects at least one layer (a run cannot have none), but a user who removes
    every row must still see what to do next rather than a crash.
    """
    if not layers:
        output = LayerSpec("Dense", units=num_classes, activation="softmax")
        fix = Fix("append", f"Add {output.describe()}", layer=output)
        problem = Problem(0, "the stack is empty; add at least an output Dense layer", fix)
        return StackReport(tuple(input_shape), (), (problem,))
    return analyze(layers, input_shape, num_classes, loss)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else message


class LayerStackModel(QAbstractListModel):
    """The layer stack as a list model, re-analyzed after every change.

    Rows carry the label (``DisplayRole``), the output shape text (:attr:`ShapeRole`), the
    parameter count (:attr:`ParamsRole`) and the row's problem message, if any
    (:attr:`ProblemRole`, also the tooltip). Rows can be reordered by drag and drop: a
    :class:`QListView` in ``InternalMove`` mode calls :meth:`moveRows`.

    Signals:
        analyzed: after every re-analysis (edits, :meth:`set_layers`, :meth:`set_context`).
        edited: after a change made through the editing methods or a drop, never after
            :meth:`set_layers` or :meth:`set_context`; it follows ``analyzed``.
    """

    ShapeRole = SHAPE_ROLE
    ParamsRole = PARAMS_ROLE
    ProblemRole = Qt.ItemDataRole.UserRole + 3

    analyzed = Signal()
    edited = Signal()

    def __init__(self, layers: tuple[LayerSpec, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layers: tuple[LayerSpec, ...] = tuple(layers)
        self._input_shape: Shape = DEFAULT_INPUT_SHAPE
        self._num_classes = DEFAULT_NUM_CLASSES
        self._loss = DEFAULT_LOSS
        self._report = analyze_stack(self._layers, self._input_shape, self._num_classes, self._loss)

    # ------------------------------------------------------------------ queries

    def layers(self) -> tuple[LayerSpec, ...]:
        return self._layers

    def report(self) -> StackReport:
        return self._report

    def context(self) -> tuple[Shape, int, str]:
        return self._input_shape, self._num_classes, self._loss

    # ------------------------------------------------------------------ programmatic changes

    def set_layers(self, layers: tuple[LayerSpec, ...]) -> None:
        """Replace the whole stack (not an edit: ``edited`` is not emitted)."""
        self.beginResetModel()
        self._layers = tuple(layers)
        self.endResetModel()
        self._reanalyze()

    def set_context(self, input_shape: tuple[int, ...], num_classes: int, loss: str) -> None:
        """Set what the stack is checked against: the data's shape and classes, and the loss."""
        self._input_shape = tuple(input_shape)
        self._num_classes = num_classes
        self._loss = loss
        self._reanalyze()

    # ------------------------------------------------------------------ edits

    def insert_layer(self, row: int, spec: LayerSpec) -> None:
        row = max(0, min(row, len(self._layers)))
        self.beginInsertRows(QModelIndex(), row, row)
        self._layers = self._layers[:row] + (spec,) + self._layers[row:]
        self.endInsertRows()
        self._after_edit()

    def remove_layer(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        self._layers = self._layers[:row] + self._layers[row + 1 :]
        self.endRemoveRows()
        self._after_edit()

    def replace_layer(self, row: int, spec: LayerSpec) -> None:
        if self._layers[row] == spec:
            return
        self._layers = self._layers[:row] + (spec,) + self._layers[row + 1 :]
        self._after_edit()

    def move_layer(self, row: int, to_row: int) -> bool:
        """Move the layer at ``row`` so that it ends up at index ``to_row``."""
        destination = to_row + 1 if to_row > row else to_row
        return self.moveRows(QModelIndex(), row, 1, QModelIndex(), destination)

    def apply_fix(self, fix: Fix) -> None:
        """Apply one of the core's suggested repairs."""
        self.beginResetModel()
        self._layers = apply_fix(self._layers, fix)
        self.endResetModel()
        self._after_edit()

    # ------------------------------------------------------------------ Qt model interface

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._layers)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._layers):
            return None
        row = index.row()
        spec = self._layers[row]
        layer = self._report.layers[row] if row < len(self._report.layers) else None
        problem = self._report.problem_for(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row + 1}. {spec.describe()}"
        if role == self.ShapeRole:
            return format_shape(layer.output_shape if layer else None)
        if role == self.ParamsRole:
            return layer.params if layer else 0
        if role == self.ProblemRole:
            return _sentence(problem.message) if problem else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem is not None:
                return _sentence(problem.message)
            if layer is not None:
                return (
                    f"{layer.name}: output {format_shape(layer.output_shape)}, "
                    f"{layer.params:,} parameters ({layer.trainable_params:,} trainable)"
                )
            return None
        if role == Qt.ItemDataRole.ForegroundRole and problem is not None:
            return QBrush(_PROBLEM_COLOR)
        if role == Qt.ItemDataRole.DecorationRole and problem is not None:
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            # Dropping between rows means dropping on the (invisible) root.
            return Qt.ItemFlag.ItemIsDropEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def moveRows(
        self,
        sourceParent: QModelIndex | QPersistentModelIndex,
        sourceRow: int,
        count: int,
        destinationParent: QModelIndex | QPersistentModelIndex,
        destinationChild: int,
    ) -> bool:
        """Move rows like Qt expects: ``destinationChild`` is counted before the move."""
        n = len(self._layers)
        if (
            sourceParent.isValid()
            or destinationParent.isValid()
            or count < 1
            or sourceRow < 0
            or sourceRow + count > n
            or not 0 <= destinationChild <= n
            or sourceRow <= destinationChild <= sourceRow + count
        ):
            return False
        if not self.beginMoveRows(
            QModelIndex(), sourceRow, sourceRow + count - 1, QModelIndex(), destinationChild
        ):
            return False
        items = list(self._layers)
        block = items[sourceRow : sourceRow + count]
        del items[sourceRow : sourceRow + count]
        at = destinationChild - count if destinationChild > sourceRow else destinationChild
        items[at:at] = block
        self._layers = tuple(items)
        self.endMoveRows()
        self._after_edit()
        return True

    # ------------------------------------------------------------------ internals

    def _after_edit(self) -> None:
        self._reanalyze()
        self.edited.emit()

    def _reanalyze(self) -> None:
        self._report = analyze_stack(self._layers, self._input_shape, self._num_classes, self._loss)
        if self._layers:
            # Shapes, counts and row numbers of every row may have changed.
            self.dataChanged.emit(self.index(0), self.index(len(self._layers) - 1))
        self.analyzed.emit()


class _LayerList(QListView):
    """The layer list, as tall as its rows (one spare for dropping), between its minimum and 12 rows."""

    MAX_ROWS = 12

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        model = self.model()
        rows = model.rowCount() if model is not None else 0
        row = self.sizeHintForRow(0) if rows else self.fontMetrics().height() + 8
        hint.setHeight(max(self.minimumHeight(), min(self.MAX_ROWS, rows + 1) * row + 2 * self.frameWidth()))
        return hint


class LayerDesigner(QWidget):
    """Design a layer stack and see at once whether, and how, it builds.

    Args:
        layers: the starting stack; the default is :class:`RunConfig`'s small MLP.
        parent: the Qt parent.

    Signals:
        layersChanged: after every edit the user makes (not after :meth:`set_layers` or
            :meth:`set_context`), once the stack has been re-analyzed.
        validityChanged(bool, str): whenever the stack turns buildable or not, or the reason
            changes; the text is the first problem in words ("" while valid), ready to use
            as the tooltip of a disabled Train button.
    """

    layersChanged = Signal()
    validityChanged = Signal(bool, str)

    def __init__(self, layers: tuple[LayerSpec, ...] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = LayerStackModel(RunConfig().layers if layers is None else tuple(layers), self)
        self._training: tuple[RunConfig, int | None] = (RunConfig(), None)
        self._validity = self._current_validity()
        self._build()
        guard_wheel(self)
        self.undo_stack = StackUndo(self._model, self._on_restored)
        self._connect()
        self._select_row(0)
        self._on_analyzed()

    # ------------------------------------------------------------------ public interface

    def layers(self) -> tuple[LayerSpec, ...]:
        """The stack as it stands."""
        return self._model.layers()

    def set_layers(self, layers: tuple[LayerSpec, ...]) -> None:
        """Show ``layers``, keeping the selected row where possible; emits no layersChanged."""
        row = self._current_row()
        self._model.set_layers(tuple(layers))
        self.undo_stack.reset(tuple(layers))
        self._select_row(min(max(row, 0), len(layers) - 1))

    def set_context(self, input_shape: tuple[int, ...], num_classes: int, loss: str) -> None:
        """Check the stack against this input shape, number of classes and loss."""
        self._model.set_context(input_shape, num_classes, loss)

    def report(self) -> StackReport:
        """The latest shape analysis of the stack."""
        return self._model.report()

    def set_training(self, config: RunConfig, n_train: int | None = None) -> None:
        """The run settings (optimizer, batch size) and training samples the memory estimate uses."""
        self._training = (config, n_train)
        self._show_totals(self.report())

    def is_valid(self) -> bool:
        """Whether the stack can be built for the current context."""
        return self._model.report().ok

    def model(self) -> LayerStackModel:
        """The list model behind the view."""
        return self._model

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self._list = _LayerList()
        self._list.setModel(self._model)
        for changed in (self._model.rowsInserted, self._model.rowsRemoved, self._model.modelReset):
            changed.connect(self._list.updateGeometry)
        self._list.setItemDelegate(LayerRowDelegate(self._list))
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self._list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self._list.setDropIndicatorShown(True)
        self._list.setUniformItemSizes(True)
        self._list.setMinimumHeight(140)
        self._list.setToolTip("The layers from input (top) to output (bottom); drag a row to move it.")
        self._list.setObjectName("layer_list")
        self._header = ColumnHeader(self._list)

        self._new_type = QComboBox()
        for kind in LAYER_TYPES:
            self._new_type.addItem(kind)
            self._new_type.setItemData(
                self._new_type.count() - 1, LAYER_ABOUT[kind], Qt.ItemDataRole.ToolTipRole
            )
        self._new_type.setCurrentText("Dense")
        self._new_type.setToolTip("The type of layer that Add and Insert create.")
        self._new_type.setObjectName("new_layer_type")

        self._add_action = self._action(
            "Add", "Insert", "Add a layer of the chosen type after the selected one."
        )
        self._insert_action = self._action(
            "Insert", None, "Insert a layer of the chosen type before the selected one."
        )
        self._remove_action = self._action(
            "Remove", QKeySequence.StandardKey.Delete, "Remove the selected layer."
        )
        self._duplicate_action = self._action(
            "Duplicate", "Ctrl+D", "Add a copy of the selected layer right after it."
        )
        self._up_action = self._action("Up", "Alt+Up", "Move the selected layer one place towards the input.")
        self._down_action = self._action(
            "Down", "Alt+Down", "Move the selected layer one place towards the output."
        )
        self._up_action.setText("▲ Up")
        self._down_action.setText("▼ Down")
        for name, action in (
            ("add", self._add_action),
            ("insert", self._insert_action),
            ("remove", self._remove_action),
            ("duplicate", self._duplicate_action),
            ("move_up", self._up_action),
            ("move_down", self._down_action),
        ):
            action.setObjectName(name)

        add_row = QHBoxLayout()
        add_row.addWidget(self._new_type, 1)
        add_row.addWidget(self._tool_button(self._add_action))
        add_row.addWidget(self._tool_button(self._insert_action))
        edit_row = QHBoxLayout()
        for action in (self._remove_action, self._duplicate_action, self._up_action, self._down_action):
            edit_row.addWidget(self._tool_button(action), 1)

        self._totals = QLabel()
        self._totals.setWordWrap(True)
        self._totals.setToolTip("Parameters of the whole stack, as Keras would count them.")
        self._totals.setObjectName("totals")

        self._problem_label = QLabel()
        self._problem_label.setWordWrap(True)
        self._problem_label.setObjectName("problem_text")
        self._problem_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._fix_button = QPushButton()
        self._fix_button.setToolTip("Apply the suggested repair to the stack in one click.")
        self._fix_button.setObjectName("fix_button")
        self._banner = QFrame()
        self._banner.setObjectName("problem_banner")
        self._banner.setStyleSheet(
            "#problem_banner { background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; }"
            "#problem_banner QLabel { color: #8e1c1c; }"
        )
        banner_layout = QVBoxLayout(self._banner)
        banner_layout.setContentsMargins(8, 6, 8, 6)
        banner_layout.addWidget(self._problem_label)
        banner_layout.addWidget(self._fix_button, 0, Qt.AlignmentFlag.AlignLeft)

        layout = QVBoxLayout(self)
        layout.addWidget(self._header)
        layout.addWidget(self._list)  # as tall as its rows; the editor below takes the rest
        layout.addLayout(add_row)
        layout.addLayout(edit_row)
        layout.addWidget(self._totals)
        layout.addWidget(self._banner)
        self._editor = LayerEditor()
        # The editor scrolls rather than squeezing its rows: a Conv2D's nine settings need
        # more height than the designer gets at 1280x800, and squeezed rows cut the text.
        self._editor_scroll = QScrollArea()
        self._editor_scroll.setObjectName("layer_editor_scroll")
        self._editor_scroll.setWidget(self._editor)
        self._editor_scroll.setWidgetResizable(True)
        self._editor_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._editor_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self._editor_scroll, 1)

    def _action(self, text: str, shortcut: str | QKeySequence.StandardKey | None, tip: str) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            # Only while the list has focus, so the keys never clash with the main window's.
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            tip = f"{tip[:-1]} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})."
            self._list.addAction(action)
        action.setToolTip(tip)
        return action

    @staticmethod
    def _tool_button(action: QAction) -> QToolButton:
        button = QToolButton()
        button.setObjectName(f"{action.objectName()}_button")
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return button

    def _connect(self) -> None:
        self._model.analyzed.connect(self._on_analyzed)
        self._model.edited.connect(self._on_edited)
        self._list.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self._model.modelReset.connect(self._on_current_changed)
        self._model.rowsMoved.connect(self._on_current_changed)
        self._add_action.triggered.connect(self._on_add)
        self._insert_action.triggered.connect(self._on_insert)
        self._remove_action.triggered.connect(self._on_remove)
        self._duplicate_action.triggered.connect(self._on_duplicate)
        self._up_action.triggered.connect(self._on_move_up)
        self._down_action.triggered.connect(self._on_move_down)
        self._fix_button.clicked.connect(self._on_fix)
        self._editor.layerEdited.connect(self._on_layer_edited)

    # ------------------------------------------------------------------ handlers

    def _on_add(self) -> None:
        row = self._current_row()
        at = len(self.layers()) if row < 0 else row + 1
        self._model.insert_layer(at, LayerSpec(self._new_type.currentText()))
        self._select_row(at)

    def _on_insert(self) -> None:
        at = max(self._current_row(), 0)
        self._model.insert_layer(at, LayerSpec(self._new_type.currentText()))
        self._select_row(at)

    def _on_remove(self) -> None:
        row = self._current_row()
        if row < 0:
            return
        self._model.remove_layer(row)
        self._select_row(min(row, len(self.layers()) - 1))

    def _on_duplicate(self) -> None:
        row = self._current_row()
        if row < 0:
            return
        self._model.insert_layer(row + 1, self.layers()[row])
        self._select_row(row + 1)

    def _on_move_up(self) -> None:
        row = self._current_row()
        if row > 0:
            self._model.move_layer(row, row - 1)
            self._select_row(row - 1)

    def _on_move_down(self) -> None:
        row = self._current_row()
        if 0 <= row < len(self.layers()) - 1:
            self._model.move_layer(row, row + 1)
            self._select_row(row + 1)

    def _on_fix(self) -> None:
        problems = self.report().problems
        if not problems or problems[0].fix is None:
            return
        fix = problems[0].fix
        self._model.apply_fix(fix)
        target = {"move": fix.to_index, "append": len(self.layers()) - 1}.get(fix.action, fix.index)
        self._select_row(min(max(target, 0), len(self.layers()) - 1))

    def _on_current_changed(self, *_: object) -> None:
        self._fill_editor()
        self._update_actions()

    def _on_layer_edited(self, spec: LayerSpec) -> None:
        row = self._current_row()
        if row >= 0:
            self._model.replace_layer(row, spec)

    def _show_totals(self, report: StackReport) -> None:
        """The parameter count, and the memory training needs (red when more than there is)."""
        text = f"Total parameters: {report.total_params:,}  ({report.trainable_params:,} trainable)"
        text += "" if report.ok else " so far"
        config, n_train = self._training
        input_shape, num_classes, _ = self._model.context()
        tip = "Parameters of the whole stack, as Keras would count them."
        color = ""
        try:
            run = config.replace(layers=self.layers())
        except ConfigError:
            run = None  # an empty or too long stack: its problem is shown below
        if run is not None:
            estimate = estimate_memory(run, input_shape, num_classes, n_train=n_train)
            available = available_memory()
            text += f" · {estimate.describe()}"
            tip += f"\nMemory to train (an estimate): {estimate.breakdown()}."
            problem = memory_problem(estimate, run, available)
            if problem is not None and available is not None:
                text += f", more than the {format_bytes(available)} available"
                tip += f"\nThis cannot be trained here: {problem}."
                color = "color: #c62828;"
        self._totals.setText(text)
        self._totals.setToolTip(tip)
        self._totals.setStyleSheet(color)

    def _on_analyzed(self) -> None:
        report = self.report()
        self._show_totals(report)
        problem = report.problems[0] if report.problems else None
        self._banner.setVisible(problem is not None)
        if problem is not None:
            self._problem_label.setText(_sentence(problem.message))
            self._fix_button.setVisible(problem.fix is not None)
            self._fix_button.setText(problem.fix.label if problem.fix else "")
        row = self._current_row()
        if row >= 0 and self.layers()[row] != self._editor.layer():
            self._fill_editor()  # changed from outside the editor, e.g. by a fix
        self._update_actions()
        validity = self._current_validity()
        if validity != self._validity:
            self._validity = validity
            self.validityChanged.emit(*validity)

    def _on_edited(self) -> None:
        self.layersChanged.emit()

    def _on_restored(self, row: int) -> None:
        """An undo or redo put a stack back: select the row it touched; it is the user's edit."""
        self._select_row(min(max(row, 0), len(self.layers()) - 1))
        self.layersChanged.emit()

    # ------------------------------------------------------------------ helpers

    def _current_validity(self) -> tuple[bool, str]:
        problems = self._model.report().problems
        return (not problems, _sentence(problems[0].message) if problems else "")

    def _current_row(self) -> int:
        index = self._list.currentIndex()
        return index.row() if index.isValid() else -1

    def _select_row(self, row: int) -> None:
        if 0 <= row < self._model.rowCount():
            index = self._model.index(row)
            self._list.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self._list.scrollTo(index)
        else:
            self._list.selectionModel().clearSelection()
            self._list.setCurrentIndex(QModelIndex())
        self._on_current_changed()

    def _update_actions(self) -> None:
        row, n = self._current_row(), len(self.layers())
        self._remove_action.setEnabled(row >= 0)
        self._duplicate_action.setEnabled(row >= 0)
        self._up_action.setEnabled(row > 0)
        self._down_action.setEnabled(0 <= row < n - 1)
        self._insert_action.setEnabled(True)
        self._add_action.setEnabled(True)

    def _fill_editor(self) -> None:
        row = self._current_row()
        self._editor.show_layer(self.layers()[row] if row >= 0 else None, row + 1)
        QTimer.singleShot(0, self, self._fit_editor)  # once the editor's rows are laid out

    DESIGNER_SHARE = 0.62
    """The most of the column (the splitter around the designer) the designer grows to
    when the selected layer's editor needs more height; beyond that the editor scrolls."""

    def _fit_editor(self) -> None:
        """Give the layer editor the height it needs by growing the designer in its splitter.

        Only ever grows it, up to :data:`DESIGNER_SHARE` of the column, and only when a
        layer is shown: the user's own splitter position otherwise stands. No minimum size
        is set, so the window's minimum size stays what it was.
        """
        splitter = self.parentWidget()
        if not isinstance(splitter, QSplitter) or not self.isVisible():
            return
        editor, scroll = self._editor, self._editor_scroll
        width = scroll.viewport().width()
        need = editor.heightForWidth(width) if editor.hasHeightForWidth() and width > 0 else -1
        if need < 0:
            need = editor.sizeHint().height()
        missing = need - scroll.viewport().height()
        if missing <= 0:
            return
        sizes = splitter.sizes()
        mine = splitter.indexOf(self)
        total = sum(sizes)
        grown = min(sizes[mine] + missing, int(total * self.DESIGNER_SHARE))
        if grown <= sizes[mine] or len(sizes) != 2:
            return
        sizes[1 - mine] = total - grown
        sizes[mine] = grown
        splitter.setSizes(sizes)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, self, self._fit_editor)  # once the splitter has its sizes

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        # The window resized (or the splitter dragged): grow back if the editor lost room.
        # Growing only, up to a share of the column, this settles after one more resize.
        QTimer.singleShot(0, self, self._fit_editor)


def main() -> int:
    """Show the designer on its own with the ``mlp`` preset, printing each change."""
    from model.config import load_preset

    app = QApplication.instance() or QApplication(sys.argv)
    config = load_preset("mlp")
    designer = LayerDesigner(config.layers)
    designer.set_context((28, 28, 1), 10, config.loss)
    designer.setWindowTitle("Gradient Lab - layer designer")
    designer.layersChanged.connect(lambda: print(designer.report().summary(), "\n", flush=True))
    designer.validityChanged.connect(lambda ok, why: print("valid" if ok else f"invalid: {why}", flush=True))
    designer.resize(460, 720)
    designer.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
