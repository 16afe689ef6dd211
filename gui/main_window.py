"""The main window: the view of a :class:`~model.session.RunSession`, and nothing more.

Layout: the layer designer and the training settings on the left (in a splitter; the settings scroll), the
run's live plots in the middle with the results, the drawing canvas and Compare mode (:mod:`gui.compare_panel`)
a tab away, a message bar for what went wrong, and a status bar with the device, the dataset and the run's progress.

The session owns the state (the document, its runs, the model in memory, the background work); this window
builds the widgets, turns the user's input into the session's intents (menu and button handlers, named
``_on_<action>``) and renders what the session tells it (the :class:`~model.session.SessionView` methods,
``show_*`` and ``run_*``). The actions come from one table (:mod:`gui.actions`); the session's threads reach
this one through a queued signal (:class:`gui.dispatch.QtDispatch`).

TensorFlow loads in the background (:mod:`gui.tf_loader`); Train is enabled once it has, and while the layer
stack and the settings are valid. Whenever Train is disabled the toolbar says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui import actions, cockpit, dialogs, files, geometry, tf_loader
from gui.compare_panel import ComparePanel
from gui.designer import LayerDesigner
from gui.designer_undo import bind_actions
from gui.dispatch import QtDispatch
from gui.file_commands import FileCommands
from gui.help import HelpCommands
from gui.plots import TrainingPlots
from gui.results_view import MessageBar, ResultsView
from gui.settings_panel import TrainingSettings
from model.config import RunConfig
from model.errors import ProjectError
from model.runner import Runner
from model.session import ActionState, Level, PanelState, RunSession
from model.worker_process import ProcessRunner

if TYPE_CHECKING:
    from gui.confusion_view import ConfusionView
    from gui.handwriting_commands import HandwritingCommands
    from gui.predict_panel import PredictPanel
    from model.batches import BatchHistory
    from model.data import DataSummary
    from model.diagnosis import RunContext
    from model.evaluation import Evaluation
    from model.events import BatchRecord, EpochRecord, RunFinished, RunStarted
    from model.inference import Predictor

DEFAULT_INPUT: Final = ((28, 28, 1), 10)
"""MNIST's shape and classes: what the designer checks against until a dataset is counted."""
RESULTS_TAB: Final = 1
DRAW_TAB: Final = 2


