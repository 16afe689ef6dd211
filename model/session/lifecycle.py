"""Runs: start, pause, retune, stop and resume them, and show what they report.

:class:`RunLifecycle` is the part of the session that starts runs through the injected
:class:`~model.runner.Runner` and handles their records, which arrive in the session's
thread through a :class:`~model.session.runs.SessionSink`. Records of a run the view no
longer shows (superseded by a new run, or after closing) are dropped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from model import runfolder
from model.catalogue import data_title
from model.config import RunConfig
from model.diagnosis import Diagnosis, HealthMonitor, RunContext
from model.events import BatchRecord, DataReady, EndReason, EpochRecord, RunFinished, RunStarted
from model.inference import LivePredictor
from model.runner import RunRequest
from model.tasks import Failure, deliver

from .base import SessionBase, done
from .memory import ModelInMemory, RateChange, WeightsOnly
from .runs import ActiveRun, SessionSink, format_progress

if TYPE_CHECKING:
    from model.results import RunResult, SavedRun


class RunLifecycle(SessionBase):
    """Starting, steering and following runs."""

    # ================================================================== runs

    def train(self) -> None:
        """What Train does: start a run of the current configuration (asking first if one runs)."""
        state = self.action_state()
        if not state.can_train:
            return
        config = self.document.current
        if config is None:
            self.view.show_message(self.document.error or "The settings are not valid.", "error")
            return
        run = self.shown_run
        if run is not None:
            if not self.view.ask("Start a new run?", "A run is in progress. Stop it and start a new one?"):
                return
            # The shown run's records become stale now; the new run starts once it has exited.
            self.shown = None
            self._pending = config
            run.control.stop()
            self.view.show_progress("Stopping the current run…")
            self._update_actions()
            return
        self.start_run(config)

    def start_run(self, config: RunConfig, resume: SavedRun | None = None, *, shown: bool = True) -> int:
        """Start a run of ``config`` (continuing ``resume``); returns its id."""
        run_id = self._next_id
        self._next_id += 1
        checkpoint = None
        if shown:
            # The last run's autosave is done with: its results are in memory (or were
            # declined at start-up). This run autosaves there after every epoch. Another
            # window's run writing it now keeps it: this run is then refused, not that one lost.
            if not runfolder.is_claimed(self.autosave_dir):
                runfolder.remove_folder(self.autosave_dir)
            checkpoint = self.autosave_dir
        request = RunRequest(run_id, config, resume, checkpoint)
        handle = self.runner.start(request, SessionSink(self, run_id, self.dispatch))
        self.runs[run_id] = ActiveRun(
            run_id,
            config,
            handle,
            prior_history=list(resume.history) if resume is not None else [],
            prior_batches=resume.batches if resume is not None else None,
            learning_rate=config.optimizer.learning_rate,
        )
        if shown:
            # The results of the model in memory stay until this run really starts: a run
            # that fails on its data or its stack leaves them as they were.
            self.shown = run_id
            self.view.clear_message()
            self.view.show_progress(f"Loading {config.data.name}…", 0.0)
            self.view.lock_panels("locked")
        self._update_actions()
        return run_id

    def pause_or_resume(self, learning_rate: float | None = None) -> None:
        """Pause the shown run, or resume it, first handing it an edited ``learning_rate``."""
        run = self.shown_run
        if run is None or run.control.stop_requested:
            return
        if not run.control.paused:
            run.control.pause()
            self.view.lock_panels("learning_rate")
            self.view.show_progress("Paused: you can change the learning rate, then Resume.")
        else:
            if learning_rate is not None:
                self._apply_learning_rate(run, learning_rate)
            self.view.lock_panels("locked")
            run.control.resume()
        self._update_actions()

    def step(self, learning_rate: float | None = None) -> None:
        """With the shown run paused, run exactly one batch (first handing it an edited ``learning_rate``)."""
        run = self.shown_run
        if run is None or not run.control.paused or run.control.stop_requested:
            return
        if learning_rate is not None:
            self._apply_learning_rate(run, learning_rate)
        run.control.step()

    def _apply_learning_rate(self, run: ActiveRun, value: float) -> None:
        current = run.last_batch.learning_rate if run.last_batch else run.learning_rate
        if not value > 0 or math.isclose(value, current, rel_tol=1e-9):
            return
        run.control.set_learning_rate(value)
        run.learning_rate = value
        step = run.last_batch.step + 1 if run.last_batch else 0
        run.rate_changes.append(RateChange(step, value))
        self.view.mark(step, f"lr → {value:g}")

    def _rate_note(self, run: ActiveRun) -> str:
        """Put the configured learning rate back in the panels if it was edited during ``run``.

        While paused the learning rate is the run's, not the configuration's: after the run
        the settings show the configured rate again. Returns what to tell the user ("" when
        nothing changed).
        """
        current = self.document.current
        configured = run.config.optimizer.learning_rate
        if current is None or math.isclose(current.optimizer.learning_rate, configured, rel_tol=1e-12):
            return ""
        restored = current.replace(optimizer=dataclasses.replace(current.optimizer, learning_rate=configured))
        self.document.current = restored
        self.view.show_config(restored)
        self._refresh()
        if run.rate_changes:
            changes = ", ".join(f"{c.learning_rate:g} from step {c.step:,}" for c in run.rate_changes)
            what = f"The learning rate was changed while paused ({changes})"
        else:
            what = f"The learning rate {current.optimizer.learning_rate:g} set while paused was never used"
        return (
            f"{what}; the settings are back at the configured {configured:g}: set it there to start the "
            "next run with it. An exported script repeats the changes."
        )

    def stop(self) -> None:
        """Stop the shown run after its current batch."""
        run = self.shown_run
        if run is None or run.control.stop_requested:
            return
        was_paused = run.control.paused
        run.control.stop()
        if was_paused:
            self.view.lock_panels("locked")
        self.view.show_progress("Stopping after the current batch…")
        self._update_actions()

    def stop_after_asking(self) -> None:
        """Stop the shown run if the user says so (Esc: a key pressed by mistake must not end it)."""
        run = self.shown_run
        if run is None or run.control.stop_requested:
            return
        if self.view.ask("Stop training?", "Stop the run after its current batch?"):
            self.stop()

    def resume_training(self, config: RunConfig | None = None) -> Future[bool]:
        """Continue the model in memory with its optimizer state for the configured epochs.

        ``config`` runs instead of the panels' configuration (fine-tuning on other data, say);
        it must describe the same layers as the model.
        """
        state = self.action_state()
        memory = self.memory
        saved = memory.resumable() if memory is not None else None
        config = config or self.document.current
        if state.train_reason or state.running or saved is None or config is None or memory is None:
            return done(False)
        if problem := self._resume_problem(config):  # refused at once, not after loading the data
            self.view.warn("Cannot resume", problem)
            return done(False)
        outcome: Future[bool] = Future()

        def go(weights: list[Any]) -> None:
            self._end_busy()
            # The run's thread gets a copy of the weights: the model stays with the canvas.
            self.start_run(config, resume=dataclasses.replace(saved, model=WeightsOnly(weights)))
            outcome.set_result(True)

        self._begin_busy("Preparing to resume…")
        deliver(self.keras.submit(memory.model.get_weights), self.dispatch, go, self._refused("Cannot resume", outcome))
        return outcome

    # ================================================================== run records (session thread)

    def _shown(self, run_id: int) -> ActiveRun | None:
        """The run if its records are to be shown, else ``None`` (stale, or the session closed)."""
        if self._closed or run_id != self.shown:
            return None
        return self.runs.get(run_id)

    def _on_data(self, info: DataReady) -> None:
        run = self._shown(info.run_id)
        if run is None:
            return
        run.data = info
        self.view.show_class_names(info.class_names)
        self.view.show_data(f"{data_title(run.config.data, fell_back=info.fell_back)} · {info.description}", info.source)
        self.view.show_progress("Building the model…")
        if info.notice:
            self.view.show_message(info.notice, "info")

    def _on_run_start(self, info: RunStarted) -> None:
        run = self._shown(info.run_id)
        if run is None:
            return
        run.info = info
        run.learning_rate = info.learning_rate
        self.view.show_results(None, None)
        self.view.show_confusion(None, None)
        context = RunContext.from_config(run.config)
        run.monitor = HealthMonitor(info.layer_names, context)
        self.view.run_started(info, run.prior_history, prior_batches=run.prior_batches, context=context)
        if run.data is not None:
            live = run.handle.live_predictor(run.data.input_shape)
            if isinstance(live, LivePredictor):
                self.view.show_predictor(live, live.description)
                # It says which batch it answers with: the Draw tab follows (at most 4 times a second).
                run_id = info.run_id
                live.watch(lambda: self.dispatch(lambda: self._on_live_model(run_id, live)))
            elif live is not None:
                self.view.show_predictor(live, f"live model of run {info.run_id} (training)")

    def _on_live_model(self, run_id: int, live: LivePredictor) -> None:
        if self._shown(run_id) is not None:
            self.view.show_predictor_description(live.description)

    def _on_batches(self, records: Sequence[BatchRecord]) -> None:
        """Consecutive batch records of one run, in order (the sink groups those that wait together)."""
        if not records:
            return
        run = self._shown(records[0].run_id)
        if run is None:
            return
        record = records[-1]
        run.last_batch = record
        run.batches_seen += len(records)
        self.view.run_batches(records)
        if run.monitor is not None:
            self._warn_about(run, run.monitor.extend(records))
        if not run.control.paused and run.progress_due():
            self.view.show_progress(format_progress(record, run.info), record.progress)
        elif run.control.paused:  # a batch run by Step
            self.view.show_progress(
                f"Paused after epoch {record.epoch + 1}, batch {record.batch + 1} (loss {record.loss:.4f}): "
                "Step runs one more batch, Resume goes on.",
                record.progress,
            )

    def _on_epoch(self, record: EpochRecord) -> None:
        run = self._shown(record.run_id)
        if run is None:
            return
        run.history.append(record)
        self.view.run_epoch(record)
        if record.note:
            self.view.show_status(f"Epoch {record.epoch + 1}: {record.note}", 8000)

    def _on_run_end(self, info: RunFinished) -> None:
        run = self._shown(info.run_id)
        if run is None:
            return
        run.finished = info
        if run.monitor is not None:
            self._warn_about(run, run.monitor.finish())
        self.view.run_ended(info)
        note = self._rate_note(run)
        after = f". {note}" if note else ""
        if info.reason == EndReason.NAN:
            self.view.show_message(
                f"Training diverged: {info.message}. Try a smaller learning rate, gradient clipping "
                "(clipnorm) or a different initializer." + (f" {note}" if note else ""),
                "error",
            )
        elif info.reason == EndReason.STOPPED:
            self.view.show_message(f"Stopped: {info.message}{after}", "info")
        elif info.reason == EndReason.EARLY_STOPPING:
            self.view.show_message(f"{info.message}{after}", "info")
        elif note:
            self.view.show_message(note, "info")
        self.view.show_progress(info.message)

    def _warn_about(self, run: ActiveRun, new: list[Diagnosis]) -> None:
        """Say in the message bar, while the run goes on, that something new went wrong.

        The diagnoses list under the plots has the details; a warning never replaces an
        error that is shown.
        """
        for diagnosis in new:
            if run.warned == "error" and diagnosis.severity != "error":
                continue
            run.warned = diagnosis.severity
            self.view.show_message(
                f"{diagnosis.title}: {diagnosis.finding}. Try: {diagnosis.remedies[0]} "
                "(see the diagnoses under the plots).",
                diagnosis.severity,
            )
            return

    def _on_result(self, result: RunResult) -> None:
        run = self._shown(result.run_id)
        if run is None:
            return
        run.has_result = True
        evaluation = result.evaluation
        images = run.data.test_images if run.data is not None else None
        accuracy = f" · test accuracy {evaluation.accuracy:.1%}" if evaluation is not None else ""
        if result.diverged:
            accuracy = " · diverged"
        # The run's thread is done with the model: from now on it belongs to the Keras worker.
        self._set_memory(
            ModelInMemory(
                result.model,
                self._predictor_for(result.model),
                f"model of run {result.run_id}{accuracy}",
                history=list(result.history),
                layer_names=tuple(result.layer_names),
                steps_per_epoch=result.steps_per_epoch,
                evaluation=evaluation,
                finished=result.finished,
                result=result,
                batches=result.batches,
                confusion=(evaluation, images) if evaluation is not None and images is not None else None,
                rate_changes=tuple(run.rate_changes),
                resumed=bool(run.prior_history),
            ),
            show=False,
        )
        # The run's results are in memory now: its autosave is no longer needed.
        runfolder.remove_folder(self.autosave_dir)
        self.view.show_results(result.finished, evaluation)
        if evaluation is not None and images is not None:
            # In a turn of its own: the matrix, its thumbnails and the timeline held the
            # window's thread 40-60 ms more on top of the results above.
            memory = self.memory

            def show_confusion() -> None:
                if self.memory is memory:  # not replaced meanwhile
                    self.view.show_confusion(evaluation, images)

            self.dispatch(show_confusion)
        if evaluation is not None:
            self.view.show_status(
                f"Test accuracy {evaluation.accuracy:.2%}, test loss {evaluation.loss:.4f} (see Results, Ctrl+2)", 10000
            )

    def _on_failed(self, run_id: int, failure: Failure) -> None:
        if self._shown(run_id) is None:
            return
        self.view.show_message(failure.message, "error", failure.details)
        self.view.show_progress("Training failed.")

    def _on_exit(self, run_id: int) -> None:
        """The run's runner is done with it: unlock the panels, start what waits."""
        run = self.runs.pop(run_id, None)
        if run is None or self._closed:
            return
        was_shown = run_id == self.shown
        if was_shown:
            self.shown = None
            if run.info is not None or run.has_result:
                # The live model is gone; show the run's final model (or the last one there was).
                memory = self.memory
                self.view.show_predictor(memory.predictor if memory else None, memory.description if memory else "")
            if run.info is not None and not run.has_result:
                self._show_memory_results()  # a run that failed: the model it leaves is the last one
            self.view.hide_progress_bar()
            self.view.lock_panels("editable")
        if self._closing and not self.runs:
            self.view.close_now()
            return
        if self._pending is not None and self.shown is None:
            config, self._pending = self._pending, None
            self.start_run(config)
        self._update_actions()
