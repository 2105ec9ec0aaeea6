"""A minimal asyncio HTTP/1.1 keep-alive load generator, cheap enough to share a machine.

Requests are encoded to bytes before a run (:func:`encode_request`), so the timed part
only writes bytes and parses answers: the status line, the headers it needs
(``Content-Length``, ``Transfer-Encoding: chunked``, ``Connection``) and the body. Each
of the C tasks of a run owns one connection (:class:`Connection`), kept alive across
requests and reopened only when the server closes it.

Usage::

    conns = await open_connections("127.0.0.1", port, 16)
    raw = [encode_request("GET", f"127.0.0.1:{port}", "/") for _ in range(1000)]
    result = await run(conns, raw)
    print(result.statuses, result.p50, result.p99)
    await close_connections(conns)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from _common import percentile

MAX_HEADER_LINES = 100
MAX_SAMPLES = 64  # bodies kept per run, beyond the first answer of each task


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 as this client reads it."""


def encode_request(
    method: str,
    host: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """One HTTP/1.1 request as bytes (``Content-Length`` added when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class Connection:
    """One keep-alive connection; :meth:`send` writes a request and reads its answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0  # how many times it was (re)opened

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.opened += 1

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send one encoded request; return (status, body). Reopens a closed connection."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None
        assert self.writer is not None
        try:
            self.writer.write(raw)
            await self.writer.drain()
            status, body, keep_alive = await read_response(self.reader)
        except BaseException:
            await self.close()
            raise
        if not keep_alive:
            await self.close()
        return status, body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one response: (status, body, whether the connection stays open)."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("the server closed the connection")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {line[:80]!r}")
    status = int(parts[1])
    keep_alive = parts[0] == b"HTTP/1.1"
    length: int | None = None
    chunked = False
    for _ in range(MAX_HEADER_LINES):
        header = await reader.readline()
        if header in (b"\r\n", b"\n"):
            break
        if not header:
            raise ConnectionError("the server closed the connection in the headers")
        name, _, value = header.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            keep_alive = b"close" not in value.lower()
    else:
        raise ProtocolError("too many header lines")
    if status < 200 or status in (204, 304):
        return status, b"", keep_alive
    if chunked:
        return status, await read_chunked(reader), keep_alive
    if length is not None:
        return status, await reader.readexactly(length), keep_alive
    return status, await reader.read(), False  # delimited by the end of the connection


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A ``Transfer-Encoding: chunked`` body (trailers read and dropped)."""
    pieces = []
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise ConnectionError("the server closed the connection in a chunked body")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (trailer := await reader.readline()) not in (b"\r\n", b"\n", b""):
                del trailer
            return b"".join(pieces)
        pieces.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after each chunk


async def open_connections(host: str, port: int, count: int) -> list[Connection]:
    """``count`` open connections (opened before any timing starts)."""
    conns = [Connection(host, port) for _ in range(count)]
    await asyncio.gather(*(c.open() for c in conns))
    return conns


async def close_connections(conns: Sequence[Connection]) -> None:
    await asyncio.gather(*(c.close() for c in conns))


@dataclass
class LoadResult:
    """One run: latencies, status counts, transport errors, kept bodies."""

    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int]
    errors: Counter[str]
    client_cpu_s: float
    samples: list[tuple[int, int, bytes]] = field(default_factory=list)
    """(request index, status, body) of the first request each task sent, and of failures."""
    timed_out: bool = False
    """Whether the run stopped at its time cap before sending every request."""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


async def run(
    conns: Sequence[Connection], requests: Sequence[bytes], max_seconds: float = math.inf
) -> LoadResult:
    """Send every request once, one task per connection, each task taking the next one.

    After ``max_seconds`` no task starts a new request (``timed_out`` is then true).
    """
    counter = itertools.count()
    timed_out = False
    total = len(requests)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    samples: list[tuple[int, int, bytes]] = []
    clock = time.perf_counter

    async def task(conn: Connection) -> None:
        nonlocal timed_out
        first = True
        while (i := next(counter)) < total:
            t0 = clock()
            if t0 > deadline:
                timed_out = True
                return
            try:
                status, body = await conn.send(requests[i])
            except (OSError, ConnectionError, ProtocolError, asyncio.IncompleteReadError) as exc:
                latencies.append((clock() - t0) * 1000)
                errors[type(exc).__name__] += 1
                continue
            latencies.append((clock() - t0) * 1000)
            statuses[status] += 1
            if first or (not 200 <= status < 300 and len(samples) < MAX_SAMPLES):
                samples.append((i, status, body))
                first = False

    cpu0 = time.process_time()
    start = clock()
    deadline = start + max_seconds
    await asyncio.gather(*(task(c) for c in conns))
    seconds = clock() - start
    return LoadResult(
        seconds=seconds,
        latencies_ms=latencies,
        statuses=statuses,
        errors=errors,
        client_cpu_s=time.process_time() - cpu0,
        samples=samples,
        timed_out=timed_out,
    )
