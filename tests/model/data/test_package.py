"""model.data as a package: its public names, and an import that stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import model.data

ROOT = Path(__file__).resolve().parents[3]


def test_every_public_name_is_importable_from_the_package() -> None:
    missing = [name for name in model.data.__all__ if not hasattr(model.data, name)]
    assert not missing
    assert {"prepare", "Prepared", "summarize", "DataSummary", "test_images", "TestImages"} <= set(
        model.data.__all__
    )


def test_importing_the_package_loads_no_heavy_library() -> None:
    """The GUI imports model.data before TensorFlow has loaded (gui.tf_loader does it first)."""
    code = (
        "import sys, model.data, model.catalogue; "
        "heavy = ('tensorflow', 'keras', 'sklearn', 'PIL', 'scipy', 'PySide6'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_no_module_of_the_package_is_over_400_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in Path(model.data.__file__).parent.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes
