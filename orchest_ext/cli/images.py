"""`jupyter orchest images build|distribute`: build the project's Docker images, copy them to
other engines."""

from __future__ import annotations

from traitlets import Bool, Enum, List, Unicode

from ..infra.distribute import DistributeError, distribute, project_images
from ..infra.images import IMAGES, BuildError, build_images, log
from .base import CLIApp, CommandGroup


class BuildImagesApp(CLIApp):
    """Build the orchest_ext Docker images."""

    name = "jupyter-orchest-images-build"
    description = (
        "Build the orchest_ext Docker images (step, eg, server, kernel) from the Dockerfiles "
        "shipped in the package and a wheelhouse the host's pip downloads."
    )
    examples = """
jupyter orchest images build
jupyter orchest images build --base-image orchest-ext/base:bookworm --only step
"""
    base_image = Unicode(
        None,
        allow_none=True,
        help="Image to build FROM (default: each Dockerfile's BASE_IMAGE, python:3.11-slim).",
    ).tag(config=True)
    only = List(
        Enum(sorted(IMAGES)),
        help="Build only this image (repeat the option for several): "
        + "; ".join(f"{name}: {image.description}" for name, image in IMAGES.items()),
    ).tag(config=True)
    no_cache = Bool(False, help="Do not use docker's build cache.").tag(config=True)
    tag = Unicode(
        "latest",
        help="Tag of the images built (default: latest, which the executors and sessions use "
        "unless configured otherwise).",
    ).tag(config=True)

    aliases = {
        **CLIApp.aliases,
        "base-image": "BuildImagesApp.base_image",
        "only": "BuildImagesApp.only",
        "tag": "BuildImagesApp.tag",
    }
    flags = {**CLIApp.flags, "no-cache": ({"BuildImagesApp": {"no_cache": True}}, no_cache.help)}

    def start(self) -> None:
        try:
            build_images(
                self.only or None, base_image=self.base_image, no_cache=self.no_cache, tag=self.tag
            )
        except BuildError as err:
            log(str(err))
            self.exit(1)
        self.exit(0)


class DistributeImagesApp(CLIApp):
    """Copy the project's images to other Docker engines."""

    name = "jupyter-orchest-images-distribute"
    description = (
        "Copy the project's images (or --image ones) from this machine's Docker engine to "
        "other engines, e.g. every node of a swarm without a registry."
    )
    examples = (
        "jupyter orchest images distribute --engine ssh://user@node2 --engine tcp://node3:2376"
    )
    engine = List(
        Unicode(),
        help="Docker engine to copy to (repeat the option for several; at least one): "
        "unix:///path.sock, tcp://node2:2376, ssh://user@node2.",
    ).tag(config=True)
    image = List(
        Unicode(),
        help="Image to copy (repeat the option for several; default: the project's images "
        "that the source engine has).",
    ).tag(config=True)
    source = Unicode(None, allow_none=True, help="Engine to copy from (default: DOCKER_HOST).").tag(
        config=True
    )

    aliases = {
        **CLIApp.aliases,
        "engine": "DistributeImagesApp.engine",
        "image": "DistributeImagesApp.image",
        "source": "DistributeImagesApp.source",
    }

    def start(self) -> None:
        if not self.engine:
            self.log.critical("images distribute needs at least one --engine")
            self.exit(2)
        try:
            images = self.image or project_images(self.source)
            for engine, image, what in distribute(images, self.engine, self.source):
                print(f"{engine}: {image} {what}")
        except DistributeError as err:
            log(str(err))
            self.exit(1)
        self.exit(0)


class ImagesApp(CommandGroup):
    """The project's Docker images: `jupyter orchest images build|distribute [options]`."""

    name = "jupyter-orchest-images"
    description = (
        "build: build the orchest_ext Docker images (step, eg, server, kernel) from the "
        "Dockerfiles shipped in the package and a wheelhouse the host's pip downloads. "
        "distribute: copy them to other Docker engines (swarm nodes without a registry). "
        "`jupyter orchest images build --help` (or distribute --help) lists the options."
    )
    subcommands = {
        "build": (BuildImagesApp, BuildImagesApp.__doc__),
        "distribute": (DistributeImagesApp, DistributeImagesApp.__doc__),
    }
