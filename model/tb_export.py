"""TensorBoard export: a run's history as TensorBoard event files, live or after the fact.

Users who live in TensorBoard can open our runs there: ``tensorboard --logdir DIR``. The
layout follows Keras's own ``keras.callbacks.TensorBoard``, so a run looks the way they
expect: ``DIR/train`` and ``DIR/validation`` hold one event file each, and the same tag in
both (``epoch_loss``, ``epoch_accuracy``) is drawn as two curves of one chart.

Tags, in ``train/`` (:data:`TRAIN_TAGS`, plus one per layer and class):

- per epoch, at step = epoch (0-based, as Keras): ``epoch_loss``, ``epoch_accuracy``,
  ``epoch_learning_rate``, ``epoch_seconds``, ``epoch_samples_per_second``,
  ``gradient_norm/<layer>`` (the epoch's mean ‖∇W‖), ``weight_norm/<layer>``, and a
  ``notes`` text for an epoch with a note (a learning-rate change, a partial epoch);
- per batch, at step = the batch's step over the run: ``batch_loss``, ``batch_accuracy``,
  ``batch_learning_rate``, ``batch_gradient_norm/<layer>``, when the batch figures are
  known (a live run, or a run folder that saved them);
- anything else given as ``more_scalars`` (the hook for layer health: ``health/...``).

In ``validation/``: ``epoch_loss``, ``epoch_accuracy`` and, from the confusion timeline,
``class_accuracy/<class>``.

The events are written with ``tf.summary.write`` and the scalar and text plugins'
metadata, which is all ``tf.summary.scalar`` adds, so TensorBoard itself need not be
installed to write them; ``tf.compat.v1.train.summary_iterator`` and TensorBoard's event
reader both read them.

:func:`write_history` writes a whole history; :class:`TensorBoardListener` writes a run
as it trains (``main.py train --tensorboard DIR``); :func:`export_run_folder` exports a
saved run folder (``main.py export-tensorboard``, and File → Export in the window).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from model.batch_series import BatchSeries
from model.confusion_timeline import per_class_accuracy
from model.errors import ProjectError
from model.events import BatchRecord, EpochRecord, NullListener, RunFinished, RunStarted

TRAIN_DIR: Final = "train"
VALIDATION_DIR: Final = "validation"
TRAIN_TAGS: Final = (
    "epoch_loss",
    "epoch_accuracy",
    "epoch_learning_rate",
    "epoch_seconds",
    "epoch_samples_per_second",
)
BATCH_TAGS: Final = ("batch_loss", "batch_accuracy", "batch_learning_rate")

MoreScalars = Iterable[tuple[str, int, float]]
"""``(tag, step, value)`` triples written to ``train/`` as they are (layer health's hook)."""


@dataclass(frozen=True)
class Written:
    """What an export wrote: the folder, and how many values under which tags."""

    folder: Path
    tags: tuple[str, ...]  # "train/epoch_loss", "validation/class_accuracy/3", ...
    values: int

    def describe(self) -> str:
        return f"wrote {self.values:,} values under {len(self.tags)} tags to {self.folder} (open with: tensorboard --logdir {self.folder})"


def _tag_part(name: str) -> str:
    """A layer or class name as a tag component (TensorBoard groups tags by ``/``)."""
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name) or "_"


