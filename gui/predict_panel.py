"""The "Draw" tab: draw a digit (or drop a picture of one) and watch a network read it.

:class:`PredictPanel` is a thin view around a :class:`~gui.canvas.DrawingCanvas`. Each
time the drawing changes it runs the pure-numpy preprocessing in the GUI thread, from the
canvas's strokes (:func:`model.ink.preprocess_strokes`: the same digit at any size, place
and pen width gives the same input) or, for a picture file, from its pixels
(:func:`model.preprocess.preprocess_drawing`), and hands the 28x28 result
to a :class:`~model.inference.Predictor`, which answers with a future: at once for an idle
model (:class:`~model.inference.DirectPredictor`), or from a run's training thread between
batches (:class:`~model.inference.MailboxPredictor`). It then shows the predicted class,
a bar chart of all class probabilities, the image the network was actually given, every
preprocessing stage on request, and how the answer holds up when the digit is shifted,
rotated, thinned or thickened. :func:`model.verdict.judge` decides whether the answer is
one: a scribble, or a network that is unsure, gets no confident answer, and the panel says
so. With averaging on (the default), every reading is the mean over a few jittered copies
of the input (:class:`model.verdict.AveragingPredictor`). With "Show where it looked" on,
the main request goes to the predictor's ``explain`` instead (:mod:`model.explain`: the
same probabilities, a saliency map laid over the input and the first feature maps, from
one call; averaged probabilities, and the map of the drawing as drawn, when averaging).

With a labeller (:meth:`PredictPanel.set_labeller`, the window's
:class:`gui.handwriting_commands.HandwritingCommands`), "It was a …" saves the drawing on
display (its 28x28 input, its strokes or picture) to the user's handwriting set, and
:attr:`PredictPanel.handwriting` shows how the model reads that set.

Predictions are asked for while drawing (debounced) and at once when a stroke ends. Every
request is numbered and stale replies are dropped; :mod:`gui.predict_requests` keeps that
bookkeeping and carries replies into the GUI thread, so no widget is ever touched from
outside it. The result views (bars, thumbnails, stages, robustness) are in
:mod:`gui.predict_views`, and :func:`~gui.pixmaps.gray_pixmap` draws the images; the names
that moved there are still importable from here.

Run ``python -m gui.predict_panel [MODEL.keras]`` for a look on its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QWidget,
)

from gui.pixmaps import gray_pixmap
from gui.predict_controls import IMAGE_FILTER, IMAGE_SUFFIXES, DrawingColumn, dropped_image_path
from gui.predict_requests import (
    MAIN,
    ROBUSTNESS,
    Reply,
    ReplyBridge,
    RequestLedger,
    explanation_of,
    reply_outcome,
    submit,
)
from gui.predict_views import (
    WARNING_COLOUR,
    ResultsColumn,
    robustness_verdict,
)
from model.errors import ProjectError
from model.explain import Explanation
from model.handwriting import Drawing, Stroke
from model.inference import Predictor, can_explain
from model.ink import preprocess_strokes
from model.preprocess import (
    Preprocessed,
    load_image_file,
    preprocess_drawing,
    robustness_variants,
    to_network_input,
)
from model.verdict import AVERAGING_DEFAULT, AveragingPredictor, judge

__all__ = [
    "DEBOUNCE_MS",
    "EMPTY_MESSAGE",
    "IMAGE_FILTER",
    "IMAGE_SUFFIXES",
    "NO_MODEL_MESSAGE",
    "WARNING_COLOUR",
    "PredictPanel",
    "ShownPrediction",
    "gray_pixmap",
    "main",
    "robustness_verdict",
]

DEBOUNCE_MS: Final = 40
"""How long the drawing must rest before a prediction is asked for mid-stroke: short
enough to feel live, long enough not to queue a request for every mouse move."""

REREAD_QUIET_S: Final = 0.5
"""A live model's newer weights re-read the drawing only this long after the last reading."""
EMPTY_MESSAGE: Final = "Draw a digit"
NO_MODEL_MESSAGE: Final = "Train a model or open one to see predictions"

