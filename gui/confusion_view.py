"""Which digits a trained network confuses, and the test images behind each number.

:class:`ConfusionView` shows the test-set confusion matrix of an
:class:`~model.evaluation.Evaluation` as a heat map (true class in rows, predicted class
in columns, counts in the cells, colour by the share of the row), each class's accuracy in
a last column, and the overall accuracy above. Clicking a cell lists that cell's test
images as captioned thumbnails: the most confident mistakes first for an off-diagonal
cell (the surprising ones), the least confident correct answers first on the diagonal
(the near misses).

The matrix is a :class:`QTableView` over :class:`ConfusionTableModel`, so clicking,
keyboard navigation and tooltips come from Qt; a small delegate paints the heat map and
the accuracy bars. Nothing here imports TensorFlow.

Run ``python -m gui.confusion_view`` for a look with synthetic predictions on
scikit-learn's digits.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.pixmaps import gray_pixmap
from model.evaluation import Evaluation
from model.words import count

MAX_SHOWN: Final = 60
"""The most images one cell lists; a big diagonal cell has hundreds."""

THUMB_SIDE: Final = 56
CELL_WIDTH: Final = 36
"""Room for a four-digit count; the matrix is narrow enough that at 1280x800 the images
beside it get two columns of thumbnails."""
CELL_HEIGHT: Final = 30
ACCURACY_WIDTH: Final = 64
THUMB_GRID: Final = QSize(THUMB_SIDE + 26, THUMB_SIDE + 38)
"""One thumbnail with its two-line caption (true -> answer, then the confidence)."""
SHOWN_COLUMNS: Final = 2
"""The image list is never narrower than this many thumbnails."""

CORRECT_COLOUR: Final = QColor(33, 102, 172)
MISTAKE_COLOUR: Final = QColor(203, 24, 29)
ACCURACY_COLOUR: Final = QColor(90, 160, 90)

RATE_ROLE: Final = Qt.ItemDataRole.UserRole + 1
"""The cell's share of its row (the accuracy, in the last column), a float in [0, 1]."""

EMPTY_HEADER: Final = "No test results yet: train a model to see which digits it confuses."
EMPTY_HINT: Final = "Click a cell of the matrix to see its test images."

_Index = QModelIndex | QPersistentModelIndex


def _mix(base: QColor, target: QColor, amount: float) -> QColor:
    """``base`` moved ``amount`` (0..1) of the way to ``target``."""
    t = min(max(amount, 0.0), 1.0)
    return QColor(
        round(base.red() + (target.red() - base.red()) * t),
        round(base.green() + (target.green() - base.green()) * t),
        round(base.blue() + (target.blue() - base.blue()) * t),
    )


