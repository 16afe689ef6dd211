"""The run session: the document, its runs, the model in memory, and the work behind them.

:class:`RunSession` is everything the main window used to own, without Qt: the view
(:class:`~model.session.view.SessionView`) sends intents (``train``, ``open_path``,
``save_model_to`` ...) and renders what the session tells it. It is built for several runs
at once, each with its own id (the window uses one at a time). Slow work never happens in
the session's thread:

- runs train wherever the injected :class:`~model.runner.Runner` puts them;
- every Keras object that no run is training (a finished run's model, a loaded one) belongs
  to one single-worker executor, ``keras``: loading, saving, predicting and scoring happen
  there, and answers come back through ``dispatch``;
- data work (counting a dataset, reloading a test split) runs on a second worker,
  ``background``, as :class:`~model.tasks.LatestTask` jobs: only the newest answer counts.

The parts: :mod:`~model.session.base` (state), :mod:`~model.session.workflows` (the
document and its files), :mod:`~model.session.lifecycle` (runs), :mod:`~model.session.cockpit`
(the range test, the initialization preview, replay and the TensorBoard export). All public methods are
called from the session's thread (the GUI thread in the window).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final

from model.catalogue import data_title
from model.config import RunConfig
from model.data import summarize  # cheap (numpy only); imported here, not in a worker thread
from model.errors import ProjectError
from model.runner import ManagedRunner
from model.tasks import Failure

from .cockpit import CockpitTools
from .compare import ComparisonSession, ComparisonView
from .document import CONFIG_KEY
from .lifecycle import RunLifecycle
from .workflows import FileWorkflows

if TYPE_CHECKING:
    from pathlib import Path

    from model.data import DataSummary
    from model.experiments.engine import EngineName

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S: Final = 10.0
"""How long closing waits for stopping runs before it gives the user control back."""


class RunSession(FileWorkflows, RunLifecycle, CockpitTools):
    """One user's session with the app: see the module docstring (arguments: :class:`SessionBase`)."""

    compare: ComparisonSession | None = None
    """Compare mode, once :meth:`attach_compare` has given it a view."""

    # ================================================================== start-up

    def attach_compare(
        self, view: ComparisonView, comparisons_dir: Path, *, engine: EngineName = "ray", max_concurrent: int | None = None
    ) -> ComparisonSession:
        """Compare mode for this session, rendered by ``view``; closing the session stops its comparison."""
        self.compare = ComparisonSession(
            self, view, comparisons_dir=comparisons_dir, engine=engine, max_concurrent=max_concurrent
        )
        return self.compare

    def begin(self) -> None:
        """Show the initial state (call once the view is built)."""
        try:
            self.view.show_config(self.document.saved)
        except ProjectError as exc:
            # The remembered configuration is valid but the panels cannot show it: start afresh.
            log.warning("the remembered configuration cannot be shown: %s", exc)
            self.document.replace(RunConfig())
            self.view.show_config(self.document.saved)
            self.view.show_message(f"The settings remembered from last time could not be shown ({exc}); these are the defaults.", "warning")
        self.view.show_recent(self.recent_files())
        self._refresh()

    def refresh_counts(self) -> None:
        """Count the configured dataset's split in the background (the newest settings win).

        Loading MNIST takes a second or two and a few hundred MB, so the same data, split
        and seed are not counted twice, and a burst of edits runs at most two counts.
        """
        config = self.config
        key = (config.data, config.split, config.seed)
        if key == self._counted:
            return
        self._counted = key
        self.view.show_data(f"{data_title(config.data)}: counting…")
        self.view.show_counts_pending(data_title(config.data))
        self._counts.start(lambda: summarize(config.data, config.split, config.seed))

    def backend_ready(self) -> None:
        """TensorFlow has loaded: training is possible; offer to recover an interrupted run."""
        self._backend, self._backend_message = "ready", ""
        self._update_actions()
        from model.modelio import keras_version_problem

        problem = keras_version_problem()
        if problem is not None:
            self.view.show_message(problem, "warning")
        if isinstance(self.runner, ManagedRunner):
            self.runner.prewarm()  # now, not earlier: two TensorFlow imports would share the CPU
        if not self._recovery_offered:
            self.offer_recovery()

    def backend_failed(self, message: str) -> None:
        self._backend, self._backend_message = "failed", message
        self.view.show_message(message, "error")
        self._update_actions()

    # ================================================================== closing

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Ask about unsaved changes, stop every run and wait for them (up to ``timeout``).

        Returns whether the view may close now. When runs are still stopping, the view is
        told :meth:`~SessionView.close_now` once they have.
        """
        if not self._closing:
            if self.runs and not self.view.ask(
                "Quit while training?", "A run is in progress. Stop it and quit? Its model is not kept."
            ):
                return False
            if not self.settle_unsaved_model(self.view.close_now) or not self.confirm_discard():
                return False
            self._closing = True
        config = self.document.current
        if config is not None:
            self.store.setValue(CONFIG_KEY, config.to_json())
        self.store.sync()
        self._pending = None
        for run in self.runs.values():
            run.control.stop()
        deadline = time.monotonic() + timeout
        if not all(run.handle.join(max(0.0, deadline - time.monotonic())) for run in list(self.runs.values())):
            self.view.show_message(
                "The run is still stopping (a long batch?); the window closes as soon as it has.", "warning"
            )
            return False
        if self.compare is not None:
            self.compare.close()  # every trial stops after its batch; Ray shuts down
        self._closed = True
        self.runs.clear()
        self.shutdown()
        return True

    def shutdown(self) -> None:
        """Let the workers finish what they do, and end them (the session is unusable after)."""
        self._closed = True
        self.shutdown_cockpit()
        if self.compare is not None:
            self.compare.close()
        self._counts.cancel()
        self._images.cancel()
        if isinstance(self.runner, ManagedRunner):
            self.runner.close()  # reaps its processes (a spare, a worker still ending)
        self.keras.shutdown(wait=True)
        self.background.shutdown(wait=True)

    def _on_counts(self, summary: DataSummary) -> None:
        self.view.show_counts(summary)
        spec = self._counted[0] if self._counted is not None else self.config.data
        self.view.show_data(f"{data_title(spec)} · {summary.description}", summary.source)

    def _on_counts_failed(self, failure: Failure) -> None:
        self._counted = None  # try again next time
        self.view.show_counts_failed(failure.message)
