"""The Compare tab: pick what to compare, start it, and watch every trial side by side.

:class:`ComparePanel` is the view of a :class:`~model.session.ComparisonSession` (it
implements :class:`~model.session.ComparisonView`) and turns the user's input into its
intents; the session decides everything. From top to bottom:

- the picker: *Vary settings* (one or two settings of the current configuration, each
  picked from its config paths, with the values to try, comma-separated) or a built-in
  experiment, whose two sentences on what to look for show beneath it; the Ray cluster
  address (empty: a local instance on this machine), with the note that one trial trains
  on one node when a cluster is given; *Start* and *Stop all*;
- a message line (what started, each trial's end, what failed);
- the plots (:mod:`gui.compare_plots`) above the results table (:mod:`gui.compare_table`),
  in a splitter.

Run ``python -m gui.compare_panel`` for a look at the panel on its own (it trains on a
small slice of MNIST in this process, without Ray).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui import dialogs
from gui.compare_plots import ComparePlots
from gui.compare_table import TrialTable
from model.experiments import CLUSTER_NOTICE, ComparisonState, ResultsTable, TrialRecord
from model.session import CompareState, Level

if TYPE_CHECKING:
    from model.experiments.engine import EngineName
    from model.session import ComparisonSession, RunSession

VARY_ROWS: Final = 2
VARY_CHOICE: Final = "Vary settings…"
NO_SETTING: Final = "(none)"
DEFAULT_VARY: Final = ("optimizer.learning_rate", "0.1, 0.01, 0.001")
_LEVEL_COLORS: Final = {"info": "palette(text)", "warning": "#8A5A00", "error": "#B2182B"}
_VARY_TEXT: Final = (
    "<b>Vary settings</b> of the current configuration: pick one or two settings and the values to try, "
    "separated by commas. Every combination is a trial; the trials share the seed, the data, its split and "
    "the batch order, so the difference is the setting alone."
)


class ComparePanel(QWidget):
    """The Compare tab (module docstring).

    Args:
        session: the run session; the panel attaches Compare mode to it.
        comparisons_dir: where new comparison folders are made.
        reveal: shows this tab (an opened comparison, View → Compare).
        show_draw: shows the Draw tab (a trial's model answers it now).
        engine: ``ray`` (the window's) or ``in-process`` (tests, the manual look).
    """

    def __init__(
        self,
        session: RunSession,
        comparisons_dir: Path,
        *,
        reveal: Callable[[], None] = lambda: None,
        show_draw: Callable[[], None] = lambda: None,
        engine: EngineName = "ray",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._reveal = reveal
        self._show_draw = show_draw
        self.compare: ComparisonSession = session.attach_compare(self, comparisons_dir, engine=engine)
        self._build()
        self._connect()
        self._on_experiment_changed()
        self.show_compare_state(self.compare.compare_state())

    @classmethod
    def add_to(
        cls, tabs: QTabWidget, session: RunSession, comparisons_dir: Path, show_draw: Callable[[], None]
    ) -> ComparePanel:
        """A Compare tab added to ``tabs`` (the window's), which shows itself when it has to."""
        panel = cls(session, comparisons_dir, show_draw=show_draw, reveal=lambda: tabs.setCurrentWidget(panel))
        tabs.addTab(panel, "Compare")
        return panel

    # ================================================================== construction

    def _build(self) -> None:
        self.experiment = QComboBox()
        self.experiment.setObjectName("compare-experiment")
        # The tab must not widen the window's minimum: long titles are cut in the closed combo.
        self.experiment.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.experiment.setMinimumContentsLength(10)
        self.experiment.addItem(VARY_CHOICE, None)
        for spec in self.compare.builtins():
            self.experiment.addItem(spec.title, spec.key)
            self.experiment.setItemData(self.experiment.count() - 1, spec.varies, Qt.ItemDataRole.ToolTipRole)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("compare-start")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop all")
        self.stop_button.setObjectName("compare-stop-all")
        self.stop_button.setToolTip("Stop every trial after its current batch; what ended is kept")
        self.description = QLabel()
        self.description.setObjectName("compare-description")
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        self.description.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.paths: list[QComboBox] = []
        self.values: list[QLineEdit] = []
        self._vary_box = QWidget()
        vary = QFormLayout(self._vary_box)
        vary.setContentsMargins(0, 0, 0, 0)
        for i in range(VARY_ROWS):
            path = QComboBox()
            path.setObjectName(f"compare-path-{i}")
            path.setEditable(True)
            path.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            path.setMinimumContentsLength(12)
            path.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            path.setToolTip("A setting by its config path, e.g. optimizer.name or layers[1].units")
            values = QLineEdit()
            values.setObjectName(f"compare-values-{i}")
            values.setPlaceholderText("values, e.g. sgd, adam" if i else "values, e.g. 0.1, 0.01, 0.001")
            row = QHBoxLayout()
            row.addWidget(path, 2)
            row.addWidget(values, 3)
            vary.addRow(f"Setting {i + 1}:", row)
            self.paths.append(path)
            self.values.append(values)
        self._fill_paths()
        self.paths[0].setCurrentText(DEFAULT_VARY[0])
        self.values[0].setText(DEFAULT_VARY[1])
        self.address = QLineEdit(self.compare.address_setting)
        self.address.setObjectName("compare-address")
        self.address.setPlaceholderText("this machine (a local Ray instance)")
        self.address.setToolTip("A running Ray cluster's address (host:port or ray://host:10001); empty: this machine")
        self.cluster_note = QLabel(CLUSTER_NOTICE)
        self.cluster_note.setObjectName("compare-cluster-note")
        self.cluster_note.setWordWrap(True)
        self.cluster_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cluster_note.setStyleSheet("color: palette(mid);")
        self.message = QLabel()
        self.message.setObjectName("compare-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setVisible(False)  # until there is something to say
        self.plots = ComparePlots()
        self.table = TrialTable()

        picker = QHBoxLayout()
        picker.addWidget(QLabel("Compare:"))
        picker.addWidget(self.experiment, 1)
        picker.addWidget(self.start_button)
        picker.addWidget(self.stop_button)
        engine = QHBoxLayout()
        engine.addWidget(QLabel("Ray cluster:"))
        engine.addWidget(self.address, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("compare-splitter")
        self.splitter.addWidget(self.plots)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(picker)
        layout.addWidget(self.description)
        layout.addWidget(self._vary_box)
        layout.addLayout(engine)
        layout.addWidget(self.cluster_note)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        self._update_cluster_note()

    def _connect(self) -> None:
        self.experiment.currentIndexChanged.connect(self._on_experiment_changed)
        self.start_button.clicked.connect(self._on_start)
        self.stop_button.clicked.connect(self._on_stop_all)
        self.address.editingFinished.connect(self._on_address_edited)
        self.table.actionRequested.connect(self._on_trial_action)
        for values in self.values:
            values.returnPressed.connect(self._on_start)

    def _fill_paths(self) -> None:
        """Offer the current configuration's settings (its layers change what there is)."""
        choices = [NO_SETTING, *self.compare.setting_paths()]
        for combo in self.paths:
            text = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(choices)
            combo.setCurrentText(text if text else NO_SETTING)
            completer = QCompleter(choices, combo)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            combo.setCompleter(completer)
            combo.blockSignals(False)

    # ================================================================== intents

    def vary_rows(self) -> list[tuple[str, str]]:
        """The vary rows as ``(path, values)``; rows without a setting are left out."""
        rows = []
        for path, values in zip(self.paths, self.values, strict=True):
            name = path.currentText().strip()
            if name and name != NO_SETTING:
                rows.append((name, values.text()))
        return rows

    def _on_experiment_changed(self) -> None:
        key = self.experiment.currentData()
        self._vary_box.setVisible(key is None)
        if key is None:
            self.description.setText(_VARY_TEXT)
            return
        spec = next(s for s in self.compare.builtins() if s.key == key)
        self.description.setText(f"<b>{spec.title}</b> — varies {spec.varies}.<br>{spec.look_for}")

    def _on_start(self) -> None:
        self._fill_paths()
        key = self.experiment.currentData()
        self.compare.start(key, () if key else self.vary_rows())

    def _on_stop_all(self) -> None:
        self.compare.stop_all()

    def _on_address_edited(self) -> None:
        if self.address.text().strip() != self.compare.address_setting:
            self.compare.set_address(self.address.text())
        self._update_cluster_note()

    def _update_cluster_note(self) -> None:
        self.cluster_note.setVisible(self.compare.engine == "ray" and self.compare.address() is not None)

    def _on_trial_action(self, action: str, trial_id: int) -> None:
        if action == "stop":
            self.compare.stop_trial(trial_id)
        elif action == "open":
            self.compare.open_trial(trial_id)
        elif action == "draw":
            self.compare.use_in_draw(trial_id)
        elif action == "save":
            session = self.compare.session
            title = f"Save trial {trial_id + 1} into a new or empty folder"
            if folder := dialogs.choose_folder(self, title, session.last_folder()):
                session.remember_folder(folder.parent)
                self.compare.save_trial(trial_id, folder)

    def on_open_comparison(self) -> None:
        """File → Open Comparison…: a comparison folder (a sweep's ``--out``, or one of this tab's)."""
        session = self.compare.session
        start = str(self.compare.comparisons_dir) if self.compare.comparisons_dir.is_dir() else session.last_folder()
        if folder := dialogs.choose_folder(self, "Open comparison folder", start):
            self.compare.open_comparison(folder)

    def reveal(self) -> None:
        """View → Compare."""
        self._reveal()

    # ================================================================== ComparisonView

    def show_comparison(self, state: ComparisonState) -> None:
        self.plots.show_comparison(state)
        self.table.set_table(state.table)
        self._reveal()

    def comparison_record(self, trial_id: int, record: TrialRecord) -> None:
        self.plots.add_record(trial_id, record)

    def show_trial_table(self, table: ResultsTable) -> None:
        self.table.set_table(table)

    def show_comparison_message(self, text: str, level: Level) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setStyleSheet(f"color: {_LEVEL_COLORS.get(level, 'palette(text)')};")
        self.message.setToolTip(text)

    def show_compare_state(self, state: CompareState) -> None:
        self.start_button.setEnabled(state.can_start)
        self.start_button.setToolTip(state.start_reason or "Start the comparison: every trial streams here")
        self.stop_button.setEnabled(state.running and not state.stopping)
        for widget in (self.experiment, self._vary_box, self.address):
            widget.setEnabled(not state.running)
        self._update_cluster_note()

    def show_in_draw(self, description: str) -> None:
        self._show_draw()

    # ================================================================== Qt

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._fill_paths()


if __name__ == "__main__":  # pragma: no cover - a manual look
    import sys
    import tempfile
    from unittest.mock import MagicMock

    from PySide6.QtWidgets import QApplication

    from gui.dispatch import QtDispatch
    from model.config import DataSpec, RunConfig
    from model.session import MemoryStore, RunSession, SessionView
    from model.worker_process import ProcessRunner

    app = QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="compare-"))
    holder = QWidget()
    config = RunConfig(epochs=3, data=DataSpec(name="mnist", limit=2000))
    store = MemoryStore({"config": config.to_json()})
    run_session = RunSession(
        MagicMock(spec=SessionView), runner=ProcessRunner(), dispatch=QtDispatch(holder), store=store,
        autosave_dir=folder / "autosave",
    )  # fmt: skip
    panel = ComparePanel(run_session, folder / "comparisons", engine="in-process")
    panel.resize(1200, 800)
    panel.show()
    code = app.exec()
    run_session.shutdown()
    sys.exit(code)
