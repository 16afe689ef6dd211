"""The training settings panel, kept importable under its old name.

The panel now lives in :mod:`gui.settings` (one class per section, bound to the config by
path through :mod:`gui.binding`); this module re-exports what other modules and tests
import from here. ``python -m gui.settings_panel`` still shows the panel on its own.
"""

from __future__ import annotations

import sys

from gui.settings.panel import TrainingSettings, main
from gui.settings.sections import FULL, MINI, STOCHASTIC
from model.catalogue import DATASET_TEXT, LOSS_TEXT, MODE_LABELS, MONITOR_TEXT, OPTIMIZER_TEXT, SCHEDULE_TEXT

__all__ = [
    "DATASET_TEXT",
    "FULL",
    "LOSS_TEXT",
    "MINI",
    "MODE_LABELS",
    "MONITOR_TEXT",
    "OPTIMIZER_TEXT",
    "SCHEDULE_TEXT",
    "STOCHASTIC",
    "TrainingSettings",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
