"""The training settings panel: every part of a run except its layers and its name.

:class:`TrainingSettings` edits loss, optimizer, learning-rate schedule, initialization
and regularization, batches and epochs, early stopping, data and split, and augmentation.
It shows only the parameters that apply (``OPTIMIZER_PARAMS``, ``SCHEDULE_PARAMS``), folds
into collapsible sections to fit a narrow side panel, and explains the gradient-descent
mode in words ("Mini-batch: 438 updates per epoch of 56,000 samples").

The panel holds no configuration of its own beyond its controls: :meth:`set_config` fills
them, :meth:`apply_to` writes them into a copy of a :class:`~model.config.RunConfig`. A
combination the core rejects is shown in place, next to the section it concerns, and
through :meth:`TrainingSettings.error`.

Run ``python -m gui.settings_panel`` to look at it on its own.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import CollapsibleSection, OptionalSpinBox, ScientificSpinBox
from model.catalogue import DATASET_TEXT, LOSS_TEXT, MODE_LABELS, MONITOR_TEXT, OPTIMIZER_TEXT, SCHEDULE_TEXT
from model.config import (
    INITIALIZERS,
    MONITORS,
    OPTIMIZER_PARAMS,
    SCHEDULE_PARAMS,
    RunConfig,
)
from model.errors import ConfigError

# Gradient-descent modes and what a batch size means for each.
FULL, MINI, STOCHASTIC = "full", "mini", "stochastic"

# Which section shows an error about a field, by the field path's first component.
_SECTION_OF_FIELD = {
    "loss": "optimizer",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "initializer": "weights",
    "l1": "weights",
    "l2": "weights",
    "batch_size": "batches",
    "epochs": "batches",
    "report_every": "batches",
    "early_stopping": "early_stopping",
    "seed": "data",
    "data": "data",
    "split": "data",
    "augmentation": "augmentation",
}

# What the panel allows editing: everything, only the learning rate, or nothing.
EDITABLE, LEARNING_RATE_ONLY, LOCKED = "editable", "learning_rate_only", "locked"


def _narrow_combo() -> QComboBox:
    """A combo box that does not insist on being as wide as its longest item."""
    box = QComboBox()
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(8)
    return box


def _combo(items: dict[str, tuple[str, str]] | tuple[str, ...], tip: str) -> QComboBox:
    """A combo box whose item data are the config values, with per-item tooltips."""
    box = _narrow_combo()
    if isinstance(items, dict):
        for value, (label, about) in items.items():
            box.addItem(label, value)
            box.setItemData(box.count() - 1, about, Qt.ItemDataRole.ToolTipRole)
    else:
        for value in items:
            box.addItem(value, value)
    box.setToolTip(tip)
    return box


def _spin(low: int, high: int, tip: str, unit: str = "", step: int = 1) -> QSpinBox:
    """An integer spin box; ``unit`` (e.g. "epoch") is shown after the number, pluralized."""
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setToolTip(tip)
    box.setGroupSeparatorShown(True)
    if unit:
        plural = {"batch": "batches"}.get(unit, f"{unit}s")

        def show_unit(value: int) -> None:
            box.setSuffix(f" {unit}" if value == 1 else f" {plural}")

        box.valueChanged.connect(show_unit)
        show_unit(box.value())
    return box


def _fraction(
    low: float, high: float, decimals: int, step: float, tip: str, suffix: str = ""
) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    return box


def _science(low: float, high: float, tip: str, smallest_step: float = 1e-6) -> ScientificSpinBox:
    box = ScientificSpinBox(low, high, smallest_step)
    box.setToolTip(tip)
    return box


def _check(text: str, tip: str) -> QCheckBox:
    box = QCheckBox(text)
    box.setToolTip(tip)
    return box


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #c62828;")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _select_data(box: QComboBox, value: object) -> None:
    box.setCurrentIndex(max(0, box.findData(value)))


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
        self._filling = False
        self._error: str | None = None
        self._train_count: int | None = None
        self._mode = EDITABLE
        self._last_path = ""
        self._build()
        self._connect()
        self.set_config(config if config is not None else RunConfig())

    # ------------------------------------------------------------------ public interface

    def set_config(self, config: RunConfig) -> None:
        """Fill every control from ``config`` without emitting configChanged or dataChanged."""
        self._config = config
        self._filling = True
        try:
            _select_data(self._loss, config.loss)
            opt = config.optimizer
            _select_data(self._optimizer, opt.name)
            self._learning_rate.setValue(opt.learning_rate)
            self._momentum.setValue(opt.momentum)
            self._nesterov.setChecked(opt.nesterov)
            self._beta_1.setValue(opt.beta_1)
            self._beta_2.setValue(opt.beta_2)
            self._rho.setValue(opt.rho)
            self._epsilon.setValue(opt.epsilon)
            self._weight_decay.setValue(opt.weight_decay)
            self._clipnorm.setValue(opt.clipnorm)
            schedule = config.schedule
            _select_data(self._schedule, schedule.kind)
            self._step_epochs.setValue(schedule.step_epochs)
            self._factor.setValue(schedule.factor)
            self._schedule_patience.setValue(schedule.patience)
            self._min_learning_rate.setValue(schedule.min_learning_rate)
            _select_data(self._initializer, config.initializer)
            self._l1.setValue(config.l1)
            self._l2.setValue(config.l2)
            if config.batch_size == "full":
                _select_data(self._mode_box, FULL)
            elif config.batch_size == 1:
                _select_data(self._mode_box, STOCHASTIC)
            else:
                _select_data(self._mode_box, MINI)
                self._batch_size.setValue(int(config.batch_size))
            self._epochs.setValue(config.epochs)
            self._report_every.setValue(config.report_every)
            stopping = config.early_stopping
            self._stop_enabled.setChecked(stopping.enabled)
            _select_data(self._monitor, stopping.monitor)
            self._stop_patience.setValue(stopping.patience)
            self._min_delta.setValue(stopping.min_delta)
            self._restore_best.setChecked(stopping.restore_best_weights)
            _select_data(self._dataset, config.data.name)
            self._path.setText(config.data.path or "")
            self._last_path = self._path.text()
            self._limit.setValue(config.data.limit)
            self._seed.setValue(config.seed)
            self._train.setValue(config.split.train)
            self._validation.setValue(config.split.validation)
            self._test.setValue(config.split.test)
            self._stratified.setChecked(config.split.stratified)
            self._official_test.setChecked(config.split.official_test)
            aug = config.augmentation
            self._augment.setChecked(aug.enabled)
            self._shift.setValue(aug.shift)
            self._rotation.setValue(aug.rotation)
            self._zoom.setValue(aug.zoom)
            self._thickness.setValue(aug.thickness)
        finally:
            self._filling = False
        self._refresh()

    def apply_to(self, config: RunConfig) -> RunConfig:
        """``config`` with this panel's settings written into it (layers and name kept).

        Raises:
            ConfigError: when the settings do not form a valid configuration (for example
                dataset "file" without a path); the panel shows the same message in place.
        """
        optimizer = replace(
            config.optimizer,
            name=self._optimizer.currentData(),
            learning_rate=self._learning_rate.current_value(),
            momentum=self._momentum.value(),
            nesterov=self._nesterov.isChecked(),
            beta_1=self._beta_1.value(),
            beta_2=self._beta_2.value(),
            rho=self._rho.value(),
            epsilon=self._epsilon.current_value(),
            weight_decay=self._weight_decay.current_value(),
            clipnorm=self._clipnorm.value(),
        )
        schedule = replace(
            config.schedule,
            kind=self._schedule.currentData(),
            step_epochs=self._step_epochs.value(),
            factor=self._factor.value(),
            patience=self._schedule_patience.value(),
            min_learning_rate=self._min_learning_rate.current_value(),
        )
        early_stopping = replace(
            config.early_stopping,
            enabled=self._stop_enabled.isChecked(),
            monitor=self._monitor.currentData(),
            patience=self._stop_patience.value(),
            min_delta=self._min_delta.current_value(),
            restore_best_weights=self._restore_best.isChecked(),
        )
        limit = self._limit.value()
        data = replace(
            config.data,
            name=self._dataset.currentData(),
            path=self._path.text().strip() or None,
            limit=None if limit is None else int(limit),
        )
        split = replace(
            config.split,
            train=self._train.value(),
            validation=self._validation.value(),
            test=self._test.value(),
            stratified=self._stratified.isChecked(),
            official_test=self._official_test.isChecked(),
        )
        augmentation = replace(
            config.augmentation,
            enabled=self._augment.isChecked(),
            shift=self._shift.value(),
            rotation=self._rotation.value(),
            zoom=self._zoom.value(),
            thickness=self._thickness.value(),
        )
        return config.replace(
            loss=self._loss.currentData(),
            optimizer=optimizer,
            schedule=schedule,
            initializer=self._initializer.currentData(),
            l1=self._l1.current_value(),
            l2=self._l2.current_value(),
            batch_size=self._batch_size_value(),
            epochs=self._epochs.value(),
            early_stopping=early_stopping,
            seed=self._seed.value(),
            data=data,
            split=split,
            augmentation=augmentation,
            report_every=self._report_every.value(),
        )

    def error(self) -> str | None:
        """Why the current settings are not a valid configuration, or ``None`` if they are."""
        return self._error

    def learning_rate(self) -> float:
        """The learning rate as set now, typed digits included (the one control left editable while paused)."""
        return self._learning_rate.current_value()

    def set_split_counts(self, text: str) -> None:
        """Show the per-class counts of the loaded split (plain text; "" hides it)."""
        self._counts.setText(text)
        self._counts.setVisible(bool(text))

    def set_train_count(self, n: int | None) -> None:
        """Tell the panel how many training samples there are, to count updates per epoch."""
        self._train_count = n if n is None else max(0, int(n))
        self._update_mode_text()

    def set_locked(self, locked: bool) -> None:
        """Disable every control (while a run is going), or enable them all again."""
        self._mode = LOCKED if locked else EDITABLE
        self._refresh_enabled()

    def set_learning_rate_editable_only(self, only: bool) -> None:
        """Leave only the learning rate editable (while a run is paused), or enable all again.

        This and :meth:`set_locked` set one state; the latest call wins.
        """
        self._mode = LEARNING_RATE_ONLY if only else EDITABLE
        self._refresh_enabled()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self._general_error = _error_label()
        self._section_errors: dict[str, QLabel] = {}
        self._sections: dict[str, CollapsibleSection] = {}
        forms: list[QFormLayout] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self._general_error)
        for key, title, tip, expanded, build in (
            (
                "optimizer",
                "Loss and optimizer",
                "What is minimized and how each step is taken.",
                True,
                self._build_optimizer,
            ),
            (
                "schedule",
                "Learning-rate schedule",
                "How the learning rate changes from epoch to epoch.",
                True,
                self._build_schedule,
            ),
            (
                "weights",
                "Initialization and regularization",
                "How weights start and how large weights are penalized.",
                True,
                self._build_weights,
            ),
            (
                "batches",
                "Batches and epochs",
                "How many samples each update uses and how long training runs.",
                True,
                self._build_batches,
            ),
            (
                "early_stopping",
                "Early stopping",
                "Stop training by itself once it stops improving.",
                False,
                self._build_early_stopping,
            ),
            ("data", "Data and split", "Which dataset to use and how it is divided.", True, self._build_data),
            (
                "augmentation",
                "Augmentation",
                "Random changes to training images so models read hand-drawn digits better.",
                False,
                self._build_augmentation,
            ),
        ):
            body = QWidget()
            form = QFormLayout(body)
            form.setContentsMargins(4, 2, 0, 4)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            build(form)
            forms.append(form)
            error = _error_label()
            form.addRow(error)
            self._section_errors[key] = error
            section = CollapsibleSection(title, body, tip, expanded)
            self._sections[key] = section
            layout.addWidget(section)
        layout.addStretch(1)
        self._align_labels(forms)

        # Every control the lock states switch on and off.
        self._inputs: list[QWidget] = [
            self._loss, self._optimizer, self._learning_rate, self._momentum, self._nesterov,
            self._beta_1, self._beta_2, self._rho, self._epsilon, self._weight_decay, self._clipnorm,
            self._schedule, self._step_epochs, self._factor, self._schedule_patience, self._min_learning_rate,
            self._initializer, self._l1, self._l2,
            self._mode_box, self._batch_size, self._epochs, self._report_every,
            self._stop_enabled, self._monitor, self._stop_patience, self._min_delta, self._restore_best,
            self._dataset, self._path, self._browse, self._limit, self._seed,
            self._train, self._validation, self._test, self._stratified, self._official_test,
            self._augment, self._shift, self._rotation, self._zoom, self._thickness,
        ]  # fmt: skip
        self._name_controls()

    def _name_controls(self) -> None:
        """Name each control after the config field it edits, for tests and style sheets."""
        names: dict[str, QWidget] = {
            "loss": self._loss,
            "optimizer.name": self._optimizer,
            **{f"optimizer.{field}": widget for field, widget in self._optimizer_fields.items()},
            "schedule.kind": self._schedule,
            **{f"schedule.{field}": widget for field, widget in self._schedule_fields.items()},
            "initializer": self._initializer,
            "l1": self._l1,
            "l2": self._l2,
            "batch_mode": self._mode_box,
            "batch_size": self._batch_size,
            "epochs": self._epochs,
            "report_every": self._report_every,
            "early_stopping.enabled": self._stop_enabled,
            "early_stopping.monitor": self._monitor,
            "early_stopping.patience": self._stop_patience,
            "early_stopping.min_delta": self._min_delta,
            "early_stopping.restore_best_weights": self._restore_best,
            "data.name": self._dataset,
            "data.path": self._path,
            "data.browse": self._browse,
            "data.limit": self._limit,
            "seed": self._seed,
            "split.train": self._train,
            "split.validation": self._validation,
            "split.test": self._test,
            "split.stratified": self._stratified,
            "split.official_test": self._official_test,
            "augmentation.enabled": self._augment,
            "augmentation.shift": self._shift,
            "augmentation.rotation": self._rotation,
            "augmentation.zoom": self._zoom,
            "augmentation.thickness": self._thickness,
            "split_counts": self._counts,
            "batch_mode_about": self._mode_about,
            "schedule_about": self._schedule_about,
        }
        for name, widget in names.items():
            widget.setObjectName(name)

    def _build_optimizer(self, form: QFormLayout) -> None:
        self._loss = _combo(LOSS_TEXT, "")
        self._optimizer = _combo(OPTIMIZER_TEXT, "")
        self._learning_rate = _science(
            1e-7,
            10.0,
            "Step size of each update; the arrows step through 1, 2, 5 x 10^n and you can type e.g. 3e-4.",
        )
        self._momentum = _fraction(
            0.0,
            0.999,
            3,
            0.05,
            "Fraction of the previous update added to the next, which smooths and speeds descent.",
        )
        self._nesterov = _check(
            "Nesterov momentum",
            "Take the gradient after the momentum step, which often converges a little faster.",
        )
        self._beta_1 = _fraction(
            0.0, 0.9999, 4, 0.01, "Decay rate of the running average of gradients (first moment)."
        )
        self._beta_2 = _fraction(
            0.0, 0.99999, 5, 0.001, "Decay rate of the running average of squared gradients (second moment)."
        )
        self._rho = _fraction(0.0, 0.9999, 4, 0.01, "Decay rate of the running average of squared gradients.")
        self._epsilon = _science(
            1e-12, 1.0, "Small constant added to denominators so a step never divides by zero.", 1e-12
        )
        self._weight_decay = _science(
            0.0, 1.0, "Shrink every weight by this fraction at each step, pulling weights towards zero."
        )
        self._clipnorm = OptionalSpinBox("Clip at", _science(1e-6, 1e6, ""))
        self._clipnorm.spin.setValue(1.0)
        self._clipnorm.setToolTip(
            "Rescale any weight's gradient whose norm exceeds this value, which tames exploding gradients."
        )
        form.addRow("Loss", self._loss)
        form.addRow("Optimizer", self._optimizer)
        self._optimizer_fields: dict[str, QWidget] = {
            "learning_rate": self._learning_rate,
            "momentum": self._momentum,
            "nesterov": self._nesterov,
            "beta_1": self._beta_1,
            "beta_2": self._beta_2,
            "rho": self._rho,
            "epsilon": self._epsilon,
            "weight_decay": self._weight_decay,
            "clipnorm": self._clipnorm,
        }
        labels = {
            "learning_rate": "Learning rate",
            "momentum": "Momentum",
            "nesterov": "",
            "beta_1": "Beta 1",
            "beta_2": "Beta 2",
            "rho": "Rho",
            "epsilon": "Epsilon",
            "weight_decay": "Weight decay",
            "clipnorm": "Gradient clip",
        }
        for name, widget in self._optimizer_fields.items():
            form.addRow(labels[name], widget)
        self._optimizer_form = form

    def _build_schedule(self, form: QFormLayout) -> None:
        self._schedule = _combo(SCHEDULE_TEXT, "")
        self._schedule_about = QLabel()
        self._schedule_about.setWordWrap(True)
        self._step_epochs = _spin(
            1, 10000, "Multiply the learning rate by the factor after this many epochs.", "epoch"
        )
        self._factor = _fraction(
            0.001, 1.0, 3, 0.05, "What the learning rate is multiplied by at each decay."
        )
        self._schedule_patience = _spin(
            1, 10000, "Epochs without a better validation loss before the rate is reduced.", "epoch"
        )
        self._min_learning_rate = _science(0.0, 10.0, "The learning rate never goes below this value.", 1e-8)
        form.addRow("Schedule", self._schedule)
        form.addRow(self._schedule_about)
        self._schedule_fields: dict[str, QWidget] = {
            "step_epochs": self._step_epochs,
            "factor": self._factor,
            "patience": self._schedule_patience,
            "min_learning_rate": self._min_learning_rate,
        }
        labels = {
            "step_epochs": "Every",
            "factor": "Factor",
            "patience": "Patience",
            "min_learning_rate": "Minimum rate",
        }
        for name, widget in self._schedule_fields.items():
            form.addRow(labels[name], widget)
        self._schedule_form = form

    def _build_weights(self, form: QFormLayout) -> None:
        self._initializer = _combo(
            INITIALIZERS, "How weights are drawn at the start, for layers that do not choose their own."
        )
        self._l1 = _science(
            0.0,
            1.0,
            "Add this times the sum of absolute weights to the loss, pushing weights to exactly zero.",
        )
        self._l2 = _science(
            0.0, 1.0, "Add this times the sum of squared weights to the loss, keeping weights small."
        )
        form.addRow("Initializer", self._initializer)
        form.addRow("L1 penalty", self._l1)
        form.addRow("L2 penalty", self._l2)

    def _build_batches(self, form: QFormLayout) -> None:
        self._mode_box = _narrow_combo()
        for mode, label in MODE_LABELS.items():
            self._mode_box.addItem(label, mode)
        self._mode_box.setToolTip("How many samples each gradient step averages over: all, a batch, or one.")
        self._batch_size = _spin(
            2, 1_000_000, "Samples per mini-batch: larger batches give smoother but fewer updates.", "sample"
        )
        self._batch_size.setValue(128)
        self._mode_about = QLabel()
        self._mode_about.setWordWrap(True)
        self._epochs = _spin(1, 100_000, "How many times training goes through all training samples.")
        self._report_every = _spin(
            1, 100_000, "Record loss, accuracy and gradient norms every this many batches.", "batch"
        )
        form.addRow("Descent", self._mode_box)
        form.addRow("Batch size", self._batch_size)
        form.addRow(self._mode_about)
        form.addRow("Epochs", self._epochs)
        form.addRow("Report every", self._report_every)
        self._batches_form = form

    def _build_early_stopping(self, form: QFormLayout) -> None:
        self._stop_enabled = _check(
            "Stop when progress stalls", "Stop training once the monitored value stops improving."
        )
        self._monitor = _narrow_combo()
        for value in MONITORS:
            self._monitor.addItem(MONITOR_TEXT[value], value)
        self._monitor.setToolTip("The value whose improvement is watched.")
        self._stop_patience = _spin(0, 10000, "Epochs without improvement before training stops.", "epoch")
        self._min_delta = _science(0.0, 1e6, "The smallest change that counts as an improvement.", 1e-4)
        self._restore_best = _check(
            "Restore best weights", "At the end, go back to the weights of the best epoch."
        )
        form.addRow(self._stop_enabled)
        form.addRow("Monitor", self._monitor)
        form.addRow("Patience", self._stop_patience)
        form.addRow("Min change", self._min_delta)
        form.addRow(self._restore_best)

    def _build_data(self, form: QFormLayout) -> None:
        self._dataset = _combo(DATASET_TEXT, "The images and labels to train and test on.")
        self._path = QLineEdit()
        self._path.setClearButtonEnabled(True)
        for button in self._path.findChildren(QToolButton):  # the clear button
            button.setToolTip("Clear the path.")
        self._path.setToolTip(
            "A .npz or .csv file or a folder with the data; for MNIST, an optional local copy."
        )
        self._browse = QToolButton()
        self._browse.setText("Browse")
        self._browse.setToolTip("Choose a data file (.npz, .csv) or a folder.")
        self._browse.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        browse_menu = QMenu(self._browse)
        self._browse_file = browse_menu.addAction("File (.npz, .csv)...")
        self._browse_folder = browse_menu.addAction("Folder (IDX files or one folder per class)...")
        self._browse.setMenu(browse_menu)
        path_row = QWidget()
        path_layout = QHBoxLayout(path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self._path, 1)
        path_layout.addWidget(self._browse)
        self._path_row = path_row
        limit_spin = _spin(20, 10_000_000, "", step=1000)
        limit_spin.setValue(10_000)
        self._limit = OptionalSpinBox("Limit to", limit_spin)
        self._limit.setToolTip(
            "Use only this many samples, keeping class proportions, for quicker experiments."
        )
        self._seed = _spin(
            0, 2**31 - 1, "Random seed for shuffling, the split and the initial weights; same seed, same run."
        )
        self._train = _fraction(
            0.001,
            1.0,
            3,
            0.05,
            "Fraction of the data used to train; adjusting it changes test, then validation.",
        )
        self._validation = _fraction(
            0.0,
            0.999,
            3,
            0.05,
            "Fraction held out to watch for overfitting after every epoch; training takes the rest.",
        )
        self._test = _fraction(
            0.0, 0.999, 3, 0.05, "Fraction held out for the final test; training takes the rest."
        )
        self._stratified = _check(
            "Stratified", "Keep each class's share the same in every part of the split."
        )
        self._official_test = _check(
            "Official test set",
            "Test on the dataset's own test set (MNIST's 10,000 test digits) when it has one, "
            "as published accuracies are measured; train and validation share the rest.",
        )
        self._counts = QLabel()
        self._counts.setWordWrap(True)
        self._counts.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._counts.setTextFormat(Qt.TextFormat.PlainText)
        self._counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._counts.hide()
        form.addRow("Dataset", self._dataset)
        form.addRow("Path", path_row)
        form.addRow("Samples", self._limit)
        form.addRow("Seed", self._seed)
        form.addRow("Train", self._train)
        form.addRow("Validation", self._validation)
        form.addRow("Test", self._test)
        form.addRow("", self._stratified)
        form.addRow("", self._official_test)
        form.addRow(self._counts)
        self._data_form = form

    def _build_augmentation(self, form: QFormLayout) -> None:
        self._augment = _check(
            "Augment training images", "Randomly shift, rotate, zoom and thicken training images."
        )
        self._shift = _fraction(0.0, 0.5, 3, 0.05, "Largest random shift, as a fraction of the image size.")
        self._rotation = _fraction(
            0.0, 90.0, 1, 5.0, "Largest random rotation, in degrees either way.", " deg"
        )
        self._zoom = _fraction(0.0, 0.5, 3, 0.05, "Largest random zoom in or out, as a fraction.")
        self._thickness = _fraction(
            0.0, 1.0, 2, 0.1, "Probability of thickening or thinning the strokes by one pixel."
        )
        form.addRow(self._augment)
        form.addRow("Shift", self._shift)
        form.addRow("Rotation", self._rotation)
        form.addRow("Zoom", self._zoom)
        form.addRow("Thickness", self._thickness)

    def _connect(self) -> None:
        # Controls that change how other controls look or what they hold, first ...
        self._optimizer.currentIndexChanged.connect(self._on_optimizer_changed)
        self._loss.currentIndexChanged.connect(self._on_loss_changed)
        self._schedule.currentIndexChanged.connect(self._on_schedule_changed)
        self._mode_box.currentIndexChanged.connect(self._on_mode_changed)
        self._batch_size.valueChanged.connect(self._on_mode_changed)
        self._dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self._stop_enabled.toggled.connect(self._on_toggle_changed)
        self._augment.toggled.connect(self._on_toggle_changed)
        self._train.valueChanged.connect(self._on_train_fraction_edited)
        self._validation.valueChanged.connect(self._on_held_out_fraction_edited)
        self._test.valueChanged.connect(self._on_held_out_fraction_edited)
        self._path.editingFinished.connect(self._on_path_edited)
        self._browse_file.triggered.connect(self._on_browse_file)
        self._browse_folder.triggered.connect(self._on_browse_folder)
        # ... then the notifications, so listeners see the adjusted state.
        data_inputs = {
            self._dataset,
            self._limit,
            self._seed,
            self._train,
            self._validation,
            self._test,
            self._stratified,
            self._official_test,
        }
        for widget in self._inputs:
            if widget in (self._path, self._browse):
                continue  # reported by _on_path_edited
            handler = self._on_data_edited if widget in data_inputs else self._on_setting_edited
            if isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(handler)
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(handler)
            elif isinstance(widget, (QAbstractSpinBox, OptionalSpinBox)):
                widget.valueChanged.connect(handler)

    # ------------------------------------------------------------------ handlers

    def _on_setting_edited(self, *_: object) -> None:
        if self._filling:
            return
        self._revalidate()
        self.configChanged.emit()

    def _on_data_edited(self, *_: object) -> None:
        if self._filling:
            return
        self._revalidate()
        self.configChanged.emit()
        self.dataChanged.emit()

    def _on_path_edited(self) -> None:
        if self._path.text() == self._last_path:
            return  # focus left without a change
        self._last_path = self._path.text()
        self._on_data_edited()

    def _on_browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a data file", self._start_folder(), "Data files (*.npz *.csv);;All files (*)"
        )
        self._on_path_chosen(path)

    def _on_browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a data folder", self._start_folder())
        self._on_path_chosen(path)

    def _on_path_chosen(self, path: str) -> None:
        if not path:
            return  # cancelled
        self._path.setText(path)
        self._on_path_edited()

    def _on_optimizer_changed(self, *_: object) -> None:
        name = self._optimizer.currentData()
        self._optimizer.setToolTip(
            f"The rule that turns gradients into weight updates. {OPTIMIZER_TEXT[name][1]}"
        )
        for field, widget in self._optimizer_fields.items():
            self._optimizer_form.setRowVisible(widget, field in OPTIMIZER_PARAMS[name])

    def _on_loss_changed(self, *_: object) -> None:
        self._loss.setToolTip(f"What training minimizes. {LOSS_TEXT[self._loss.currentData()][1]}")

    def _on_schedule_changed(self, *_: object) -> None:
        kind = self._schedule.currentData()
        about = SCHEDULE_TEXT[kind][1]
        self._schedule.setToolTip(about)
        self._schedule_about.setText(about)
        for field, widget in self._schedule_fields.items():
            self._schedule_form.setRowVisible(widget, field in SCHEDULE_PARAMS[kind])

    def _on_mode_changed(self, *_: object) -> None:
        self._batches_form.setRowVisible(self._batch_size, self._mode_box.currentData() == MINI)
        self._update_mode_text()

    def _on_dataset_changed(self, *_: object) -> None:
        name = self._dataset.currentData()
        self._dataset.setToolTip(f"The images and labels to train and test on. {DATASET_TEXT[name][1]}")
        # The bundled digits never read a file; the others may (and "file" must).
        self._data_form.setRowVisible(self._path_row, name != "digits")
        self._path.setPlaceholderText(
            "required: a .npz or .csv file, or a folder"
            if name == "file"
            else "optional: a local copy of the dataset"
        )

    def _on_toggle_changed(self, *_: object) -> None:
        self._refresh_enabled()

    def _on_train_fraction_edited(self, train: float) -> None:
        if self._filling:
            return
        rest = 1.0 - train
        validation = self._validation.value()
        test, validation = (rest - validation, validation) if rest - validation >= 0 else (0.0, rest)
        self._set_quietly(self._validation, validation)
        self._set_quietly(self._test, test)

    def _on_held_out_fraction_edited(self, *_: object) -> None:
        if self._filling:
            return
        train = 1.0 - self._validation.value() - self._test.value()
        if train >= self._train.minimum():
            self._set_quietly(self._train, train)
        # Otherwise leave the sum off 1: the core's message explains it next to the split.

    # ------------------------------------------------------------------ helpers

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

    @staticmethod
    def _set_quietly(box: QDoubleSpinBox, value: float) -> None:
        blocked = box.blockSignals(True)
        box.setValue(value)
        box.blockSignals(blocked)

    def _start_folder(self) -> str:
        current = self._path.text().strip()
        return str(Path(current).parent) if current else str(Path.home())

    def _batch_size_value(self) -> int | str:
        mode = self._mode_box.currentData()
        if mode == FULL:
            return "full"
        if mode == STOCHASTIC:
            return 1
        return self._batch_size.value()

    def _update_mode_text(self) -> None:
        mode = self._mode_box.currentData()
        n = self._train_count
        batch = self._batch_size.value()
        if mode == FULL:
            text = "Full batch: one exact gradient step per epoch"
            text += f" over all {n:,} samples." if n else " over all training samples."
            text += " Smooth but slow."
        elif mode == STOCHASTIC:
            text = (
                f"Stochastic: {n:,} noisy updates per epoch, one per sample."
                if n
                else "Stochastic: one noisy update per sample."
            )
        else:
            per_epoch = -(-n // batch) if n else 0
            text = (
                f"Mini-batch: {per_epoch:,} updates per epoch of {n:,} samples."
                if n
                else f"Mini-batch: one update per {batch:,} samples."
            )
        self._mode_about.setText(text)

    def _revalidate(self) -> None:
        try:
            self.apply_to(self._config)
        except ConfigError as exc:
            self._error = str(exc)
            where = _SECTION_OF_FIELD.get(exc.field.split(".")[0].split("[")[0])
        else:
            self._error = None
            where = None
        message = self._error or ""
        for key, label in self._section_errors.items():
            label.setText(message if key == where else "")
            label.setVisible(bool(message) and key == where)
        self._general_error.setText(message if where is None else "")
        self._general_error.setVisible(bool(message) and where is None)
        if where is not None and not self._sections[where].is_expanded():
            self._sections[where].set_expanded(True)

    def _refresh(self) -> None:
        self._on_loss_changed()
        self._on_optimizer_changed()
        self._on_schedule_changed()
        self._on_mode_changed()
        self._on_dataset_changed()
        self._refresh_enabled()
        self._revalidate()

    def _refresh_enabled(self) -> None:
        depends_on = {
            self._monitor: self._stop_enabled,
            self._stop_patience: self._stop_enabled,
            self._min_delta: self._stop_enabled,
            self._restore_best: self._stop_enabled,
            self._shift: self._augment,
            self._rotation: self._augment,
            self._zoom: self._augment,
            self._thickness: self._augment,
        }
        for widget in self._inputs:
            if self._mode == LOCKED:
                enabled = False
            elif self._mode == LEARNING_RATE_ONLY:
                enabled = widget is self._learning_rate
            else:
                switch = depends_on.get(widget)
                enabled = switch is None or switch.isChecked()
            widget.setEnabled(enabled)


def main() -> int:
    """Show the panel on its own in a scroll area, printing the configuration on each change."""
    app = QApplication.instance() or QApplication(sys.argv)
    panel = TrainingSettings()
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWindowTitle("Gradient Lab - training settings")
    scroll.resize(370, 800)

    def on_changed() -> None:
        print(panel.error() or panel.apply_to(RunConfig()).to_json(), flush=True)

    panel.configChanged.connect(on_changed)
    panel.dataChanged.connect(lambda: print("data changed: reload counts", flush=True))
    panel.set_train_count(56_000)
    scroll.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
