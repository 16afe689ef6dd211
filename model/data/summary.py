"""What the window shows about a run's data before (or without) training it.

Two questions the GUI asks in a background task, answered here without Qt:
:func:`summarize` counts the configured split (for the settings panel and the status
bar), and :func:`test_images` reloads a saved run's test split (for the confusion view).
Both go through :func:`~model.data.prepare` without downloading: a look at the settings
must never start a download, and when MNIST or Fashion-MNIST is not on this computer yet
the offline digits' counts would mislead, so :func:`summarize` says "not downloaded yet"
and :func:`test_images` returns ``None``.

Like everything in :mod:`model.data`, the only exception they raise for bad data is
:class:`~model.errors.DataError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from model.catalogue import DATASET_CHOICES
from model.config import DataSpec, RunConfig, SplitSpec
from model.data.prepare import prepare


@dataclass(frozen=True)
class DataSummary:
    """What the counts task found out about the configured dataset.

    Attributes:
        description: :meth:`Split.describe`, or why there are no counts yet
            (``not downloaded yet``).
        source: Where the data comes from, for a tooltip (the dataset's title when it is
            not on this computer).
        counts_text: Several lines for the settings panel: the sizes, the class balance
            of the training part, and the split's notice.
        notice: The dataset's and the split's notices, joined (see
            :attr:`~model.data.Prepared.notice`); ``None`` when there are none.
        input_shape: The shape of one sample, for the designer's checks.
        num_classes: How many classes, for the designer's checks.
        n_train: Samples in the training part (``None`` when not counted), for the
            settings panel's batches-per-epoch text.
    """

    description: str
    source: str
    counts_text: str
    notice: str | None
    input_shape: tuple[int, ...]
    num_classes: int
    n_train: int | None


def summarize(spec: DataSpec, split: SplitSpec, seed: int) -> DataSummary:
    """Load and split the dataset to count it, without downloading (takes a second).

    Args:
        spec: The configured dataset.
        split: The configured split.
        seed: The run's seed.

    Raises:
        DataError: the data cannot be read or split; the message says why.
    """
    prepared = prepare(RunConfig(data=spec, split=split, seed=seed), allow_download=False)
    if prepared.fell_back:
        # Not on this computer yet: training will download it; the fallback's counts would mislead.
        title = DATASET_CHOICES[spec.name].title
        return DataSummary(
            "not downloaded yet",
            title,
            f"{title} is not on this computer yet; it is downloaded when training starts.",
            None,
            prepared.input_shape,
            len(prepared.class_names),
            None,
        )
    parts = prepared.split
    counts = parts.counts()
    lines = [prepared.description]
    train = counts["train"]
    if len(train):
        low, high = int(np.argmin(train)), int(np.argmax(train))
        lines.append(
            f"per class in train: {train.min():,} ({parts.class_names[low]}) to "
            f"{train.max():,} ({parts.class_names[high]})"
        )
    if parts.notice:
        lines.append(parts.notice)
    return DataSummary(
        prepared.description,
        prepared.source,
        "\n".join(lines),
        prepared.notice,
        prepared.input_shape,
        len(prepared.class_names),
        len(parts.y_train),
    )


@dataclass(frozen=True)
class TestImages:
    """A saved run's test split, reloaded so the confusion view can show its images."""

    # Named like a test class; pytest must not try to collect it where it is imported.
    __test__: ClassVar[bool] = False

    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]
    class_names: tuple[str, ...]


def test_images(config: RunConfig) -> TestImages | None:
    """The test split of ``config``'s data, or ``None`` if the data is not on this computer.

    Never downloads. Raises :class:`~model.errors.DataError` when the data cannot be read
    or split.
    """
    prepared = prepare(config, allow_download=False)
    if prepared.fell_back:
        return None
    parts = prepared.split
    return TestImages(parts.x_test, parts.y_test, tuple(parts.class_names))


# Named like a test function; pytest must not try to collect it where it is imported.
test_images.__test__ = False  # type: ignore[attr-defined]
