"""The user's own handwriting set: labelled drawings in a folder the app already reads.

A :class:`HandwritingSet` is a folder of class folders, the layout ``model.data`` reads
as a dataset (``data.name = "file"``, or mixed into MNIST with ``data.extra_path``)::

    handwriting/
        README.txt                      what the folder is
        9/                              one sub-folder per class (model.data.class_folder_name)
            20250612-153012-3fa2c1d0.png    the 28x28 image the network was given
            20250612-153012-3fa2c1d0.json   how it was drawn: the strokes on the canvas (or,
                                            for a picture file, the .npz beside it), the
                                            answer shown and the model that gave it
            20250612-153012-3fa2c1d0.npz    the picture read, when there were no strokes

The PNG is what trains and scores; the sidecar keeps what is needed to preprocess the
drawing again later with better preprocessing (:func:`read_record` reads it back).

Nothing is ever overwritten: a drawing gets a fresh name (time and a random token), each
file is written to a temporary file, flushed, and linked to its name only if that name
is free, the PNG last so a half-written drawing is never a sample. The folder is treated
as untrusted: a link where a folder should be is refused, and clearing and exporting
touch only regular files directly inside real class folders (never following a link);
clearing removes only the files this module writes and says how many others it left.
Every failure is a :class:`~model.errors.ProjectError` naming the file and the fix.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import io
import json
import math
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from model.data import IMAGE_SIZE, class_folder_name
from model.data.npz import read_numeric_npz
from model.errors import DataError, ProjectError
from model.reading import JsonError, loads_json, os_error_reason, read_capped

FORMAT: Final = "gradient-lab handwriting 1"
"""The ``format`` of every sidecar this module writes; :func:`read_record` insists on it."""

README_NAME: Final = "README.txt"
README_TEXT: Final = """\
Your handwriting, as labelled in Gradient Lab's Draw tab.

