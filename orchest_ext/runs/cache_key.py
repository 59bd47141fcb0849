"""Step cache keys: a hash of everything a step's result depends on (blocking: reads files).

A key covers the step's file (for notebooks only the code cells and the kernel, not outputs
or metadata), its kind and kernel, its parameters after the run's overrides, the pipeline's
parameters, its user environment, its image on container backends, the content of the data
files it declares in ``cache.inputs``, and the keys of its parents, so a change anywhere
upstream reaches every descendant.
"""

from __future__ import annotations

import hashlib
import json
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from .spec import RUNS_SUBDIR, pipeline_parameters, step_parameters, user_env
from .state import RunState

KEY_VERSION = 1
"""Bumped when what a key covers changes, so older keys never match."""
_ORCHEST_DIR = RUNS_SUBDIR.parts[0]
_CHUNK = 1 << 20


def digest(data: Any) -> str:
    """The SHA-256 of a JSON value, keys sorted."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB chunks (``hashlib.file_digest`` needs
    Python 3.11)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def notebook_digest(path: Path) -> str:
    """A notebook's code cells and kernel; its outputs, metadata and markdown do not count
    (a file that is not notebook JSON counts byte for byte)."""
    try:
        nb = json.loads(path.read_bytes())
        cells = [
            "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for cell in nb.get("cells", [])
            if cell.get("cell_type") == "code"
        ]
        kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name")
    except (ValueError, TypeError, KeyError, AttributeError):
        return file_digest(path)
    return digest({"code": cells, "kernel": kernel})


class KeyHasher:
    """Computes the keys of one run's steps; each file is read once."""

    def __init__(self, run: RunState, images: dict[str, str | None]) -> None:
        self.run = run
        self.images = images
        self.directory = run.pipeline.directory
        self._files: dict[Path, str] = {}
        self.parts: dict[str, dict[str, Any]] = {}
        """Each step's key material in parts (``changes.key_parts``), once ``keys`` ran."""

    def keys(self) -> dict[str, str]:
        """Every step's key, parents first. A step that opted out (``cache: false``) gets a
        key of this run alone, so its descendants never reuse a result made from older data."""
        keys: dict[str, str] = {}
        order = TopologicalSorter({uuid: s.parents for uuid, s in self.run.steps.items()})
        for uuid in order.static_order():
            material = self.material(uuid, keys)
            keys[uuid] = digest(material)
            connections = self.run.pipeline.steps[uuid].incoming_connections
            self.parts[uuid] = key_parts(material, connections)
        return keys

    def material(self, uuid: str, keys: dict[str, str]) -> dict[str, Any]:
        """What the key of step ``uuid`` is a hash of (``keys``: its parents' keys)."""
        model = self.run.pipeline.steps[uuid]
        return {
            "version": KEY_VERSION,
            "pipeline": self.run.pipeline.uuid,
            "step": uuid,
            "kind": model.kind,
            "file": self._step_file(model.file_path, model.kind),
            "kernel": (model.kernel or {}).get("name"),
            "parameters": step_parameters(self.run, uuid),
            "pipeline_parameters": pipeline_parameters(self.run),
            "env": user_env(self.run, uuid),
            "image": self.images.get(uuid),
            "inputs": self._inputs(model.cache_inputs),
            "parents": [
                keys[parent] if parent in self.run.steps else self._earlier_output(parent)
                for parent in model.incoming_connections
            ],
            "run": None if model.cache_enabled else self.run.id,
        }

    def _step_file(self, file_path: str, kind: str) -> str:
        path = self.directory / file_path
        if path not in self._files:
            self._files[path] = notebook_digest(path) if kind == "notebook" else file_digest(path)
        return self._files[path]

    def _inputs(self, patterns: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
        """Each pattern with the files it matches (outside ``.orchest``) and their digests."""
        found = []
        for pattern in patterns:
            files = []
            for path in sorted(self.directory.glob(pattern)):
                relative = path.relative_to(self.directory)
                if relative.parts[0] == _ORCHEST_DIR or not path.is_file():
                    continue
                if path not in self._files:
                    self._files[path] = file_digest(path)
                files.append((relative.as_posix(), self._files[path]))
            found.append((pattern, files))
        return found

    def _earlier_output(self, parent: str) -> str | None:
        """A parent outside the run: the earlier output its child reads (the newest one, as
        ``orchest.get_inputs`` picks it: see ``sdk/orchest/transfer.py``), by path and
        modification time."""
        runs = self.run.run_dir.parent
        outputs = [
            (meta.stat().st_mtime_ns, meta)
            for meta in runs.glob(f"*/steps/{parent}/output/meta.json")
            if not meta.is_relative_to(self.run.run_dir)
        ]
        if not outputs:
            return None
        mtime, meta = max(outputs)
        return f"{meta.relative_to(runs).as_posix()}@{mtime}"


def key_parts(material: dict[str, Any], connections: list[str]) -> dict[str, Any]:
    """A key's material (``KeyHasher.material``) as one digest per kind of change, and each
    parent's key (or earlier output) by parent uuid (``connections``: the step's incoming
    connections, the order of ``material["parents"]``)."""
    return {
        "code": digest([material["kind"], material["file"], material["kernel"]]),
        "parameters": digest([material["parameters"], material["pipeline_parameters"]]),
        "environment": digest([material["env"], material["image"]]),
        "inputs": digest(material["inputs"]),
        "parents": dict(zip(connections, material["parents"], strict=True)),
    }
