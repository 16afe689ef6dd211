"""The training settings panel, one small class per section, bound to the config by path.

- :mod:`gui.settings.panel`: :class:`TrainingSettings`, the panel's public face.
- :mod:`gui.settings.sections`, :mod:`gui.settings.data_sections`: the sections, each
  declaring its widgets once (path, label, widget, conditions).
- :mod:`gui.settings.controls`: the widget factories they use; the words for each choice
  come from :mod:`model.catalogue`.

``python -m gui.settings`` shows the panel on its own.
"""

from gui.settings.panel import TrainingSettings, main

__all__ = ["TrainingSettings", "main"]
