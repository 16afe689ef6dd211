"""The main window: design a network, train it, watch gradient descent, read the results.

Layout: the layer designer and the training settings on the left (in a splitter; the
settings scroll), the run's live plots in the middle with the results and the drawing
canvas one tab away, a message bar for what went wrong, and a status bar with the
device, the dataset and the run's progress.

The window owns one run at a time. Each run gets the next number of a generation
counter (ndv's pattern): every message from a worker carries its run's number and the
window drops any message that is not from the current run, so a stopped run that is
still winding down never writes over a new one. The run itself happens in a
:class:`~gui.worker.TrainingWorker` in its own ``QThread``.

TensorFlow loads in the background (:mod:`gui.tf_loader`); Train is enabled once it has,
and while the layer stack and the settings are valid. Whenever Train is disabled the
toolbar says why.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui import files, tf_loader
from gui.designer import LayerDesigner
from gui.plots import TrainingPlots
from gui.settings_panel import TrainingSettings
from gui.worker import (
    DataReady,
    FunctionWorker,
    PrepareFn,
    RunFailed,
    TrainFn,
    TrainingWorker,
    WorkerThreads,
)
from model.catalogue import data_title
from model.config import (
    DataSpec,
    LayerSpec,
    RunConfig,
    SplitSpec,
    config_from_json,
    list_presets,
    load_config,
    load_preset,
)
from model.errors import ModelFileError, ProjectError
from model.events import (
    BatchRecord,
    EpochRecord,
    PredictionMailbox,
    RunControl,
    RunFinished,
    RunStarted,
    format_duration,
)
from model.fileio import write_text_atomic
from model.inference import DirectPredictor, MailboxPredictor, Predictor
from model.results import SavedRun
from model.runfolder import (
    check_target,
    copy_run,
    end_reason_from_metrics,
    evaluation_from_metrics,
    history_csv,
    load_run,
    path_kind,
    read_autosave,
    remove_folder,
    save_run,
)

if TYPE_CHECKING:
    from gui.confusion_view import ConfusionView
    from gui.predict_panel import PredictPanel
    from model.data import DataSummary, TestImages
    from model.evaluation import Evaluation
    from model.results import RunResult

log = logging.getLogger(__name__)

ORGANIZATION: Final = "GradientLab"
APPLICATION: Final = "GradientLab"
CLOSE_TIMEOUT_S: Final = 10.0
"""How long closing the window waits for a stopping run before it gives the user control back."""
STATUS_INTERVAL_MS: Final = 250
"""The progress text in the status bar changes at most four times a second."""
DEFAULT_INPUT: Final = ((28, 28, 1), 10)
"""MNIST's shape and classes: what the designer checks against until a dataset is loaded."""
RESULTS_TAB: Final = 1
DRAW_TAB: Final = 2
CONFIG_FILTER: Final = "Gradient Lab configuration (*.json);;All files (*)"
OPEN_FILTER: Final = (
    "Configurations and models (*.json *.keras *.h5 *.hdf5);;Gradient Lab configuration (*.json);;"
    "Keras model (*.keras);;All files (*)"
)
CSV_FILTER: Final = "CSV (*.csv);;All files (*)"
SCRIPT_FILTER: Final = "Python script (*.py);;All files (*)"


