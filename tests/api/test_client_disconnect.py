"""A client that leaves mid-upload is no server error (api/middleware.py, api/audit.py).

The client declares a ``Content-Length`` larger than what it sends, then closes the
connection; Starlette's ``request.stream()`` raises ``ClientDisconnect``. The server logs one
INFO line without a traceback, answers nothing (nobody is left to read it) and the audit
trail records the write with status 499 (nginx's "client closed request"), its body kept as
its size only; never a 500.

Checked in process on SQLite and PostgreSQL, and against a real ``concur-scim serve``
(uvicorn) process on SQLite with a raw socket, as a client would do it.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from starlette.types import Message
from support.server import running_server

from concur_scim.api.journal_writer import flush_all
from concur_scim.store.db import create_db_engine
from concur_scim.store.migrate import upgrade
from concur_scim.store.tables import request_log

TOKEN = "test-token"
DECLARED = 100_000
PARTIAL = b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "gone'
LOG_WAIT_SECONDS = 15.0


def request_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every request_log row, oldest first."""
    flush_all()  # the journal's rows are written by its own thread
    with engine.connect() as conn:
        found = conn.execute(select(request_log).order_by(request_log.c.seq)).mappings()
        return [dict(row) for row in found]


def test_disconnect_mid_body_in_process(
    client: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the whole middleware stack: no answer, one INFO line and no error record,
    and a 499 row whose detail is the received size only."""
    caplog.set_level(logging.DEBUG)
    headers = [
        (b"host", b"testserver"),
        (b"authorization", f"Bearer {TOKEN}".encode()),
        (b"content-type", b"application/scim+json"),
        (b"content-length", str(DECLARED).encode()),
        (b"concur-correlationid", b"corr-gone-1"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/scim/v2/Users",
        "raw_path": b"/scim/v2/Users",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": PARTIAL, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if len(incoming) > 1 else incoming[0]

    async def send(message: Message) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)

    assert client.portal is not None  # the session client runs its lifespan
    client.portal.call(call)

    assert sent == []  # the client is gone: nothing is answered
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
    [quiet] = [r for r in caplog.records if r.name == "concur_scim.api"]
    assert quiet.levelno == logging.INFO
    assert "client closed the connection" in quiet.getMessage()
    [row] = request_rows(engine)
    assert (row["correlation_id"], row["method"], row["status"]) == ("corr-gone-1", "POST", 499)
    assert row["detail"] == {
        "bytes": len(PARTIAL),
        "contentType": "application/scim+json",
        "truncated": True,
    }


def wait_for(logfile: Path, text: str) -> str:
    """The server log once it contains ``text`` (failing the test after a deadline)."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        log = logfile.read_text(errors="replace")
        if text in log:
            return log
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{log}"
        time.sleep(0.05)


@pytest.mark.server
def test_disconnect_mid_upload_against_real_server(tmp_path: Path) -> None:
    """A raw socket sends a POST declaring 100000 bytes, sends a few, and closes: the log
    has no traceback and no error, and request_log has no 500 (a 499 instead)."""
    url = f"sqlite:///{tmp_path / 'disconnect.db'}"
    upgrade(url)
    logs: list[Path] = []
    with running_server(url, TOKEN, logs=logs) as base:
        logfile = logs[-1]
        port = int(base.rsplit(":", 1)[1])
        head = (
            "POST /scim/v2/Users HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/scim+json\r\n"
            "concur-correlationid: corr-gone-2\r\n"
            f"Content-Length: {DECLARED}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + PARTIAL)
            time.sleep(0.3)  # let the server start reading the body before the close
        wait_for(logfile, '"correlation_id":"corr-gone-2"')
        # The server keeps serving.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
        log = logfile.read_text(errors="replace")  # the log goes with the server's workdir

    assert "Traceback" not in log, log
    assert " ERROR " not in log, log
    assert "ERROR:" not in log, log  # uvicorn's own format
    assert "unhandled" not in log.lower(), log
    assert "client closed the connection before sending the whole body of POST" in log
    [line] = [ln for ln in log.splitlines() if "corr-gone-2" in ln]
    assert " INFO concur_scim.audit: " in line
    assert json.loads(line.split("concur_scim.audit: ", 1)[1])["status"] == 499

    engine = create_db_engine(url)
    try:
        rows = request_rows(engine)
    finally:
        engine.dispose()
    assert [r["status"] for r in rows if r["status"] == 500] == []
    [row] = [r for r in rows if r["correlation_id"] == "corr-gone-2"]
    assert (row["method"], row["path"], row["status"]) == ("POST", "/scim/v2/Users", 499)
    assert row["detail"]["truncated"] is True
    assert "json" not in row["detail"]
