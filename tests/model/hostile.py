"""Hostile inputs for the command line: small files that claim huge sizes, pipes, devices, lies.

:func:`build_cases` writes each case into a folder and returns the table; :func:`run_case`
runs one through ``main.py`` in a subprocess with a time limit and an address-space limit
(``RLIMIT_AS``), and measures its peak memory (``VmHWM``, polled; see :func:`_peak_watcher`); :func:`problems`
says what is wrong with an outcome: anything but exit status 2 with one ``error:`` line
naming the problem, no traceback, in bounded time. The test (``test_hostile_inputs.py``)
and the bench (``bench/hostile_inputs.py``) run the same table.

The files stay small: a zip whose headers lie about its sizes, a deflate stream of 1.5 GB
of zeros built from one repeated 16 kB block, a sparse file. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURE_RUN = ROOT / "tests" / "fixtures" / "run_v1"
PRESET = ROOT / "resources" / "presets" / "mlp.json"
ADDRESS_SPACE_LIMIT = 8 * 1024**3
"""What a case may map (``RLIMIT_AS``): TensorFlow's import maps about 3 GB."""
TIMEOUT_S = 240.0


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    expect: str  # a piece of the one error line
    slow: bool = False  # imports TensorFlow before refusing


@dataclass(frozen=True)
class Outcome:
    case: Case
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int
    timed_out: bool


# --------------------------------------------------------------------------- zips that lie


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _deflated_zeros(head: bytes, zero_count: int) -> bytes:
    """A raw deflate stream of ``head`` then ``zero_count`` zero bytes, built without compressing them all."""
    block_size = 16 << 20
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [first.compress(head) + first.flush(zlib.Z_FULL_FLUSH)]
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(block_size)) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, self-contained
    out.append(block * (zero_count // block_size))
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    out.append(tail.compress(bytes(zero_count % block_size)) + tail.flush())
    return b"".join(out)


Entry = tuple[str, bytes, int, int, int]  # name, payload, declared size, method (0 stored, 8 deflate), CRC-32


def stored(name: str, data: bytes, declared: int | None = None) -> Entry:
    return (name, data, len(data) if declared is None else declared, 0, zlib.crc32(data))


def deflated(name: str, data: bytes) -> Entry:
    return (name, _deflate(data), len(data), 8, zlib.crc32(data))


def zip_bytes(entries: list[Entry]) -> bytes:
    """A zip of :data:`Entry` tuples, written by hand so that its sizes may lie."""
    local, central = io.BytesIO(), io.BytesIO()
    for name, payload, size, method, crc in entries:
        raw_name = name.encode()
        offset = local.tell()
        local.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(payload), size, len(raw_name), 0))
        local.write(raw_name + payload)
        central.write(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(payload), size,
                len(raw_name), 0, 0, 0, 0, 0, offset,
            )  # fmt: skip
            + raw_name
        )
    cd = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), local.tell(), 0)
    return local.getvalue() + cd + end


def _npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def npz_of_zeros(path: Path, n: int) -> None:
    """An ``.npz`` whose ``x_train`` is ``n`` 28x28 uint8 zero images (1.5 GB for n = 2,000,000), in 1.5 MB."""
    head = _npy_header((n, 28, 28), "|u1")
    x = _deflated_zeros(head, n * 784)
    y_head = _npy_header((n,), "<i8")
    y = _deflated_zeros(y_head, n * 8)
    # The CRC is left 0: the archive is refused from its header, long before a CRC is checked.
    path.write_bytes(zip_bytes([("x_train.npy", x, len(head) + n * 784, 8, 0), ("y_train.npy", y, len(y_head) + n * 8, 8, 0)]))


def npz_claiming_more_than_it_holds(path: Path) -> None:
    data = _npy_header((10**6, 28, 28), "|u1") + bytes(1000)
    path.write_bytes(zip_bytes([deflated("x_train.npy", data), deflated("y_train.npy", data)]))


