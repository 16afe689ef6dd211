"""Start a comparison and steer it: the API a session, the command line and tests use.

:func:`start_comparison` validates everything it can at once (every trial's configuration,
the output folder, that the engine is installed), then returns a :class:`Comparison`
handle while a driver thread (``comparison-driver``) runs the trials:

- ``engine="ray"`` (the default) runs them as Ray Tune trials, on a local Ray instance it
  starts and shuts down itself, or on the cluster at ``address`` (``RAY_ADDRESS`` when not
  given): :mod:`model.experiments.ray_driver`.
- ``engine="in-process"`` trains them one after another in the driver thread, without
  Ray (:mod:`model.experiments.local`): the benchmark's baseline, and what tests use when
  the engine is not what they test.

Both report the same way, to a :class:`~model.experiments.link.ComparisonListener` whose
methods are called from the driver thread, one call at a time, never from the caller's
thread: a session hands them to its own thread (:class:`DispatchingListener` does that
with a :data:`model.tasks.Dispatch`). Records arrive by trial id (``record.run_id``
equals it too): ``DataReady``, ``RunStarted``, throttled ``BatchRecord`` s, every
``EpochRecord``, ``RunFinished``; state changes arrive as
:class:`~model.experiments.recorder.TrialUpdate`. :meth:`Comparison.stop` and
:meth:`Comparison.stop_all` may be called from any thread and take effect within a batch
of the running trials (a few tenths of a second more on Ray).

Every state change is saved into the output folder (:mod:`model.experiments.store`), so
an interrupted comparison can be resumed (``resume=True``): trials that ended are kept,
the interrupted and unfinished ones run again.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from model.errors import ProjectError
from model.experiments.link import CLUSTER_NOTICE, ComparisonListener, DriverLink, NullComparisonListener
from model.experiments.recorder import ComparisonState, TrialRecord, TrialUpdate
from model.experiments.spec import Experiment, Trial
from model.experiments.store import check_comparison_target
from model.experiments.table import ResultsTable
from model.tasks import Dispatch, Failure

__all__ = [
    "CLUSTER_NOTICE",
    "ENGINES",
    "Comparison",
    "DispatchingListener",
    "EngineName",
    "ray_available",
    "resolve_address",
    "start_comparison",
]

EngineName = Literal["ray", "in-process"]
ENGINES: Final = ("ray", "in-process")


class DispatchingListener:
    """Hands every call to ``inner`` through ``dispatch`` (e.g. onto the session's thread)."""

    def __init__(self, inner: ComparisonListener, dispatch: Dispatch) -> None:
        self.inner = inner
        self.dispatch = dispatch

    def on_record(self, trial_id: int, record: TrialRecord) -> None:
        self.dispatch(lambda: self.inner.on_record(trial_id, record))

    def on_trial_state(self, update: TrialUpdate) -> None:
        self.dispatch(lambda: self.inner.on_trial_state(update))

    def on_notice(self, text: str) -> None:
        self.dispatch(lambda: self.inner.on_notice(text))

    def on_finished(self, state: ComparisonState) -> None:
        self.dispatch(lambda: self.inner.on_finished(state))


class Comparison:
    """A started comparison: steer it, ask how it stands, wait for it (made by :func:`start_comparison`)."""

    def __init__(self, link: DriverLink, engine: EngineName) -> None:
        self._link = link
        self.engine: EngineName = engine
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def experiment(self) -> Experiment:
        return self._link.experiment

    @property
    def trials(self) -> tuple[Trial, ...]:
        return self._link.trials

    @property
    def out_dir(self) -> Path:
        return self._link.out_dir

    @property
    def address(self) -> str | None:
        """The Ray cluster's address; ``None`` for a local instance or in process."""
        return self._link.address

    @property
    def failure(self) -> Failure | None:
        """Why the engine itself failed (Ray would not start, the cluster went away), if it did."""
        return self._link.failure

    @property
    def startup_seconds(self) -> float | None:
        """How long starting (or connecting to) Ray took; ``None`` in process or before it is known."""
        return self._link.startup_seconds

    def stop(self, trial_id: int) -> None:
        """Stop one trial after its current batch (a pending one never starts); it ends ``stopped``.

        A resume does not run it again: stopping it was a decision about this trial.
        """
        if not 0 <= trial_id < len(self.trials):
            raise ValueError(f"no trial {trial_id}; the trials are 0 to {len(self.trials) - 1}")
        self._link.request_stop(trial_id)

    def stop_all(self) -> None:
        """Stop every trial after its current batch; what ended is kept, the rest end ``stopped``.

        That is an interruption: a resume runs the stopped trials again.
        """
        self._link.request_stop_all()

    def results(self) -> ResultsTable:
        """The results table as it stands (any thread, any time)."""
        return self._link.recorder.snapshot().table

    def state(self) -> ComparisonState:
        """Every trial as far as it got, curves included (a frozen copy; any thread)."""
        return self._link.recorder.snapshot()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (forever with ``None``) for the end; whether it ended."""
        ended = self._done.wait(timeout)
        if ended and self._thread is not None:
            self._thread.join()
        return ended

    def close(self, timeout: float | None = 120.0) -> bool:
        """Stop every trial and wait for the engine to wind down (Ray included); whether it did."""
        self.stop_all()
        return self.wait(timeout)

    def __enter__(self) -> Comparison:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, drive: Callable[[DriverLink], None]) -> None:
        def work() -> None:
            try:
                self._link.run(drive)
            finally:
                self._done.set()

        self._link.save()
        self._thread = threading.Thread(target=work, name="comparison-driver")
        self._thread.start()


def resolve_address(address: str | None) -> str | None:
    """The Ray cluster to use: ``address``, else ``RAY_ADDRESS``; ``None`` means a local instance."""
    chosen = address if address is not None else os.environ.get("RAY_ADDRESS")
    if chosen is None or chosen.strip() in ("", "local"):
        return None
    return chosen.strip()


def _check_same(previous: ComparisonState, experiment: Experiment) -> None:
    old = [(t.label, t.config) for t in previous.experiment.trials]
    new = [(t.label, t.config) for t in experiment.trials]
    if old != new:
        raise ProjectError(
            f"{previous.folder} holds a different comparison ({previous.experiment.describe()}, "
            f"{len(old)} trials); resume it with the same settings, or choose a new folder"
        )


def ray_available() -> bool:
    """Whether Ray Tune is installed (without importing it)."""
    try:
        return importlib.util.find_spec("ray") is not None and importlib.util.find_spec("ray.tune") is not None
    except (ImportError, ValueError):
        return False


def start_comparison(
    experiment: Experiment,
    listener: ComparisonListener | None = None,
    *,
    out_dir: str | Path,
    engine: EngineName = "ray",
    address: str | None = None,
    max_concurrent: int | None = None,
    cpus_per_trial: float = 1.0,
    resume: bool = False,
) -> Comparison:
    """Start running ``experiment``'s trials; returns at once with the handle.

    Args:
        experiment: What to compare; expanded and validated here, before anything starts.
        listener: Hears records and states from the driver thread (module docstring).
        out_dir: The comparison folder: new or empty, or (with ``resume``) an earlier run of
            the same comparison.
        engine: ``ray`` or ``in-process``.
        address: A Ray cluster (``host:port`` or ``ray://host:port``); ``None`` honours
            ``RAY_ADDRESS``, else a local Ray instance is started for this comparison (one
            this process is already connected to is used as it is).
        max_concurrent: At most this many trials at once (Ray); default: as many as the
            CPUs allow at ``cpus_per_trial`` each.
        cpus_per_trial: CPUs Ray reserves for each trial; TensorFlow in the trial uses as
            many threads.
        resume: Continue the comparison in ``out_dir``: trials that ended are kept.

    Raises:
        ProjectError: a bad setting (naming it), an unusable folder, or Ray not installed.
    """
    _ = experiment.trials  # every trial validated before anything else happens
    if engine not in ENGINES:
        raise ProjectError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    if max_concurrent is not None and max_concurrent < 1:
        raise ProjectError(f"max_concurrent must be at least 1, got {max_concurrent}")
    if not cpus_per_trial > 0:
        raise ProjectError(f"cpus_per_trial must be more than 0, got {cpus_per_trial}")
    if engine == "ray" and not ray_available():
        raise ProjectError(
            "Ray is not installed, so the comparison cannot run on it; install it with "
            "pip install 'ray[tune]', or run the trials in this process (engine in-process)"
        )
    folder = Path(out_dir)
    previous = check_comparison_target(folder, resume=resume)
    if previous is not None:
        _check_same(previous, experiment)
    address = resolve_address(address) if engine == "ray" else None
    link = DriverLink(
        experiment, folder, listener or NullComparisonListener(), engine=engine, address=address, previous=previous
    )
    comparison = Comparison(link, engine)
    if engine == "ray":
        from model.experiments.ray_driver import RayDriver

        comparison._start(RayDriver(max_concurrent=max_concurrent, cpus_per_trial=cpus_per_trial, resume=resume).drive)
    else:
        from model.experiments.local import drive_in_process

        comparison._start(drive_in_process)
    return comparison
