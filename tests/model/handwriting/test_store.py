"""model.handwriting.store: the handwriting set on disk, read back by model.data, never overwritten."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.config import DataSpec, RunConfig, SplitSpec
from model.data import load_dataset, prepare
from model.errors import ProjectError
from model.handwriting import Drawing, HandwritingSet, Stroke, read_record
from model.handwriting.store import FORMAT, README_NAME
from tests.model.data.helpers import FUZZ

NOW = datetime.datetime(2025, 6, 12, 15, 30, 12)


def digit(value: float = 1.0, seed: int = 0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    rng = np.random.default_rng(seed)
    image[6:22, 10 + seed % 4 : 14 + seed % 4] = value * rng.uniform(0.5, 1.0)
    return image


def drawing(seed: int = 0, **changes: object) -> Drawing:
    strokes = (Stroke(20.0, ((10.0, 20.0, 1.0), (30.5, 40.25, 0.8))),)
    fields: dict[str, object] = {"image": digit(seed=seed), "strokes": strokes, "canvas_size": 280,
                                 "answer": ("4", 0.61), "model": "model of run 3"}  # fmt: skip
    fields.update(changes)
    return Drawing(**fields)  # type: ignore[arg-type]


def test_labelled_drawings_make_a_folder_that_model_data_reads(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "handwriting")
    for k in range(6):
        store.add(drawing(k), str(k % 3), k % 3)
    assert store.counts() == {"0": 2, "1": 2, "2": 2} and store.count() == 6
    dataset = load_dataset(DataSpec(name="file", path=str(store.folder)))
    assert len(dataset) == 6 and dataset.class_names == ("0", "1", "2")
    assert dataset.x.shape == (6, 28, 28, 1) and dataset.x.max() > 0.4
    loaded = store.load()
    assert len(loaded) == 6 and loaded.folders == ("0", "0", "1", "1", "2", "2")
    assert (store.folder / README_NAME).is_file()


def test_the_saved_image_is_the_network_input(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    image = digit(seed=2)
    png = store.add(drawing(image=image), "9", 9)
    assert png.parent.name == "9" and png.suffix == ".png"
    np.testing.assert_allclose(store.load().images[0], image, atol=0.5 / 255)


def test_the_sidecar_keeps_the_strokes_to_preprocess_again(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    png = store.add(drawing(), "9", 9, now=NOW)
    record = read_record(png)
    assert record.label == "9" and record.canvas_size == 280 and record.picture is None
    assert record.strokes == (Stroke(20.0, ((10.0, 20.0, 1.0), (30.5, 40.25, 0.8))),)
    assert record.answer == ("4", 0.61) and record.model == "model of run 3"
    assert record.created == "2025-06-12T15:30:12"
    assert png.name.startswith("20250612-153012-")


def test_a_picture_without_strokes_is_kept_beside_it(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    picture = np.linspace(0, 1, 50 * 40, dtype=np.float32).reshape(50, 40)
    png = store.add(drawing(strokes=(), canvas_size=0, picture=picture), "3", 3)
    record = read_record(png)
    assert record.strokes == () and record.picture is not None and record.picture.shape == (50, 40)
    assert record.picture.dtype == np.uint8 and record.picture[-1, -1] == 255
    assert store.count() == 1  # the .npz and .json are no samples


def test_nothing_is_ever_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = HandwritingSet(tmp_path / "hw")
    first = store.add(drawing(1), "7", 7, now=NOW)
    before = first.read_bytes()
    tokens = iter([first.stem.rsplit("-", 1)[1], first.stem.rsplit("-", 1)[1], "0123abcd"])
    monkeypatch.setattr("model.handwriting.store.secrets.token_hex", lambda _n: next(tokens))
    second = store.add(drawing(2), "7", 7, now=NOW)  # the same second, the same token twice
    assert second != first and second.name == "20250612-153012-0123abcd.png"
    assert first.read_bytes() == before and store.count() == 2
    assert sorted(p.name for p in (store.folder / "7").iterdir() if p.name.startswith(".")) == []  # no temp files


def test_many_drawings_in_one_second_all_get_names(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    paths = {store.add(drawing(k), "1", 1, now=NOW) for k in range(30)}
    assert len(paths) == 30 and store.count() == 30


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_link_where_the_set_should_be_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "hw").symlink_to(elsewhere)
    with pytest.raises(ProjectError, match="is a link"):
        HandwritingSet(tmp_path / "hw").add(drawing(), "1", 1)
    (tmp_path / "hw2").mkdir()
    (tmp_path / "hw2" / "1").symlink_to(elsewhere)
    with pytest.raises(ProjectError, match=r"hw2/1 is a link"):
        HandwritingSet(tmp_path / "hw2").add(drawing(), "1", 1)
    assert list(elsewhere.iterdir()) == []


def test_a_file_in_the_way_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "hw").write_text("not a folder")
    with pytest.raises(ProjectError, match="is a file, not a folder; move it away"):
        HandwritingSet(tmp_path / "hw").add(drawing(), "1", 1)


def test_clear_deletes_only_what_it_wrote(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    for k in range(3):
        store.add(drawing(k), str(k), k)
    mine = store.folder / "1" / "my-own.png"
    mine.write_bytes(b"the user's file")
    cleared = store.clear()
    assert (cleared.removed, cleared.kept) == (3, 1)
    assert mine.read_bytes() == b"the user's file"
    assert sorted(p.name for p in store.folder.iterdir()) == ["1", README_NAME]
    mine.unlink()
    assert store.clear().removed == 0 and not store.folder.exists()  # nothing left: the folder goes


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_clear_and_export_never_follow_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "5").mkdir(parents=True)
    victim = outside / "5" / "20250101-000000-00000000.png"
    victim.write_bytes(b"precious")
    store = HandwritingSet(tmp_path / "hw")
    store.add(drawing(), "1", 1)
    (store.folder / "5").symlink_to(outside / "5")
    (store.folder / "1" / "20250101-000000-11111111.png").symlink_to(victim)
    assert store.counts() == {"1": 1}
    assert store.export_to(tmp_path / "copy") == 1
    assert not (tmp_path / "copy" / "5").exists()
    store.clear()
    assert victim.read_bytes() == b"precious"


def test_export_copies_the_set_to_a_new_or_empty_folder_only(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    for k in range(4):
        store.add(drawing(k), str(k % 2), k % 2)
    (tmp_path / "empty").mkdir()
    assert store.export_to(tmp_path / "empty") == 4
    copied = HandwritingSet(tmp_path / "empty")
    assert copied.counts() == store.counts()
    assert len(list((tmp_path / "empty" / "0").glob("*.json"))) == 2
    assert (tmp_path / "empty" / README_NAME).is_file()
    with pytest.raises(ProjectError, match="is not empty; choose a new or empty folder"):
        store.export_to(tmp_path / "empty")
    with pytest.raises(ProjectError, match="inside the handwriting set"):
        store.export_to(store.folder / "0" / "copy")
    assert not list(tmp_path.glob(".empty*"))  # no staging folder left behind


def test_an_absent_set_is_empty(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "nothing")
    assert store.count() == 0 and store.counts() == {} and len(store.load()) == 0
    assert store.clear().removed == 0


def test_a_mixed_run_trains_on_the_set(tmp_path: Path) -> None:
    store = HandwritingSet(tmp_path / "hw")
    for k in range(5):
        store.add(drawing(k), "8", 8)
    config = RunConfig(data=DataSpec(name="digits", limit=100, extra_path=str(store.folder)), split=SplitSpec(0.6, 0.2, 0.2))
    prepared = prepare(config, allow_download=False)
    assert (prepared.split.y_train == 8).sum() > (prepare(config.replace(data=DataSpec(name="digits", limit=100)),
                                                          allow_download=False).split.y_train == 8).sum()  # fmt: skip


def _write_sidecar(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "20250101-000000-aaaaaaaa.png"
    png.write_bytes(b"")
    png.with_suffix(".json").write_bytes(content)
    return png


def test_a_foreign_or_damaged_sidecar_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="cannot read"):
        read_record(tmp_path / "missing.png")
    with pytest.raises(ProjectError, match="is damaged"):
        read_record(_write_sidecar(tmp_path / "a", b"{not json"))
    with pytest.raises(ProjectError, match="is not a drawing record"):
        read_record(_write_sidecar(tmp_path / "b", json.dumps({"format": "other"}).encode()))
    good = json.loads(read_sidecar_of_a_saved_drawing(tmp_path))
    good["picture"] = "../../etc/passwd.npz"
    with pytest.raises(ProjectError, match="picture"):
        read_record(_write_sidecar(tmp_path / "c", json.dumps(good).encode()))


def read_sidecar_of_a_saved_drawing(tmp_path: Path) -> str:
    png = HandwritingSet(tmp_path / "saved").add(drawing(), "2", 2)
    return png.with_suffix(".json").read_text()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["format", "label", "canvas", "answer", "picture", "model", "created", "strokes", "size"]),
        json_values,
        max_size=7,
    ),
    st.booleans(),
)
def test_whatever_a_sidecar_holds_only_project_errors_escape(tmp_path_factory, raw: dict, real_format: bool) -> None:
    if real_format:
        raw["format"] = FORMAT
    png = _write_sidecar(tmp_path_factory.mktemp("sidecar"), json.dumps(raw).encode())
    try:
        record = read_record(png)
    except ProjectError as exc:
        assert str(exc)
    else:
        assert isinstance(record.label, str) and all(isinstance(s, Stroke) for s in record.strokes)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "2", ".hidden", "odd name ü", "20250101-000000-aaaaaaaa.png"]),
            st.sampled_from(["20250101-000000-bbbbbbbb.png", "x.png", "a.json", "20250101-000000-cccccccc.json", "sub"]),
            st.binary(max_size=64),
        ),
        max_size=8,
    )
)
def test_whatever_the_folder_holds_the_set_survives_and_clear_spares_other_files(tmp_path_factory, entries) -> None:
    root = tmp_path_factory.mktemp("hostile") / "hw"
    root.mkdir()
    foreign: dict[Path, bytes] = {}
    for sub, name, blob in entries:
        where = root / sub
        if where.exists() and not where.is_dir():
            continue
        where.mkdir(exist_ok=True)
        if name == "sub":
            (where / name).mkdir(exist_ok=True)
            continue
        if (where / name).is_dir():
            continue
        (where / name).write_bytes(blob)
        if not name.startswith("2025"):
            foreign[where / name] = blob
    store = HandwritingSet(root)
    try:
        store.counts()
        store.load()
        store.add(drawing(), "1", 1)
        store.clear()
    except ProjectError as exc:
        assert str(exc)
    for path, blob in foreign.items():
        assert path.read_bytes() == blob


def test_a_sidecar_that_is_a_pipe_or_holds_huge_integers_is_refused_in_words(tmp_path: Path) -> None:
    import os

    from model.errors import ProjectError
    from model.handwriting.store import read_record
    from tests.model.test_reading import in_a_thread

    os.mkfifo(tmp_path / "a.json")
    error = in_a_thread(lambda: read_record(tmp_path / "a.png"))["error"]  # was: blocked forever
    assert isinstance(error, ProjectError) and "named pipe" in str(error)
    (tmp_path / "b.json").write_text('{"format": ' + "9" * 5000 + "}")
    error = in_a_thread(lambda: read_record(tmp_path / "b.png"))["error"]  # was: ValueError (4300 digits)
    assert isinstance(error, ProjectError) and "5,000 digits" in str(error)
