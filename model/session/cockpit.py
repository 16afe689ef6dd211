"""The cockpit tools of a session: the range test, the initialization preview, replay, export.

:class:`CockpitTools` is the part of the session behind the window's Run menu tools and
File → Export → TensorBoard. Each tool's work happens off the session's thread, like the
rest of the session's background work:

- the learning-rate range test and the initialization preview build models of their own
  (never the model in memory) on the session's ``cockpit`` worker (a
  :class:`~model.tasks.SerialExecutor`); the range test's points come home one by one
  through ``dispatch`` so the curve draws as it grows, and
  :meth:`~CockpitTools.stop_tool` stops it after its current batch;
- a replay runs in a fresh process (:class:`~model.replay.ReplayProcess`: op determinism
  must be on before TensorFlow's first op), whose records come home the same way;
- the TensorBoard export runs on the ``cockpit`` worker too (it imports TensorFlow).

What the tools show goes to a :class:`CockpitView`, attached with
:meth:`~CockpitTools.attach_cockpit` (the window's :class:`gui.cockpit.CockpitCommands`), so
the :class:`~model.session.view.SessionView` protocol stays as it was. Choosing a rate on
the curve or an initializer in the preview goes through :meth:`~CockpitTools.apply_setting`:
the configuration changes by its path, as an edit (marked unsaved), and the panels show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from model.events import BatchRecord, EpochRecord, RunControl, RunStarted
from model.tasks import Failure, SerialExecutor, deliver

from .base import SessionBase

if TYPE_CHECKING:
    from model.config import RunConfig
    from model.init_preview import InitPreview
    from model.lr_finder import RangePoint, RangeTestResult, RangeTestSpec
    from model.replay import ReplayMessage, ReplayOutcome, ReplayProcess

log = logging.getLogger(__name__)

REPLAY_JOIN_S = 10.0
"""How long closing waits for a stopped replay process."""


class CockpitView(Protocol):
    """What renders the cockpit tools (the window's dialogs; a mock in tests)."""

    def show_lr_point(self, point: RangePoint) -> None:
        """One more batch of the range test running now."""

    def show_lr_result(self, result: RangeTestResult | None, message: str) -> None:
        """The range test ended: its curve, or ``None`` and why not."""

    def show_init_preview(self, preview: InitPreview | None, message: str) -> None:
        """The preview, or ``None`` and why not."""

    def show_replay_saved(self, folder: Path, history: list[EpochRecord]) -> None:
        """A replay of ``folder`` began: the saved epochs to draw the replay over."""

    def show_replay_record(self, record: RunStarted | BatchRecord | EpochRecord) -> None:
        """A record of the replay running now."""

    def show_replay_outcome(self, outcome: ReplayOutcome | None, message: str) -> None:
        """The replay ended: the comparison, or ``None`` and why not."""


class CockpitTools(SessionBase):
    """The range test, the initialization preview, replay and TensorBoard export."""

    cockpit_view: CockpitView | None = None
    _cockpit_worker: SerialExecutor | None = None
    _lr_control: RunControl | None = None
    _preview_busy: bool = False
    _replay: ReplayProcess | None = None

    def attach_cockpit(self, view: CockpitView) -> None:
        self.cockpit_view = view

    @property
    def _worker(self) -> SerialExecutor:
        if self._cockpit_worker is None:
            self._cockpit_worker = SerialExecutor("cockpit")
        return self._cockpit_worker

    def tool_reason(self) -> str:
        """Why the range test and the preview cannot start now ("" when they can)."""
        state = self.action_state()
        if state.running:
            return "A run is in progress; the tools train models of their own, so wait for it or stop it."
        if not state.can_train:
            return state.train_reason
        return ""

    @property
    def lr_running(self) -> bool:
        return self._lr_control is not None

    @property
    def replay_running(self) -> bool:
        return self._replay is not None

    # ================================================================== the range test

    def find_learning_rate(self, spec: RangeTestSpec | None = None) -> bool:
        """Start a range test of the current configuration; whether it started."""
        view = self.cockpit_view
        reason = self.tool_reason() or ("A range test is running already." if self.lr_running else "")
        config = self.document.current
        if view is None or reason or config is None or self._closed:
            if view is not None:
                view.show_lr_result(None, reason or "The settings are not valid.")
            return False
        control = self._lr_control = RunControl()
        dispatch = self.dispatch

        def on_point(point: RangePoint) -> None:
            dispatch(lambda: self._on_lr_point(control, point))

        def ended(result: RangeTestResult) -> None:
            if self._lr_control is control:
                self._lr_control = None
                view.show_lr_result(result, result.summary())

        def failed(failure: Failure) -> None:
            if self._lr_control is control:
                self._lr_control = None
                view.show_lr_result(None, failure.message)

        deliver(self._worker.submit(_range_test, config, spec, control, on_point), dispatch, ended, failed, "The range test")
        return True

    def _on_lr_point(self, control: RunControl, point: RangePoint) -> None:
        if self._lr_control is control and self.cockpit_view is not None:
            self.cockpit_view.show_lr_point(point)

    def stop_tool(self) -> None:
        """Stop the range test after its current batch, and a replay now."""
        if self._lr_control is not None:
            self._lr_control.stop()
        if self._replay is not None:
            self._replay.stop()

    # ================================================================== the initialization preview

    def preview_initializers(self) -> bool:
        """Start the initialization preview of the current stack; whether it started."""
        view = self.cockpit_view
        reason = self.tool_reason() or ("The preview is being computed already." if self._preview_busy else "")
        config = self.document.current
        if view is None or reason or config is None or self._closed:
            if view is not None:
                view.show_init_preview(None, reason or "The settings are not valid.")
            return False
        self._preview_busy = True

        def shown(preview: InitPreview) -> None:
            self._preview_busy = False
            view.show_init_preview(preview, preview.summary())

        def failed(failure: Failure) -> None:
            self._preview_busy = False
            view.show_init_preview(None, failure.message)

        deliver(self._worker.submit(_preview, config), self.dispatch, shown, failed, "The initialization preview")
        return True

    # ================================================================== settings chosen in a tool

    def apply_setting(self, path: str, value: object) -> bool:
        """Set one setting by its path (a rate from the curve, an initializer): an unsaved edit."""
        from model.configpath import with_value
        from model.errors import ProjectError

        if self.runs:
            self.view.warn("Cannot change the settings", "A run is in progress; change them once it has ended.")
            return False
        try:
            config = with_value(self.config, path, value)
        except ProjectError as exc:
            self.view.warn("Cannot change the settings", str(exc))
            return False
        self.view.show_config(config)
        self.edit(config)  # type: ignore[attr-defined] # FileWorkflows.edit, the same session
        self.view.show_status(f"{path} set to {value}")
        return True

    # ================================================================== replay

    def default_replay_folder(self) -> Path | None:
        """The run folder the model in memory came from, else the run folder last saved or opened.

        A run trained here and then saved keeps its in-memory record (``memory.result``), not
        a folder, so the recent files (where saving and opening put a run folder first) say
        where it went.
        """
        from model import runfolder

        saved = self.memory.saved if self.memory is not None else None
        if saved is not None and saved.folder != Path():
            return saved.folder
        return next((Path(p) for p in self.recent_files() if runfolder.is_run_folder(Path(p))), None)

    def replay(self, folder: str | Path) -> bool:
        """Replay a run folder in a fresh process with op determinism on; whether it started."""
        from model import runfolder
        from model.errors import ProjectError
        from model.replay import ReplayProcess

        view = self.cockpit_view
        folder = Path(folder)
        if view is None or self._closed:
            return False
        if self._replay is not None:
            view.show_replay_outcome(None, "A replay is running already; stop it first.")
            return False
        if not runfolder.is_run_folder(folder):
            view.show_replay_outcome(None, f"{folder} is not a run folder (it needs model.keras and config.json).")
            return False
        try:
            history, _ = runfolder.load_history(folder)
        except ProjectError as exc:
            view.show_replay_outcome(None, str(exc))
            return False
        view.show_replay_saved(folder, history)
        dispatch = self.dispatch
        box: list[ReplayProcess] = []

        def on_message(message: ReplayMessage) -> None:
            dispatch(lambda: self._on_replay_message(box[0], message))

        box.append(ReplayProcess(folder, on_message))
        self._replay = box[0]
        return True

    def _on_replay_message(self, process: ReplayProcess, message: ReplayMessage) -> None:
        from model.errors import ProjectError
        from model.replay import ReplayOutcome

        view = self.cockpit_view
        if process is not self._replay or view is None:
            return
        if isinstance(message, (ReplayOutcome, ProjectError)):
            self._replay = None
            if isinstance(message, ReplayOutcome):
                view.show_replay_outcome(message, message.describe())
            else:
                view.show_replay_outcome(None, str(message))
            return
        view.show_replay_record(message)

    # ================================================================== TensorBoard

    def export_tensorboard_to(self, folder: str | Path) -> None:
        """Write the history shown (a run folder's, with its batches when saved) as TensorBoard events."""
        folder = Path(folder)
        memory = self.memory
        saved = memory.saved if memory is not None and self.shown_run is None else None
        records, names, _ = self.history()  # type: ignore[attr-defined] # FileWorkflows.history
        if not records:
            self.view.warn("Nothing to export", "There is no epoch history yet.")
            return
        classes = memory.evaluation.class_names if memory is not None and memory.evaluation is not None else ()

        def done(description: str) -> None:
            self.view.show_status(description, 10000)

        job = (
            (_export_folder, saved.folder, folder)
            if saved is not None and saved.folder != Path()
            else (_export_records, list(records), tuple(names), tuple(classes), folder)
        )
        deliver(self._worker.submit(*job), self.dispatch, done,
                lambda f: self.view.warn("Cannot export to TensorBoard", f.message), "The TensorBoard export")  # fmt: skip

    # ================================================================== closing

    def shutdown_cockpit(self) -> None:
        """Stop every tool and wait for it (the session is closing)."""
        if self._lr_control is not None:
            self._lr_control.stop()
        replay, self._replay = self._replay, None
        if replay is not None:
            replay.stop()
            replay.join(REPLAY_JOIN_S)
        if self._cockpit_worker is not None:
            self._cockpit_worker.shutdown(wait=True)


# ---------------------------------------------------------------------- on the cockpit worker


def _range_test(
    config: RunConfig, spec: RangeTestSpec | None, control: RunControl, on_point: Callable[[RangePoint], None]
) -> RangeTestResult:
    from model.data import prepare
    from model.lr_finder import run_range_test

    return run_range_test(config, prepare(config).split, spec, control=control, on_point=on_point)


def _preview(config: RunConfig) -> InitPreview:
    from model.init_preview import preview_for_config

    return preview_for_config(config)


def _export_folder(run_folder: Path, folder: Path) -> str:
    from model.tb_export import export_run_folder

    return export_run_folder(run_folder, folder).describe()


def _export_records(records: list[EpochRecord], names: tuple[str, ...], classes: tuple[str, ...], folder: Path) -> str:
    from model.tb_export import write_history

    return write_history(folder, records, names, class_names=classes).describe()
