"""Undo history of the layer stack: snapshots, names of edits, merging of one field's edits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from model.config import LayerSpec
from model.undo import Step, UndoHistory, describe_edit

FLAT = LayerSpec("Flatten")
D64 = LayerSpec("Dense", units=64)
OUT = LayerSpec("Dense", units=10, activation="softmax")
DROP = LayerSpec("Dropout", rate=0.25)
STACK = (FLAT, D64, OUT)


def test_edits_are_named_and_focus_their_row() -> None:
    assert describe_edit(STACK, (FLAT, D64, DROP, OUT)).label == "Add Dropout(0.25)"
    assert describe_edit(STACK, (FLAT, D64, DROP, OUT)).focus == 2
    assert describe_edit(STACK, (FLAT, OUT)).label == "Remove layer 2"
    moved = describe_edit((FLAT, D64, DROP, OUT), (FLAT, DROP, D64, OUT))
    assert moved.label in ("Move layer 2 down", "Move layer 3 up")
    edited = describe_edit(STACK, (FLAT, LayerSpec("Dense", units=128), OUT))
    assert (edited.label, edited.focus) == ("Edit layer 2: units", 1)
    changed = describe_edit(STACK, (D64, OUT, FLAT, DROP))
    assert changed.label == "Change the stack"


def test_undo_and_redo_walk_the_snapshots() -> None:
    history: UndoHistory[tuple[LayerSpec, ...]] = UndoHistory()
    assert not history.can_undo and history.undo() is None
    one = (FLAT, D64, DROP, OUT)
    two = (FLAT, DROP, OUT)
    history.record(describe_edit(STACK, one))
    history.record(describe_edit(one, two))
    assert history.undo_label == "Remove layer 2"
    step = history.undo()
    assert step is not None and step.before == one
    assert history.redo_label == "Remove layer 2"
    step = history.undo()
    assert step is not None and step.before == STACK
    assert not history.can_undo
    step = history.redo()
    assert step is not None and step.after == one
    # A new edit after undoing drops what could have been redone.
    history.record(describe_edit(one, (FLAT, D64, OUT, OUT)))
    assert not history.can_redo


def test_edits_of_one_field_of_one_layer_merge() -> None:
    history: UndoHistory[tuple[LayerSpec, ...]] = UndoHistory()
    stacks = [(FLAT, LayerSpec("Dense", units=u), OUT) for u in (64, 1, 12, 128)]
    for before, after in zip(stacks, stacks[1:], strict=False):
        history.record(describe_edit(before, after))
    step = history.undo()
    assert step is not None and step.before == stacks[0] and step.after == stacks[-1]
    assert not history.can_undo
    # Another field of the same layer is a step of its own.
    history.redo()
    relu = (FLAT, LayerSpec("Dense", units=128, activation="tanh"), OUT)
    history.record(describe_edit(stacks[-1], relu))
    assert history.undo_label == "Edit layer 2: activation"
    history.undo()
    assert history.undo_label == "Edit layer 2: units"


def test_editing_back_to_where_it_started_leaves_nothing_to_undo() -> None:
    history: UndoHistory[tuple[LayerSpec, ...]] = UndoHistory()
    changed = (FLAT, LayerSpec("Dense", units=65), OUT)
    history.record(describe_edit(STACK, changed))
    history.record(describe_edit(changed, STACK))
    assert not history.can_undo


def test_the_history_is_bounded() -> None:
    history: UndoHistory[int] = UndoHistory(limit=3)
    for value in range(10):
        history.record(Step(value, value + 1, f"step {value}"))
    assert [history.undo().before for _ in range(3)] == [9, 8, 7]  # type: ignore[union-attr]
    assert not history.can_undo


LAYERS = st.sampled_from((FLAT, D64, OUT, DROP, LayerSpec("Conv2D"), LayerSpec("Dense", units=3)))


@given(st.lists(st.lists(LAYERS, max_size=5).map(tuple), min_size=1, max_size=8))
def test_undoing_everything_gives_the_first_stack_back(stacks: list[tuple[LayerSpec, ...]]) -> None:
    history: UndoHistory[tuple[LayerSpec, ...]] = UndoHistory()
    for before, after in zip(stacks, stacks[1:], strict=False):
        history.record(describe_edit(before, after))
    state = stacks[-1]
    while (step := history.undo()) is not None:
        assert step.after == state
        state = step.before
    assert state == stacks[0]
