"""Compare mode, Qt-free: start a comparison from the session's configuration and follow it.

:class:`ComparisonSession` is the part of a :class:`~model.session.RunSession` behind the
window's Compare tab. It builds an :class:`~model.experiments.Experiment` from the
configuration the panels hold (one or two settings varied by config path, or a built-in
experiment), starts it on the experiments engine (:func:`~model.experiments.start_comparison`:
Ray by default, on a local instance the engine starts itself, or on the cluster at the
address setting; ``RAY_ADDRESS`` honoured), and hands everything the trials report to
its :class:`ComparisonView` in the session's thread, through the session's own
``dispatch`` (:class:`~model.experiments.DispatchingListener`). Every comparison gets a
generation number, as runs get their ids: what a comparison that was replaced still
sends is dropped.

Each trial of a comparison is a run folder, so its actions reuse the session's own
workflows: *Open* is the session's open-run workflow (configuration, history, results,
model), *Use in Draw* loads only its model into memory for the Draw tab (the panels keep
the configuration), *Save* copies the run folder elsewhere, *Stop* stops that trial alone.
A saved comparison (a ``sweep`` folder, or one the window ran) opens with all its curves
(:func:`~model.experiments.load_comparison`, read off the session's thread).

All public methods are called in the session's thread.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from model import runfolder
from model.configpath import paths
from model.errors import ConfigError, ProjectError, one_line
from model.experiments import (
    CLUSTER_NOTICE,
    BuiltinExperiment,
    Comparison,
    ComparisonState,
    DispatchingListener,
    Experiment,
    ResultsTable,
    TrialRecord,
    TrialRun,
    TrialState,
    TrialUpdate,
    builtin,
    builtin_experiments,
    experiment_from_vary,
    load_comparison,
    resolve_address,
    start_comparison,
)
from model.experiments.engine import EngineName
from model.tasks import Failure, deliver

from .base import done
from .memory import ModelInMemory
from .view import Level

if TYPE_CHECKING:
    from model.results import SavedRun

    from .workflows import FileWorkflows

log = logging.getLogger(__name__)

ADDRESS_KEY: Final = "compare/address"
"""Where the Ray cluster address persists (empty: a local Ray instance)."""
CLOSE_TIMEOUT_S: Final = 60.0
"""How long closing waits for a comparison's engine (Ray's shutdown included)."""


@dataclass(frozen=True)
class CompareState:
    """What the Compare tab's controls may do now.

    ``start_reason`` is empty when a comparison can start, else why not.
    """

    start_reason: str = ""
    running: bool = False
    stopping: bool = False
    address: str | None = None  # the cluster the next comparison runs on; ``None``: local

    @property
    def can_start(self) -> bool:
        return not self.start_reason


class ComparisonView(Protocol):
    """What renders a comparison (the Compare tab, or a ``MagicMock(spec=...)`` in tests)."""

    def show_comparison(self, state: ComparisonState) -> None:
        """A comparison to show from scratch: its trials and what they did so far."""

    def comparison_record(self, trial_id: int, record: TrialRecord) -> None:
        """A record of a running trial (data, start, throttled batches, epochs, end)."""

    def show_trial_table(self, table: ResultsTable) -> None:
        """The results table as it stands (one row per trial)."""

    def show_comparison_message(self, text: str, level: Level) -> None:
        """A line about the comparison (started, a cluster's limits, what failed)."""

    def show_compare_state(self, state: CompareState) -> None: ...

    def show_in_draw(self, description: str) -> None:
        """A trial's model answers the Draw tab now: show that tab."""


class _Inbox:
    """The listener one comparison reports to: its calls, tagged with its generation."""

    def __init__(self, owner: ComparisonSession, generation: int) -> None:
        self.owner = owner
        self.generation = generation

    def on_record(self, trial_id: int, record: TrialRecord) -> None:
        self.owner._on_record(self.generation, trial_id, record)

    def on_trial_state(self, update: TrialUpdate) -> None:
        self.owner._on_trial_state(self.generation, update)

    def on_notice(self, text: str) -> None:
        self.owner._on_notice(self.generation, text)

    def on_finished(self, state: ComparisonState) -> None:
        self.owner._on_finished(self.generation, state)


class ComparisonSession:
    """Compare mode of one session (module docstring).

    Args:
        session: the run session (a :class:`~model.session.RunSession`) whose configuration, dispatch, settings store, Keras
            worker and open-run workflow the comparisons use.
        view: what renders the comparison.
        comparisons_dir: where new comparison folders are made (one per comparison).
        engine: ``ray`` (the default) or ``in-process`` (tests).
        max_concurrent: at most this many trials at once on Ray (default: one per CPU).
    """

    def __init__(
        self,
        session: FileWorkflows,
        view: ComparisonView,
        *,
        comparisons_dir: Path,
        engine: EngineName = "ray",
        max_concurrent: int | None = None,
    ) -> None:
        self.session = session
        self.view = view
        self.comparisons_dir = comparisons_dir
        self.engine: EngineName = engine
        self.max_concurrent = max_concurrent
        self.comparison: Comparison | None = None  # the one running (or winding down)
        self.state: ComparisonState | None = None  # what the view shows: live or opened
        self._generation = 0
        self._busy = ""  # an open on its way
        self._stopping = False  # Stop all was pressed
        self._closed = False

    # ================================================================== settings

    @property
    def address_setting(self) -> str:
        """The cluster address the user gave ("" for a local Ray instance)."""
        value = self.session.store.value(ADDRESS_KEY)
        return value.strip() if isinstance(value, str) else ""

    def address(self) -> str | None:
        """The cluster the next comparison runs on: the setting, else ``RAY_ADDRESS``; ``None``: local."""
        return resolve_address(self.address_setting or None) if self.engine == "ray" else None

    def set_address(self, text: str) -> None:
        """Remember a cluster address ("" or ``local``: a local instance); a cluster gets its notice."""
        self.session.store.setValue(ADDRESS_KEY, text.strip())
        address = self.address()
        if address is not None:
            self.view.show_comparison_message(f"Trials run on the Ray cluster at {address}. {CLUSTER_NOTICE}", "info")
        else:
            self.view.show_comparison_message("Trials run on a local Ray instance that the comparison starts itself.", "info")
        self._update()

    # ================================================================== what can be compared

    @staticmethod
    def builtins() -> tuple[BuiltinExperiment, ...]:
        return builtin_experiments()

    def setting_paths(self) -> tuple[str, ...]:
        """Every setting of the current configuration that a comparison can vary."""
        return paths(self.session.config)

    def experiment_for(self, key: str | None = None, vary: Sequence[tuple[str, str]] = ()) -> Experiment:
        """The built-in experiment ``key``, or the settings ``vary`` as ``(path, "v1, v2")`` rows.

        Built on the configuration the panels hold, and validated (every trial).

        Raises:
            ProjectError: the settings are invalid, or a bad path or value (naming it).
        """
        base = self.session.document.current
        if base is None:
            raise ProjectError(f"Fix the settings first: {self.session.document.error or 'they are not valid'}")
        if key:
            return builtin(key).experiment(base)
        rows = [(path.strip(), values.strip()) for path, values in vary if path.strip() or values.strip()]
        if not rows:
            raise ConfigError("vary", "nothing to compare; pick a setting and give its values, e.g. sgd, adam")
        return experiment_from_vary(base, [f"{path}={values}" for path, values in rows])

    # ================================================================== starting and stopping

    def compare_state(self) -> CompareState:
        running = self.comparison is not None
        reason = ""
        if self._closed:
            reason = "The window is closing."
        elif running:
            reason = "A comparison is running; stop it first."
        elif self._busy:
            reason = self._busy
        elif self.session.document.current is None:
            reason = f"Fix the settings first: {self.session.document.error or 'they are not valid'}"
        stopping = self.comparison is not None and self._stopping
        return CompareState(reason, running, stopping, self.address())

    def start(self, key: str | None = None, vary: Sequence[tuple[str, str]] = ()) -> bool:
        """Start the built-in experiment ``key``, or the ``vary`` rows (see :meth:`experiment_for`)."""
        state = self.compare_state()
        if not state.can_start:
            self.view.show_comparison_message(state.start_reason, "warning")
            return False
        try:
            experiment = self.experiment_for(key, vary)
        except ProjectError as exc:
            self.view.show_comparison_message(one_line(str(exc), 400), "error")
            return False
        return self.start_experiment(experiment)

    def start_experiment(self, experiment: Experiment) -> bool:
        """Start ``experiment`` in a new comparison folder; whether it started."""
        if self.comparison is not None or self._closed:
            return False
        self._generation += 1
        listener = DispatchingListener(_Inbox(self, self._generation), self.session.dispatch)
        address = self.address()
        try:
            comparison = start_comparison(
                experiment,
                listener,
                out_dir=self._new_folder(experiment),
                engine=self.engine,
                address=address,
                max_concurrent=self.max_concurrent,
            )
        except ProjectError as exc:
            self.view.show_comparison_message(one_line(str(exc), 400), "error")
            return False
        self.comparison = comparison
        self._stopping = False
        self.state = comparison.state()
        self.view.show_comparison(self.state)
        self.view.show_trial_table(self.state.table)
        where = f"the Ray cluster at {address}" if address else (
            "a local Ray instance" if self.engine == "ray" else "this process, one after another"
        )
        trials = len(comparison.trials)
        text = f"{experiment.describe()}: {trials} trials on {where}, saved in {comparison.out_dir}."
        if experiment.look_for:
            text += f" {experiment.look_for}"
        if address:
            text += f" {CLUSTER_NOTICE}"
        self.view.show_comparison_message(text, "info")
        self._update()
        return True

    def _new_folder(self, experiment: Experiment) -> Path:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = self.comparisons_dir / f"{stamp}-{experiment.name}"
        n = 2
        while folder.exists():
            folder = self.comparisons_dir / f"{stamp}-{experiment.name}-{n}"
            n += 1
        return folder

    def stop_all(self) -> None:
        """Stop every trial after its current batch (what ended is kept)."""
        if self.comparison is None:
            return
        self._stopping = True
        self.comparison.stop_all()
        self.view.show_comparison_message("Stopping every trial after its current batch…", "info")
        self._update()

    def stop_trial(self, trial_id: int) -> None:
        """Stop one trial after its current batch (a pending one never starts)."""
        run = self._run(trial_id)
        if self.comparison is None or run is None or run.state.over:
            return
        self.comparison.stop(trial_id)
        self.view.show_comparison_message(f"Stopping trial {trial_id + 1} ({run.trial.label})…", "info")

    # ================================================================== a trial's run folder

    def _run(self, trial_id: int) -> TrialRun | None:
        if self.state is None or not 0 <= trial_id < len(self.state.trials):
            return None
        return self.state.trials[trial_id]

    def trial_folder(self, trial_id: int) -> Path | None:
        """The trial's run folder, once it has one."""
        run = self._run(trial_id)
        return run.run_folder if run is not None else None

    def _folder_or_say(self, trial_id: int, title: str) -> Path | None:
        folder = self.trial_folder(trial_id)
        if folder is None:
            run = self._run(trial_id)
            why = "it has no run folder yet" if run is None or not run.state.over else "it saved no run folder"
            self.session.view.warn(title, f"Trial {trial_id + 1} cannot be used: {why}.")
        return folder

    def open_trial(self, trial_id: int) -> Future[bool]:
        """Open the trial as a normal run (the session's open-run workflow)."""
        folder = self._folder_or_say(trial_id, "Cannot open the trial")
        if folder is None or not self.session.confirm_discard():
            return done(False)
        return self.session.open_run_folder(folder)

    def use_in_draw(self, trial_id: int) -> Future[bool]:
        """Let the trial's model answer the Draw tab; the panels keep their configuration."""
        title = "Cannot use the trial"
        folder = self._folder_or_say(trial_id, title)
        run = self._run(trial_id)
        if folder is None or run is None:
            return done(False)
        if self.session.runs:
            self.session.view.warn(title, "A run is in progress and its model answers the Draw tab; stop it first.")
            return done(False)
        outcome: Future[bool] = Future()
        session = self.session

        def shown(saved: SavedRun) -> None:
            if session.runs:
                outcome.set_result(False)
                return
            evaluation = runfolder.evaluation_from_metrics(saved.metrics)
            accuracy = f" · test accuracy {evaluation.accuracy:.1%}" if evaluation is not None else ""
            description = f"trial {trial_id + 1} ({run.trial.label}){accuracy}"
            session._set_memory(
                ModelInMemory(
                    saved.model,
                    session._predictor_for(saved.model),
                    description,
                    history=list(saved.history),
                    layer_names=saved.layer_names,
                    steps_per_epoch=saved.steps_per_epoch,
                    evaluation=evaluation,
                    saved=saved,
                )
            )
            if evaluation is not None:
                session.view.show_class_names(evaluation.class_names)
            self.view.show_in_draw(description)
            outcome.set_result(True)

        def refused(failure: Failure) -> None:
            session.view.warn(title, one_line(failure.message))
            outcome.set_result(False)

        deliver(session.keras.submit(runfolder.load_run, folder), session.dispatch, shown, refused)
        return outcome

    def save_trial(self, trial_id: int, target: str | Path) -> Future[bool]:
        """Copy the trial's run folder to ``target`` (a new or empty folder, or a run to replace)."""
        title = "Cannot save the trial"
        source = self._folder_or_say(trial_id, title)
        if source is None:
            return done(False)
        target = Path(target)
        try:
            replacing = runfolder.check_target(target)
        except ProjectError as exc:
            self.session.view.warn(title, str(exc))
            return done(False)
        if replacing and not self.session.view.ask("Replace the run?", f"{target} already holds a run. Replace it?"):
            return done(False)
        outcome: Future[bool] = Future()

        def saved(_: object) -> None:
            self.session._remember_recent(target)
            self.session.view.show_status(f"Saved trial {trial_id + 1} to {target}")
            outcome.set_result(True)

        def refused(failure: Failure) -> None:
            self.session.view.warn(title, one_line(failure.message))
            outcome.set_result(False)

        def copy() -> None:
            runfolder.replace_folder(target, lambda staging: runfolder.copy_run_files(source, staging))

        deliver(self.session.background.submit(copy), self.session.dispatch, saved, refused)
        return outcome

    # ================================================================== a saved comparison

    def open_comparison(self, folder: str | Path) -> Future[bool]:
        """Show a saved comparison (its table and every trial's curves), read off this thread."""
        folder = Path(folder)
        title = "Cannot open the comparison"
        if self.comparison is not None or self._busy:
            self.session.view.warn(title, self._busy or "A comparison is running; stop it first.")
            return done(False)
        outcome: Future[bool] = Future()

        def shown(state: ComparisonState) -> None:
            self._busy = ""
            self._generation += 1  # nothing of an earlier comparison is shown over it
            self.state = state
            self.view.show_comparison(state)
            self.view.show_trial_table(state.table)
            ended = sum(run.state.over for run in state.trials)
            self.view.show_comparison_message(
                f"Opened the comparison {folder.name}: {state.experiment.describe()}, "
                f"{ended} of {len(state.trials)} trials ended.",
                "info",
            )
            self._update()
            outcome.set_result(True)

        def refused(failure: Failure) -> None:
            self._busy = ""
            self._update()
            self.session.view.warn(title, one_line(failure.message))
            outcome.set_result(False)

        self._busy = "Opening a comparison…"
        self._update()
        deliver(self.session.background.submit(load_comparison, folder), self.session.dispatch, shown, refused)
        return outcome

    # ================================================================== closing

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Stop the comparison and wait for its engine to wind down; whether it did."""
        self._closed = True
        comparison = self.comparison
        if comparison is None:
            return True
        ended = comparison.close(timeout)
        if not ended:
            log.warning("the comparison's engine did not end within %.0f s", timeout)
        return ended

    # ================================================================== what the comparison reports

    def _current(self, generation: int) -> bool:
        return generation == self._generation and self.comparison is not None and not self._closed

    def _on_record(self, generation: int, trial_id: int, record: TrialRecord) -> None:
        if self._current(generation):
            self.view.comparison_record(trial_id, record)

    def _on_trial_state(self, generation: int, update: TrialUpdate) -> None:
        if not self._current(generation):
            return
        assert self.comparison is not None
        self.state = self.comparison.state()
        self.view.show_trial_table(self.state.table)
        if update.state.over:
            label = self.state.trials[update.trial_id].trial.label
            level: Level = "warning" if update.state is TrialState.FAILED else "info"
            text = f"Trial {update.trial_id + 1} ({label}) {update.state}"
            self.view.show_comparison_message(f"{text}: {update.message}" if update.message else text, level)

    def _on_notice(self, generation: int, text: str) -> None:
        if self._current(generation):
            self.view.show_comparison_message(text, "info")

    def _on_finished(self, generation: int, state: ComparisonState) -> None:
        comparison = self.comparison
        if generation != self._generation or comparison is None:
            return
        comparison.wait(5.0)  # the driver thread ends right after this call
        self.comparison = None
        self._stopping = False
        if self._closed:
            return
        self.state = state
        self.view.show_trial_table(state.table)
        if comparison.failure is not None:
            self.view.show_comparison_message(comparison.failure.message, "error")
        else:
            rows = state.table.rows
            counts = ", ".join(f"{sum(r.state == s for r in rows)} {s}" for s in sorted({r.state for r in rows}))
            self.view.show_comparison_message(f"The comparison ended ({counts}); saved in {state.folder}.", "info")
        self._update()

    def _update(self) -> None:
        if not self._closed:
            self.view.show_compare_state(self.compare_state())
