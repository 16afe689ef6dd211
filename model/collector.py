"""The cyclic garbage collector around TensorFlow's import: off while it runs, then frozen.

``import tensorflow`` (with Keras and scikit-learn) leaves some 400,000 long-lived
objects. With the collector on, the import triggers full collections that walk every
object made so far, each holding the GIL for longer as the heap grows: measured here,
seven of 24-208 ms in one import (669 ms in all, the import 0.8 s slower), and in the
window's process every one of them froze the window that shows while TensorFlow loads.
With the collector off, the import left 3,929 unreachable objects (no change in resident
memory), so nothing is collected before freezing: :func:`gc.freeze` moves everything to
a generation the collector skips from then on, and the process's own later garbage is
collected as usual. The pause is the whole process's, not only the importing thread's:
cyclic garbage the window's thread makes meanwhile is frozen with the rest, a small
one-off cost against the full collection that collecting it would take.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_then_frozen() -> Iterator[None]:
    """Run the block with the collector off; then freeze every object alive and turn it back on.

    The collector is turned back on only if it was on before, and whatever the block
    raises is passed on after that.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
