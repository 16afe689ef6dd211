"""The data of a comparison: loaded and split once, in the driver, shared by every trial.

Trials that share the data settings and seed (all of them, unless the comparison varies
the data) share one :class:`TrialData`: the driver reads the user's files and splits them
once (:func:`model.data.prepare`), and the Ray engine puts the result in Ray's object
store, so trials on other machines need no copy of the files and all train on the very
same arrays. :func:`data_key` says which trials share data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from model.config import RunConfig
from model.data import Split
from model.events import DataReady
from model.experiments.spec import Trial
from model.results import DataInfo
from model.tasks import Failure


@dataclass(frozen=True, eq=False)
class TrialData:
    """A split with what a run says about where it came from."""

    split: Split
    info: DataInfo
    notice: str | None
    class_names: tuple[str, ...]
    input_shape: tuple[int, ...]

    def ready(self, trial_id: int) -> DataReady:
        """The :class:`DataReady` record of a trial on this data."""
        return DataReady(
            trial_id,
            self.info.description,
            self.info.source,
            self.notice,
            self.class_names,
            self.input_shape,
            self.split.x_test,
        )


def data_key(config: RunConfig) -> str:
    """Equal for configurations whose data, split and seed (hence samples and split) are equal."""
    return json.dumps([config.data.to_dict(), config.split.to_dict(), config.seed], sort_keys=True)


def prepare_trials(trials: Sequence[Trial]) -> dict[str, TrialData | Failure]:
    """Each distinct data of ``trials``, loaded and split once; a :class:`Failure` where it cannot be."""
    from model.data import prepare

    out: dict[str, TrialData | Failure] = {}
    for trial in trials:
        key = data_key(trial.config)
        if key in out:
            continue
        try:
            prepared = prepare(trial.config)
        except Exception as exc:  # noqa: BLE001 - a data problem fails the trials on that data, for people
            out[key] = Failure.of(exc, "Loading the data")
            continue
        out[key] = TrialData(
            prepared.split,
            DataInfo(prepared.name, prepared.source, prepared.description),
            prepared.notice,
            prepared.class_names,
            prepared.input_shape,
        )
    return out
