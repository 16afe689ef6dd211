"""The Draw tab's handwriting commands: the window's side of "Your handwriting".

:class:`HandwritingCommands` connects the panel's handwriting box
(:class:`gui.predict_handwriting.HandwritingBox`) to a Qt-free
:class:`~model.handwriting.HandwritingCoach`, the way :mod:`gui.file_commands` connects
the File menu to the session: it hands the coach the model the panel reads with, saves
labelled drawings, asks before clearing, picks the export folder, reveals the folder in
the file manager, starts Teach it, and shows every state the coach reports. While a run
trains, a timer asks the coach to score the live model again every few seconds, so the
figure climbs as the model learns.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from gui import dialogs
from model import words
from model.handwriting import CoachState, Drawing, HandwritingCoach, HandwritingSet

if TYPE_CHECKING:
    from gui.predict_panel import PredictPanel
    from model.session import RunSession

REFRESH_MS: Final = 3000
"""How often a live model's score is asked for again (a few hundred drawings cost a few ms)."""


class HandwritingCommands(QObject):
    """See the module docstring.

    Args:
        window: The dialogs' parent.
        session: The run session (the model in memory, runs and workers); its view asks
            the questions and shows the warnings.
        panel: The Draw tab.
        folder: Where the handwriting set lives.
    """

    def __init__(self, window: QWidget, session: RunSession, panel: PredictPanel, folder: Path) -> None:
        super().__init__(window)
        self._window = window
        self._session = session
        self._panel = panel
        self.coach = HandwritingCoach(session, HandwritingSet(folder), self._on_state)
        box = panel.handwriting
        box.openClicked.connect(self._on_open)
        box.exportClicked.connect(self._on_export)
        box.clearClicked.connect(self._on_clear)
        box.teachClicked.connect(self._on_teach)
        panel.modelChanged.connect(self._on_model_changed)
        panel.set_labeller(self._on_label)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()
        self._on_model_changed()

    @property
    def folder(self) -> Path:
        return self.coach.store.folder

    def _on_state(self, state: CoachState) -> None:
        self._panel.handwriting.show_state(state)

    def _on_model_changed(self) -> None:
        self.coach.use_model(self._panel.predictor(), self._panel.class_names())

    def _on_tick(self) -> None:
        if self._panel.isVisible():
            self.coach.refresh()

    def _on_label(self, drawing: Drawing, index: int) -> bool:
        return self.coach.add(drawing, index) is not None

    def _on_open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._session.view.warn("Cannot open the folder", f"cannot create {self.folder}: {exc.strerror or exc}")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder))):
            self._session.view.show_status(f"Your handwriting is in {self.folder}", 10000)

    def _on_export(self) -> None:
        chosen = dialogs.choose_folder(self._window, "Export your handwriting into a folder", self._session.last_folder())
        if chosen is None:
            return
        target = export_target(chosen)
        if self.coach.export_to(target) is not None:
            self._session.remember_folder(chosen)
            self._session.view.show_status(f"Exported your handwriting to {target}", 10000)

    def _on_clear(self) -> None:
        count = self.coach.state.count
        if self._session.view.ask(
            "Delete your handwriting?",
            f"Delete {words.count(count, 'drawing')} in {self.folder}? Files you put there yourself are kept. "
            "This cannot be undone (Export first to keep a copy).",
        ):
            self.coach.clear()

    def _on_teach(self, share: float, epochs: int) -> None:
        self.coach.teach(share, epochs)


def export_target(chosen: Path) -> Path:
    """``chosen`` when it is empty, else a new sub-folder of it (nothing is ever overwritten)."""
    try:
        if chosen.is_dir() and not any(chosen.iterdir()):
            return chosen
    except OSError:
        pass
    stem = f"handwriting-{datetime.date.today():%Y%m%d}"
    target = chosen / stem
    number = 2
    while target.exists():
        target = chosen / f"{stem}-{number}"
        number += 1
    return target
