"""Waiting for a child process from the IOLoop without a thread per child."""

from __future__ import annotations

import asyncio
import os
import subprocess


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
