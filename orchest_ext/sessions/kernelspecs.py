"""The kernels a session offers: the shipped kernelspecs (one directory per kernel) made the
session's (its kernel image by language, its launcher settings) and written where its EG
reads them. A kernel whose image is not built (the R kernel's, say) is left out, logged;
the session still starts with the others."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..infra.docker_engine import BUILD_HINT
from .session import LaunchFailed, Session
from .specs import SpecSettings, kernel_image, session_kernelspec


@dataclass(frozen=True)
class ShippedKernel:
    """One kernelspec directory of ``PipelineSessionManager.kernelspecs_dir``."""

    name: str
    directory: Path
    spec: dict[str, Any]


def shipped_kernels(source: Path) -> list[ShippedKernel]:
    """The kernelspecs in ``source``, by name; ``LaunchFailed`` if there are none (blocking)."""
    found = sorted(path.parent for path in source.glob("*/kernel.json"))
    if not found:
        raise LaunchFailed(f"No kernelspecs (*/kernel.json) in {source}.")
    return [
        ShippedKernel(
            directory.name, directory, json.loads((directory / "kernel.json").read_text())
        )
        for directory in found
    ]


def write_kernelspecs(
    kernels: list[ShippedKernel], target: Path, settings: SpecSettings, session: Session
) -> list[str]:
    """Write the session's versions of ``kernels`` into ``target``; return their names
    (blocking)."""
    for kernel in kernels:
        shutil.copytree(kernel.directory, target / kernel.name, dirs_exist_ok=True)
        rendered = session_kernelspec(settings, session, kernel.spec)
        (target / kernel.name / "kernel.json").write_text(json.dumps(rendered, indent=2))
    target.chmod(0o755)
    return [kernel.name for kernel in kernels]


async def prepare_kernelspecs(
    source: Path,
    target: Path,
    settings: SpecSettings,
    session: Session,
    image_exists: Callable[[str], Awaitable[bool]],
    log: logging.Logger,
) -> list[str]:
    """Write the session's kernelspecs whose kernel image exists into ``target``; return
    their names. ``LaunchFailed`` when none is left."""
    kernels = await asyncio.to_thread(shipped_kernels, source)
    images = [kernel_image(settings, kernel.spec) for kernel in kernels]
    unique = sorted(set(images))
    found = await asyncio.gather(*(image_exists(image) for image in unique))
    present = {image for image, exists in zip(unique, found, strict=True) if exists}
    offered = []
    for kernel, image in zip(kernels, images, strict=True):
        if image in present:
            offered.append(kernel)
        else:
            log.warning(
                "Session %s offers no kernel %r: its image %s is not built (%s)",
                session.session_id,
                kernel.name,
                image,
                BUILD_HINT,
            )
    if not offered:
        raise LaunchFailed(
            f"No kernel image of the kernelspecs in {source} is built: {', '.join(images)}; "
            f"{BUILD_HINT}"
        )
    return await asyncio.to_thread(write_kernelspecs, offered, target, settings, session)
