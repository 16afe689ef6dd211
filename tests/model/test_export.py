"""The exported plain-Keras script runs on its own and trains to a sensible accuracy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.config import (
    AugmentationSpec,
    EarlyStoppingSpec,
    LayerSpec,
    OptimizerSpec,
    ScheduleSpec,
    list_presets,
    load_preset,
)
from model.export import export_script


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_exports_valid_python_without_the_project(name: str) -> None:
    source = export_script(load_preset(name))
    tree = ast.parse(source)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imported <= {"argparse", "math", "keras", "numpy", "sklearn"}


def test_options_appear_in_the_script() -> None:
    config = load_preset("cnn").replace(
        optimizer=OptimizerSpec(name="sgd", learning_rate=0.05, momentum=0.9, nesterov=True, clipnorm=1.0),
        schedule=ScheduleSpec(kind="plateau", factor=0.2, patience=3),
        early_stopping=EarlyStoppingSpec(enabled=True, patience=4),
        augmentation=AugmentationSpec(enabled=True, rotation=12.0),
        batch_size="full",
        l2=0.001,
    )
    source = export_script(config)
    ast.parse(source)
    for text in (
        "keras.optimizers.SGD(learning_rate=0.05, clipnorm=1.0, momentum=0.9, nesterov=True)",
        "ReduceLROnPlateau(monitor='val_loss' if SPLIT['validation'] else 'loss', factor=0.2, patience=3, "
        "min_delta=0.0001, min_lr=1e-06)",
        "EarlyStopping(monitor='val_loss', patience=4",
        "RandomRotation(",
        "BATCH_SIZE = None",
        "L1L2(l1=0.0, l2=0.001)",
    ):
        assert text in source


def test_adamax_appears_in_the_script() -> None:
    config = load_preset("mlp").replace(optimizer=OptimizerSpec(name="adamax", learning_rate=0.002, beta_2=0.99))
    source = export_script(config)
    ast.parse(source)
    assert "keras.optimizers.Adamax(learning_rate=0.002, beta_1=0.9, beta_2=0.99, epsilon=1e-07)" in source


def test_exported_script_trains_one_epoch_on_a_small_slice(mnist_path: Path, tmp_path: Path) -> None:
    config = load_preset("mlp").replace(layers=(
        LayerSpec("Flatten"), LayerSpec("Dense", units=64), LayerSpec("Dense", units=10, activation="softmax"),
    ))
    script = tmp_path / "train_model.py"
    script.write_text(export_script(config))
    proc = subprocess.run(
        [sys.executable, "-I", str(script), "--data", str(mnist_path), "--epochs", "1", "--limit", "3000",
         "--out", str(tmp_path / "m.keras")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = float(proc.stdout.split("test accuracy ")[1].split()[0])
    assert (tmp_path / "m.keras").is_file()

    # The project's own training of the same configuration on the same slice.
    from model.config import DataSpec
    from model.data import load_dataset, split_dataset
    from model.training import train

    split = split_dataset(load_dataset(DataSpec(name="mnist", path=str(mnist_path))), config.split, config.seed, 3000)
    ours = train(config.replace(epochs=1), split).evaluation
    assert ours is not None
    assert accuracy == pytest.approx(ours.accuracy, abs=0.08), "the exported script should train comparably"


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # constant: the rate set stays; step: later epochs follow the schedule from it.
        (ScheduleSpec(), [0.01, 0.05, 0.05, 0.2]),
        (ScheduleSpec(kind="step", factor=0.5, step_epochs=1), [0.01, 0.05, 0.025, 0.2]),
    ],
)
def test_exported_rate_changes_are_set_at_their_steps(schedule: ScheduleSpec, expected: list[float]) -> None:
    import importlib.util

    import keras

    config = load_preset("mlp").replace(
        layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax")),
        optimizer=OptimizerSpec(name="sgd", learning_rate=0.01),
        schedule=schedule,
        batch_size=4,
    )
    source = export_script(config, rate_changes=[(1, 0.05), (3, 0.2)])
    assert "The run changed its learning rate while paused (0.05 from step 1; 0.2 from step 3)" in source
    spec = importlib.util.spec_from_loader("exported_with_changes", loader=None)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    exec(compile(source, "train_model.py", "exec"), module.__dict__)  # noqa: S102 - our own script
    model = module.build_model((28, 28, 1), 10)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="categorical_crossentropy")
    seen: list[float] = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):  # noqa: ANN001, ANN202
            seen.append(round(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)), 6))

    x = np.zeros((8, 28, 28, 1), np.float32)
    y = keras.utils.to_categorical(np.arange(8) % 10, 10)
    callbacks = [keras.callbacks.LearningRateScheduler(module.schedule), module.RateChangesWhilePaused(), Record()]
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, callbacks=callbacks, verbose=0)
    assert seen == expected


def test_a_resumed_run_says_the_script_cannot_repeat_it() -> None:
    config = load_preset("mlp").replace(report_every=10)
    source = export_script(config, rate_changes=[(120, 0.05)], resumed=True)
    assert "reported every 10 batches" in source and "trains from scratch" in source
    assert "RATE_CHANGES" not in export_script(config)
