"""model.catalogue: every choice has its display text, and the catalogue is pure data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model import catalogue, config
from model.config import DataSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("choices", "table"),
    [
        (config.DATASETS, catalogue.DATASET_CHOICES),
        (config.DATASETS, catalogue.DATASET_TEXT),
        (config.LOSSES, catalogue.LOSS_TEXT),
        (config.OPTIMIZERS, catalogue.OPTIMIZER_TEXT),
        (config.SCHEDULES, catalogue.SCHEDULE_TEXT),
        (config.MONITORS, catalogue.MONITOR_TEXT),
        (config.LAYER_TYPES, catalogue.LAYER_ABOUT),
    ],
)
def test_every_choice_has_exactly_one_entry(choices: tuple[str, ...], table: dict[str, object]) -> None:
    assert set(table) == set(choices)


def test_every_text_is_filled_in() -> None:
    pairs = [*catalogue.LOSS_TEXT.values(), *catalogue.OPTIMIZER_TEXT.values(), *catalogue.SCHEDULE_TEXT.values()]
    texts = [text for pair in pairs for text in pair]
    texts += [*catalogue.MONITOR_TEXT.values(), *catalogue.MODE_LABELS.values(), *catalogue.LAYER_ABOUT.values()]
    texts += [t for c in catalogue.DATASET_CHOICES.values() for t in (c.title, c.label, c.about)]
    assert all(isinstance(text, str) and text.strip() for text in texts)


def test_mode_labels_name_the_three_gradient_descent_modes() -> None:
    assert list(catalogue.MODE_LABELS) == ["full", "mini", "stochastic"]


def test_dataset_text_is_the_label_and_about_of_each_choice() -> None:
    assert catalogue.DATASET_TEXT["mnist"] == ("MNIST digits", "70,000 handwritten digits, 28x28 grey images.")
    assert catalogue.DATASET_CHOICES["fashion_mnist"].title == "Fashion-MNIST"


@pytest.mark.parametrize(
    ("spec", "title"),
    [
        (DataSpec(), "MNIST"),
        (DataSpec(name="fashion_mnist"), "Fashion-MNIST"),
        (DataSpec(name="digits"), "Digits"),
        (DataSpec(name="mnist", path="/data/mnist.npz"), "MNIST (mnist.npz)"),
        (DataSpec(name="file", path="/data/my digits.csv"), "my digits.csv"),
    ],
)
def test_data_title(spec: DataSpec, title: str) -> None:
    assert catalogue.data_title(spec) == title


def test_the_catalogue_imports_nothing_but_the_config() -> None:
    code = (
        "import sys; before = set(sys.modules); import model.catalogue; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "assert new <= {'model'} | set(sys.stdlib_module_names), new; "
        "assert {m for m in sys.modules if m.startswith('model.')} <= {'model.catalogue', 'model.config', 'model.errors'}"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_data_title_names_the_offline_fallback_in_use() -> None:
    from model.catalogue import data_title
    from model.config import DataSpec

    assert data_title(DataSpec("mnist")) == "MNIST"
    assert data_title(DataSpec("mnist"), fell_back=True) == "Digits (offline fallback for MNIST)"
    assert data_title(DataSpec("fashion_mnist"), fell_back=True) == "Digits (offline fallback for Fashion-MNIST)"
