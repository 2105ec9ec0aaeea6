"""A real ``concur-scim serve`` process on loopback, for tests that talk HTTP to it.

Contract: ``running_server(database_url, token, extra_env)`` is a context manager that starts
``python -m concur_scim.cli serve --host 127.0.0.1 --port <free port> --database-url URL``
with ``CONCUR_SCIM_BEARER_TOKEN=token`` (plus ``extra_env``), waits until ``GET /healthz``
answers 200 and yields the base URL ``http://127.0.0.1:PORT`` (the SCIM root is
``<base>/scim/v2``).

* ``CONCUR_SCIM_*`` variables of the calling environment are not inherited, so the server is
  configured by the arguments alone; ``extra_env`` is applied last and may set any of them.
* The server's stdout and stderr go to a log file in a temporary directory. If the process
  exits or does not answer in time, RuntimeError is raised with the tail of that log. A lost
  race for the port (another process bound it between probing and binding) is retried.
* On exit the server gets SIGTERM, then SIGKILL if it has not stopped within a few seconds;
  the temporary directory is deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
_START_ATTEMPTS = 3
_LOG_TAIL_LINES = 40
_PORT_TAKEN = ("address already in use", "error while attempting to bind")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(server log unavailable: {exc})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(server log empty)"


def _server_env(token: str, extra_env: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    env["CONCUR_SCIM_BEARER_TOKEN"] = token
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str) -> str | None:
    """None once ``/healthz`` answers 200; otherwise why the server is not up."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return f"the server exited with status {process.returncode}"
            try:
                if client.get("/healthz").status_code == 200:
                    return None
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    return f"the server did not answer GET /healthz within {START_TIMEOUT_SECONDS:.0f}s"


@contextlib.contextmanager
def running_server(
    database_url: str,
    token: str,
    extra_env: dict[str, str] | None = None,
    logs: list[Path] | None = None,
) -> Iterator[str]:
    """Yield the base URL of a running server on ``database_url`` (see module doc).

    ``logs`` gets the path of each start attempt's log file (stdout and stderr): the last
    one is the running server's, readable until the block ends."""
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-server-"))
    env = _server_env(token, extra_env)
    process: subprocess.Popen[bytes] | None = None
    try:
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = _free_port()
            logfile = workdir / f"server-{attempt}.log"
            if logs is not None:
                logs.append(logfile)
            command = [
                sys.executable,
                "-m",
                "concur_scim.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                database_url,
            ]
            with logfile.open("wb") as log:
                process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
                )
            base_url = f"http://127.0.0.1:{port}"
            problem = _wait_until_healthy(process, base_url)
            if problem is None:
                yield base_url
                return
            _stop(process)
            tail = _log_tail(logfile)
            if attempt < _START_ATTEMPTS and any(s in tail.lower() for s in _PORT_TAKEN):
                continue
            raise RuntimeError(
                f"concur-scim serve failed to start: {problem}\n"
                f"command: {' '.join(command)}\n--- server log tail ({logfile}) ---\n{tail}"
            )
    finally:
        try:
            if process is not None:
                _stop(process)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
