"""The comparison folder: the one owner of its format, written by every engine, read by any view.

A comparison folder (``sweep --out``) holds:

``comparison.json``
    the experiment (base configuration, varied settings and variants, title, target
    accuracy), the engine, and per trial its state, message, run folder, layer names,
    batches per epoch and how it ended. Rewritten (atomically) at every state change, so
    an interrupted sweep leaves an accurate record to resume from.
``curves.npz``
    each trial's reported batches: ``t<N>_step``, ``_epoch``, ``_loss``, ``_accuracy``,
    ``_learning_rate`` and ``_grad_norms`` (batches x layers), N the trial id from 0. The
    epochs are in the trials' own ``history.csv`` (:mod:`model.runfolder` owns that).
``results.csv``
    the results table (:class:`~model.experiments.table.ResultsTable`), for people.
``curves.png``
    loss and accuracy of every trial (:mod:`model.experiments.plot`).
``trials/<NN>-<settings>/``
    one run folder per trial that trained (:func:`model.runfolder.save_run`): open it as
    a normal run.
``.tune/``
    Ray Tune's own experiment state, which a resume restores.

:func:`load_comparison` reads it back without Keras or Ray and checks every file: a
damaged one raises :class:`~model.errors.ModelFileError` naming it.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import struct
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from model.config import config_from_dict
from model.configpath import parse
from model.errors import ModelFileError, ProjectError
from model.events import EndReason, EpochRecord, RunFinished
from model.experiments.recorder import BatchCurves, ComparisonState, TrialRun
from model.experiments.spec import Experiment, Trial, Variant, Variation, format_value
from model.experiments.table import TrialState
from model.fileio import write_bytes_atomic, write_text_atomic
from model.runfolder import HISTORY_FILE, read_history_csv

COMPARISON_FILE: Final = "comparison.json"
CURVES_FILE: Final = "curves.npz"
RESULTS_FILE: Final = "results.csv"
PLOT_FILE: Final = "curves.png"
TRIALS_DIR: Final = "trials"
TUNE_DIR: Final = ".tune"
FORMAT: Final = "gradient-lab comparison"
VERSION: Final = 1

# Everything a damaged zip member can raise (as model.data's readers list it).
_CORRUPT = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, struct.error, NotImplementedError)
_CURVES = ("step", "epoch", "loss", "accuracy", "learning_rate", "grad_norms")


def is_comparison_folder(folder: Path) -> bool:
    return (folder / COMPARISON_FILE).is_file()


def trial_folder(folder: Path, trial: Trial) -> Path:
    """Where ``trial``'s run folder goes in the comparison at ``folder``."""
    return folder / TRIALS_DIR / trial.folder_name


def check_comparison_target(folder: Path, *, resume: bool) -> ComparisonState | None:
    """Whether a comparison may be written at ``folder``; the comparison there when resuming it.

    Raises:
        ProjectError: ``folder`` is a file, holds other things, or holds a comparison and
            ``resume`` is not set (a new sweep never overwrites an earlier one).
    """
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise ProjectError(f"{folder} is a file; choose a new or empty folder for the comparison")
    if is_comparison_folder(folder):
        if not resume:
            raise ProjectError(
                f"{folder} holds a comparison already; resume it (--resume) or choose a new or empty folder"
            )
        return load_comparison(folder)
    if any(folder.iterdir()):
        raise ProjectError(
            f"{folder} is not empty and holds no comparison; choose a new or empty folder so nothing is replaced"
        )
    return None


# --------------------------------------------------------------------------- writing


def _finished_dict(finished: RunFinished | None) -> dict[str, Any] | None:
    if finished is None:
        return None
    return {
        "reason": str(finished.reason),
        "message": finished.message,
        "epochs_completed": finished.epochs_completed,
        "test_accuracy": finished.test_accuracy,
        "test_loss": finished.test_loss,
    }


