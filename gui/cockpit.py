"""The window's half of the cockpit tools: their menu handlers, dialogs and the confusion timeline.

:class:`CockpitCommands` is to the cockpit what :class:`gui.file_commands.FileCommands` is
to the File menu: :mod:`gui.actions` names its ``on_<action>`` handlers (Step, Find
Learning Rate, Preview Initialization, Replay, File → Export → TensorBoard), it opens the
tools' non-modal dialogs (:mod:`gui.lr_finder_dialog`, :mod:`gui.init_preview_dialog`,
:mod:`gui.replay_dialog`, each built on first use) and connects their requests to the
session; and it is the session's :class:`~model.session.CockpitView`, passing what the
session shows on to the right dialog. It also owns the Results tab's confusion timeline
(:mod:`gui.confusion_timeline`), fed by the window's run and history methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QDialog, QWidget

from gui import dialogs
from model.events import BatchRecord, EpochRecord, RunStarted
from model.session import RunSession

if TYPE_CHECKING:
    import numpy as np

    from gui.confusion_timeline import ConfusionTimeline
    from gui.confusion_view import ConfusionView
    from gui.init_preview_dialog import InitPreviewDialog
    from gui.lr_finder_dialog import LrFinderDialog
    from gui.replay_dialog import ReplayDialog
    from model.evaluation import Evaluation
    from model.init_preview import InitPreview
    from model.lr_finder import RangePoint, RangeTestResult, RangeTestSpec
    from model.replay import ReplayOutcome


class CockpitCommands:
    """The cockpit's handlers and dialogs; the session's cockpit view.

    Args:
        window: the dialogs' parent; its ``settings_panel`` gives the learning rate a step uses.
        session: where the requests go (this object attaches itself as its cockpit view).
    """

    def __init__(self, window: Any, session: RunSession) -> None:
        self.window = window
        self.session = session
        self.lr_dialog: LrFinderDialog | None = None
        self.init_dialog: InitPreviewDialog | None = None
        self.replay_dialog: ReplayDialog | None = None
        self.timeline: ConfusionTimeline | None = None
        self._history: list[EpochRecord] = []
        self._test: tuple[Any, Any] = (None, None)
        self._class_names: tuple[str, ...] = ()
        session.attach_cockpit(self)

    # ================================================================== menu handlers

    def on_step(self) -> None:
        self.session.step(self.window.settings_panel.learning_rate())

    def on_lr_find(self) -> None:
        if self.lr_dialog is None:
            from gui.lr_finder_dialog import LrFinderDialog

            self.lr_dialog = LrFinderDialog(self.window)
            self.lr_dialog.runRequested.connect(self._on_lr_run_requested)
            self.lr_dialog.stopRequested.connect(self.session.stop_tool)
            self.lr_dialog.rateChosen.connect(self._on_rate_chosen)
            self.lr_dialog.finished.connect(lambda _result: self.session.stop_tool())
        self._raise(self.lr_dialog)

    def on_init_preview(self) -> None:
        if self.init_dialog is None:
            from gui.init_preview_dialog import InitPreviewDialog

            self.init_dialog = InitPreviewDialog(self.window)
            self.init_dialog.refreshRequested.connect(self._start_preview)
            self.init_dialog.initializerChosen.connect(lambda name: self.session.apply_setting("initializer", name))
        self._raise(self.init_dialog)
        self._start_preview()

    def on_replay(self) -> None:
        if self.replay_dialog is None:
            from gui.replay_dialog import ReplayDialog

            self.replay_dialog = ReplayDialog(self.window)
            self.replay_dialog.replayRequested.connect(self.session.replay)
            self.replay_dialog.stopRequested.connect(self.session.stop_tool)
            self.replay_dialog.set_folder(self.session.default_replay_folder())
        elif not self.session.replay_running and (folder := self.session.default_replay_folder()) is not None:
            self.replay_dialog.set_folder(folder)
        self._raise(self.replay_dialog)

    def on_export_tensorboard(self) -> None:
        title = "Export to TensorBoard: a new or empty folder for the logs (train/ and validation/)"
        if folder := dialogs.choose_folder(self.window, title, self.session.last_folder()):
            self.session.remember_folder(folder.parent)
            self.session.export_tensorboard_to(folder)

    @staticmethod
    def _raise(dialog: QDialog) -> None:
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _on_lr_run_requested(self, spec: RangeTestSpec) -> None:
        assert self.lr_dialog is not None
        reason = self.session.tool_reason()
        if reason:
            self.lr_dialog.show_status(reason, error=True)
            return
        self.lr_dialog.begin()
        self.session.find_learning_rate(spec)

    def _on_rate_chosen(self, rate: float) -> None:
        if not self.session.apply_setting("optimizer.learning_rate", float(f"{rate:.3g}")) and self.lr_dialog is not None:
            self.lr_dialog.show_status("The rate was not set: a run is in progress.", error=True)

    def _start_preview(self) -> None:
        assert self.init_dialog is not None
        self.init_dialog.set_busy("Computing one forward and backward pass per initializer…")
        self.session.preview_initializers()

    # ================================================================== CockpitView

    def show_lr_point(self, point: RangePoint) -> None:
        if self.lr_dialog is not None:
            self.lr_dialog.add_point(point)

    def show_lr_result(self, result: RangeTestResult | None, message: str) -> None:
        if self.lr_dialog is not None:
            self.lr_dialog.show_result(result, message)

    def show_init_preview(self, preview: InitPreview | None, message: str) -> None:
        if self.init_dialog is not None:
            self.init_dialog.show_preview(preview, message)

    def show_replay_saved(self, folder: Path, history: list[EpochRecord]) -> None:
        if self.replay_dialog is not None:
            self.replay_dialog.show_saved(folder, history)

    def show_replay_record(self, record: RunStarted | BatchRecord | EpochRecord) -> None:
        if self.replay_dialog is not None:
            self.replay_dialog.add_record(record)

    def show_replay_outcome(self, outcome: ReplayOutcome | None, message: str) -> None:
        if self.replay_dialog is not None:
            self.replay_dialog.show_outcome(outcome, message)

    # ================================================================== the confusion timeline

    def results_column(self, confusion: ConfusionView) -> QWidget:
        """The confusion view with the epoch slider above it and the per-class plot below."""
        from gui.confusion_timeline import ConfusionTimeline

        self.timeline = ConfusionTimeline(confusion)
        if self._class_names:
            self.timeline.set_class_names(self._class_names)
        self.timeline.show_history(self._history)
        self.timeline.set_test(*self._test)
        return self.timeline

    def run_started(self, prior: list[EpochRecord]) -> None:
        self._history, self._test = list(prior), (None, None)
        if self.timeline is not None:
            self.timeline.start(prior)

    def add_epoch(self, record: EpochRecord) -> None:
        self._history.append(record)
        if self.timeline is not None:
            self.timeline.add_epoch(record)

    def show_history(self, records: list[EpochRecord]) -> None:
        self._history = list(records)
        if self.timeline is not None:
            self.timeline.show_history(records)

    def set_class_names(self, names: tuple[str, ...]) -> None:
        self._class_names = names
        if self.timeline is not None:
            self.timeline.set_class_names(names)

    def set_test(self, evaluation: Evaluation | None, images: np.ndarray | None) -> None:
        self._test = (evaluation, images)
        if self.timeline is not None:
            self.timeline.set_test(evaluation, images)
