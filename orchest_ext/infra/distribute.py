"""`jupyter orchest images distribute`: copy images from this machine's Docker engine to the
engines of other swarm nodes, for clusters without a registry (save on one engine, streamed
into load on the other, over the engine API; blocking docker SDK, no event loop runs here)."""

from __future__ import annotations

import argparse
import sys
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


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``images distribute`` command."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Copy the project's images (or --image ones) from this machine's Docker "
        "engine to other engines, e.g. every node of a swarm without a registry.",
    )
    p.add_argument(
        "--engine",
        action="append",
        required=True,
        metavar="URL",
        help="Docker engine to copy to (repeatable): unix:///path.sock, tcp://node2:2376, "
        "ssh://user@node2",
    )
    p.add_argument(
        "--image",
        action="append",
        metavar="NAME",
        help="image to copy (repeatable; default: the project's images that this engine has)",
    )
    p.add_argument("--source", metavar="URL", help="engine to copy from (default: DOCKER_HOST)")
    return p


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Distribute images from the command line; return the exit code."""
    args = parser(prog).parse_args(argv)
    try:
        images = args.image or _project_images(args.source)
        for engine, image, what in distribute(images, args.engine, args.source):
            print(f"{engine}: {image} {what}")
    except DistributeError as err:
        log(str(err))
        return 1
    return 0


def _project_images(source: str | None) -> list[str]:
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


if __name__ == "__main__":
    sys.exit(main(prog="python -m orchest_ext.infra.distribute"))
