"""The Compare tab's results table: one row per trial, filled as trials end, with its actions.

The figures are :class:`~model.experiments.TrialSummary`'s (their definitions live in
:mod:`model.experiments.table`, shared with ``results.csv``); this widget only formats
them. Each row ends with four buttons: *Stop* (while the trial is pending or running),
*Open* (as a normal run), *Save…* and *Draw* (its model answers the Draw tab), the last
three once the trial has a run folder. They emit the row's trial id; the panel decides.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from gui.compare_plots import trial_color
from model.experiments import ResultsTable, TrialState, TrialSummary

COLUMNS: Final = (
    ("#", "The trial's number; its colour in the plots"),
    ("trial", "What differs in this trial"),
    ("state", "pending, running, finished, failed or stopped"),
    ("val acc", "Validation accuracy of the last complete epoch"),
    ("test acc", "Accuracy on the test set at the end"),
    ("best epoch", "The epoch with the lowest validation loss (training loss without validation)"),
    ("to target", "Epochs and seconds until the validation accuracy first reached the target"),
    ("time", "Training time (the epochs' own, start-up excluded)"),
    ("gradients", "vanishing: the first layer's gradients < 1/100 of the output layer's; "
                  "exploding: a layer's mean gradient norm > 1000 or not finite"),
    ("NaN", "Whether the loss became NaN or infinite"),
    ("", "Stop the trial, open it as a run, save its run folder, or draw with its model"),
)  # fmt: skip
ACTIONS: Final = ("stop", "open", "save", "draw")
_STATE_COLORS: Final = {TrialState.FAILED: "#B2182B", TrialState.STOPPED: "#8C564B", TrialState.RUNNING: "#0072B2"}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def shared_paths(table: ResultsTable) -> tuple[str, ...]:
    """The setting paths every row varies, when they are the same for all (then only values are shown)."""
    paths = {tuple(path for path, _ in row.settings) for row in table.rows}
    if len(paths) != 1:
        return ()
    (only,) = paths
    return only if only and "variant" not in only else ()


def row_texts(row: TrialSummary, shared: tuple[str, ...] = ()) -> list[str]:
    """The texts of a row's figure cells, in :data:`COLUMNS` order (without the buttons).

    With ``shared`` paths (the header names them), the trial cell holds only their values.
    """
    target = ""
    if row.epochs_to_target is not None:
        target = f"{row.epochs_to_target} ep · {_seconds(row.seconds_to_target)}"
    elif row.state.over and row.epochs:
        target = f"never ({row.target_accuracy:.0%})"
    best = "" if row.best_epoch is None else f"{row.best_epoch} of {row.epochs}"
    return [
        str(row.trial_id + 1),
        ", ".join(value for _, value in row.settings) if shared else row.label,
        str(row.state),
        _percent(row.final_val_accuracy),
        _percent(row.test_accuracy),
        best,
        target,
        _seconds(row.seconds) if row.epochs or row.seconds else "",
        row.gradients,
        "NaN" if row.diverged else "",
    ]


class _RowActions(QWidget):
    """A row's four buttons."""

    def __init__(self, table: TrialTable, trial_id: int) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(2)
        tips = {
            "stop": "Stop this trial after its current batch",
            "open": "Open this trial as a normal run: its configuration, history, results and model",
            "save": "Save this trial's run folder somewhere else",
            "draw": "Let this trial's model answer the Draw tab (the settings stay as they are)",
        }
        self.buttons: dict[str, QToolButton] = {}
        for name in ACTIONS:
            button = QToolButton()
            button.setText({"stop": "Stop", "open": "Open", "save": "Save…", "draw": "Draw"}[name])
            button.setObjectName(f"trial-{trial_id}-{name}")
            button.setToolTip(tips[name])
            button.setAutoRaise(False)
            button.clicked.connect(lambda _=False, n=name: table.actionRequested.emit(n, trial_id))
            layout.addWidget(button)
            self.buttons[name] = button
        layout.addStretch(1)

    def update_for(self, row: TrialSummary) -> None:
        self.buttons["stop"].setEnabled(not row.state.over)
        for name in ("open", "save", "draw"):
            self.buttons[name].setEnabled(row.run_folder is not None)


class TrialTable(QTableWidget):
    """The results table (module docstring).

    Signals:
        actionRequested(str, int): ``stop``, ``open``, ``save`` or ``draw``, and the trial id.
    """

    actionRequested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("compare-results")
        self.setHorizontalHeaderLabels([name for name, _ in COLUMNS])
        for i, (_, tip) in enumerate(COLUMNS):
            item = self.horizontalHeaderItem(i)
            if item is not None:
                item.setToolTip(tip)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(28)
        # Three rows and the header stay visible however the splitter is dragged.
        self.setMinimumHeight(3 * 28 + 30)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rows: tuple[TrialSummary, ...] = ()
        self._actions: list[_RowActions] = []

    def set_table(self, table: ResultsTable) -> None:
        """Show ``table``: rows are made once per comparison and updated in place."""
        if len(table.rows) != self.rowCount() or [r.label for r in table.rows] != [r.label for r in self.rows]:
            self.setRowCount(0)
            self._actions = []
            self.setRowCount(len(table.rows))
            for i, row in enumerate(table.rows):
                actions = _RowActions(self, row.trial_id)
                self.setCellWidget(i, len(COLUMNS) - 1, actions)
                self._actions.append(actions)
        self.rows = table.rows
        shared = shared_paths(table)
        header = self.horizontalHeaderItem(1)
        if header is not None:
            header.setText(", ".join(shared) if shared else "trial")
        for i, row in enumerate(table.rows):
            for column, text in enumerate(row_texts(row, shared)):
                item = self.item(i, column)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(i, column, item)
                item.setText(text)
                if column == 0:
                    item.setForeground(QColor(trial_color(i)))
                    item.setText(f"■ {text}")
                if column == 2:
                    color = _STATE_COLORS.get(row.state)
                    if color is not None:
                        item.setForeground(QColor(color))
                    item.setToolTip(row.message)
                if column == 1:
                    item.setToolTip(row.message or row.label)
                if column in (8, 9) and text:
                    item.setForeground(QColor("#B2182B"))
            self._actions[i].update_for(row)

    def button(self, trial_id: int, action: str) -> QToolButton:
        """The ``action`` button of trial ``trial_id``'s row (for tests)."""
        return self._actions[trial_id].buttons[action]

    def cell_text(self, trial_id: int, column: str) -> str:
        index = [name for name, _ in COLUMNS].index(column)
        item = self.item(trial_id, index)
        return item.text() if item is not None else ""