class _Writers:
    """The two event files of a run, and the plugins' metadata."""

    def __init__(self, folder: Path) -> None:
        import tensorflow as tf

        self._tf = tf
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot write TensorBoard logs into {folder}: {exc.strerror or exc}; choose another folder") from None
        self.folder = folder
        self.train = tf.summary.create_file_writer(str(folder / TRAIN_DIR))
        self.validation = tf.summary.create_file_writer(str(folder / VALIDATION_DIR))
        plugin = tf.compat.v1.SummaryMetadata.PluginData
        self._scalar_meta = tf.compat.v1.SummaryMetadata(plugin_data=plugin(plugin_name="scalars"))
        self._text_meta = tf.compat.v1.SummaryMetadata(plugin_data=plugin(plugin_name="text"))
        self.tags: set[str] = set()
        self.values = 0

    def scalar(self, writer: Any, part: str, tag: str, step: int, value: float | None) -> None:
        if value is None or not math.isfinite(value):
            return  # TensorBoard draws no gap for NaN; a missing point says "not known" better
        with writer.as_default():
            self._tf.summary.write(tag, self._tf.constant(float(value), self._tf.float32), step=int(step), metadata=self._scalar_meta)
        self.tags.add(f"{part}/{tag}")
        self.values += 1

    def text(self, writer: Any, part: str, tag: str, step: int, value: str) -> None:
        with writer.as_default():
            self._tf.summary.write(tag, self._tf.constant(value), step=int(step), metadata=self._text_meta)
        self.tags.add(f"{part}/{tag}")
        self.values += 1

    def epoch(self, record: EpochRecord, layer_names: Sequence[str], class_names: Sequence[str]) -> None:
        train, step = self.train, record.epoch
        for tag, value in zip(
            TRAIN_TAGS,
            (record.loss, record.accuracy, record.learning_rate, record.seconds, record.samples_per_second),
            strict=True,
        ):
            self.scalar(train, TRAIN_DIR, tag, step, value)
        for name, grad, weight in zip(layer_names, record.grad_norms, record.weight_norms, strict=False):
            self.scalar(train, TRAIN_DIR, f"gradient_norm/{_tag_part(name)}", step, float(grad))
            self.scalar(train, TRAIN_DIR, f"weight_norm/{_tag_part(name)}", step, float(weight))
        if record.note:
            self.text(train, TRAIN_DIR, "notes", step, record.note)
        validation = self.validation
        self.scalar(validation, VALIDATION_DIR, "epoch_loss", step, record.val_loss)
        self.scalar(validation, VALIDATION_DIR, "epoch_accuracy", step, record.val_accuracy)
        if record.val_confusion is not None:
            accuracy = per_class_accuracy(record.val_confusion)
            names = list(class_names) if len(class_names) == len(accuracy) else [str(k) for k in range(len(accuracy))]
            for name, value in zip(names, accuracy, strict=True):
                self.scalar(validation, VALIDATION_DIR, f"class_accuracy/{_tag_part(name)}", step, float(value))

    def batch(self, step: int, loss: float, accuracy: float, rate: float, norms: Sequence[float], layer_names: Sequence[str]) -> None:
        train = self.train
        for tag, value in zip(BATCH_TAGS, (loss, accuracy, rate), strict=True):
            self.scalar(train, TRAIN_DIR, tag, step, value)
        for name, norm in zip(layer_names, norms, strict=False):
            self.scalar(train, TRAIN_DIR, f"batch_gradient_norm/{_tag_part(name)}", step, float(norm))

    def more(self, scalars: MoreScalars) -> None:
        for tag, step, value in scalars:
            self.scalar(self.train, TRAIN_DIR, tag, step, value)

    def flush(self) -> None:
        self.train.flush()
        self.validation.flush()

    def close(self) -> Written:
        self.train.close()
        self.validation.close()
        return Written(self.folder, tuple(sorted(self.tags)), self.values)


def write_history(
    folder: str | Path,
    history: Sequence[EpochRecord],
    layer_names: Sequence[str],
    *,
    batches: BatchSeries | None = None,
    class_names: Sequence[str] = (),
    more_scalars: MoreScalars = (),
) -> Written:
    """Write a whole run (its epochs, and its batches when known) as TensorBoard events in ``folder``.

    Raises:
        ProjectError: ``folder`` cannot be written.
    """
    writers = _Writers(Path(folder))
    for record in history:
        writers.epoch(record, layer_names, class_names)
    if batches is not None:
        for i in range(len(batches)):
            writers.batch(
                int(batches.steps[i]), float(batches.losses[i]), float(batches.accuracies[i]),
                float(batches.learning_rates[i]), list(batches.grad_norms[i]), layer_names,
            )  # fmt: skip
    writers.more(more_scalars)
    return writers.close()


def export_run_folder(run_folder: str | Path, folder: str | Path) -> Written:
    """Export a saved run folder's history (and batch history, when it has one).

    Raises:
        ProjectError: the run folder is not one, or ``folder`` cannot be written.
    """
    from model.runfolder import is_run_folder, load_batches, load_history

    source = Path(run_folder)
    if not is_run_folder(source):
        raise ProjectError(f"{source} is not a run folder (it needs model.keras and config.json); give a folder written by train or Save Model")
    history, names = load_history(source)
    if not history:
        raise ProjectError(f"{source} has no training history (history.csv) to export")
    saved = load_batches(source, names)
    batches = BatchSeries.from_history(saved) if saved is not None else None
    return write_history(folder, history, names, batches=batches, class_names=_class_names(source))


def _class_names(run_folder: Path) -> tuple[str, ...]:
    """The class names from ``metrics.json`` (``()`` when it does not say)."""
    import json

    from model.runfolder import METRICS_FILE

    try:
        metrics = json.loads((run_folder / METRICS_FILE).read_text(encoding="utf-8"))
        return tuple(str(c["class"]) for c in metrics["per_class"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return ()


class TensorBoardListener(NullListener):
    """Writes a run to TensorBoard as it trains: every reported batch, every epoch.

    Calls come from the training thread, which owns the writers. The files are flushed
    at every epoch's end (TensorBoard shows the run live) and closed when the run ends
    (:meth:`close` says what was written).
    """

    def __init__(self, folder: str | Path, class_names: Sequence[str] = ()) -> None:
        self._writers = _Writers(Path(folder))
        self._layer_names: tuple[str, ...] = ()
        self._class_names = tuple(class_names)
        self.written: Written | None = None

    def on_run_start(self, info: RunStarted) -> None:
        self._layer_names = info.layer_names

    def on_batch(self, record: BatchRecord) -> None:
        self._writers.batch(record.step, record.loss, record.accuracy, record.learning_rate, list(record.grad_norms), self._layer_names)

    def on_epoch(self, record: EpochRecord) -> None:
        self._writers.epoch(record, self._layer_names, self._class_names)
        self._writers.flush()

    def on_run_end(self, info: RunFinished) -> None:
        self.close()

    def close(self) -> Written:
        """Close the files (call once the run has ended); what was written."""
        if self.written is None:
            self.written = self._writers.close()
        return self.written
