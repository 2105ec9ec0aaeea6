"""`concur-scim serve` as a real process: token, port, workers, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.server import _free_port, _wait_until_healthy, running_server

pytestmark = pytest.mark.server


def test_serve_with_configured_token_serves_scim(tmp_path: Path) -> None:
    """With CONCUR_SCIM_BEARER_TOKEN set, /scim/v2 answers that token and refuses others."""
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    with running_server(url, "configured-token") as base:
        ok = httpx.get(
            f"{base}/scim/v2/Users", headers={"Authorization": "Bearer configured-token"}
        )
        assert ok.status_code == 200
        assert ok.json()["totalResults"] == 0
        bad = httpx.get(f"{base}/scim/v2/Users", headers={"Authorization": "Bearer other"})
        assert bad.status_code == 401


def test_serve_with_two_workers_shares_one_store(tmp_path: Path) -> None:
    """--workers 2 runs two processes over one SQLite file; every write is seen by reads."""
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    auth = {"Authorization": "Bearer w-token"}
    with (
        running_server(url, "w-token", {"CONCUR_SCIM_WORKERS": "2"}) as base,
        httpx.Client(base_url=f"{base}/scim/v2", headers=auth, timeout=30) as client,
    ):
        for n in range(20):
            r = client.post("/Users", json={"userName": f"worker{n}"})
            assert r.status_code == 201, r.text
        assert client.get("/Users", params={"count": 0}).json()["totalResults"] == 20


def test_serve_generates_and_prints_a_token(tmp_path: Path) -> None:
    """Without a configured token, serve prints the base URL and a fresh token that works."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    command = [
        sys.executable,
        "-m",
        "concur_scim.cli",
        "serve",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp_path / 'gen.db'}",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path
    ) as process:
        _check_generated_token(process, port)


def _check_generated_token(process: subprocess.Popen[bytes], port: int) -> None:
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        second = process.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/scim/v2" in first
        token = second.strip().removeprefix("bearer token: ")
        assert len(token) >= 32
        base = f"http://127.0.0.1:{port}"
        assert _wait_until_healthy(process, base) is None
        response = httpx.get(f"{base}/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "scim.example.com"])  # noqa: S104
def test_serve_beyond_loopback_needs_an_issuer(tmp_path: Path, host: str) -> None:
    """Without CONCUR_SCIM_ISSUER, `serve --host` other than loopback refuses to start with
    one clear line (the Host header would otherwise choose a token's iss)."""
    env = {k: v for k, v in os.environ.items() if k != "CONCUR_SCIM_ISSUER"}
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    command = [sys.executable, "-m", "concur_scim.cli", "serve", "--host", host]
    result = subprocess.run(
        [*command, "--port", "18402", "--database-url", database],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "CONCUR_SCIM_ISSUER" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before touching anything
