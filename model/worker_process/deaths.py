"""What to tell people when a worker process dies without a word.

A run that raises a Python exception reports it itself (:class:`~model.tasks.Failure`).
A process that is killed (the kernel's out-of-memory killer sends SIGKILL), crashes inside
TensorFlow's C++ code (SIGSEGV, SIGABRT) or exits by itself cannot; the window sees its
pipe close and its exit code, and :func:`describe_death` turns that into a message that
says what happened and what to change, with the configuration's memory estimate
(:mod:`model.memory`) when memory is the likely cause.
"""

from __future__ import annotations

import signal

from model.config import RunConfig
from model.events import DataReady, RunStarted
from model.machine import MachineMemory, format_bytes, machine_memory
from model.memory import MemoryEstimate, estimate_memory
from model.tasks import Failure

UNHARMED = "The window, its settings and saved or autosaved runs are unaffected."
MEMORY_SUSPECT_SHARE = 0.5
"""A killed run is taken for out of memory when its estimate exceeds this share of the free memory
(the estimate leaves out TensorFlow's own memory and the dataset)."""
CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL})


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def run_estimate(config: RunConfig, data: DataReady | None, started: RunStarted | None) -> MemoryEstimate | None:
    """The memory estimate of a run, once its data (and so its input shape) was known."""
    if data is None:
        return None
    n_train = started.n_train if started is not None else None
    try:
        return estimate_memory(
            config, data.input_shape, len(data.class_names), n_train=n_train
        )
    except ValueError:
        return None


def memory_sentence(estimate: MemoryEstimate | None, machine: MachineMemory) -> str:
    """"The model needs about 12 GB for batch size 64 (...); this computer has 8 GB: reduce ..."."""
    if estimate is None:
        return "Reduce the batch size or the layer sizes, and close other programs."
    has = machine.describe()
    where = f"; {has}" if has else ""
    need = f"about {format_bytes(estimate.total)} for batch size {estimate.batch_size:,} ({estimate.breakdown()})"
    return f"The model needs {need}{where}. To fit, {estimate.advice()}."


def _could_exhaust(estimate: MemoryEstimate, machine: MachineMemory) -> bool:
    """Whether the run may have used up the memory (unknown counts as may)."""
    return machine.available is None or estimate.total > MEMORY_SUSPECT_SHARE * machine.available


def describe_death(
    exitcode: int | None,
    config: RunConfig,
    data: DataReady | None = None,
    started: RunStarted | None = None,
    machine: MachineMemory | None = None,
) -> Failure:
    """Why a worker ended without reporting an outcome, and what to change.

    Args:
        exitcode: the process's exit code (``multiprocessing``'s: ``-N`` for signal N),
            ``None`` when it could not be reaped.
        config: the run's configuration (for the memory estimate).
        data, started: what the run had reported, if anything.
        machine: this computer's memory (default: read from the system).
    """
    machine = machine if machine is not None else machine_memory()
    estimate = run_estimate(config, data, started)
    when = "before its data was loaded" if data is None else "while training" if started else "while building the model"
    too_big = estimate is not None and machine.available is not None and estimate.total > machine.available
    if exitcode is None:
        text = f"The training process stopped answering {when} and had to be ended."
        return Failure(f"{text} {UNHARMED}")
    if exitcode < 0:
        number = -exitcode
        name = signal_name(number)
        if number == signal.SIGKILL and estimate is not None and not _could_exhaust(estimate, machine):
            text = (
                f"The training process was killed {when} (exit signal {number}, {name}) from outside the "
                f"app. The model needs only about {format_bytes(estimate.total)}, so it was probably not out of memory; "
                "train again."
            )
        elif number == signal.SIGKILL:
            text = (
                f"The training process was killed {when} (exit signal {number}, {name}), most likely "
                f"because the computer ran out of memory. {memory_sentence(estimate, machine)}"
            )
        elif number in CRASH_SIGNALS:
            cause = f" {memory_sentence(estimate, machine)}" if too_big else (
                " This is a fault in TensorFlow or a library below it; try again, or change the layer "
                "types or sizes if it keeps happening."
            )
            text = f"The training process crashed {when} (exit signal {number}, {name}).{cause}"
        else:
            text = f"The training process was ended {when} by exit signal {number} ({name}) from outside the app."
        return Failure(f"{text} {UNHARMED}")
    if exitcode == 0:
        return Failure(f"The training process ended {when} without reporting a result. {UNHARMED}")
    cause = f" {memory_sentence(estimate, machine)}" if too_big else ""
    return Failure(f"The training process exited {when} with status {exitcode}.{cause} {UNHARMED}")