Each sub-folder holds the drawings of one class. The .png files are the 28x28 images the
network was given; the .json beside each keeps the strokes (or the .npz the picture read)
so the drawing can be preprocessed again. Any app that reads a folder of class folders
can train on it; in Gradient Lab, use it as the dataset (File or folder) or mix it into
another one (Data and split: Mix in).
"""

_NAME: Final = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}\.(png|json|npz)")
_IMAGE_SUFFIXES: Final = (".png", ".jpg", ".jpeg", ".bmp")
_MAX_SIDECAR_BYTES: Final = 4 << 20  # ~20,000 points: far more than any digit
_MAX_PICTURE_BYTES: Final = 64 << 20
_NAME_TRIES: Final = 8


@dataclass(frozen=True)
class Stroke:
    """One press-to-release gesture on the canvas: its pen width and points ``(x, y, pressure)``."""

    width: float
    points: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True, eq=False)
class Drawing:
    """A drawing to label, as the Draw tab read it.

    Attributes:
        image: The 28x28 network input, float in [0, 1].
        strokes: The strokes on the canvas, in canvas pixels (empty for a picture file).
        canvas_size: The canvas's side in pixels (0 without strokes).
        picture: The picture read when there are no strokes (float in [0, 1]), else ``None``.
        answer: The class the model gave, and how probable it found it, if it gave one.
        model: Which model answered, in words.
    """

    image: NDArray[np.float32]
    strokes: tuple[Stroke, ...] = ()
    canvas_size: int = 0
    picture: NDArray[np.float32] | None = None
    answer: tuple[str, float] | None = None
    model: str = ""


@dataclass(frozen=True)
class Record:
    """What :func:`read_record` found beside a saved drawing."""

    label: str
    strokes: tuple[Stroke, ...]
    canvas_size: int
    picture: NDArray[np.uint8] | None
    answer: tuple[str, float] | None
    model: str
    created: str


@dataclass(frozen=True, eq=False)
class LoadedSet:
    """The set's images as the dataset reader reads them.

    Attributes:
        images: ``(N, 28, 28)`` float32 in [0, 1].
        folders: The class folder of each image.
        notice: Files that could not be read, or ``None``.
    """

    images: NDArray[np.float32]
    folders: tuple[str, ...]
    notice: str | None = None

    def __len__(self) -> int:
        return len(self.folders)


@dataclass(frozen=True)
class Cleared:
    """What :meth:`HandwritingSet.clear` did: drawings removed, other files left in place."""

    removed: int
    kept: int


class HandwritingSet:
    """The user's handwriting set in ``folder`` (created on the first drawing); see the module docstring."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    # ------------------------------------------------------------------ adding

    def add(self, drawing: Drawing, label: str, index: int, *, now: datetime.datetime | None = None) -> Path:
        """Save ``drawing`` as an example of class ``label`` (class number ``index``).

        Returns:
            The PNG written.

        Raises:
            ProjectError: the folder cannot be written (a link, a file in the way, no
                permission, a full disk); nothing half-written is left as a sample.
        """
        image = np.asarray(drawing.image, dtype=np.float32)
        if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected a 28x28 image, got shape {image.shape}")
        classdir = self.folder / class_folder_name(label, index)
        self._make_folder(classdir)
        stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
        png = _png_bytes(image)
        for _ in range(_NAME_TRIES):
            stem = f"{stamp}-{secrets.token_hex(4)}"
            written: list[Path] = []
            try:
                picture = None
                if not drawing.strokes and drawing.picture is not None:
                    picture = classdir / f"{stem}.npz"
                    _write_new(picture, _npz_bytes(drawing.picture))
                    written.append(picture)
                sidecar = classdir / f"{stem}.json"
                _write_new(sidecar, _sidecar_bytes(drawing, label, stem, picture, now))
                written.append(sidecar)
                target = classdir / f"{stem}.png"
                _write_new(target, png)
                return target
            except FileExistsError:
                for path in written:
                    with contextlib.suppress(OSError):
                        path.unlink()
        raise ProjectError(f"cannot find a free file name in {classdir}; the folder is full of look-alikes")

    def _make_folder(self, classdir: Path) -> None:
        for folder in (self.folder, classdir):
            if folder.is_symlink():
                raise ProjectError(f"{folder} is a link; the handwriting set is only written into a real folder")
            if folder.exists() and not folder.is_dir():
                raise ProjectError(f"{folder} is a file, not a folder; move it away to keep labelling drawings")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ProjectError(f"cannot create {folder}: {exc.strerror or exc}") from None
            if folder == self.folder and not (folder / README_NAME).exists():
                with contextlib.suppress(FileExistsError):  # written meanwhile by another app
                    _write_new(folder / README_NAME, README_TEXT.encode("utf-8"))

    # ------------------------------------------------------------------ reading

    def counts(self) -> dict[str, int]:
        """Images per class folder (by name, without decoding them); empty when there is no set."""
        return {name: len(files) for name, files in self._class_files().items() if files}

    def count(self) -> int:
        """How many images the set holds."""
        return sum(self.counts().values())

    def load(self) -> LoadedSet:
        """Read every image the way training reads the folder (undecodable files are skipped).

        Raises:
            ProjectError: the folder exists but cannot be listed.
        """
        from model.data.images import _load_image_folder

        if not self.folder.is_dir() or self.count() == 0:
            return LoadedSet(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), ())
        try:
            raw = _load_image_folder(self.folder)
        except DataError as exc:
            if "no readable" in str(exc) or "no class sub-folders" in str(exc):
                return LoadedSet(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), (), str(exc))
            raise
        names = raw.class_names or ()
        images = np.asarray(raw.x, dtype=np.float32) / np.float32(255.0)
        return LoadedSet(images, tuple(names[int(k)] for k in raw.labels), raw.notice)

    def _class_files(self, *, ours_only: bool = False) -> dict[str, list[Path]]:
        """The regular files directly inside each real (not linked, not hidden) class folder."""
        found: dict[str, list[Path]] = {}
        if self.folder.is_symlink() or not self.folder.is_dir():
            return found
        try:
            with os.scandir(self.folder) as entries:
                folders = sorted(
                    entry.path for entry in entries if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
                )
            for folder in folders:
                with os.scandir(folder) as entries:
                    files = [
                        Path(entry.path)
                        for entry in entries
                        if entry.is_file(follow_symlinks=False)
                        and not entry.name.startswith(".")
                        and (_NAME.fullmatch(entry.name) if ours_only else entry.name.lower().endswith(_IMAGE_SUFFIXES))
                    ]
                found[Path(folder).name] = sorted(files)
        except OSError as exc:
            raise ProjectError(f"cannot list {self.folder}: {exc.strerror or exc}") from None
        return found

    # ------------------------------------------------------------------ exporting and clearing

    def export_to(self, target: Path) -> int:
        """Copy the set to ``target`` (a new or empty folder), complete or not at all.

        Copies the images and the sidecars of each class folder and the README; links are
        not followed. Returns the number of images copied.

        Raises:
            ProjectError: ``target`` holds something, is inside the set, or cannot be written.
        """
        target = Path(target)
        if target.resolve() == self.folder.resolve() or self.folder.resolve() in target.resolve().parents:
            raise ProjectError(f"{target} is inside the handwriting set; export it to a folder elsewhere")
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise ProjectError(f"{target} is not a folder; choose a new or empty folder to export to")
        try:
            if target.exists() and any(target.iterdir()):
                raise ProjectError(f"{target} is not empty; choose a new or empty folder, nothing is overwritten")
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        except OSError as exc:
            raise ProjectError(f"cannot write {target}: {exc.strerror or exc}; choose another folder") from None
        images = 0
        ours = self._class_files(ours_only=True)
        try:
            for name, files in self._class_files().items():
                sidecars = [f for f in ours.get(name, []) if f.suffix != ".png"]
                if not files:
                    continue
                (staging / name).mkdir()
                for file in [*files, *sidecars]:
                    shutil.copy2(file, staging / name / file.name, follow_symlinks=False)
                images += len(files)
            readme = self.folder / README_NAME
            if readme.is_file() and not readme.is_symlink():
                shutil.copy2(readme, staging / README_NAME)
            if target.exists():
                target.rmdir()  # empty, checked above
            staging.rename(target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ProjectError(f"cannot export to {target}: {exc.strerror or exc}; nothing was written there") from None
        return images

    def clear(self) -> Cleared:
        """Delete the drawings this app saved (and then empty folders); anything else stays.

        Raises:
            ProjectError: a file cannot be deleted (what was deleted before stays deleted).
        """
        removed = 0
        kept = 0
        ours = self._class_files(ours_only=True)
        for name, files in self._class_files().items():
            mine = set(ours.get(name, []))
            kept += sum(1 for f in files if f not in mine)
        try:
            for name, files in ours.items():
                for file in files:
                    file.unlink()
                    removed += file.suffix == ".png"
                with contextlib.suppress(OSError):
                    (self.folder / name).rmdir()  # only when nothing else is left in it
            readme = self.folder / README_NAME
            if readme.is_file() and not readme.is_symlink() and not _other_entries(self.folder):
                readme.unlink()
                with contextlib.suppress(OSError):
                    self.folder.rmdir()
        except OSError as exc:
            raise ProjectError(f"cannot delete from {self.folder}: {exc.strerror or exc}") from None
        return Cleared(removed, kept)


def _other_entries(folder: Path) -> bool:
    """Whether ``folder`` holds anything besides its README."""
    try:
        return any(entry.name != README_NAME for entry in folder.iterdir())
    except OSError:
        return True


# ---------------------------------------------------------------------- the files


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; ``FileExistsError`` when the name is taken.

    The bytes go to a temporary file in the same folder first, and are flushed to disk; a
    hard link then gives them their name only if it is free. Where links are not allowed
    (some network and FAT file systems) a rename after a check stands in: the names are
    random, so the window between the two is harmless.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if path.exists() or path.is_symlink():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise ProjectError(f"cannot write {path}: {exc.strerror or exc}; check the folder's permissions and free space") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _png_bytes(image: NDArray[np.float32]) -> bytes:
    from PIL import Image

    pixels = np.round(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _npz_bytes(picture: NDArray[np.float32]) -> bytes:
    pixels = np.round(np.clip(np.nan_to_num(np.asarray(picture, np.float32)), 0.0, 1.0) * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, picture=pixels)
    return buffer.getvalue()


def _sidecar_bytes(drawing: Drawing, label: str, stem: str, picture: Path | None, now: datetime.datetime | None) -> bytes:
    record: dict[str, Any] = {
        "format": FORMAT,
        "label": label,
        "created": (now or datetime.datetime.now()).isoformat(timespec="seconds"),
        "image": f"{stem}.png",
        "answer": None if drawing.answer is None else {"class": drawing.answer[0], "probability": round(float(drawing.answer[1]), 4)},
        "model": drawing.model,
        "canvas": {
            "size": int(drawing.canvas_size),
            "strokes": [
                {"width": round(float(s.width), 2), "points": [[round(x, 2), round(y, 2), round(p, 3)] for x, y, p in s.points]}
                for s in drawing.strokes
            ],
        },
        "picture": None if picture is None else picture.name,
    }
    return (json.dumps(record, indent=1) + "\n").encode("utf-8")


def read_record(image: Path) -> Record:
    """What the sidecar beside a saved drawing ``image`` holds, to preprocess it again.

    Raises:
        ProjectError: there is no sidecar, or it is not one this module wrote (wrong
            format, damaged, absurdly large); the message names the file.
    """
    sidecar = Path(image).with_suffix(".json")
    where = f"the drawing record {sidecar}"
    try:
        if sidecar.is_symlink() or sidecar.stat().st_size > _MAX_SIDECAR_BYTES:
            raise ProjectError(f"{where} is a link or too large to be a drawing record; delete it")
        # A regular file only (a named pipe would block), integers of bounded length.
        raw = loads_json(read_capped(sidecar, _MAX_SIDECAR_BYTES))
    except OSError as exc:
        raise ProjectError(f"cannot read {where}: it {os_error_reason(exc)}") from None
    except JsonError as exc:
        raise ProjectError(f"{where} is damaged ({exc}); delete it and the drawing beside it") from None
    try:
        return _parse_record(raw, sidecar)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        raise ProjectError(f"{where} is not a drawing record ({type(exc).__name__}: {exc})") from None


def _parse_record(raw: Any, sidecar: Path) -> Record:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ValueError(f"its format is not {FORMAT!r}")
    canvas = raw["canvas"]
    strokes = tuple(
        Stroke(
            _finite(stroke["width"]),
            tuple((_finite(x), _finite(y), _finite(p)) for x, y, p in stroke["points"]),
        )
        for stroke in canvas["strokes"]
    )
    size = canvas["size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 100_000:
        raise ValueError(f"canvas size {size!r}")
    answer = raw.get("answer")
    parsed_answer = None if answer is None else (str(answer["class"]), _finite(answer["probability"]))
    picture = None
    name = raw.get("picture")
    if name is not None:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or not name.endswith(".npz"):
            raise ValueError(f"picture {name!r}")
        picture = _read_picture(sidecar.with_name(name))
    label, model, created = raw["label"], raw.get("model", ""), raw.get("created", "")
    if not all(isinstance(v, str) for v in (label, model, created)):
        raise ValueError("label, model and created must be text")
    return Record(label, strokes, size, picture, parsed_answer, model, created)


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _read_picture(path: Path) -> NDArray[np.uint8]:
    if path.is_symlink() or path.stat().st_size > _MAX_PICTURE_BYTES:
        raise ValueError(f"{path.name} is a link or too large")
    try:
        # np.load would block on a named pipe and allocate whatever a header claims.
        pixels = read_numeric_npz(path, path.name, ("picture",), fix="")["picture"]
    except (DataError, KeyError) as exc:
        raise ValueError(f"{path.name} cannot be read ({type(exc).__name__})") from None
    if pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise ValueError(f"{path.name} holds {pixels.dtype} {pixels.shape}, not a grayscale picture")
    return pixels
