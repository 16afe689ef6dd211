"""The training settings panel: every part of a run except its layers and its name.

:class:`TrainingSettings` edits loss, optimizer, learning-rate schedule, initialization
and regularization, batches and epochs, early stopping, data and split, and augmentation.
It shows only the parameters that apply (``OPTIMIZER_PARAMS``, ``SCHEDULE_PARAMS``), folds
into collapsible sections to fit a narrow side panel, and explains the gradient-descent
mode in words ("Mini-batch: 438 updates per epoch of 56,000 samples").

The sections sit on two pages, "Training" and "Data" (:data:`PAGES`), each scrolling on its
own: below a layer designer at 1280x800 a single scrolling column left the dataset chooser
below the fold. The learning rate heads the Training page, the dataset the Data page, and
the Data tab names the dataset chosen, so both are in view or one click away; pausing a
run shows the Training page (:meth:`TrainingSettings.set_learning_rate_editable_only`),
where the one control editable while paused is. An error in a field shows its page.

The panel is a stack of sections (:mod:`gui.settings.sections`,
:mod:`gui.settings.data_sections`), each declaring its widgets once by config path, and
one :class:`~gui.binding.FormBinder` that all of them bind to. The panel holds no
configuration of its own beyond its controls: :meth:`~TrainingSettings.set_config` fills
them, :meth:`~TrainingSettings.apply_to` writes them into a copy of a
:class:`~model.config.RunConfig`. A combination the core rejects is shown in place, next
to the section owning the field, and through :meth:`~TrainingSettings.error`.

Run ``python -m gui.settings`` (or ``python -m gui.settings_panel``) to look at it alone.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.binding import FormBinder, FormRows
from gui.settings.controls import error_label
from gui.settings.data_sections import AugmentationSection, DataSection
from gui.settings.sections import (
    BatchesSection,
    EarlyStoppingSection,
    LossAndOptimizerSection,
    ScheduleSection,
    Section,
    WeightsSection,
)
from gui.widgets import CollapsibleSection, guard_wheel
from model.catalogue import DATASET_TEXT
from model.config import RunConfig
from model.errors import ConfigError

PAGES: tuple[tuple[str, tuple[type[Section], ...]], ...] = (
    (
        "Training",
        (LossAndOptimizerSection, ScheduleSection, WeightsSection, BatchesSection, EarlyStoppingSection),
    ),
    ("Data", (DataSection, AugmentationSection)),
)
"""The panel's pages, each a title and its sections from top to bottom."""

SECTIONS: tuple[type[Section], ...] = tuple(kind for _title, kinds in PAGES for kind in kinds)

S = TypeVar("S", bound=Section)

# Edits under these paths change which samples are loaded or how they are split.
RELOADING_PATHS = ("data", "split", "seed")


def _reloads_data(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in RELOADING_PATHS)