def comparison_json(state: ComparisonState) -> str:
    """The text of ``comparison.json`` for ``state``."""
    experiment = state.experiment
    trials = []
    for run in state.trials:
        folder = None
        if run.run_folder is not None:
            try:
                folder = run.run_folder.relative_to(state.folder).as_posix()
            except ValueError:
                folder = str(run.run_folder)
        trials.append(
            {
                "trial": run.trial_id + 1,
                "label": run.trial.label,
                "state": str(run.state),
                "message": run.message,
                "rerun": run.rerun,
                "node": run.node,
                "folder": folder,
                "steps_per_epoch": run.steps_per_epoch,
                "layer_names": list(run.layer_names),
                "finished": _finished_dict(run.finished),
            }
        )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "experiment": {
            "name": experiment.name,
            "title": experiment.title,
            "look_for": experiment.look_for,
            "target_accuracy": experiment.target_accuracy,
            "base": experiment.base.to_dict(),
            "variations": [
                {"path": path, "values": [format_value(v) for v in variation.values]}
                for path, variation in zip(experiment.varied_paths, experiment.variations, strict=True)
            ],
            "variants": [{"label": v.label, "config": v.config.to_dict()} for v in experiment.variants],
        },
        "engine": state.engine,
        "address": state.address,
        "trials": trials,
        "updated": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    return json.dumps(document, indent=2) + "\n"


def save_state(state: ComparisonState) -> None:
    """Write ``comparison.json`` and ``results.csv`` (atomically; cheap, at every change)."""
    state.folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(state.folder / COMPARISON_FILE, comparison_json(state))
    write_text_atomic(state.folder / RESULTS_FILE, state.table.to_csv())


def save_curves(state: ComparisonState) -> None:
    """Write ``curves.npz`` with every trial's batch curves."""
    arrays: dict[str, np.ndarray] = {}
    for run in state.trials:
        for name in _CURVES:
            arrays[f"t{run.trial_id}_{name}"] = getattr(run.batches, name)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    write_bytes_atomic(state.folder / CURVES_FILE, buffer.getvalue())


def save_all(state: ComparisonState) -> None:
    """Every file of the comparison, the plot included."""
    from model.experiments.plot import write_plot

    save_state(state)
    save_curves(state)
    write_plot(state, state.folder / PLOT_FILE)


# --------------------------------------------------------------------------- reading


class _Bad(Exception):
    """Something in a comparison file is not what this app writes."""


