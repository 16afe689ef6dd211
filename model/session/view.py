"""What a :class:`~model.session.RunSession` tells its view, and what the view may ask.

The session owns the state; the view (the main window, or a ``MagicMock(spec=SessionView)``
in tests, as ndv's controller tests do) renders it. Every call comes in the session's own
thread. The view never decides anything the session knows: which run is current, whether
Train is possible, what the model in memory is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from model.config import RunConfig
from model.events import BatchRecord, EpochRecord, RunFinished, RunStarted

if TYPE_CHECKING:
    import numpy as np

    from model.batches import BatchHistory
    from model.data import DataSummary
    from model.diagnosis import RunContext
    from model.evaluation import Evaluation
    from model.inference import Predictor

Level = Literal["info", "warning", "error"]
PanelState = Literal["editable", "learning_rate", "locked"]


@dataclass(frozen=True)
class ActionState:
    """Which actions make sense now; the view enables its menus and buttons from it.

    ``train_reason`` is empty when Train is possible, else why not (shown beside the button);
    ``resume_reason`` says why Resume Training is not, when the model in memory cannot
    continue with the configuration as it stands (its tooltip).
    """

    train_reason: str = "Loading TensorFlow…"
    running: bool = False
    paused: bool = False
    stopping: bool = False
    can_resume: bool = False
    can_save_model: bool = False
    resume_reason: str = ""

    @property
    def can_train(self) -> bool:
        return not self.train_reason

    @property
    def can_pause(self) -> bool:
        return self.running and not self.stopping

    @property
    def can_step(self) -> bool:
        """Step (one batch) is for a paused run."""
        return self.running and self.paused and not self.stopping

    @property
    def can_open(self) -> bool:
        """Opening and replacing the configuration is for between runs."""
        return not self.running


class SessionView(Protocol):
    """The rendering side of the session. Implemented by :class:`gui.main_window.MainWindow`."""

    # --- the document
    def show_config(self, config: RunConfig) -> None:
        """Fill the designer and the settings with ``config``, all or nothing.

        Raises:
            ProjectError: the panels cannot show ``config`` (a value no control of theirs
                holds); they keep showing what they showed.
        """

    def show_document(self, title: str, modified: bool) -> None: ...

    def show_recent(self, entries: Sequence[str]) -> None: ...

    def show_actions(self, state: ActionState) -> None: ...

    # --- messages
    def show_message(self, text: str, level: Level, details: str = "") -> None:
        """The message bar above the plots (not modal)."""

    def clear_message(self) -> None: ...

    def show_status(self, text: str, timeout_ms: int = 4000) -> None:
        """A transient line in the status bar."""

    def show_progress(self, text: str, fraction: float | None = None) -> None:
        """The run's progress line; ``fraction`` (0..1) shows the bar, ``None`` keeps it as is."""

    def hide_progress_bar(self) -> None: ...

    def warn(self, title: str, text: str) -> None:
        """A problem the user caused now (a bad file, a refused save): a dialog."""

    def ask(self, title: str, text: str) -> bool:
        """A yes/no question; the safe answer is No."""

    def ask_save(self, title: str, text: str) -> str:
        """Save / Discard / Cancel before unsaved changes are dropped."""

    def ask_config_path(self) -> Path | None:
        """Where to save the configuration (Save As); ``None`` when cancelled."""

    def ask_model_folder(self) -> Path | None:
        """Where to save the model (a new, empty or run folder); ``None`` when cancelled."""

    # --- data
    def show_data(self, text: str, tooltip: str = "") -> None:
        """The dataset line of the status bar."""

    def show_counts(self, summary: DataSummary) -> None:
        """What the configured dataset holds (split counts, input shape, classes)."""

    def show_counts_failed(self, message: str) -> None: ...

    def show_counts_pending(self, title: str) -> None:
        """The dataset ``title`` is being counted: what the panel showed of the last one is stale."""

    # --- a run
    def lock_panels(self, state: PanelState) -> None: ...

    def run_started(
        self,
        info: RunStarted,
        prior: Sequence[EpochRecord],
        prior_batches: BatchHistory | None = None,
        context: RunContext | None = None,
    ) -> None:
        """A run began; ``prior`` and ``prior_batches`` are a resumed run's saved epochs and batches.

        ``context`` is what the run's configuration tells the diagnoses (:mod:`model.diagnosis`).
        """

    def run_batches(self, records: Sequence[BatchRecord]) -> None:
        """The shown run's next batch records, in order (one or more: those that came together)."""

    def run_epoch(self, record: EpochRecord) -> None: ...

    def run_ended(self, info: RunFinished) -> None: ...

    def mark(self, step: int, text: str) -> None:
        """A marker on the plots at ``step`` (a learning-rate change)."""

    # --- results and the model in memory
    def show_history(
        self,
        records: Sequence[EpochRecord],
        layer_names: tuple[str, ...],
        steps_per_epoch: int,
        batches: BatchHistory | None = None,
        context: RunContext | None = None,
    ) -> None:
        """A saved run's history: its epochs, and its batches when it has them (shown as during training)."""

    def show_results(self, finished: RunFinished | None, evaluation: Evaluation | None) -> None:
        """The Results tab; ``None`` for both clears it."""

    def show_confusion(self, evaluation: Evaluation | None, images: np.ndarray | None) -> None: ...

    def show_predictor(self, predictor: Predictor | None, description: str) -> None:
        """What answers the Draw tab now."""

    def show_predictor_description(self, description: str) -> None:
        """Where the Draw tab's model comes from now (a live model's "as of batch N")."""

    def show_class_names(self, names: tuple[str, ...]) -> None: ...

    def close_now(self) -> None:
        """Close the window: a close that waited for a run to stop can finish now."""
