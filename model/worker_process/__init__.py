"""Every run in a worker process of its own: see :mod:`model.worker_process.parent`.

``ProcessRunner`` is the :class:`~model.runner.Runner` the window uses; the worker's body
is :mod:`~.child`, the messages between the two :mod:`~.messages`, the live model that
answers drawings :mod:`~.live`, and the words for a worker that died :mod:`~.deaths`.
"""

from __future__ import annotations

from .deaths import describe_death
from .live import SnapshotPredictor
from .parent import NICENESS, SNAPSHOT_INTERVAL_S, ProcessRun, ProcessRunner, RemoteControl

__all__ = ["NICENESS", "SNAPSHOT_INTERVAL_S", "ProcessRun", "ProcessRunner", "RemoteControl", "SnapshotPredictor", "describe_death"]
