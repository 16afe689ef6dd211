"""Train a model from a configuration, reporting to a listener: the core of every run.

:func:`train` is a plain function that runs in the calling thread. Keras's TensorFlow
backend is not thread-safe, so *all* Keras work of a run (building, fitting, predicting
for the canvas through a :class:`~model.events.PredictionMailbox`, evaluating) happens in
that one thread; other threads talk to it only through :class:`~model.events.RunControl`
and the mailbox. The window's session calls it through a :class:`~model.runner.Runner`
(a thread of its own per run); the command line calls it
directly.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from model.batches import BatchHistory, continued
from model.builder import (
    InstrumentedModel,
    TrainingProbe,
    build_inference_model,
    make_loss,
    make_optimizer,
    one_hot,
    tracked_layers,
)
from model.callbacks import CheckpointCallback, LearningRateController, StreamingCallback
from model.config import RunConfig
from model.errors import BuildError
from model.evaluation import Evaluation, evaluate_predictions
from model.events import (
    EndReason,
    EpochRecord,
    NullListener,
    PredictionMailbox,
    RunControl,
    RunFinished,
    RunStarted,
    SnapshotTap,
    TrainingListener,
)
from model.explain import make_explainer
from model.inference import make_predictor
from model.memory import check_fits_in_memory
from model.results import DataInfo, RunResult, SavedRun
from model.runfolder.autosave import write_autosave_status
from model.runfolder.layout import claim_folder
from model.runfolder.load import weights_are_finite
from model.runfolder.state import optimizer_state, restore_optimizer_state
from model.words import count

if TYPE_CHECKING:
    from model.data import Split

EVAL_BATCH_SIZE = 1024


def _start_from(resume: SavedRun, inner: keras.Model, trainer: InstrumentedModel) -> None:
    """Load a saved run's weights and optimizer state into a freshly built model."""
    try:
        inner.set_weights(resume.model.get_weights())
    except ValueError:
        raise BuildError(
            "the saved model's weights do not fit the configured layers; resume with the "
            "configuration saved with the model, or start a new run"
        ) from None
    if resume.optimizer_state:
        restore_optimizer_state(trainer.optimizer, inner.trainable_variables, resume.optimizer_state)


def describe_device() -> str:
    """The device Keras will train on, in words: ``CPU`` or ``GPU: <name>``."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    except (RuntimeError, ValueError):
        name = gpus[0].name
    more = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
    return f"GPU: {name}{more}"


def predict_probabilities(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Class probabilities for a whole array, in batches."""
    if len(x) == 0:
        return np.zeros((0, int(model.output_shape[-1])), dtype=np.float32)
    return np.asarray(model.predict(x, batch_size=EVAL_BATCH_SIZE, verbose=0), dtype=np.float32)


def evaluate_model(model: keras.Model, x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], loss: str) -> Evaluation | None:
    """Test-set figures, or ``None`` when there is no test data."""
    if len(x) == 0:
        return None
    return evaluate_predictions(y, predict_probabilities(model, x), class_names, loss)


def train(
    config: RunConfig,
    split: Split,
    *,
    listener: TrainingListener | None = None,
    control: RunControl | None = None,
    mailbox: PredictionMailbox | None = None,
    run_id: int = 0,
    evaluate: bool = True,
    resume: SavedRun | None = None,
    checkpoint_dir: str | Path | None = None,
    data: DataInfo | None = None,
    snapshots: SnapshotTap | None = None,
) -> RunResult:
    """Build the model for ``config`` and train it on ``split``, reporting to ``listener``.

    With ``resume`` (a run folder read by :func:`model.runfolder.load_run`), training starts
    from its weights and optimizer state and runs ``config.epochs`` more epochs, numbered
    after its history, which the result continues. With ``checkpoint_dir``, the run so far
    is autosaved there after every epoch (:class:`~model.callbacks.CheckpointCallback`).
    ``data`` says which data ``split`` came from; the result carries it into
    ``metrics.json``. With ``snapshots``, copies of the weights go to that tap while the
    run trains (a worker process feeds the window's live predictor with them).

    Raises:
        ProjectError: when the stack cannot be built for this data, would not fit in
            memory, or another run is writing ``checkpoint_dir`` (before any training).
    Returns:
        The :class:`RunResult`. A NaN loss, a stop request or early stopping end the run
        normally; :attr:`RunFinished.reason` says which. A run whose weights stopped
        being finite numbers keeps its best finite epoch-end weights; without any, it is
        marked :attr:`~RunResult.diverged`.
    """
    input_shape = tuple(int(d) for d in split.x_train.shape[1:])
    # Refused with the figures before TensorFlow is asked for what it cannot give.
    check_fits_in_memory(config, input_shape, len(split.class_names), n_train=len(split.x_train))
    checkpoint_folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    # One writer per checkpoint folder: another run writing it is refused before training.
    claim = claim_folder(checkpoint_folder) if checkpoint_folder is not None else contextlib.nullcontext()
    with claim:
        return _train(
            config, split, listener, control, mailbox, run_id, evaluate, resume, checkpoint_folder, data, snapshots
        )


