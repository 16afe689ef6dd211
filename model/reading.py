"""Reading untrusted files: regular files only, sizes capped, JSON with bounded numbers.

Every reader of a file the user names (a configuration, a model, a data file, a run
folder's files, an image) opens it through :func:`open_regular`, so the same rules hold
everywhere:

- Only a regular file is opened. A named pipe (FIFO) would block the process forever on
  ``open`` (nobody writes to it), a device such as ``/dev/zero`` never ends, a socket
  cannot be read: each is refused before anything waits. The open itself cannot block,
  because it is non-blocking until the file is known to be regular.
- :func:`read_capped` refuses a file larger than its reader's cap before reading it
  (``--config`` of a 5 GB file must not fill memory), and stops at the cap if the file
  grows meanwhile.
- What went wrong is said once, the same way for every reader: :func:`os_error_reason`
  turns an ``OSError`` into the words that follow the file's name in a message ("does not
  exist", "is a named pipe (FIFO), not a regular file", "cannot be read (permission
  denied) ..."), so a reader writes ``f"{label} {os_error_reason(exc)}"`` instead of its
  own ``except FileNotFoundError / IsADirectoryError / PermissionError`` ladder.
- :func:`loads_json` parses JSON raising only :class:`JsonError`: not UTF-8, not JSON,
  nested too deeply, or a whole number longer than :data:`MAX_JSON_INT_DIGITS` digits
  (Python refuses to convert integers over 4,300 digits with a ``ValueError`` of its own,
  and no number in this project's files has more than a few dozen).

Nothing here imports anything heavier than the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO, Final

MAX_JSON_INT_DIGITS: Final = 100
"""The longest whole number :func:`loads_json` accepts (a seed or a count needs 20 digits)."""


class NotARegularFile(OSError):
    """The path exists but is not a regular file (a named pipe, a device, a socket)."""


class InvalidPath(OSError):
    """The path cannot name a file at all (it holds a NUL character)."""


def _os_open(path: str | Path, flags: int) -> int:
    try:
        return os.open(path, flags)
    except ValueError:  # "embedded null byte": a path no file can have
        raise InvalidPath(errno.EINVAL, "is not a valid path (it holds a NUL character)", str(path)) from None


def _os_stat(path: str | Path) -> os.stat_result:
    try:
        return os.stat(path)
    except ValueError:
        raise InvalidPath(errno.EINVAL, "is not a valid path (it holds a NUL character)", str(path)) from None


class FileTooLarge(OSError):
    """The file is larger than its reader accepts."""


class JsonError(ValueError):
    """The text is not JSON this project reads; the message says why in a few words."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_unless_regular(mode: int, path: str | Path) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    if not stat.S_ISREG(mode):
        raise NotARegularFile(errno.EINVAL, f"is {_kind(mode)}, not a regular file", str(path))


def check_regular(path: str | Path) -> Path:
    """``path`` as a :class:`Path` if it is a regular file (symbolic links followed).

    For readers that must hand a path, not an open file, to a library (Keras opens its
    model files itself): the check is made just before.

    Raises:
        OSError: ``FileNotFoundError``, ``IsADirectoryError``, :class:`NotARegularFile`, ...
    """
    _refuse_unless_regular(_os_stat(path).st_mode, path)
    return Path(path)


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything that is not a regular file.

    The file is opened non-blocking (an ``open`` of a FIFO returns at once instead of
    waiting for a writer), checked with ``fstat`` on the open descriptor (no window for the
    path to change in between), and switched back to blocking reads.

    Raises:
        OSError: ``FileNotFoundError``, ``IsADirectoryError``, ``PermissionError``,
            :class:`NotARegularFile`, or another ``OSError`` (a name too long, a loop of
            links ...); :func:`os_error_reason` says any of them in words.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = _os_open(path, flags)
    try:
        _refuse_unless_regular(os.fstat(fd).st_mode, path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused when it holds more than ``limit``.

    Raises:
        OSError: as :func:`open_regular`, or :class:`FileTooLarge`.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise FileTooLarge(errno.EFBIG, f"is {size:,} bytes, more than the {limit:,} accepted", str(path))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(errno.EFBIG, f"holds more than the {limit:,} bytes accepted", str(path))
    return data


def os_error_reason(exc: OSError) -> str:
    """What went wrong with a file, as the words that follow its name in a message."""
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied); check its permissions"
    if isinstance(exc, (NotARegularFile, FileTooLarge, InvalidPath)):
        return str(exc.strerror)
    if isinstance(exc, NotADirectoryError):
        return "is inside something that is not a folder"
    return f"cannot be read ({exc.strerror or type(exc).__name__})"


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; ``False`` for anything else and for any error."""
    with contextlib.suppress(OSError, ValueError):
        return stat.S_ISREG(path.stat().st_mode)
    return False


# --------------------------------------------------------------------------- JSON


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise JsonError(f"it holds a whole number of {len(text.lstrip('-')):,} digits")
    return int(text)


def loads_json(data: str | bytes) -> Any:
    """Parse JSON text (or UTF-8 bytes), raising only :class:`JsonError`.

    Integers longer than :data:`MAX_JSON_INT_DIGITS` digits are refused; floats out of
    range (``1e400``) read as infinity, as in :func:`json.loads`: callers that need
    finite numbers check.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_int=_bounded_int)
    except JsonError:
        raise
    except UnicodeDecodeError:
        raise JsonError("it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise JsonError(f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise JsonError("it is nested too deeply") from None
    except ValueError as exc:  # anything else json or int() refuse
        raise JsonError(f"it cannot be read as JSON ({str(exc)[:120]})") from None
