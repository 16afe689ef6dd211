"""What the File menu does: choose a file or folder, then hand it to the session.

:class:`FileCommands` is the window's half of every file action: the dialogs (through
:mod:`gui.dialogs`) and the folder they start in. What happens to the chosen path is the
session's business. Kept apart from :mod:`gui.main_window` so the window stays composition.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from gui import dialogs
from model.errors import ProjectError
from model.session import RunSession
from model.words import count

if TYPE_CHECKING:
    from gui.plots import TrainingPlots


class FileCommands:
    """The File menu's handlers (``on_<action>``, as :mod:`gui.actions` names them).

    Args:
        window: the dialogs' parent.
        session: where chosen paths go.
        plots: the window's training plots, which Export → Plots writes.
    """

    def __init__(self, window: QWidget, session: RunSession, plots: TrainingPlots) -> None:
        self.window = window
        self.session = session
        self.plots = plots

    def on_new(self) -> None:
        self.session.new()

    def on_open(self) -> None:
        if self.session.confirm_discard() and (path := dialogs.choose_open_path(self.window, self.session.last_folder())):
            self.session.remember_folder(path.parent)
            self.session.open_path(path)

    def on_open_run(self) -> None:
        if self.session.confirm_discard() and (
            folder := dialogs.choose_folder(self.window, "Open run folder", self.session.last_folder())
        ):
            self.session.remember_folder(folder.parent)
            self.session.open_run_folder(folder)

    def on_recent_triggered(self, action: QAction) -> None:
        if isinstance(entry := action.data(), str):
            self.session.open_recent(entry)

    def on_preset_triggered(self, action: QAction) -> None:
        self.session.load_preset(str(action.data()))

    def on_save(self) -> None:
        self.session.save()

    def on_save_as(self) -> None:
        self.session.save_as()

    def on_save_model(self) -> None:
        if folder := self.ask_model_folder():
            self.session.save_model_to(folder)

    def ask_model_folder(self) -> Path | None:
        """Where to save the model: a new folder (typed into the dialog), an empty one or a run's."""
        title = "Save model into a new or empty folder (or a run folder to replace)"
        folder = dialogs.choose_new_or_existing_folder(self.window, title, self.session.last_folder())
        if folder is not None:
            self.session.remember_folder(folder.parent)
        return folder

    def on_export_history(self) -> None:
        if path := self.ask_export("Export history", "history.csv", dialogs.CSV_FILTER, ".csv"):
            self.session.export_history_to(path)

    def on_export_batches(self) -> None:
        if path := self.ask_export("Export batch history", "batches.csv", dialogs.CSV_FILTER, ".csv"):
            self.session.export_batches_to(path)

    def on_export_png(self) -> None:
        self.export_plots("png")

    def on_export_svg(self) -> None:
        self.export_plots("svg")

    def export_plots(self, fmt: str) -> None:
        document = self.session.document
        name = document.name or (document.path.stem if document.path else document.saved.name)
        title = f"Export plots (one file per plot: <name>-loss.{fmt}, …)"
        if path := self.ask_export(title, f"{Path(name).stem}.{fmt}", f"{fmt.upper()} (*.{fmt});;All files (*)", f".{fmt}"):
            self.export_plots_to(path.with_suffix(""), fmt)

    def export_plots_to(self, base: Path, fmt: str) -> list[Path]:
        """Write each plot as ``<base>-loss.<fmt>`` etc. (``png`` or ``svg``); the files written."""
        try:
            written = self.plots.export_images(Path(base), fmt)
        except ProjectError as exc:
            self.session.view.warn("Cannot export plots", str(exc))
            return []
        self.session.view.show_status(f"Exported {count(len(written), 'plot')} beside {base}")
        return written

    def on_export_script(self) -> None:
        name = "".join(c if c.isalnum() else "_" for c in self.session.config.name).strip("_") or "train"
        if path := self.ask_export("Export training script", f"{name}.py", dialogs.SCRIPT_FILTER, ".py"):
            self.session.export_script_to(path)

    def ask_export(self, title: str, name: str, filters: str, suffix: str) -> Path | None:
        path = dialogs.choose_save_path(self.window, title, Path(self.session.last_folder()) / name, filters, suffix)
        if path is not None:
            self.session.remember_folder(path.parent)
        return path
