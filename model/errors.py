"""The one exception type the core raises for bad input.

Every problem a person can fix (a malformed configuration, an impossible layer stack, a
missing or corrupt data file, an unsafe model file) is reported as a :class:`ProjectError`
whose message names what is wrong and what to do about it. The GUI shows the message in
place; the command line prints it on one line and exits non-zero.
"""

from __future__ import annotations


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
