"""Address any single setting of a run by its path: ``optimizer.learning_rate``, ``layers[2].units``.

A path is the chain of dataclass field names that leads from a :class:`~model.config.RunConfig`
to one scalar field, with an index where the chain passes through the layer tuple:
``batch_size``, ``data.limit``, ``early_stopping.enabled``, ``layers[2].units``. The same
paths name the fields in :class:`~model.errors.ConfigError` messages, the settings panel's
widgets (their ``objectName``) and the command line's ``--set PATH=VALUE``, so one string
ties a widget, an error and a command-line override to the field they concern.

Everything here is derived from the dataclasses' own fields and type annotations, never
from a second list of settings: a field added to a spec in :mod:`model.config` is
addressable at once. Edits go through ``dataclasses.replace``, so every result is
validated exactly like a configuration read from a file, and a value the core rejects
raises the core's own :class:`ConfigError`, anchored at the full path.

The functions also accept a lone :class:`~model.config.LayerSpec`, whose paths are its
field names (``units``, ``type``): the designer's layer editor binds its widgets that way.

- :func:`get`: the value at a path.
- :func:`with_value`, :func:`with_values`: a validated copy with one or several values
  replaced, all at once (so a split's three fractions can change together).
- :func:`parse`: command-line text turned into the field's type.
- :func:`paths`: every editable scalar path of a configuration.
- :func:`apply_assignments`: ``PATH=VALUE`` texts applied together, as ``--set`` does.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from model.config import LayerSpec, RunConfig
from model.errors import ConfigError, shorten

Record = TypeVar("Record", RunConfig, LayerSpec)

TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
NONE_WORDS = ("none", "null")

# One step of a path: a field name, with an index into the layer tuple; ASCII only, and
# an index short enough that int() cannot refuse it.
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,6})\])?", re.ASCII)
_EXAMPLE = "write it like optimizer.learning_rate or layers[2].units"


@dataclass(frozen=True)
class _Scalar:
    """What a scalar field holds: one Python type, maybe ``None``, maybe some literal words."""

    kind: type
    optional: bool
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Field:
    """One dataclass field: a scalar, a nested record, or a tuple of records (the layers)."""

    name: str
    scalar: _Scalar | None
    record: type | None
    sequence: bool


@dataclass(frozen=True)
class _Step:
    name: str
    index: int | None


class _Leaf:
    """A new value at the end of a path, told apart from a subtree of further changes."""

    def __init__(self, value: object) -> None:
        self.value = value


# --------------------------------------------------------------------------- field types


def _describe(name: str, hint: Any) -> _Field:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _Field(name, None, hint, False)
    if get_origin(hint) is tuple:
        return _Field(name, None, get_args(hint)[0], True)
    members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    words = tuple(str(word) for m in members if get_origin(m) is Literal for word in get_args(m))
    kinds = [m for m in members if m in (bool, int, float, str)]
    if len(kinds) != 1:  # pragma: no cover - every field of model.config is one of these
        raise TypeError(f"field {name!r} has an unsupported type {hint!r}")
    return _Field(name, _Scalar(kinds[0], type(None) in members, words), None, False)


_FIELDS: dict[type, dict[str, _Field]] = {}


def _fields(cls: type) -> dict[str, _Field]:
    """The fields of a config dataclass, in declaration order, with their resolved types."""
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        _FIELDS[cls] = {f.name: _describe(f.name, hints[f.name]) for f in dataclasses.fields(cls)}
    return _FIELDS[cls]


def _applies(record: object, name: str) -> bool:
    """Whether field ``name`` means anything for ``record`` (a layer's type decides its fields)."""
    return not isinstance(record, LayerSpec) or name == "type" or name in record.params


def _shown_fields(record: object) -> list[tuple[str, _Field]]:
    """The fields of ``record`` that apply, in the order an editor shows them."""
    fields = _fields(type(record))
    if isinstance(record, LayerSpec):
        return [(name, fields[name]) for name in ("type", *record.params)]
    return list(fields.items())


# --------------------------------------------------------------------------- resolving paths


def _walk(config: object, path: str) -> tuple[tuple[_Step, ...], _Scalar, object]:
    """The steps of ``path`` in ``config``, the scalar field it ends on and the record holding it.

    Raises:
        ConfigError: naming ``path`` and what could be written instead.
    """
    text = path.strip()
    if not text:
        raise ConfigError("", f"the setting path is empty; {_EXAMPLE}")
    steps: list[_Step] = []
    node: object = config
    found: _Field | None = None
    parts = text.split(".")
    for depth, part in enumerate(parts):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ConfigError(text, f"is not a setting path; {_EXAMPLE}")
        if found is not None and found.scalar is not None:
            where = _format(steps)
            raise ConfigError(text, f"{where} is a single value with nothing inside it; set {where} itself")
        name, index = match.group(1), match.group(2)
        fields = _fields(type(node))
        if name not in fields:
            raise ConfigError(text, _unknown(node, steps, name, index, parts[depth + 1 :]))
        found = fields[name]
        holder = node
        value = getattr(node, name)
        here = _format([*steps, _Step(name, None)])
        if found.sequence:
            if index is None:
                raise ConfigError(text, f"{here} is a list; pick one by number, e.g. {here}[0].type")
            if int(index) >= len(value):
                last = f", {here}[0] to {here}[{len(value) - 1}]" if value else ""
                raise ConfigError(
                    text, f"there is no {here}[{int(index)}]: the run has {len(value)} {here}{last}"
                )
            node = value[int(index)]
        elif index is not None:
            raise ConfigError(text, f"{here} is not a list; write it without [{index}]")
        else:
            node = value
        steps.append(_Step(name, None if index is None else int(index)))
    assert found is not None  # the loop runs at least once
    if found.scalar is None:
        inside = ", ".join(_paths(node, _format(steps) + "."))
        raise ConfigError(text, f"is a group of settings, not one value; set one of: {inside}")
    return tuple(steps), found.scalar, holder


def _format(steps: Sequence[_Step]) -> str:
    return ".".join(s.name if s.index is None else f"{s.name}[{s.index}]" for s in steps)


def _unknown(
    record: object, steps: Sequence[_Step], name: str, index: str | None, rest: Sequence[str]
) -> str:
    """Why ``name`` is no field of ``record``: the nearest real names, and all of them."""
    names = {
        field_name: field_name + (f"[{index or 0}]" if field.sequence else "")
        for field_name, field in _shown_fields(record)
    }
    prefix = _format(steps)
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)
    guesses = [".".join(p for p in (prefix, names[match], *rest) if p) for match in close]
    hint = f"did you mean {' or '.join(guesses)}? " if guesses else ""
    scope = f"{prefix} has" if prefix else "the settings are"
    return f"no such setting; {hint}{scope}: {', '.join(names.values())}"


