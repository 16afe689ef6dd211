"""Check that Qt can open a window on this Linux desktop, before the app tries to.

``python -m gui.qtcheck`` (run by ``make run``) exits 0 at once unless it is on Linux with
an X display (``DISPLAY`` set, ``QT_QPA_PLATFORM`` not ``offscreen``/``minimal``). Then it
starts a throw-away process that creates a ``QGuiApplication`` on Qt's ``xcb`` platform
plugin. If that fails, which on a fresh Ubuntu or Debian is nearly always a missing
system library, it names the missing libraries (found with ``ldd`` on the plugin, plus
the ones Qt loads at run time) and prints the ``apt-get`` command, exiting 1. Without
this, Qt's own message ("Could not load the Qt platform plugin xcb") names no library.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

# The system libraries Qt's xcb platform needs, by the file ldd reports -> Debian package.
XCB_LIBRARIES: Final[dict[str, str]] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
# Qt 6.5+ dlopen()s libxcb-cursor at run time, so ldd cannot see it missing.
RUNTIME_LIBRARIES: Final = {"xcb-cursor": "libxcb-cursor.so.0"}
# What to install when the failure cannot be pinned on particular libraries.
RECOMMENDED_PACKAGES: Final = (
    "libxcb-cursor0",
    "libxkbcommon-x11-0",
    "libxcb-icccm4",
    "libxcb-keysyms1",
    "libxcb-shape0",
    "libegl1",
    "libgl1",
    "libfontconfig1",
)
PROBE_TIMEOUT_S: Final = 20.0
PROBE = "import sys; from PySide6.QtGui import QGuiApplication; QGuiApplication([sys.argv[0], '-platform', 'xcb'])"


def needs_check(
    environ: dict[str, str] | os._Environ[str] = os.environ, platform: str = sys.platform
) -> bool:
    """Whether the app will use the xcb plugin here (Linux, a display, no offscreen)."""
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    qpa = environ.get("QT_QPA_PLATFORM", "")
    return not qpa.startswith(("offscreen", "minimal", "vnc", "wayland", "eglfs", "linuxfb"))


def qt_plugin_files() -> list[Path]:
    """The xcb platform plugin and Qt's xcb integration library, where they exist."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))]
    return [f for f in files if f.is_file()]


def missing_libraries(files: list[Path]) -> list[str]:
    """Shared libraries that ``ldd`` reports as ``not found`` for ``files``, plus runtime ones."""
    missing: set[str] = set()
    ldd = shutil.which("ldd")
    for file in files:
        if ldd is None:
            break
        try:
            out = subprocess.run([ldd, str(file)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        missing.update(re.findall(r"^\s*(\S+)\s+=>\s+not found", out, flags=re.MULTILINE))
    for name, soname in RUNTIME_LIBRARIES.items():
        if ctypes.util.find_library(name) is None:
            missing.add(soname)
    return sorted(missing)


def probe_xcb() -> tuple[bool, str]:
    """Create a ``QGuiApplication`` on xcb in a child process: ``(ok, its error output)``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    try:
        result = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        return False, f"starting Qt on the X display took more than {PROBE_TIMEOUT_S:.0f} s"
    except OSError as exc:
        return False, str(exc)
    return result.returncode == 0, result.stderr.strip()


def advice(missing: list[str], qt_output: str, display: str = "") -> str:
    """The message for a person: what is missing and the command that installs it."""
    if not missing and "could not connect to display" in qt_output:
        return (
            f"Gradient Lab cannot open a window: there is no X display at DISPLAY={display!r}.\n"
            "Run it from a desktop session, set DISPLAY to a running X server, or use "
            "xvfb-run for a virtual one."
        )
    packages = sorted({XCB_LIBRARIES.get(lib, lib) for lib in missing if lib in XCB_LIBRARIES})
    lines = ["Gradient Lab cannot open a window: Qt's xcb platform plugin does not load on this display."]
    if missing:
        lines.append("Missing system libraries: " + ", ".join(missing))
    if not packages:
        packages = list(RECOMMENDED_PACKAGES)
        lines.append("Qt needs these system libraries: " + ", ".join(packages))
    lines.append("Install them (Debian/Ubuntu) with:")
    lines.append(f"    sudo apt-get install -y {' '.join(packages)}")
    if qt_output:
        tail = "\n".join(qt_output.splitlines()[-6:])
        lines.append("Qt said:\n" + "\n".join(f"    {line}" for line in tail.splitlines()))
    return "\n".join(lines)


def main() -> int:
    if not needs_check():
        return 0
    ok, output = probe_xcb()
    if ok:
        return 0
    print(
        advice(missing_libraries(qt_plugin_files()), output, os.environ.get("DISPLAY", "")), file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
