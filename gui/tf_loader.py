"""Import TensorFlow (through ``model.training``) in the background, so the window opens first.

``import tensorflow`` takes several seconds. The window must not wait for it, and the GUI
thread must never import it either: Python's import lock would freeze the event loop
until the import finished. :func:`start_background_import` imports the heavy core modules
in one plain daemon thread, in a fixed order (``model.data`` first, so a data task can
start early without racing the same imports from another thread; then scipy for the
Draw tab; then TensorFlow, Keras and scikit-learn), and records the outcome in
thread-safe events. :class:`TensorFlowLoader` watches those events from the GUI thread on
a short timer and turns them into Qt signals; it never emits from another thread, so
nothing goes wrong if the window closes before the import ends.

The import thread is a daemon because an import cannot be interrupted; :func:`wait` lets
the application wait for it before the interpreter shuts down. TensorFlow's start-up
notes are held back from the terminal meanwhile (:func:`model.quiet.quiet_native_stderr`)
unless the app was started with ``--verbose``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal

from model import collector, quiet

log = logging.getLogger(__name__)

DATA_MODULE: Final = "model.data"
DRAWING_MODULE: Final = "model.preprocess"  # scipy: the Draw tab's preprocessing
TRAINING_MODULE: Final = "model.training"  # TensorFlow, Keras, scikit-learn
POLL_INTERVAL_MS: Final = 50

_lock = threading.Lock()
_thread: threading.Thread | None = None
data_ready = threading.Event()
"""Set once ``model.data`` is imported (or failed to import)."""
training_ready = threading.Event()
"""Set once ``model.training`` (and so TensorFlow) is imported, or failed to import."""
_device: str | None = None
_error: str | None = None


def _import_all() -> None:
    global _device, _error
    try:
        try:
            importlib.import_module(DATA_MODULE)
        finally:
            data_ready.set()
        importlib.import_module(DRAWING_MODULE)
        # TensorFlow and Keras leave some 400,000 long-lived objects behind. Left in the
        # collector's care, every full collection walks them all, holding the GIL: during
        # the import the window froze for up to 0.2 s at a time, and later whenever one
        # struck. Collected nothing while importing, and frozen, they are skipped.
        with collector.paused_then_frozen(), quiet.quiet_native_stderr():
            training = importlib.import_module(TRAINING_MODULE)
        _device = training.describe_device()
    except Exception as exc:  # noqa: BLE001 - reported to the window, which stays usable
        log.exception("importing the training core failed")
        _error = f"TensorFlow could not be loaded: {type(exc).__name__}: {exc}"
    finally:
        data_ready.set()
        training_ready.set()


def start_background_import() -> None:
    """Start importing the training core in a background thread (once per process)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_all, name="tensorflow-import", daemon=True)
            _thread.start()


def wait(timeout: float | None = None) -> bool:
    """Block until the import has ended (``True``) or ``timeout`` seconds passed."""
    with _lock:
        started = _thread is not None
    return training_ready.wait(timeout) if started else True


def device() -> str | None:
    """The training device in words once TensorFlow is loaded (``None`` before)."""
    return _device if training_ready.is_set() else None


def error() -> str | None:
    """Why TensorFlow could not be loaded, if it could not."""
    return _error if training_ready.is_set() else None


class TensorFlowLoader(QObject):
    """Starts the background import and reports its end in the GUI thread.

    Signals:
        loaded(str): the device TensorFlow will train on, e.g. ``CPU``.
        failed(str): why the import failed, in words.
    """

    loaded = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._on_poll)

    def start(self) -> None:
        """Begin (or join) the import; ``loaded`` or ``failed`` follows in the event loop."""
        start_background_import()
        self._timer.start()

    @property
    def done(self) -> bool:
        return training_ready.is_set()

    def _on_poll(self) -> None:
        if not training_ready.is_set():
            return
        self._timer.stop()
        message = error()
        if message is None:
            self.loaded.emit(device() or "CPU")
        else:
            self.failed.emit(message)
