"""Waiting for a kernel to answer: a live kernel's kernel_info reply, a dead kernel's error."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from jupyter_client.manager import AsyncKernelManager

from orchest_ext.executors.local.kernel_ready import wait_for_ready


async def test_a_ready_kernel_answers_with_its_language_and_iopub_is_connected() -> None:
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        reply = await wait_for_ready(kc, 60)
        assert reply["content"]["language_info"]["name"] == "python"
        msg_id = kc.execute("print('over iopub')")
        texts = []
        while not texts:
            msg = await kc.get_iopub_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                texts.append(msg["content"]["text"])
        assert texts == ["over iopub\n"]
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


async def test_a_dead_kernel_is_reported() -> None:
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel()
    await km.signal_kernel(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while await km.is_alive():
        assert time.monotonic() < deadline, "the kernel did not die"
        await asyncio.sleep(0.02)
    kc = km.client()
    kc.start_channels()
    try:
        with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
            await wait_for_ready(kc, 60)
    finally:
        kc.stop_channels()
        await km.cleanup_resources()
