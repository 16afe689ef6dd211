"""The one exception type the core raises for bad input.

Every problem a person can fix (a malformed configuration, an impossible layer stack, a
missing or corrupt data file, an unsafe model file) is reported as a :class:`ProjectError`
whose message names what is wrong and what to do about it. The GUI shows the message in
place; the command line prints it on one line and exits non-zero.
"""

from __future__ import annotations

import reprlib


class ProjectError(Exception):
    """A problem with the user's input, with a message that says how to fix it."""


class ConfigError(ProjectError):
    """A configuration field is missing, malformed or out of range."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


class DataError(ProjectError):
    """A dataset cannot be found, read or understood."""


class BuildError(ProjectError):
    """A layer stack cannot be turned into a model."""


class ModelFileError(ProjectError):
    """A model file cannot be opened safely."""


# --------------------------------------------------------------------------- quoting input

_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxdict, _QUOTE.maxlist, _QUOTE.maxtuple, _QUOTE.maxset = 2, 4, 6, 6, 4
_QUOTE.maxstring = _QUOTE.maxother = 60
_QUOTE.maxlong = 40


def shorten(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for a message that quotes input.

    A message quotes what it refuses, and the input may be hostile: a 10 MB string or a
    number with millions of digits must not become a 10-million-character error line
    (nor an error of its own: ``str()`` refuses integers over 4,300 digits). Long texts
    say how long they were, huge whole numbers how many digits they have.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"a whole number of about {digits:,} digits"
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = _QUOTE.repr(value)  # containers: a few items of a few levels, each cut
    return text if len(text) <= 4 * limit else text[: 4 * limit] + "…"


def clip(text: str, limit: int = 200) -> str:
    """``text`` itself when short, else its start and how long it was (no quotes added)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line (line breaks become spaces) of at most ``limit`` characters."""
    flat = " ".join(text.split()) if ("\n" in text or "\r" in text) else text
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
