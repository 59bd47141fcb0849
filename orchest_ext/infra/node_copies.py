"""Images of this engine copied to the engines of other swarm nodes before a step needs them
there, for clusters without a registry (what `jupyter orchest images distribute` does by
hand): one copy per image at a time, shared by the steps waiting for it, noted in each of
their logs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from .distribute import distribute


class NodeCopies:
    """The images copied so far (or being copied) from the engine at ``source``."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self._copied: set[tuple[str, tuple[str, ...]]] = set()
        self._copying: dict[tuple[str, tuple[str, ...]], asyncio.Future[list[str]]] = {}

    async def ensure(self, image: str, engines: Sequence[str], log_path: Path) -> None:
        """Copy ``image`` to each of ``engines`` that lacks it, once per server; note it in
        ``log_path``. ``DistributeError`` names the image or engine that failed."""
        key = (image, tuple(engines))
        if key in self._copied:
            return
        await asyncio.to_thread(
            _append, log_path, f"Copying image {image} to the swarm nodes' engines\n"
        )
        task = self._copying.get(key)
        if task is None:
            task = self._copying[key] = asyncio.ensure_future(
                asyncio.to_thread(self._copy, image, key[1])
            )
            task.add_done_callback(lambda _: self._copying.pop(key, None))
        lines = await asyncio.shield(task)
        self._copied.add(key)
        await asyncio.to_thread(_append, log_path, "".join(lines))

    def _copy(self, image: str, engines: tuple[str, ...]) -> list[str]:
        return [
            f"Image {name} on {engine}: {what}\n"
            for engine, name, what in distribute([image], engines, self.source)
        ]


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
