"""Fixtures for the GUI tests: isolated settings, Qt warnings fail.

Every test here runs offscreen (set in ``tests/conftest.py``). ``QSettings`` is pointed at
a temporary folder for the whole session, so no test can read or write the user's real
settings, and each window test gets its own settings file on top of that; the
handwriting set is a temporary folder too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QtMsgType

from gui import tf_loader

# Qt messages that say something about the test platform, not about the app: the
# offscreen plugin says these whenever a top-level window is shown or raised (a tooltip).
PLATFORM_NOISE = ("This plugin does not support propagateSizeHints()", "This plugin does not support raise()")


@pytest.fixture(scope="session", autouse=True)
def isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Redirect every QSettings location to a temporary folder for the whole session."""
    folder = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder))
    yield folder
    # A daemon thread still importing TensorFlow can crash the interpreter's shutdown.
    tf_loader.wait(60.0)


@pytest.fixture(autouse=True)
def isolated_handwriting(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the window's default handwriting set at a folder of this test's own."""
    folder = tmp_path_factory.mktemp("handwriting") / "handwriting"
    monkeypatch.setattr("gui.files.default_handwriting_dir", lambda: folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """A settings file of this test's own."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(autouse=True)
def fail_on_qt_warnings(qtlog) -> Iterator[None]:
    """Fail a test during which Qt logged a warning (or worse), teardown included."""
    yield
    bad = [
        f"{rec.type_name}: {rec.message}"
        for rec in qtlog.records
        if rec.type in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        and not rec.ignored
        and rec.message not in PLATFORM_NOISE
    ]
    assert not bad, "Qt warnings during the test:\n" + "\n".join(bad)


@pytest.fixture(scope="session")
def tensorflow_loaded() -> None:
    """Import the training core (and TensorFlow) once, before the tests that train."""
    tf_loader.start_background_import()
    if not tf_loader.wait(120.0) or tf_loader.error():
        pytest.fail(f"TensorFlow did not load: {tf_loader.error()}")