def state_claiming_8_tib(path: Path) -> None:
    """A ``training_state.npz`` whose array header claims 8 TiB (its zip header claims a little)."""
    epochs = _npy_header((), "<i8") + (2).to_bytes(8, "little")
    claim = _npy_header((2**41,), "<f4") + bytes(64)
    path.write_bytes(zip_bytes([deflated("000_adam/iteration.npy", claim), deflated("__epochs_done__.npy", epochs)]))


def model_archive(path: Path, description: object, extra: list[Entry] | None = None) -> None:
    """A ``.keras`` archive of the fixture's weights with ``description`` (a JSON text or object)."""
    with zipfile.ZipFile(FIXTURE_RUN / "model.keras") as fixture:
        weights = fixture.read("model.weights.h5")
        metadata = fixture.read("metadata.json")
    text = description if isinstance(description, (str, bytes)) else json.dumps(description)
    raw = text.encode() if isinstance(text, str) else text
    entries = [stored("metadata.json", metadata), stored("config.json", raw), stored("model.weights.h5", weights)]
    path.write_bytes(zip_bytes(entries + (extra or [])))


def fixture_description() -> dict[str, object]:
    with zipfile.ZipFile(FIXTURE_RUN / "model.keras") as fixture:
        return json.loads(fixture.read("config.json"))


