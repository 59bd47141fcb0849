"""Copy images from this machine's Docker engine to the
engines of other swarm nodes, for clusters without a registry (save on one engine, streamed
into load on the other, over the engine API; blocking docker SDK, no event loop runs here).
`jupyter orchest images distribute` (``cli/images.py``) is its command."""

from __future__ import annotations

from collections.abc import Sequence

import docker

from .docker_engine import BUILD_HINT
from .images import IMAGES, log


class DistributeError(Exception):
    """An image or an engine that cannot be used; the message says which."""


def distribute(
    images: Sequence[str], engines: Sequence[str], source: str | None = None
) -> list[tuple[str, str, str]]:
    """Copy each image to each engine that lacks it (or has another image under its name);
    return ``(engine, image, "copied" | "up to date")`` for each pair."""
    done = []
    src = _client(source)
    for image in images:
        try:
            wanted = src.images.get(image)
        except docker.errors.ImageNotFound:
            raise DistributeError(f"image {image} is not on this engine: {BUILD_HINT}") from None
        for url in engines:
            dst = _client(url)
            try:
                present = dst.images.get(image).id == wanted.id
            except docker.errors.ImageNotFound:
                present = False
            if not present:
                log(f"copying {image} to {url}")
                try:
                    dst.images.load(wanted.save(named=True))
                except docker.errors.DockerException as err:
                    raise DistributeError(f"could not load {image} into {url}: {err}") from None
            done.append((url, image, "up to date" if present else "copied"))
    return done


def _client(url: str | None) -> docker.DockerClient:
    try:
        client = docker.from_env() if url is None else docker.DockerClient(base_url=url)
        client.ping()
    except docker.errors.DockerException as err:
        raise DistributeError(f"Docker engine {url or 'from the environment'}: {err}") from None
    return client


def project_images(source: str | None) -> list[str]:
    """The project's images present on the source engine."""
    client = _client(source)
    present = []
    for image in IMAGES.values():
        try:
            client.images.get(image.name)
        except docker.errors.ImageNotFound:
            continue
        present.append(image.name)
    return present
