"""Replay: re-run a saved run from its configuration and seed, deterministically, and compare.

A run folder holds everything a run needs to happen again: the configuration (the data
and its limit included) and the seed. :func:`replay_here` trains it again with
TensorFlow's op determinism on (``tf.config.experimental.enable_op_determinism()`` and
``keras.utils.set_random_seed``) and :func:`compare` says whether the new figures match
the saved ones within :data:`TOLERANCE`, and if not, from which step (per-batch losses,
when the folder saved its batch history) or epoch (the epoch history otherwise) they
part.

Determinism must be switched on before TensorFlow runs its first op in the process, so a
replay always happens in a fresh process: ``python main.py replay RUN_FOLDER`` is one,
and the window starts one per replay with :class:`ReplayProcess` (``python -m
model.replay RUN_FOLDER --json``), which streams the run's records back as JSON lines and
ends with the comparison. The window's side of it imports neither Keras nor TensorFlow.

What a replay cannot reproduce is said in :attr:`ReplayOutcome.warnings`: a learning
rate changed by hand while paused, a resumed run (replayed as one continuous run), a
last epoch cut short (not compared).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import numpy as np

from model.config import RunConfig, load_config
from model.errors import ProjectError
from model.events import (
    BatchRecord,
    EpochRecord,
    NullListener,
    RunControl,
    RunFinished,
    RunStarted,
    TrainingListener,
)

TOLERANCE: Final = 1e-5
"""Largest relative difference (|a - b| / max(|a|, |b|)) at which two figures still match.

