"""Data passing: a step's output is a file in its run directory, read by its children.
Outside a run, a developed step's output goes to the pipeline's ``.orchest/interactive``
directory, and its inputs are its parents' newest outputs from successful runs or from their
own development.

Values that JSON holds exactly (dicts with string keys, lists, strings, numbers, booleans,
None) are written as JSON, which steps in other languages (R) read too; pandas data frames
are pickled and written as CSV besides, for R. Other objects are pickled with protocol 5 and
their large buffers (numpy arrays, Arrow data, bytes) are written out of band, straight from
memory to the file. ``meta.json`` names the format: ``pickle5``, ``json`` or ``csv`` (data
frames from R). ``summary.json`` says what the output is, with a preview (see ``summary``).
"""

from __future__ import annotations

import json
import mmap
import os
import pickle
import struct
import warnings
from pathlib import Path
from typing import Any

from .interactive import developed_step
from .summary import write_summary
from .utils import OrchestError, context, in_run, json_context

OUTPUT_DIR = "output"
DATA_FILE = "data.pickle5"
JSON_FILE = "data.json"
CSV_FILE = "data.csv"
_JSON_TYPES = (dict, list, str, int, float, bool, type(None))
META_FILE = "meta.json"
UNNAMED = "unnamed"
_LENGTH = struct.Struct("<Q")
_HUGE_PAGE = 2 << 20

__all__ = ["OrchestError", "OutputError", "get_inputs", "output"]


class OutputError(OrchestError):
    """An output cannot be stored or read."""


def output(data: Any, name: str | None = None) -> None:
    """Store ``data`` as this step's output for this run; a second call replaces the first."""
    if name == UNNAMED:
        raise OutputError(f"{UNNAMED!r} is reserved for unnamed outputs; choose another name")
    label = repr(name) if name is not None else "(unnamed)"
    if in_run():
        directory = Path(context("ORCHEST_STEP_DIR")) / OUTPUT_DIR
        step_uuid = os.environ.get("ORCHEST_STEP_UUID")
    else:
        step = developed_step()
        directory, step_uuid = step.output_dir, step.uuid
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"name": name, "step_uuid": step_uuid}
    text = _exact_json(data)
    if text is not None:
        _atomic_write(directory / JSON_FILE, text.encode())
        meta["format"] = "json"
        files = [JSON_FILE]
    else:
        buffers: list[pickle.PickleBuffer] = []
        try:
            header = pickle.dumps(data, protocol=5, buffer_callback=buffers.append)
        except Exception as err:
            raise OutputError(
                f"Cannot serialize output {label}: {type(err).__name__}: {err}"
            ) from err
        _write_data(directory / DATA_FILE, header, [buffer.raw() for buffer in buffers])
        meta["format"] = "pickle5"
        files = [DATA_FILE]
        if _is_data_frame(data):
            data.to_csv(directory / CSV_FILE, index=False)
            meta["also"] = ["csv"]
            files.append(CSV_FILE)
    _atomic_write(directory / META_FILE, json.dumps(meta).encode())
    write_summary(directory, [directory / file for file in files], data, name, text)


def _exact_json(data: Any) -> str | None:
    """``data`` as JSON if JSON gives it back exactly (no tuples, int keys, NaN...), else
    None."""
    if not isinstance(data, _JSON_TYPES):
        return None
    try:
        text = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if _same(json.loads(text), data) else None


def _same(decoded: Any, data: Any) -> bool:
    """Equal and of the same types all the way down (JSON has no tuples; ``1 == True``)."""
    if type(decoded) is not type(data):
        return False
    if isinstance(data, dict):
        return decoded.keys() == data.keys() and all(_same(decoded[k], data[k]) for k in data)
    if isinstance(data, list):
        return len(decoded) == len(data) and all(map(_same, decoded, data))
    return decoded == data


def _is_data_frame(data: Any) -> bool:
    """A pandas DataFrame (pandas 3 names its module ``pandas``, earlier ones
    ``pandas.core.frame``)."""
    return type(data).__module__.split(".")[0] == "pandas" and type(data).__name__ == "DataFrame"


