"""The one place where the core's threads reach the GUI thread: a queued Qt signal.

:class:`QtDispatch` is the :data:`model.tasks.Dispatch` the window gives its
:class:`~model.session.RunSession`: calling it from any thread queues the callable, and
Qt runs it in the thread the dispatcher lives in (the GUI thread), in order. Records from a
training run, answers from the Keras worker and the dataset counts all come home this way,
as the plain Python objects they are.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot


class QtDispatch(QObject):
    """Runs callables in the thread this object lives in; call it from any thread."""

    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Queued even when emitted from this thread: a call never runs inside its caller.
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def __call__(self, fn: Callable[[], None]) -> None:
        self._posted.emit(fn)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()  # an exception is reported by Qt's handler (and fails a test), the loop goes on