A replay on the same machine and library versions matches exactly; float32 figures from
another machine may differ in their last digits, which this allows and no more."""

EPOCH_FIGURES: Final = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class Comparison:
    """Whether a replay matches its saved run, and if not where they part.

    Attributes:
        matches: every compared figure is within ``tolerance``.
        exact: every compared figure is bit for bit the same.
        basis: what was compared, in words (``per-batch losses`` or ``epoch figures``).
        compared: how many values were compared.
        max_difference: the largest relative difference found.
        parted_step: the first step (0-based, over the run) whose loss differs, per batch.
        parted_epoch: the first epoch (0-based) with a figure that differs.
        detail: the first difference in words (figure, saved and replayed values).
    """

    matches: bool
    exact: bool
    tolerance: float
    basis: str
    compared: int
    max_difference: float
    parted_step: int | None = None
    parted_epoch: int | None = None
    detail: str = ""

    def describe(self) -> str:
        """One line for people."""
        if self.compared == 0:
            return "nothing to compare: the saved run has no complete epoch"
        if self.exact:
            return f"the replay matches the saved run exactly ({self.compared} {self.basis} compared)"
        if self.matches:
            return (
                f"the replay matches the saved run within a relative {self.tolerance:g} "
                f"({self.compared} {self.basis}; largest difference {self.max_difference:.1e})"
            )
        where = f"step {self.parted_step}" if self.parted_step is not None else f"epoch {(self.parted_epoch or 0) + 1}"
        return f"the replay parts from the saved run at {where}: {self.detail} (tolerance {self.tolerance:g})"


def _relative(a: float, b: float) -> float:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def compare(
    saved: Sequence[EpochRecord],
    replayed: Sequence[EpochRecord],
    *,
    saved_batches: tuple[Sequence[int], Sequence[float]] | None = None,
    replayed_batches: tuple[Sequence[int], Sequence[float]] | None = None,
    steps_per_epoch: int = 1,
    tolerance: float = TOLERANCE,
) -> Comparison:
    """Compare a replay with its saved run.

    The epoch figures (:data:`EPOCH_FIGURES`) of the saved run's complete epochs are
    compared, a difference placed at its epoch; with both batch traces (``(steps,
    losses)``) the per-batch losses at the steps both have are compared first, a
    difference placed at its step, and a match is reported as theirs.
    """
    epochs = _compare_epochs(saved, replayed, tolerance)
    if saved_batches is None or replayed_batches is None:
        return epochs
    batches = _compare_batches(saved_batches, replayed_batches, steps_per_epoch, tolerance)
    if not batches.compared or epochs.parted_epoch is not None and batches.parted_step is None:
        return epochs  # no batch in common, or the batches agree where an epoch figure does not
    return batches


def _compare_batches(
    saved_batches: tuple[Sequence[int], Sequence[float]],
    replayed_batches: tuple[Sequence[int], Sequence[float]],
    steps_per_epoch: int,
    tolerance: float,
) -> Comparison:
    new = dict(zip((int(s) for s in replayed_batches[0]), (float(v) for v in replayed_batches[1]), strict=True))
    pairs = [(int(s), float(v), new[int(s)]) for s, v in zip(*saved_batches, strict=True) if int(s) in new]
    worst, exact = 0.0, True
    for step, a, b in pairs:
        difference = _relative(a, b)
        exact = exact and (a == b or (math.isnan(a) and math.isnan(b)))
        worst = max(worst, difference)
        if difference > tolerance:
            return Comparison(
                False, False, tolerance, "per-batch losses", len(pairs), difference,
                parted_step=step, parted_epoch=step // max(1, steps_per_epoch),
                detail=f"batch loss {a:.7g} saved, {b:.7g} replayed",
            )  # fmt: skip
    return Comparison(bool(pairs), exact and bool(pairs), tolerance, "per-batch losses", len(pairs), worst)


def _compare_epochs(saved: Sequence[EpochRecord], replayed: Sequence[EpochRecord], tolerance: float) -> Comparison:
    by_epoch = {r.epoch: r for r in replayed}
    worst, exact, count = 0.0, True, 0
    for record in saved:
        if record.partial:
            continue
        other = by_epoch.get(record.epoch)
        if other is None or other.partial:
            return Comparison(False, False, tolerance, "epoch figures", count, math.inf, parted_epoch=record.epoch,
                              detail=f"the replay has no complete epoch {record.epoch + 1}")  # fmt: skip
        for name in EPOCH_FIGURES:
            a, b = getattr(record, name), getattr(other, name)
            if a is None and b is None:
                continue
            a = math.nan if a is None else float(a)
            b = math.nan if b is None else float(b)
            count += 1
            difference = _relative(a, b)
            exact = exact and (a == b or (math.isnan(a) and math.isnan(b)))
            worst = max(worst, difference)
            if difference > tolerance:
                return Comparison(False, False, tolerance, "epoch figures", count, difference, parted_epoch=record.epoch,
                                  detail=f"{name} {a:.7g} saved, {b:.7g} replayed at epoch {record.epoch + 1}")  # fmt: skip
    return Comparison(count > 0, exact and count > 0, tolerance, "epoch figures", count, worst)


# ---------------------------------------------------------------------- the replay itself


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay runs: the configuration (reporting every batch) and where it stops."""

    config: RunConfig
    stop_after_epoch: int | None  # 0-based; None: run the configuration to its end
    compared_epochs: int
    warnings: tuple[str, ...] = ()


def plan_replay(config: RunConfig, history: Sequence[EpochRecord]) -> ReplayPlan:
    """How to replay a run of ``config`` that left ``history``.

    Raises:
        ProjectError: the history has no complete epoch to compare.
    """
    full = [r for r in history if not r.partial]
    if not full:
        raise ProjectError("the saved run has no complete epoch to compare a replay with; train it for an epoch at least")
    warnings = []
    changed = [r.epoch + 1 for r in history if "learning rate changed" in r.note]
    if changed:
        warnings.append(
            f"the learning rate was changed by hand in epoch {changed[0]}; the replay follows the configuration, "
            "so the runs part there"
        )
    if history[-1].partial:
        warnings.append(f"the last epoch ({history[-1].epoch + 1}) was cut short and is not compared")
    epochs = config.epochs
    if len(history) > config.epochs:
        warnings.append("the run was resumed; it is replayed as one continuous run, which may part where it was resumed")
        epochs = len(full)
    last = full[-1].epoch
    stop = last if last + 1 < epochs else None
    return ReplayPlan(config.replace(epochs=epochs, report_every=1), stop, len(full), tuple(warnings))


