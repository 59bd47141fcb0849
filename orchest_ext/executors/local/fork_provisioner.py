"""jupyter_client's side of forked kernels: a provisioner that forks a kernel from the template
where that is safe (else starts it as ``LocalProvisioner`` does), and a kernel manager that
uses it, so that nbclient, shutdown, interrupt and kill work unchanged."""

from __future__ import annotations

import os
import pathlib
import signal
import uuid
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Instance

from .fork_template import ForkedKernel, KernelTemplates, TemplateUnavailable


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """``LocalProvisioner`` whose kernel, where the template can fork it, is a fork."""

    templates = Instance(KernelTemplates)
    forked: ForkedKernel | None = None
    _waiting = 0
    """``wait`` calls in progress: the forked kernel's descriptors stay open meanwhile."""
    exit_code: int | None = None
    """The kernel's return code once it was seen to end (negative: the signal that killed it);
    kept after cleanup, so a step can say how its kernel died."""

    def _ended(self, code: int | None) -> int | None:
        if code is not None and code != -1 and self.exit_code is None:
            self.exit_code = code
        return code

    @property
    def has_process(self) -> bool:
        return self.forked is not None or super().has_process

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Fork the kernel if the template fits it, else start it as usual."""
        env = kwargs.get("env") or dict(os.environ)
        template = await self.templates.for_kernel(cmd, env)
        if template is None:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or pathlib.Path.cwd())
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            stdout, stderr = (
                stream.fileno() if stream is not None else devnull
                for stream in (kwargs.get("stdout"), kwargs.get("stderr"))
            )
            self.forked = await template.fork(cmd, cwd, env, stdout, stderr)
        except TemplateUnavailable as err:
            self.log.warning("Starting a kernel without the template: %s", err)
            return await super().launch_kernel(cmd, **kwargs)
        finally:
            os.close(devnull)
        self.pid = self.pgid = self.forked.pid
        self.cwd = cwd
        return self.connection_info

    async def poll(self) -> int | None:
        if self.forked is not None:
            return self._ended(self.forked.poll())
        if self.process is not None:
            return self._ended(await super().poll())
        return await super().poll()

    async def wait(self) -> int | None:
        forked = self.forked
        if forked is None:
            if self.process is not None:
                return self._ended(await super().wait())
            return await super().wait()
        self._waiting += 1
        try:
            code = self._ended(await forked.wait())
        finally:
            self._waiting -= 1
        if not self._waiting:
            forked.close()
            if self.forked is forked:
                self.forked = None
        return code

    async def send_signal(self, signum: int) -> None:
        if self.forked is not None:
            self.forked.send_signal(signum)
            return
        await super().send_signal(signum)

    async def kill(self, restart: bool = False) -> None:
        if self.forked is not None:
            self.forked.send_signal(signal.SIGKILL)
            return
        await super().kill(restart)

    async def terminate(self, restart: bool = False) -> None:
        if self.forked is not None:
            self.forked.send_signal(signal.SIGTERM)
            return
        await super().terminate(restart)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if self.forked is not None and self.forked.exited() and not self._waiting:
            self.forked.close()
            self.forked = None


class ForkingKernelManager(AsyncKernelManager):  # type: ignore[misc]
    """An ``AsyncKernelManager`` whose provisioner is ``ForkProvisioner`` (unless the
    kernelspec names a provisioner of its own)."""

    templates = Instance(KernelTemplates, allow_none=True)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        assert self.kernel_spec is not None
        if (
            self.provisioner is None
            and self.templates is not None
            and "kernel_provisioner" not in self.kernel_spec.metadata
        ):
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(
                kernel_id=self.kernel_id,
                kernel_spec=self.kernel_spec,
                parent=self,
                templates=self.templates,
            )
        return await super()._async_pre_start_kernel(**kw)

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.01, restart: bool = False
    ) -> None:
        """jupyter_client's, looking every 10 ms (not 100 ms) whether the kernel exited:
        a step ends when its kernel is gone."""
        await super()._async_finish_shutdown(waittime, pollinterval, restart)


def kernel_manager(templates: KernelTemplates | None, **kwargs: Any) -> AsyncKernelManager:
    """A kernel manager that forks kernels from ``templates``, or a plain one without."""
    if templates is None:
        return AsyncKernelManager(**kwargs)
    templates.warm()
    return ForkingKernelManager(templates=templates, **kwargs)
