"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (a free port) in a thread.

``receiving(statuses)`` yields a :class:`Receiver` whose ``url`` takes POSTs; each POST is
recorded (monotonic arrival time, headers, raw body) and answered with the next status of
``statuses`` (the last one repeats; default 200). :meth:`Receiver.wait_for` blocks until
that many POSTs arrived, failing the test past its deadline. :func:`closed_port_url` is a
URL nothing listens on (connection refused).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One POST the receiver got."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether ``X-Concur-Scim-Signature`` is the HMAC-SHA256 of the raw body."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        given = self.headers.get("x-concur-scim-signature", "")
        return hmac.compare_digest(given, expected)


@dataclass
class Receiver:
    """The running receiver: its URL and what it got so far."""

    url: str
    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, deadline_seconds: float = 30.0) -> list[Received]:
        """The first ``count`` POSTs, once they have arrived."""
        deadline = time.monotonic() + deadline_seconds
        while True:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received[:count])
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} POSTs arrived"
            time.sleep(0.02)


@contextmanager
def receiving(statuses: list[int] | None = None) -> Iterator[Receiver]:
    """Run a receiver until the block ends (see module doc)."""
    receiver = Receiver(url="", statuses=list(statuses or [200]))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(time.monotonic(), self.path, headers, body))
                index = min(len(receiver.received), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL whose port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/events"
