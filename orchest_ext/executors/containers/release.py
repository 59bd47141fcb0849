"""The go signal of a step container started ahead of need: a FIFO in the step's directory.

The container opens it for reading, which blocks (no CPU) until the host opens it for
writing when the step starts. The host removes the FIFO as it releases the container, so a
FIFO still there means a container that was never released. Standard library only: the
container side runs inside step containers.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

RELEASE_FIFO = "release.fifo"


def release_path(step_dir: str | os.PathLike[str]) -> Path:
    return Path(step_dir) / RELEASE_FIFO


def make_release_fifo(step_dir: str | os.PathLike[str]) -> Path:
    """A fresh FIFO in the step directory, replacing an old one (blocking)."""
    path = release_path(step_dir)
    path.unlink(missing_ok=True)
    os.mkfifo(path, 0o600)
    return path


def try_release(path: str | os.PathLike[str]) -> bool | None:
    """Release the container waiting on ``path``: True when released, False when nothing
    reads it yet, None when the FIFO is gone (released before, or never made). Never
    blocks."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ENXIO:
            return False
        raise
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)
    return True


def wait_for_release(path: str | os.PathLike[str]) -> None:
    """Block until the host opens the FIFO for writing (container side)."""
    os.close(os.open(path, os.O_RDONLY))