def _train(
    config: RunConfig,
    split: Split,
    listener: TrainingListener | None,
    control: RunControl | None,
    mailbox: PredictionMailbox | None,
    run_id: int,
    evaluate: bool,
    resume: SavedRun | None,
    checkpoint_folder: Path | None,
    data: DataInfo | None,
    snapshots: SnapshotTap | None,
) -> RunResult:
    listener = listener or NullListener()
    control = control or RunControl()
    input_shape = tuple(int(d) for d in split.x_train.shape[1:])
    class_names = tuple(split.class_names)
    num_classes = len(class_names)

    inner = build_inference_model(config, input_shape, num_classes)
    layers = tracked_layers(inner)
    layer_names = tuple(layer.name for layer in layers)
    probe = TrainingProbe.create(len(layers), num_classes if len(split.x_val) else 0)
    trainer = InstrumentedModel(inner, probe, config.augmentation, seed=config.seed)
    trainer.compile(
        optimizer=make_optimizer(config.optimizer),
        loss=make_loss(config.loss),
        metrics=["accuracy"],
    )

    initial_epoch = 0
    prior_history: list[EpochRecord] = []
    prior_batches: BatchHistory | None = None
    if resume is not None:
        _start_from(resume, inner, trainer)
        prior_history = list(resume.history)
        prior_batches = resume.batches
        initial_epoch = len(prior_history)
    total_epochs = initial_epoch + config.epochs

    n_train = len(split.x_train)
    batch_size = config.effective_batch_size(n_train)
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    y_train = one_hot(split.y_train, num_classes)
    has_val = len(split.x_val) > 0
    validation = (split.x_val, one_hot(split.y_val, num_classes)) if has_val else None

    lr_controller = LearningRateController(config.schedule, config.optimizer.learning_rate, total_epochs)
    stream = StreamingCallback(
        run_id=run_id,
        probe=probe,
        inner=inner,
        listener=listener,
        control=control,
        mailbox=mailbox,
        lr_controller=lr_controller,
        report_every=config.report_every,
        steps_per_epoch=steps_per_epoch,
        epochs=total_epochs,
        batch_size=batch_size,
        n_train=n_train,
        initial_epoch=initial_epoch,
        snapshots=snapshots,
    )
    callbacks: list[keras.callbacks.Callback] = [lr_controller, stream]
    early: keras.callbacks.EarlyStopping | None = None
    if config.early_stopping.enabled:
        es = config.early_stopping
        monitor = es.monitor if has_val or not es.monitor.startswith("val_") else es.monitor[4:]
        early = keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=es.patience,
            min_delta=es.min_delta,
            restore_best_weights=es.restore_best_weights,
            mode="max" if monitor.endswith("accuracy") else "min",
        )
        callbacks.append(early)
    if checkpoint_folder is not None:
        callbacks.append(
            CheckpointCallback(checkpoint_folder, stream, config, total_epochs, prior_history, prior_batches)
        )

    listener.on_run_start(
        RunStarted(
            run_id=run_id,
            epochs=total_epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            batch_size=batch_size,
            n_train=n_train,
            n_validation=len(split.x_val),
            n_test=len(split.x_test),
            layer_names=layer_names,
            learning_rate=config.optimizer.learning_rate,
        )
    )
    if mailbox is not None:
        mailbox.attach(make_predictor(inner), make_explainer(inner))
    started = time.perf_counter()
    reason, message = EndReason.COMPLETED, ""
    try:
        trainer.fit(
            split.x_train,
            y_train,
            batch_size=batch_size,
            epochs=total_epochs,
            initial_epoch=initial_epoch,
            validation_data=validation,
            validation_batch_size=min(EVAL_BATCH_SIZE, max(1, len(split.x_val))),
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )
        reason, message = stream.reason, stream.message
        if reason is EndReason.COMPLETED and early is not None and early.stopped_epoch > 0:
            reason = EndReason.EARLY_STOPPING
            message = (
                f"early stopping: {early.monitor} did not improve for {config.early_stopping.patience} "
                f"epochs; stopped after epoch {early.stopped_epoch + 1}"
            )
        best_epoch: int | None = stream.history[-1].epoch if stream.history else None
        if reason in (EndReason.STOPPED, EndReason.NAN) and stream.best_weights is not None:
            # A run cut short keeps its best epoch-end weights, not a half-updated state.
            inner.set_weights(stream.best_weights)
            best_epoch = stream.best_epoch
        elif reason is EndReason.EARLY_STOPPING and config.early_stopping.restore_best_weights and early is not None:
            best_epoch = early.best_epoch
        # Diverged: non-finite weights, or a loss that overflowed before any epoch ended well
        # (the weights are then finite but meaningless, e.g. 1e20 after an infinite loss).
        diverged = not weights_are_finite(inner) or (stream.reason is EndReason.NAN and stream.best_weights is None)
        if diverged and stream.best_weights is not None:
            # The loss stayed finite while the weights overflowed: the best finite epoch is what is kept.
            inner.set_weights(stream.best_weights)
            best_epoch, diverged = stream.best_epoch, False
            kept = "" if best_epoch is None else f" (epoch {best_epoch + 1})"
            reason = EndReason.NAN
            message = (
                f"the weights stopped being finite numbers; the model keeps its best epoch{kept}. "
                "Lower the learning rate or add gradient clipping"
            )
        elif diverged:
            best_epoch = None
            reason = EndReason.NAN
            message = (
                message if stream.reason is EndReason.NAN else "the weights stopped being finite numbers"
            ) + "; no epoch ended with finite weights, so the model is diverged and its answers mean nothing"
        state = optimizer_state(trainer.optimizer)
    finally:
        if mailbox is not None:
            mailbox.detach()

    if reason is EndReason.COMPLETED:
        message = f"completed {count(config.epochs, 'epoch')} in {time.perf_counter() - started:.1f} s"
    evaluation = None
    if evaluate and not diverged:
        evaluation = evaluate_model(inner, split.x_test, split.y_test, class_names, config.loss)
    history = prior_history + stream.history
    epochs_completed = sum(1 for r in history if not r.partial)
    if checkpoint_folder is not None and checkpoint_folder.exists():
        write_autosave_status(checkpoint_folder, "finished", len(history), total_epochs, best_epoch)
    finished = RunFinished(
        run_id=run_id,
        reason=reason,
        message=message,
        epochs_completed=epochs_completed,
        test_accuracy=None if evaluation is None else evaluation.accuracy,
        test_loss=None if evaluation is None else evaluation.loss,
        stop_asked_at=control.stop_asked_at if reason is EndReason.STOPPED else None,
    )
    listener.on_run_end(finished)
    return RunResult(
        run_id=run_id,
        config=config,
        model=inner,
        history=history,
        finished=finished,
        evaluation=evaluation,
        layer_names=layer_names,
        steps_per_epoch=steps_per_epoch,
        data=data,
        best_epoch=best_epoch,
        optimizer_state=state,
        info={"seconds": time.perf_counter() - started, "batch_size": batch_size, "n_train": n_train},
        diverged=diverged,
        batches=continued(prior_batches, stream.batches.history()),
    )
