"""Pipeline files under the server's root dir: find them and summarise each (blocking; run it
in a thread)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import PipelineError, load_pipeline, validate_pipeline

PIPELINE_SUFFIXES = (".orchest", ".pipeline")
SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages"}
MAX_SUMMARISED_BYTES = 10 << 20


@dataclass(frozen=True)
class _Key:
    mtime_ns: int
    size: int


class PipelineFinder:
    """Walks the root dir for pipeline files; summaries are cached by modification time."""

    def __init__(self, root: Path | str, limit: int = 2000) -> None:
        self.root = Path(root).resolve()
        self.limit = limit
        self._cache: dict[Path, tuple[_Key, dict[str, Any]]] = {}

    def find(self) -> tuple[list[dict[str, Any]], bool]:
        """Summaries of the pipeline files (sorted by path) and whether the walk was cut short."""
        paths: list[Path] = []
        truncated = False
        for directory, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(
                name for name in dirnames if not name.startswith(".") and name not in SKIPPED_DIRS
            )
            for name in sorted(filenames):
                if name.endswith(PIPELINE_SUFFIXES) and not name.startswith("."):
                    paths.append(Path(directory) / name)
            if len(paths) >= self.limit:
                truncated = True
                paths = paths[: self.limit]
                break
        summaries = [self.summarise(path) for path in paths]
        live = set(paths)
        for stale in [path for path in self._cache if path not in live]:
            del self._cache[stale]
        return summaries, truncated

    def summarise(self, path: Path) -> dict[str, Any]:
        """Name, uuid, format, step count and issue count of one pipeline file."""
        try:
            stat = path.stat()
        except OSError as err:
            return self._unreadable(path, err.strerror or str(err))
        key = _Key(stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached and cached[0] == key:
            return cached[1]
        summary = self._read(path, stat.st_size)
        self._cache[path] = (key, summary)
        return summary

    def _read(self, path: Path, size: int) -> dict[str, Any]:
        if size > MAX_SUMMARISED_BYTES:
            return self._unreadable(path, f"the file is larger than {MAX_SUMMARISED_BYTES} bytes")
        summary = self._base(path)
        try:
            pipeline = load_pipeline(path, check_files=False)
        except PipelineError as err:
            summary["issues"] = len(err.issues)
            summary["error"] = str(err.issues[0].message) if err.issues else "not a pipeline"
            return summary
        summary.update(name=pipeline.name, uuid=pipeline.uuid, steps=len(pipeline.steps))
        summary["issues"] = len(validate_pipeline(path.read_bytes(), path.parent, path))
        return summary

    def _base(self, path: Path) -> dict[str, Any]:
        return {
            "path": path.relative_to(self.root).as_posix(),
            "format": "elyra" if path.suffix == ".pipeline" else "orchest",
            "name": path.stem,
            "uuid": None,
            "steps": 0,
            "issues": 0,
            "error": None,
        }

    def _unreadable(self, path: Path, reason: str) -> dict[str, Any]:
        summary = self._base(path)
        summary.update(issues=1, error=f"Cannot read the pipeline file: {reason}")
        return summary
