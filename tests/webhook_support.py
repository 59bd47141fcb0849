"""A real webhook receiver on loopback for tests and benchmarks: an HTTP server in a thread
that records each POST and answers as told (fail the first ones, hang, or answer slowly),
and checks each delivery's signature the way a receiver should."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .helpers import until


@dataclass
class Delivery:
    """One POST the receiver got."""

    headers: dict[str, str]
    raw: bytes
    status: int
    """What the receiver answered (0: it hung up without answering)."""

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def event(self) -> str:
        return self.headers["X-Orchest-Event"]

    def signed_with(self, secret: str) -> bool:
        """The check a receiver makes: ``sha256=<HMAC-SHA256 of the raw body>``, compared in
        constant time."""
        expected = "sha256=" + hmac.new(secret.encode(), self.raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Orchest-Signature", ""))


@dataclass
class Receiver:
    """``fail_first``: answer 500 to that many requests; ``hang``: never answer until
    ``release``; ``delay``: seconds before each answer."""

    fail_first: int = 0
    hang: bool = False
    delay: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver._answer(self, raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _answer(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        with self._lock:
            failing = len(self.deliveries) < self.fail_first
        if self.hang:
            self._released.wait(300)
        time.sleep(self.delay)
        status = 500 if failing else 200
        with self._lock:
            self.deliveries.append(Delivery(dict(handler.headers.items()), raw, status))
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def release(self) -> None:
        """Let hanging requests answer."""
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def received(self, event: str | None = None) -> list[Delivery]:
        """The deliveries answered 2xx (of one event)."""
        with self._lock:
            return [
                d
                for d in self.deliveries
                if d.status == 200 and (event is None or d.event == event)
            ]

    def wait_for(self, event: str, count: int = 1, timeout: float = 60) -> list[Delivery]:
        """Block until ``count`` deliveries of ``event`` were answered 2xx."""
        deadline = time.monotonic() + timeout
        while len(self.received(event)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.received(event))} of {count} {event} deliveries after "
                    f"{timeout} s; got {[d.event for d in self.deliveries]}"
                )
            time.sleep(0.05)
        return self.received(event)

    async def arrived(self, event: str, count: int = 1, timeout: float = 60) -> list[Delivery]:
        """``wait_for`` from a test running on the server's IOLoop (which must keep going)."""
        return await until(
            lambda: len(self.received(event)) >= count and self.received(event),
            f"{count} {event} deliveries",
            timeout,
        )
