"""The message bar above the plots and the Results tab's summary and per-class table.

Both are plain views: :class:`MessageBar` shows one dismissable line (info, warning or
error) about what happened to a run; :class:`ResultsView` shows test-set accuracy and loss
and precision and recall per class after a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from model.evaluation import Evaluation
    from model.events import RunFinished


class MessageBar(QFrame):
    """A dismissable line above the plots for what happened to a run (not modal)."""

    STYLES: Final = {
        "info": ("#E8F1FB", "#0B3D6B", "#9CC2E5"),
        "warning": ("#FFF4DC", "#5C3B00", "#F0C36D"),
        "error": ("#FDECEA", "#7A1212", "#E8A3A3"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = ""
        self._label = QLabel()
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def show_message(self, text: str, level: str = "info") -> None:
        background, foreground, border = self.STYLES[level]
        self.level = level
        self._label.setText(text)
        self.setStyleSheet(
            f"MessageBar {{ background: {background}; border: 1px solid {border}; border-radius: 4px; }}"
            f"QLabel {{ color: {foreground}; }}"
        )
        self.setVisible(True)

    def text(self) -> str:
        return self._label.text() if self.level else ""

    def clear(self) -> None:
        self.level = ""
        self._label.clear()
        self.setVisible(False)


class ResultsView(QWidget):
    """Test-set accuracy and loss, and precision and recall per class, after a run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Train a model to see how it does on the test set.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["class", "precision", "recall", "samples"])
        self.table.horizontalHeaderItem(3).setToolTip("How many test samples of this class there are")
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # _fit_columns
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def show_result(self, finished: RunFinished, evaluation: Evaluation | None) -> None:
        if evaluation is None:
            self.summary.setText(f"Run ended ({finished.message}); there is no test-set evaluation.")
            self.table.setRowCount(0)
            return
        self.summary.setText(
            f"<b>Test accuracy {evaluation.accuracy:.2%}</b> · test loss {evaluation.loss:.4f} · "
            f"{int(evaluation.confusion.sum()):,} test samples · {finished.message}"
        )
        support = evaluation.confusion.sum(axis=1)
        self.table.setRowCount(len(evaluation.class_names))
        for row, name in enumerate(evaluation.class_names):
            values = (
                name,
                f"{evaluation.precision[row]:.3f}",
                f"{evaluation.recall[row]:.3f}",
                f"{int(support[row]):,}",
            )
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Keep every column in view: the table is never narrower than its columns (at
        1280x800 the last one went behind a scrollbar)."""
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        columns = sum(
            max(header.sectionSizeHint(column), self.table.sizeHintForColumn(column))
            for column in range(self.table.columnCount())
        )
        scrollbar = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(columns + scrollbar + 2 * self.table.frameWidth())

    def clear(self) -> None:
        self.summary.setText("Train a model to see how it does on the test set.")
        self.table.setRowCount(0)
