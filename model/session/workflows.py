"""The document and its files: edit, open, save, recover, export.

:class:`FileWorkflows` is the part of the session that reads and writes files. Anything
that needs Keras (loading a run folder or a model file, saving a model, scoring a reloaded
test split) runs on the session's Keras worker and comes back through ``dispatch``, so the
session's thread never waits for it; those intents return a future that resolves (in the
session's thread) once the outcome is shown.

Opening is all or nothing: a file is read whole before anything is shown, showing it is
guarded (whatever a hostile file makes fail becomes a warning, never an escaped
exception), and the document points at a new file only once the panels show it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model import runfolder
from model.config import RunConfig, list_presets, load_config, load_preset
from model.diagnosis import RunContext
from model.errors import ModelFileError, ProjectError, clip
from model.events import EpochRecord, RunFinished
from model.fileio import write_text_atomic
from model.tasks import Failure, deliver
from model.words import count

from .base import SessionBase, done
from .document import RECENT_KEY
from .memory import ModelInMemory, RateChange

if TYPE_CHECKING:
    from model.batches import BatchHistory
    from model.data import TestImages
    from model.results import SavedRun

log = logging.getLogger(__name__)


class FileWorkflows(SessionBase):
    """Editing the configuration, and every file the session opens or writes."""

    # ================================================================== editing

    def edit(self, config: RunConfig | None, error: str | None = None) -> None:
        """What the panels hold now (``None`` with ``error`` while they are invalid)."""
        self.document.current = config
        self.document.error = None if config is not None else (error or "the settings are not valid")
        self._refresh()

    def set_stack_problem(self, problem: str) -> None:
        """The designer's first problem ("" when the stack is valid)."""
        self._stack_problem = problem
        self._update_actions()

    def set_config(self, config: RunConfig, path: Path | None = None, name: str = "") -> bool:
        """Show ``config`` as a fresh document (opened from ``path``, or a run or model ``name``).

        All or nothing: when the view cannot show it (a value its panels cannot hold), the
        view keeps what it showed, the document stays as it was, and the user is told why.
        Returns whether it is shown.
        """
        try:
            self.view.show_config(config)
        except ProjectError as exc:
            self.view.warn("Cannot show this configuration", f"{exc}. Nothing was changed.")
            return False
        self.document.replace(config, path, name)
        self._refresh()
        return True

    def confirm_discard(self) -> bool:
        """Before unsaved changes would be dropped: Save (and go on if saved), Discard, or Cancel."""
        if not self.document.modified:
            return True
        answer = self.view.ask_save(
            "Unsaved changes",
            f"The configuration “{self.document.title}” has unsaved changes. Save them first?",
        )
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new(self) -> None:
        """Start from the default network, forgetting the model in memory (asking first if unsaved)."""
        if not self.settle_unsaved_model(self.new) or not self.confirm_discard():
            return
        self.set_config(RunConfig())
        self._set_memory(None)
        self.view.show_history([], (), 1)
        self.view.show_results(None, None)
        self.view.show_confusion(None, None)
        self.view.clear_message()

    def presets(self) -> list[tuple[str, str]]:
        """(name, title) of each bundled preset that loads."""
        found = []
        for name in list_presets():
            try:
                found.append((name, load_preset(name).name))
            except ProjectError as exc:
                log.warning("skipping preset %s: %s", name, exc)
        return found

    def load_preset(self, name: str) -> None:
        if not self.confirm_discard():
            return
        try:
            config = _keep_data_location(load_preset(name), self.config)
        except ProjectError as exc:
            self.view.warn("Cannot load preset", str(exc))
            return
        self.set_config(config)

    # ================================================================== saving the configuration

    def save(self) -> bool:
        """Save to the document's file, asking for one first if it has none."""
        path = self.document.path or self.view.ask_config_path()
        return path is not None and self.save_config_to(path)

    def save_as(self) -> bool:
        path = self.view.ask_config_path()
        return path is not None and self.save_config_to(path)

    def save_config_to(self, path: str | Path) -> bool:
        """Write the configuration atomically; on failure say why and keep it unsaved."""
        path = Path(path)
        config = self.document.current
        if config is None:
            self.view.warn("Cannot save", self.document.error or "The settings are not valid.")
            return False
        try:
            write_text_atomic(path, config.to_json())
        except ProjectError as exc:
            self.view.warn("Cannot save configuration", str(exc))
            return False
        self.document.mark_saved(config, path)
        self._remember_recent(path)
        self._refresh_document()
        self.view.show_status(f"Saved {path}")
        return True

    # ================================================================== opening

    def open_path(self, path: str | Path) -> Future[bool]:
        """Open a configuration, a ``.keras`` model or a run folder, by what it is.

        The future resolves (in the session's thread) once it is shown, or refused.
        """
        path = Path(path)
        try:
            kind = runfolder.path_kind(path)
        except (OSError, ValueError) as exc:  # a name too long, a folder that cannot be listed ...
            self.view.warn("Cannot open", f"{clip(str(path), 300)}: {exc.strerror if isinstance(exc, OSError) else exc}")
            return done(False)
        if kind == "run":
            return self.open_run_folder(path)
        if kind == "model":
            return self.open_model_file(path)
        return done(self.open_config(path))

    def open_recent(self, entry: str) -> Future[bool]:
        path = Path(entry)
        try:
            exists = path.exists()
        except (OSError, ValueError):
            exists = False
        if not exists:
            self.store.setValue(RECENT_KEY, [e for e in self.recent_files() if e != entry])
            self.view.show_recent(self.recent_files())
            self.view.warn("File not found", f"{path} no longer exists; it was removed from Open Recent.")
            return done(False)
        if not self.confirm_discard():
            return done(False)
        return self.open_path(path)

    def open_config(self, path: str | Path) -> bool:
        """Open a configuration; on a bad file say why and keep what was open."""
        path = Path(path)
        try:
            config = load_config(path)
        except ProjectError as exc:
            self.view.warn("Cannot open configuration", str(exc))
            return False
        if not self.set_config(config, path):
            return False
        self._remember_recent(path)
        self.view.show_status(f"Opened {path}")
        return True

    def open_run_folder(self, folder: str | Path) -> Future[bool]:
        """Open a run folder: configuration, history, results, and its model for the canvas.

        Everything is read (on the Keras worker) before anything is shown, so a damaged file
        changes nothing.
        """
        folder = Path(folder)
        if not self._can_open("Cannot open run"):
            return done(False)
        outcome: Future[bool] = Future()

        def shown(saved: SavedRun) -> None:
            self._end_busy()
            if not self._show_saved_run(saved):
                outcome.set_result(False)
                return
            self._remember_recent(folder)
            self.view.show_status(f"Opened the run {folder}")
            outcome.set_result(True)

        self._begin_busy("Opening the run…")
        deliver(
            self.keras.submit(_load_run, folder),
            self.dispatch,
            self._guarded("Cannot open run", outcome, shown),
            self._refused("Cannot open run", outcome),
        )
        return outcome

    def open_model_file(self, path: str | Path) -> Future[bool]:
        """Open a ``.keras`` model saved by plain Keras: the canvas uses it if it reads digits.

        The designer shows its layers when each maps to one the designer has; otherwise the
        message bar says which do not, and the designer keeps its stack.
        """
        path = Path(path)
        if not self._can_open("Cannot open model"):
            return done(False)
        outcome: Future[bool] = Future()

        def shown(loaded: tuple[Any, Any, str, bool]) -> None:
            self._end_busy()
            model, layers, note, diverged = loaded
            if layers is not None and not self.set_config(self.config.replace(layers=layers, name=path.stem), name=path.name):
                layers, note = None, f"{note} The designer keeps its stack."
            if diverged:
                note += " It diverged: its weights are not finite numbers, so its answers mean nothing."
            self._set_memory(
                ModelInMemory(model, self._predictor_for(model), f"{path.name} (opened{', diverged' if diverged else ''})"),
            )
            self.view.show_history([], (), 1)
            self.view.show_results(None, None)
            self.view.show_class_names(tuple(str(k) for k in range(10)))
            self.view.show_message(
                f"Opened {path.name}: the Draw tab reads drawings with it.{note}", "warning" if note else "info"
            )
            self._remember_recent(path)
            outcome.set_result(True)

        def refused(failure: Failure) -> None:
            message = failure.message if path.name in failure.message else f"{path.name}: {failure.message}"
            self._refused("Cannot open model", outcome)(Failure(message, failure.details))

        self._begin_busy("Opening the model…")
        deliver(self.keras.submit(_load_digit_model, path), self.dispatch, self._guarded("Cannot open model", outcome, shown), refused)
        return outcome

    def offer_recovery(self) -> Future[bool]:
        """If the last run was cut off (the app was killed), offer to open what was autosaved.

        Yes moves the autosave to a folder of its own beside it (so the next run cannot
        overwrite it) and opens it; No deletes it.
        """
        self._recovery_offered = True
        info = runfolder.read_autosave(self.autosave_dir)
        if info is None or not info.interrupted:
            if info is not None:
                runfolder.remove_folder(self.autosave_dir)  # a finished run's leftovers
            return done(False)
        if not self.view.ask("Recover the interrupted run?", info.question()):
            runfolder.remove_folder(self.autosave_dir)
            return done(False)
        target = self.autosave_dir.with_name(f"recovered-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            self.autosave_dir.rename(target)
        except OSError as exc:
            self.view.warn("Cannot recover the run", f"cannot move {self.autosave_dir}: {exc}")
            return done(False)
        opened = self.open_run_folder(target)

        def kept(future: Future[bool]) -> None:
            if not future.result():  # nothing is lost: say where the files are
                self.view.show_message(
                    f"The interrupted run could not be opened; its files are kept in {target}.", "warning"
                )

        opened.add_done_callback(kept)
        return opened

    # ================================================================== saving the model, exports

    def save_model_to(self, folder: str | Path) -> Future[bool]:
        """Write the model in memory as a run folder; a failed save leaves ``folder`` as it was."""
        folder = Path(folder)
        memory = self.memory
        if memory is None or not memory.savable:
            self.view.warn("Nothing to save", "Train a model or open a run first.")
            return done(False)
        try:
            replacing = runfolder.check_target(folder)
        except ProjectError as exc:
            self.view.warn("Cannot save model", str(exc))
            return done(False)
        if replacing and not self.view.ask("Replace the run?", f"{folder} already holds a run. Replace it?"):
            return done(False)
        outcome: Future[bool] = Future()

        def saved(_: object) -> None:
            memory.saved_to = folder
            if memory.saved is not None and memory.result is None:
                memory.saved = dataclasses.replace(memory.saved, folder=folder)
            self._remember_recent(folder)
            self.view.show_status(f"Saved the model to {folder}")
            outcome.set_result(True)

        deliver(self.keras.submit(_save_model, memory, folder), self.dispatch, saved, self._refused("Cannot save model", outcome))
        return outcome

    def batch_history(self) -> BatchHistory | None:
        """The batch history shown: of the run going on, else of the model in memory."""
        run = self.shown_run
        if run is not None and run.info is not None:
            return run.batch_history()
        return self.memory.batches if self.memory is not None else None

    def export_batches_to(self, path: str | Path) -> bool:
        """Write the batch history shown (or of the run going on) as CSV: one row per reported batch."""
        batches = self.batch_history()
        if batches is None or not len(batches):
            self.view.warn(
                "Nothing to export", "There is no batch history: train a run, or open one saved with its batches."
            )
            return False
        return self._write_text(Path(path), runfolder.batches_csv(batches), "Cannot export the batch history")

    def history(self) -> tuple[list[EpochRecord], tuple[str, ...], int]:
        """The epoch history shown: of the run going on, else of the model in memory."""
        run = self.shown_run
        if run is not None and run.info is not None:
            return run.prior_history + run.history, run.info.layer_names, run.info.steps_per_epoch
        if self.memory is not None:
            return list(self.memory.history), self.memory.layer_names, self.memory.steps_per_epoch
        return [], (), 1

    def export_history_to(self, path: str | Path) -> bool:
        """Write the epoch history shown (or of the run going on) as CSV."""
        records, names, _ = self.history()
        if not records:
            self.view.warn("Nothing to export", "There is no epoch history yet.")
            return False
        return self._write_text(Path(path), runfolder.history_csv(records, names), "Cannot export history")

    def export_script_to(self, path: str | Path) -> bool:
        """Write a standalone plain-Keras script that rebuilds and trains this configuration."""
        from model.export import export_script

        config = self.document.current
        if config is None:
            self.view.warn("Cannot export", self.document.error or "The settings are not valid.")
            return False
        memory = self.memory
        changes: tuple[RateChange, ...] = ()
        if memory is not None and memory.config is not None and memory.config.to_dict() == config.to_dict():
            changes = memory.rate_changes  # the script is of that run: it repeats them
        script = export_script(
            config,
            rate_changes=[(change.step, change.learning_rate) for change in changes],
            resumed=bool(changes) and memory is not None and memory.resumed,
        )
        if not self._write_text(Path(path), script, "Cannot export script"):
            return False
        if changes:
            self.view.show_status(
                f"Wrote {path}: it repeats the run's {count(len(changes), 'learning-rate change')} made while paused", 8000
            )
        return True

    def _show_saved_run(self, saved: SavedRun) -> bool:
        """Show everything a run folder holds; the canvas uses its model from now on.

        What can fail comes first: nothing is shown unless the configuration is.
        """
        evaluation = runfolder.evaluation_from_metrics(saved.metrics)
        reason = runfolder.end_reason_from_metrics(saved.metrics)
        if not self.set_config(saved.config, name=saved.folder.name):
            return False
        accuracy = f" · test accuracy {evaluation.accuracy:.1%}" if evaluation is not None else ""
        diverged = " · diverged" if saved.diverged else ""
        memory = ModelInMemory(
            saved.model,
            self._predictor_for(saved.model),
            f"{saved.folder.name}{accuracy}{diverged}",
            history=list(saved.history),
            layer_names=saved.layer_names,
            steps_per_epoch=saved.steps_per_epoch,
            evaluation=evaluation,
            saved=saved,
            batches=saved.batches,
            finished=RunFinished(
                -1,
                reason,
                f"saved run {saved.folder.name}, {count(len(saved.history), 'epoch')}",
                len(saved.history),
            ),
        )
        self.view.show_history(
            memory.history,
            memory.layer_names,
            memory.steps_per_epoch,
            batches=saved.batches,
            context=RunContext.from_config(saved.config),
        )
        self._set_memory(memory)
        self.view.show_results(memory.finished, evaluation)
        self.view.show_confusion(None, None)
        if evaluation is not None:
            self.view.show_class_names(evaluation.class_names)
            # The confusion view needs the test images: reload them in the background.
            from model.data import test_images

            config = saved.config
            self._images.start(lambda: (memory, test_images(config)))
        resume = " Resume Training continues it." if saved.optimizer_state else ""
        epochs = count(len(saved.history), "epoch")
        if saved.diverged:
            self.view.show_message(
                f"Opened the run {saved.folder.name}: {epochs}. It diverged: its weights are "
                "not finite numbers, so its answers in the Draw tab mean nothing; train it again with a smaller "
                "learning rate.",
                "warning",
            )
            return True
        self.view.show_message(f"Opened the run {saved.folder.name}: {epochs}{accuracy}.{resume}", "info")
        return True

    def _on_test_images(self, answer: tuple[ModelInMemory, TestImages | None]) -> None:
        """Score the opened run's model on its reloaded test split, for the confusion view.

        Shown only when the figures match the saved ones (the same test split); otherwise the
        saved table stays on its own.
        """
        memory, images = answer
        if images is None or memory is not self.memory or self.runs or memory.evaluation is None:
            return
        saved_confusion = memory.evaluation.confusion
        loss = memory.config.loss if memory.config is not None else "crossentropy"

        def shown(evaluation: Any) -> None:
            if memory is self.memory and evaluation is not None and not self.runs:
                memory.confusion = (evaluation, images.x_test)
                self.view.show_confusion(evaluation, images.x_test)

        def score() -> Any:
            import numpy as np

            from model.evaluation import evaluate_predictions
            from model.inference import adapt_batch
            from model.training import predict_probabilities

            probabilities = predict_probabilities(memory.model, adapt_batch(images.x_test, memory.model))
            evaluation = evaluate_predictions(images.y_test, probabilities, images.class_names, loss)
            return evaluation if np.array_equal(saved_confusion, evaluation.confusion) else None

        deliver(self.keras.submit(score), self.dispatch, shown, lambda f: log.warning("scoring failed: %s", f.message))


def _keep_data_location(preset: RunConfig, current: RunConfig) -> RunConfig:
    """``preset`` with the user's own copy of the same dataset (a preset names none).

    A preset says which dataset, not where it is on this computer: dropping the path would
    make MNIST fall back to the offline digits without a word.
    """
    data = preset.data
    if data.path is None and current.data.path is not None and current.data.name == data.name:
        return preset.replace(data=dataclasses.replace(data, path=current.data.path))
    return preset


# ---------------------------------------------------------------------- on the Keras worker


def _load_run(folder: Path) -> SavedRun:
    return runfolder.load_run(folder)


def _load_digit_model(path: Path) -> tuple[Any, Any, str, bool]:
    """A plain ``.keras`` model that reads 28x28 digits, its layers as specs (or why not), and whether it diverged."""
    from model.inference import check_digit_model
    from model.keras_import import layer_specs
    from model.modelio import load_model_safe

    model = load_model_safe(path)
    check_digit_model(model)
    diverged = not runfolder.weights_are_finite(model)
    try:
        return model, layer_specs(model), "", diverged
    except ModelFileError as exc:
        return model, None, f" {exc}", diverged


def _save_model(memory: ModelInMemory, folder: Path) -> None:
    if memory.result is not None:
        runfolder.save_run(memory.result, folder)
    else:
        assert memory.saved is not None
        source = memory.saved.folder
        runfolder.replace_folder(folder, lambda staging: runfolder.copy_run_files(source, staging))
