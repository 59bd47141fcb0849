"""The orchest R package in R steps: installed once per run into ``<run_dir>/.r-library``
(which R steps have on ``R_LIBS``), so that ``orchest::output()`` and the other functions of
the Python step API work in R notebooks and ``.R`` scripts, on the host and in containers
(the run directory is shared with them)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

from .base import STEP_SDK_PATH

R_PACKAGE_PATH = STEP_SDK_PATH / "R" / "orchest"
LIBRARY_DIR = ".r-library"


class RMissing(Exception):
    """R cannot run here; the message names what is missing and how to install it."""


def library_dir(run_dir: str | os.PathLike[str]) -> Path:
    """The R library of a run's R steps."""
    return Path(run_dir) / LIBRARY_DIR


def r_libs(run_dir: str | None, inherited: str | None) -> str | None:
    """``R_LIBS`` for a step: the run's R library, then the inherited value."""
    if not run_dir:
        return inherited
    return os.pathsep.join(filter(None, [str(library_dir(run_dir)), inherited]))


def install_package(run_dir: str | os.PathLike[str]) -> Path:
    """Install the orchest R package into the run's R library unless it is there (blocking;
    concurrent steps of a run install it once). ``RMissing`` without R or jsonlite."""
    library = library_dir(run_dir)
    library.mkdir(parents=True, exist_ok=True)
    if (library / "orchest" / "DESCRIPTION").is_file():
        return library
    r = shutil.which("R")
    if r is None:
        raise RMissing(
            "R is not installed: R steps need R and, for notebooks, IRkernel "
            "(Debian: apt-get install r-base-core r-cran-irkernel r-cran-jsonlite)"
        )
    with open(library / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (library / "orchest" / "DESCRIPTION").is_file():
            return library
        done = subprocess.run(
            [r, "CMD", "INSTALL", "--no-test-load", "-l", str(library), str(R_PACKAGE_PATH)],
            capture_output=True,
            text=True,
            cwd=library,
        )
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-3:]
        hint = (
            " (the R package jsonlite is missing: apt-get install r-cran-jsonlite)"
            if "jsonlite" in done.stderr
            else ""
        )
        raise RMissing(f"Cannot install the orchest R package{hint}: {' '.join(detail)}")
    return library
