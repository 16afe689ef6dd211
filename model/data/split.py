"""Splitting: divide a pooled :class:`Dataset` into training, validation and test parts.

Splitting is a separate, seeded step after loading, so that the split fractions in the
run configuration mean the same thing for every source: the same dataset, split and
seed always give the same parts. Parts are stratified when asked and possible; where
they cannot be (a class with a single sample, a part smaller than the number of classes)
they are drawn at random and :attr:`Split.notice` says so. A source's own test set
(MNIST's 10,000 test digits) can be kept as the test part (``SplitSpec.official_test``).

The input is a validated :class:`Dataset`; the only untrusted values are the fractions
and the ``limit``, and a split that cannot leave a training sample raises
:class:`~model.errors.DataError` that says how to fix it. scikit-learn is imported on
first use, not at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from model.config import SplitSpec
from model.data._common import Dataset
from model.errors import DataError
from model.words import count


@dataclass(frozen=True, eq=False)
class Split:
    """A dataset divided into training, validation and test parts.

    Empty parts (a validation or test fraction of 0) are arrays with zero rows and the
    right trailing shape, so code can always index and ``len()`` them.

    Attributes:
        notice: Set when a part could not be stratified (too few samples of some class)
            and was drawn at random instead; ``None`` otherwise.
    """

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]
    class_names: tuple[str, ...]
    notice: str | None = None

    def counts(self) -> dict[str, NDArray[np.int64]]:
        """Samples per class in each part, keyed ``train``, ``validation``, ``test``."""
        k = len(self.class_names)
        parts = {"train": self.y_train, "validation": self.y_val, "test": self.y_test}
        return {name: np.bincount(y, minlength=k).astype(np.int64) for name, y in parts.items()}

    def describe(self) -> str:
        """One line for a status bar, e.g. ``train 56,000 · validation 7,000 · test 7,000``."""
        return (
            f"train {len(self.y_train):,} · validation {len(self.y_val):,} · "
            f"test {len(self.y_test):,}"
        )


def _take(
    indices: NDArray[np.intp],
    y: NDArray[np.int64],
    size: int,
    seed: int,
    stratified: bool,
) -> tuple[NDArray[np.intp], NDArray[np.intp], bool]:
    """Draw ``size`` of ``indices`` (the second result) from the rest (the first).

    Stratified when asked and possible; the third result says whether it was. sklearn
    refuses to stratify when a class has a single sample or a part is smaller than the
    number of classes, and then a random draw is the best that can be done.
    """
    from sklearn.model_selection import train_test_split

    if size == 0:
        return indices, indices[:0], stratified
    if stratified:
        try:
            rest, drawn = train_test_split(indices, test_size=size, random_state=seed, stratify=y[indices])
            return np.asarray(rest, dtype=np.intp), np.asarray(drawn, dtype=np.intp), True
        except ValueError:
            pass
    rest, drawn = train_test_split(indices, test_size=size, random_state=seed, shuffle=True)
    return np.asarray(rest, dtype=np.intp), np.asarray(drawn, dtype=np.intp), False


def _part_size(fraction: float, n: int) -> int:
    """Samples for a part: rounded, but at least one when the fraction is not zero."""
    if fraction <= 0:
        return 0
    return max(1, round(fraction * n))


def split_dataset(ds: Dataset, split: SplitSpec, seed: int, limit: int | None = None) -> Split:
    """Divide a dataset into training, validation and test parts, reproducibly.

    The same dataset, split and seed always give the same parts; another seed gives
    others. When ``split.stratified`` every part keeps the class proportions of the
    whole, as far as the part sizes allow; a part that cannot be stratified (a class with a
    single sample, a part smaller than the number of classes) is drawn at random and
    :attr:`Split.notice` says so.

    Args:
        ds: The pooled dataset.
        split: The fractions (validation and test may be 0) and whether to stratify.
        seed: The random seed of the run.
        limit: Keep only this many samples (a stratified subset) before splitting, for
            quick experiments; ``None`` or a number >= ``len(ds)`` keeps everything.

    Raises:
        DataError: ``limit`` is not a positive whole number, or the dataset is too small
            to leave at least one training sample.
    """
    n_all = len(ds)
    indices = np.arange(n_all, dtype=np.intp)
    notes: list[str] = []
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise DataError(f"data.limit must be a positive whole number, got {limit!r}")
        if limit < n_all:
            _, indices, ok = _take(indices, ds.y, limit, seed, split.stratified)
            if split.stratified and not ok:
                notes.append(f"The {limit:,}-sample subset could not be stratified and was drawn at random.")
    n = len(indices)
    if split.official_test and ds.n_official_test > 0:
        # The source's own test set is the test part; train and validation share the rest
        # in proportion.
        is_test = indices >= n_all - ds.n_official_test
        test_idx, rest = indices[is_test], indices[~is_test]
        share = split.validation / (split.train + split.validation)
        n_val = _part_size(share, len(rest))
        if len(rest) - n_val < 1 or len(test_idx) == 0:
            raise DataError(
                f"{count(n, 'sample')} are too few for this split with the official test set; use more data"
            )
        train_idx, val_idx, ok_val = _take(rest, ds.y, n_val, seed, split.stratified)
        ok_test = True
    else:
        n_test = _part_size(split.test, n)
        n_val = _part_size(split.validation, n)
        if n - n_test - n_val < 1:
            raise DataError(
                f"{count(n, 'sample')} are too few for this split (train {split.train:g}, validation "
                f"{split.validation:g}, test {split.test:g}): no training sample would be left; "
                "use more data or smaller validation and test fractions"
            )
        rest, test_idx, ok_test = _take(indices, ds.y, n_test, seed, split.stratified)
        train_idx, val_idx, ok_val = _take(rest, ds.y, n_val, seed, split.stratified)
    for ok, part in ((ok_val, "validation"), (ok_test, "test")):
        if split.stratified and not ok:
            notes.append(
                f"The {part} part could not be stratified (too few samples of some class for "
                "its size) and was drawn at random."
            )
    return Split(
        x_train=ds.x[train_idx],
        y_train=ds.y[train_idx],
        x_val=ds.x[val_idx],
        y_val=ds.y[val_idx],
        x_test=ds.x[test_idx],
        y_test=ds.y[test_idx],
        class_names=ds.class_names,
        notice=" ".join(notes) if notes else None,
    )
