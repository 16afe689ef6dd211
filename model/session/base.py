"""The session's state and the small helpers every part of it uses.

:class:`SessionBase` holds what a :class:`~model.session.RunSession` knows (the document,
the runs, the model in memory, the workers) and answers questions about it
(:meth:`~SessionBase.action_state`). The behaviour lives in two parts built on it, one
concern each: :class:`~model.session.workflows.FileWorkflows` (the document and the files:
open, save, recover, export) and :class:`~model.session.lifecycle.RunLifecycle` (runs:
start, pause, stop, and the records they send); :class:`~model.session.RunSession` puts
them together. Everything here is called in the session's own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from model.config import DataSpec, RunConfig, SplitSpec
from model.errors import ProjectError, one_line
from model.events import EndReason, RunFinished
from model.fileio import write_text_atomic
from model.runner import ManagedRunner, Runner
from model.tasks import Dispatch, Failure, LatestTask, SerialExecutor

from .document import (
    LAST_FOLDER_KEY,
    RECENT_KEY,
    Document,
    SettingsStore,
    recent_from_setting,
    restore_config,
    updated_recent,
)
from .memory import ModelInMemory
from .runs import ActiveRun
from .view import ActionState, SessionView

if TYPE_CHECKING:
    from model.data import DataSummary, TestImages
    from model.inference import Predictor

log = logging.getLogger(__name__)
T = TypeVar("T")


def done(value: bool) -> Future[bool]:
    """A future that has its answer already."""
    future: Future[bool] = Future()
    future.set_result(value)
    return future


class SessionBase:
    """The state of a run session; see the module docstring.

    Args:
        view: what renders the session.
        runner: where runs train (:class:`~model.runner.ThreadRunner` in the app).
        dispatch: runs a callable soon in the session's thread, from any thread.
        store: where the configuration and recent files persist.
        autosave_dir: where every run autosaves itself while it trains.
    """

    def __init__(
        self,
        view: SessionView,
        *,
        runner: Runner,
        dispatch: Dispatch,
        store: SettingsStore,
        autosave_dir: Path,
    ) -> None:
        self.view = view
        self.runner = runner
        self.dispatch = dispatch
        self.store = store
        self.autosave_dir = autosave_dir
        self.document = Document(restore_config(store))
        # Every Keras object outside a run belongs to this one worker thread (a runner with
        # Keras work of its own in this process brings the executor it does it on).
        self.keras = runner.keras if isinstance(runner, ManagedRunner) else SerialExecutor("keras")
        self.background = SerialExecutor("session-data")
        self.runs: dict[int, ActiveRun] = {}
        self.shown: int | None = None  # the run whose records the view shows
        self.memory: ModelInMemory | None = None
        self._next_id = 1
        self._pending: RunConfig | None = None  # starts once the shown run has exited
        self._backend = "loading"  # loading | ready | failed
        self._backend_message = "Loading TensorFlow…"
        self._stack_problem = ""
        self._busy_reason = ""  # an open or resume on its way
        self._recovery_offered = False
        self._closing = False
        self._closed = False
        self._counted: tuple[DataSpec, SplitSpec, int] | None = None
        self._counts: LatestTask[DataSummary] = LatestTask(
            self.background, dispatch, self._on_counts, self._on_counts_failed, "counting the dataset"
        )
        self._images: LatestTask[tuple[ModelInMemory, TestImages | None]] = LatestTask(
            self.background, dispatch, self._on_test_images, None, "loading test images"
        )

    # ================================================================== state

    @property
    def config(self) -> RunConfig:
        """The configuration to run: the panels' one, or the last valid one."""
        return self.document.best_config()

    @property
    def shown_run(self) -> ActiveRun | None:
        return self.runs.get(self.shown) if self.shown is not None else None

    @property
    def running(self) -> bool:
        return bool(self.runs)

    @property
    def current_run_id(self) -> int:
        """The id of the newest run started (0 before any)."""
        return self._next_id - 1

    def action_state(self) -> ActionState:
        run = self.shown_run
        reason = ""
        if self._backend != "ready":
            reason = self._backend_message
        elif self._stack_problem:
            reason = f"Fix the layer stack first: {self._stack_problem}"
        elif self.document.error:
            reason = f"Fix the settings first: {self.document.error}"
        elif self._pending is not None:
            reason = "Starting a new run once the current one has stopped…"
        elif self._busy_reason:
            reason = self._busy_reason
        running = bool(self.runs)
        resumable = self.memory.resumable() if self.memory is not None else None
        resume_reason = self._resume_problem(self.document.current) if resumable is not None else ""
        return ActionState(
            train_reason=reason,
            running=running,
            paused=run is not None and run.control.paused,
            stopping=run is not None and run.control.stop_requested,
            can_resume=not reason and not running and resumable is not None and not resume_reason,
            can_save_model=not running and self.memory is not None and self.memory.savable,
            resume_reason=resume_reason,
        )

    def _resume_problem(self, config: RunConfig | None) -> str:
        """Why the model in memory cannot continue with ``config`` ("" when it can).

        Resuming builds ``config``'s stack and loads the model's weights into it: any other
        stack fails, after loading the data. Refused here at once, saying why.
        """
        memory = self.memory
        trained = memory.config if memory is not None else None
        if config is None or trained is None or config.layers == trained.layers:
            return ""
        return (
            "Resume Training continues the model in memory, but the layer stack changed since it "
            "was trained. Undo the stack edits (Ctrl+Z) to resume it, or Train a new model."
        )

    def recent_files(self) -> list[str]:
        return recent_from_setting(self.store.value(RECENT_KEY))

    def last_folder(self) -> str:
        if self.document.path is not None:
            return str(self.document.path.parent)
        value = self.store.value(LAST_FOLDER_KEY)
        return str(value) if isinstance(value, str) else ""

    def remember_folder(self, path: Path) -> None:
        self.store.setValue(LAST_FOLDER_KEY, str(path))

    # ================================================================== helpers (for the parts)

    def _refresh(self) -> None:
        self._refresh_document()
        self._update_actions()
        self.refresh_counts()

    def _refresh_document(self) -> None:
        self.view.show_document(self.document.title, self.document.modified)

    def _update_actions(self) -> None:
        if not self._closed:
            self.view.show_actions(self.action_state())

    def _begin_busy(self, reason: str) -> None:
        self._busy_reason = reason
        self._update_actions()

    def _end_busy(self) -> None:
        self._busy_reason = ""
        self._update_actions()

    def _can_open(self, title: str) -> bool:
        if self.runs:
            self.view.warn(title, "A run is in progress; stop it first.")
            return False
        if self._busy_reason:
            self.view.warn(title, f"{self._busy_reason} Wait for it to finish.")
            return False
        return True

    def _refused(self, title: str, outcome: Future[bool]) -> Callable[[Failure], None]:
        def refused(failure: Failure) -> None:
            self._end_busy()
            self.view.warn(title, one_line(failure.message))
            if not outcome.done():
                outcome.set_result(False)

        return refused

    def _guarded(self, title: str, outcome: Future[bool], show: Callable[[T], None]) -> Callable[[T], None]:
        """``show``, but whatever it raises is a warning titled ``title``, never an escaped exception.

        What an opened file holds is untrusted to the last: showing it may still fail (a
        value the panels cannot show, numbers no widget takes). The view then keeps what it
        showed, the busy state ends, and ``outcome`` is ``False``.
        """

        def guarded(value: T) -> None:
            try:
                show(value)
            except Exception as exc:  # noqa: BLE001 - a hostile file must not take the window down
                if not isinstance(exc, ProjectError):
                    log.exception("%s", title)
                failure = Failure.of(exc)
                self._refused(title, outcome)(Failure(one_line(failure.message, 400), failure.details))

        return guarded

    def _remember_recent(self, path: Path) -> None:
        self.store.setValue(RECENT_KEY, updated_recent(self.recent_files(), path))
        self.view.show_recent(self.recent_files())

    def _write_text(self, path: Path, text: str, title: str) -> bool:
        try:
            write_text_atomic(path, text)
        except ProjectError as exc:
            self.view.warn(title, str(exc))
            return False
        self.view.show_status(f"Wrote {path}")
        return True

    def _predictor_for(self, model: Any) -> Predictor:
        from model.inference import DirectPredictor

        return DirectPredictor(model, self.keras)

    def _set_memory(self, memory: ModelInMemory | None, *, show: bool = True) -> None:
        """Replace the model in memory as a whole; answers for the old one are dropped."""
        self.memory = memory
        self._images.cancel()
        if show:
            self.view.show_predictor(memory.predictor if memory else None, memory.description if memory else "")
        self._update_actions()

    def _show_memory_results(self) -> None:
        """Show the results of the model in memory again (a run that failed cleared them)."""
        memory = self.memory
        if memory is None or (memory.finished is None and memory.evaluation is None):
            self.view.show_results(None, None)
        else:
            finished = memory.finished or RunFinished(-1, EndReason.COMPLETED, memory.description, len(memory.history))
            self.view.show_results(finished, memory.evaluation)
        self.view.show_confusion(*(memory.confusion if memory is not None and memory.confusion else (None, None)))

    def settle_unsaved_model(self, then: Callable[[], object]) -> bool:
        """Before the model in memory is dropped: Save model, Discard, or Cancel.

        Returns whether to go on now. After Save (a folder chosen, the model written in the
        background) it returns ``False`` and calls ``then`` once the model is saved.
        """
        memory = self.memory
        if memory is None or not memory.unsaved or self.runs:
            return True
        head, *rest = memory.description.split(" · ")  # "model of run 3 · test accuracy 97.1%"
        named = f"The {head} ({', '.join(rest)})" if rest else f"The {head}"
        answer = self.view.ask_save(
            "Save the trained model?",
            f"{named} has not been saved, and it is dropped now. Save it first, or discard it?",
        )
        if answer == "discard":
            return True
        if answer == "save" and (folder := self.view.ask_model_folder()) is not None:
            saving = self.save_model_to(folder)
            saving.add_done_callback(lambda done: then() if done.result() else None)
        return False

    def save_model_to(self, folder: Path) -> Future[bool]:
        raise NotImplementedError


    # --- answers of the background tasks, handled by the parts that start them
    def refresh_counts(self) -> None:
        raise NotImplementedError

    def _on_counts(self, summary: DataSummary) -> None:
        raise NotImplementedError

    def _on_counts_failed(self, failure: Failure) -> None:
        raise NotImplementedError

    def _on_test_images(self, answer: tuple[ModelInMemory, TestImages | None]) -> None:
        raise NotImplementedError