Labeller = Callable[[Drawing, int], bool]
"""Saves a drawing as an example of a class (by index); whether it did."""


@dataclass(frozen=True, eq=False)
class ShownPrediction:
    """A prediction the panel has just displayed (what :attr:`PredictPanel.predictionShown` carries).

    Attributes:
        request_id: The number of the request it answers; later requests have larger ones.
        probabilities: One probability per class (float32, read-only).
        predicted_class: The index of the most probable class.
        image28: The 28x28 image the network was given (float32 in [0, 1], read-only).
        explanation: What the network looked at, when "Show where it looked" is on and the
            predictor can say (:mod:`model.explain`); else ``None``.
        confident: Whether the panel shows ``predicted_class`` as its answer; when not,
            it shows :attr:`note` instead (:func:`model.verdict.judge`).
        note: Why there is no confident answer, as shown; ``""`` when there is one.
    """

    request_id: int
    probabilities: NDArray[np.float32]
    predicted_class: int
    image28: NDArray[np.float32] = field(repr=False)
    explanation: Explanation | None = field(default=None, repr=False)
    confident: bool = True
    note: str = ""


class PredictPanel(QWidget):
    """The drawing tab: a canvas, its controls, and what the network makes of the drawing.

    Args:
        parent: The Qt parent.
        predictor: What answers predictions; ``None`` until a model exists.
        description: Where the model comes from, shown small above the canvas.

    Signals:
        predictionShown: A :class:`ShownPrediction`, each time a prediction is displayed.
        modelChanged: The predictor or the class names changed (the handwriting score is stale).
    """

    predictionShown = Signal(object)
    modelChanged = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        predictor: Predictor | None = None,
        description: str = "",
    ) -> None:
        super().__init__(parent)
        self._predictor: Predictor | None = None
        self._reader: Predictor | None = None  # the predictor, averaging when that is on
        self._averaging = AVERAGING_DEFAULT
        self._class_names: tuple[str, ...] = tuple(str(k) for k in range(10))
        self._ledger = RequestLedger()
        self._last_request_at = -float("inf")  # time.monotonic() of the last reading asked for
        self._shown: ShownPrediction | None = None
        self._shown_prep: Preprocessed | None = None
        self._file_image: NDArray[np.float32] | None = None
        self._file_name = ""
        self._bridge = ReplyBridge()
        self._labeller: Labeller | None = None

        self._build()
        self._connect()
        self.setAcceptDrops(True)
        self.set_predictor(predictor, description)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        # --- left: where the model comes from, the canvas and its controls
        self._drawing = DrawingColumn()
        self.canvas = self._drawing.canvas

        # --- right: the answer, the probabilities, the network's input, stages, robustness
        self._results = ResultsColumn(self.palette())
        self._answer, self._bars = self._results.answer, self._results.bars
        self._stages, self._robustness = self._results.stages, self._results.robustness
        self.stages_section = self._results.stages_section
        self.robustness_section = self._results.robustness_section
        self.explanation_section, self._explanation = self._results.explanation_section, self._results.explanation
        self.saliency_toggle = self._answer.saliency_toggle
        self.handwriting = self._drawing.handwriting

        layout = QHBoxLayout(self)
        layout.addWidget(self._drawing, 1)
        layout.addWidget(self._results, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._on_width_changed(self._drawing.width_slider.value())

    def _connect(self) -> None:
        self.canvas.drawingChanged.connect(self._on_drawing_changed)
        self.canvas.strokeFinished.connect(self._on_stroke_finished)
        self._debounce.timeout.connect(self._on_debounce_due)
        self._drawing.width_slider.valueChanged.connect(self._on_width_changed)
        self._drawing.clear_button.clicked.connect(self._on_clear_clicked)
        self._drawing.undo_button.clicked.connect(self._on_undo_clicked)
        self._drawing.open_button.clicked.connect(self._on_open_clicked)
        self._drawing.averaging_box.toggled.connect(self._on_averaging_toggled)
        self.stages_section.header.toggled.connect(self._on_stages_toggled)
        self.robustness_section.header.toggled.connect(self._on_robustness_toggled)
        self.saliency_toggle.toggled.connect(self._on_saliency_toggled)
        self.handwriting.labelClicked.connect(self._on_label_clicked)
        self.handwriting.rightClicked.connect(self._on_right_clicked)
        self._bridge.replied.connect(self._on_reply)

    # ------------------------------------------------------------------ public API

    def set_predictor(self, predictor: Predictor | None, description: str = "") -> None:
        """Use ``predictor`` for predictions from now on and re-read the current drawing.

        Replies still on their way from the previous predictor are dropped.

        Args:
            predictor: What answers predictions, or ``None`` when there is no model
                (drawing stays possible; the panel says how to get a model).
            description: Where the model comes from, e.g. "live model of run 3 (training)".
        """
        self._predictor = predictor
        self._reader = predictor if predictor is None or not self._averaging else AveragingPredictor(predictor)
        self._drawing.set_description(description)
        self._ledger.drop_outstanding()
        self.predict_now()
        self.modelChanged.emit()

    def set_description(self, description: str) -> None:
        """Say where the model comes from (e.g. a live model's batch), without asking it again."""
        self._drawing.set_description(description)

    def model_moved_on(self, description: str) -> None:
        """The model answering has moved on (a running model's newer weights): say so, and
        read the drawing again, so that the answer shown is the model's as described.

        Not while a stroke is being drawn (its own readings follow it), not within
        :data:`REREAD_QUIET_S` of the last reading (the user is drawing, and a stroke's
        answer must not queue behind a re-read: while a CNN trained, re-reading at every
        snapshot took the p95 from stroke to answer from 23 to 34 ms), and not while an
        answer is still on its way (the next snapshot, a quarter of a second later, asks
        again).
        """
        self.set_description(description)
        if self.canvas.stroke_in_progress() or self._ledger.pending:
            return
        if time.monotonic() - self._last_request_at < REREAD_QUIET_S:
            return
        if self._file_image is None and self.canvas.is_empty():
            return
        self._request(settled=True)

    def predictor(self) -> Predictor | None:
        """The predictor in use, or ``None``."""
        return self._predictor

    def set_averaging(self, on: bool) -> None:
        """Read every drawing as the mean over a few jittered copies (``True``) or as it is."""
        self._drawing.averaging_box.setChecked(on)  # its handler re-reads the drawing

    def averaging(self) -> bool:
        """Whether readings average over jittered copies of the input."""
        return self._averaging

    def description(self) -> str:
        """Where the model comes from, as shown above the canvas."""
        return self._drawing.description()

    def reading_file(self) -> str | None:
        """The name of the picture file being read instead of the canvas, if any."""
        return self._file_name if self._file_image is not None else None

    def set_class_names(self, names: Sequence[str]) -> None:
        """Name the classes on the bar chart and in the answer (default ``"0"`` to ``"9"``)."""
        self._class_names = tuple(str(name) for name in names)
        self._set_bar_ticks(len(self._class_names))
        self.handwriting.set_class_names(self._class_names)
        if self._shown is not None:
            self._show_answer(self._shown)
        self.modelChanged.emit()

    def set_labeller(self, labeller: Labeller | None) -> None:
        """Offer "It was a …" for the drawing: ``labeller(drawing, class_index)`` saves it and
        says whether it did (the canvas is then cleared for the next one); ``None`` hides it."""
        self._labeller = labeller
        self._drawing.handwriting_section.setVisible(labeller is not None)
        self._update_labelling()

    def class_names(self) -> tuple[str, ...]:
        return self._class_names

    def predict_now(self) -> None:
        """Read the current drawing (or opened picture) now, with the robustness check."""
        self._request(settled=True)

    def open_image(self, path: str | Path) -> bool:
        """Read a picture file of a digit instead of the canvas until the next stroke.

        Returns:
            Whether the file could be read; when not, the panel shows why.
        """
        try:
            image = load_image_file(path)
        except ProjectError as exc:
            self._ledger.drop_outstanding()  # no reply may cover it
            self._show_message(str(exc), error=True)
            return False
        self._file_image = image
        self._file_name = Path(path).name
        self._drawing.show_source(self._file_name)
        self.canvas.show_picture(gray_pixmap(image, self.canvas.canvas_size()))  # on the canvas too
        self.predict_now()
        return True

    def message(self) -> str:
        """The notice shown instead of a prediction ("Draw a digit", an error), or ``""``."""
        return self._answer.message()

    def answer_text(self) -> str:
        """The answer as displayed, e.g. ``"7 82.0%"``, or ``""`` while a notice is shown."""
        if self._shown is None:
            return ""
        return self._answer.answer_text()

    def bar_values(self) -> NDArray[np.float64]:
        """The heights of the probability bars as drawn (all zero while a notice is shown)."""
        return self._bars.heights()

    def shown_prediction(self) -> ShownPrediction | None:
        """The prediction on display, or ``None`` while a notice is shown."""
        return self._shown

    def last_request_id(self) -> int:
        """The number of the newest prediction request (a :class:`ShownPrediction` with
        this ``request_id`` answers the current drawing)."""
        return self._ledger.last_request

    def stage_captions(self) -> list[str]:
        """The names of the preprocessing stages shown (empty while they are folded away)."""
        if not self.stages_section.is_expanded():
            return []
        return self._stages.captions()

    def robustness_text(self) -> str:
        """The robustness verdict line as displayed."""
        return self._robustness.verdict_label.text()

    def robustness_captions(self) -> list[str]:
        """The caption under each robustness variant, as displayed."""
        return self._robustness.captions()

    # ------------------------------------------------------------------ requests

    def _preprocess(self) -> Preprocessed:
        """The picture file's pixels, or the canvas's strokes, as the network's input."""
        if self._file_image is not None:
            return preprocess_drawing(self._file_image)
        return preprocess_strokes(
            [points for _, points in self.canvas.strokes()],
            canvas_size=self.canvas.canvas_size(),
            drawn=self.canvas.to_array(),
        )

    def _request(self, *, settled: bool) -> None:
        """Preprocess the drawing and ask the predictor about it.

        Args:
            settled: The drawing has come to rest (a stroke ended, a file was opened), so
                the robustness variants are worth predicting too; mid-stroke requests
                skip them to stay fast.
        """
        self._debounce.stop()
        self._last_request_at = time.monotonic()
        request_id = self._ledger.new_request()
        prep = self._preprocess()
        predictor = self._reader
        if prep.empty or predictor is None:
            self._ledger.drop_before(request_id)
            self._show_input(prep)
            self._show_message((prep.notice or EMPTY_MESSAGE) if prep.empty else NO_MODEL_MESSAGE)
            return
        try:
            x = to_network_input(prep.image, predictor.input_shape)
        except ProjectError as exc:
            self._ledger.drop_before(request_id)
            self._show_input(prep)
            self._show_message(str(exc), error=True)
            return
        self._ledger.expect(request_id, prep)
        if settled:
            self._ledger.supersede(request_id)  # no waiting behind readings of the drawing half drawn
        self._ledger.track(request_id, submit(self._bridge, predictor, request_id, MAIN, x, explain=self._explaining()))
        if not self.robustness_section.is_expanded():
            return
        if settled:
            variants = robustness_variants(prep.image)
            self._ledger.expect_robustness(request_id, variants)
            images = [prep.image, *(image for _, image in variants)]
            batch = np.concatenate([to_network_input(image, predictor.input_shape) for image in images])
            self._ledger.track(request_id, submit(self._bridge, predictor, request_id, ROBUSTNESS, batch))
        elif self._ledger.robustness_floor < request_id:
            self._robustness.set_verdict("Checking again when the stroke ends…")

    # ------------------------------------------------------------------ replies

    def _on_reply(self, reply: Reply) -> None:
        if reply.cancelled():
            return  # superseded by a settled drawing's request before it started (supersede)
        if reply.kind == MAIN:
            self._on_main_reply(reply)
        else:
            self._on_robustness_reply(reply)

    def _on_main_reply(self, reply: Reply) -> None:
        prep = self._ledger.accept_main(reply.request_id)
        if prep is None:
            return  # an older drawing than the one on display
        outcome = reply_outcome(reply.future, 1)
        explanation = explanation_of(reply.future)
        self._show_input(prep, explanation)
        if isinstance(outcome, str):
            self._show_message(outcome, error=True)
            return
        verdict = judge(outcome[0], prep)
        shown = ShownPrediction(
            request_id=reply.request_id,
            probabilities=verdict.probabilities,
            predicted_class=verdict.predicted_class,
            image28=prep.image,
            explanation=explanation,
            confident=verdict.confident,
            note=verdict.note,
        )
        self._show_answer(shown)
        if explanation is not None:
            self._explanation.show_explanation(explanation, self._name)
        early = self._ledger.take_early_robustness(reply.request_id)
        if early is not None:
            self._on_robustness_reply(early)
        self.predictionShown.emit(shown)

    def _on_robustness_reply(self, reply: Reply) -> None:
        shown = None if self._shown is None else self._shown.request_id
        variants = self._ledger.accept_robustness(reply, shown)
        if variants is None:
            return
        outcome = reply_outcome(reply.future, 1 + len(variants))
        if isinstance(outcome, str):
            self._robustness.set_verdict(outcome)
            return
        self._robustness.show_answers(variants, outcome, self._name)

    # ------------------------------------------------------------------ display

    def _name(self, index: int) -> str:
        return self._class_names[index] if 0 <= index < len(self._class_names) else str(index)

    def _set_bar_ticks(self, count: int) -> None:
        self._bars.set_class_labels([self._name(k) for k in range(count)])

    def _show_answer(self, shown: ShownPrediction) -> None:
        probabilities = shown.probabilities
        self._shown = shown
        name, top = self._name(shown.predicted_class), float(probabilities[shown.predicted_class])
        if shown.confident:
            self._answer.show_answer(name, top)
        else:
            self._answer.show_unsure(shown.note, name, top)
        count = len(probabilities)
        if count != len(self._class_names):
            self._set_bar_ticks(count)
        self._bars.show_probabilities(probabilities, shown.predicted_class)
        self._update_labelling()

    def _show_message(self, text: str, *, error: bool = False) -> None:
        """Show a notice instead of a prediction, with empty bars (never stale ones)."""
        self._shown = None
        self._answer.show_message(text, error=error)
        self._bars.show_empty(len(self._class_names))
        self._robustness.clear()
        if self._explaining() or self.saliency_toggle.isChecked():
            self._explanation.show_notice(self._explanation_notice(text))
        self._update_labelling()

    def _show_input(self, prep: Preprocessed, explanation: Explanation | None = None) -> None:
        """Show the 28x28 image (and the stages, when unfolded) of the drawing being read,
        with what the network looked at laid over it when there is an explanation."""
        self._shown_prep = prep
        self._answer.show_input(prep.image, explanation.saliency_image() if explanation is not None else None)
        if self.stages_section.is_expanded():
            self._stages.show_stages(prep)

    def _explaining(self) -> bool:
        """Whether requests ask the predictor what it looked at."""
        return self.saliency_toggle.isChecked() and can_explain(self._predictor)

    def _explanation_notice(self, message: str) -> str:
        if self._predictor is not None and not can_explain(self._predictor):
            return "This model cannot show what it looked at."
        return message if message in (EMPTY_MESSAGE, NO_MODEL_MESSAGE) else "Nothing to explain."

    def _update_labelling(self) -> None:
        """Offer the label buttons while there is a drawing (Right while there is an answer)."""
        prep = self._shown_prep
        drawn = self._labeller is not None and prep is not None and not prep.empty
        shown = self._shown
        # "Right" confirms an answer; with no confident one there is only "It was a …".
        answer = self._name(shown.predicted_class) if shown is not None and shown.confident else None
        self.handwriting.set_labelling(drawn, answer)

    def _drawing_to_label(self) -> Drawing | None:
        """The drawing on display as a record for the handwriting set, or ``None``."""
        prep = self._shown_prep
        if prep is None or prep.empty:
            return None
        shown = self._shown
        strokes = () if self._file_image is not None else tuple(
            Stroke(width, points) for width, points in self.canvas.strokes()
        )
        return Drawing(
            image=prep.image,
            strokes=strokes,
            canvas_size=self.canvas.canvas_size() if strokes else 0,
            picture=self._file_image,
            answer=None if shown is None else (self._name(shown.predicted_class),
                                               float(shown.probabilities[shown.predicted_class])),
            model=self.description(),
        )  # fmt: skip

    # ------------------------------------------------------------------ handlers

    def _on_drawing_changed(self) -> None:
        if self._file_image is not None:
            self._file_image = None
            self._drawing.show_source(None)
        self._debounce.start()

    def _on_stroke_finished(self) -> None:
        self._request(settled=True)

    def _on_debounce_due(self) -> None:
        self._request(settled=False)

    def _on_width_changed(self, value: int) -> None:
        self.canvas.set_brush_width(value)
        self._drawing.show_width(self.canvas.brush_width())

    def _on_clear_clicked(self) -> None:
        self._file_image = None
        self.canvas.show_picture(None)
        self._drawing.show_source(None)
        self.canvas.clear()
        self._request(settled=True)

    def _on_undo_clicked(self) -> None:
        self.canvas.undo()
        self._request(settled=True)

    def _on_averaging_toggled(self, on: bool) -> None:
        if on != self._averaging:
            self._averaging = on
            self.set_predictor(self._predictor, self.description())

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a picture of a digit", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def _on_stages_toggled(self, expanded: bool) -> None:
        if expanded and self._shown_prep is not None:
            self._stages.show_stages(self._shown_prep)

    def _on_robustness_toggled(self, expanded: bool) -> None:
        if expanded:
            self._request(settled=True)

    def _on_saliency_toggled(self, checked: bool) -> None:
        self.explanation_section.setVisible(checked)
        if checked:
            self._explanation.show_notice("Reading…" if self._predictor is not None else NO_MODEL_MESSAGE)
        self._request(settled=True)

    def _on_label_clicked(self, index: int) -> None:
        drawing = self._drawing_to_label()
        if drawing is not None and self._labeller is not None and self._labeller(drawing, index):
            self._on_clear_clicked()  # ready for the next drawing

    def _on_right_clicked(self) -> None:
        if self._shown is not None and self._shown.confident:
            self._on_label_clicked(self._shown.predicted_class)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_image_path(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_image_path(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_image(path)


# ---------------------------------------------------------------------- manual look


def main(argv: Sequence[str] | None = None) -> int:
    """Show the panel on its own, reading with a saved model when one is given."""
    parser = argparse.ArgumentParser(prog="python -m gui.predict_panel", description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a .keras model file (or a run folder holding model.keras)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    panel = PredictPanel()
    panel.setWindowTitle("Gradient Lab - draw a digit")
    if args.model:
        from model.inference import DirectPredictor, check_digit_model
        from model.modelio import load_model_safe

        try:
            model = load_model_safe(args.model)
            check_digit_model(model)
        except ProjectError as exc:
            panel.set_predictor(None, f"Could not open {args.model}: {exc}")
        else:
            panel.set_predictor(DirectPredictor(model), f"model from {args.model}")
    panel.resize(980, 640)
    panel.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
