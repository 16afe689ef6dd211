"""``python -m gui.settings``: the settings panel on its own."""

import sys

from gui.settings.panel import main

sys.exit(main())
