"""Gradient Lab: design, train and try out neural networks with Keras.

``python main.py`` opens the window; ``python main.py train|evaluate|predict ...`` runs
headless (``python main.py --help``).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        from model.cli import main as cli_main

        return cli_main(args)
    from gui.app import run_app

    return run_app(sys.argv[:1])


if __name__ == "__main__":
    sys.exit(main())
