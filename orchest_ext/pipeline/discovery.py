"""Pipeline files under the server's root dir: find them and summarise each (blocking; run it
in a thread)."""

from __future__ import annotations

import os
import threading
import time
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
    """Finds pipeline files under the root dir; safe to call from several threads at once.

    The list of files is walked at most once per ``walk_ttl`` seconds (requests arriving
    together share one walk); each summary is cached by the file's modification time and size,
    so a changed file is re-read on the next call. The TTL is below the 300 ms the Pipelines
    panel waits after a file change before it lists again, so that listing sees the change.
    """

    def __init__(self, root: Path | str, limit: int = 2000, walk_ttl: float = 0.25) -> None:
        self.root = Path(root).resolve()
        self.limit = limit
        self.walk_ttl = walk_ttl
        self._cache: dict[Path, tuple[_Key, dict[str, Any]]] = {}
        self._walked: tuple[float, list[Path], bool] | None = None
        self._lock = threading.Lock()

    def find(self) -> tuple[list[dict[str, Any]], bool]:
        """Summaries of the pipeline files (sorted by path) and whether the walk was cut short."""
        with self._lock:
            paths, truncated = self._paths()
            found = [(path, self.summarise(path)) for path in paths]
            summaries = [summary for _, summary in found if summary is not None]
            live = {path for path, summary in found if summary is not None}
            for stale in [path for path in self._cache if path not in live]:
                del self._cache[stale]
        return summaries, truncated

    def _paths(self) -> tuple[list[Path], bool]:
        """The pipeline files under the root, walked again only when the last walk is stale."""
        now = time.monotonic()
        if self._walked is None or now - self._walked[0] >= self.walk_ttl:
            self._walked = (now, *self._walk())
        return self._walked[1], self._walked[2]

    def _walk(self) -> tuple[list[Path], bool]:
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
        return paths, truncated

    def summarise(self, path: Path) -> dict[str, Any] | None:
        """Name, uuid, format, step count and issue count of one pipeline file (None once the
        file is gone)."""
        try:
            stat = path.stat()
            key = _Key(stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(path)
            if cached and cached[0] == key:
                return cached[1]
            summary = self._read(path, stat.st_size)
        except FileNotFoundError:
            return None
        except OSError as err:
            return self._unreadable(path, err.strerror or str(err))
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
