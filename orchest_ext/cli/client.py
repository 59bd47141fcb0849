"""A small blocking client of a running server's REST API, for the command line."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ClientError(Exception):
    """The server could not be reached or answered an error (``status`` 0: unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Client:
    """``<url>/orchest/api/...`` with the server's token."""

    url: str
    token: str = ""
    root_dir: Path | None = None

    def request(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """The JSON answer of ``method <url>/orchest/api/<path>``; ClientError on errors."""
        address = f"{self.url.rstrip('/')}/orchest/api/{path}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(
            address,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read() or b"{}").get("message") or err.reason
            except json.JSONDecodeError:
                message = err.reason
            raise ClientError(err.code, f"{err.code}: {message}") from None
        except (urllib.error.URLError, OSError) as err:
            raise ClientError(0, f"Cannot reach the server at {self.url}: {err}") from None

    def server_path(self, path: str) -> str:
        """A local file as a path relative to the server's root dir (when it is known and
        the file is under it), else ``path`` as given."""
        local = Path(path).resolve()
        if self.root_dir is not None and local.exists():
            try:
                return local.relative_to(self.root_dir.resolve()).as_posix()
            except ValueError:
                pass
        return path


def connect(url: str | None, token: str | None) -> Client:
    """A client of ``url``, or of the first running Jupyter server of this user."""
    if url:
        return Client(url, token or "")
    from jupyter_server.serverapp import list_running_servers

    for server in list_running_servers():
        return Client(server["url"], token or server.get("token", ""), Path(server["root_dir"]))
    raise ClientError(0, "No running Jupyter server found; start one or pass --url and --token.")
