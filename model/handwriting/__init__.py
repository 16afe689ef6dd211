"""The user's own handwriting: a labelled set, how well a model reads it, and teaching it.

- :mod:`.store`: :class:`HandwritingSet`, the folder of class folders (the layout
  ``model.data`` reads) with a sidecar per drawing; add, count, load, export, clear, all
  safe against a hostile folder; :func:`read_record` reads a sidecar back.
- :mod:`.score`: :class:`Score` ("17 of 20"), counted from a model's answers.
- :mod:`.coach`: :class:`HandwritingCoach`, what the Draw tab's "your handwriting" box
  drives: scores off the session's thread, and Teach it (a fine-tuning run through the
  session) with its before/after figures.

Qt-free. This package sits above :mod:`model.session` (the coach drives a session); only
the coach imports it.
"""

from __future__ import annotations

from .coach import DEFAULT_EPOCHS, MAX_EPOCHS, CoachState, HandwritingCoach, TeachingReport, teach_config
from .score import Score, ScoringBatch, score_answers, scoring_batch
from .store import Cleared, Drawing, HandwritingSet, LoadedSet, Record, Stroke, read_record

__all__ = [
    "DEFAULT_EPOCHS",
    "MAX_EPOCHS",
    "Cleared",
    "CoachState",
    "Drawing",
    "HandwritingCoach",
    "HandwritingSet",
    "LoadedSet",
    "Record",
    "Score",
    "ScoringBatch",
    "Stroke",
    "TeachingReport",
    "read_record",
    "score_answers",
    "scoring_batch",
    "teach_config",
]
