"""Helpers for session (launch) tests: waiting on the API, the docker state of a session,
and a small async client of a session's own jupyter-server (REST + kernel websocket)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from .docker_support import docker, project_containers

SESSION_IMAGES = ("orchest-ext/eg:latest", "orchest-ext/server:latest", "orchest-ext/kernel:latest")
INPUT_TEXT = "rows: 3\n"
"""What the demo pipeline's ``sub/input.txt`` holds."""


async def wait_for_status(
    api, pipeline_uuid: str, wanted: set[str], timeout: float = 120
) -> dict[str, Any]:
    """Poll GET launches/{uuid} until its status is one of ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        code, launch = await api("GET", "launches", pipeline_uuid)
        assert code == 200, launch
        if launch["status"] in wanted:
            return launch
        assert time.monotonic() < deadline, f"still {launch['status']} after {timeout} s"
        await asyncio.sleep(0.1)


async def wait_until_gone(api, pipeline_uuid: str, timeout: float = 60) -> None:
    """Poll GET launches/{uuid} until it answers 404."""
    deadline = time.monotonic() + timeout
    while True:
        code, launch = await api("GET", "launches", pipeline_uuid)
        if code == 404:
            return
        assert code == 200, launch
        assert time.monotonic() < deadline, f"session still {launch['status']} after {timeout} s"
        await asyncio.sleep(0.1)


def session_containers(session_id: str, *labels: str) -> list[dict[str, str]]:
    """Containers (any state) labelled with the session (and ``labels``)."""
    return project_containers(f"orchest_ext.session={session_id}", *labels)


def session_networks(session_id: str) -> list[str]:
    """Networks labelled with the session."""
    proc = docker("network", "ls", "-q", "--filter", f"label=orchest_ext.session={session_id}")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def remove_scope(scope: str) -> None:
    """Force-remove every container and network of a session scope (test cleanup)."""
    ids = [c["ID"] for c in project_containers(f"orchest_ext.scope={scope}")]
    if ids:
        docker("rm", "-f", *ids)
    proc = docker("network", "ls", "-q", "--filter", f"label=orchest_ext.scope={scope}")
    if proc.stdout.split():
        docker("network", "rm", *proc.stdout.split())


@dataclass
class Execution:
    """What one execute_request produced, collected until iopub ``status: idle``."""

    stdout: str = ""
    results: list[str] = field(default_factory=list)
    displays: list[str] = field(default_factory=list)
    """``display_data`` (text/plain): how IRkernel shows a value."""
    error: dict[str, Any] | None = None


class SessionServer:
    """Async client of a session's jupyter-server, from its ``server_info``."""

    def __init__(self, server_info: dict[str, Any]) -> None:
        self.url = server_info["url"].rstrip("/") + server_info["base_url"].rstrip("/")
        self.token = server_info["token"]

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = HTTPRequest(
            f"{self.url}/{path}",
            method=method,
            body=None if body is None else json.dumps(body),
            headers={"Authorization": f"token {self.token}"},
            request_timeout=120,
            allow_nonstandard_methods=True,
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        return response.code, json.loads(response.body) if response.body else None

    async def start_notebook_kernel(self, notebook_path: str, kernel: str = "python3") -> str:
        """Open a notebook session (as JupyterLab does) and return its kernel's id."""
        code, session = await self.request(
            "POST",
            "api/sessions",
            {"path": notebook_path, "type": "notebook", "name": "", "kernel": {"name": kernel}},
        )
        assert code == 201, session
        return session["kernel"]["id"]

    async def execute(self, kernel_id: str, code: str, timeout: float = 60) -> Execution:
        """Run ``code`` over the kernel websocket; wait for iopub idle of that request."""
        url = self.url.replace("http", "ws", 1)
        ws = await websocket_connect(
            f"{url}/api/kernels/{kernel_id}/channels?token={quote(self.token)}"
        )
        try:
            msg_id = uuid.uuid4().hex
            ws.write_message(json.dumps(_execute_request(msg_id, code)))
            return await asyncio.wait_for(_collect(ws, msg_id), timeout)
        finally:
            ws.close()


def _execute_request(msg_id: str, code: str) -> dict[str, Any]:
    header = {
        "msg_id": msg_id,
        "msg_type": "execute_request",
        "username": "test",
        "session": uuid.uuid4().hex,
        "version": "5.3",
        "date": "",
    }
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
    }
    return {
        "header": header,
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": "shell",
        "buffers": [],
    }


async def _collect(ws, msg_id: str) -> Execution:
    result = Execution()
    while True:
        raw = await ws.read_message()
        assert raw is not None, "the kernel websocket closed"
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            result.stdout += content["text"]
        elif kind == "execute_result":
            result.results.append(content["data"].get("text/plain", ""))
        elif kind == "display_data":
            result.displays.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            result.error = content
        elif kind == "status" and content["execution_state"] == "idle":
            return result
