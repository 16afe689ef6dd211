"""The in-process engine end to end on a tiny dataset: the same API and folder as on Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.errors import ProjectError
from model.events import BatchRecord, DataReady, EpochRecord, RunFinished, RunStarted
from model.experiments.engine import start_comparison
from model.experiments.spec import experiment_from_vary
from model.experiments.store import load_comparison
from model.experiments.table import TrialState
from model.runfolder import is_run_folder
from tests.model.experiments.conftest import KeepingListener
from tests.model.experiments.helpers import TOO_BIG_KERNEL, same_tables, tiny_config


def test_a_comparison_trains_each_trial_and_a_stack_that_cannot_be_built_fails_alone(
    tiny_data: Path, tmp_path: Path, heard: KeepingListener
) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data), [f"layers[0].kernel_size=3,{TOO_BIG_KERNEL},5"])
    comparison = start_comparison(experiment, heard, out_dir=tmp_path / "cmp", engine="in-process")
    assert comparison.wait(300)
    assert comparison.failure is None
    table = comparison.results()
    assert [row.state for row in table.rows] == [TrialState.FINISHED, TrialState.FAILED, TrialState.FINISHED]
    assert "cannot be built" in table.rows[1].message
    assert table.rows[0].epochs == 2 and table.rows[0].test_accuracy is not None
    assert heard.threads == {"comparison-driver"}
    assert len(heard.finished) == 1
    # A trial's records come in order: data, start, batches and epochs, end.
    kinds = [type(r) for r in heard.of(0)]
    assert kinds[:2] == [DataReady, RunStarted] and kinds[-1] is RunFinished
    assert BatchRecord in kinds and kinds.count(EpochRecord) == 2
    assert all(r.run_id == 0 for r in heard.of(0) if not isinstance(r, DataReady))
    # The folder holds one run folder per trained trial and reads back the same.
    state = comparison.state()
    assert state.trials[1].run_folder is None
    for run in (state.trials[0], state.trials[2]):
        assert run.run_folder is not None and is_run_folder(run.run_folder)
    loaded = load_comparison(tmp_path / "cmp")
    same_tables(loaded.table, table)
    assert [len(r.history) for r in loaded.trials] == [2, 0, 2]
    assert len(loaded.trials[0].batches) == len(state.trials[0].batches) > 0


def test_trials_share_the_first_batch_and_the_initial_weights(tiny_data: Path, tmp_path: Path) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data, epochs=1), ["optimizer.learning_rate=0.05,0.001"])
    comparison = start_comparison(experiment, out_dir=tmp_path / "cmp", engine="in-process")
    assert comparison.wait(300)
    first = [run.batches.loss[0] for run in comparison.state().trials]
    # The loss of the first batch is computed before any update: same weights, same samples.
    assert first[0] == pytest.approx(first[1], rel=1e-6)


class StopsAll(KeepingListener):
    """Stops the whole comparison at the first batch it hears."""

    def __init__(self) -> None:
        super().__init__()
        self.comparison = None

    def on_record(self, trial_id: int, record: object) -> None:
        super().on_record(trial_id, record)  # type: ignore[arg-type]
        if isinstance(record, BatchRecord) and self.comparison is not None:
            self.comparison.stop_all()


def test_a_stopped_comparison_keeps_what_ended_and_a_resume_runs_the_interrupted_trials(
    tiny_data: Path, tmp_path: Path
) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data, epochs=1), ["optimizer.learning_rate=0.1,0.05,0.01"])
    listener = StopsAll()
    comparison = start_comparison(experiment, listener, out_dir=tmp_path / "cmp", engine="in-process")
    comparison.stop(2)
    listener.comparison = comparison  # type: ignore[assignment]
    assert comparison.wait(300)
    runs = comparison.state().trials
    assert [r.state for r in runs] == [TrialState.STOPPED] * 3
    assert [r.rerun for r in runs] == [True, True, False]
    assert runs[0].run_folder is not None  # the interrupted trial still saved what it trained

    with pytest.raises(ProjectError, match="--resume"):
        start_comparison(experiment, out_dir=tmp_path / "cmp", engine="in-process")
    other = experiment_from_vary(tiny_config(tiny_data, epochs=1), ["optimizer.learning_rate=0.1,0.05"])
    with pytest.raises(ProjectError, match="holds a different comparison"):
        start_comparison(other, out_dir=tmp_path / "cmp", engine="in-process", resume=True)

    resumed = start_comparison(experiment, out_dir=tmp_path / "cmp", engine="in-process", resume=True)
    assert resumed.wait(300)
    assert [r.state for r in resumed.state().trials] == [TrialState.FINISHED, TrialState.FINISHED, TrialState.STOPPED]
    assert [r.state for r in load_comparison(tmp_path / "cmp").trials][:2] == [TrialState.FINISHED] * 2


def test_bad_engine_settings_are_refused_before_anything_starts(tiny_data: Path, tmp_path: Path) -> None:
    experiment = experiment_from_vary(tiny_config(tiny_data), ["seed=1,2"])
    with pytest.raises(ProjectError, match="max_concurrent must be at least 1"):
        start_comparison(experiment, out_dir=tmp_path / "a", max_concurrent=0)
    with pytest.raises(ProjectError, match="unknown engine"):
        start_comparison(experiment, out_dir=tmp_path / "a", engine="spark")  # type: ignore[arg-type]
    assert not (tmp_path / "a").exists()
