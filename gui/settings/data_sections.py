"""The data sections of the settings panel: the dataset and its split, and augmentation.

Declared like :mod:`gui.settings.sections`. The data section's own behaviour is the
Browse menu (its dialogs start in the folder of the current path, else the last folder
chosen), the path's placeholder and visibility per dataset, the folder of extra
training images (and its share, shown while there is one), and the split's
rebalancing: committing one fraction (Enter, leaving the field, the arrows; not each
keystroke, so typing 0.9 never passes through 0.) adjusts the others so the three still
sum to 1. The Test fraction is disabled, saying why, while the official test set
replaces it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMenu, QToolButton, QWidget

from gui.binding import FormRows, Reader
from gui.settings.controls import check, combo, fraction, optional, spin
from gui.settings.sections import Section
from gui.widgets import with_range
from model.catalogue import DATASET_TEXT
from model.config import DATASETS, EXTRA_SHARE_MAX, PEN_DIGITS_MAX

OFFICIAL_TEST_DATASETS = ("mnist", "fashion_mnist")
"""The datasets that always ship a test set of their own (a data file may, or may not)."""
TEST_TIP = "Fraction held out for the final test; training takes the rest."


class DataSection(Section):
    title = "Data and split"
    about = "Which dataset to use and how it is divided."
    owns = ("data", "split")

    def build(self, rows: FormRows) -> None:
        self._last_folder = ""  # the folder of the last path chosen with Browse
        self.default_folder = ""  # where Browse starts with no path and no choice yet
        name = rows.field("data.name", "Dataset", combo(DATASETS, DATASET_TEXT))
        self._path = QLineEdit()
        self._path.setClearButtonEnabled(True)
        for button in self._path.findChildren(QToolButton):  # the clear button
            button.setToolTip("Clear the path.")
        self._path.setToolTip("A .npz or .csv file or a folder with the data; for MNIST, an optional local copy.")
        browse = QToolButton()
        browse.setObjectName("data.browse")
        browse.setText("Browse")
        browse.setToolTip("Choose a data file (.npz, .csv) or a folder.")
        browse.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(browse)
        menu.addAction("File (.npz, .csv)...").triggered.connect(self._on_browse_file)
        menu.addAction("Folder (IDX files or one folder per class)...").triggered.connect(self._on_browse_folder)
        browse.setMenu(menu)
        path_row = QWidget()
        path_layout = QHBoxLayout(path_row)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self._path, 1)
        path_layout.addWidget(browse)
        # The bundled digits never read a file; the others may (and "file" must).
        rows.field("data.path", "Path", self._path, row=path_row,
                   visible_when=lambda _path, value: value("data.name") != "digits")
        self.binder.attach(browse, "data.path")
        rows.field("data.limit", "Samples", optional("Limit to", spin(20, 10_000_000, "", step=1000), 10_000,
            "Use only this many samples, keeping class proportions, for quicker experiments.",
        ))
        self._build_extra(rows)
        rows.field("seed", "Seed", spin(
            0, 2**31 - 1, "Random seed for shuffling, the split and the initial weights; same seed, same run."
        ))
        self._train = rows.field("split.train", "Train", fraction(
            0.001, 1.0, 3, 0.05, "Fraction of the data used to train; adjusting it changes test, then validation."
        ))
        validation = rows.field("split.validation", "Validation", fraction(
            0.0, 0.999, 3, 0.05,
            "Fraction held out to watch for overfitting after every epoch; training takes the rest.",
        ))
        self._test = rows.field("split.test", "Test", fraction(0.0, 0.999, 3, 0.05, TEST_TIP), depends_on=_test_used)
        for box in (self._train, validation, self._test):
            box.setKeyboardTracking(False)  # rebalance on commit, not on "0." while typing 0.9
        rows.field("split.stratified", "", check(
            "Stratified", "Keep each class's share the same in every part of the split."
        ))
        rows.field("split.official_test", "", check(
            "Official test set",
            "Test on the dataset's own test set (MNIST's 10,000 test digits) when it has one, "
            "as published accuracies are measured; train and validation share the rest.",
        ))
        self._counts = rows.add(None, QLabel(), "split_counts")
        self._counts.setWordWrap(True)
        self._counts.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._counts.setTextFormat(Qt.TextFormat.PlainText)
        self._counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._counts.hide()

        def show_dataset(value: str) -> None:
            name.setToolTip(f"The images and labels to train and test on. {DATASET_TEXT[value][1]}")
            self._path.setPlaceholderText(
                "required: a .npz or .csv file, or a folder"
                if value == "file"
                else "optional: a local copy of the dataset"
            )

        self.binder.when_shown("data.name", show_dataset)
        self.binder.when_shown("data.name", self._show_test_tip)
        self.binder.when_shown("split.official_test", self._show_test_tip)
        self.binder.when_edited("split.train", self._on_train_fraction_edited)
        self.binder.when_edited("split.validation", self._on_held_out_fraction_edited)
        self.binder.when_edited("split.test", self._on_held_out_fraction_edited)

    def _build_extra(self, rows: FormRows) -> None:
        """A folder of class folders mixed into the training part (the user's handwriting)."""
        self._extra = QLineEdit()
        self._extra.setClearButtonEnabled(True)
        self._extra.setPlaceholderText("optional: a folder with one sub-folder per class")
        self._extra.setToolTip(
            "Images mixed into the training part only (validation and test stay the dataset's), "
            "such as your own handwriting from the Draw tab."
        )
        for button in self._extra.findChildren(QToolButton):  # the clear button
            button.setToolTip("Clear the path.")
        browse = QToolButton()
        browse.setObjectName("data.extra_browse")
        browse.setText("Browse")
        browse.setToolTip("Choose a folder with one sub-folder of images per class.")
        browse.clicked.connect(self._on_browse_extra)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._extra, 1)
        layout.addWidget(browse)
        rows.field("data.extra_path", "Mix in", self._extra, row=row)
        self.binder.attach(browse, "data.extra_path")
        rows.field("data.extra_share", "Mix share", fraction(
            0.01, EXTRA_SHARE_MAX, 2, 0.05,
            "The share of the training part those images make up; a few are repeated to reach it.",
        ), visible_when=lambda _path, value: value("data.extra_path") is not None)
        rows.field("data.pen_digits", "Pen digits", fraction(
            0.0, PEN_DIGITS_MAX, 2, 0.05,
            "The share of the training part made of the shipped real pen digits (writers 1-15 of UCI's set; 0 is none).",
        ))

    def _show_test_tip(self, _: object) -> None:
        if _test_used(self.binder.value):
            self._test.setToolTip(with_range(TEST_TIP, self._test))
        else:
            self._test.setToolTip(
                "Not used now: with “Official test set” on, the test part is the dataset's own "
                "test set (MNIST's 10,000 test digits). Turn it off to hold out this fraction instead."
            )

    def set_split_counts(self, text: str) -> None:
        """Show the per-class counts of the loaded split (plain text; "" hides it)."""
        self._counts.setText(text)
        self._counts.setVisible(bool(text))

    # ------------------------------------------------------------------ handlers

    def _on_train_fraction_edited(self, train: float) -> None:
        rest = 1.0 - train
        validation = self.binder.value("split.validation")
        test, validation = (rest - validation, validation) if rest - validation >= 0 else (0.0, rest)
        self.binder.set_quietly("split.validation", validation)
        self.binder.set_quietly("split.test", test)

    def _on_held_out_fraction_edited(self, _: float) -> None:
        train = 1.0 - self.binder.value("split.validation") - self.binder.value("split.test")
        if train >= self._train.minimum():
            self.binder.set_quietly("split.train", train)
        # Otherwise leave the sum off 1: the core's message explains it next to the split.

    def _on_browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._path.window(), "Choose a data file", self._start_folder(), "Data files (*.npz *.csv);;All files (*)"
        )
        self._on_path_chosen(path)

    def _on_browse_folder(self) -> None:
        self._on_path_chosen(QFileDialog.getExistingDirectory(self._path.window(), "Choose a data folder", self._start_folder()))

    def _on_path_chosen(self, path: str) -> None:
        if not path:
            return  # cancelled
        self._on_path_chosen_folder(path)
        self._path.setText(path)
        self.binder.commit("data.path")

    def _on_browse_extra(self) -> None:
        start = self._extra.text().strip() or self._start_folder()
        path = QFileDialog.getExistingDirectory(self._extra.window(), "Choose a folder of class folders", start)
        if path:
            self._on_path_chosen_folder(path)
            self._extra.setText(path)
            self.binder.commit("data.extra_path")

    def _on_path_chosen_folder(self, path: str) -> None:
        self._last_folder = str(Path(path).parent)

    def _start_folder(self) -> str:
        """Where Browse starts: the current path's folder, the last folder chosen, the default, home."""
        current = self._path.text().strip()
        if current:
            path = Path(current).expanduser()
            if path.is_dir():
                return str(path)
            if path.parent.is_dir():
                return str(path.parent)
        for folder in (self._last_folder, self.default_folder):
            if folder and Path(folder).is_dir():
                return folder
        return str(Path.home())


