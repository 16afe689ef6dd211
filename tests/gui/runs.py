"""Small run configurations shared by the GUI tests (offline digits, seconds to train)."""

from __future__ import annotations

from model.config import DataSpec, LayerSpec, RunConfig

DIGITS_MLP = RunConfig(
    name="tiny digits MLP",
    layers=(
        LayerSpec("Flatten"),
        LayerSpec("Dense", units=16),
        LayerSpec("Dense", units=10, activation="softmax"),
    ),
    epochs=1,
    batch_size=32,
    data=DataSpec(name="digits", limit=300),
)
