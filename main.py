"""Gradient Lab: design, train and try out neural networks with Keras.

``python main.py`` opens the window; ``python main.py train|evaluate|predict ...`` runs
headless (``python main.py --help``). ``--verbose`` anywhere shows TensorFlow's own log
messages, which are otherwise kept out of the terminal.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # First of all, before anything can import TensorFlow (here or in a child process):
    # its log level is read once, at import.
    from model import quiet

    quiet.configure("--verbose" in args)
    if [a for a in args if a != "--verbose"]:
        from model.cli import main as cli_main

        return cli_main(args)
    from gui.app import run_app

    return run_app(sys.argv[:1])


if __name__ == "__main__":
    sys.exit(main())
