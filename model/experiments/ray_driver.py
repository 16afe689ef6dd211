"""The Ray engine's driver: a comparison as Ray Tune trials, streamed home through a record hub.

:meth:`RayDriver.drive` runs in the comparison's driver thread:

1. It connects to Ray (:func:`ray_connection`): a local instance it starts itself,
   bound to the loopback address, without a dashboard, with as many CPUs as the machine
   has, shut down when the comparison ends (so no Ray process outlives it); or the
   cluster at the link's address, shipping this package to the workers
   (``runtime_env`` ``py_modules``), so nodes need only the libraries, not this app. A
   process already connected to Ray keeps its connection and the driver leaves it open.
2. It loads and splits the data once, here (:mod:`model.experiments.trialdata`), and
   hands it to the trials through ``tune.with_parameters``, which puts it in Ray's object
   store: cluster nodes need no copy of the user's files.
3. It starts the :class:`~model.experiments.hub.RecordHub` actor on this node and runs
   the trials with ``Tuner.fit`` (one CPU, or ``cpus_per_trial``, each; at most
   ``max_concurrent`` at once; a trial that fails does not end the others). Tune keeps a
   worker process for trial after trial, so TensorFlow is imported once per concurrent
   slot rather than once per trial (the benchmark's fixed cost per trial); a worker that
   dies is replaced, and only its trial fails. With ``resume``, ``Tuner.restore`` continues the Tune
   experiment in the comparison folder's ``.tune``: interrupted and crashed trials run
   again, trials that ended are kept.
4. A pump thread (``comparison-pump``) meanwhile drains the hub every
   :data:`POLL_INTERVAL`, writes run folders as they arrive, hands records and state
   changes to the link (and so to the listener), and forwards stop requests to the hub.

Ray is imported at the top of this module; :mod:`model.experiments.engine` imports the
module only when a comparison runs on Ray, so the app starts without Ray.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import ray
import ray.exceptions
from ray import tune
from ray.tune.progress_reporter import TrialProgressCallback
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import model
from model.errors import ProjectError
from model.experiments.hub import RecordHub
from model.experiments.link import CLUSTER_NOTICE, DriverLink
from model.experiments.recorder import TrialUpdate
from model.experiments.store import TUNE_DIR, trial_folder
from model.experiments.table import TrialState
from model.experiments.trainable import TrialInterrupted, TrialPlan, run_trial
from model.experiments.trialdata import TrialData, data_key, prepare_trials
from model.runfolder import RUN_FOLDER_FILES, check_target, replace_folder
from model.tasks import Failure

log = logging.getLogger(__name__)

POLL_INTERVAL: Final = 0.1
CONNECT_TIMEOUT: Final = 5.0
_HUB_TIMEOUT: Final = 60.0
_LOOPBACK_ENV: Final = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# Tune's console output and logs: the comparison reports through its own listener.
_TUNE_ENV: Final = {"RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
_QUIET_LOGGERS: Final = ("ray.tune", "ray.air", "ray.train")
_WORKER_ENV: Final = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def _package_root() -> Path:
    return Path(model.__file__).resolve().parent.parent


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """Bind a local instance to 127.0.0.1, not the machine's network address.

    Ray replaces a loopback node address by the machine's routable one unless it runs in
    single-machine mode, which only this environment variable (read at import, hence the
    module constant too) selects. A local instance needs no network, and a Ray instance
    open to the network would run code for anyone who reaches it.
    """
    if _LOOPBACK_ENV in os.environ:  # the user decided
        yield
        return
    from ray._private import ray_constants

    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", True)
    os.environ[_LOOPBACK_ENV] = "0"  # for the processes the instance starts
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved
        os.environ.pop(_LOOPBACK_ENV, None)


_COMMON_INIT: Final[dict[str, Any]] = {"log_to_driver": False, "logging_level": logging.ERROR, "namespace": "gradient-lab"}


def init_local(num_cpus: int | None = None) -> None:
    """Start a local Ray instance for this process: loopback only, no dashboard, quiet.

    Its workers find this package on ``PYTHONPATH`` and keep TensorFlow's logs short;
    ``ray.shutdown()`` ends every process it started.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls home from a desktop app
    pythonpath = os.pathsep.join(p for p in (str(_package_root()), os.environ.get("PYTHONPATH", "")) if p)
    with _loopback_only():
        ray.init(
            address="local",
            num_cpus=num_cpus or os.cpu_count() or 1,
            include_dashboard=False,
            runtime_env={"env_vars": {**_WORKER_ENV, "PYTHONPATH": pythonpath}},
            **_COMMON_INIT,
        )


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` address; ``None`` for ``ray://`` and other forms."""
    if "://" in address:
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    """Fail at once when nothing listens at ``address`` (Ray would retry for minutes)."""
    parts = _host_port(address)
    if parts is None:
        return
    try:
        with socket.create_connection(parts, timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from None


def init_cluster(address: str) -> None:
    """Connect to the Ray cluster at ``address``, shipping this package to its workers.

    A cluster on a loopback address is on this machine: the connection stays on loopback
    (Ray would otherwise swap 127.0.0.1 for the machine's network address).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    _check_reachable(address)
    parts = _host_port(address)
    local = parts is not None and _is_loopback(parts[0])
    with _loopback_only() if local else contextlib.nullcontext():
        ray.init(
            address=address,
            runtime_env={
                "py_modules": [str(Path(model.__file__).resolve().parent)],
                "excludes": ["__pycache__", "*.pyc"],
                "env_vars": dict(_WORKER_ENV),
            },
            **_COMMON_INIT,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def ray_connection(link: DriverLink) -> Iterator[None]:
    """Connect to Ray for one comparison (module docstring, step 1); disconnect afterwards."""
    if ray.is_initialized():
        link.startup_seconds = 0.0
        link.notice("using the Ray instance this process is already connected to")
        yield
        return
    started = time.perf_counter()
    try:
        if link.address is None:
            init_local()
        else:
            init_cluster(link.address)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds; people need one sentence
        if link.address is None:
            where = "start a local Ray instance"
            fix = "check that this machine can run Ray (ray.init's message says why not), or run the trials in this process"
        else:
            where = f"connect to the Ray cluster at {link.address}"
            fix = (
                "check the address (host:port of the cluster's head, or ray://host:10001) and that the cluster "
                "runs; a cluster with token authentication also needs RAY_AUTH_MODE=token and its token "
                "(RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH)"
            )
        raise ProjectError(f"cannot {where} ({type(exc).__name__}: {exc}); {fix}") from None
    link.startup_seconds = time.perf_counter() - started
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if link.address is None:
        link.notice(f"started a local Ray instance with {cpus} CPUs in {link.startup_seconds:.1f} s")
    else:
        nodes = len([node for node in ray.nodes() if node.get("Alive")])
        link.notice(f"connected to the Ray cluster at {link.address}: {nodes} nodes, {cpus} CPUs")
        link.notice(CLUSTER_NOTICE)
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _quiet_tune() -> Iterator[None]:
    saved_env = {key: os.environ.get(key) for key in _TUNE_ENV}
    os.environ.update(_TUNE_ENV)
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class SilentProgress(TrialProgressCallback):
    """Tune's per-trial console lines, silenced: the comparison's listener reports instead.

    Passing one keeps Tune from adding its own; module-level, so Tune can pickle it with
    the experiment's state and a resume can read it back.
    """

    def _print(self, msg: str) -> None:
        pass


class _Pump:
    """Drains the hub into the link, writes run folders, forwards stop requests (a thread)."""

    def __init__(self, link: DriverLink, hub: Any, data: dict[str, TrialData | Failure]) -> None:
        self.link = link
        self.hub = hub
        self.data = data
        self.ended: set[int] = set()
        self._sent_all = False
        self._sent: set[int] = set()
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="comparison-pump")

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """Stop the thread, then take what is left (the driver thread calls this after the fit)."""
        self._quit.set()
        self._thread.join()
        self.tick()

    def _loop(self) -> None:
        while not self._quit.wait(POLL_INTERVAL):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a lost tick is retried; the trials keep running
                log.exception("draining the record hub failed")

    def tick(self) -> None:
        stop_all, stopped = self.link.stop_requests()
        if stop_all and not self._sent_all:
            self.hub.stop_all.remote()
            self._sent_all = True
        if stopped - self._sent:
            self.hub.stop.remote(sorted(stopped - self._sent))
            self._sent |= stopped
        items = ray.get(self.hub.drain.remote(), timeout=_HUB_TIMEOUT)
        for trial_id, files in ray.get(self.hub.take_folders.remote(), timeout=_HUB_TIMEOUT):
            self._write_folder(trial_id, files)
        for trial_id, item in items:
            if isinstance(item, TrialUpdate):
                self._update(item)
            else:
                self.link.record(trial_id, item)  # type: ignore[arg-type]

    def _update(self, update: TrialUpdate) -> None:
        tid = update.trial_id
        if update.state is TrialState.RUNNING:
            prepared = self.data.get(data_key(self.link.trials[tid].config))
            if isinstance(prepared, TrialData):
                self.link.record(tid, prepared.ready(tid))
        if update.state.over:
            self.ended.add(tid)
        self.link.set_state(tid, update.state, update.message, node=update.node or None)

    def _write_folder(self, trial_id: int, files: dict[str, bytes]) -> None:
        target = trial_folder(self.link.out_dir, self.link.trials[trial_id])
        unknown = sorted(name for name in files if name not in RUN_FOLDER_FILES)
        if unknown:
            log.warning("trial %d sent files that are no part of a run folder: %s", trial_id, unknown)

        def fill(staging: Path) -> None:
            for name, content in files.items():
                if name in RUN_FOLDER_FILES:
                    (staging / name).write_bytes(content)

        check_target(target)
        replace_folder(target, fill)
        self.link.set_folder(trial_id, target)


def _failure_message(error: BaseException) -> str:
    """Tune's error for a trial, in words: the trial's own exception where there is one."""
    cause = getattr(error, "cause", None)
    if isinstance(error, ray.exceptions.RayActorError) or isinstance(cause, ray.exceptions.RayActorError):
        return (
            "the trial's worker process died (out of memory, or a crash in TensorFlow); "
            "use a smaller model or batch size, or fewer trials at once"
        )
    if isinstance(cause, BaseException):
        error = cause
    return Failure.of(error, "Training").message


class RayDriver:
    """Runs a comparison's trials on Ray Tune (module docstring)."""

    def __init__(self, *, max_concurrent: int | None = None, cpus_per_trial: float = 1.0, resume: bool = False) -> None:
        self.max_concurrent = max_concurrent
        self.cpus_per_trial = cpus_per_trial
        self.resume = resume

    def drive(self, link: DriverLink) -> None:
        if not link.pending():
            link.notice("every trial of this comparison has ended already; nothing to resume")
            return
        with ray_connection(link):
            self._run(link)

    def _run(self, link: DriverLink) -> None:
        pending = link.pending()
        # Every trial's data, not only the pending ones': a resumed Tune experiment also
        # reruns trials that crashed.
        data = prepare_trials(link.trials)
        plan = TrialPlan(trials=link.trials, threads=max(1, round(self.cpus_per_trial)))
        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
        hub: Any = ray.remote(num_cpus=0)(RecordHub).options(scheduling_strategy=here).remote()
        try:
            trainable = tune.with_resources(
                tune.with_parameters(run_trial, plan=plan, data=data, hub=hub), {"cpu": self.cpus_per_trial}
            )
            pump = _Pump(link, hub, data)
            pump.start()
            try:
                with _quiet_tune():
                    grid = self._tuner(link, trainable, pending).fit()
            finally:
                pump.finish()
            for result in grid:
                if result.error is None:
                    continue
                trial_id = int(result.config["trial"])
                if isinstance(result.error, TrialInterrupted) or (
                    isinstance(getattr(result.error, "cause", None), TrialInterrupted)
                ):
                    if trial_id not in pump.ended:
                        link.set_state(trial_id, TrialState.STOPPED, "the comparison was stopped before this trial ended")
                    continue
                # A crash: Tune marks the trial errored, and a resume runs it again.
                message = link.recorder.run(trial_id).message if trial_id in pump.ended else ""
                link.set_state(trial_id, TrialState.FAILED, message or _failure_message(result.error), rerun=True)
        finally:
            ray.kill(hub)

    def _tuner(self, link: DriverLink, trainable: Any, pending: list[Any]) -> Any:
        storage = link.out_dir.resolve()
        path = storage / TUNE_DIR
        if self.resume and tune.Tuner.can_restore(str(path)):
            link.notice(f"resuming: {len(pending)} of {len(link.trials)} trials to run")
            return tune.Tuner.restore(
                str(path), trainable, resume_unfinished=True, resume_errored=False, restart_errored=True
            )
        if path.exists():
            # A Tune state that cannot be restored (an earlier fresh start): start it afresh.
            import shutil

            shutil.rmtree(path, ignore_errors=True)

        def dirname(trial: Any) -> str:
            return f"trial-{int(trial.config['trial']) + 1:02d}"

        return tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search([t.trial_id for t in pending])},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=self.max_concurrent,
                # A worker imports TensorFlow once (seconds) and trains trial after trial;
                # each trial starts by clearing Keras's state (run_trial).
                reuse_actors=True,
                trial_name_creator=dirname,
                trial_dirname_creator=dirname,
            ),
            run_config=tune.RunConfig(
                name=TUNE_DIR,
                storage_path=str(storage),
                verbose=0,
                callbacks=[SilentProgress()],
                failure_config=tune.FailureConfig(max_failures=0),
            ),
        )
