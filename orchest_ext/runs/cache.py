"""Step caching: which steps of a run reuse an earlier run's result, and the reuse itself.

Every run computes every step's key (``cache_key``) and its parts before its first step
starts, off the IOLoop, and records them, whatever its ``cache`` option, so a later run with
``cache: use`` can reuse any successful result. That run looks the keys up among the steps
earlier runs executed successfully (the store's ``steps`` rows). A step with a match whose
step directory still exists is not run: its files are hard-linked (or copied) into this run's
step directory and it ends SUCCESS with ``cached: true``. Every other step records why it ran
(``run_reason``) and, when its key changed, what changed (``changed``, ``changed_parents``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..executors.base import Executor
from ..store import CacheEntries, CacheEntry, Store
from .cache_key import KeyHasher
from .changes import what_changed
from .spec import build_spec, step_files
from .state import CacheDecision, RunState, StepState

CACHE_OFF = "cache_off"
REFRESH = "refresh"
OPTED_OUT = "opted_out"
NO_EARLIER_KEY = "no_earlier_key"
KEY_CHANGED = "key_changed"
SOURCE_MISSING = "source_missing"
CACHE_ERROR = "cache_error"
"""The ``run_reason`` values, why a step ran: the run's cache was off; it was refreshed; the
step opted out; no earlier run recorded a key for it; its key differs from every earlier one;
the earlier result's run directory is gone; its key could not be computed (see the log)."""


class StepCache:
    """Cache decisions for the steps of runs, and the reuse of earlier results."""

    def __init__(self, store: Store, executors: dict[str, Executor], log: logging.Logger) -> None:
        self.store = store
        self.executors = executors
        self.log = log

    async def decide(self, run: RunState) -> dict[str, CacheDecision]:
        """The decision of every undecided step of ``run``; never raises (a step whose key
        cannot be computed runs, with ``cache_error``)."""
        undecided = [uuid for uuid, step in run.steps.items() if step.undecided]
        try:
            images = await self._images(run)
            hasher = KeyHasher(run, images)
            keys = await asyncio.to_thread(hasher.keys)
            entries: CacheEntries = {}
            if run.cache == "use":
                wanted = {u: keys[u] for u in undecided if run.pipeline.steps[u].cache_enabled}
                entries = await self.store.cache_entries(run.pipeline.uuid, wanted)
            decisions = await asyncio.to_thread(_decisions, run, undecided, keys, entries)
        except Exception:
            self.log.exception("Could not compute the cache keys of run %s", run.id)
            reason = CACHE_OFF if run.cache == "off" else CACHE_ERROR
            return {uuid: CacheDecision(None, reason) for uuid in undecided}
        return {
            uuid: _with_parts(decision, hasher.parts[uuid], entries.get(uuid))
            for uuid, decision in decisions.items()
        }

    async def reuse(self, run: RunState, step: StepState) -> bool:
        """Link the earlier result of a cache hit into this run; False if it is gone."""
        assert step.reuse is not None and step.reuse.source_dir is not None
        target = step_files(run.run_dir, step.uuid, step.file_path).step_dir
        try:
            await asyncio.to_thread(_link_tree, step.reuse.source_dir, target)
        except OSError as err:
            self.log.warning(
                "Step %s of run %s cannot reuse %s: %s",
                step.uuid,
                run.id,
                step.reuse.source_dir,
                err,
            )
            return False
        return True

    async def _images(self, run: RunState) -> dict[str, str | None]:
        """Each step's image identity on the run's backend (None where it has none)."""
        executor = self.executors[run.backend]
        return {
            uuid: await executor.image_identity(build_spec(run, step))
            for uuid, step in run.steps.items()
        }


def _decisions(
    run: RunState, undecided: list[str], keys: dict[str, str], entries: CacheEntries
) -> dict[str, CacheDecision]:
    """Decisions from the keys and the earlier entries (blocking: checks directories)."""
    decisions = {}
    for uuid in undecided:
        model = run.pipeline.steps[uuid]
        if run.cache == "off":
            decisions[uuid] = CacheDecision(keys[uuid] if model.cache_enabled else None, CACHE_OFF)
        elif not model.cache_enabled:
            decisions[uuid] = CacheDecision(None, OPTED_OUT)
        elif run.cache != "use":
            decisions[uuid] = CacheDecision(keys[uuid], REFRESH)
        else:
            decisions[uuid] = _lookup(uuid, model.file_path, keys[uuid], entries)
    return decisions


def _with_parts(
    decision: CacheDecision, parts: dict[str, Any], entry: CacheEntry | None
) -> CacheDecision:
    """A decision with its key's parts (recorded, so a later run can say what changed) and,
    for a step whose key changed, what changed since its last successful run."""
    if decision.key is None:
        return decision
    if decision.reason != KEY_CHANGED or entry is None or entry.latest_parts is None:
        return replace(decision, parts=parts)
    changed, parents = what_changed(parts, entry.latest_parts)
    return replace(decision, parts=parts, changed=changed, changed_parents=parents)


def _lookup(uuid: str, file_path: str, key: str, entries: CacheEntries) -> CacheDecision:
    entry = entries.get(uuid, CacheEntry([], had_key=False))
    for run_id, run_dir in entry.matches:
        source = step_files(run_dir, uuid, file_path).step_dir
        if source.is_dir():
            return CacheDecision(key, None, run_id, source)
    if entry.matches:
        return CacheDecision(key, SOURCE_MISSING)
    if not entry.had_key:
        return CacheDecision(key, NO_EARLIER_KEY)
    return CacheDecision(key, KEY_CHANGED)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (copy across file systems) every file of ``source`` into ``target``; on
    failure ``target`` is left empty."""
    if not source.is_dir():
        raise FileNotFoundError(f"{source} is gone")
    try:
        shutil.copytree(source, target, copy_function=_link_or_copy, dirs_exist_ok=True)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        raise


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
