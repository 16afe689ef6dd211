"""The training core: gradient norms, epoch averages, controls, NaN, schedules, resuming."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from model.config import EarlyStoppingSpec, LayerSpec, OptimizerSpec, ScheduleSpec
from model.events import (
    EndReason,
    NullListener,
    PredictionMailbox,
    RecordingListener,
    RunControl,
    SnapshotTap,
    WeightSnapshot,
)
from tests.model.helpers import SMALL, small_config, synthetic_split

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from model.builder import build_inference_model, one_hot  # noqa: E402
from model.runfolder import load_run, save_run  # noqa: E402
from model.training import train  # noqa: E402


def test_gradient_norms_match_a_hand_computed_tape() -> None:
    split = synthetic_split(n_train=64, n_val=0, n_test=0)
    config = small_config(batch_size="full", epochs=1, l2=0.01, optimizer=OptimizerSpec(name="sgd", learning_rate=0.1))
    listener = RecordingListener()
    train(config, split, listener=listener, evaluate=False)
    (record,) = listener.batches

    # The same initial weights (same seed), the same loss with its regularization term.
    model = build_inference_model(config, (28, 28, 1), 10)
    x, y = tf.constant(split.x_train), tf.constant(one_hot(split.y_train, 10))
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        loss = keras.losses.CategoricalCrossentropy()(y, pred) + tf.add_n(model.losses)
    layers = [layer for layer in model.layers if layer.trainable_weights]
    grads = tape.gradient(loss, [w for layer in layers for w in layer.trainable_weights])
    expected, i = [], 0
    for layer in layers:
        n = len(layer.trainable_weights)
        expected.append(np.sqrt(sum(float(tf.reduce_sum(g * g)) for g in grads[i : i + n])))
        i += n
    assert listener.started[0].layer_names == ("L2_Dense", "L3_BatchNormalization", "L4_Dense")
    np.testing.assert_allclose(record.grad_norms, expected, rtol=2e-4)
    assert record.loss == pytest.approx(float(loss), rel=1e-5)


def test_epoch_figures_are_true_epoch_averages() -> None:
    split = synthetic_split(n_train=256)
    listener = RecordingListener()
    result = train(small_config(batch_size=32, epochs=2), split, listener=listener)
    assert len(listener.batches) == 16
    for epoch in range(2):
        batches = [b for b in listener.batches if b.epoch == epoch]
        rec = listener.epochs[epoch]
        assert rec.loss == pytest.approx(np.mean([b.loss for b in batches]), rel=1e-4)
        assert rec.accuracy == pytest.approx(np.mean([b.accuracy for b in batches]), abs=1e-5)
        np.testing.assert_allclose(rec.grad_norms, np.mean([b.grad_norms for b in batches], axis=0), rtol=1e-4)
        assert rec.val_loss is not None and rec.val_accuracy is not None
    # Weight norms describe the model that comes back.
    inner_norms = [
        np.sqrt(sum(float(np.sum(np.square(w))) for w in layer.trainable_weights))
        for layer in result.model.layers
        if layer.trainable_weights
    ]
    np.testing.assert_allclose(listener.epochs[-1].weight_norms, inner_norms, rtol=1e-5)
    assert result.finished.reason == "completed" and result.finished.epochs_completed == 2
    assert result.evaluation is not None and result.evaluation.confusion.sum() == 64
    assert [b.step for b in listener.batches] == list(range(16))


def test_report_every_thins_batch_records() -> None:
    listener = RecordingListener()
    train(small_config(batch_size=16, epochs=1, report_every=4), synthetic_split(n_train=256), listener=listener)
    assert [b.step for b in listener.batches] == [3, 7, 11, 15]


class _StopAt(NullListener):
    def __init__(self, control: RunControl, step: int) -> None:
        self.control, self.step, self.steps = control, step, []

    def on_batch(self, record) -> None:
        self.steps.append(record.step)
        if record.step == self.step:
            self.control.stop()


def test_stop_takes_effect_within_one_batch_and_keeps_the_best_model() -> None:
    control = RunControl()
    split = synthetic_split(n_train=320)
    steps_per_epoch = 10
    listener = _StopAt(control, step=steps_per_epoch + 3)  # in the second epoch
    result = train(small_config(batch_size=32, epochs=5), split, listener=listener, control=control)
    assert result.finished.reason == "stopped"
    assert max(listener.steps) <= steps_per_epoch + 3 + 1
    assert result.finished.epochs_completed == 1
    assert result.best_epoch == 0
    assert len(result.history) == 2 and "partial epoch" in result.history[1].note
    assert result.history[1].partial and not result.history[0].partial
    assert result.finished.reason is EndReason.STOPPED and result.steps_per_epoch == steps_per_epoch
    assert result.history[1].val_loss is None
    assert result.evaluation is not None  # a stopped run is still evaluated


def test_pause_resume_and_learning_rate_change_from_another_thread() -> None:
    control = RunControl()
    mailbox = PredictionMailbox()
    listener = RecordingListener()
    split = synthetic_split(n_train=2048, n_val=0)
    config = small_config(batch_size=8, epochs=1, optimizer=OptimizerSpec(name="sgd", learning_rate=0.05))
    results = []
    worker = threading.Thread(
        target=lambda: results.append(train(config, split, listener=listener, control=control, mailbox=mailbox))
    )
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while len(listener.batches) < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        control.pause()
        time.sleep(0.2)
        seen = len(listener.batches)
        time.sleep(0.4)
        assert len(listener.batches) <= seen + 1, "a paused run kept training"
        # While paused, the run's thread still answers predictions.
        probabilities = mailbox.submit(split.x_train[:1]).result(timeout=10)
        assert probabilities.shape == (1, 10) and probabilities.sum() == pytest.approx(1, abs=1e-4)
        control.set_learning_rate(0.001)
        control.resume()
        while len(listener.batches) < seen + 20 and worker.is_alive():
            time.sleep(0.005)
        control.stop()
    finally:
        control.stop()
        worker.join(timeout=60)
    assert not worker.is_alive()
    after = [b for b in listener.batches if b.step > seen + 1]
    assert after and all(b.learning_rate == pytest.approx(0.001) for b in after)
    assert any("learning rate changed from 0.05 to 0.001" in r.note for r in listener.epochs)
    with pytest.raises(RuntimeError):
        mailbox.submit(split.x_train[:1]).result(timeout=1)


def test_nan_loss_ends_the_run_with_a_reason() -> None:
    split = synthetic_split(n_train=128)
    bad = split.__class__(
        x_train=split.x_train * np.float32(3e38), y_train=split.y_train, x_val=split.x_val, y_val=split.y_val,
        x_test=split.x_test, y_test=split.y_test, class_names=split.class_names,
    )
    listener = RecordingListener()
    layers = (LayerSpec("Flatten"), LayerSpec("Dense", units=16, activation="relu"), SMALL[-1])
    result = train(small_config(layers=layers), bad, listener=listener)
    assert result.finished.reason == "nan"
    assert "diverged" in result.finished.message and "learning rate" in result.finished.message
    assert listener.finished[0].reason == "nan"
    assert len(listener.batches) <= 1


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (ScheduleSpec(kind="constant"), [0.1, 0.1, 0.1, 0.1]),
        (ScheduleSpec(kind="step", step_epochs=2, factor=0.5), [0.1, 0.1, 0.05, 0.05]),
        (ScheduleSpec(kind="exponential", factor=0.5), [0.1, 0.05, 0.025, 0.0125]),
        (ScheduleSpec(kind="cosine", min_learning_rate=0.0), [0.1, 0.1 * (1 + np.cos(np.pi / 4)) / 2, 0.05, 0.1 * (1 + np.cos(3 * np.pi / 4)) / 2]),
    ],
)
def test_learning_rate_schedules(schedule: ScheduleSpec, expected: list[float]) -> None:
    listener = RecordingListener()
    config = small_config(epochs=4, schedule=schedule, optimizer=OptimizerSpec(name="sgd", learning_rate=0.1))
    train(config, synthetic_split(n_train=64, n_val=16, n_test=0), listener=listener, evaluate=False)
    np.testing.assert_allclose([r.learning_rate for r in listener.epochs], expected, rtol=1e-5)


def test_plateau_schedule_lowers_the_rate_when_validation_stalls() -> None:
    listener = RecordingListener()
    config = small_config(
        epochs=6,
        layers=(SMALL[0], SMALL[1], SMALL[3]),
        schedule=ScheduleSpec(kind="plateau", factor=0.5, patience=1, min_learning_rate=1e-12),
        optimizer=OptimizerSpec(name="sgd", learning_rate=1e-7),  # so small nothing improves
    )
    train(config, synthetic_split(n_train=64, n_val=16, n_test=0), listener=listener, evaluate=False)
    rates = [r.learning_rate for r in listener.epochs]
    assert rates[0] == pytest.approx(1e-7) and rates[-1] < rates[0] / 2


def test_early_stopping_reports_its_reason() -> None:
    config = small_config(epochs=10, early_stopping=EarlyStoppingSpec(enabled=True, patience=1, min_delta=1e6))
    result = train(config, synthetic_split(n_train=64, n_val=32), evaluate=False)
    assert result.finished.reason == "early_stopping"
    assert result.finished.epochs_completed == 2
    assert "did not improve" in result.finished.message


def test_training_is_reproducible_from_the_seed() -> None:
    split = synthetic_split(n_train=128)
    a = train(small_config(epochs=1), split, evaluate=False)
    b = train(small_config(epochs=1), split, evaluate=False)
    assert a.history[0].loss == pytest.approx(b.history[0].loss, rel=1e-6)


def test_resume_continues_weights_optimizer_state_and_history(tmp_path: Path) -> None:
    split = synthetic_split(n_train=128)
    config = small_config(epochs=2, optimizer=OptimizerSpec(name="adam", learning_rate=0.01))
    first = train(config, split)
    save_run(first, tmp_path / "run")
    saved = load_run(tmp_path / "run")
    assert len(saved.history) == 2 and saved.layer_names == first.layer_names
    assert saved.optimizer_state, "the optimizer state was saved"
    iterations = next(v for k, v in saved.optimizer_state.items() if k.endswith("iteration"))
    assert int(iterations) == 2 * 4  # two epochs of four batches

    listener = RecordingListener()
    resumed = train(config.replace(epochs=2), split, listener=listener, resume=saved)
    assert [r.epoch for r in resumed.history] == [0, 1, 2, 3]
    assert listener.started[0].initial_epoch == 2 and listener.started[0].epochs == 4
    assert [b.epoch for b in listener.batches][0] == 2 and listener.batches[0].step == 8
    # Continuing really continues: the first resumed epoch starts from the saved weights,
    # so its loss is close to where the first run ended, not to a fresh start's.
    fresh = train(config.replace(epochs=1), split, evaluate=False)
    assert abs(resumed.history[2].loss - first.history[1].loss) < abs(fresh.history[0].loss - first.history[1].loss)


def test_resume_with_a_different_stack_is_refused(tmp_path: Path) -> None:
    from model.errors import BuildError

    split = synthetic_split(n_train=64)
    save_run(train(small_config(epochs=1), split, evaluate=False), tmp_path / "run")
    other = small_config(layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax")))
    with pytest.raises(BuildError, match="do not fit the configured layers"):
        train(other, split, resume=load_run(tmp_path / "run"))


DIVERGING = dict(
    layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="linear")),
    loss="mse",
    optimizer=OptimizerSpec(name="sgd", learning_rate=10.0),
)


def test_a_run_whose_weights_diverge_at_once_is_marked_diverged(tmp_path: Path) -> None:
    # The case: learning rate 10, MSE, a linear output. It was saved with NaN weights,
    # best_epoch named the diverged partial epoch, and nothing said so.
    result = train(small_config(epochs=2, **DIVERGING), synthetic_split(n_train=1024))
    assert result.diverged and result.finished.reason == "nan"
    assert "diverged" in result.finished.message and result.evaluation is None and result.best_epoch is None
    saved = load_run(save_run(result, tmp_path / "run"))
    assert saved.diverged and saved.metrics["diverged"] is True
    assert saved.metrics["finished"]["best_epoch"] is None
    from model.cli import main

    assert main(["evaluate", str(tmp_path / "run")]) == 2  # was: "loss nan" and exit 0


def test_a_run_that_diverges_later_keeps_its_best_finite_weights() -> None:
    split = synthetic_split(n_train=128)
    listener = RecordingListener()
    control = RunControl()

    class ExplodeAfterTheFirstEpoch(NullListener):
        def on_epoch(self, record) -> None:  # type: ignore[no-untyped-def]
            listener.on_epoch(record)
            if record.epoch == 0:
                control.set_learning_rate(1e4)  # from the next batch on: the weights overflow

    config = small_config(epochs=3, **{**DIVERGING, "optimizer": OptimizerSpec(name="sgd", learning_rate=1e-3)})
    result = train(config, split, listener=ExplodeAfterTheFirstEpoch(), control=control)
    weights = result.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert not result.diverged and result.best_epoch == 0 and result.finished.reason == "nan"


class _PauseAt(NullListener):
    """Pauses the run at one step and asks for a snapshot at another (from the training thread)."""

    def __init__(self, control: RunControl, tap: SnapshotTap, pause_at: int, request_at: int) -> None:
        self.control, self.tap, self.pause_at, self.request_at = control, tap, pause_at, request_at

    def on_batch(self, record) -> None:
        if record.step == self.request_at:
            self.tap.request()
        if record.step == self.pause_at:
            self.control.pause()
            threading.Timer(0.2, self.control.resume).start()


def test_weight_snapshots_before_training_when_due_on_request_and_at_a_pause() -> None:
    snapshots: list[WeightSnapshot] = []
    control = RunControl()
    tap = SnapshotTap(snapshots.append, interval_s=3600.0)  # only the forced ones, then
    config = small_config(batch_size=32, epochs=1)
    result = train(
        config, synthetic_split(n_train=320), control=control, snapshots=tap,
        listener=_PauseAt(control, tap, pause_at=6, request_at=2),
    )
    # Before the first batch, after the requested one (step 2: 3 steps done), at the pause.
    assert [(s.steps_done, s.batch, s.paused) for s in snapshots] == [(0, -1, False), (3, 2, False), (7, 6, True)]
    first = build_inference_model(config, (28, 28, 1), 10).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(snapshots[0].weights, first, strict=True))
    assert not np.array_equal(snapshots[1].weights[1], snapshots[2].weights[1])  # they are copies
    assert result.finished.reason == "completed"


def test_an_unfollowed_tap_is_due_only_on_request_and_following_asks_for_one_at_once() -> None:
    tap = SnapshotTap(lambda snapshot: None, interval_s=0.0, followed=False)
    assert not tap.due()
    tap.request()
    assert tap.due()
    tap.take(WeightSnapshot(0, 1, 0, 0, []))
    assert not tap.due()
    tap.follow(True)
    assert tap.due()
    tap.take(WeightSnapshot(0, 2, 0, 1, []))
    assert tap.due()  # followed, interval 0: due after every batch
    tap.follow(False)
    assert not tap.due()


def test_a_snapshot_asked_for_during_a_validation_pass_comes_in_that_pass() -> None:
    # The Draw tab opened while the epoch's validation runs: the tap is asked again the
    # moment the last training batch's snapshot is delivered, so only the validation
    # pass can answer.
    snapshots: list[WeightSnapshot] = []
    tap = SnapshotTap(lambda s: None, interval_s=3600.0, followed=False)

    def deliver(snapshot: WeightSnapshot) -> None:
        snapshots.append(snapshot)
        if snapshot.steps_done == 5 and len(snapshots) == 2:
            tap.request()

    tap._deliver = deliver

    class AskAtTheLastBatch(NullListener):
        def on_batch(self, record) -> None:
            if record.step == 4:
                tap.request()

    train(small_config(batch_size=64, epochs=2), synthetic_split(n_train=320), snapshots=tap, listener=AskAtTheLastBatch())
    # Before training, at the last batch of epoch 1, and once during its validation pass:
    # the same model, and nothing more while nobody follows.
    assert [(s.steps_done, s.epoch) for s in snapshots] == [(0, 0), (5, 0), (5, 0)]
    assert all(np.array_equal(a, b) for a, b in zip(snapshots[1].weights, snapshots[2].weights, strict=True))


def test_weight_snapshots_follow_their_interval() -> None:
    snapshots: list[WeightSnapshot] = []
    tap = SnapshotTap(snapshots.append, interval_s=0.0)  # due after every batch
    train(small_config(batch_size=64, epochs=1), synthetic_split(n_train=320), snapshots=tap)
    assert [s.steps_done for s in snapshots] == [0, 1, 2, 3, 4, 5]
    assert {s.run_id for s in snapshots} == {0} and snapshots[-1].epoch == 0
