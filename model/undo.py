"""Undo and redo for the layer stack, without Qt.

The stack is a tuple of frozen :class:`~model.config.LayerSpec`, so a step is simply the
stack before and after an edit (snapshots, no inverse operations to get wrong):
:class:`UndoHistory` keeps them, and :func:`describe_edit` names an edit from the two
stacks ("Add Dense(10, softmax)", "Remove layer 3", "Move layer 2 down", "Edit layer 2:
units") and says which row to select after undoing or redoing it.

Consecutive edits of the same fields of the same layer merge into one step (as
``QUndoCommand.mergeWith`` does), so typing ``128`` into Units, which the form reports
as 1, 12 and 128, is undone in one go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from model.config import LayerSpec

T = TypeVar("T")

UNDO_LIMIT: Final = 200
"""The most steps kept; the oldest go first."""


@dataclass(frozen=True)
class Step(Generic[T]):
    """One undoable edit: the state before and after it, its name, and where it happened.

    ``focus`` is the row to select once the step is undone or redone (``-1``: none);
    ``merge_key`` joins this step with the next one that has the same key.
    """

    before: T
    after: T
    label: str
    focus: int = -1
    merge_key: Hashable | None = None


class UndoHistory(Generic[T]):
    """Snapshots of a value's edits, walked back and forth.

    Args:
        limit: the most steps kept.
    """

    def __init__(self, limit: int = UNDO_LIMIT) -> None:
        self._limit = limit
        self._done: list[Step[T]] = []
        self._undone: list[Step[T]] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_label(self) -> str:
        """What Undo would undo ("" when nothing)."""
        return self._done[-1].label if self._done else ""

    @property
    def redo_label(self) -> str:
        """What Redo would redo ("" when nothing)."""
        return self._undone[-1].label if self._undone else ""

    def record(self, step: Step[T]) -> None:
        """Remember an edit that was just made; anything undone before it cannot be redone."""
        if step.before == step.after:
            return
        last = self._done[-1] if self._done else None
        if (
            last is not None
            and not self._undone
            and step.merge_key is not None
            and step.merge_key == last.merge_key
            and last.after == step.before
        ):
            self._done[-1] = Step(last.before, step.after, step.label, step.focus, step.merge_key)
            if last.before == step.after:
                self._done.pop()  # back where it started: nothing to undo
            return
        self._undone.clear()
        self._done.append(step)
        del self._done[: -self._limit]

    def undo(self) -> Step[T] | None:
        """The step to undo (apply its ``before``), or ``None`` when there is none."""
        if not self._done:
            return None
        step = self._done.pop()
        self._undone.append(step)
        return step

    def redo(self) -> Step[T] | None:
        """The step to redo (apply its ``after``), or ``None`` when there is none."""
        if not self._undone:
            return None
        step = self._undone.pop()
        self._done.append(step)
        return step

    def clear(self) -> None:
        """Forget every step (a new document)."""
        self._done.clear()
        self._undone.clear()


Stack = tuple[LayerSpec, ...]


def describe_edit(before: Stack, after: Stack) -> Step[Stack]:
    """The step from ``before`` to ``after``: its name, the row it touched, its merge key.

    One insertion, one removal, one move or the edit of one layer is named as such; any
    other change (a fix that rewrote several layers) is "Change the stack".
    """
    if len(after) == len(before) + 1:
        row = _first_difference(before, after)
        if before == after[:row] + after[row + 1 :]:
            return Step(before, after, f"Add {after[row].describe()}", row)
    if len(after) == len(before) - 1:
        row = _first_difference(before, after)
        if after == before[:row] + before[row + 1 :]:
            return Step(before, after, f"Remove layer {row + 1}", row)
    if len(after) == len(before):
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if len(changed) == 1:
            row = changed[0]
            fields = tuple(
                name
                for name in ("type", *sorted(set(before[row].params) | set(after[row].params)))
                if getattr(before[row], name, None) != getattr(after[row], name, None)
            )
            return Step(before, after, f"Edit layer {row + 1}: {', '.join(fields)}", row, ("edit", row, fields))
        if changed and Counter(before) == Counter(after):
            moved = _moved_row(before, after)
            if moved is not None:
                source, target = moved
                direction = "down" if target > source else "up"
                return Step(before, after, f"Move layer {source + 1} {direction}", target)
    return Step(before, after, "Change the stack", _first_difference(before, after))


def _first_difference(a: Stack, b: Stack) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _moved_row(before: Stack, after: Stack) -> tuple[int, int] | None:
    """(from, to) when ``after`` is ``before`` with one layer moved, else ``None``."""
    for source in range(len(before)):
        rest = before[:source] + before[source + 1 :]
        for target in range(len(before)):
            if target != source and rest[:target] + (before[source],) + rest[target:] == after:
                return source, target
    return None
