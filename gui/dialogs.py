"""The window's dialogs, each one function: questions, warnings and file choosers.

The main window takes the three question/warning functions in its constructor, so tests
can answer them; the file choosers are only reached from menu handlers.

Qt's folder chooser accepts only folders that exist ("Directory not found" for a name
typed into it); a model is saved into a new folder as often as into an old one, so
:class:`NewFolderDialog` also accepts a folder that does not exist yet, inside one that
does (Save Model creates it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit, QMessageBox, QWidget

ORGANIZATION: Final = "GradientLab"
APPLICATION: Final = "GradientLab"
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


def ask_with_message_box(parent: QWidget, title: str, text: str) -> bool:
    """Ask a yes/no question; the default answer is No."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, text, buttons.Yes | buttons.No, buttons.No)
    return answer == buttons.Yes


def warn_with_message_box(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def ask_save_with_message_box(parent: QWidget, title: str, text: str) -> str:
    """Save / Discard / Cancel for unsaved changes: ``save``, ``discard`` or ``cancel``."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, text, buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def choose_open_path(parent: QWidget, folder: str) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open", folder, OPEN_FILTER)
    return Path(path) if path else None


def choose_folder(parent: QWidget, title: str, folder: str) -> Path | None:
    chosen = QFileDialog.getExistingDirectory(parent, title, folder)
    return Path(chosen) if chosen else None


class NewFolderDialog(QFileDialog):
    """A folder chooser that also takes the name of a folder still to be made.

    The chosen folder is :attr:`chosen` once the dialog is accepted. Qt's own dialog is
    used (not the platform's), because only its accept can be widened this way.
    """

    def __init__(self, parent: QWidget | None, title: str, folder: str) -> None:
        super().__init__(parent, title, folder)
        self.setFileMode(QFileDialog.FileMode.Directory)
        self.setOption(QFileDialog.Option.ShowDirsOnly, True)
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "Folder:")
        self.chosen: Path | None = None
        # Qt disables its Choose button for a name that is no folder yet: enable it again
        # (this slot runs after Qt's own) when the name is a new folder's.
        self._name = self.findChild(QLineEdit, "fileNameEdit")
        buttons = self.findChild(QDialogButtonBox, "buttonBox")
        self.choose_button = buttons.buttons()[0] if buttons is not None and buttons.buttons() else None
        if self._name is not None:
            self._name.textChanged.connect(self._allow_new_folder)

    def _allow_new_folder(self, text: str) -> None:
        path = Path(self.directory().absolutePath()) / text
        if self.choose_button is not None and text.strip() and not path.exists() and path.parent.is_dir():
            self.choose_button.setEnabled(True)

    def accept(self) -> None:
        files = self.selectedFiles()
        path = Path(files[0]) if files else None
        if path is not None and not path.exists() and path.parent.is_dir():
            self.chosen = path  # a new folder inside an existing one: Save Model makes it
            self.done(QFileDialog.DialogCode.Accepted)
            return
        super().accept()
        if self.result() == QFileDialog.DialogCode.Accepted and path is not None:
            self.chosen = path


def choose_new_or_existing_folder(parent: QWidget, title: str, folder: str) -> Path | None:
    """A folder that exists, or a new one's path inside one that does; ``None`` when cancelled."""
    dialog = NewFolderDialog(parent, title, folder)
    return dialog.chosen if dialog.exec() == QFileDialog.DialogCode.Accepted else None


def choose_save_path(parent: QWidget, title: str, start: Path, filters: str, suffix: str) -> Path | None:
    """A file to write; ``suffix`` is added when the user typed a name without one."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(start), filters)
    if not chosen:
        return None
    path = Path(chosen)
    return path if path.suffix else path.with_suffix(suffix)