def enable_determinism(seed: int) -> None:
    """Seed Python, numpy and TensorFlow and make TensorFlow's ops deterministic (call first)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclass(frozen=True)
class ReplayOutcome:
    """A finished replay: the comparison, the replayed history and what may explain a difference."""

    comparison: Comparison
    history: tuple[EpochRecord, ...] = field(repr=False)
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        return "\n".join([self.comparison.describe(), *(f"note: {w}" for w in self.warnings)])


class _Recorder(NullListener):
    """Keeps the batch trace, passes everything on, and stops after the last compared epoch."""

    def __init__(self, listener: TrainingListener, control: RunControl, stop_after: int | None) -> None:
        self.listener, self.control, self.stop_after = listener, control, stop_after
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.steps_per_epoch = 1

    def on_run_start(self, info: RunStarted) -> None:
        self.steps_per_epoch = info.steps_per_epoch
        self.listener.on_run_start(info)

    def on_batch(self, record: BatchRecord) -> None:
        self.steps.append(record.step)
        self.losses.append(record.loss)
        self.listener.on_batch(record)

    def on_epoch(self, record: EpochRecord) -> None:
        self.listener.on_epoch(record)
        if self.stop_after is not None and record.epoch >= self.stop_after:
            self.control.stop()

    def on_run_end(self, info: RunFinished) -> None:
        self.listener.on_run_end(info)


def replay_here(
    run_folder: str | Path,
    listener: TrainingListener | None = None,
    *,
    control: RunControl | None = None,
    tolerance: float = TOLERANCE,
) -> ReplayOutcome:
    """Replay a run folder in this process (a fresh one: determinism is enabled first).

    Raises:
        ProjectError: the folder is not a run folder, its files are damaged, or its data
            cannot be loaded.
    """
    from model.runfolder import CONFIG_FILE, is_run_folder, load_batches, load_history

    folder = Path(run_folder)
    if not is_run_folder(folder):
        raise ProjectError(f"{folder} is not a run folder (it needs model.keras and config.json); give a folder written by train or Save Model")
    config = load_config(folder / CONFIG_FILE)
    history, names = load_history(folder)
    saved = load_batches(folder, names if history else None)
    plan = plan_replay(config, history)
    enable_determinism(plan.config.seed)
    from model.data import prepare
    from model.training import train

    control = control or RunControl()
    recorder = _Recorder(listener or NullListener(), control, plan.stop_after_epoch)
    result = train(plan.config, prepare(plan.config).split, listener=recorder, control=control, evaluate=False)
    trace = (saved.step.tolist(), saved.loss.tolist()) if saved is not None else None
    comparison = compare(
        history,
        result.history,
        saved_batches=trace,
        replayed_batches=(recorder.steps, recorder.losses) if trace is not None else None,
        steps_per_epoch=recorder.steps_per_epoch,
        tolerance=tolerance,
    )
    return ReplayOutcome(comparison, tuple(result.history), plan.warnings)


# ---------------------------------------------------------------------- a replay in a fresh process


def _array(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def record_to_json(record: BatchRecord | EpochRecord | RunStarted) -> dict[str, Any]:
    """A record as a JSON object (``kind`` says which; arrays become lists)."""
    kind = {BatchRecord: "batch", EpochRecord: "epoch", RunStarted: "start"}[type(record)]
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "val_confusion"}
    out: dict[str, Any] = {"kind": kind}
    for key, value in fields.items():
        out[key] = value.tolist() if isinstance(value, np.ndarray) else list(value) if isinstance(value, tuple) else value
    return out


def record_from_json(raw: dict[str, Any]) -> BatchRecord | EpochRecord | RunStarted:
    """The record :func:`record_to_json` wrote."""
    values = {k: v for k, v in raw.items() if k != "kind"}
    if raw["kind"] == "start":
        return RunStarted(**{**values, "layer_names": tuple(values["layer_names"])})
    arrays = {k: _array(values[k]) for k in ("grad_norms", "weight_norms")}
    if raw["kind"] == "batch":
        return BatchRecord(**{**values, **arrays})
    return EpochRecord(**{**values, **arrays})


class _JsonLines(NullListener):
    """The worker's listener: one JSON object per line on ``stream``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def send(self, message: dict[str, Any]) -> None:
        self.stream.write(json.dumps(message) + "\n")
        self.stream.flush()

    def on_run_start(self, info: RunStarted) -> None:
        self.send(record_to_json(info))

    def on_batch(self, record: BatchRecord) -> None:
        self.send(record_to_json(record))

    def on_epoch(self, record: EpochRecord) -> None:
        self.send(record_to_json(record))


