"""`concur-scim bulk submit` against a real `concur-scim serve` process: JSON, NDJSON and CSV
files split under the server's Bulk limits, the summary table, exit codes, and the progress
display on a pseudo-terminal and in plain mode; on SQLite, then on PostgreSQL."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.server import running_server

pytestmark = pytest.mark.server

TOKEN = "bulk-cli-token"
MAX_OPERATIONS = 5  # the server's limit here, so that small files need several requests
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_n = itertools.count(1)
_RUN = uuid.uuid4().hex[:8]


def user(**overrides: Any) -> dict[str, Any]:
    """A core + enterprise user valid for User Provisioning (reference §6.1, §6.2)."""
    n = next(_n)
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": f"cli-{_RUN}-{n}@example.com",
        "active": True,
        "name": {"givenName": f"Given{n}", "familyName": f"Family{n}"},
        "emails": [{"value": f"cli-{_RUN}-{n}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"C{_RUN}{n}"},
        **overrides,
    }


@pytest.fixture(scope="module")
def server(new_database: Callable[..., str]) -> Iterator[str]:
    """A server on a new database: the module runs on SQLite, then on PostgreSQL."""
    env = {"CONCUR_SCIM_BULK_MAX_OPERATIONS": str(MAX_OPERATIONS)}
    with running_server(new_database(), TOKEN, env) as base:
        yield base


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    env.update(extra)
    return env


def run_cli(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``concur-scim bulk submit PATH ARGS`` with stdout a pipe."""
    return subprocess.run(
        [sys.executable, "-m", "concur_scim.cli", "bulk", "submit", str(path), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=180,
        check=False,
    )


def submit(server: str, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``concur-scim bulk submit PATH --url SERVER --token TOKEN ARGS`` with stdout a pipe."""
    return run_cli(path, "--url", server, "--token", TOKEN, "--poll-interval", "0.1", *args)


def summary_row(stdout: str, extension: str) -> list[str]:
    """The cells of the summary table's row for ``extension`` (plain mode)."""
    for line in stdout.splitlines():
        cells = line.split()
        if cells and cells[0] == extension:
            return cells[1:]
    raise AssertionError(f"no {extension} row in:\n{stdout}")


def find_user(server: str, user_name: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server}/scim/v2/Users",
        params={"filter": f'userName eq "{user_name}"'},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    resources: list[dict[str, Any]] = response.json()["Resources"]
    assert len(resources) == 1, response.text
    return resources[0]


def test_json_bulk_request_is_submitted_and_summarised(server: str, tmp_path: Path) -> None:
    """A JSON BulkRequest within the limits is one request; every operation succeeds: exit 0,
    a summary row per extension and plain progress lines (stdout is not a terminal)."""
    users = [user() for _ in range(3)]
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": u}
            for n, u in enumerate(users)
        ],
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(body))
    result = submit(server, path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "submitted request 1 of 1" in result.stdout
    assert summary_row(result.stdout, "extension") == ["success", "no-op", "error", "not-processed"]
    assert summary_row(result.stdout, "core:User") == ["3", "0", "0", "0"]
    assert "3 operations in 1 request(s): 3 succeeded, 0 failed" in result.stdout
    assert "━" not in result.stdout
    assert (
        find_user(server, users[0]["userName"])["name"]["givenName"]
        == users[0]["name"]["givenName"]
    )


def test_ndjson_larger_than_one_request_is_split(server: str, tmp_path: Path) -> None:
    """12 users, one per NDJSON line, under a 5-operation limit: three requests, all applied."""
    users = [user() for _ in range(12)]
    path = tmp_path / "users.ndjson"
    path.write_text("\n".join(json.dumps(u) for u in users) + "\n")
    result = submit(server, path)
    assert result.returncode == 0, result.stdout + result.stderr
    submitted = [x for x in result.stdout.splitlines() if x.startswith("submitted")]
    assert [x.split(":")[0] for x in submitted] == [
        f"submitted request {n} of 3" for n in (1, 2, 3)
    ]
    assert "(5 operations)" in result.stdout
    assert "(2 operations)" in result.stdout
    assert summary_row(result.stdout, "core:User") == ["12", "0", "0", "0"]
    assert "12 operations in 3 request(s): 12 succeeded, 0 failed" in result.stdout
    for u in users:
        find_user(server, u["userName"])


def test_csv_users_split_by_bytes(server: str, tmp_path: Path) -> None:
    """CSV rows become users (name, work email, employee number, active); a byte limit
    smaller than the file splits it into several requests."""
    rows = ["userName,givenName,familyName,email,employeeNumber,department,active"]
    names = []
    for n in range(4):
        name = f"csv-{_RUN}-{n}@example.com"
        names.append(name)
        active = "false" if n == 3 else "true"
        rows.append(f"{name},Ada{n},Lovelace,{name},E{_RUN}{n},Sales,{active}")
    path = tmp_path / "users.csv"
    path.write_text("\n".join(rows) + "\n")
    result = submit(server, path, "--max-bytes", "700")
    assert result.returncode == 0, result.stdout + result.stderr
    requests = int(result.stdout.split(" request(s)")[0].rsplit(" ", 1)[1])
    assert requests > 1
    assert "4 operations in" in result.stdout
    first = find_user(server, names[0])
    assert first["name"] == {"givenName": "Ada0", "familyName": "Lovelace"} | first["name"]
    assert first["emails"][0]["value"] == names[0]
    assert first[ENTERPRISE]["employeeNumber"] == f"E{_RUN}0"
    assert find_user(server, names[3])["active"] is False


def test_failing_operation_exits_1_and_is_listed(server: str, tmp_path: Path) -> None:
    """A PATCH of a user that does not exist fails: exit 1, an error row in the summary and
    a line naming the operation's bulkId (its line in the file)."""
    missing = "/Users/00000000-0000-4000-8000-000000000000"
    patch = {
        "method": "PATCH",
        "path": missing,
        "data": {"Operations": [{"op": "replace", "path": "active", "value": False}]},
    }
    path = tmp_path / "mixed.ndjson"
    path.write_text(json.dumps(user()) + "\n" + json.dumps(patch) + "\n")
    result = submit(server, path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert summary_row(result.stdout, "core:User")[0] == "1"
    assert summary_row(result.stdout, "core:User")[2] == "1"
    assert "failed: line-2 (request 1, operation 2, code 404)" in result.stdout
    assert "2 operations in 1 request(s): 1 succeeded, 1 failed" in result.stdout


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a 120-column pseudo-terminal; (status, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
        status = process.wait(timeout=30)
    return status, b"".join(chunks).decode(errors="replace")


def test_progress_bar_is_drawn_on_a_terminal(server: str, tmp_path: Path) -> None:
    """On a terminal, rich draws the "provisions" progress bar, then the summary table."""
    path = tmp_path / "tty.ndjson"
    path.write_text("\n".join(json.dumps(user()) for _ in range(7)) + "\n")
    args = [sys.executable, "-m", "concur_scim.cli", "bulk", "submit", str(path)]
    args += ["--url", server, "--poll-interval", "0.1"]
    status, output = run_in_pty(args, cli_env(CONCUR_SCIM_BEARER_TOKEN=TOKEN, TERM="xterm"))
    assert status == 0, output
    bar = [line for line in output.splitlines() if "provisions" in line]
    assert any("━" in line for line in bar), output  # rich's bar character
    assert any("7/7" in line for line in bar), output
    assert "core:User" in output
    assert "submitted request" not in output


def test_no_progress_prints_plain_lines_on_a_terminal(server: str, tmp_path: Path) -> None:
    """--no-progress on a terminal: no bar and no drawn table, one line per request
    submitted and completed."""
    path = tmp_path / "plain.ndjson"
    path.write_text("\n".join(json.dumps(user()) for _ in range(6)) + "\n")
    args = [sys.executable, "-m", "concur_scim.cli", "bulk", "submit", str(path)]
    args += ["--url", server, "--token", TOKEN, "--poll-interval", "0.1", "--no-progress"]
    status, output = run_in_pty(args, cli_env(TERM="xterm"))
    assert status == 0, output
    assert "━" not in output
    assert "submitted request 1 of 2" in output
    assert "submitted request 2 of 2" in output
    assert output.count("completed: ") == 2


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("userName,shoeSize\na@example.com,9\n", ".csv", "unknown CSV column 'shoeSize'"),
        ('{"userName": "x"}\nnot json\n', ".ndjson", "line 2: not JSON"),
        ('{"Operations": [{"method": "GET", "path": "/Users"}]}', ".json", "method must be"),
    ],
)
def test_bad_file_is_a_usage_error(
    server: str, tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    """A file the server would refuse: one line on stderr, exit 2, nothing sent."""
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    result = submit(server, path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "submitted" not in result.stdout


def test_refused_token_and_unreachable_server_exit_2(server: str, tmp_path: Path) -> None:
    """A token the server refuses and a server that is not there are exit status 2."""
    path = tmp_path / "one.ndjson"
    path.write_text(json.dumps(user()) + "\n")
    refused = run_cli(path, "--url", server, "--token", "wrong")
    assert refused.returncode == 2
    assert "HTTP 401" in refused.stderr
    unreachable = run_cli(path, "--url", "http://127.0.0.1:9", "--token", TOKEN)
    assert unreachable.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in unreachable.stderr