def diverged_model(path: Path) -> None:
    """The fixture's model with every weight NaN (what a diverged run leaves)."""
    import h5py

    with zipfile.ZipFile(FIXTURE_RUN / "model.keras") as fixture:
        parts = {info.filename: fixture.read(info) for info in fixture.infolist()}
    buffer = io.BytesIO(parts["model.weights.h5"])
    with h5py.File(buffer, "r+") as weights:
        weights.visititems(lambda _n, o: o.__setitem__(..., np.nan) if isinstance(o, h5py.Dataset) else None)
    parts["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)


# --------------------------------------------------------------------------- the table


def _config(**changes: object) -> dict[str, object]:
    config = json.loads(PRESET.read_text())
    config.update(changes)
    return config


def _write(path: Path, content: str | bytes | object) -> str:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def _fifo(path: Path) -> str:
    os.mkfifo(path)
    return str(path)


def _run_folder(folder: Path, **replace: bytes) -> str:
    folder.mkdir()
    for source in FIXTURE_RUN.iterdir():
        (folder / source.name).write_bytes(source.read_bytes())
    for name, data in replace.items():
        (folder / name.replace("__", ".")).write_bytes(data)
    return str(folder)


def tiny_npz(path: Path) -> str:
    rng = np.random.default_rng(0)
    x = (rng.random((800, 28, 28)) * 255).astype(np.uint8)  # enough for full batches of 128
    np.savez(path, x_train=x[:700], y_train=np.arange(700) % 10, x_test=x[700:], y_test=np.arange(100) % 10)
    return str(path)


def build_cases(folder: Path) -> list[Case]:
    """Write every hostile input under ``folder``; the table of what to run and what to expect."""
    f = folder
    data = tiny_npz(f / "tiny.npz")
    train = ("train", "--config")
    layers = _config()["layers"]
    assert isinstance(layers, list)
    cases = [
        # configurations
        Case("config: a 5,000-digit integer", (*train, _write(f / "bigint.json", json.dumps(_config()).replace('"seed": 42', '"seed": ' + "9" * 5000))), "whole number of 5,000 digits"),
        Case("config: /dev/zero", (*train, "/dev/zero"), "character device"),
        Case("config: a named pipe", (*train, _fifo(f / "pipe.json")), "named pipe"),
        Case("config: 3 MB (a sparse file)", (*train, _sparse(f / "huge.json", 3 << 20)), "more than the 2,097,152 accepted"),
        Case("config: 20,000 layers", (*train, _write(f / "deep.json", _config(layers=[{"type": "Dense", "units": 10}] * 20000))), "20,000 layers are more than the 200"),
        Case("config: 10 MB (over the cap)", (*train, _write(f / "big.json", _config(name="x" * 10_000_000))), "more than the 2,097,152 accepted"),
        Case("config: a 1.5 MB activation", (*train, _write(f / "act.json", _config(layers=[{"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "x" * 1_500_000}]))), "1,500,000 characters"),
        Case("config: nested 100,000 deep", (*train, _write(f / "nest.json", "[" * 100_000 + "]" * 100_000)), "nested too deeply"),
        Case("config: not UTF-8", (*train, _write(f / "latin.json", b"\xff\xfe{}")), "not a text"),
        Case("config: NaN learning rate", (*train, _write(f / "nan.json", json.dumps(_config(optimizer={"name": "adam", "learning_rate": float("nan")})))), "finite"),
        Case("config: a 1.5 MB key", (*train, _write(f / "key.json", _config(**{"k" * 1_500_000: 1}))), "unknown field"),
        Case("--set: a 100 kB value", (*train, str(PRESET), "--set", "epochs=" + "7" * 100_000), "epochs"),
        # layer stacks too big for memory, refused before TensorFlow
        Case("stack: Dense 65536 x 3", (*train, _write(f / "dense3.json", _config(layers=[{"type": "Flatten"}] + [{"type": "Dense", "units": 65536}] * 3 + [{"type": "Dense", "units": 10, "activation": "softmax"}])), "--data", data), "of memory to train"),
        Case("stack: Conv2D 4096 filters, kernel 64", (*train, _write(f / "conv.json", _config(layers=[{"type": "Conv2D", "filters": 4096, "kernel_size": 64, "padding": "same"}, {"type": "Flatten"}, {"type": "Dense", "units": 10, "activation": "softmax"}])), "--data", data), "of memory to train"),
        Case("stack: Conv2D then Dense 65536", (*train, _write(f / "convdense.json", _config(layers=[{"type": "Conv2D", "filters": 32}, {"type": "Flatten"}, {"type": "Dense", "units": 65536}, {"type": "Dense", "units": 10, "activation": "softmax"}])), "--data", data), "of memory to train"),
        # data files
        Case("data: a named pipe (.npz)", (*train, str(PRESET), "--data", _fifo(f / "pipe.npz")), "named pipe"),
        Case("data: a named pipe (no suffix)", (*train, str(PRESET), "--data", _fifo(f / "pipe")), "named pipe"),
        Case("data: a named pipe (.csv)", (*train, str(PRESET), "--data", _fifo(f / "pipe.csv")), "named pipe"),
        Case("data: /dev/zero", (*train, str(PRESET), "--data", "/dev/zero"), "character device"),
        Case("data: 1.5 GB of zeros in 1.5 MB", (*train, str(PRESET), "--data", _npz_of_zeros(f / "zeros.npz")), "of memory to train on"),
        Case("data: a header claiming more than its member", (*train, str(PRESET), "--data", _call(npz_claiming_more_than_it_holds, f / "liar.npz")), "damaged"),
        Case("data: pickled objects", (*train, str(PRESET), "--data", _pickled(f / "pickle.npz")), "pickled objects are never loaded"),
        Case("data: random bytes", (*train, str(PRESET), "--data", _write(f / "random.npz", os.urandom(4096))), "not a valid .npz"),
        # model files
        Case("model: a named pipe", ("evaluate", _fifo(f / "pipe.keras")), "named pipe"),
        Case("model: a 15 MB string in its description", ("evaluate", _call(model_archive, f / "string.keras", _with_name("x" * 15_000_000))), "15,000,000 characters"),
        Case("model: 3.9 GiB weights entry in 4 MB", ("evaluate", _weights_bomb(f / "bomb.keras")), "weights entry declares"),
        Case("model: eight 255 MiB entries", ("evaluate", _call(model_archive, f / "eight.keras", fixture_description(), [(f"data{i}", os.urandom(64), 255 << 20, 8, 0) for i in range(8)])), "which no zip archive can hold"),
        Case("model: eight 255 MiB assets", ("evaluate", _call(model_archive, f / "assets.keras", fixture_description(), [(f"assets/a{i}", os.urandom(255 << 10), 255 << 20, 8, 0) for i in range(8)])), "assets declare"),
        Case("model: an entry outside the archive", ("evaluate", _call(model_archive, f / "traversal.keras", fixture_description(), [stored("../../evil.py", b"import os")])), "does not have"),
        Case("model: a Lambda layer", ("evaluate", _call(model_archive, f / "lambda.keras", _with_class("Lambda"))), "Lambda layer"),
        Case("model: os.system as a layer", ("evaluate", _call(model_archive, f / "system.keras", _with_class("system", "os"))), "custom object"),
        Case("model: a 5,000-digit integer", ("evaluate", _call(model_archive, f / "bigint.keras", json.dumps(fixture_description()).replace('"units": 6', '"units": ' + "9" * 5000))), "5,000 digits"),
        Case("model: 3,000 layers", ("evaluate", _call(model_archive, f / "layers.keras", _with_layers(3000))), "more than 2,000 layers"),
        Case("model: nested 10,000 deep", ("evaluate", _call(model_archive, f / "nest.keras", "[" * 10_000 + "]" * 10_000)), "nested too deeply"),
        Case("model: random bytes", ("evaluate", _write(f / "random.keras", os.urandom(4096))), "corrupt or truncated"),
        Case("model: truncated", ("evaluate", _write(f / "cut.keras", (FIXTURE_RUN / "model.keras").read_bytes()[:3000])), "corrupt or truncated"),
        Case("model: legacy HDF5", ("evaluate", _write(f / "old.h5", b"\x89HDF\r\n\x1a\n")), "legacy HDF5"),
        Case("model: diverged (NaN weights)", ("evaluate", _call(diverged_model, f / "nan.keras"), "--data", data), "diverged", slow=True),
        Case("predict: an image that is a named pipe", ("predict", str(FIXTURE_RUN / "model.keras"), _fifo(f / "pipe.png")), "named pipe", slow=True),
        # run folders
        Case("run: training_state.npz claims 8 TiB", ("train", "--resume", _run_folder(f / "run_8tib", training_state__npz=_bytes(state_claiming_8_tib, f / "s.npz"))), "optimizer state is damaged"),
        Case("run: vector __epochs_done__", ("train", "--resume", _run_folder(f / "run_vector", training_state__npz=_npz_bytes(__epochs_done__=np.arange(3)))), "not one whole number"),
        Case("run: text __epochs_done__", ("train", "--resume", _run_folder(f / "run_text", training_state__npz=_npz_bytes(__epochs_done__=np.array(["two"])))), "damaged"),
        Case("run: random bytes as training_state.npz", ("train", "--resume", _run_folder(f / "run_random", training_state__npz=os.urandom(2048))), "not a valid .npz"),
        Case("run: config.json with a 5,000-digit integer", ("evaluate", _run_folder(f / "run_bigint", config__json=json.dumps(_config()).replace('"seed": 42', '"seed": ' + "9" * 5000).encode())), "5,000 digits"),
        Case("run: model.keras is a named pipe", ("evaluate", _fifo_in(_run_folder(f / "run_pipe"), "model.keras")), "named pipe"),
        # output folders
        Case("--out: a folder of the user's own files", (*train, str(PRESET), "--out", _own_files(f / "mine")), "not a run folder"),
        Case("--out: inside a file", (*train, str(PRESET), "--out", _write(f / "afile", "x") + "/run"), "cannot write into"),
    ]
    return cases


def _call(make: object, path: Path, *args: object) -> str:
    make(path, *args)  # type: ignore[operator]
    return str(path)


def _bytes(make: object, path: Path) -> bytes:
    make(path)  # type: ignore[operator]
    return path.read_bytes()


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _sparse(path: Path, size: int) -> str:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return str(path)


def _npz_of_zeros(path: Path) -> str:
    npz_of_zeros(path, 2_000_000)
    return str(path)


def _pickled(path: Path) -> str:
    np.savez(path, x_train=np.array([{"a": 1}] * 20, dtype=object), y_train=np.arange(20))
    return str(path)


def _with_name(name: str) -> dict[str, object]:
    description = fixture_description()
    description["config"]["name"] = name  # type: ignore[index]
    return description


def _with_class(class_name: str, module: str = "keras.layers") -> dict[str, object]:
    description = fixture_description()
    description["config"]["layers"][1].update(class_name=class_name, module=module)  # type: ignore[index]
    return description


def _with_layers(n: int) -> dict[str, object]:
    description = fixture_description()
    flatten = description["config"]["layers"][1]  # type: ignore[index]
    description["config"]["layers"] = [flatten] * n  # type: ignore[index]
    return description


def _weights_bomb(path: Path) -> str:
    """The issue's case: a 4 MB archive whose weights entry declares 3.9 GiB (a ratio deflate allows)."""
    declared = int(3.9 * 1024**3)
    payload = os.urandom(4 << 20)
    with zipfile.ZipFile(FIXTURE_RUN / "model.keras") as fixture:
        metadata, config = fixture.read("metadata.json"), fixture.read("config.json")
    entries = [stored("metadata.json", metadata), stored("config.json", config)]
    path.write_bytes(zip_bytes([*entries, ("model.weights.h5", payload, declared, 8, 0)]))
    return str(path)


def _fifo_in(folder: str, name: str) -> str:
    (Path(folder) / name).unlink()
    os.mkfifo(Path(folder) / name)
    return folder


def _own_files(folder: Path) -> str:
    folder.mkdir()
    (folder / "config.json").write_text('{"mine": true}')
    (folder / "metrics.json").write_text('{"mine": true}')
    return str(folder)


# --------------------------------------------------------------------------- running


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _peak_watcher(pid: int) -> tuple[list[int], threading.Thread]:
    """Follow ``pid``'s ``VmHWM`` (its own peak resident memory) until it exits.

    ``wait4``'s ``ru_maxrss`` would be simpler, but Linux carries the parent's resident
    size into it across the fork (the test process's gigabyte or two after a long suite),
    so it says nothing about the case. Polled every 20 ms: the mark only rises, so a read
    shortly before the end holds nearly all of it.
    """
    peak = [0]

    def watch() -> None:
        status = Path(f"/proc/{pid}/status")
        while True:
            try:
                text = status.read_text()
            except OSError:
                return
            if "State:\tZ" in text:
                return  # exited: a zombie has no memory figures left
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]) * 1024)
            time.sleep(0.02)

    thread = threading.Thread(target=watch, name=f"peak-{pid}", daemon=True)
    thread.start()
    return peak, thread


def run_case(case: Case, timeout: float = TIMEOUT_S, root: Path = ROOT) -> Outcome:
    """Run ``root``'s ``main.py`` with the case's arguments under the limits; what came of it."""
    # No GPU: CUDA reserves more address space than the limit allows, and refusals need none.
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONPATH": str(root), "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    started = time.monotonic()
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, str(root / "main.py"), *case.args],
            stdin=stdin, stdout=out, stderr=err, cwd=root, env=env, preexec_fn=_limits,
        )  # fmt: skip
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            os.kill(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        peak, watcher = _peak_watcher(process.pid)
        try:
            _, status, _usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
            watcher.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Outcome(
        case, process.returncode, stdout, stderr, time.monotonic() - started, peak[0],
        timed_out.is_set(),
    )


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with an outcome: anything but a clean, one-line refusal in bounded time."""
    from model.quiet import is_chatter

    found = []
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if any(is_chatter(line) for line in lines):
        found.append("TensorFlow's log notes in the terminal")
    errors = [line for line in lines if line.startswith("error:")]
    if outcome.timed_out:
        found.append(f"no answer within {TIMEOUT_S:.0f} s")
    if "Traceback" in outcome.stderr:
        found.append("a traceback")
    if outcome.returncode != 2:
        found.append(f"exit status {outcome.returncode}")
    if len(errors) != 1 or not lines or lines[-1] != errors[0]:
        found.append(f"not one error line at the end: {lines[-3:]!r}"[:300])
    elif outcome.case.expect not in errors[0]:
        found.append(f"the message does not say {outcome.case.expect!r}: {errors[0][:300]!r}")
    elif len(errors[0]) > 1000:
        found.append(f"a message of {len(errors[0]):,} characters")
    return found