def worker_main(argv: Sequence[str]) -> int:
    """``python -m model.replay RUN_FOLDER --json``: a replay streamed as JSON lines."""
    folder = argv[0] if argv else ""
    out = _JsonLines(sys.stdout)
    try:
        outcome = replay_here(folder, out)
    except ProjectError as exc:
        out.send({"kind": "error", "message": str(exc)})
        return 2
    out.send({"kind": "outcome", "comparison": dataclasses.asdict(outcome.comparison), "warnings": list(outcome.warnings)})
    return 0


ReplayMessage = RunStarted | BatchRecord | EpochRecord | ReplayOutcome | ProjectError


class ReplayProcess:
    """A replay in a fresh Python process, its records streamed back to ``on_message``.

    ``on_message`` is called from a reader thread of this object with, in order: the
    run's :class:`RunStarted`, its :class:`BatchRecord` and :class:`EpochRecord` s, and last
    either a :class:`ReplayOutcome` (its ``history`` empty: the epochs came one by one) or a
    :class:`~model.errors.ProjectError` saying why there is none (a bad folder, a crash, a
    stop). :meth:`stop` ends the process; :meth:`join` waits for the reader.
    """

    def __init__(self, run_folder: str | Path, on_message: Callable[[ReplayMessage], None]) -> None:
        self.run_folder = Path(run_folder)
        self._on_message = on_message
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        # The child imports this very copy of the project, whatever is installed.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._stopped = False
        self._process = subprocess.Popen(
            [sys.executable, "-m", "model.replay", str(self.run_folder), "--json"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=str(root),
        )
        self._reader = threading.Thread(target=self._read, name="replay-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        ended = False
        try:
            for line in self._process.stdout:
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a library printed to stdout: not ours
                if not isinstance(raw, dict):
                    continue
                kind = raw.get("kind")
                if kind == "outcome":
                    comparison = Comparison(**raw["comparison"])
                    self._on_message(ReplayOutcome(comparison, (), tuple(raw["warnings"])))
                    ended = True
                elif kind == "error":
                    self._on_message(ProjectError(str(raw["message"])))
                    ended = True
                elif kind in ("start", "batch", "epoch"):
                    self._on_message(record_from_json(raw))
        finally:
            self._process.stdout.close()
            code = self._process.wait()
            if not ended:
                self._on_message(ProjectError(self._why(code)))
            self._stderr.close()

    def _why(self, code: int) -> str:
        if self._stopped:
            return "the replay was stopped"
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read().splitlines() if line.strip()]
        last = lines[-1] if lines else "no message"
        return f"the replay process ended (exit status {code}) without a result: {last}"

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """End the replay now (its process is terminated; the last message says so)."""
        self._stopped = True
        if self._process.poll() is None:
            self._process.terminate()

    def join(self, timeout: float) -> bool:
        """Wait for the process and the reader; whether both have ended."""
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._reader.join(timeout)
        return not self._reader.is_alive()


if __name__ == "__main__":  # the worker of ReplayProcess
    sys.exit(worker_main(sys.argv[1:]))


__all__ = [
    "TOLERANCE",
    "Comparison",
    "ReplayOutcome",
    "ReplayPlan",
    "ReplayProcess",
    "compare",
    "enable_determinism",
    "plan_replay",
    "replay_here",
    "worker_main",
]