def _test_used(value: Reader) -> bool:
    """Whether the Test fraction is used: not while the dataset's own test set replaces it."""
    return not (value("split.official_test") and value("data.name") in OFFICIAL_TEST_DATASETS)


class AugmentationSection(Section):
    title = "Augmentation"
    about = "Random changes to training images so models read hand-drawn digits better."
    expanded = False
    owns = ("augmentation",)

    def build(self, rows: FormRows) -> None:
        on = "augmentation.enabled"
        rows.field(on, None, check(
            "Augment training images", "Randomly shift, rotate, zoom and thicken training images."
        ))
        rows.field("augmentation.shift", "Shift", fraction(
            0.0, 0.5, 3, 0.05, "Largest random shift, as a fraction of the image size."
        ), depends_on=on)
        rows.field("augmentation.rotation", "Rotation", fraction(
            0.0, 90.0, 1, 5.0, "Largest random rotation, in degrees either way.", " deg"
        ), depends_on=on)
        rows.field("augmentation.zoom", "Zoom", fraction(
            0.0, 0.5, 3, 0.05, "Largest random zoom in or out, as a fraction."
        ), depends_on=on)
        rows.field("augmentation.thickness", "Thickness", fraction(
            0.0, 1.0, 2, 0.1, "Probability of thickening or thinning the strokes by one pixel."
        ), depends_on=on)
        rows.field("augmentation.stroke_width", "Pen width", fraction(
            0.0, 2.0, 2, 0.25, "Largest random change of every image's stroke width, in pixels either way.", " px"
        ), depends_on=on)
        rows.field("augmentation.elastic", "Elastic", fraction(
            0.0, 100.0, 1, 2.0, "Strength of elastic distortions that wobble strokes like a hand (Simard's alpha; 0 is off).",
        ), depends_on=on)
        rows.field("augmentation.elastic_sigma", "Smoothness", fraction(
            1.0, 10.0, 1, 0.5, "How smooth the elastic distortions are: the width of their Gaussian, in pixels.", " px"
        ), depends_on=on)