def _readable_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background``."""
    luminance = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor(0, 0, 0) if luminance > 140 else QColor(255, 255, 255)


def as_image_stack(images: NDArray[Any]) -> NDArray[Any]:
    """Test inputs as ``(N, H, W)``: accepts ``(N, H, W, 1)``, ``(N, H, W)`` or flat ``(N, H*W)``.

    Raises:
        ValueError: the array is none of these (a flat row must be a square number long).
    """
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        return array[..., 0]
    if array.ndim == 3:
        return array
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side * side == array.shape[1] and side > 0:
            return array.reshape(len(array), side, side)
    raise ValueError(f"expected images of shape (N, H, W, 1), (N, H, W) or (N, H*W), got {array.shape}")


def thumbnail(image: NDArray[Any], side: int = THUMB_SIDE) -> QIcon:
    """A grayscale image as a ``side``-pixel icon, pixels kept sharp."""
    values = np.asarray(image)
    if np.issubdtype(values.dtype, np.integer):
        values = values.astype(np.float32) / 255.0
    return QIcon(gray_pixmap(values, side))


def cell_order(evaluation: Evaluation, true_class: int, predicted_class: int) -> NDArray[np.intp]:
    """The test samples of one confusion cell, in the order the view lists them.

    Off the diagonal (mistakes), the most confident mistake comes first: those are the
    ones that say most about what the network learned. On the diagonal, the least
    confident correct answer comes first: the near misses. Ties keep test-set order.
    """
    indices = evaluation.misclassified(true_class, predicted_class)
    confidence = evaluation.probabilities[indices, predicted_class]
    key = confidence if true_class == predicted_class else -confidence
    return np.asarray(indices[np.argsort(key, kind="stable")], dtype=np.intp)


class ConfusionTableModel(QAbstractTableModel):
    """The confusion matrix as a table: one row per true class, one column per predicted
    class, and a last column with each class's accuracy."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._evaluation: Evaluation | None = None
        self._rates = np.zeros((0, 0))
        self._base = QColor(255, 255, 255)

    def set_evaluation(self, evaluation: Evaluation | None, base: QColor) -> None:
        self.beginResetModel()
        self._evaluation = evaluation
        self._base = QColor(base)
        if evaluation is not None:
            confusion = evaluation.confusion.astype(np.float64)
            totals = confusion.sum(axis=1, keepdims=True)
            self._rates = np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
        else:
            self._rates = np.zeros((0, 0))
        self.endResetModel()

    def classes(self) -> int:
        return 0 if self._evaluation is None else len(self._evaluation.class_names)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self.classes()

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or self._evaluation is None else self.classes() + 1

    def is_accuracy_column(self, column: int) -> bool:
        return column == self.classes()

    def _name(self, k: int) -> str:
        assert self._evaluation is not None
        return self._evaluation.class_names[k]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        evaluation = self._evaluation
        if evaluation is None or not index.isValid():
            return None
        row, column = index.row(), index.column()
        support = int(evaluation.confusion[row].sum())
        if self.is_accuracy_column(column):
            accuracy = float(evaluation.class_accuracy[row])
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{accuracy:.1%}" if support else "–"
            if role == RATE_ROLE:
                return accuracy
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    f"{self._name(row)}: {accuracy:.1%} of {support:,} test images read correctly "
                    f"(precision {float(evaluation.precision[row]):.1%}: of all images read as "
                    f"{self._name(row)}, the share that were)"
                )
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        count = int(evaluation.confusion[row, column])
        rate = float(self._rates[row, column])
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if count == 0 and row != column else str(count)
        if role == RATE_ROLE:
            return rate
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.cell_colour(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _readable_on(self.cell_colour(row, column))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            true_name, pred_name = self._name(row), self._name(column)
            what = f"{true_name} read correctly" if row == column else f"{true_name} read as {pred_name}"
            return f"{what}: {count:,} of {support:,} test images ({rate:.1%}); click to see them"
        return None

    def cell_colour(self, row: int, column: int) -> QColor:
        """The heat-map colour: blue on the diagonal, red off it, deeper for a larger share
        of the row (square-root scale, so a 2% confusion is visible next to 98% correct)."""
        rate = float(self._rates[row, column])
        target = CORRECT_COLOUR if row == column else MISTAKE_COLOUR
        return _mix(self._base, target, math.sqrt(rate))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self._evaluation is None or section < 0:
            return None
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole:
            if horizontal and self.is_accuracy_column(section):
                return "accuracy"
            return self._name(section) if section < self.classes() else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if horizontal and self.is_accuracy_column(section):
                return "The share of each true class read correctly (its recall)."
            if section >= self.classes():
                return None
            name = self._name(section)
            return f"Predicted as {name} (this column)." if horizontal else f"Truly {name} (this row)."
        return None


class _HeatMapDelegate(QStyledItemDelegate):
    """Paints heat-map cells with a frame around the selected one (the default selection
    fill would hide the colour), and the accuracy column as a bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        model = index.model()
        rect = QRect(option.rect)
        palette = option.palette
        painter.save()
        try:
            rate = float(index.data(RATE_ROLE) or 0.0)
            text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
            if isinstance(model, ConfusionTableModel) and model.is_accuracy_column(index.column()):
                painter.fillRect(rect, palette.color(QPalette.ColorRole.Base))
                bar = QRect(rect.adjusted(3, 5, -3, -5))
                bar.setWidth(round(bar.width() * rate))
                painter.fillRect(bar, ACCURACY_COLOUR)
                painter.setPen(palette.color(QPalette.ColorRole.Text))
            else:
                background = index.data(Qt.ItemDataRole.BackgroundRole)
                foreground = index.data(Qt.ItemDataRole.ForegroundRole)
                painter.fillRect(rect, background if isinstance(background, QColor) else palette.base())
                painter.setPen(
                    foreground if isinstance(foreground, QColor) else palette.color(QPalette.ColorRole.Text)
                )
            if index.row() == index.column():
                font = QFont(option.font)
                font.setBold(True)
                painter.setFont(font)
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
            if option.state & QStyle.StateFlag.State_Selected:
                pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect.adjusted(1, 1, -2, -2))
        finally:
            painter.restore()


class ConfusionView(QWidget):
    """The confusion matrix of a test set, and the images of any cell.

    Signals:
        cellSelected(int, int): a cell was selected (true class, predicted class).
    """

    cellSelected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._evaluation: Evaluation | None = None
        self._images: NDArray[Any] = np.zeros((0, 28, 28), dtype=np.float32)
        self._shown = np.zeros(0, dtype=np.intp)
        self._selecting = False  # select_cell is moving the current cell itself
        self._selected: tuple[int, int] | None = None
        self._build()
        self._connect()
        self.clear()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self._header = QLabel()
        header_font = QFont(self.font())
        header_font.setPointSizeF(self.font().pointSizeF() * 1.3)
        header_font.setBold(True)
        self._header.setFont(header_font)
        self._header.setWordWrap(True)
        self._header.setToolTip("How the model does on test images it never trained on.")
        axes = QLabel("Rows: true class · columns: predicted class")
        axes.setToolTip(
            "Each cell counts the test images of its row's class that were read as its column's class."
        )
        axes.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self._model = ConfusionTableModel(self)
        self.table = QTableView()
        self.table.setModel(self._model)
        self.table.setItemDelegate(_HeatMapDelegate(self.table))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(True)
        self.table.setCornerButtonEnabled(False)
        self.table.setToolTip("Click a cell to see its test images.")
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        horizontal, vertical = self.table.horizontalHeader(), self.table.verticalHeader()
        horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        horizontal.setDefaultSectionSize(CELL_WIDTH)
        horizontal.setHighlightSections(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(CELL_HEIGHT)
        vertical.setHighlightSections(False)
        self.table.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

        self._cell_title = QLabel()
        self._cell_title.setWordWrap(True)
        self._cell_title.setToolTip("Which cell's images are listed, and in what order.")
        self.images = QListWidget()
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.images.setGridSize(THUMB_GRID)
        self.images.setWordWrap(True)
        self.images.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.images.setMinimumWidth(SHOWN_COLUMNS * THUMB_GRID.width() + scrollbar + 2 * self.images.frameWidth() + 4)
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setWrapping(True)
        self.images.setUniformItemSizes(True)
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.images.setToolTip("The test images of the selected cell; hover one for its top three answers.")

        matrix_side = QWidget()
        matrix_layout = QVBoxLayout(matrix_side)
        matrix_layout.setContentsMargins(0, 0, 0, 0)
        matrix_layout.addWidget(axes)
        matrix_layout.addWidget(self.table)
        legend = QLabel(
            "Blue: read correctly; red: mistakes. The deeper the colour, the larger the share "
            "of the row's test images. Click a cell, or move with the arrow keys, to see its images."
        )
        legend.setWordWrap(True)
        legend.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        legend.setToolTip("How to read the matrix.")
        matrix_layout.addWidget(legend)
        matrix_layout.addStretch(1)
        images_side = QWidget()
        images_layout = QVBoxLayout(images_side)
        images_layout.setContentsMargins(0, 0, 0, 0)
        images_layout.addWidget(self._cell_title)
        images_layout.addWidget(self.images, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(matrix_side)
        splitter.addWidget(images_side)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self._header)
        body = QHBoxLayout()
        body.addWidget(splitter, 1)
        layout.addLayout(body, 1)

    def _connect(self) -> None:
        self.table.clicked.connect(self._on_cell_clicked)
        # The arrow keys walk the matrix too.
        self.table.selectionModel().currentChanged.connect(self._on_current_changed)

    # ------------------------------------------------------------------ public API

    def set_evaluation(self, evaluation: Evaluation, images: NDArray[Any], header: str | None = None) -> None:
        """Show a model's test results.

        Args:
            evaluation: The test-set figures, with per-sample labels and probabilities
                (or none, for a matrix alone: an epoch of the confusion timeline).
            images: The test inputs in the order of ``evaluation.y_true``:
                ``(N, 28, 28, 1)``, ``(N, 28, 28)`` or ``(N, 784)``.
            header: The line above the matrix (default: the test accuracy and loss).

        Raises:
            ValueError: ``images`` has another shape or count (a programming error).
        """
        stack = as_image_stack(images)
        if len(stack) != len(evaluation.y_true):
            raise ValueError(f"{len(stack)} images for {len(evaluation.y_true)} evaluated samples")
        self._evaluation = evaluation
        self._images = stack
        self._model.set_evaluation(evaluation, self.palette().color(QPalette.ColorRole.Base))
        self._fit_table()
        total = len(evaluation.y_true)
        self._header.setText(
            header or f"Test accuracy {evaluation.accuracy:.1%} on {count(total, 'image')} · loss {evaluation.loss:.3f}"
        )
        self._show_cell_hint()

    def clear(self) -> None:
        """Forget the results: an empty matrix and no images."""
        self._evaluation = None
        self._images = np.zeros((0, 28, 28), dtype=np.float32)
        self._model.set_evaluation(None, self.palette().color(QPalette.ColorRole.Base))
        self._header.setText(EMPTY_HEADER)
        self._selected = None
        self._set_shown(np.zeros(0, dtype=np.intp), EMPTY_HINT)

    def select_cell(self, true_class: int, predicted_class: int) -> None:
        """Select a cell and list its test images (what clicking the cell does).

        Raises:
            IndexError: no results are shown, or a class is out of range.
        """
        evaluation = self._evaluation
        classes = self._model.classes()
        if evaluation is None or not (0 <= true_class < classes and 0 <= predicted_class < classes):
            raise IndexError(f"no confusion cell ({true_class}, {predicted_class}) to select")
        index = self._model.index(true_class, predicted_class)
        self._selecting = True
        try:
            self.table.setCurrentIndex(index)
        finally:
            self._selecting = False
        order = cell_order(evaluation, true_class, predicted_class)
        names = evaluation.class_names
        true_name, pred_name = names[true_class], names[predicted_class]
        if true_class == predicted_class:
            what = f"{true_name} read correctly: {count(len(order), 'image')}, least confident first"
        else:
            what = f"{true_name} read as {pred_name}: {count(len(order), 'image')}, most confident mistake first"
        self._selected = (true_class, predicted_class)
        if not len(evaluation.y_true):  # a matrix alone (an epoch of the timeline): no images
            cell = int(evaluation.confusion[true_class, predicted_class])
            self._set_shown(order, f"{what.split(':')[0]}: {count(cell, 'image')}. Images are listed for the test set only.")
            self.cellSelected.emit(true_class, predicted_class)
            return
        if len(order) > MAX_SHOWN:
            what += f" (showing {MAX_SHOWN})"
        self._set_shown(order[:MAX_SHOWN], what if len(order) else f"No {true_name} was read as {pred_name}.")
        self.cellSelected.emit(true_class, predicted_class)

    def shown_indices(self) -> NDArray[np.intp]:
        """The test-set indices of the images listed now, in display order."""
        return self._shown.copy()

    def evaluation(self) -> Evaluation | None:
        return self._evaluation

    def header_text(self) -> str:
        return self._header.text()

    def cell_title(self) -> str:
        return self._cell_title.text()

    # ------------------------------------------------------------------ display

    def _fit_table(self) -> None:
        """Size the table to show the whole matrix without scrolling."""
        classes = self._model.classes()
        self.table.horizontalHeader().resizeSection(classes, ACCURACY_WIDTH)
        width = (
            self.table.verticalHeader().sizeHint().width()
            + CELL_WIDTH * classes
            + ACCURACY_WIDTH
            + 2 * self.table.frameWidth()
        )
        height = (
            self.table.horizontalHeader().sizeHint().height()
            + CELL_HEIGHT * classes
            + 2 * self.table.frameWidth()
        )
        self.table.setMinimumSize(width, height)
        self.table.setMaximumSize(width, height)

    def _show_cell_hint(self) -> None:
        evaluation = self._evaluation
        hint = EMPTY_HINT
        if evaluation is not None and len(evaluation.y_true):
            off = evaluation.confusion.copy()
            np.fill_diagonal(off, 0)
            if off.max() > 0:
                true_class, predicted_class = np.unravel_index(int(np.argmax(off)), off.shape)
                names = evaluation.class_names
                hint += (
                    f" The most common mistake: {names[true_class]} read as {names[predicted_class]} "
                    f"({count(int(off[true_class, predicted_class]), 'image')})."
                )
        self.table.clearSelection()
        self._selected = None
        self._set_shown(np.zeros(0, dtype=np.intp), hint)

    def _set_shown(self, indices: NDArray[np.intp], title: str) -> None:
        self._shown = np.asarray(indices, dtype=np.intp)
        self._cell_title.setText(title)
        self.images.clear()
        evaluation = self._evaluation
        if evaluation is None:
            return
        names = evaluation.class_names
        for index in self._shown:
            probabilities = evaluation.probabilities[index]
            true_class = int(evaluation.y_true[index])
            predicted = int(np.argmax(probabilities))
            caption = f"true {names[true_class]} → {names[predicted]}\n{float(probabilities[predicted]):.0%}"
            item = QListWidgetItem(thumbnail(self._images[index]), caption)
            top = np.argsort(-probabilities, kind="stable")[:3]
            item.setToolTip(
                f"Test image #{int(index)}, true class {names[true_class]}\nTop 3: "
                + ", ".join(f"{names[k]} {float(probabilities[k]):.1%}" for k in top)
            )
            item.setData(Qt.ItemDataRole.UserRole, int(index))
            self.images.addItem(item)

    # ------------------------------------------------------------------ handlers

    def _is_new_cell(self, index: QModelIndex) -> bool:
        return (
            index.isValid()
            and index.column() < self._model.classes()
            and (index.row(), index.column()) != self._selected
        )

    def _on_cell_clicked(self, index: QModelIndex) -> None:
        if self._is_new_cell(index):
            self.select_cell(index.row(), index.column())

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        # Qt makes the first cell current by itself when the table gets the focus (no
        # previous cell then): that is no choice of the user's, so it selects nothing.
        if self._selecting or not previous.isValid() or not self._is_new_cell(current):
            return
        self.select_cell(current.row(), current.column())


# ---------------------------------------------------------------------- manual look


def synthetic_evaluation(
    y_true: NDArray[np.integer], class_names: Sequence[str], seed: int = 0
) -> Evaluation:
    """Made-up but plausible predictions for ``y_true``: mostly right, with the confusions
    MNIST models typically make (4/9, 3/5, 7/1, 8/3), for looking at the view."""
    from model.evaluation import evaluate_predictions

    rng = np.random.default_rng(seed)
    y = np.asarray(y_true, dtype=np.int64)
    classes = len(class_names)
    logits = rng.normal(0.0, 1.2, size=(len(y), classes))
    logits[np.arange(len(y)), y] += 3.5
    for a, b in ((4, 9), (9, 4), (3, 5), (5, 3), (7, 1), (8, 3)):
        if max(a, b) < classes:
            logits[y == a, b] += 1.5
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return evaluate_predictions(y, probabilities, tuple(class_names), "crossentropy")


def main() -> int:
    """Show the view on scikit-learn's digits with synthetic predictions."""
    from model.config import DataSpec
    from model.data import load_dataset

    app = QApplication.instance() or QApplication(sys.argv[:1])
    dataset = load_dataset(DataSpec(name="digits"), allow_download=False)
    view = ConfusionView()
    view.setWindowTitle("Gradient Lab - confusion matrix (synthetic predictions)")
    view.set_evaluation(synthetic_evaluation(dataset.y, dataset.class_names), dataset.x)
    view.resize(1100, 560)
    view.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
