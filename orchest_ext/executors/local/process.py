"""Child processes from the IOLoop: waiting without a thread per child, process groups."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path


async def wait_exit(proc: subprocess.Popen) -> int:
    """Wait for ``proc`` to exit and reap it: the loop watches a pidfd where Linux offers one
    (asyncio's default child watcher starts a thread per child), else a thread waits."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return await asyncio.to_thread(proc.wait)
    loop = asyncio.get_running_loop()
    exited = loop.create_future()
    try:
        loop.add_reader(pidfd, lambda: exited.done() or exited.set_result(None))
    except NotImplementedError:
        os.close(pidfd)
        return await asyncio.to_thread(proc.wait)
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return proc.wait()


def process_identity(pid: int) -> str | None:
    """Boot id and start time of ``pid`` (Linux): tells a process from a later one that got
    the same pid. None where it cannot be read (no such process, no /proc).

    Clock ticks since boot, not ``psutil.Process.create_time()``: that adds the wall-clock
    boot time, which moves when the clock is stepped, so a later server could miss the step
    it must stop (psutil issues 2526, 2541); stored handles keep this format."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{boot_id}:{stat.rsplit(')', 1)[1].split()[19]}"


def process_handle(pid: int) -> dict[str, object]:
    """What a later server process needs to find (and safely kill) a step's process group."""
    return {"pid": pid, "pgid": pid, "identity": process_identity(pid)}


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; return False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


async def _wait_group_empty(pgid: int) -> None:
    while signal_group(pgid, 0):
        await asyncio.sleep(0.05)


async def terminate_group(
    pgid: int, grace: float, wait_leader: Callable[[], Awaitable[object]] | None = None
) -> None:
    """SIGTERM a process group, give it ``grace`` seconds, then SIGKILL whatever is left.

    ``wait_leader`` waits for (and reaps) the group leader when it is our child; without it
    the group is polled until it is empty.
    """
    if not signal_group(pgid, signal.SIGTERM):
        return
    wait = wait_leader or (lambda: _wait_group_empty(pgid))
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(wait(), grace)
    signal_group(pgid, signal.SIGKILL)