class TrainingSettings(QWidget):
    """Edit every training setting of a :class:`RunConfig` except its layers and name.

    Args:
        config: the configuration to show first (the defaults when omitted).
        parent: the Qt parent.

    Signals:
        configChanged: after any edit by the user (never while :meth:`set_config` fills
            the controls). The new settings may be invalid: check :meth:`error` or catch
            the :class:`ConfigError` from :meth:`apply_to`.
        dataChanged: after an edit of the dataset, its path or sample limit, the split or
            the seed (always together with configChanged), so the data can be reloaded.
    """

    configChanged = Signal()
    dataChanged = Signal()

    def __init__(self, config: RunConfig | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config = RunConfig()
        self._error: str | None = None
        self._binder = FormBinder(self)
        self._build()
        guard_wheel(self)
        self._binder.edited.connect(self._on_edited)
        self.set_config(config if config is not None else RunConfig())

    # ------------------------------------------------------------------ public interface

    def set_config(self, config: RunConfig) -> None:
        """Fill every control from ``config`` without emitting configChanged or dataChanged.

        Raises:
            ConfigError: a value no control can show (see :meth:`FormBinder.fill`); the
                panel then shows what it showed.
        """
        self._binder.fill(config)
        self._config = config
        self._name_data_tab()
        self._revalidate()

    def apply_to(self, config: RunConfig) -> RunConfig:
        """``config`` with this panel's settings written into it (layers and name kept).

        Raises:
            ConfigError: when the settings do not form a valid configuration (for example
                dataset "file" without a path); the panel shows the same message in place.
        """
        return self._binder.apply(config)

    def error(self) -> str | None:
        """Why the current settings are not a valid configuration, or ``None`` if they are."""
        return self._error

    def learning_rate(self) -> float:
        """The learning rate as set now, typed digits included (the one control left editable while paused)."""
        return float(self._binder.value("optimizer.learning_rate"))

    def set_split_counts(self, text: str) -> None:
        """Show the per-class counts of the loaded split (plain text; "" hides it)."""
        self._section(DataSection).set_split_counts(text)

    def set_browse_folder(self, folder: str) -> None:
        """Where the data dialogs start while no data path is set and none was chosen yet."""
        self._section(DataSection).default_folder = folder

    def set_train_count(self, n: int | None) -> None:
        """Tell the panel how many training samples there are, to count updates per epoch."""
        self._section(BatchesSection).set_train_count(n)

    def set_locked(self, locked: bool) -> None:
        """Disable every control (while a run is going), or enable them all again."""
        if locked:
            self._binder.lock()
        else:
            self._binder.unlock()

    def set_learning_rate_editable_only(self, only: bool) -> None:
        """Leave only the learning rate editable (while a run is paused), or enable all again.

        This and :meth:`set_locked` set one state; the latest call wins.
        """
        if only:
            self._binder.lock_all_except("optimizer.learning_rate")
            self.show_page("Training")
        else:
            self._binder.unlock()

    def show_page(self, title: str) -> None:
        """Show the page called ``title`` ("Training" or "Data")."""
        self.pages.setCurrentIndex(self._page_titles.index(title))

    def current_page(self) -> str:
        """The title of the page shown now."""
        return self._page_titles[self.pages.currentIndex()]

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        general = error_label()
        layout.addWidget(general)
        self._binder.add_error_target(general, ("",))  # errors no section owns, e.g. about layers
        self.pages = QTabWidget()
        self.pages.setObjectName("settings-pages")
        self.pages.setDocumentMode(True)
        layout.addWidget(self.pages, 1)
        self._page_titles = [title for title, _kinds in PAGES]
        self._sections: list[Section] = []
        forms: list[QFormLayout] = []
        for index, (title, kinds) in enumerate(PAGES):
            page = QWidget()
            column = QVBoxLayout(page)
            column.setContentsMargins(6, 6, 6, 6)
            column.setSpacing(6)
            for kind in kinds:
                body = QWidget()
                form = QFormLayout(body)
                form.setContentsMargins(4, 2, 0, 4)
                form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
                form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
                collapsible = CollapsibleSection(kind.title, body, kind.about, kind.expanded)
                errors = error_label()
                target = self._binder.add_error_target(
                    errors, kind.owns, reveal=lambda c=collapsible, i=index: self._reveal(i, c)
                )
                self._sections.append(kind(FormRows(form, self._binder, target), self))
                form.addRow(errors)
                forms.append(form)
                column.addWidget(collapsible)
            column.addStretch(1)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(page)
            scroll.setMinimumHeight(40)  # the window's minimum height stays what it was with one page
            self.pages.addTab(scroll, title)
        for button in self.pages.tabBar().findChildren(QToolButton):  # shown when the tabs do not fit
            button.setToolTip("Show the other settings pages.")
        self._align_labels(forms)

    def _reveal(self, page: int, section: CollapsibleSection) -> None:
        """Show a section with an error: its page, unfolded."""
        self.pages.setCurrentIndex(page)
        section.set_expanded(True)

    def _name_data_tab(self) -> None:
        """The Data tab says which dataset is chosen ("Data: MNIST"), seen from the Training page."""
        name = str(self._binder.value("data.name"))
        label = DATASET_TEXT.get(name, (name, ""))[0]
        index = self._page_titles.index("Data")
        self.pages.setTabText(index, f"Data: {label}")
        self.pages.setTabToolTip(index, "The dataset, its split and augmentation.")

    def _section(self, kind: type[S]) -> S:
        return next(s for s in self._sections if isinstance(s, kind))

    @staticmethod
    def _align_labels(forms: list[QFormLayout]) -> None:
        """Give every section the same label column, so the fields line up down the panel."""
        labels = [
            item.widget()
            for form in forms
            for row in range(form.rowCount())
            if (item := form.itemAt(row, QFormLayout.ItemRole.LabelRole)) is not None
            and isinstance(item.widget(), QLabel)
        ]
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(width)

    # ------------------------------------------------------------------ handlers

    def _on_edited(self, path: str) -> None:
        self._name_data_tab()
        self._revalidate()
        self.configChanged.emit()
        if _reloads_data(path):
            self.dataChanged.emit()

    def _revalidate(self) -> None:
        try:
            self.apply_to(self._config)
        except ConfigError as exc:
            self._error = str(exc)
            self._binder.show_error(exc)
        else:
            self._error = None
            self._binder.show_error(None)


def main() -> int:
    """Show the panel on its own, printing the configuration on each change."""
    app = QApplication.instance() or QApplication(sys.argv)
    panel = TrainingSettings()
    panel.setWindowTitle("Gradient Lab - training settings")
    panel.resize(370, 800)

    def on_changed() -> None:
        print(panel.error() or panel.apply_to(RunConfig()).to_json(), flush=True)

    panel.configChanged.connect(on_changed)
    panel.dataChanged.connect(lambda: print("data changed: reload counts", flush=True))
    panel.set_train_count(56_000)
    panel.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
