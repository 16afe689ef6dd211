"""The Help menu: the keyboard shortcuts, the guide, and About with the versions in use.

:class:`HelpCommands` is the window's half of the Help menu, as
:class:`~gui.file_commands.FileCommands` is of the File menu. The shortcuts are read from
the window's actions themselves (the menus', the designer's, the canvas's), so the list
cannot disagree with the keys that work. The guide is the user's part of the README
(:data:`GUIDE_SECTIONS`), shown as Markdown; About names the versions of the libraries
that train and draw, which is what a bug report needs first.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Final

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout, QWidget

README: Final = Path(__file__).resolve().parents[1] / "README.md"
GUIDE_SECTIONS: Final = ("Data", "Presets", "The Draw tab", "Saving, loading and resuming", "The command line")
"""The README's sections for someone using the app, in the order the guide shows them."""
LIBRARIES: Final = ("keras", "tensorflow", "numpy", "scikit-learn", "pyqtgraph")


def versions() -> list[tuple[str, str]]:
    """(name, version) of Gradient Lab, Python, Qt and the libraries, without importing them."""
    found = [("Python", platform.python_version()), ("Qt", qVersion()), ("PySide6", PySide6.__version__)]
    for name in ("gradient-lab", *LIBRARIES):
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


def shortcuts(window: QWidget) -> list[tuple[str, str]]:
    """(what, keys) of every action of ``window`` that has a shortcut, sorted by what."""
    rows: set[tuple[str, str]] = set()
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").strip(" .…")
        if keys and text:
            rows.add((text, keys))
    return sorted(rows, key=lambda row: row[0].lower())


def guide(readme: Path = README) -> str:
    """The README's sections in :data:`GUIDE_SECTIONS`, as Markdown (a line saying so if unreadable)."""
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as exc:
        return f"The guide is the project's README.md, which cannot be read here ({exc.strerror or exc})."
    sections = {m.group(1).strip(): m.group(0) for m in re.finditer(r"^## (.+?)\n.*?(?=^## |\Z)", text, re.M | re.S)}
    return "\n".join(sections[name] for name in GUIDE_SECTIONS if name in sections)


class HelpCommands:
    """The Help menu's handlers (``on_<action>``, as :mod:`gui.actions` names them)."""

    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.shown: QDialog | None = None  # the last dialog shown (for tests)

    def on_shortcuts(self) -> None:
        rows = "\n".join(f"| {what} | {keys} |" for what, keys in shortcuts(self.window))
        self._show("Keyboard shortcuts", f"| Action | Keys |\n|---|---|\n{rows}\n")

    def on_guide(self) -> None:
        self._show("Gradient Lab guide", guide())

    def on_about(self) -> None:
        listed = "".join(f"<tr><td>{name}</td><td>{version}</td></tr>" for name, version in versions())
        QMessageBox.about(
            self.window,
            "About Gradient Lab",
            "<p><b>Gradient Lab</b>: design, train and try out neural networks.</p>"
            f"<table>{listed}</table>",
        )

    def _show(self, title: str, markdown: str) -> None:
        dialog = QDialog(self.window)
        dialog.setWindowTitle(title)
        browser = QTextBrowser()
        browser.setOpenExternalLinks(True)
        browser.setMarkdown(markdown)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(browser)
        layout.addWidget(buttons)
        dialog.resize(640, 560)
        self.shown = dialog
        dialog.show()