class MainWindow(QMainWindow):
    """Gradient Lab's main window.

    Args:
        settings: where geometry, the last configuration and recent files are remembered;
            tests pass a ``QSettings`` in a temporary folder.
        loader: reports when TensorFlow has loaded; ``None`` starts the background import.
        runner: where runs train (default: a worker process per run, :class:`ProcessRunner`).
        ask / warn / ask_save: the yes/no question, the warning and Save / Discard / Cancel
            dialogs (``ask_save`` returns ``save``, ``discard`` or ``cancel``).
        autosave_dir: where each run is checkpointed (default :func:`gui.files.default_autosave_dir`).
        handwriting_dir: the user's handwriting set (default :func:`gui.files.default_handwriting_dir`).
    """

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        loader: tf_loader.TensorFlowLoader | None = None,
        runner: Runner | None = None,
        ask: Callable[[QWidget, str, str], bool] = dialogs.ask_with_message_box,
        warn: Callable[[QWidget, str, str], None] = dialogs.warn_with_message_box,
        ask_save: Callable[[QWidget, str, str], str] | None = None,
        autosave_dir: Path | None = None,
        handwriting_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings if settings is not None else dialogs.make_settings()
        self._loader = loader or tf_loader.TensorFlowLoader(self)
        self._ask, self._warn = ask, warn
        self._ask_save = ask_save or dialogs.ask_save_with_message_box
        self._data_shape: tuple[tuple[int, ...], int] = DEFAULT_INPUT
        self._n_train: int | None = None  # training samples, once the dataset is counted
        self._state = ActionState()
        self._recent: list[str] = []
        # What the late-built widgets show, kept until they exist.
        self._predictor: tuple[Predictor | None, str] = (None, "")
        self._class_names: tuple[str, ...] = ()
        self._filling = False
        self._tf_loaded = False
        self._handwriting_dir = handwriting_dir or files.default_handwriting_dir()
        autosave_dir = autosave_dir if autosave_dir is not None else files.default_autosave_dir()
        self.session = RunSession(
            self,
            runner=runner or ProcessRunner(),
            dispatch=QtDispatch(self),
            store=self._settings,
            autosave_dir=autosave_dir,
        )
        self._build_widgets()
        self.files = FileCommands(self, self.session, self.plots)
        self.help = HelpCommands(self)
        self.cockpit = cockpit.CockpitCommands(
            self, self.session
        )  # the Run menu's tools, the confusion timeline
        self._built = actions.build(self)
        self.actions = self._built.actions
        self.recent_menu = self._built.menus["file.recent"]
        self.presets_menu = self._built.menus["file.presets"]
        for name, title in self.session.presets():
            action = self.presets_menu.addAction(title)
            action.setData(name)
            action.setStatusTip(f"Load the preset “{title}”")
        self._built.toolbar.addWidget(self.train_reason)
        self._build_layout()
        bind_actions(
            self.designer.undo_stack, self.actions["edit.undo"], self.actions["edit.redo"], self.designer
        )
        self._connect()
        self.session.begin()
        geometry.restore(self, self._settings, (self.main_splitter, self.left_splitter))

    # ================================================================== construction

    def _build_widgets(self) -> None:
        config = self.session.config
        self.designer = LayerDesigner(config.layers)
        self.settings_panel = TrainingSettings()  # the session's begin() shows its configuration
        self.plots = TrainingPlots()
        self.results = ResultsView()
        # The Draw tab's panel and the confusion view import scipy and scikit-learn (seconds):
        # they are built once the background import has loaded those (_build_late_widgets).
        self.predict_panel: PredictPanel | None = None
        self.handwriting: HandwritingCommands | None = None
        self.confusion: ConfusionView | None = None
        self._draw_tab = QWidget()
        QVBoxLayout(self._draw_tab).setContentsMargins(0, 0, 0, 0)
        self.message_bar = MessageBar()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.plots, "Training")
        self._results_split = QSplitter(Qt.Orientation.Horizontal)
        self._results_split.addWidget(self.results)
        self.tabs.addTab(self._results_split, "Results")
        self.tabs.addTab(self._draw_tab, "Draw")
        self.compare_panel = ComparePanel.add_to(
            self.tabs, self.session, files.default_comparisons_dir(), self._on_show_draw
        )
        self.train_reason = QLabel()
        self.train_reason.setStyleSheet("color: palette(mid); padding-left: 8px;")
        self.device_label = QLabel(self._state.train_reason)
        self.data_label = QLabel()
        self.progress_label = QLabel()
        # The status bar must not set the window's minimum width: long text is cut instead.
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setVisible(False)

    def _build_layout(self) -> None:
        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.setObjectName("left-splitter")
        self.left_splitter.addWidget(self.designer)
        self.left_splitter.addWidget(self.settings_panel)  # two pages, each scrolling on its own
        self.left_splitter.setStretchFactor(0, 2)
        self.left_splitter.setStretchFactor(1, 3)
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.addWidget(self.message_bar)
        center_layout.addWidget(self.tabs, 1)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("main-splitter")
        self.main_splitter.addWidget(self.left_splitter)
        self.main_splitter.addWidget(center)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([430, 970])
        self.setCentralWidget(self.main_splitter)
        status = self.statusBar()
        status.addWidget(self.progress_label, 1)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.data_label)
        status.addPermanentWidget(self.device_label)

    def _connect(self) -> None:
        """Every signal of the window's own widgets is connected here, and only here."""
        self.recent_menu.triggered.connect(self.files.on_recent_triggered)
        self.presets_menu.triggered.connect(self.files.on_preset_triggered)
        self.designer.layersChanged.connect(self._on_panels_edited)
        self.designer.validityChanged.connect(self._on_validity_changed)
        self.settings_panel.configChanged.connect(self._on_panels_edited)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._loader.loaded.connect(self._on_tensorflow_loaded)
        self._loader.failed.connect(self._on_tensorflow_failed)

    # ================================================================== public interface

    def start_loading(self) -> None:
        """Start the TensorFlow import (unless already loaded) and the dataset counts."""
        self._loader.start()
        self.session.refresh_counts()

    @property
    def tf_ready(self) -> bool:
        return self._tf_loaded

    def current_config(self) -> RunConfig | None:
        """The configuration the panels show, or ``None`` while the settings are invalid."""
        return self.session.document.current

    # ================================================================== SessionView

    def show_config(self, config: RunConfig) -> None:
        self._filling = True
        try:
            # The panel first: it refuses a value it cannot show and keeps what it showed.
            self.settings_panel.set_config(config)
            self.designer.set_layers(config.layers)
        finally:
            self._filling = False
        self.designer.set_context(*self._data_shape, config.loss)
        self.designer.set_training(config, self._n_train)
        self.session.set_stack_problem(self._stack_problem())

    def show_document(self, title: str, modified: bool) -> None:
        self.setWindowTitle(f"{title}[*] — Gradient Lab")
        self.setWindowModified(modified)

    def show_recent(self, entries: Sequence[str]) -> None:
        self._recent = list(entries)
        self.recent_menu.clear()
        for entry in entries:
            action = self.recent_menu.addAction(files.recent_label(entry))
            action.setData(entry)
            action.setStatusTip(entry)
            action.setToolTip(entry)
        self.recent_menu.menuAction().setEnabled(self._state.can_open and bool(entries))

    def show_actions(self, state: ActionState) -> None:
        self._state = state
        actions.update(self._built, state)
        self.recent_menu.menuAction().setEnabled(state.can_open and bool(self._recent))
        self.train_reason.setText(state.train_reason)
        train = self.actions["run.train"]
        train.setToolTip(state.train_reason or "Train the network with these settings (Ctrl+Return)")

    def show_message(self, text: str, level: Level, details: str = "") -> None:
        self.message_bar.show_message(text, level)
        self.message_bar.setToolTip(details)

    def clear_message(self) -> None:
        self.message_bar.clear()

    def show_status(self, text: str, timeout_ms: int = 4000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def show_progress(self, text: str, fraction: float | None = None) -> None:
        self.progress_label.setText(text)
        if fraction is not None:
            self.progress_bar.setValue(int(fraction * 1000))
            self.progress_bar.setVisible(True)

    def hide_progress_bar(self) -> None:
        self.progress_bar.setVisible(False)

    def warn(self, title: str, text: str) -> None:
        self._warn(self, title, text)

    def ask(self, title: str, text: str) -> bool:
        return self._ask(self, title, text)

    def ask_save(self, title: str, text: str) -> str:
        return self._ask_save(self, title, text)

    def ask_config_path(self) -> Path | None:
        start = self.session.document.path or Path(self.session.last_folder()) / "run.json"
        path = dialogs.choose_save_path(self, "Save configuration", start, dialogs.CONFIG_FILTER, ".json")
        if path is not None:
            self.session.remember_folder(path.parent)
        return path

    def ask_model_folder(self) -> Path | None:
        return self.files.ask_model_folder()

    def show_data(self, text: str, tooltip: str = "") -> None:
        self.data_label.setText(text)
        self.data_label.setToolTip(tooltip)

    def show_counts(self, summary: DataSummary) -> None:
        self.settings_panel.set_split_counts(summary.counts_text)
        self.settings_panel.set_train_count(summary.n_train)
        self._data_shape, self._n_train = (summary.input_shape, summary.num_classes), summary.n_train
        self.designer.set_context(summary.input_shape, summary.num_classes, self.session.config.loss)
        self.designer.set_training(self.session.config, self._n_train)

    def show_counts_pending(self, title: str) -> None:
        self.settings_panel.set_split_counts(f"Counting {title}…")

    def show_counts_failed(self, message: str) -> None:
        self.settings_panel.set_split_counts(message)
        self.show_data("dataset unavailable", message)

    def lock_panels(self, state: PanelState) -> None:
        if state == "learning_rate":
            self.settings_panel.set_learning_rate_editable_only(True)
        else:
            self.settings_panel.set_locked(state == "locked")
        self.designer.setEnabled(state == "editable")

    def run_started(self, info: RunStarted, prior: Sequence[EpochRecord], prior_batches: BatchHistory | None = None,
                    context: RunContext | None = None) -> None:  # fmt: skip
        self.plots.start_run(info, list(prior), prior_batches, context)
        self.cockpit.run_started(list(prior))
        self.tabs.setTabText(RESULTS_TAB, "Results")
        if self.tabs.currentIndex() != DRAW_TAB:
            self.tabs.setCurrentWidget(self.plots)

    def run_batches(self, records: Sequence[BatchRecord]) -> None:
        self.plots.add_batches(records)

    def run_epoch(self, record: EpochRecord) -> None:
        self.plots.add_epoch(record)
        self.cockpit.add_epoch(record)

    def run_ended(self, info: RunFinished) -> None:
        self.plots.redraw_soon()  # one plot per tick: all four at once held the GUI thread ~40 ms

    def mark(self, step: int, text: str) -> None:
        self.plots.mark(step, text)

    def show_history(self, records: Sequence[EpochRecord], layer_names: tuple[str, ...], steps_per_epoch: int,
                     batches: BatchHistory | None = None, context: RunContext | None = None) -> None:  # fmt: skip
        self.plots.show_history(list(records), layer_names, steps_per_epoch, batches, context)
        self.cockpit.show_history(list(records))

    def show_results(self, finished: RunFinished | None, evaluation: Evaluation | None) -> None:
        if finished is None:
            self.results.clear()
        else:
            self.results.show_result(finished, evaluation)
        title = f"Results ({evaluation.accuracy:.1%})" if evaluation is not None else "Results"
        self.tabs.setTabText(RESULTS_TAB, title)

    def show_confusion(self, evaluation: Evaluation | None, images: np.ndarray | None) -> None:
        self.cockpit.set_test(evaluation, images)  # the timeline shows it in the confusion view

    def show_predictor(self, predictor: Predictor | None, description: str) -> None:
        self._follow_live(False)
        self._predictor = (predictor, description)
        self._follow_live(self.tabs.currentIndex() == DRAW_TAB)
        if self.predict_panel is not None:
            self.predict_panel.set_predictor(predictor, description)

    def show_predictor_description(self, description: str) -> None:
        """The live model moved on: say so, and have the Draw tab, if it shows, read its
        drawing again with it (otherwise the answer would be older than the label says)."""
        self._predictor = (self._predictor[0], description)
        if self.predict_panel is None:
            return
        if self.tabs.currentIndex() == DRAW_TAB:
            self.predict_panel.model_moved_on(description)
        else:
            self.predict_panel.set_description(description)

    def show_class_names(self, names: tuple[str, ...]) -> None:
        self._class_names = names
        self.cockpit.set_class_names(names)
        if self.predict_panel is not None:
            self.predict_panel.set_class_names(names)

    def close_now(self) -> None:
        QTimer.singleShot(0, self.close)

    # ================================================================== intents

    def _on_panels_edited(self) -> None:
        if self._filling:
            return
        config, error = self._panel_config()
        self.session.edit(config, error)
        if config is not None:
            self.designer.set_context(*self._data_shape, config.loss)
            self.designer.set_training(config, self._n_train)

    def _panel_config(self) -> tuple[RunConfig | None, str | None]:
        error = self.settings_panel.error()
        if error:
            return None, error
        try:
            base = self.session.document.best_config()
            return self.settings_panel.apply_to(base).replace(layers=self.designer.layers()), None
        except ProjectError as exc:
            return None, str(exc)

    def _stack_problem(self) -> str:
        problems = self.designer.report().problems
        return problems[0].message if problems else ""

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self.session.set_stack_problem("" if valid else message or "it cannot be built")

    def _on_train(self) -> None:
        self.session.train()

    def _on_resume_training(self) -> None:
        self.session.resume_training()

    def _on_pause(self) -> None:
        self.session.pause_or_resume(self.settings_panel.learning_rate())

    def _on_stop(self) -> None:
        self.session.stop()

    def _on_show_training(self) -> None:
        self.tabs.setCurrentWidget(self.plots)

    def _on_show_results(self) -> None:
        self.tabs.setCurrentIndex(RESULTS_TAB)

    def _on_show_draw(self) -> None:
        self.tabs.setCurrentIndex(DRAW_TAB)
        assert self.predict_panel is not None  # built when its tab was shown
        self.predict_panel.canvas.setFocus()

    def _on_tab_changed(self, index: int) -> None:
        if index == DRAW_TAB:
            self._build_late_widgets()
        self._follow_live(index == DRAW_TAB)

    def _follow_live(self, on: bool) -> None:
        """A training run's live model is kept current only while the Draw tab shows it."""
        from model.inference import LivePredictor

        predictor = self._predictor[0]
        if isinstance(predictor, LivePredictor):
            predictor.follow(on)

    def _on_tensorflow_loaded(self, device: str) -> None:
        self._tf_loaded = True
        self.device_label.setText(f"Device: {device}")
        self.device_label.setToolTip("The device TensorFlow trains on")
        self._build_late_widgets()  # their imports are loaded now: this is quick
        self.session.backend_ready()

    def _on_tensorflow_failed(self, message: str) -> None:
        self.device_label.setText("TensorFlow unavailable")
        self.session.backend_failed(message)

    def _build_late_widgets(self) -> None:
        """Build the Draw tab's panel and the confusion view (once), with the state so far."""
        if self.predict_panel is None:
            from gui.predict_panel import PredictPanel

            self.predict_panel = PredictPanel()
            layout = self._draw_tab.layout()
            assert layout is not None
            layout.addWidget(self.predict_panel)
            self.predict_panel.show()  # else Qt shows it one event-loop turn later
            if self._class_names:
                self.predict_panel.set_class_names(self._class_names)
            self.predict_panel.set_predictor(*self._predictor)
            from gui.handwriting_commands import HandwritingCommands

            self.handwriting = HandwritingCommands(
                self, self.session, self.predict_panel, self._handwriting_dir
            )
        if self.confusion is None:
            from gui.confusion_view import ConfusionView

            self.confusion = ConfusionView()
            self._results_split.addWidget(self.cockpit.results_column(self.confusion))
            self._results_split.setSizes([300, 1000])
            self.confusion.show()
            self._results_split.setStretchFactor(1, 2)

    # ================================================================== geometry and closing

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Ask about unsaved changes, then stop every run and wait for it (up to the session's
        timeout) before closing; a run still stopping closes the window when it has."""
        if not self.session.close():
            event.ignore()
            return
        geometry.save(self, self._settings, (self.main_splitter, self.left_splitter))
        event.accept()
