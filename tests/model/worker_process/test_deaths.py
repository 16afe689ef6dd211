"""The words for a worker that died: what happened, and what to change."""

from __future__ import annotations

import numpy as np

from model.config import LayerSpec, RunConfig
from model.events import DataReady, RunStarted
from model.machine import MachineMemory
from model.worker_process import describe_death
from model.worker_process.deaths import UNHARMED

DATA = DataReady(1, "train 240", "digits", None, tuple("0123456789"), (28, 28, 1), np.zeros((0, 28, 28, 1)))
STARTED = RunStarted(1, 1, 0, 8, 128, 240, 30, 30, ("L2_Dense",), 1e-3)
MACHINE = MachineMemory(total=16 * 2**30, available=8 * 2**30)
HUGE_DENSE = RunConfig(
    layers=(LayerSpec("Flatten"), *[LayerSpec("Dense", units=65536)] * 3, LayerSpec("Dense", units=10, activation="softmax")),
    batch_size=128,
)
TINY = RunConfig(layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=10, activation="softmax")))


def test_a_killed_run_that_needed_too_much_memory_says_how_much_and_what_to_change() -> None:
    failure = describe_death(-9, HUGE_DENSE, DATA, STARTED, MACHINE)
    text = failure.message
    assert text.startswith("The training process was killed while training (exit signal 9, SIGKILL), most likely")
    assert "ran out of memory" in text and "The model needs about" in text and "GB for batch size 128" in text
    assert "this computer has 17 GB (8.6 GB free)" in text
    assert "To fit, reduce the layer sizes" in text and text.endswith(UNHARMED)


def test_a_killed_small_run_is_not_blamed_on_memory() -> None:
    text = describe_death(-9, TINY, DATA, STARTED, MACHINE).message
    assert "(exit signal 9, SIGKILL) from outside the app" in text and "probably not out of memory" in text


def test_a_kill_before_the_data_was_loaded_gives_general_advice() -> None:
    text = describe_death(-9, HUGE_DENSE, None, None, MACHINE).message
    assert "killed before its data was loaded" in text and "Reduce the batch size or the layer sizes" in text


def test_a_crash_in_tensorflow_names_the_signal() -> None:
    text = describe_death(-11, TINY, DATA, STARTED, MACHINE).message
    assert "crashed while training (exit signal 11, SIGSEGV)" in text and "fault in TensorFlow" in text
    oversized = describe_death(-6, HUGE_DENSE, DATA, None, MACHINE).message
    assert "crashed while building the model (exit signal 6, SIGABRT)" in oversized and "The model needs" in oversized


def test_other_endings() -> None:
    assert "ended while training by exit signal 15 (SIGTERM) from outside" in describe_death(-15, TINY, DATA, STARTED).message
    assert "exited while training with status 1." in describe_death(1, TINY, DATA, STARTED, MACHINE).message
    assert "without reporting a result" in describe_death(0, TINY, DATA, STARTED).message
    assert "stopped answering" in describe_death(None, TINY).message
