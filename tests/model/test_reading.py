"""Reading untrusted files: pipes and devices refused without blocking, caps, bounded JSON, cut values."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import clip, one_line, shorten
from model.reading import (
    MAX_JSON_INT_DIGITS,
    FileTooLarge,
    JsonError,
    NotARegularFile,
    check_regular,
    is_regular_file,
    loads_json,
    open_regular,
    os_error_reason,
    read_capped,
)


def in_a_thread(call, timeout: float = 10.0):
    """``call()`` in a daemon thread; fails the test if it blocks (a FIFO opened naively never returns)."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "blocked"
    return outcome


def test_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    for call in (lambda: open_regular(pipe), lambda: read_capped(pipe, 100), lambda: check_regular(pipe)):
        error = in_a_thread(call)["error"]
        assert isinstance(error, NotARegularFile)
        assert os_error_reason(error) == "is a named pipe (FIFO), not a regular file"
    assert not is_regular_file(pipe)


def test_devices_and_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NotARegularFile, match="character device"):
        read_capped(Path("/dev/zero"), 100)
    with pytest.raises(IsADirectoryError) as info:
        open_regular(tmp_path)
    assert os_error_reason(info.value) == "is a folder, not a file"


def test_a_file_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with open(big, "wb") as handle:
        handle.truncate(10**12)  # sparse: a terabyte that occupies nothing
    with pytest.raises(FileTooLarge) as info:
        read_capped(big, 1024)
    assert os_error_reason(info.value) == "is 1,000,000,000,000 bytes, more than the 1,024 accepted"
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    assert read_capped(small, 3) == b"abc"
    with open_regular(small) as handle:
        assert handle.read() == b"abc"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (FileNotFoundError(errno.ENOENT, "x"), "does not exist"),
        (PermissionError(errno.EACCES, "x"), "cannot be read (permission denied); check its permissions"),
        (OSError(errno.ENAMETOOLONG, "File name too long"), "cannot be read (File name too long)"),
    ],
)
def test_os_errors_in_words(error: OSError, words: str) -> None:
    assert os_error_reason(error) == words


def test_json_refuses_integers_of_thousands_of_digits() -> None:
    assert loads_json('{"seed": ' + "9" * MAX_JSON_INT_DIGITS + "}")["seed"] > 0
    with pytest.raises(JsonError, match="a whole number of 5,000 digits"):
        loads_json('{"seed": ' + "9" * 5000 + "}")  # json.loads: ValueError "Exceeds the limit (4300 digits)"
    with pytest.raises(JsonError, match="nested too deeply"):
        loads_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(JsonError, match="not UTF-8"):
        loads_json(b"\xff\xfe{}")
    with pytest.raises(JsonError, match="not valid JSON"):
        loads_json("{nope")
    assert loads_json("1e400") == float("inf")  # as json.loads: callers that need finite numbers check


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_whatever_the_text_only_json_errors_escape(data: bytes | str) -> None:
    try:
        loads_json(data)
    except JsonError:
        pass


def test_messages_cut_what_they_quote() -> None:
    assert shorten("relu") == "'relu'"
    long = shorten("x" * 10_000_000)
    assert long.endswith("… (10,000,000 characters)") and len(long) < 100
    assert shorten(10**5000) == "a whole number of about 5,001 digits"  # str() would refuse it
    assert len(shorten(list(range(10**6)))) < 100
    assert clip("short") == "short" and clip("y" * 500, 10) == "yyyyyyyyyy… (500 characters)"
    assert one_line("a\nb\r\nc") == "a b c" and len(one_line("z" * 10_000)) == 600


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.integers() | st.floats() | st.text(max_size=200),
                    lambda c: st.lists(c, max_size=8) | st.dictionaries(st.text(max_size=20), c, max_size=8), max_leaves=30))
def test_shorten_is_short_whatever_it_quotes(value: object) -> None:
    assert len(shorten(value)) <= 4 * 60 + 1
