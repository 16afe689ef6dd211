"""Load the configured dataset and split it: the one sequence every frontend runs.

:func:`load_dataset` turns a :class:`~model.config.DataSpec` into one pooled
:class:`~model.data.Dataset` (the train and test parts of the source are joined), choosing
the source by name: :mod:`.keras_source` for ``mnist`` / ``fashion_mnist``, :mod:`.digits`
for ``digits``, :mod:`.files` for ``file``. :func:`prepare` then splits it with the run's
split, seed and limit and returns a :class:`Prepared`: the split plus what a frontend
shows about it (the source actually used, the notices, the sizes); with
``data.pen_digits`` the training part also gets the bundled pen digits
(:mod:`.pendigits`), and with ``data.extra_path`` that folder's images
(:mod:`.extra`). The command line, the
training worker and the window's dataset counts all call :func:`prepare`, so they cannot
drift apart.

Everything untrusted is read by the sources' readers, which raise only
:class:`~model.errors.DataError`; a ``DataSpec`` has been validated on construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.config import DataSpec, RunConfig
from model.data._common import Dataset, _dataset_from_raw
from model.data.digits import _load_digits
from model.data.extra import mix_into_training
from model.data.files import _load_path
from model.data.keras_source import _load_keras_dataset
from model.data.pendigits import mix_pen_digits
from model.data.split import Split, split_dataset
from model.errors import DataError

_KERAS_SOURCES = ("mnist", "fashion_mnist")


def load_dataset(spec: DataSpec, *, allow_download: bool = True) -> Dataset:
    """Load the dataset a run asks for, as one pooled, model-ready :class:`Dataset`.

    ``spec.limit`` is not applied here; pass it to :func:`~model.data.split_dataset`,
    which keeps a stratified subset (:func:`prepare` does both).

    Args:
        spec: Which dataset, and for ``file`` (or a local MNIST copy) its path.
        allow_download: Whether MNIST / Fashion-MNIST may be downloaded through Keras when
            neither a path nor a cached copy is available. The download imports
            TensorFlow, so call this off the GUI thread.

    Returns:
        The dataset. For MNIST and Fashion-MNIST without a path it is never an error: when
        no copy can be found or downloaded the offline digits come back, with a
        :attr:`Dataset.notice` saying so.

    Raises:
        DataError: a picked file or folder is missing, unreadable, corrupt or
            inconsistent; the message names it and says how to fix it.
    """
    if spec.name in _KERAS_SOURCES:
        return _load_keras_dataset(spec, allow_download)
    if spec.name == "digits":
        return _load_digits()
    if spec.name == "file":
        if spec.path is None:
            raise DataError("data.path is required for the data source 'file'; pick a file or folder")
        path = Path(spec.path).expanduser()
        raw = _load_path(path)
        return _dataset_from_raw(raw, name="file", source=raw.description[0].upper() + raw.description[1:])
    raise DataError(f"unknown dataset {spec.name!r}; choose mnist, fashion_mnist, digits or file")


@dataclass(frozen=True, eq=False)
class Prepared:
    """A run's data, loaded and split, with what a frontend says about it.

    Attributes:
        split: The training, validation and test parts.
        name: The source actually used, e.g. ``digits`` after an offline fallback.
        requested: The source the configuration asked for (``config.data.name``).
        source: Where the data came from, for people, e.g. ``MNIST from /data/mnist.npz``.
        notice: The dataset's notice (an offline fallback, skipped images) and the
            split's (a part that could not be stratified), joined; ``None`` when neither.
        class_names: A human name per label.
        input_shape: The shape of one sample, e.g. ``(28, 28, 1)``.
        description: :meth:`Split.describe`, e.g. ``train 56,000 · validation 7,000 · test 7,000``.
        fell_back: Whether MNIST or Fashion-MNIST was asked for and the offline digits
            came instead (not on this computer, and not downloaded).
    """

    split: Split
    name: str
    requested: str
    source: str
    notice: str | None
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]
    description: str
    fell_back: bool


def prepare(config: RunConfig, *, allow_download: bool = True) -> Prepared:
    """Load ``config``'s dataset and split it with its split, seed and data limit.

    Args:
        config: The run; only ``data``, ``split`` and ``seed`` are read.
        allow_download: Whether MNIST / Fashion-MNIST may be downloaded (see
            :func:`load_dataset`); the download imports TensorFlow, so call this off the
            GUI thread.

    Raises:
        DataError: the data cannot be read (see :func:`load_dataset`), or the split
            leaves no training sample or the limit is invalid (see
            :func:`~model.data.split_dataset`).
    """
    dataset = load_dataset(config.data, allow_download=allow_download)
    split = split_dataset(dataset, config.split, config.seed, config.data.limit)
    notices = [n for n in (dataset.notice, split.notice) if n]
    pen_description = extra_description = ""
    if config.data.pen_digits > 0:
        # After the split, into the training part only: the test figures stay the dataset's.
        pen = mix_pen_digits(split, config.data.pen_digits, config.seed)
        split, pen_description = pen.split, pen.description
        notices += [pen.notice] if pen.notice else []
    if config.data.extra_path is not None:
        # After the split, into the training part only: the test figures stay the dataset's.
        mixed = mix_into_training(split, config.data, config.seed)
        split, extra_description = mixed.split, mixed.description
        notices += [mixed.notice] if mixed.notice else []
    description = split.describe()
    if pen_description:  # "train 58,823 (5,882 of them pen digits) · validation ..."
        train, _, rest = description.partition(" · ")
        description = f"{train} ({pen_description}) · {rest}"
    if extra_description:
        description = f"{description} ({extra_description})"
    return Prepared(
        split=split,
        name=dataset.name,
        requested=config.data.name,
        source=dataset.source,
        notice=" ".join(notices) if notices else None,
        class_names=dataset.class_names,
        input_shape=dataset.input_shape,
        description=description,
        fell_back=config.data.name in _KERAS_SOURCES and dataset.name == "digits",
    )