def _paths(node: object, prefix: str) -> list[str]:
    found: list[str] = []
    for name, field in _shown_fields(node):
        here = prefix + name
        value = getattr(node, name)
        if field.scalar is not None:
            found.append(here)
        elif field.sequence:
            for i, item in enumerate(value):
                found += _paths(item, f"{here}[{i}].")
        else:
            found += _paths(value, here + ".")
    return found


# --------------------------------------------------------------------------- public functions


def paths(config: Record) -> tuple[str, ...]:
    """Every editable scalar path of ``config``, in field order.

    Layer paths are listed only for the fields that apply to that layer's type
    (``layers[0].type`` for a Flatten, ``layers[1].units`` and so on for a Dense); the
    sections list all their fields, since an optimizer keeps, say, its momentum while
    another optimizer is chosen.
    """
    return tuple(_paths(config, ""))


def get(config: Record, path: str) -> Any:
    """The value at ``path``.

    Raises:
        ConfigError: when ``path`` names no scalar field of ``config``.
    """
    steps, _, _ = _walk(config, path)
    node: Any = config
    for step in steps:
        node = getattr(node, step.name)
        if step.index is not None:
            node = node[step.index]
    return node


def with_value(config: Record, path: str, value: object) -> Record:
    """A validated copy of ``config`` with the field at ``path`` set to ``value``.

    Raises:
        ConfigError: for an unknown path (listing near alternatives) or a value the
            configuration rejects (naming the path and what is allowed).
    """
    return with_values(config, {path: value})


def with_values(config: Record, changes: Mapping[str, object]) -> Record:
    """A validated copy of ``config`` with every ``path: value`` of ``changes`` applied at once.

    All or nothing: each changed record is rebuilt once with all of its changes, so
    fields that are only valid together (a split's three fractions, ``data.name`` "file"
    with its ``data.path``) can change together, and a rejected value leaves nothing half
    done.

    Raises:
        ConfigError: the first unknown path or rejected value, anchored at its full path.
    """
    tree: dict[tuple[str, int | None], Any] = {}
    for path, value in changes.items():
        steps, _, _ = _walk(config, path)
        branch = tree
        for step in steps[:-1]:
            branch = branch.setdefault((step.name, step.index), {})
        branch[(steps[-1].name, steps[-1].index)] = _Leaf(value)
    result: Record = _rebuild(config, tree, "")
    return result


