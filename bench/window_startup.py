"""Benchmark: wall time from process start to the main window being shown.

Each round starts a fresh Python process (``--child``) that does what ``main.py`` does:
create the application and the window, show it and start loading TensorFlow in the
background. The child reports when the window is first exposed (drawn on screen) and
when TensorFlow has loaded and Train is enabled; the parent times both from just before
it started the child, so interpreter start-up and every import are included.

Target: the window is shown within 1.5 s (median), long before TensorFlow has loaded.

While TensorFlow loads, the window is there to be used, so the child also times its
event loop (a 1 ms timer) from the window's first exposure until Train is enabled: the
longest gap between two ticks, and how many gaps exceeded 50 ms.

    QT_QPA_PLATFORM=offscreen python bench/window_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5


def child() -> int:
    """Open the window as the app does and print when it was shown and when Train was ready."""
    sys.path.insert(0, str(ROOT))
    import tempfile

    from PySide6.QtCore import QSettings, QTimer

    from gui import tf_loader
    from gui.app import create_app, show_window

    app = create_app(sys.argv[:1])
    marks: dict[str, float] = {}
    gaps = {"last": 0.0, "worst": 0.0, "over_50ms": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        # A fresh settings file: the benchmark must not read or change the user's settings.
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = show_window(settings)

        def poll() -> None:
            now = time.perf_counter()
            if "shown" in marks:
                gap = now - gaps["last"]
                gaps["worst"] = max(gaps["worst"], gap)
                gaps["over_50ms"] += gap > 0.05
            gaps["last"] = now
            handle = window.windowHandle()
            if "shown" not in marks and handle is not None and handle.isExposed():
                marks["shown"] = time.time()
            if window.actions["run.train"].isEnabled():
                marks["train_enabled"] = time.time()
                window.close()
                app.quit()

        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(1)
        app.exec()
        tf_loader.wait(60.0)
    marks["worst_gap"], marks["gaps_over_50ms"] = gaps["worst"], gaps["over_50ms"]
    print(json.dumps(marks))
    return 0


def parent(rounds: int) -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    shown: list[float] = []
    ready: list[float] = []
    worst: list[float] = []
    stalls: list[float] = []
    for _ in range(rounds):
        start = time.time()
        out = subprocess.run(
            [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, check=True
        ).stdout
        marks = json.loads(out.strip().splitlines()[-1])
        shown.append(marks["shown"] - start)
        ready.append(marks["train_enabled"] - start)
        worst.append(marks["worst_gap"] * 1000.0)
        stalls.append(marks["gaps_over_50ms"])
    median = statistics.median(shown)
    print(f"platform: {env['QT_QPA_PLATFORM']}, {rounds} rounds")
    print(
        f"window shown:       median {median:.2f} s  (min {min(shown):.2f}, max {max(shown):.2f})  "
        f"target < {TARGET_S} s: {'met' if median < TARGET_S else 'NOT met'}"
    )
    print(
        f"TensorFlow loaded:  median {statistics.median(ready):.2f} s  "
        f"(min {min(ready):.2f}, max {max(ready):.2f})  (Train enabled)"
    )
    print(
        f"meanwhile, the event loop's longest gap: median {statistics.median(worst):.0f} ms "
        f"(rounds {', '.join(f'{w:.0f}' for w in worst)}); gaps over 50 ms per round: "
        f"{', '.join(f'{n:.0f}' for n in stalls)}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    return child() if args.child else parent(args.rounds)


if __name__ == "__main__":
    sys.exit(main())
