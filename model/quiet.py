"""Keep TensorFlow's start-up chatter out of the user's terminal, unless asked for.

TensorFlow talks on three channels, and each needs its own means:

- its C++ logging (``failed call to cuInit``, device and oneDNN notes): filtered by
  ``TF_CPP_MIN_LOG_LEVEL``, which TensorFlow reads once, when it is imported, so
  :func:`configure` sets it before anything imports TensorFlow (``main.py`` calls it
  first thing). It goes into the environment, so child processes (a run in a worker
  process) inherit it;
- Abseil's lines written before its logging is initialized ("All log messages before
  absl::InitializeLog() is called are written to STDERR", then ``I0000 ...`` notes),
  which no setting reaches: :func:`quiet_native_stderr` holds back what native code
  writes to the standard-error descriptor while TensorFlow is imported
  (:func:`import_tensorflow`) and passes on every line that is not such a note;
- Python's ``logging`` (retracing warnings, AutoGraph notes) and ``warnings``: the
  ``tensorflow`` logger is set to errors only, and warnings from TensorFlow, Keras and
  Abseil are ignored.

``--verbose`` (or ``GRADIENT_LAB_VERBOSE=1``) leaves all of it as TensorFlow has it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from typing import Final

VERBOSE_ENV: Final = "GRADIENT_LAB_VERBOSE"
# An Abseil / TensorFlow C++ log line ("I0000 00:00:1796167260.173343    8755 port.cc:153] ..."),
# its continuation lines, and the old "2024-01-01 12:00:00.000: I tensorflow/..." format.
_CHATTER: Final = re.compile(
    r"^(?:[IWE]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] )"
)
_NOISY_MODULES: Final = r"(tensorflow|keras|absl|google\.protobuf|tf_keras)(\..*)?$"


def is_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def configure(verbose: bool = False) -> None:
    """Quiet TensorFlow for this process and its children, unless ``verbose``.

    Call it before TensorFlow is imported; calling it again is harmless.
    """
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
        return
    if is_verbose():
        return
    # The user's own setting wins; "3" also hides the C++ ERROR lines such as cuInit's.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    for category in (UserWarning, DeprecationWarning, FutureWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category, module=_NOISY_MODULES)


def is_chatter(line: str) -> bool:
    """Whether ``line`` is one of TensorFlow's or Abseil's log notes (not a message of ours)."""
    return bool(_CHATTER.match(line))


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Hold back what is written to file descriptor 2 meanwhile; then pass on all but log notes.

    Nothing is lost: lines that are not TensorFlow's or Abseil's notes are written out
    when the block ends. Without a usable descriptor 2 (or when verbose) it does nothing.
    """
    if is_verbose():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            held = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in held.splitlines(keepends=True) if not is_chatter(line)]
            if kept:
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.write("".join(kept))
                    sys.stderr.flush()


def import_tensorflow() -> None:
    """Import TensorFlow and Keras, keeping their start-up notes out of the terminal."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    with quiet_native_stderr():
        import keras  # noqa: F401 - imported for its side effect: loaded once, quietly
        import tensorflow  # noqa: F401
    if not is_verbose():
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
