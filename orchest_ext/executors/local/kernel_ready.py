"""Waiting until a kernel answers, without jupyter_client's fixed 0.2 s of IOPub silence: the
kernel is ready once it answered ``kernel_info`` and IOPub carried that request's ``idle``
status (so IOPub is connected and the kernel's start-up messages are behind us)."""

from __future__ import annotations

import asyncio
import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_core.utils import ensure_async

ATTEMPT_SECONDS = 1.0
"""How long one ``kernel_info`` request is waited for before it is sent again."""


async def wait_for_ready(kc: AsyncKernelClient, timeout: float) -> dict[str, Any]:
    """The kernel's ``kernel_info_reply`` once it is ready; ``RuntimeError`` if it died or
    did not answer within ``timeout`` seconds (jupyter_client's messages)."""
    deadline = time.monotonic() + timeout
    while True:
        msg_id = kc.kernel_info()
        reply = await _reply(kc, msg_id, min(ATTEMPT_SECONDS, _left(deadline)))
        if reply is not None and await _idle(kc, msg_id, deadline):
            kc._handle_kernel_info_reply(reply)
            return reply
        if not await ensure_async(kc.is_alive()):
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.01)


async def _reply(kc: AsyncKernelClient, msg_id: str, timeout: float) -> dict[str, Any] | None:
    """The shell reply to ``msg_id``, or None after ``timeout`` seconds."""
    until = time.monotonic() + timeout
    while True:
        try:
            msg = await kc.shell_channel.get_msg(timeout=max(until - time.monotonic(), 0))
        except (Empty, asyncio.TimeoutError):
            return None
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


async def _idle(kc: AsyncKernelClient, msg_id: str, deadline: float) -> bool:
    """Whether IOPub carries ``msg_id``'s idle status soon (it is published right after the
    reply; missing it means IOPub connected late, and the request is sent again)."""
    until = min(time.monotonic() + 0.2, deadline)
    while True:
        try:
            msg = await kc.iopub_channel.get_msg(timeout=max(until - time.monotonic(), 0))
        except (Empty, asyncio.TimeoutError):
            return False
        if (
            msg["msg_type"] == "status"
            and msg["parent_header"].get("msg_id") == msg_id
            and msg["content"].get("execution_state") == "idle"
        ):
            return True