def get_inputs() -> dict[str, Any]:
    """Outputs of this step's parents: named ones by name, and ``"unnamed"``: a list of the
    unnamed ones in the order of the step's incoming connections."""
    inputs: dict[str, Any] = {UNNAMED: []}
    for directory in _parent_outputs():
        meta = json.loads((directory / META_FILE).read_text())
        value = _read_value(directory, meta.get("format", "pickle5"))
        if meta["name"] is None:
            inputs[UNNAMED].append(value)
        else:
            inputs[meta["name"]] = value
    return inputs


def _parent_outputs() -> list[Path]:
    """The output directories of the parents that have one, in connection order."""
    if in_run():
        parents = json_context("ORCHEST_STEP_PARENTS", [])
        found = [_output_dir(parent["uuid"], parent["in_run"]) for parent in parents]
        return [directory for directory in found if directory is not None]
    step = developed_step()
    outputs = []
    for uuid, title in step.parents:
        directory = step.parent_output(uuid, META_FILE)
        if directory is None:
            warnings.warn(
                f"Step {title!r} ({uuid}) has no output yet, from a successful run or from "
                "orchest.output while developing it: run it first.",
                stacklevel=3,
            )
        else:
            outputs.append(directory)
    return outputs


def _output_dir(step_uuid: str, parent_in_run: bool) -> Path | None:
    """This run's output of a parent step; for a parent outside the run, its latest output
    from an earlier run of the pipeline."""
    run_dir = Path(context("ORCHEST_RUN_DIR"))
    current = run_dir / "steps" / step_uuid / OUTPUT_DIR
    if parent_in_run:
        return current if (current / META_FILE).exists() else None
    earlier = [
        meta.parent
        for meta in run_dir.parent.glob(f"*/steps/{step_uuid}/{OUTPUT_DIR}/{META_FILE}")
        if meta.parent != current
    ]
    return max(earlier, key=lambda d: (d / META_FILE).stat().st_mtime, default=None)


def _read_value(directory: Path, data_format: str) -> Any:
    """An output's value in the format its ``meta.json`` names."""
    if data_format == "json":
        return json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
    if data_format == "csv":
        try:
            import pandas
        except ImportError:
            raise OutputError(
                f"{directory} holds a data frame (CSV): install pandas to read it"
            ) from None
        return pandas.read_csv(directory / CSV_FILE)
    if data_format == "pickle5":
        return _read_data(directory / DATA_FILE)
    raise OutputError(f"{directory} holds an output in an unknown format: {data_format!r}")


def _write_data(path: Path, header: bytes, buffers: list[memoryview]) -> None:
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        handle.write(_LENGTH.pack(len(header)))
        handle.write(header)
        handle.write(_LENGTH.pack(len(buffers)))
        for buffer in buffers:
            handle.write(_LENGTH.pack(buffer.nbytes))
            handle.write(buffer)
    os.replace(partial, path)


def _read_data(path: Path) -> Any:
    with path.open("rb") as handle:
        header = handle.read(_read_length(handle))
        buffers = []
        for _ in range(_read_length(handle)):
            buffer = _uninitialized(_read_length(handle))
            handle.readinto(buffer)
            buffers.append(buffer)
    return pickle.loads(header, buffers=buffers)


def _uninitialized(size: int) -> mmap.mmap | bytearray:
    """A writable buffer for a large read: private anonymous memory, mapped lazily and in
    huge pages where the OS offers them (as numpy does), instead of a zero-filled bytearray."""
    if size < _HUGE_PAGE:
        return bytearray(size)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        buffer.madvise(mmap.MADV_HUGEPAGE)
    return buffer


def _read_length(handle) -> int:
    return _LENGTH.unpack(handle.read(_LENGTH.size))[0]


def _atomic_write(path: Path, content: bytes) -> None:
    partial = path.with_suffix(".partial")
    partial.write_bytes(content)
    os.replace(partial, path)
