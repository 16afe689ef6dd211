"""The document: the configuration, its file, the unsaved mark, presets and recent files."""

from __future__ import annotations

import json
from pathlib import Path

from model.config import DataSpec, LayerSpec, RunConfig, load_config, load_preset
from model.session import MemoryStore, recent_from_setting, updated_recent
from model.session.document import RECENT_LIMIT
from tests.model.session.fakes import Harness, make_harness

TINY = RunConfig(
    name="tiny",
    layers=(LayerSpec("Flatten"), LayerSpec("Dense", units=8), LayerSpec("Dense", units=10, activation="softmax")),
    epochs=1,
    batch_size=32,
    data=DataSpec(name="digits", limit=300),
)


def test_begin_shows_the_remembered_configuration_unmodified(tmp_path: Path) -> None:
    store = MemoryStore({"config": TINY.to_json()})
    h = make_harness(tmp_path, store=store)
    try:
        h.view.show_config.assert_called_with(TINY)
        assert h.last("show_document") == ("tiny", False)
    finally:
        h.session.shutdown()


def test_a_broken_remembered_configuration_falls_back_to_the_defaults(tmp_path: Path) -> None:
    h = make_harness(tmp_path, store=MemoryStore({"config": '{"schema_version": 1, "layers": 5}'}))
    try:
        h.view.show_config.assert_called_with(RunConfig())
    finally:
        h.session.shutdown()


def test_edits_mark_the_document_modified_until_they_match_the_saved_one(h: Harness) -> None:
    h.session.edit(RunConfig().replace(epochs=9))
    assert h.last("show_document")[1] is True
    h.session.edit(RunConfig())
    assert h.last("show_document")[1] is False


def test_invalid_settings_disable_train_and_say_why(h: Harness) -> None:
    h.ready()
    assert h.state().can_train
    h.session.edit(None, "split: train + validation + test must sum to 1")
    assert h.state().train_reason == "Fix the settings first: split: train + validation + test must sum to 1"
    assert h.last("show_actions")[0] == h.state()


def test_a_stack_problem_disables_train(h: Harness) -> None:
    h.ready()
    h.session.set_stack_problem("the last layer gives 7 outputs, the data has 10 classes")
    assert h.state().train_reason.startswith("Fix the layer stack first: the last layer gives 7")
    h.session.set_stack_problem("")
    assert h.state().can_train


def test_train_waits_for_tensorflow_and_a_failed_load_is_shown(h: Harness) -> None:
    assert h.state().train_reason == "Loading TensorFlow…"
    h.session.backend_failed("TensorFlow could not be loaded: ImportError: libcudart")
    assert h.state().train_reason.startswith("TensorFlow could not be loaded")
    assert h.messages()[-1] == ("TensorFlow could not be loaded: ImportError: libcudart", "error")


def test_save_writes_the_file_names_the_title_and_remembers_it(h: Harness, tmp_path: Path) -> None:
    h.session.edit(TINY)
    target = tmp_path / "run.json"
    assert h.session.save_config_to(target)
    assert load_config(target) == TINY
    assert h.last("show_document") == ("run.json", False)
    assert h.session.recent_files() == [str(target.resolve())]
    h.view.show_recent.assert_called_with([str(target.resolve())])


def test_a_failed_save_warns_and_stays_unsaved(h: Harness, tmp_path: Path) -> None:
    h.session.edit(TINY)
    folder = tmp_path / "taken"
    folder.mkdir()
    assert not h.session.save_config_to(folder)  # a folder cannot be replaced by a file
    assert h.warnings()[-1][0] == "Cannot save configuration"
    assert h.last("show_document")[1] is True


def test_a_bad_configuration_is_refused_and_nothing_changes(h: Harness, tmp_path: Path) -> None:
    h.session.set_config(TINY)
    raw = json.loads(TINY.to_json())
    raw["layers"][1]["units"] = -3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    assert not h.session.open_config(bad)
    title, text = h.warnings()[-1]
    assert title == "Cannot open configuration" and "layers[1].units" in text
    assert h.session.config == TINY and h.session.document.path is None


def test_a_future_schema_version_is_refused(h: Harness, tmp_path: Path) -> None:
    raw = json.loads(TINY.to_json())
    raw["schema_version"] = 99
    future = tmp_path / "future.json"
    future.write_text(json.dumps(raw))
    assert not h.wait(h.session.open_path(future))
    assert "99" in h.warnings()[-1][1]


def test_unsaved_changes_ask_before_new_and_cancel_keeps_them(h: Harness) -> None:
    h.session.edit(TINY)
    h.view.ask_save.return_value = "cancel"
    h.session.new()
    assert h.session.config == TINY
    h.view.ask_save.return_value = "discard"
    h.session.new()
    assert h.session.config == RunConfig()
    assert "unsaved changes" in h.view.ask_save.call_args.args[1]


def test_save_first_asks_for_a_path_when_there_is_none(h: Harness, tmp_path: Path) -> None:
    h.session.edit(TINY)
    h.view.ask_save.return_value = "save"
    h.view.ask_config_path.return_value = tmp_path / "chosen.json"
    assert h.session.confirm_discard()
    assert load_config(tmp_path / "chosen.json") == TINY
    h.view.ask_config_path.return_value = None  # Save, then cancel the file dialog: stay
    h.session.edit(TINY.replace(epochs=3))
    h.session.document.path = None
    assert not h.session.confirm_discard()


def test_a_preset_loads(h: Harness) -> None:
    names = dict(h.session.presets())
    assert "mlp" in names
    h.session.load_preset("mlp")
    assert h.session.config == load_preset("mlp")
    h.view.show_config.assert_called_with(load_preset("mlp"))


def test_a_missing_recent_file_is_dropped_with_a_message(h: Harness, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    h.session.edit(TINY)
    assert h.session.save_config_to(first) and h.session.save_config_to(second)
    second.unlink()
    assert not h.wait(h.session.open_recent(str(second.resolve())))
    assert h.warnings()[-1][0] == "File not found"
    assert h.session.recent_files() == [str(first.resolve())]
    assert h.wait(h.session.open_recent(str(first.resolve())))
    assert h.session.document.path == first


def test_recent_files_are_newest_first_and_bounded(tmp_path: Path) -> None:
    entries: list[str] = []
    for k in range(10):
        entries = updated_recent(entries, tmp_path / f"{k}.json")
    assert len(entries) == RECENT_LIMIT and entries[0].endswith("9.json")
    entries = updated_recent(entries, tmp_path / "5.json")
    assert entries[0].endswith("5.json") and entries.count(entries[0]) == 1
    assert recent_from_setting(None) == [] and recent_from_setting("a") == ["a"]
