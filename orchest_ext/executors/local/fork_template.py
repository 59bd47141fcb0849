"""Kernels forked from a template process (``kernel_template.py``) that imported ipykernel
once: a kernel starts in a fraction of a plain start. Forking is used only where the kernel is
the one a plain start would run: the kernelspec runs ``ipykernel_launcher`` on the template's
interpreter and nothing that decides what an interpreter imports differs from the template's
environment; otherwise the caller starts the kernel as usual."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from .process import wait_exit

TEMPLATE_PROGRAM = Path(__file__).with_name("kernel_template.py")
STARTUP_PREFIXES = ("PYTHON", "PYDEVD", "LD_", "LC_")
STARTUP_NAMES = frozenset({"LANG", "LANGUAGE"})
"""Variables an interpreter (or what the template imported) reads while it starts: a kernel
whose value of one of them differs from the template's is not forked."""
MAX_MESSAGE = 1 << 20


class TemplateUnavailable(Exception):
    """The template cannot fork (it failed to start, or died)."""


def startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``env`` that decide what an interpreter imports."""
    return {
        key: value
        for key, value in env.items()
        if key.startswith(STARTUP_PREFIXES) or key in STARTUP_NAMES
    }


def launcher_args(cmd: Sequence[str], python: str) -> list[str] | None:
    """What follows ``-m ipykernel_launcher`` when ``cmd`` runs it on ``python``, else None."""
    if len(cmd) >= 3 and cmd[0] == python and list(cmd[1:3]) == ["-m", "ipykernel_launcher"]:
        return list(cmd[3:])
    return None


class ForkedKernel:
    """A kernel the template forked: not our child (the template reaps it), so it is watched
    and signalled through a pidfd, and its exit code comes from the template."""

    def __init__(self, pid: int, pidfd: int, reply: socket.socket) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.reply = reply
        self.returncode: int | None = None

    def exited(self) -> bool:
        """Whether the kernel process has ended (the pidfd is readable then; it is closed
        only once the kernel ended)."""
        if self.returncode is not None or self.pidfd < 0:
            return True
        readable, _, _ = select.select([self.pidfd], [], [], 0)
        return bool(readable)

    def poll(self) -> int | None:
        """The exit code once the kernel ended (-1 until the template reported it), else None."""
        if not self.exited():
            return None
        return self._status(block=False)

    async def wait(self) -> int:
        """Wait until the kernel ended; its exit code (-1 if the template is gone)."""
        if not self.exited():
            pidfd = self.pidfd
            loop = asyncio.get_running_loop()
            ended = loop.create_future()
            loop.add_reader(pidfd, lambda: ended.done() or ended.set_result(None))
            try:
                await ended
            finally:
                loop.remove_reader(pidfd)
        return await asyncio.to_thread(self._status, True)

    def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group, or the kernel alone if the group is gone."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signum)

    def close(self) -> None:
        """Release the pidfd and the reply socket (the kernel is not touched)."""
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
            self.reply.close()

    def _status(self, block: bool) -> int:
        if self.returncode is not None:
            return self.returncode
        if self.pidfd < 0:
            return -1
        self.reply.settimeout(2.0 if block else 0.0)
        try:
            message = self.reply.recv(MAX_MESSAGE)
        except (BlockingIOError, TimeoutError):
            return -1
        except OSError:
            message = b""
        self.returncode = int(json.loads(message).get("status", -1)) if message else -1
        return self.returncode


class KernelTemplate:
    """One template process and the socket it takes requests on."""

    def __init__(self, python: str, env: Mapping[str, str], log: logging.Logger) -> None:
        self.python = python
        self.env = dict(env)
        self.startup = startup_variables(env)
        self.log = log
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._send_lock = threading.Lock()

    def alive(self) -> bool:
        """Whether the template is ready and has not died."""
        return self._control is not None and self._proc is not None and self._proc.poll() is None

    async def start(self, timeout: float) -> None:
        """Start the template and wait until it imported ipykernel; ``TemplateUnavailable``
        (with its reason) if it does not get there within ``timeout`` seconds."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = await asyncio.to_thread(self._spawn, theirs)
        finally:
            theirs.close()
        try:
            message = await asyncio.wait_for(asyncio.to_thread(_recv, ours), timeout)
            reply = json.loads(message) if message else {"error": "it exited"}
            if "ready" not in reply:
                raise TemplateUnavailable(reply.get("error", "no answer"))
        except BaseException as err:
            ours.close()
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            if isinstance(err, GeneratorExit):  # the loop is gone: nothing to await
                raise
            await wait_exit(self._proc)
            if isinstance(err, asyncio.TimeoutError):
                raise TemplateUnavailable(f"not ready after {timeout:g} s") from None
            raise
        self.pid = self._proc.pid
        self._control = ours

    async def fork(
        self, cmd: Sequence[str], cwd: str, env: Mapping[str, str], stdout: int, stderr: int
    ) -> ForkedKernel:
        """Fork a kernel of ``cmd`` (which ``fits``) in ``cwd`` with ``env`` and its output on
        these descriptors; ``TemplateUnavailable`` if the template is gone."""
        if not self.alive():
            raise TemplateUnavailable("the template is not running")
        args = launcher_args(cmd, self.python)
        request = json.dumps({"args": args, "cwd": cwd, "env": dict(env)}).encode()
        return await asyncio.to_thread(self._fork, request, stdout, stderr)

    async def close(self, grace: float = 2.0) -> None:
        """Stop the template: it kills the kernels it forked and exits (killed after
        ``grace`` seconds otherwise)."""
        control, self._control = self._control, None
        if control is not None:
            control.close()
        if self._proc is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wait_exit(self._proc), grace)
            await self._kill()

    def _spawn(self, control: socket.socket) -> subprocess.Popen:
        fd = control.fileno()
        return subprocess.Popen(
            [self.python, str(TEMPLATE_PROGRAM), str(fd)],
            env=self.env,
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _fork(self, request: bytes, stdout: int, stderr: int) -> ForkedKernel:
        """Send one request and wait for the forked kernel's pid (blocking: on a thread)."""
        control = self._control
        if control is None:
            raise TemplateUnavailable("the template is not running")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._send_lock:
                socket.send_fds(control, [request], [theirs.fileno(), stdout, stderr])
            theirs.close()
            ours.settimeout(30.0)
            message, fds, _, _ = socket.recv_fds(ours, MAX_MESSAGE, 1)
        except (OSError, TimeoutError) as err:
            ours.close()
            theirs.close()
            raise TemplateUnavailable(f"no answer from the template: {err}") from None
        reply = json.loads(message) if message else {"error": "the template exited"}
        if "pid" not in reply or not fds:
            ours.close()
            for fd in fds:
                os.close(fd)
            raise TemplateUnavailable(reply.get("error", "no pid"))
        return ForkedKernel(reply["pid"], fds[0], ours)

    async def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await wait_exit(proc)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(MAX_MESSAGE)
    except OSError:
        return b""


class KernelTemplates:
    """The template of this interpreter and environment: started on first need (``warm``),
    replaced when it died, and given up (kernels then start as usual) when it cannot start."""

    def __init__(
        self,
        env: Mapping[str, str],
        log: logging.Logger,
        python: str = sys.executable,
        startup_timeout: float = 60.0,
    ) -> None:
        self.env = dict(env)
        self.python = python
        self.startup_timeout = startup_timeout
        self.log = log
        self.template: KernelTemplate | None = None
        self.failed: str | None = None
        self._starting: asyncio.Task[KernelTemplate | None] | None = None

    def warm(self) -> None:
        """Start the template in the background unless it runs or starts already."""
        if self.failed is None and not (self.template and self.template.alive()):
            self._start()

    async def for_kernel(self, cmd: Sequence[str], env: Mapping[str, str]) -> KernelTemplate | None:
        """A running template that can fork this kernel, started (or replaced) if need be;
        None when the kernel must start as usual."""
        if self.failed is not None:
            return None
        if startup_variables(env) != startup_variables(self.env):
            return None
        if launcher_args(cmd, self.python) is None:
            return None
        if self.template is not None and self.template.alive():
            return self.template
        return await asyncio.shield(self._start())

    async def close(self) -> None:
        """Stop the template (and so every kernel it forked)."""
        self.failed = "closed"
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        template, self.template = self.template, None
        if template is not None:
            await template.close()

    def _start(self) -> asyncio.Task[KernelTemplate | None]:
        if self._starting is None or self._starting.done():
            self._starting = asyncio.get_running_loop().create_task(self._replace())
        return self._starting

    async def _replace(self) -> KernelTemplate | None:
        old, self.template = self.template, None
        if old is not None:
            self.log.warning("Kernel template (pid %s) died; starting another", old.pid)
            await old.close(grace=0)
        template = KernelTemplate(self.python, self.env, self.log)
        try:
            await template.start(self.startup_timeout)
        except TemplateUnavailable as err:
            self.failed = str(err)
            self.log.warning("Kernels start without a template (cannot start one: %s)", err)
            return None
        if self.failed is not None:  # closed meanwhile
            await template.close()
            return None
        self.template = template
        return template
