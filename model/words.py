"""Counted nouns, written once: ``1 epoch``, ``2 epochs``, ``1 batch``, ``1,000 batches``.

Every message that puts a number before a noun goes through :func:`count` (or
:func:`noun`, for the noun alone), so none of them says "1 epochs". English plurals of
the nouns this app counts are regular except for the few in :data:`IRREGULAR`.
"""

from __future__ import annotations

from typing import Final

IRREGULAR: Final = {
    "batch": "batches",
    "class": "classes",
    "index": "indices",
}
"""Plurals that are not the noun plus ``s``."""


def plural(word: str) -> str:
    """The plural of ``word`` (``batch`` -> ``batches``, ``epoch`` -> ``epochs``)."""
    return IRREGULAR.get(word, f"{word}s")


def noun(n: float, singular: str, plural_form: str | None = None) -> str:
    """``singular`` for exactly one, else its plural (``plural_form`` when given)."""
    return singular if n == 1 else (plural_form or plural(singular))


def count(n: float, singular: str, plural_form: str | None = None) -> str:
    """``n`` and its noun: ``1 epoch``, ``0 epochs``, ``12,000 samples``."""
    number = f"{int(n):,}" if float(n).is_integer() else f"{n:,g}"
    return f"{number} {noun(n, singular, plural_form)}"
