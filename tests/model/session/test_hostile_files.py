"""Hostile files through the session's open paths: never an escaped exception, all or nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from model import runfolder
from model.config import DataSpec, RunConfig
from model.errors import ConfigError
from tests.model.hostile import FIXTURE_RUN, diverged_model, model_archive, state_claiming_8_tib
from tests.model.session.fakes import Harness
from tests.model.session.test_document import TINY
from tests.model.session.test_workflows import saved_run

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(tmp_path: Path, name: str, **files: bytes) -> Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURE_RUN, folder)
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def _hostile_paths(tmp_path: Path) -> list[Path]:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    pipe_model = tmp_path / "pipe.keras"
    os.mkfifo(pipe_model)
    bigint = tmp_path / "bigint.json"
    bigint.write_text(TINY.to_json().replace('"seed": 42', '"seed": ' + "9" * 5000))
    state = tmp_path / "state.npz"
    state_claiming_8_tib(state)
    metrics = json.loads((FIXTURE_RUN / "metrics.json").read_text())
    metrics["confusion_matrix"][0][0] = 0.5
    string = tmp_path / "string.keras"
    model_archive(string, {"class_name": "Sequential", "config": {"name": "x" * 15_000_000}})
    vector = tmp_path / "vector.npz"
    np.savez(vector, __epochs_done__=np.arange(3))
    piped_run = _run(tmp_path, "run_pipe")
    (piped_run / "history.csv").unlink()
    os.mkfifo(piped_run / "history.csv")
    return [
        pipe, pipe_model, Path("/dev/zero"), bigint, string, tmp_path / ("n" * 300), Path("bad\0path.json"),
        _run(tmp_path, "run_8tib", **{"training_state.npz": state.read_bytes()}),
        _run(tmp_path, "run_vector", **{"training_state.npz": vector.read_bytes()}),
        _run(tmp_path, "run_1e400", **{"metrics.json": json.dumps(metrics).replace("0.5", "1e400").encode()}),
        _run(tmp_path, "run_bigint", **{"config.json": bigint.read_bytes()}),
        _run(tmp_path, "run_random", **{"model.keras": os.urandom(3000)}),
        piped_run,
    ]  # fmt: skip


def test_no_hostile_file_escapes_an_open_path(h: Harness, tmp_path: Path) -> None:
    h.ready()
    for path in _hostile_paths(tmp_path):
        before = h.view.warn.call_count
        opened = h.wait(h.session.open_path(path))  # raises here if anything escaped
        assert opened or h.view.warn.call_count == before + 1, path
        assert not h.session.action_state().train_reason.startswith("Opening"), path  # busy ended
        if not opened:
            title, text = h.warnings()[-1]
            assert title.startswith("Cannot") and "\n" not in text and len(text) < 1000, (path, text)


def test_a_view_that_cannot_show_a_file_leaves_everything_as_it_was(h: Harness, tmp_path: Path) -> None:
    h.ready()
    folder = saved_run(tmp_path / "run")
    h.view.show_history.side_effect = OverflowError("Python int too large to convert to C int")
    assert not h.wait(h.session.open_run_folder(folder))
    title, text = h.warnings()[-1]
    assert title == "Cannot open run" and "OverflowError" in text
    assert h.session.action_state().train_reason == ""  # not stuck "Opening the run…"


def test_the_document_points_at_a_file_only_once_the_panels_show_it(h: Harness, tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    first.write_text(TINY.to_json())
    assert h.session.open_config(first)
    huge = tmp_path / "huge.json"
    huge.write_text(TINY.replace(data=DataSpec(limit=10**15)).to_json())
    h.view.show_config.side_effect = ConfigError("data.limit", "1000000000000000 cannot be shown in this window")
    assert not h.session.open_config(huge)
    assert h.session.document.path == first and h.session.document.saved.to_dict() == TINY.to_dict()
    assert h.warnings()[-1][0] == "Cannot show this configuration"
    assert str(huge.resolve()) not in h.session.recent_files()


def test_remembered_settings_the_panels_cannot_show_give_way_to_the_defaults(tmp_path: Path) -> None:
    from unittest.mock import MagicMock

    from model.session import MemoryStore, RunSession, SessionView
    from model.session.document import CONFIG_KEY
    from model.tasks import ManualDispatch
    from tests.model.session.fakes import FakeRunner

    view = MagicMock(spec=SessionView)
    shown: list[RunConfig] = []

    def show(config: RunConfig) -> None:
        shown.append(config)
        if config.data.limit == 10**15:
            raise ConfigError("data.limit", "cannot be shown in this window")

    view.show_config.side_effect = show
    store = MemoryStore({CONFIG_KEY: TINY.replace(data=DataSpec(limit=10**15)).to_json()})
    session = RunSession(view, runner=FakeRunner(), dispatch=ManualDispatch(), store=store, autosave_dir=tmp_path / "a")
    try:
        session.begin()  # was: the window failed to build
        assert shown[-1] == RunConfig() and session.document.saved == RunConfig()
        assert "could not be shown" in view.show_message.call_args.args[0]
    finally:
        session.shutdown()


def test_recovering_an_autosave_that_cannot_be_opened_says_where_it_is_kept(h: Harness, tmp_path: Path) -> None:
    saved_run(h.autosave)
    state_claiming_8_tib(h.autosave / "training_state.npz")
    runfolder.write_autosave_status(h.autosave, "running", 1, 5, 0)
    h.session.backend_ready()
    h.until(lambda: any("kept in" in text for text, _ in h.messages()))
    recovered = [p for p in h.autosave.parent.iterdir() if p.name.startswith("recovered-")]
    assert len(recovered) == 1 and (recovered[0] / "model.keras").is_file()  # nothing lost
    assert (f"The interrupted run could not be opened; its files are kept in {recovered[0]}.", "warning") in h.messages()
    assert h.warnings()[-1][0] == "Cannot open run" and "training_state.npz" in h.warnings()[-1][1]


def test_a_diverged_run_is_shown_as_diverged(h: Harness, tmp_path: Path) -> None:
    folder = saved_run(tmp_path / "run")
    diverged_model(tmp_path / "nan.keras")
    # The fixture's model is 4x4; the run's own model made NaN is what a diverged run leaves.
    import keras

    model = keras.saving.load_model(folder / "model.keras")
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    model.save(folder / "model.keras")
    assert h.wait(h.session.open_run_folder(folder))
    text, level = h.messages()[-1]
    assert level == "warning" and "It diverged" in text
    assert h.last("show_predictor")[1].endswith("· diverged")


def test_an_older_keras_is_named_when_the_backend_is_ready(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import model.modelio

    monkeypatch.setattr(model.modelio, "keras_version", lambda: "3.12.0")
    h.ready()
    assert any(text.startswith("Keras 3.12.0 is older than 3.14.1") and level == "warning" for text, level in h.messages())
