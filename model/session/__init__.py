"""The run session, Qt-free: see :mod:`model.session.core` for the design.

``RunSession`` is what the window drives (``ComparisonSession``, its Compare mode); ``SessionView`` is what it renders through;
``ActionState`` says which actions make sense; ``MemoryStore`` and ``SettingsStore`` hold
what persists between sessions.
"""

from __future__ import annotations

from .cockpit import CockpitView
from .compare import ADDRESS_KEY, CompareState, ComparisonSession, ComparisonView
from .core import CLOSE_TIMEOUT_S, RunSession
from .document import Document, MemoryStore, SettingsStore, recent_from_setting, updated_recent
from .memory import ModelInMemory, WeightsOnly
from .runs import ActiveRun, format_progress
from .view import ActionState, Level, PanelState, SessionView

__all__ = [
    "ADDRESS_KEY",
    "CLOSE_TIMEOUT_S",
    "ActionState",
    "ActiveRun",
    "CockpitView",
    "CompareState",
    "ComparisonSession",
    "ComparisonView",
    "Document",
    "Level",
    "MemoryStore",
    "ModelInMemory",
    "PanelState",
    "RunSession",
    "SessionView",
    "SettingsStore",
    "WeightsOnly",
    "format_progress",
    "recent_from_setting",
    "updated_recent",
]
