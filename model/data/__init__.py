"""Datasets: find, read, check, scale and split the images a run trains on.

:func:`prepare` is what frontends call: it loads a run's dataset and splits it with the
run's split, seed and limit, returning a :class:`Prepared`. Underneath, :func:`load_dataset`
turns a :class:`~model.config.DataSpec` into one pooled :class:`Dataset` (the train and
test parts of the source are joined; splitting is a separate, seeded step,
:func:`split_dataset`, so that the split fractions in the run configuration mean the same
thing for every source).

Where the data comes from, one module per source or format (as in ``keras.datasets``):

- ``mnist`` / ``fashion_mnist`` (:mod:`.keras_source`): a file the user picked
  (``DataSpec.path``), else the copy Keras keeps in its cache (read directly with numpy,
  because Keras's own loader rejects any file whose hash differs from the official
  download), else a Keras download, else the built-in offline digits with a
  :attr:`Dataset.notice` that says why. Asking for MNIST therefore never fails: a person
  without a network still gets something to train.
- ``digits`` (:mod:`.digits`): scikit-learn's bundled 8x8 digits, redrawn the MNIST way in
  28x28.
- ``file`` (:mod:`.files` picks the reader): a Keras-layout ``.npz`` (:mod:`.npz`), a
  folder of the four MNIST IDX files, optionally gzipped (:mod:`.idx`), a CSV, label then
  pixels (:mod:`.csv`), or a folder with one sub-folder of images per class
  (:mod:`.images`).

What they share is in :mod:`._common`; :mod:`.split` splits, :mod:`.extra` mixes an extra
folder of images into the training part only, :mod:`.prepare` loads and splits, and :mod:`.summary` answers the window's questions about the data (counts, a
saved run's test images) without downloading.

Every reader treats its input as untrusted: anything wrong with a file (missing,
truncated, corrupt, inconsistent, absurdly large header sizes, pickled objects) raises
:class:`~model.errors.DataError` naming the file, the problem and the fix, and no other
exception type escapes. Pixel scaling and shaping live in one function,
:func:`to_model_input`, which the drawing canvas's preprocessing uses too, so a model sees
the same numbers at training time and when it reads a hand-drawn digit.

This package is Qt-free and does not import TensorFlow, Keras or scikit-learn at import
time: the GUI imports it before TensorFlow has loaded (``gui.tf_loader`` imports
``model.data`` first, so a data task can start early), and only the download path needs
Keras. Heavy imports happen inside the functions that need them.
"""

from __future__ import annotations

from model.data._common import DIGIT_CLASS_NAMES, IMAGE_SIZE, Dataset, to_model_input
from model.data.extra import Mixed, class_folder_name, mix_into_training
from model.data.keras_source import DOWNLOAD_SOCKET_TIMEOUT_S, FASHION_CLASS_NAMES, keras_cache_dirs
from model.data.prepare import Prepared, load_dataset, prepare
from model.data.split import Split, split_dataset
from model.data.summary import DataSummary, TestImages, summarize, test_images

__all__ = [
    "DIGIT_CLASS_NAMES",
    "DOWNLOAD_SOCKET_TIMEOUT_S",
    "FASHION_CLASS_NAMES",
    "IMAGE_SIZE",
    "DataSummary",
    "Dataset",
    "Mixed",
    "Prepared",
    "Split",
    "TestImages",
    "class_folder_name",
    "keras_cache_dirs",
    "load_dataset",
    "mix_into_training",
    "prepare",
    "split_dataset",
    "summarize",
    "test_images",
    "to_model_input",
]