def _rebuild(record: Any, tree: dict[tuple[str, int | None], Any], prefix: str) -> Any:
    kwargs: dict[str, Any] = {}
    for (name, index), change in tree.items():
        here = f"{prefix}.{name}" if prefix else name
        current = getattr(record, name)
        if index is not None:
            items = list(kwargs.get(name, current))
            items[index] = _rebuild(items[index], change, f"{here}[{index}]")
            kwargs[name] = tuple(items)
        elif isinstance(change, _Leaf):
            kwargs[name] = change.value
        else:
            kwargs[name] = _rebuild(current, change, here)
    try:
        return dataclasses.replace(record, **kwargs)
    except ConfigError as exc:
        raise _reanchored(exc, record, prefix) from None


def _reanchored(exc: ConfigError, record: object, prefix: str) -> ConfigError:
    """``exc`` with its field path starting at ``prefix`` rather than the record's own anchor.

    Each spec validates under a fixed anchor ("layer", "optimizer", ...); the sections'
    anchors equal their field names in a RunConfig, a layer's does not.
    """
    anchor = "layer" if isinstance(record, LayerSpec) else prefix.rsplit(".", 1)[-1]
    if not anchor or not (exc.field == anchor or exc.field.startswith(anchor + ".")):
        return exc
    rest = exc.field[len(anchor) :]
    return ConfigError(prefix + rest if prefix else rest.lstrip("."), exc.reason)


def parse(config: Record, path: str, text: str) -> Any:
    """``text`` (as typed on a command line) turned into the type of the field at ``path``.

    Whole numbers for int fields, any number for float fields, ``true/false``,
    ``yes/no`` or ``1/0`` for bool fields, the text itself for str fields, ``none`` or
    ``null`` for fields that may be absent, and the words a field allows besides its type
    (``full`` for ``batch_size``). Whether the value is in range is for
    :func:`with_value` to say.

    Raises:
        ConfigError: for an unknown path, or text that is not of the field's type.
    """
    steps, scalar, _ = _walk(config, path)
    where = _format(steps)
    word = text.strip()
    low = word.lower()
    if scalar.optional and low in NONE_WORDS:
        return None
    if low in scalar.words:
        return low
    alternatives = "".join(f" or {w!r}" for w in scalar.words) + (" or 'none'" if scalar.optional else "")
    if scalar.kind is bool:
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        raise ConfigError(where, f"must be true or false (or yes/no, 1/0){alternatives}, got {shorten(text)}")
    if scalar.kind is int:
        try:
            return int(word)
        except ValueError:
            raise ConfigError(where, f"must be a whole number{alternatives}, got {shorten(text)}") from None
    if scalar.kind is float:
        try:
            return float(word)
        except ValueError:
            raise ConfigError(
                where, f"must be a number such as 0.01 or 1e-3{alternatives}, got {shorten(text)}"
            ) from None
    return word


def apply_assignments(config: RunConfig, assignments: Sequence[str]) -> RunConfig:
    """``config`` with every ``PATH=VALUE`` text applied together (the CLI's ``--set``).

    The values are parsed against ``config`` and applied at once, so their order does not
    matter (``layers[1].type=Dropout`` and ``layers[1].rate=0.3`` work either way round).
    A setting that exists but does not apply to its layer's type is refused rather than
    silently ignored.

    Raises:
        ConfigError: naming the first bad path or value and what is allowed.
    """
    changes: dict[str, object] = {}
    for item in assignments:
        path, equals, text = item.partition("=")
        if not equals:
            raise ConfigError(path.strip(), "expected PATH=VALUE, e.g. optimizer.learning_rate=0.01")
        changes[path.strip()] = parse(config, path, text)
    result = with_values(config, changes)
    for path in changes:
        steps, _, holder = _walk(result, path)
        if not _applies(holder, steps[-1].name):
            assert isinstance(holder, LayerSpec)
            layer = _format(steps[:-1])
            raise ConfigError(
                path,
                f"a {holder.type} layer has no {steps[-1].name}; {layer} has: {', '.join(_paths(holder, ''))}",
            )
    return result
