"""The display texts of every choice a run offers, in one place.

A configuration names its choices by value (``mnist``, ``adam``, ``Conv2D``: the tuples in
:mod:`model.config`); people read them through the texts here. The window's status bar,
the settings panel, the layer designer, the data sources' descriptions and the command
line all take their words from this module, so a dataset is called the same everywhere.
A test checks that every value in :mod:`model.config`'s choice tuples has its text.

Pure data: no imports beyond :mod:`model.config` and the standard library, so any part of
the program, Qt or not, can import it for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from model.config import DataSpec


@dataclass(frozen=True)
class Choice:
    """How one choice is shown.

    Attributes:
        title: The short name, for the status bar, the command line and a dataset's
            source, e.g. ``MNIST``.
        label: The item text of a drop-down list, e.g. ``MNIST digits``.
        about: One sentence on what it is, for a tooltip.
    """

    title: str
    label: str
    about: str


DATASET_CHOICES: Final[dict[str, Choice]] = {
    "mnist": Choice("MNIST", "MNIST digits", "70,000 handwritten digits, 28x28 grey images."),
    "fashion_mnist": Choice(
        "Fashion-MNIST", "Fashion-MNIST", "70,000 pictures of clothing in 10 classes, 28x28 grey images."
    ),
    "digits": Choice(
        "Digits",
        "Digits 8x8 (offline)",
        "scikit-learn's 1,797 small digits, scaled to 28x28; always available.",
    ),
    "file": Choice(
        "File", "File or folder...", "Your own data: a Keras-style .npz, a CSV, IDX files or class folders."
    ),
}
"""Every dataset of ``model.config.DATASETS``, by name (a different name from that tuple,
so a module can import both)."""

DATASET_TEXT: Final[dict[str, tuple[str, str]]] = {
    name: (choice.label, choice.about) for name, choice in DATASET_CHOICES.items()
}
"""``(label, about)`` per dataset, the shape of the other tables here (for drop-down lists)."""

LOSS_TEXT: Final[dict[str, tuple[str, str]]] = {
    "crossentropy": (
        "Cross-entropy",
        "Cross-entropy: minus the log of the probability given to the right class; the standard "
        "choice for softmax outputs.",
    ),
    "mse": (
        "Mean squared error",
        "Mean squared error between the outputs and the one-hot target; usually learns slower on "
        "classification, which is instructive to compare.",
    ),
    "hinge": (
        "Hinge",
        "Hinge (as in support vector machines): penalizes the right class unless it beats the "
        "others by a margin.",
    ),
}

OPTIMIZER_TEXT: Final[dict[str, tuple[str, str]]] = {
    "sgd": ("SGD", "Plain gradient descent: step against the gradient, optionally with momentum."),
    "adam": ("Adam", "Adam: per-weight step sizes from running averages of the gradient and its square."),
    "adamw": ("AdamW", "AdamW: Adam with weight decay applied directly to the weights (decoupled)."),
    "nadam": ("Nadam", "Nadam: Adam with Nesterov momentum."),
    "adamax": (
        "Adamax",
        "Adamax: Adam that divides by a slowly fading maximum of past gradient sizes instead of "
        "their average square; steady when a few gradients are huge.",
    ),
    "rmsprop": ("RMSprop", "RMSprop: divides each step by a running average of recent gradient sizes."),
    "adagrad": ("Adagrad", "Adagrad: step sizes shrink for weights that have already seen large gradients."),
}

SCHEDULE_TEXT: Final[dict[str, tuple[str, str]]] = {
    "constant": ("Constant", "The learning rate stays the same for the whole run."),
    "step": ("Step decay", "The learning rate is multiplied by the factor every few epochs."),
    "exponential": ("Exponential decay", "The learning rate is multiplied by the factor after every epoch."),
    "cosine": ("Cosine", "The learning rate follows half a cosine from its start down to the minimum."),
    "plateau": (
        "Reduce on plateau",
        "The learning rate is multiplied by the factor when validation loss stalls (improves by less "
        "than the minimum change) for 'patience' epochs.",
    ),
}

INITIALIZER_TITLES: Final[dict[str, str]] = {
    "glorot_uniform": "Glorot uniform",
    "glorot_normal": "Glorot normal",
    "he_uniform": "He uniform",
    "he_normal": "He normal",
    "lecun_uniform": "LeCun uniform",
    "lecun_normal": "LeCun normal",
    "random_normal": "random normal (std 0.05)",
    "random_uniform": "random uniform (±0.05)",
    "orthogonal": "orthogonal",
    "zeros": "zeros",
}
"""How each weight initializer is named for people (the initialization preview's rows)."""

MONITOR_TEXT: Final[dict[str, str]] = {
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "loss": "training loss",
    "accuracy": "training accuracy",
}

MODE_LABELS: Final[dict[str, str]] = {
    "full": "Full batch (batch gradient descent)",
    "mini": "Mini-batch",
    "stochastic": "Stochastic (batch size 1)",
}
"""The gradient-descent modes a batch size stands for (``full``, ``mini``, ``stochastic``)."""

# One sentence per layer type: shown under the type in the editor and as item tooltips.
LAYER_ABOUT: Final[dict[str, str]] = {
    "Dense": "Fully connected: every output is a weighted sum of all inputs plus a bias.",
    "Conv2D": "Slides small learned filters over the image; each filter makes one feature map.",
    "MaxPooling2D": "Keeps the largest value of each window, shrinking the image.",
    "AveragePooling2D": "Averages each window, shrinking the image.",
    "GlobalAveragePooling2D": "Averages each feature map to a single number: (h, w, c) becomes (c).",
    "Flatten": "Unrolls an image (h, w, c) into one long vector so Dense layers can read it.",
    "Dropout": "While training, zeroes a random fraction of its inputs to fight overfitting.",
    "BatchNormalization": "Normalizes each channel over the batch, which steadies and speeds up training.",
}


def data_title(spec: DataSpec, *, fell_back: bool = False) -> str:
    """A short name for the status bar, e.g. ``MNIST`` or ``MNIST (mnist.npz)``.

    With ``fell_back`` (the offline digits were used because the dataset is not on this
    computer and could not be downloaded) it says what is really used:
    ``Digits (offline fallback for MNIST)``.
    """
    choice = DATASET_CHOICES.get(spec.name)
    title = choice.title if choice is not None else spec.name
    if fell_back:
        return f"{DATASET_CHOICES['digits'].title} (offline fallback for {title})"
    if spec.path:
        name = Path(spec.path).name
        return name if spec.name == "file" else f"{title} ({name})"
    return title
