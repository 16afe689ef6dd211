"""The Draw tab's "Your handwriting" box: label a drawing, see the score, teach the model.

:class:`HandwritingBox` is a plain view of a :class:`~model.handwriting.CoachState`: one
button per class to say what the drawing was ("That's wrong, it was a 9") and **Right**
to confirm the answer, how the model reads the user's set next to its test accuracy,
Open folder / Export / Clear for the set, and **Teach it your handwriting** with its
epochs and the share of the training data the drawings make up. It only emits what was
clicked; :class:`gui.predict_panel.PredictPanel` turns a label click into a drawing, and
:class:`gui.handwriting_commands.HandwritingCommands` does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.predict_views import WARNING_COLOUR, set_text_colour
from model.config import EXTRA_SHARE_DEFAULT, EXTRA_SHARE_MAX
from model.handwriting import DEFAULT_EPOCHS, MAX_EPOCHS, CoachState, Score

_LABEL_COLUMNS: Final = 10


def score_text(state: CoachState) -> str:
    """"Your handwriting: 17 of 20 · MNIST test 99.1%", or what stands in for the score."""
    if state.count == 0:
        reading = "no drawings yet"
    elif state.score is None:
        reading = "reading…" if state.scoring else "no model to read it"
    else:
        reading = _score_words(state.score)
    test = f" · {state.test_name} {state.test_accuracy:.1%}" if state.test_accuracy is not None else ""
    live = " (live, while it trains)" if state.live and state.score is not None else ""
    return f"Your handwriting: {reading}{live}{test}"


def _score_words(score: Score) -> str:
    unknown = f" (+{score.unknown} of classes it lacks)" if score.unknown else ""
    return f"{score.describe()} read right{unknown}" if score.total else f"no drawings of its classes{unknown}"


def teaching_text(state: CoachState) -> str:
    """"Taught in run 4: 12 of 20 → 19 of 20 · MNIST test 99.1% → 99.0%", or ""."""
    report = state.teaching
    if report is None:
        return ""
    before = report.before.describe() if report.before is not None else "…"
    after = report.after.describe() if report.after is not None else "training…"
    tests = ""
    if report.before_test is not None:
        after_test = f"{report.after_test:.1%}" if report.after_test is not None else "…"
        tests = f" · {report.test_name} {report.before_test:.1%} → {after_test}"
    return f"Taught in run {report.run_id}: {before} → {after}{tests}"


def _sentence(text: str) -> str:
    """``text`` ending with a full stop (a reason that ends in an ellipsis gets one instead)."""
    text = text.rstrip()
    if not text or text.endswith("."):
        return text
    return text.rstrip("…") + "."


class HandwritingBox(QWidget):
    """See the module docstring.

    Signals:
        labelClicked: The class index the user says the drawing shows.
        rightClicked: The user confirms the answer shown.
        openClicked, exportClicked, clearClicked: For the set.
        teachClicked: The share of the training part for the drawings, and the epochs.
    """

    labelClicked = Signal(int)
    rightClicked = Signal()
    openClicked = Signal()
    exportClicked = Signal()
    clearClicked = Signal()
    teachClicked = Signal(float, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_buttons: list[QToolButton] = []
        self._labels = QGridLayout()
        self._labels.setContentsMargins(0, 0, 0, 0)
        self._labels.setHorizontalSpacing(2)
        self._labels.setVerticalSpacing(2)
        self.right_button = QPushButton("Right")
        self.right_button.setToolTip("The answer is right: save the drawing with it, so your set holds right answers too.")
        self.right_button.clicked.connect(self.rightClicked)
        self.score_label = QLabel()
        self.score_label.setWordWrap(True)
        self.score_label.setToolTip(
            "How many of your labelled drawings the model reads right, next to its accuracy on its test set."
        )
        self.teaching_label = QLabel()
        self.teaching_label.setWordWrap(True)
        self.teaching_label.setToolTip(
            "Your drawings read right before and after Teach it (the new run has learnt from them), and the test accuracy."
        )
        self.teaching_label.hide()
        self.count_label = QLabel()
        self.count_label.setToolTip("How many drawings your handwriting set holds.")
        self.open_button = QPushButton("Open folder")
        self.open_button.setToolTip("Shows the folder of your drawings (one sub-folder per class).")
        self.open_button.clicked.connect(self.openClicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Copies your drawings to a folder you choose.")
        self.export_button.clicked.connect(self.exportClicked)
        self.clear_button = QPushButton("Clear…")
        self.clear_button.setToolTip("Deletes your drawings, after asking.")
        self.clear_button.clicked.connect(self.clearClicked)
        self.teach_button = QPushButton("Teach it your handwriting")
        self.teach_button.setToolTip(
            "Goes on training this model on its data mixed with your drawings, as a new run you can save."
        )
        self.teach_button.clicked.connect(self._on_teach_clicked)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, MAX_EPOCHS)
        self.epochs.setValue(DEFAULT_EPOCHS)
        self.epochs.setSuffix(" epochs")
        self.epochs.setToolTip("How many more epochs Teach it trains.")
        self.share = QDoubleSpinBox()
        self.share.setRange(1.0, EXTRA_SHARE_MAX * 100)
        self.share.setDecimals(0)
        self.share.setSingleStep(5.0)
        self.share.setValue(EXTRA_SHARE_DEFAULT * 100)
        self.share.setSuffix("% yours")
        self.share.setToolTip("The share of each training epoch made of your drawings (repeated to reach it).")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setToolTip("What the last action did.")
        self.message_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        label_row = QHBoxLayout()
        caption = QLabel("It was a")
        caption.setToolTip("Press the class the drawing shows, to save it in your handwriting set.")
        label_row.addWidget(caption)
        label_row.addLayout(self._labels, 1)
        label_row.addWidget(self.right_button)
        set_row = QHBoxLayout()
        set_row.addWidget(self.count_label, 1)
        set_row.addWidget(self.open_button)
        set_row.addWidget(self.export_button)
        set_row.addWidget(self.clear_button)
        teach_row = QHBoxLayout()
        teach_row.addWidget(self.teach_button, 1)
        teach_row.addWidget(self.epochs)
        teach_row.addWidget(self.share)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(label_row)
        layout.addWidget(self.score_label)
        layout.addWidget(self.teaching_label)
        layout.addLayout(set_row)
        layout.addLayout(teach_row)
        layout.addWidget(self.message_label)
        self.set_class_names([str(k) for k in range(10)])
        self.show_state(CoachState())
        self.set_labelling(False, None)

    def set_class_names(self, names: Sequence[str]) -> None:
        """One label button per class; long names show their number (the name is in the tooltip)."""
        if [b.toolTip() for b in self.label_buttons] == [self._tip(name) for name in names]:
            return
        for button in self.label_buttons:
            self._labels.removeWidget(button)
            button.deleteLater()
        self.label_buttons = []
        for index, name in enumerate(names):
            button = QToolButton()
            button.setText(name if len(name) <= 2 else str(index))
            button.setToolTip(self._tip(name))
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(22)
            button.clicked.connect(lambda _checked=False, k=index: self.labelClicked.emit(k))
            self._labels.addWidget(button, index // _LABEL_COLUMNS, index % _LABEL_COLUMNS)
            self.label_buttons.append(button)

    @staticmethod
    def _tip(name: str) -> str:
        return f"It was a {name}: save the drawing as a {name} in your handwriting set."

    def set_labelling(self, enabled: bool, answer: str | None) -> None:
        """Whether there is a drawing to label, and the answer shown for it (for Right)."""
        for button in self.label_buttons:
            button.setEnabled(enabled)
        self.right_button.setEnabled(enabled and answer is not None)
        self.right_button.setText(f"Right ({answer})" if enabled and answer is not None and len(answer) <= 2 else "Right")

    def show_state(self, state: CoachState) -> None:
        """Show what the coach says: the score, the set, Teach it, the last message."""
        self.score_label.setText(score_text(state))
        teaching = teaching_text(state)
        self.teaching_label.setText(teaching)
        self.teaching_label.setVisible(bool(teaching))
        self.count_label.setText(f"{state.count} drawing{'s' if state.count != 1 else ''}")
        for button in (self.export_button, self.clear_button):
            button.setEnabled(state.count > 0)
        self.teach_button.setEnabled(not state.teach_reason)
        self.teach_button.setToolTip(
            _sentence(state.teach_reason)
            or "Goes on training this model on its data mixed with your drawings, as a new run you can save."
        )
        self.message_label.setText(state.message)
        set_text_colour(self.message_label, WARNING_COLOUR if state.error else None)
        self.message_label.setForegroundRole(
            QPalette.ColorRole.WindowText if state.error else QPalette.ColorRole.PlaceholderText
        )
        self.message_label.setVisible(bool(state.message))

    def _on_teach_clicked(self) -> None:
        self.teachClicked.emit(self.share.value() / 100.0, self.epochs.value())
