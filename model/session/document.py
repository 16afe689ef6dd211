"""The document a session edits: the configuration, where it came from, and whether it changed.

:class:`Document` keeps two configurations: ``saved`` (what was last opened or saved, the
reference for the unsaved-changes mark) and ``current`` (what the panels show now, or
``None`` while they hold something invalid, with ``error`` saying why). It also knows the
file Save writes to and, for a run folder or model file that was opened, its name for the
title.

The recent-files list and the remembered configuration live in a :class:`SettingsStore`,
which ``QSettings`` satisfies as it is; tests use :class:`MemoryStore`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from model.config import RunConfig, config_from_json
from model.errors import ProjectError

log = logging.getLogger(__name__)

RECENT_LIMIT: Final = 8
CONFIG_KEY: Final = "config"
RECENT_KEY: Final = "recent_files"
LAST_FOLDER_KEY: Final = "last_folder"


class SettingsStore(Protocol):
    """Where a user's settings persist between sessions (``QSettings`` has this shape)."""

    def value(self, key: str) -> object: ...

    def setValue(self, key: str, value: object) -> None: ...  # noqa: N802 - QSettings' name

    def sync(self) -> None: ...


@dataclass
class MemoryStore:
    """A :class:`SettingsStore` in a dictionary, for tests and the command line."""

    values: dict[str, object] = field(default_factory=dict)

    def value(self, key: str) -> object:
        return self.values.get(key)

    def setValue(self, key: str, value: object) -> None:  # noqa: N802 - QSettings' name
        self.values[key] = value

    def sync(self) -> None:
        pass


def updated_recent(entries: Sequence[str], path: Path, limit: int = RECENT_LIMIT) -> list[str]:
    """``entries`` with ``path`` moved (or added) to the front, at most ``limit`` long."""
    key = str(path.resolve())
    return [key, *[e for e in entries if e != key]][:limit]


def recent_from_setting(value: object) -> list[str]:
    """The recent-files list as a store gives it back (a list, a string, or nothing)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str) and v]
    return []


def restore_config(store: SettingsStore) -> RunConfig:
    """The configuration remembered at the last close, or the defaults."""
    text = store.value(CONFIG_KEY)
    if isinstance(text, str) and text:
        try:
            return config_from_json(text)
        except ProjectError as exc:
            log.warning("ignoring the remembered configuration: %s", exc)
    return RunConfig()


@dataclass
class Document:
    """The configuration being edited, against the one last opened or saved."""

    saved: RunConfig
    current: RunConfig | None = None
    error: str | None = None
    path: Path | None = None  # the configuration file Save writes to
    name: str = ""  # an opened run folder or model file, for the title

    def __post_init__(self) -> None:
        if self.current is None and self.error is None:
            self.current = self.saved

    @property
    def modified(self) -> bool:
        """Whether what the panels show differs from what was last opened or saved."""
        return self.current is None or self.current.to_dict() != self.saved.to_dict()

    @property
    def title(self) -> str:
        return self.path.name if self.path else (self.name or self.saved.name)

    def best_config(self) -> RunConfig:
        """The current configuration, or the saved one while the panels are invalid."""
        return self.current if self.current is not None else self.saved

    def replace(self, config: RunConfig, path: Path | None = None, name: str = "") -> None:
        """A newly opened or created configuration: nothing unsaved."""
        self.saved = self.current = config
        self.error = None
        self.path = path
        self.name = name

    def mark_saved(self, config: RunConfig, path: Path) -> None:
        self.saved = self.current = config
        self.path = path
        self.name = ""
