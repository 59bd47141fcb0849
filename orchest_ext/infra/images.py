"""Build the project's Docker images from local Dockerfiles and a host-made wheelhouse.

Builds need no network inside the container: the host's pip downloads the wheels an
image needs into its build context (cached per requirements set) together with a wheel
of this project, and the Dockerfile installs them with ``pip install --no-index``.

Command: ``jupyter orchest images build [--base-image IMAGE] [--only NAME] [--no-cache]``
(``cli/images.py``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docker import DockerClient

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_DIR.parent
IMAGES_DIR = next(
    (path for path in (PACKAGE_DIR / "dockerfiles", PROJECT_ROOT / "images") if path.is_dir()),
    PACKAGE_DIR / "dockerfiles",
)
"""The Dockerfiles: shipped in the package (``orchest_ext/dockerfiles``), or ``images/`` of a
source checkout (an editable install)."""
WHEEL_EXCLUDES = frozenset({"__pycache__", "labextension", "dockerfiles"})
"""What a wheel made from the installed package leaves out (images need none of it)."""
CACHE_DIR = Path.home() / ".cache" / "orchest_ext" / "wheelhouse"
PYTHON_VERSION = "3.11.2"
"""Python of the Debian bookworm base image; wheelhouses are resolved for it."""
GLIBC_MINOR = 36
"""glibc 2.36 (bookworm): the newest manylinux tag the wheelhouse may use."""


@dataclass(frozen=True)
class ImageDef:
    """One image of the project.

    ``context`` is a directory under ``images/`` holding its Dockerfile. The build
    context gets ``wheels/requirements/`` (the wheels of ``requirements`` plus a
    ``requirements.txt`` listing them) and ``wheels/project/`` (this project's wheel).
    """

    name: str
    context: str
    requirements: tuple[str, ...]
    description: str = ""


IMAGES: dict[str, ImageDef] = {
    "step": ImageDef(
        name="orchest-ext/step:latest",
        context="step",
        requirements=(
            "ipykernel>=6.25",
            "nbclient>=0.10",
            "nbformat>=5.9",
            "traitlets>=5.9",
            "papermill>=2.5",
            "numpy>=1.26",
            "pandas>=2.1",
            "scikit-learn>=1.3",
        ),
        description="Runs one pipeline step (DockerExecutor's default image), with the "
        "scientific Python basics (numpy, pandas, scikit-learn).",
    ),
    "eg": ImageDef(
        name="orchest-ext/eg:latest",
        context="eg",
        requirements=("jupyter_enterprise_gateway>=3.3,<3.4",),
        description="Enterprise Gateway of a pipeline session, with orchest_ext's kernel launcher.",
    ),
    "server": ImageDef(
        name="orchest-ext/server:latest",
        context="server",
        requirements=("jupyter_server>=2.10,<3",),
        description="The jupyter-server of a pipeline session (kernels through its EG).",
    ),
    "kernel": ImageDef(
        name="orchest-ext/kernel:latest",
        context="kernel",
        requirements=("ipykernel>=6.25", "gateway_provisioners>=0.5,<0.6"),
        description="Interactive kernels of a pipeline session, one container each.",
    ),
    "kernel-r": ImageDef(
        name="orchest-ext/kernel-r:latest",
        context="kernel-r",
        requirements=("ipykernel>=6.25", "gateway_provisioners>=0.5,<0.6"),
        description="Interactive R kernels (IRkernel) of a pipeline session, one container each.",
    ),
}
"""The images ``build_images`` knows, by short name. Add new images here."""


class BuildError(RuntimeError):
    """An image could not be built."""


def log(message: str) -> None:
    print(f"[orchest images] {message}", file=sys.stderr, flush=True)


def _platform_tags(machine: str) -> list[str]:
    """The manylinux platform tags a bookworm interpreter on ``machine`` accepts."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR, 4, -1)]
    legacy = ["manylinux2014", "manylinux2010", "manylinux1"] if machine == "x86_64" else []
    return [*tags, *(f"{name}_{machine}" for name in legacy), f"linux_{machine}"]


def _run_pip(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise BuildError(f"pip {args[0]} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def wheelhouse(requirements: Iterable[str], python_version: str = PYTHON_VERSION) -> Path:
    """Download (once) binary wheels for ``requirements`` and return their cached directory."""
    reqs = sorted(requirements)
    machine = platform.machine()
    key = hashlib.sha256(json.dumps([reqs, python_version, machine]).encode()).hexdigest()[:16]
    target = CACHE_DIR / key
    if (target / "requirements.txt").exists():
        return target
    partial = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=_ensure(CACHE_DIR)))
    log(f"downloading wheels for {', '.join(reqs)} (Python {python_version}, {machine})")
    abi = "cp" + "".join(python_version.split(".")[:2])
    platforms = [arg for tag in _platform_tags(machine) for arg in ("--platform", tag)]
    target_args = ["--python-version", python_version, "--implementation", "cp", "--abi", abi]
    _run_pip(
        ["download", "--only-binary=:all:", *target_args, *platforms, "-d", str(partial), *reqs]
    )
    (partial / "requirements.txt").write_text("".join(f"{req}\n" for req in reqs))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def project_wheel(dest: Path, root: Path = PROJECT_ROOT) -> Path:
    """A wheel of this project (without dependencies) in ``dest``: built from the source
    checkout it runs from, else made from the installed package (a normal pip install)."""
    if not (root / "pyproject.toml").exists() or not (root / "orchest_ext").is_dir():
        return installed_wheel(dest)
    _run_pip(["wheel", "--no-deps", "--quiet", "-w", str(dest), str(root)])
    return next(dest.glob("orchest_ext-*.whl"))


def installed_wheel(dest: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Pack the installed ``orchest_ext`` package into a pure-Python wheel in ``dest`` (its
    metadata from the installed distribution)."""
    version = importlib.metadata.version("orchest_ext")
    metadata = importlib.metadata.distribution("orchest_ext").read_text("METADATA") or (
        f"Metadata-Version: 2.1\nName: orchest_ext\nVersion: {version}\n"
    )
    dist_info = f"orchest_ext-{version}.dist-info"
    files = {
        f"orchest_ext/{path.relative_to(package_dir).as_posix()}": path.read_bytes()
        for path in sorted(package_dir.rglob("*"))
        if path.is_file()
        and not WHEEL_EXCLUDES.intersection(path.relative_to(package_dir).parts)
        and path.suffix != ".pyc"
    }
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: orchest_ext.images\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    wheel = dest / f"orchest_ext-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def _digest(data: bytes) -> str:
    """A wheel RECORD hash: urlsafe base64 of the sha256, without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare_context(image: ImageDef, dest: Path, project_wheels: Path) -> Path:
    """Lay out the build context of ``image`` in ``dest`` and return it."""
    source = IMAGES_DIR / image.context
    if not (source / "Dockerfile").exists():
        raise BuildError(f"No Dockerfile for {image.name} in {source}.")
    shutil.copytree(source, dest)
    shutil.copytree(wheelhouse(image.requirements), dest / "wheels" / "requirements")
    shutil.copytree(project_wheels, dest / "wheels" / "project")
    return dest


def build_image(
    client: DockerClient,
    image: ImageDef,
    context: Path,
    base_image: str | None,
    no_cache: bool,
    tag: str = "latest",
) -> str:
    """Build one image with the docker SDK, echoing the build output; return its name."""
    name = f"{image.name.rsplit(':', 1)[0]}:{tag}"
    buildargs = {"BASE_IMAGE": base_image} if base_image else {}
    stream = client.api.build(
        path=str(context),
        tag=name,
        buildargs=buildargs,
        nocache=no_cache,
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise BuildError(f"Building {name} failed: {chunk['error']}\n{''.join(tail)}")
        text = chunk.get("stream", "")
        if text:
            tail = [*tail[-30:], text]
            sys.stderr.write(text)
    return name


def build_images(
    names: Sequence[str] | None = None,
    base_image: str | None = None,
    no_cache: bool = False,
    client: DockerClient | None = None,
    tag: str = "latest",
) -> list[str]:
    """Build the named images (all by default), tagged ``tag``; return the names built."""
    import docker

    unknown = [name for name in names or () if name not in IMAGES]
    if unknown:
        raise BuildError(f"Unknown image(s) {', '.join(unknown)}; known: {', '.join(IMAGES)}.")
    selected = [IMAGES[name] for name in names or IMAGES]
    try:
        client = client or docker.from_env()
        if base_image:
            client.images.get(base_image)
    except docker.errors.ImageNotFound:
        raise BuildError(
            f"Base image {base_image} not found; make it with .ci/setup-docker.sh "
            "or pass an image the engine has."
        ) from None
    except docker.errors.DockerException as err:
        raise BuildError(f"Docker engine unreachable: {err}") from None
    built = []
    with tempfile.TemporaryDirectory(prefix="orchest-images-") as tmp:
        wheels = project_wheel(_ensure(Path(tmp) / "project"))
        for image in selected:
            started = time.monotonic()
            context = prepare_context(image, Path(tmp) / image.context, wheels.parent)
            log(f"building {image.name} ({tag}) from {base_image or 'the Dockerfile default'}")
            try:
                built.append(build_image(client, image, context, base_image, no_cache, tag))
            except docker.errors.DockerException as err:
                raise BuildError(f"Building {image.name} failed: {err}") from None
            log(f"built {built[-1]} in {time.monotonic() - started:.1f} s")
    return built
