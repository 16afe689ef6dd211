"""Comparisons and sweeps: train several configurations that differ in one or two settings.

Qt-free, and neither Ray nor TensorFlow is imported until a comparison runs.

- :mod:`.spec`: :class:`Experiment` (a base configuration, the varied settings by config
  path, whole-config variants) and the :class:`Trial` s it expands to, validated before
  anything starts; :func:`parse_vary` for ``--vary PATH=V1,V2``.
- :mod:`.builtin`: the built-in experiments (batch vs mini-batch vs stochastic, learning
  rates, optimizers, initialization, overfitting, sigmoid vs ReLU in depth).
- :mod:`.table`: the results table (:class:`TrialSummary` per trial, ``results.csv``) and
  the definitions of its figures (vanishing and exploding gradients included).
- :mod:`.engine`: :func:`start_comparison` -> :class:`Comparison` (``stop``, ``stop_all``,
  ``results``, ``state``, ``wait``, ``close``), on Ray Tune (:mod:`.ray_driver`,
  :mod:`.trainable`, :mod:`.hub`) or in this process (:mod:`.local`); the listener protocol
  lives in :mod:`.link`, the live and saved record of a comparison in :mod:`.recorder`.
- :mod:`.store`: the comparison folder's format and :func:`load_comparison`;
  :mod:`.plot`: its PNG plot; :mod:`.command`: the ``sweep`` command line.

Layering inside the package, bottom to top: spec < table < recorder, stream, hub,
trialdata < store < plot, link < local < trainable < ray_driver < engine < command.
"""

from model.experiments.builtin import BuiltinExperiment, builtin, builtin_experiments
from model.experiments.engine import (
    CLUSTER_NOTICE,
    Comparison,
    DispatchingListener,
    ray_available,
    resolve_address,
    start_comparison,
)
from model.experiments.link import ComparisonListener, NullComparisonListener
from model.experiments.recorder import BatchCurves, ComparisonState, TrialRecord, TrialRun, TrialUpdate
from model.experiments.spec import Experiment, Trial, Variant, Variation, experiment_from_vary, parse_vary
from model.experiments.store import load_comparison
from model.experiments.table import EXPLODING_NORM, VANISHING_RATIO, ResultsTable, TrialState, TrialSummary

__all__ = [
    "CLUSTER_NOTICE",
    "EXPLODING_NORM",
    "VANISHING_RATIO",
    "BatchCurves",
    "BuiltinExperiment",
    "Comparison",
    "ComparisonListener",
    "ComparisonState",
    "DispatchingListener",
    "Experiment",
    "NullComparisonListener",
    "ResultsTable",
    "Trial",
    "TrialRecord",
    "TrialRun",
    "TrialState",
    "TrialSummary",
    "TrialUpdate",
    "Variant",
    "Variation",
    "builtin",
    "builtin_experiments",
    "experiment_from_vary",
    "load_comparison",
    "parse_vary",
    "ray_available",
    "resolve_address",
    "start_comparison",
]