def make_settings() -> QSettings:
    """The user's settings store (tests pass their own, in a temporary folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def format_progress(rec: BatchRecord, info: RunStarted | None) -> str:
    """The status-bar line for a run in progress."""
    epochs = f"/{info.epochs}" if info else ""
    batches = f"/{info.steps_per_epoch}" if info else ""
    return (
        f"epoch {rec.epoch + 1}{epochs} · batch {rec.batch + 1}{batches} · "
        f"{rec.samples_per_second:,.0f} samples/s · {format_duration(rec.seconds_remaining)} left"
    )


def summarize_data(spec: DataSpec, split: SplitSpec, seed: int) -> DataSummary:
    """:func:`model.data.summarize`, imported without racing the background import (off the GUI thread)."""
    return tf_loader.import_data_module().summarize(spec, split, seed)


def load_test_images(config: RunConfig) -> TestImages | None:
    """:func:`model.data.test_images`, imported without racing the background import (off the GUI thread)."""
    return tf_loader.import_data_module().test_images(config)


def ask_with_message_box(parent: QWidget, title: str, text: str) -> bool:
    """Ask a yes/no question; the default answer is No."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def warn_with_message_box(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def ask_save_with_message_box(parent: QWidget, title: str, text: str) -> str:
    """Save / Discard / Cancel for unsaved changes: ``save``, ``discard`` or ``cancel``."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, text, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


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
        self.table.horizontalHeader().setStretchLastSection(True)
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

    def clear(self) -> None:
        self.summary.setText("Train a model to see how it does on the test set.")
        self.table.setRowCount(0)


@dataclass
class ActiveRun:
    """The run whose worker thread is alive (at most one at a time)."""

    run_id: int
    config: RunConfig
    control: RunControl
    mailbox: PredictionMailbox
    info: RunStarted | None = None
    last_batch: BatchRecord | None = None
    learning_rate: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)
    batches_seen: int = 0
    data: DataReady | None = None
    has_result: bool = False
    prior_history: list[EpochRecord] = field(default_factory=list)  # of a resumed run


class MainWindow(QMainWindow):
    """Gradient Lab's main window.

    Args:
        settings: where geometry and the last configuration are remembered; tests pass a
            ``QSettings`` in a temporary folder.
        loader: reports when TensorFlow has loaded; ``None`` starts the background import.
        prepare / train: passed to each :class:`TrainingWorker` (tests inject fakes).
        ask / warn: the yes/no question and the warning dialog, replaceable in tests.
        ask_save: Save / Discard / Cancel before unsaved changes are dropped (returns
            ``save``, ``discard`` or ``cancel``); replaceable in tests.
        autosave_dir: where every run is checkpointed while it trains (default
            :func:`gui.files.default_autosave_dir`); tests point it at a temporary folder.
    """

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        loader: tf_loader.TensorFlowLoader | None = None,
        prepare: PrepareFn | None = None,
        train: TrainFn | None = None,
        ask: Callable[[QWidget, str, str], bool] = ask_with_message_box,
        warn: Callable[[QWidget, str, str], None] = warn_with_message_box,
        ask_save: Callable[[QWidget, str, str], str] | None = None,
        autosave_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings if settings is not None else make_settings()
        self._loader = loader or tf_loader.TensorFlowLoader(self)
        self._prepare = prepare
        self._train = train
        self.ask = ask
        self.warn = warn
        self.ask_save = ask_save if ask_save is not None else ask_save_with_message_box
        self.autosave_dir = autosave_dir if autosave_dir is not None else files.default_autosave_dir()

        self._config = self._restore_config()
        self._path: Path | None = None  # the configuration file Save writes to
        self._document: str = ""  # the run folder or model file shown, for the title
        self._close_confirmed = False
        self._recovery_offered = False
        self._images_generation = 0
        # The model in memory that can be saved or resumed: a finished run of this session
        # (last_result) or a run folder that was opened; never both.
        self._loaded_run: SavedRun | None = None
        self._history: tuple[list[EpochRecord], tuple[str, ...], int] = ([], (), 1)
        self._generation = 0  # the number of the run whose messages are shown
        self._run: ActiveRun | None = None  # the run whose thread is alive
        self._pending: RunConfig | None = None  # starts when the current run has ended
        self._close_when_idle = False
        self._tf_state = "loading"  # loading | ready | failed
        self._tf_message = "Loading TensorFlow…"
        self._stack_problem = ""
        self._data_shape: tuple[tuple[int, ...], int] = DEFAULT_INPUT
        self._counts_generation = 0
        self._counted_spec = self._config.data
        self._counted_key: tuple[DataSpec, SplitSpec, int] | None = None
        self._counts_busy = False
        self._counts_stale = False
        self.last_result: RunResult | None = None
        # Predicts with the last finished model while no run is training.
        self._idle_predictor: tuple[Predictor, str] | None = None
        # What the late-built widgets show, kept until they exist.
        self._predictor: tuple[Predictor | None, str] = (None, "")
        self._class_names: tuple[str, ...] = ()
        self._confusion_data: tuple[Evaluation, np.ndarray] | None = None
        self._threads = WorkerThreads(self)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_INTERVAL_MS)

        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._build_layout()
        self._connect()

        self._load_into_panels(self._config)
        self._restore_geometry()
        self._update_title()
        self._update_actions()

    # ================================================================== construction

    def _build_widgets(self) -> None:
        self.designer = LayerDesigner(self._config.layers)
        self.settings_panel = TrainingSettings(self._config)
        self.plots = TrainingPlots()
        self.results = ResultsView()
        # The Draw tab's panel and the confusion view import scipy and scikit-learn (seconds):
        # they are built once the background import has loaded those (_build_late_widgets).
        self.predict_panel: PredictPanel | None = None
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

        self.train_reason = QLabel()
        self.train_reason.setStyleSheet("color: palette(mid); padding-left: 8px;")
        self.device_label = QLabel(self._tf_message)
        self.data_label = QLabel()
        self.progress_label = QLabel()
        # The status bar must not set the window's minimum width: long text is cut instead.
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setVisible(False)

    def _action(
        self, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str | None, tip: str
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            tip = f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        return action

    def _build_actions(self) -> None:
        self.new_action = self._action("&New", QKeySequence.StandardKey.New, "Start from the default network")
        self.open_action = self._action("&Open…", QKeySequence.StandardKey.Open, "Open a configuration file")
        self.save_action = self._action("&Save", QKeySequence.StandardKey.Save, "Save the configuration")
        self.save_as_action = self._action(
            "Save &As…", "Ctrl+Shift+S", "Save the configuration to a new file"
        )
        self.open_run_action = self._action(
            "Open &Run Folder…", "Ctrl+Shift+O", "Open a saved run: its model, configuration and history"
        )
        self.save_model_action = self._action(
            "Save &Model…", "Ctrl+Shift+M", "Save the model with its configuration, history and test results"
        )
        self.export_history_action = self._action("&History as CSV…", None, "Export the epoch history")
        self.export_png_action = self._action("Plots as &PNG…", None, "Export each plot as a PNG image")
        self.export_svg_action = self._action("Plots as &SVG…", None, "Export each plot as an SVG drawing")
        self.export_script_action = self._action(
            "Training &Script (plain Keras)…", None, "A Python script that rebuilds and trains this network"
        )
        self.resume_action = self._action(
            "Resume &Training", "Ctrl+Shift+Return", "Continue training the model with its optimizer state"
        )
        self.resume_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.quit_action = self._action("&Quit", "Ctrl+Q", "Quit Gradient Lab")
        self.train_action = self._action("&Train", "Ctrl+Return", "Train the network with these settings")
        self.pause_action = self._action(
            "&Pause", "Ctrl+P", "Pause training; while paused you can change the learning rate"
        )
        self.stop_action = self._action("&Stop", "Esc", "Stop training after the current batch")
        self.show_training_action = self._action("&Training plots", "Ctrl+1", "Show the live plots")
        self.show_results_action = self._action("&Results", "Ctrl+2", "Show the test-set results")
        # Ctrl+3, in line with Ctrl+1 and Ctrl+2; Ctrl+D duplicates a layer in the designer.
        self.show_draw_action = self._action("&Draw", "Ctrl+3", "Draw a digit for the model to read")
        for action in (self.train_action, self.pause_action, self.stop_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_run_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.presets_menu = file_menu.addMenu("&Presets")
        for name in list_presets():
            try:
                title = load_preset(name).name
            except ProjectError as exc:
                log.warning("skipping preset %s: %s", name, exc)
                continue
            action = self.presets_menu.addAction(title)
            action.setData(name)
            action.setStatusTip(f"Load the preset “{title}”")
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addAction(self.save_model_action)
        self.export_menu = file_menu.addMenu("&Export")
        for action in (
            self.export_history_action,
            self.export_png_action,
            self.export_svg_action,
            self.export_script_action,
        ):
            self.export_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self._rebuild_recent_menu()

        run_menu = self.menuBar().addMenu("&Run")
        for action in (self.train_action, self.resume_action, self.pause_action, self.stop_action):
            run_menu.addAction(action)

        view_menu = self.menuBar().addMenu("&View")
        for action in (self.show_training_action, self.show_results_action, self.show_draw_action):
            view_menu.addAction(action)

        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.train_action, self.pause_action, self.stop_action):
            toolbar.addAction(action)
        toolbar.addWidget(self.train_reason)

    def _build_layout(self) -> None:
        settings_scroll = QScrollArea()
        settings_scroll.setWidgetResizable(True)
        settings_scroll.setFrameShape(QFrame.Shape.NoFrame)
        settings_scroll.setWidget(self.settings_panel)

        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.setObjectName("left-splitter")
        self.left_splitter.addWidget(self.designer)
        self.left_splitter.addWidget(settings_scroll)
        self.left_splitter.setStretchFactor(0, 3)
        self.left_splitter.setStretchFactor(1, 2)

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
        self.new_action.triggered.connect(self._on_new_triggered)
        self.open_action.triggered.connect(self._on_open_triggered)
        self.save_action.triggered.connect(self._on_save_triggered)
        self.save_as_action.triggered.connect(self._on_save_as_triggered)
        self.open_run_action.triggered.connect(self._on_open_run_triggered)
        self.recent_menu.triggered.connect(self._on_recent_triggered)
        self.save_model_action.triggered.connect(self._on_save_model_triggered)
        self.export_history_action.triggered.connect(self._on_export_history_triggered)
        self.export_png_action.triggered.connect(self._on_export_png_triggered)
        self.export_svg_action.triggered.connect(self._on_export_svg_triggered)
        self.export_script_action.triggered.connect(self._on_export_script_triggered)
        self.resume_action.triggered.connect(self._on_resume_triggered)
        self.quit_action.triggered.connect(self.close)
        self.presets_menu.triggered.connect(self._on_preset_triggered)
        self.train_action.triggered.connect(self._on_train_triggered)
        self.pause_action.triggered.connect(self._on_pause_triggered)
        self.stop_action.triggered.connect(self._on_stop_triggered)
        self.show_training_action.triggered.connect(self._on_show_training_triggered)
        self.show_results_action.triggered.connect(self._on_show_results_triggered)
        self.show_draw_action.triggered.connect(self._on_show_draw_triggered)

        self.designer.layersChanged.connect(self._on_layers_changed)
        self.designer.validityChanged.connect(self._on_validity_changed)
        self.settings_panel.configChanged.connect(self._on_settings_changed)
        self.settings_panel.dataChanged.connect(self._on_data_changed)

        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._loader.loaded.connect(self._on_tensorflow_loaded)
        self._loader.failed.connect(self._on_tensorflow_failed)
        self._status_timer.timeout.connect(self._on_status_timer)

    def _connect_worker(self, worker: TrainingWorker) -> None:
        """The run's signals; all queued into the GUI thread (the receiver lives here)."""
        worker.dataReady.connect(self._on_data_ready)
        worker.listener.runStarted.connect(self._on_run_started)
        worker.listener.batchReported.connect(self._on_batch)
        worker.listener.epochReported.connect(self._on_epoch)
        worker.listener.runEnded.connect(self._on_run_ended)
        worker.resultReady.connect(self._on_result)
        worker.failed.connect(self._on_run_failed)
        worker.ended.connect(self._on_worker_ended)

    # ================================================================== public interface

    def start_loading(self) -> None:
        """Start the TensorFlow import (unless already loaded) and the dataset counts."""
        self._loader.start()
        self._refresh_data_counts()

    @property
    def tf_ready(self) -> bool:
        return self._tf_state == "ready"

    @property
    def current_run_id(self) -> int:
        """The generation number whose messages the window shows."""
        return self._generation

    @property
    def running(self) -> bool:
        """Whether a run's worker thread is alive."""
        return self._run is not None

    @property
    def active_run(self) -> ActiveRun | None:
        return self._run

    @property
    def train_disabled_reason(self) -> str:
        return self.train_reason.text()

    def current_config(self) -> RunConfig | None:
        """The configuration the panels show, or ``None`` while the settings are invalid."""
        if self.settings_panel.error():
            return None
        try:
            return self.settings_panel.apply_to(self._config).replace(layers=self.designer.layers())
        except ProjectError:
            return None

    def set_config(self, config: RunConfig, path: Path | None = None, document: str = "") -> None:
        """Show ``config`` in the panels (as opened from ``path``, or with a run or model named ``document``)."""
        self._config = config
        self._path = path
        self._document = document
        self._load_into_panels(config)
        self.setWindowModified(False)
        self._update_title()
        self._refresh_data_counts()

    def open_path(self, path: str | Path) -> bool:
        """Open a configuration (.json), a Keras model (.keras) or a run folder, by what it is."""
        path = Path(path)
        kind = path_kind(path)
        if kind == "run":
            return self.open_run_folder(path)
        if kind == "model":
            return self.open_model_file(path)
        return self.open_file(path)

    def open_file(self, path: str | Path) -> bool:
        """Open a configuration; on a bad file say why and keep what was open."""
        path = Path(path)
        try:
            config = load_config(path)
        except ProjectError as exc:
            self.warn(self, "Cannot open configuration", str(exc))
            return False
        self.set_config(config, path)
        self._remember_recent(path)
        self.statusBar().showMessage(f"Opened {path}", 4000)
        return True

    def open_run_folder(self, folder: str | Path) -> bool:
        """Open a run folder: configuration, history, test results, and the model for the canvas.

        Everything is read before anything is shown, so a damaged file changes nothing.
        """
        folder = Path(folder)
        if self._run is not None:
            self.warn(self, "Cannot open run", "A run is in progress; stop it first.")
            return False
        try:
            saved = load_run(folder)
        except ProjectError as exc:
            self.warn(self, "Cannot open run", str(exc))
            return False
        self._show_saved_run(saved)
        self._remember_recent(folder)
        self.statusBar().showMessage(f"Opened the run {folder}", 4000)
        return True

    def open_model_file(self, path: str | Path) -> bool:
        """Open a ``.keras`` model saved by plain Keras: the canvas uses it if it reads digits.

        The designer shows its layers when each maps to one the designer has; otherwise
        the message bar says which do not, and the designer keeps its stack.
        """
        path = Path(path)
        if self._run is not None:
            self.warn(self, "Cannot open model", "A run is in progress; stop it first.")
            return False
        from model.inference import check_digit_model
        from model.keras_import import layer_specs
        from model.modelio import load_model_safe

        try:
            model = load_model_safe(path)
            check_digit_model(model)
            predictor = DirectPredictor(model)
        except ProjectError as exc:
            self.warn(self, "Cannot open model", f"{path.name}: {exc}" if path.name not in str(exc) else str(exc))
            return False
        try:
            layers: tuple[LayerSpec, ...] | None = layer_specs(model)
            note = ""
        except ModelFileError as exc:
            layers, note = None, f" {exc}"
        if layers is not None:
            self.set_config(self._config.replace(layers=layers, name=path.stem), document=path.name)
        self._forget_model()
        self._show_history([], (), 1)
        self.results.clear()
        self.tabs.setTabText(RESULTS_TAB, "Results")
        self._set_class_names(tuple(str(k) for k in range(10)))
        self._set_predictor(predictor, f"{path.name} (opened)")
        self.message_bar.show_message(
            f"Opened {path.name}: the Draw tab reads drawings with it.{note}", "info" if layers else "warning"
        )
        self._remember_recent(path)
        self._update_actions()
        return True

    def save_model_to(self, folder: str | Path) -> bool:
        """Write the model in memory as a run folder; a failed save leaves ``folder`` as it was."""
        folder = Path(folder)
        result, saved = self.last_result, self._loaded_run
        if result is None and saved is None:
            self.warn(self, "Nothing to save", "Train a model or open a run first.")
            return False
        try:
            replacing = check_target(folder)
        except ProjectError as exc:
            self.warn(self, "Cannot save model", str(exc))
            return False
        if replacing and not self.ask(self, "Replace the run?", f"{folder} already holds a run. Replace it?"):
            return False
        try:
            if result is not None:
                save_run(result, folder)
            else:
                assert saved is not None
                copy_run(saved.folder, folder)
        except ProjectError as exc:
            self.warn(self, "Cannot save model", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - Keras's own save failures, shown as they are
            self.warn(self, "Cannot save model", f"cannot save to {folder}: {exc}; the previous contents are unchanged")
            return False
        if saved is not None and result is None:
            self._loaded_run = dataclasses.replace(saved, folder=folder)
        self._remember_recent(folder)
        self.statusBar().showMessage(f"Saved the model to {folder}", 4000)
        return True

    def export_history_to(self, path: str | Path) -> bool:
        """Write the epoch history shown (or of the run going on) as CSV."""
        records, names, _ = self._current_history()
        if not records:
            self.warn(self, "Nothing to export", "There is no epoch history yet.")
            return False
        return self._write_text(Path(path), history_csv(records, names), "Cannot export history")

    def export_script_to(self, path: str | Path) -> bool:
        """Write a standalone plain-Keras script that rebuilds and trains this configuration."""
        from model.export import export_script

        config = self.current_config()
        if config is None:
            self.warn(self, "Cannot export", self.settings_panel.error() or "The settings are not valid.")
            return False
        return self._write_text(Path(path), export_script(config), "Cannot export script")

    def export_plots_to(self, base: str | Path, fmt: str) -> list[Path]:
        """Write each plot as ``<base>-loss.<fmt>`` etc. (``png`` or ``svg``); the files written."""
        try:
            written = self.plots.export_images(Path(base), fmt)
        except ProjectError as exc:
            self.warn(self, "Cannot export plots", str(exc))
            return []
        self.statusBar().showMessage(f"Exported {len(written)} plots beside {base}", 4000)
        return written

    def resume_training(self) -> None:
        """What Resume Training does: continue the model in memory with its optimizer state."""
        self._on_resume_triggered()

    def recent_files(self) -> list[str]:
        """Open Recent, newest first."""
        return files.recent_from_setting(self._settings.value("recent_files"))

    def offer_recovery(self) -> bool:
        """If the last run was cut off (the app was killed), offer to open what was autosaved.

        Yes moves the autosave to a folder of its own beside it (so the next run cannot
        overwrite it) and opens it; No deletes it. Returns whether a run was opened.
        """
        self._recovery_offered = True
        info = read_autosave(self.autosave_dir)
        if info is None or not info.interrupted:
            if info is not None:
                remove_folder(self.autosave_dir)  # a finished run's leftovers
            return False
        if not self.ask(self, "Recover the interrupted run?", info.question()):
            remove_folder(self.autosave_dir)
            return False
        target = self.autosave_dir.with_name(f"recovered-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            self.autosave_dir.rename(target)
        except OSError as exc:
            self.warn(self, "Cannot recover the run", f"cannot move {self.autosave_dir}: {exc}")
            return False
        return self.open_run_folder(target)

    def save_to(self, path: str | Path) -> bool:
        """Write the configuration to ``path`` atomically; on failure say why."""
        path = Path(path)
        config = self.current_config()
        if config is None:
            self.warn(self, "Cannot save", self.settings_panel.error() or "The settings are not valid.")
            return False
        try:
            write_text_atomic(path, config.to_json())
        except ProjectError as exc:
            self.warn(self, "Cannot save configuration", str(exc))
            return False
        self._config, self._path, self._document = config, path, ""
        self.setWindowModified(False)
        self._update_title()
        self._remember_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def train(self) -> None:
        """What the Train action does (asks first if a run is going)."""
        self._on_train_triggered()

    # ================================================================== file handlers

    def _on_new_triggered(self) -> None:
        if self._confirm_discard():
            self.set_config(RunConfig())

    def _on_open_triggered(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._last_folder(), OPEN_FILTER)
        if path:
            self._settings.setValue("last_folder", str(Path(path).parent))
            self.open_path(path)

    def _on_open_run_triggered(self) -> None:
        if not self._confirm_discard():
            return
        folder = QFileDialog.getExistingDirectory(self, "Open run folder", self._last_folder())
        if folder:
            self._settings.setValue("last_folder", str(Path(folder).parent))
            self.open_run_folder(folder)

    def _on_recent_triggered(self, action: QAction) -> None:
        entry = action.data()
        if not isinstance(entry, str):
            return
        path = Path(entry)
        if not path.exists():
            self._settings.setValue("recent_files", [e for e in self.recent_files() if e != entry])
            self._rebuild_recent_menu()
            self.warn(self, "File not found", f"{path} no longer exists; it was removed from Open Recent.")
            return
        if self._confirm_discard():
            self.open_path(path)

    def _on_save_triggered(self) -> None:
        self._save()

    def _on_save_as_triggered(self) -> None:
        self._save_as()

    def _on_save_model_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Save model into a new or empty folder (or a run folder to replace)", self._last_folder()
        )
        if folder:
            self._settings.setValue("last_folder", str(Path(folder).parent))
            self.save_model_to(folder)

    def _on_export_history_triggered(self) -> None:
        path = self._ask_save_path("Export history", "history.csv", CSV_FILTER, ".csv")
        if path is not None:
            self.export_history_to(path)

    def _on_export_png_triggered(self) -> None:
        self._export_plots("png")

    def _on_export_svg_triggered(self) -> None:
        self._export_plots("svg")

    def _export_plots(self, fmt: str) -> None:
        name = self._document or (self._path.stem if self._path else self._config.name)
        filters = f"{fmt.upper()} (*.{fmt});;All files (*)"
        path = self._ask_save_path(
            f"Export plots (one file per plot: <name>-loss.{fmt}, …)", f"{Path(name).stem}.{fmt}", filters, f".{fmt}"
        )
        if path is not None:
            self.export_plots_to(path.with_suffix(""), fmt)

    def _on_export_script_triggered(self) -> None:
        config = self.current_config() or self._config
        name = "".join(c if c.isalnum() else "_" for c in config.name).strip("_") or "train"
        path = self._ask_save_path("Export training script", f"{name}.py", SCRIPT_FILTER, ".py")
        if path is not None:
            self.export_script_to(path)

    def _ask_save_path(self, title: str, name: str, filters: str, suffix: str) -> Path | None:
        start = str(Path(self._last_folder()) / name)
        chosen, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        if not chosen:
            return None
        path = Path(chosen)
        if not path.suffix:
            path = path.with_suffix(suffix)
        self._settings.setValue("last_folder", str(path.parent))
        return path

    def _last_folder(self) -> str:
        return str(self._path.parent) if self._path else str(self._settings.value("last_folder", ""))

    def _on_resume_triggered(self) -> None:
        if not self.resume_action.isEnabled() or self._run is not None:
            return
        saved = self._resumable()
        config = self.current_config()
        if saved is None or config is None:
            return
        # The run's thread gets a copy of the weights: the model itself stays with the canvas.
        start = dataclasses.replace(saved, model=files.WeightsOnly(saved.model.get_weights()))
        self._generation += 1
        self._start_run(config, self._generation, resume=start)

    def _on_preset_triggered(self, action: QAction) -> None:
        if not self._confirm_discard():
            return
        name = action.data()
        try:
            config = load_preset(str(name))
        except ProjectError as exc:
            self.warn(self, "Cannot load preset", str(exc))
            return
        self.set_config(config)

    def _on_show_training_triggered(self) -> None:
        self.tabs.setCurrentWidget(self.plots)

    def _on_show_results_triggered(self) -> None:
        self.tabs.setCurrentIndex(RESULTS_TAB)

    def _on_show_draw_triggered(self) -> None:
        self.tabs.setCurrentIndex(DRAW_TAB)
        assert self.predict_panel is not None  # built when its tab was shown
        self.predict_panel.canvas.setFocus()

    def _on_tab_changed(self, index: int) -> None:
        if index == DRAW_TAB:
            self._build_late_widgets()

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
        if self.confusion is None:
            from gui.confusion_view import ConfusionView

            self.confusion = ConfusionView()
            self._results_split.addWidget(self.confusion)
            self._results_split.setSizes([300, 1000])
            self.confusion.show()
            self._results_split.setStretchFactor(1, 2)
            if self._confusion_data is not None:
                self.confusion.set_evaluation(*self._confusion_data)

    def _set_predictor(self, predictor: Predictor | None, description: str) -> None:
        self._predictor = (predictor, description)
        if self.predict_panel is not None:
            self.predict_panel.set_predictor(predictor, description)

    def _set_class_names(self, names: tuple[str, ...]) -> None:
        self._class_names = names
        if self.predict_panel is not None:
            self.predict_panel.set_class_names(names)

    def _show_confusion(self, data: tuple[Evaluation, np.ndarray] | None) -> None:
        self._confusion_data = data
        if self.confusion is not None:
            if data is None:
                self.confusion.clear()
            else:
                self.confusion.set_evaluation(*data)

    # ================================================================== files

    def _save(self) -> bool:
        return self._save_as() if self._path is None else self.save_to(self._path)

    def _save_as(self) -> bool:
        start = str(self._path) if self._path else str(Path(self._last_folder()) / "run.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", start, CONFIG_FILTER)
        if not path:
            return False
        if not Path(path).suffix:
            path += ".json"
        self._settings.setValue("last_folder", str(Path(path).parent))
        return self.save_to(path)

    def _confirm_discard(self) -> bool:
        """Before unsaved changes would be dropped: Save (and go on if saved), Discard, or Cancel."""
        if not self.isWindowModified():
            return True
        answer = self.ask_save(
            self,
            "Unsaved changes",
            f"The configuration “{self._title_name()}” has unsaved changes. Save them first?",
        )
        if answer == "save":
            return self._save()
        return answer == "discard"

    def _remember_recent(self, path: Path) -> None:
        self._settings.setValue("recent_files", files.updated_recent(self.recent_files(), path))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.recent_files()
        for entry in entries:
            action = self.recent_menu.addAction(Path(entry).name or entry)
            action.setData(entry)
            action.setStatusTip(entry)
            action.setToolTip(entry)
        self.recent_menu.setEnabled(bool(entries))

    def _write_text(self, path: Path, text: str, title: str) -> bool:
        try:
            write_text_atomic(path, text)
        except ProjectError as exc:
            self.warn(self, title, str(exc))
            return False
        self.statusBar().showMessage(f"Wrote {path}", 4000)
        return True

    def _forget_model(self) -> None:
        """No model in memory to save or resume (a plain model, or a new run starting)."""
        self.last_result = None
        self._loaded_run = None
        self._idle_predictor = None

    def _resumable(self) -> SavedRun | None:
        """The model in memory as a run to continue, with its history and optimizer state."""
        if self._loaded_run is not None:
            return self._loaded_run
        result = self.last_result
        if result is None or not getattr(result, "optimizer_state", None):
            return None
        return SavedRun(
            Path(), result.config, result.model, list(result.history), result.layer_names, {}, result.optimizer_state
        )

    def _show_history(self, records: list[EpochRecord], names: tuple[str, ...], steps_per_epoch: int) -> None:
        self._history = (records, names, steps_per_epoch)
        self.plots.show_history(records, names, steps_per_epoch)

    def _current_history(self) -> tuple[list[EpochRecord], tuple[str, ...], int]:
        run = self._run
        if run is not None and run.info is not None:
            return run.prior_history + run.history, run.info.layer_names, run.info.steps_per_epoch
        return self._history

    def _show_saved_run(self, saved: SavedRun) -> None:
        """Show everything a run folder holds; the canvas uses its model from now on."""
        metrics = saved.metrics
        self.set_config(saved.config, document=saved.folder.name)
        self._show_history(saved.history, saved.layer_names, saved.steps_per_epoch)
        self._forget_model()
        self._loaded_run = saved
        evaluation = evaluation_from_metrics(metrics)
        finished = RunFinished(
            -1,
            end_reason_from_metrics(metrics),
            f"saved run {saved.folder.name}, {len(saved.history)} epochs",
            len(saved.history),
        )
        self.results.show_result(finished, evaluation)
        self._show_confusion(None)
        if evaluation is not None:
            self._set_class_names(evaluation.class_names)
            self.tabs.setTabText(RESULTS_TAB, f"Results ({evaluation.accuracy:.1%})")
            # The confusion view needs the test images: reload them in the background.
            self._images_generation += 1
            task = FunctionWorker(partial(load_test_images, saved.config), tag=(self._images_generation, saved))
            task.done.connect(self._on_test_images_done)
            self._threads.start(task, "test-images")
        else:
            self.tabs.setTabText(RESULTS_TAB, "Results")
        accuracy = f" · test accuracy {evaluation.accuracy:.1%}" if evaluation is not None else ""
        try:
            predictor: Predictor | None = DirectPredictor(saved.model)
        except ProjectError:
            predictor = None
        if predictor is not None:
            self._idle_predictor = (predictor, f"{saved.folder.name}{accuracy}")
            self._set_predictor(predictor, f"{saved.folder.name}{accuracy}")
        resume = " Resume Training continues it." if saved.optimizer_state else ""
        self.message_bar.show_message(
            f"Opened the run {saved.folder.name}: {len(saved.history)} epochs{accuracy}.{resume}", "info"
        )
        self.tabs.setCurrentWidget(self.plots)
        self._update_actions()

    def _on_test_images_done(self, tag: object, images: TestImages | None) -> None:
        """Score the opened run's model on its reloaded test split, for the confusion view.

        In the GUI thread, which owns the opened model. Shown only when the figures match
        the saved ones (the same test split); otherwise the saved table stays on its own.
        """
        if not isinstance(tag, tuple) or tag[0] != self._images_generation or tag[1] is not self._loaded_run:
            return
        if images is None or self._idle_predictor is None or self._run is not None:
            return
        saved = self._loaded_run
        assert saved is not None
        from model.evaluation import evaluate_predictions

        predictor = self._idle_predictor[0]
        try:
            batches = [
                predictor.submit(images.x_test[i : i + 1024]).result() for i in range(0, len(images.x_test), 1024)
            ]
        except Exception:  # noqa: BLE001 - the saved table still shows; the thumbnails are a bonus
            log.exception("could not score the opened run on its test split")
            return
        if not batches:
            return
        evaluation = evaluate_predictions(images.y_test, np.concatenate(batches), images.class_names, saved.config.loss)
        saved_figures = evaluation_from_metrics(saved.metrics)
        if saved_figures is None or not np.array_equal(saved_figures.confusion, evaluation.confusion):
            return
        self._show_confusion((evaluation, images.x_test))

    # ================================================================== editing handlers

    def _on_layers_changed(self) -> None:
        self._refresh_modified()
        self._update_actions()

    def _refresh_modified(self) -> None:
        """The title's mark: whether the configuration differs from what was last saved or opened."""
        config = self.current_config()
        self.setWindowModified(config is None or config.to_dict() != self._config.to_dict())

    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self._stack_problem = "" if valid else message
        self._update_actions()

    def _on_settings_changed(self) -> None:
        self._refresh_modified()
        config = self.current_config()
        if config is not None:
            shape, classes = self._data_shape
            self.designer.set_context(shape, classes, config.loss)
        self._update_actions()

    def _on_data_changed(self) -> None:
        self._refresh_data_counts()

    # ================================================================== TensorFlow

    def _on_tensorflow_loaded(self, device: str) -> None:
        self._tf_state, self._tf_message = "ready", ""
        self.device_label.setText(f"Device: {device}")
        self.device_label.setToolTip("The device TensorFlow trains on")
        self._build_late_widgets()  # their imports are loaded now: this is quick
        self._update_actions()
        if not self._recovery_offered:
            self.offer_recovery()

    def _on_tensorflow_failed(self, message: str) -> None:
        self._tf_state, self._tf_message = "failed", message
        self.device_label.setText("TensorFlow unavailable")
        self.message_bar.show_message(message, "error")
        self._update_actions()

    # ================================================================== dataset counts

    def _refresh_data_counts(self) -> None:
        """Count the configured dataset's split in the background (one task at a time).

        Loading MNIST takes a second or two and a few hundred MB, so a request while a
        count runs only marks it stale (its answer is dropped and one more count follows),
        and the same data, split and seed are not counted twice.
        """
        config = self.current_config() or self._config
        key = (config.data, config.split, config.seed)
        if key == self._counted_key:
            return  # counted already, or being counted
        if self._counts_busy:
            self._counts_stale = True
            self._counts_generation += 1  # drop the answer on its way
            return
        self._counts_generation += 1
        self._counts_busy, self._counts_stale = True, False
        self.data_label.setText(f"{data_title(config.data)}: counting…")
        self._counted_spec, self._counted_key = config.data, key
        task = FunctionWorker(
            partial(summarize_data, config.data, config.split, config.seed), tag=self._counts_generation
        )
        task.done.connect(self._on_counts_done)
        task.failed.connect(self._on_counts_failed)
        task.finished.connect(self._on_counts_finished)
        self._threads.start(task, "dataset-counts")

    def _on_counts_done(self, tag: object, summary: DataSummary) -> None:
        if tag != self._counts_generation:
            return
        self.settings_panel.set_split_counts(summary.counts_text)
        self.settings_panel.set_train_count(summary.n_train)
        self.data_label.setText(f"{data_title(self._counted_spec)} · {summary.description}")
        self.data_label.setToolTip(summary.source)
        self._data_shape = (summary.input_shape, summary.num_classes)
        loss = (self.current_config() or self._config).loss
        self.designer.set_context(summary.input_shape, summary.num_classes, loss)

    def _on_counts_failed(self, tag: object, message: str) -> None:
        if tag != self._counts_generation:
            return
        self._counted_key = None  # try again next time
        self.settings_panel.set_split_counts(message)
        self.data_label.setText("dataset unavailable")
        self.data_label.setToolTip(message)

    def _on_counts_finished(self) -> None:
        self._counts_busy = False
        if self._counts_stale:
            self._counted_key = None  # its answer was dropped: count again
            self._refresh_data_counts()

    # ================================================================== run control

    def _on_train_triggered(self) -> None:
        if not self.train_action.isEnabled():
            return
        config = self.current_config()
        if config is None:
            self.message_bar.show_message(
                self.settings_panel.error() or "The settings are not valid.", "error"
            )
            return
        if self._run is not None:
            if not self.ask(self, "Start a new run?", "A run is in progress. Stop it and start a new one?"):
                return
            # Old messages become stale now; the new run starts once the old thread has ended.
            self._generation += 1
            self._pending = config
            self._run.control.stop()
            self.progress_label.setText("Stopping the current run…")
            return
        self._generation += 1
        self._start_run(config, self._generation)

    def _start_run(self, config: RunConfig, run_id: int, resume: SavedRun | None = None) -> None:
        run = ActiveRun(
            run_id,
            config,
            RunControl(),
            PredictionMailbox(),
            learning_rate=config.optimizer.learning_rate,
            prior_history=list(resume.history) if resume is not None else [],
        )
        # The autosave of the last run is done with: its results are in memory (or were
        # declined at start-up). This run autosaves there after every epoch.
        remove_folder(self.autosave_dir)
        worker = TrainingWorker(
            config,
            run_id,
            run.control,
            run.mailbox,
            prepare=self._prepare,
            train=self._train,
            resume=resume,
            checkpoint_dir=self.autosave_dir,
        )
        self._connect_worker(worker)
        self._run = run
        self.message_bar.clear()
        self.results.clear()
        self._show_confusion(None)
        self.tabs.setTabText(RESULTS_TAB, "Results")
        self.progress_label.setText(f"Loading {config.data.name}…")
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(True)
        self.settings_panel.set_locked(True)
        self.designer.setEnabled(False)
        self._threads.start(worker, f"training-run-{run_id}")
        self._status_timer.start()
        self._update_actions()

    def _on_pause_triggered(self) -> None:
        run = self._run
        if run is None or run.control.stop_requested:
            return
        if not run.control.paused:
            run.control.pause()
            self.settings_panel.set_learning_rate_editable_only(True)
            self.progress_label.setText("Paused: you can change the learning rate, then Resume.")
        else:
            self._apply_learning_rate(run)
            self.settings_panel.set_locked(True)
            run.control.resume()
        self._update_actions()

    def _apply_learning_rate(self, run: ActiveRun) -> None:
        """On Resume: hand an edited learning rate to the run and mark it on the plots."""
        value = self.settings_panel.learning_rate()
        current = run.last_batch.learning_rate if run.last_batch else run.learning_rate
        if not value > 0 or math.isclose(value, current, rel_tol=1e-9):
            return
        run.control.set_learning_rate(value)
        run.learning_rate = value
        step = run.last_batch.step + 1 if run.last_batch else 0
        self.plots.mark(step, f"lr → {value:g}")

    def _on_stop_triggered(self) -> None:
        run = self._run
        if run is None or run.control.stop_requested:
            return
        was_paused = run.control.paused
        run.control.stop()
        if was_paused:
            self.settings_panel.set_locked(True)
        self.progress_label.setText("Stopping after the current batch…")
        self._update_actions()

    # ================================================================== run messages

    def _is_current(self, run_id: int) -> bool:
        return run_id == self._generation and self._run is not None and self._run.run_id == run_id

    def _on_data_ready(self, info: DataReady) -> None:
        if not self._is_current(info.run_id):
            return
        assert self._run is not None
        self._run.data = info
        self._set_class_names(info.class_names)
        self.data_label.setText(f"{data_title(self._run.config.data)} · {info.description}")
        self.data_label.setToolTip(info.source)
        self.progress_label.setText("Building the model…")
        if info.notice:
            self.message_bar.show_message(info.notice, "info")

    def _on_run_started(self, info: RunStarted) -> None:
        if not self._is_current(info.run_id):
            return
        assert self._run is not None
        self._run.info = info
        self._run.learning_rate = info.learning_rate
        self.plots.start_run(info, self._run.prior_history)
        if self._run.data is not None:
            # The canvas asks the live model; the run's thread answers between batches.
            live = MailboxPredictor(self._run.mailbox, self._run.data.input_shape)
            self._set_predictor(live, f"live model of run {info.run_id} (training)")
        if self.tabs.currentIndex() != DRAW_TAB:
            self.tabs.setCurrentWidget(self.plots)

    def _on_batch(self, record: BatchRecord) -> None:
        if not self._is_current(record.run_id):
            return
        assert self._run is not None
        self._run.last_batch = record
        self._run.batches_seen += 1
        self.plots.add_batch(record)

    def _on_epoch(self, record: EpochRecord) -> None:
        if not self._is_current(record.run_id):
            return
        assert self._run is not None
        self._run.history.append(record)
        self.plots.add_epoch(record)
        if record.note:
            self.statusBar().showMessage(f"Epoch {record.epoch + 1}: {record.note}", 8000)

    def _on_status_timer(self) -> None:
        run = self._run
        if run is None or run.last_batch is None:
            return
        if run.control.paused:
            return
        self.progress_label.setText(format_progress(run.last_batch, run.info))
        self.progress_bar.setValue(int(run.last_batch.progress * 1000))

    def _on_run_ended(self, info: RunFinished) -> None:
        if not self._is_current(info.run_id):
            return
        self.plots.refresh()
        if info.reason == "nan":
            self.message_bar.show_message(
                f"Training diverged: {info.message}. Try a smaller learning rate, gradient clipping "
                "(clipnorm) or a different initializer.",
                "error",
            )
        elif info.reason == "stopped":
            self.message_bar.show_message(f"Stopped: {info.message}", "info")
        elif info.reason == "early_stopping":
            self.message_bar.show_message(info.message, "info")
        self.progress_label.setText(info.message)

    def _on_result(self, result: RunResult) -> None:
        if not self._is_current(result.run_id):
            return
        self._forget_model()
        self.last_result = result
        assert self._run is not None
        self._run.has_result = True
        steps = self._run.info.steps_per_epoch if self._run.info is not None else 1
        self._history = (list(getattr(result, "history", [])), tuple(getattr(result, "layer_names", ())), steps)
        # The run's results are in memory now: its autosave is no longer needed.
        remove_folder(self.autosave_dir)
        self.results.show_result(result.finished, result.evaluation)
        images = self._run.data.test_images if self._run.data is not None else None
        if result.evaluation is not None and images is not None:
            self._show_confusion((result.evaluation, images))
        # The run's thread is done with the model: the GUI thread may use it from now on.
        accuracy = f" · test accuracy {result.evaluation.accuracy:.1%}" if result.evaluation else ""
        self._idle_predictor = (DirectPredictor(result.model), f"model of run {result.run_id}{accuracy}")
        if result.evaluation is not None:
            self.tabs.setTabText(RESULTS_TAB, f"Results ({result.evaluation.accuracy:.1%})")
            self.statusBar().showMessage(
                f"Test accuracy {result.evaluation.accuracy:.2%}, test loss {result.evaluation.loss:.4f}"
                " (see Results, Ctrl+2)",
                10000,
            )

    def _on_run_failed(self, failure: RunFailed) -> None:
        if not self._is_current(failure.run_id):
            return
        self.message_bar.show_message(failure.message, "error")
        self.message_bar.setToolTip(failure.details)
        self.progress_label.setText("Training failed.")

    def _on_worker_ended(self, run_id: int) -> None:
        """The run's thread is done with Keras: unlock the panels, start what waits."""
        if self._run is None or self._run.run_id != run_id:
            return
        run, self._run = self._run, None
        if run.info is not None or run.has_result:
            # The live model is gone; show the run's final model (or the last one there was).
            predictor, description = self._idle_predictor or (None, "")
            self._set_predictor(predictor, description)
        self._status_timer.stop()
        self.progress_bar.setVisible(False)
        self.settings_panel.set_locked(False)
        self.designer.setEnabled(True)
        self._update_actions()
        if self._close_when_idle:
            self.close()
        elif self._pending is not None:
            config, self._pending = self._pending, None
            self._start_run(config, self._generation)

    # ================================================================== state

    def _update_actions(self) -> None:
        reason = ""
        if self._tf_state != "ready":
            reason = self._tf_message
        elif self._stack_problem or not self.designer.is_valid():
            reason = f"Fix the layer stack first: {self._stack_problem or 'it cannot be built'}"
        elif self.settings_panel.error():
            reason = f"Fix the settings first: {self.settings_panel.error()}"
        elif self._pending is not None:
            reason = "Starting a new run once the current one has stopped…"
        running = self._run is not None
        stopping = running and self._run is not None and self._run.control.stop_requested
        paused = running and self._run is not None and self._run.control.paused
        self.train_action.setEnabled(not reason)
        self.train_reason.setText(reason)
        self.train_action.setToolTip(reason or "Train the network with these settings (Ctrl+Return)")
        self.pause_action.setEnabled(running and not stopping)
        self.pause_action.setText("&Resume" if paused else "&Pause")
        self.stop_action.setEnabled(running and not stopping)
        self.resume_action.setEnabled(not reason and not running and self._resumable() is not None)
        self.save_model_action.setEnabled(
            not running and (self.last_result is not None or self._loaded_run is not None)
        )
        for action in (
            self.new_action,
            self.open_action,
            self.open_run_action,
            self.recent_menu.menuAction(),
            self.presets_menu.menuAction(),
        ):
            action.setEnabled(not running)

    def _title_name(self) -> str:
        return self._path.name if self._path else (self._document or self._config.name)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self._title_name()}[*] — Gradient Lab")

    def _load_into_panels(self, config: RunConfig) -> None:
        self.designer.set_layers(config.layers)
        self.settings_panel.set_config(config)
        shape, classes = self._data_shape
        self.designer.set_context(shape, classes, config.loss)
        self._stack_problem = "" if self.designer.is_valid() else self._first_problem()

    def _first_problem(self) -> str:
        problems = self.designer.report().problems
        return problems[0].message if problems else ""

    # ================================================================== settings

    def _restore_config(self) -> RunConfig:
        text = self._settings.value("config")
        if isinstance(text, str) and text:
            try:
                return config_from_json(text)
            except ProjectError as exc:
                log.warning("ignoring the remembered configuration: %s", exc)
        return RunConfig()

    def _restore_geometry(self) -> None:
        geometry = self._settings.value("geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            state = self._settings.value("splitters")
            if isinstance(state, list) and len(state) == 2:
                self.main_splitter.restoreState(QByteArray(state[0]))
                self.left_splitter.restoreState(QByteArray(state[1]))
        else:
            self.resize(1440, 900)

    def _save_settings(self) -> None:
        self._settings.setValue("geometry", self.saveGeometry())
        self._settings.setValue("splitters", [self.main_splitter.saveState(), self.left_splitter.saveState()])
        config = self.current_config()
        if config is not None:
            self._settings.setValue("config", config.to_json())
        self._settings.sync()

    # ================================================================== closing

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Ask about unsaved changes, then stop a run and wait for its thread (up to
        :data:`CLOSE_TIMEOUT_S`) before closing."""
        if not self._close_confirmed:
            if not self._confirm_discard():
                event.ignore()
                return
            self._close_confirmed = True
        self._save_settings()
        self._pending = None
        if self._run is not None:
            self._run.control.stop()
            self._close_when_idle = True
            self.progress_label.setText("Stopping the run before closing…")
        if not self._threads.wait(CLOSE_TIMEOUT_S):
            # Never destroy a running thread: close when the worker reports it has ended.
            self.message_bar.show_message(
                "The run is still stopping (a long batch?); the window closes as soon as it has.", "warning"
            )
            event.ignore()
            return
        self._run = None
        self._status_timer.stop()
        event.accept()