def _get(raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        raise _Bad(f"{key} is missing")
    value = raw[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise _Bad(f"{key} is {type(value).__name__}, not what this app writes")
    return value


def _experiment(raw: dict[str, Any]) -> Experiment:
    base = config_from_dict(_get(raw, "base", dict))
    variations = []
    for item in _get(raw, "variations", list):
        if not isinstance(item, dict):
            raise _Bad("a variation is not an object")
        path = _get(item, "path", str)
        texts = _get(item, "values", list)
        if not all(isinstance(t, str) for t in texts):
            raise _Bad(f"the values of {path} are not texts")
        variations.append(Variation(path, tuple(parse(base, path, t) for t in texts)))
    variants = []
    for item in _get(raw, "variants", list):
        if not isinstance(item, dict):
            raise _Bad("a variant is not an object")
        variants.append(Variant(_get(item, "label", str), config_from_dict(_get(item, "config", dict))))
    target = _get(raw, "target_accuracy", (int, float))
    return Experiment(
        base,
        tuple(variations),
        tuple(variants),
        name=_get(raw, "name", str),
        title=_get(raw, "title", str),
        look_for=_get(raw, "look_for", str),
        target_accuracy=float(target),
    )


def _finished(raw: object, trial_id: int) -> RunFinished | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Bad("finished is not an object")
    accuracy, loss = raw.get("test_accuracy"), raw.get("test_loss")
    for value in (accuracy, loss):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _Bad("a test figure is not a number")
    return RunFinished(
        run_id=trial_id,
        reason=EndReason(_get(raw, "reason", str)),
        message=_get(raw, "message", str),
        epochs_completed=_get(raw, "epochs_completed", int),
        test_accuracy=None if accuracy is None else float(accuracy),
        test_loss=None if loss is None else float(loss),
    )


def _history(folder: Path | None, trial_id: int, where: str) -> tuple[list[EpochRecord], tuple[str, ...]]:
    if folder is None or not (folder / HISTORY_FILE).is_file():
        return [], ()
    try:
        text = (folder / HISTORY_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where}/{HISTORY_FILE}: cannot be read ({exc})") from None
    records, names = read_history_csv(text, f"{where}/{HISTORY_FILE}")
    return [replace(r, run_id=trial_id) for r in records], names


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of ``curves.npz``, read by the data package's safe ``.npy`` reader.

    ``numpy.load`` would allocate whatever a damaged header claims; the reader checks each
    size against the file first and never unpickles.
    """
    from model.data.npz import _read_npy_member

    arrays: dict[str, np.ndarray] = {}
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.endswith(".npy") and not info.is_dir():
                arrays[info.filename[: -len(".npy")]] = _read_npy_member(archive, info, size, CURVES_FILE)
    return arrays


def _curves(folder: Path, count: int) -> list[BatchCurves]:
    path = folder / CURVES_FILE
    if not path.is_file():
        return [BatchCurves.empty() for _ in range(count)]
    try:
        data = _read_arrays(path)
        out = []
        for i in range(count):
            parts = {name: np.asarray(data[f"t{i}_{name}"]) for name in _CURVES}
            n = len(parts["step"]) if parts["step"].ndim == 1 else -1
            if any(parts[name].ndim != 1 or len(parts[name]) != n for name in _CURVES[:-1]):
                raise _Bad(f"trial {i + 1}'s curves are not one value per batch")
            if parts["grad_norms"].ndim != 2 or len(parts["grad_norms"]) != n:
                raise _Bad(f"trial {i + 1}'s gradient norms are not one row per batch")
            out.append(BatchCurves(**parts))
        return out
    except (_Bad, ProjectError, KeyError, *_CORRUPT) as exc:
        raise ModelFileError(f"{folder.name}/{CURVES_FILE}: not batch curves written by this app ({exc})") from None


def load_comparison(folder: str | Path) -> ComparisonState:
    """Read a comparison folder: the experiment, and each trial's state, epochs and batches.

    No Keras, no Ray: the curves and the table come from ``comparison.json``,
    ``curves.npz`` and the trials' ``history.csv``. A trial's model stays in its run
    folder (:attr:`TrialRun.run_folder`) until a view opens it.

    Raises:
        ModelFileError: naming the damaged or missing file.
    """
    folder = Path(folder)
    where = f"{folder.name}/{COMPARISON_FILE}"
    try:
        raw = json.loads((folder / COMPARISON_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: not a comparison folder (it has no {COMPARISON_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{where}: not valid JSON ({exc})") from None
    try:
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise _Bad("it is not a comparison written by this app")
        version = _get(raw, "version", int)
        if version > VERSION:
            raise _Bad(f"format version {version} is newer than this app understands ({VERSION}); update the app")
        experiment = _experiment(_get(raw, "experiment", dict))
        trials = experiment.trials
        saved = _get(raw, "trials", list)
        if len(saved) != len(trials):
            raise _Bad(f"it lists {len(saved)} trials, its experiment makes {len(trials)}")
        runs = []
        for trial, item in zip(trials, saved, strict=True):
            if not isinstance(item, dict) or item.get("label") != trial.label:
                raise _Bad(f"trial {trial.trial_id + 1} is not the experiment's {trial.label!r}")
            names = _get(item, "layer_names", list)
            if not all(isinstance(n, str) for n in names):
                raise _Bad("layer names are not texts")
            relative = item.get("folder")
            if relative is not None and not isinstance(relative, str):
                raise _Bad("a trial's folder is not a path")
            run_folder = None if relative is None else folder / relative
            if run_folder is not None and not run_folder.resolve().is_relative_to(folder.resolve()):
                raise _Bad(f"trial {trial.trial_id + 1}'s folder {relative!r} is outside the comparison")
            steps = _get(item, "steps_per_epoch", int)
            runs.append(
                TrialRun(
                    trial=trial,
                    state=TrialState(_get(item, "state", str)),
                    message=_get(item, "message", str),
                    rerun=bool(_get(item, "rerun", bool)),
                    history=(),
                    finished=_finished(item.get("finished"), trial.trial_id),
                    layer_names=tuple(names),
                    steps_per_epoch=max(1, steps),
                    run_folder=run_folder,
                    node=_get(item, "node", str),
                )
            )
        engine = _get(raw, "engine", str)
        address = raw.get("address")
        if address is not None and not isinstance(address, str):
            raise _Bad("address is not a text")
    except (_Bad, ProjectError, ValueError, OSError, RuntimeError) as exc:
        raise ModelFileError(f"{where}: {exc}") from None
    curves = _curves(folder, len(runs))
    loaded = []
    for run, batches in zip(runs, curves, strict=True):
        where_trial = f"{folder.name}/{TRIALS_DIR}/{run.trial.folder_name}"
        history, names = _history(run.run_folder, run.trial_id, where_trial)
        loaded.append(replace(run, history=tuple(history), batches=batches, layer_names=run.layer_names or names))
    return ComparisonState(folder, experiment, tuple(loaded), engine, address)
