"""How the designer's list draws a layer: three columns (label, output shape, parameters).

:class:`LayerRowDelegate` paints each row of :class:`~gui.designer.LayerStackModel` as
the layer's label, its output shape and its parameter count; :class:`ColumnHeader` puts
the column titles above the list, aligned with those columns (they follow the list's
viewport, which narrows when a scroll bar appears). The model answers :data:`SHAPE_ROLE`
and :data:`PARAMS_ROLE`; this module does not import the designer.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

SHAPE_ROLE = Qt.ItemDataRole.UserRole + 1
"""The row's output shape, as text."""
PARAMS_ROLE = Qt.ItemDataRole.UserRole + 2
"""The row's parameter count."""

def _column_widths(metrics: QFontMetrics) -> tuple[int, int]:
    """Widths of the shape and parameter columns, shared by rows and the header."""
    return metrics.horizontalAdvance("(28, 28, 128)") + 12, metrics.horizontalAdvance("10,000,000")


def _split_columns(rect: QRect, metrics: QFontMetrics) -> tuple[QRect, QRect, QRect]:
    shape_w, params_w = _column_widths(metrics)
    params = QRect(rect.right() - params_w + 1, rect.top(), params_w, rect.height())
    shape = QRect(params.left() - shape_w, rect.top(), shape_w, rect.height())
    name = QRect(rect.left(), rect.top(), max(0, shape.left() - rect.left() - 6), rect.height())
    return name, shape, params


class LayerRowDelegate(QStyledItemDelegate):
    """Paints a row as three columns: label, output shape, parameter count."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        label = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget).adjusted(
            2, 0, -4, 0
        )
        name_rect, shape_rect, params_rect = _split_columns(text_rect, opt.fontMetrics)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(role))
        align = Qt.AlignmentFlag.AlignVCenter
        elided = opt.fontMetrics.elidedText(label, Qt.TextElideMode.ElideRight, name_rect.width())
        painter.drawText(name_rect, align | Qt.AlignmentFlag.AlignLeft, elided)
        painter.drawText(
            shape_rect, align | Qt.AlignmentFlag.AlignLeft, str(index.data(SHAPE_ROLE))
        )
        params = index.data(PARAMS_ROLE)
        painter.drawText(params_rect, align | Qt.AlignmentFlag.AlignRight, f"{params:,}")
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        shape_w, params_w = _column_widths(option.fontMetrics)
        return QSize(hint.width() + shape_w + params_w, max(hint.height(), option.fontMetrics.height() + 8))


class ColumnHeader(QWidget):
    """Column titles above the list, aligned with the columns the delegate paints."""

    def __init__(self, view: QListView) -> None:
        super().__init__()
        self._view = view
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().height() + 4)
        # The columns follow the viewport, which narrows when a scroll bar appears.
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.update()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        viewport = self._view.viewport()
        left = viewport.mapToGlobal(QPoint(0, 0)).x() - self.mapToGlobal(QPoint(0, 0)).x()
        rect = QRect(left + 4, 0, viewport.width() - 8, self.height())
        name, shape, params = _split_columns(rect, self.fontMetrics())
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(name, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "Layer")
        painter.drawText(shape, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "Output")
        painter.drawText(params, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "Params")
        painter.end()
