"""What an output is, in a few KB: written as ``summary.json`` beside the output's data, so a
pipeline view can show what a step passed without reading the data.

``{"name", "type", "bytes", "preview"}`` where ``preview`` has a ``kind``: ``table`` (pandas,
polars, Arrow), ``array`` (numpy), ``image`` (PIL images, matplotlib figures), ``value``
(scalars and JSON up to 1 KB) or ``text`` (a short repr of anything else). A preview that
fails leaves ``preview`` null and says why in ``preview_error``: a summary never fails the
step. Libraries are never imported here; an object's type says which one made it.
"""

from __future__ import annotations

import json
import os
import reprlib
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from .previews import array_preview, image_preview, table_preview
from .values import json_safe

SUMMARY_FILE = "summary.json"
MAX_SUMMARY_BYTES = 64 * 1024
MAX_VALUE_JSON = 1024
MAX_TEXT = 200
SKIP_VARIABLE = "ORCHEST_OUTPUT_SUMMARIES"
"""Set to ``0`` to write no summaries (the benchmark measures what they cost)."""


class _ShortRepr(reprlib.Repr):
    """``reprlib``'s short reprs of containers, in time that does not grow with their size
    (``reprlib`` sorts a whole dict or set); an object's own ``repr`` that fails raises
    (``reprlib`` would hide why)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = MAX_TEXT

    def repr_instance(self, x: Any, level: int) -> str:
        return repr(x)[:MAX_TEXT]

    def repr_dict(self, x: dict, level: int) -> str:
        return super().repr_dict(dict(islice(x.items(), self.maxdict + 1)), level)

    def repr_set(self, x: set, level: int) -> str:
        return super().repr_set(set(islice(x, self.maxset + 1)), level)

    def repr_frozenset(self, x: frozenset, level: int) -> str:
        return super().repr_frozenset(frozenset(islice(x, self.maxfrozenset + 1)), level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        return repr(x[:MAX_TEXT])[:MAX_TEXT]

    repr_bytearray = repr_bytes


_REPR = _ShortRepr()


def write_summary(
    directory: Path, files: list[Path], data: Any, name: str | None, json_text: str | None
) -> None:
    """Write into ``directory`` the summary of ``data``, stored as ``files`` (``json_text``: its
    JSON, if stored as JSON). Never raises: a summary that cannot be written is left out with
    a warning on stderr."""
    if os.environ.get(SKIP_VARIABLE) == "0":
        return
    try:
        stored = sum(file.stat().st_size for file in files)
        summary = summarize(data, name, stored, json_text)
        partial = directory / (SUMMARY_FILE + ".partial")
        partial.write_text(json.dumps(summary, allow_nan=False), encoding="utf-8")
        os.replace(partial, directory / SUMMARY_FILE)
    except Exception as err:  # a summary never fails the step
        print(f"orchest: no summary of output {name!r}: {err}", file=sys.stderr)


def summarize(
    data: Any, name: str | None, stored_bytes: int, json_text: str | None = None
) -> dict[str, Any]:
    """The summary of an output, at most ``MAX_SUMMARY_BYTES`` as JSON."""
    summary: dict[str, Any] = {
        "name": name,
        "type": type_name(data),
        "bytes": stored_bytes,
        "preview": None,
    }
    try:
        summary["preview"] = preview(data, json_text)
    except Exception as err:
        summary["preview_error"] = _error_text(err)
    return _bounded(summary)


def type_name(data: Any) -> str:
    """``module.Qualname`` of the type of ``data``."""
    kind = type(data)
    return f"{kind.__module__}.{kind.__qualname__}"


def preview(data: Any, json_text: str | None = None) -> dict[str, Any]:
    """The preview of ``data``: the first kind that fits."""
    for make in _PREVIEWS:
        found = make(data)
        if found is not None:
            return found
    value = _value_preview(data, json_text)
    if value is not None:
        return value
    return {"kind": "text", "text": _REPR.repr(data)[:MAX_TEXT]}


def _value_preview(data: Any, json_text: str | None) -> dict[str, Any] | None:
    """Scalars (numpy's too) and JSON of at most 1 KB, as themselves."""
    if hasattr(data, "item") and type(data).__module__ == "numpy" and getattr(data, "ndim", 1) == 0:
        data = data.item()
    if json_text is None:
        if not isinstance(data, (str, int, float, bool, type(None))):
            return None
        try:
            json_text = json.dumps(data, allow_nan=False)
        except ValueError:  # NaN and infinities are no JSON values
            return None
    if len(json_text) > MAX_VALUE_JSON or len(json_text.encode()) > MAX_VALUE_JSON:
        return None
    return {"kind": "value", "value": json.loads(json_text)}


_PREVIEWS: list[Callable[[Any], dict[str, Any] | None]] = [
    table_preview,
    array_preview,
    image_preview,
]


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {json_safe(str(err))}"[:500]


def _bounded(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary if its JSON fits ``MAX_SUMMARY_BYTES``; else with fewer rows, else without
    its preview (saying so)."""
    if _size(summary) <= MAX_SUMMARY_BYTES:
        return summary
    preview = summary["preview"]
    if preview and preview.get("kind") == "table":
        smaller = {**summary, "preview": {**preview, "rows": []}}
        if _size(smaller) <= MAX_SUMMARY_BYTES:
            return smaller
    name = summary["name"]
    return {
        **summary,
        "name": name[:1000] if isinstance(name, str) else name,
        "preview": None,
        "preview_error": f"the preview is larger than {MAX_SUMMARY_BYTES // 1024} KB",
    }


def _size(summary: dict[str, Any]) -> int:
    return len(json.dumps(summary, allow_nan=False).encode())
