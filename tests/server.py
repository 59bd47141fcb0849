"""Test and benchmark support: a real `jupyter server` process with orchest_ext."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TERMINAL = {"SUCCESS", "FAILURE", "ABORTED"}

# Headless Chromium (Debian's package) for browser tests and benchmarks: no sandbox (root),
# and none of the background connections this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A `jupyter server` (or, with ``app_module="jupyterlab"``, `jupyter lab`) subprocess on
    127.0.0.1 with its own Jupyter dirs and token; its store is ``db_path`` (default:
    ``<state_dir>/orchest.db``)."""

    def __init__(
        self,
        root_dir: Path,
        state_dir: Path,
        extra_args: list[str] = (),
        app_module: str = "jupyter_server",
        db_path: Path | None = None,
    ) -> None:
        self.app_module = app_module
        self.db_path = db_path or state_dir / "orchest.db"
        self.root_dir = root_dir
        self.state_dir = state_dir
        self.extra_args = list(extra_args)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = state_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServerProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.state_dir / "config"),
            "JUPYTER_DATA_DIR": str(self.state_dir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.state_dir / "runtime"),
        }
        command = [
            sys.executable,
            "-m",
            self.app_module,
            "--allow-root",
            "--no-browser",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.jpserver_extensions={'orchest_ext': True}",
            f"--OrchestApp.db_path={self.db_path}",
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                self.request("GET", "/orchest/api/backends")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout} s:\n{self.log_path.read_text()}")

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def wait_for_run(self, run_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            code, run = self.request("GET", f"/orchest/api/runs/{run_id}")
            assert code == 200, run
            if run["status"] in TERMINAL:
                return run
            assert time.monotonic() < deadline, f"run still {run['status']}: {run}"
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait (jupyter server shuts its extensions down)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
