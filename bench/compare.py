"""Side-by-side benchmark: concur-scim vs the scim2-server peer vs a FastAPI hello-world.

Usage (from the repository root; the peer needs the ``bench`` extra)::

    .venv/bin/pip install -e ".[dev,bench]"
    .venv/bin/python bench/compare.py [--users N] [--requests R] [--concurrency C]
        [--rounds K] [--servers a,b] [--paths a,b] [--database-url URL]
        [--profile OUT.json|OUT.svg [--profile-path NAME]]
    make bench-compare ARGS="--users 10000 --requests 1000 --rounds 3"

Servers, each its own process with one uvicorn worker (uvicorn's defaults: httptools and
uvloop when installed, as the project's dependencies have them, else h11 and asyncio; log
level warning) on 127.0.0.1:

- ``hello-world``: ``bench/hello.py`` (FastAPI), the floor of the framework and server.
- ``scim2-server``: the python-scim server (PyPI ``scim2-server``): its ``ASGIApplication``
  over ``AsyncInMemoryStorage`` with the default schemas (User with the enterprise
  extension, Group), base path ``/v2``, a static bearer token (as its ``scim2-server
  --bearer-token`` command, which serves the WSGI app with wsgiref threads instead).
  ``peer_app`` below builds it; N users are loaded at startup in-process, each through
  the peer's own request handling (``ASGIApplication.serve`` of a ``POST /Users``
  request, validation included; no HTTP), before the server listens.
- ``concur-scim``: ``concur-scim serve`` at ``/scim/v2``, SQLite file in a temporary
  directory unless ``--database-url``; N users are loaded in-process through its service
  layer before the server starts (``run.py``'s ``load_service``).

Paths (``--paths``; the hello-world answers each with ``{"hello": "world"}``):

- ``lookup``: ``GET /Users?filter=userName eq "<random existing>"`` (hello: ``GET /``)
- ``create``: ``POST /Users``, a new user (userName, name, emails, active, enterprise
  extension) (hello: ``POST /`` with the same body, parsed)
- ``patch``: ``PATCH /Users/{random id}``, Entra's shape: ``Replace`` of ``displayName``
  and ``name.givenName`` (hello: ``PATCH /`` with the same body, parsed)
- ``page``: ``GET /Users?startIndex=1&count=100`` (hello: ``GET /``)

Each round runs every (server, path) pair once: paths in turn, and for each path every
server back to back; the order of paths and of servers rotates from round to round. A run
is ``--warmup`` unmeasured requests, then ``--requests`` measured ones from C tasks, each
with its own keep-alive connection (``bench/loadgen.py``, requests encoded beforehand).
A measured run stops early at ``--max-seconds`` (default 60; the report marks it ``*``):
the peer's ``page`` sorts every stored user on each request (about 0.1 s of CPU per
request at 10,000 users here), so its runs can take minutes.
Server CPU per request is the utime + stime delta of the server's process tree (from
/proc) over the measured requests. The report gives medians over rounds, then ratios of
those medians (concur-scim / scim2-server, concur-scim / hello-world).

Correctness: before the rounds, one request per (server, path) is sent and its body
checked (the user found, created or patched; a full page); during runs every non-2xx
answer or transport error counts as failed, and the first answer of each task is checked
the same way. The exit status is 1 when anything failed.

``--profile OUT`` attaches ``py-spy record`` to the concur-scim process after the rounds
(``--rounds 0`` to profile only) for one run of ``--profile-path`` (default ``lookup``)
and writes a speedscope file (a flamegraph SVG when OUT ends in ``.svg``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import itertools
import json
import os
import platform
import random
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import loadgen
from _common import (
    CORE_USER,
    ENTERPRISE_USER,
    PATCH_OP,
    backend_of,
    cpu_model,
    free_port,
    proc_cpu,
    process_tree,
    ratio,
    user_doc,
)

BENCH = Path(__file__).resolve().parent
HELLO, PEER, CONCUR = "hello-world", "scim2-server", "concur-scim"
ALL_SERVERS = (HELLO, PEER, CONCUR)
ALL_PATHS = ("lookup", "create", "patch", "page")
BASES = {HELLO: "", PEER: "/v2", CONCUR: "/scim/v2"}
PAGE = 100
START_TIMEOUT = 300.0  # seconds; the peer loads its users before it listens
PEER_ENV_USERS = "SCIM_BENCH_PEER_USERS"  # JSON lines of the users to load at startup
PEER_ENV_IDS = "SCIM_BENCH_PEER_IDS"  # where the peer writes their ids, one a line
PEER_ENV_TOKEN = "SCIM_BENCH_TOKEN"  # noqa: S105 (the variable's name, not a secret)


# --------------------------------------------------------------------------- arguments


def csv_subset(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    chosen = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in allowed]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown or no {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})"
        )
    return [x for x in allowed if x in chosen]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=10_000, help="users per server (10000)")
    p.add_argument("--requests", type=int, default=2000, help="measured requests/run (2000)")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured requests/run (50)")
    p.add_argument("--concurrency", type=int, default=16, help="client connections (16)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; medians reported (3)")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="time cap of one measured run: it stops at --requests or this, whichever "
        "comes first, and the report says so (60; the warm-up's cap is a sixth of it)",
    )
    p.add_argument(
        "--servers",
        type=lambda t: csv_subset(t, ALL_SERVERS, "servers"),
        default=list(ALL_SERVERS),
        help="comma-separated subset of: " + ", ".join(ALL_SERVERS),
    )
    p.add_argument(
        "--paths",
        type=lambda t: csv_subset(t, ALL_PATHS, "paths"),
        default=list(ALL_PATHS),
        help="comma-separated subset of: " + ", ".join(ALL_PATHS),
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="concur-scim's database (default: a fresh SQLite file in a temp dir)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="OUT",
        help="py-spy record concur-scim during one run of --profile-path into OUT "
        "(speedscope JSON; flamegraph SVG if OUT ends in .svg)",
    )
    p.add_argument("--profile-path", choices=ALL_PATHS, default="lookup")
    p.add_argument("--profile-rate", type=int, default=200, help="py-spy samples/s (200)")
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = p.parse_args(argv)
    for name in ("users", "requests", "concurrency"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.rounds < (0 if args.profile else 1):
        p.error("--rounds must be at least 1 (0 only with --profile)")
    if args.users < PAGE:
        p.error(f"--users must be at least {PAGE} (one page)")
    if args.profile and CONCUR not in args.servers:
        p.error(f"--profile needs {CONCUR} among --servers")
    return args


# --------------------------------------------------------------------------- the peer


def peer_app() -> Any:
    """The uvicorn factory of the peer (``compare:peer_app``): scim2-server over memory.

    It reads ``SCIM_BENCH_TOKEN`` (the bearer token it accepts), ``SCIM_BENCH_PEER_USERS``
    (a JSON-lines file of users that it creates at startup, each through its own request
    handling) and ``SCIM_BENCH_PEER_IDS`` (where it writes their ids, in order).
    """
    # Imported here: only the peer's process needs them.
    from scim2_models import UnauthorizedException  # noqa: PLC0415
    from scim2_server.applications.asgi import ASGIApplication  # noqa: PLC0415
    from scim2_server.memory import AsyncInMemoryStorage  # noqa: PLC0415
    from scim2_server.requests import ScimRequest  # noqa: PLC0415
    from scim2_server.utils import load_default_provider  # noqa: PLC0415

    token = os.environ[PEER_ENV_TOKEN]
    users_file = os.environ.get(PEER_ENV_USERS)
    ids_file = os.environ.get(PEER_ENV_IDS)

    class PeerApp(ASGIApplication):
        def check_auth(self, request: ScimRequest) -> None:
            scheme, _, given = (request.header("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or given != token:
                raise UnauthorizedException

        async def preload(self) -> None:
            if not users_file or not ids_file:
                return
            ids = []
            headers = [
                ("Authorization", f"Bearer {token}"),
                ("Content-Type", "application/scim+json"),
            ]
            with Path(users_file).open("rb") as lines:
                for line in lines:
                    request = ScimRequest(
                        "POST", "http://127.0.0.1/v2", "/Users", headers=headers, body=line
                    )
                    response = await self.serve(request)
                    if int(response.status) != 201:
                        raise RuntimeError(f"preload: {response.status} {response.body}")
                    ids.append(response.body["id"])
            Path(ids_file).write_text("\n".join(ids) + "\n")

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                await self.preload()
            await super().__call__(scope, receive, send)

    return PeerApp(AsyncInMemoryStorage(), load_default_provider())


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One server process, what it serves, and the users loaded into it."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: IO[str]
    health: str
    user_ids: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000_000))

    @property
    def base(self) -> str:
        return BASES[self.name]

    def cpu_seconds(self) -> float:
        """utime + stime of the server process and its descendants so far."""
        return sum(proc_cpu(pid) for pid in process_tree(self.proc.pid))

    def log_tail(self, lines: int = 30) -> str:
        self.log_file.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def spawn(name: str, cmd: list[str], env: dict[str, str], workdir: Path, health: str) -> Server:
    """Start one server on a free port (``{port}`` in ``cmd``); do not wait for it."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        [c.replace("{port}", str(port)) for c in cmd],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        cwd=workdir,
    )
    return Server(name, proc, port, log_path, log_file, health)


def wait_ready(server: Server, token: str, timeout: float = START_TIMEOUT) -> None:
    """Poll the server's health path until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn.request("GET", server.health, headers={"Authorization": f"Bearer {token}"})
            if conn.getresponse().status == 200:
                conn.close()
                return
        conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready within {timeout:.0f} s:\n{server.log_tail()}")


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            print(f"{server.name} did not stop within 15 s of SIGTERM: killed")
    server.log_file.close()


def uvicorn_cmd(app: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *extra,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]


def start_servers(
    args: argparse.Namespace,
    token: str,
    workdir: Path,
    url: str,
    prefix: str,
    servers: dict[str, Server],
) -> None:
    """Load and start the chosen servers into ``servers`` (the peer loads its users while
    concur-scim's are loaded here)."""
    env = dict(os.environ)
    names = [user_doc(prefix, i)["userName"] for i in range(args.users)]
    users_file, ids_file = workdir / "peer-users.jsonl", workdir / "peer-ids.txt"
    t0 = time.perf_counter()
    if HELLO in args.servers:
        servers[HELLO] = spawn(HELLO, uvicorn_cmd("hello:app"), env, workdir, "/")
    if PEER in args.servers:
        with users_file.open("w") as f:
            f.writelines(json.dumps(user_doc(prefix, i)) + "\n" for i in range(args.users))
        peer_env = dict(
            env,
            **{PEER_ENV_TOKEN: token, PEER_ENV_USERS: str(users_file), PEER_ENV_IDS: str(ids_file)},
        )
        peer = spawn(PEER, uvicorn_cmd("compare:peer_app", "--factory"), peer_env, workdir, "/")
        peer.health = "/v2/ServiceProviderConfig"
        servers[PEER] = peer
    if CONCUR in args.servers:
        servers[CONCUR] = start_concur(args, token, workdir, url, prefix)
        servers[CONCUR].user_names = list(names)
    for server in servers.values():
        wait_ready(server, token)
    if PEER in servers:
        peer = servers[PEER]
        peer.user_ids = ids_file.read_text().split()
        peer.user_names = list(names)
        print(
            f"{PEER}: loaded {len(peer.user_ids)} users in-process through its own request "
            f"handling (POST /Users, no HTTP) at startup; ready after "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    for server in servers.values():
        print(f"{server.name}: pid {server.proc.pid}, http://127.0.0.1:{server.port}{server.base}")


def start_concur(
    args: argparse.Namespace, token: str, workdir: Path, url: str, prefix: str
) -> Server:
    """Load N users through concur-scim's service layer, then start ``concur-scim serve``."""
    import run  # noqa: PLC0415 (imports concur_scim: only this process needs it)

    data = run.Dataset(prefix=prefix)  # no spare users; two empty groups are created
    t0 = time.perf_counter()
    run.load_service(url, argparse.Namespace(users=args.users, concurrency=0), data)
    print(
        f"{CONCUR}: loaded {len(data.user_ids)} users in-process through its service layer "
        f"({run.LOAD_BATCH} per transaction) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    exe = Path(sys.executable).parent / "concur-scim"
    cmd = [str(exe) if exe.exists() else "concur-scim", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", "{port}", "--database-url", url, "--workers", "1"]
    env = dict(os.environ, CONCUR_SCIM_BEARER_TOKEN=token, CONCUR_SCIM_LOG_LEVEL="warning")
    server = spawn(CONCUR, cmd, env, workdir, "/healthz")
    server.user_ids = data.user_ids
    return server


# --------------------------------------------------------------------------- requests


def create_doc(prefix: str, i: int) -> dict[str, Any]:
    """The body of ``create``: core userName, name, emails, active + enterprise."""
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": f"{prefix}-new-{i}@example.com",
        "name": {"givenName": f"New{i}", "familyName": f"Family{i % 977}"},
        "emails": [{"value": f"{prefix}-new-{i}@example.com", "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": f"{prefix}-N{i}", "department": f"Dept {i % 37}"},
    }


def entra_patch(display: str, given: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": display},
            {"op": "Replace", "path": "name.givenName", "value": given},
        ],
    }


@dataclass
class Batch:
    """Encoded requests of one run, with what each answer should show."""

    raw: list[bytes]
    expect: list[str]


def describe(server: str, path: str) -> str:
    if server == HELLO:
        return {"lookup": "GET /", "create": "POST /", "patch": "PATCH /", "page": "GET /"}[path]
    return {
        "lookup": 'GET /Users?filter=userName eq "<random>"',
        "create": "POST /Users",
        "patch": "PATCH /Users/{random id}",
        "page": f"GET /Users?startIndex=1&count={PAGE}",
    }[path]


def build(server: Server, path: str, n: int, rng: random.Random, token: str, prefix: str) -> Batch:
    """``n`` encoded requests of ``path`` for ``server``."""
    host = f"127.0.0.1:{server.port}"
    auth = {"Authorization": f"Bearer {token}"}
    scim = {**auth, "Content-Type": "application/scim+json"}
    base = server.base
    raw: list[bytes] = []
    expect: list[str] = []
    for _ in range(n):
        if path == "lookup":
            name = rng.choice(server.user_names) if base else ""
            target = f"{base}/Users?filter=" + quote(f'userName eq "{name}"', safe="")
            raw.append(loadgen.encode_request("GET", host, target if base else "/", auth))
            expect.append(name)
        elif path == "page":
            target = f"{base}/Users?startIndex=1&count={PAGE}"
            raw.append(loadgen.encode_request("GET", host, target if base else "/", auth))
            expect.append("")
        elif path == "create":
            doc = create_doc(prefix, next(server.serial))
            body = json.dumps(doc).encode()
            target = f"{base}/Users" if base else "/"
            raw.append(loadgen.encode_request("POST", host, target, scim, body))
            expect.append(doc["userName"])
        else:
            tag = rng.randrange(10**9)
            body = json.dumps(entra_patch(f"Display {tag}", f"G{tag}")).encode()
            target = f"{base}/Users/{rng.choice(server.user_ids)}" if base else "/"
            # (the hello-world has no users: it answers PATCH / with the same body)
            raw.append(loadgen.encode_request("PATCH", host, target, scim, body))
            expect.append(f"Display {tag}")
    return Batch(raw, expect)


def check(server: Server, path: str, status: int, body: bytes, expect: str, users: int) -> str:
    """Why an answer is wrong ("" when right)."""
    if not 200 <= status < 300:
        return f"status {status}: {body[:300]!r}"
    if path == "patch" and status == 204:
        return ""
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if server.name == HELLO:
        ok = doc == {"hello": "world"}
    elif path == "lookup":
        res = doc.get("Resources") or [{}]
        ok = doc.get("totalResults") == 1 and res[0].get("userName") == expect
    elif path == "page":
        ok = len(doc.get("Resources", [])) == PAGE and doc.get("totalResults", 0) >= users
    elif path == "create":
        ok = status == 201 and doc.get("userName") == expect and bool(doc.get("id"))
    else:
        ok = doc.get("displayName") == expect
    return "" if ok else f"unexpected body: {body[:300]!r}"


# --------------------------------------------------------------------------- measuring


@dataclass
class RunStat:
    """One measured run of one (server, path)."""

    requests: int
    rps: float
    p50: float
    p99: float
    server_cpu_ms: float
    client_cpu_ms: float
    failed: int
    capped: bool


@dataclass
class Bench:
    """What the rounds need: servers, settings, a random source, the collected results."""

    args: argparse.Namespace
    servers: dict[str, Server]
    token: str
    prefix: str
    rng: random.Random
    results: dict[tuple[str, str], list[RunStat]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    async def verify(self) -> None:
        """One request per (server, path), body checked, before anything is measured."""
        for server in self.servers.values():
            for path in self.args.paths:
                batch = build(server, path, 1, self.rng, self.token, self.prefix)
                conn = loadgen.Connection("127.0.0.1", server.port)
                try:
                    status, body = await conn.send(batch.raw[0])
                    reread = ""
                    if path == "patch" and status == 204:  # no body: read the user back
                        target = batch.raw[0].split(b" ", 2)[1].decode()
                        auth = {"Authorization": f"Bearer {self.token}"}
                        get = loadgen.encode_request(
                            "GET", f"127.0.0.1:{server.port}", target, auth
                        )
                        status, body = await conn.send(get)
                        reread = ", read back with GET"
                finally:
                    await conn.close()
                why = check(server, path, status, body, batch.expect[0], self.args.users)
                mark = f"FAILED ({why})" if why else f"ok ({status}, {len(body)} bytes{reread})"
                print(f"  check {server.name:<12} {path:<6} {mark}")
                if why:
                    self.problems.append(f"check {server.name} {path}: {why}")

    async def run_one(self, server: Server, path: str) -> loadgen.LoadResult:
        """Warm up, then one measured run; returns the measured result."""
        args = self.args
        warm = build(server, path, args.warmup, self.rng, self.token, self.prefix)
        batch = build(server, path, args.requests, self.rng, self.token, self.prefix)
        conns = await loadgen.open_connections("127.0.0.1", server.port, args.concurrency)
        try:
            if warm.raw:
                await loadgen.run(conns, warm.raw, args.max_seconds / 6)
            cpu0 = server.cpu_seconds()
            result = await loadgen.run(conns, batch.raw, args.max_seconds)
            cpu = server.cpu_seconds() - cpu0
        finally:
            await loadgen.close_connections(conns)
        n = max(result.requests, 1)
        stat = RunStat(
            result.requests,
            result.rps,
            result.p50,
            result.p99,
            cpu * 1000 / n,
            result.client_cpu_s * 1000 / n,
            result.failed,
            result.timed_out,
        )
        self.results.setdefault((server.name, path), []).append(stat)
        for i, status, body in result.samples:
            why = check(server, path, status, body, batch.expect[i], args.users)
            if why:
                self.problems.append(f"{server.name} {path} request {i}: {why}")
        print(
            f"  {server.name:<12} {path:<6} n={stat.requests:<5} {stat.rps:8.1f} req/s  "
            f"p50 {stat.p50:7.2f} ms  p99 {stat.p99:7.2f} ms  srv {stat.server_cpu_ms:6.2f} "
            f"ms CPU/req  client {stat.client_cpu_ms:5.2f}  failed {stat.failed}"
            + (f"  (stopped at the {args.max_seconds:g} s cap)" if stat.capped else ""),
            flush=True,
        )
        return result

    async def rounds(self) -> None:
        paths, names = self.args.paths, list(self.servers)
        for r in range(self.args.rounds):
            print(f"\nround {r + 1}/{self.args.rounds}", flush=True)
            for path in rotate(paths, r):
                for name in rotate(names, r):
                    await self.run_one(self.servers[name], path)


def rotate(items: list[str], k: int) -> list[str]:
    k %= len(items)
    return items[k:] + items[:k]


async def profile(bench: Bench, out: Path) -> None:
    """py-spy record concur-scim during one run of ``--profile-path``."""
    server = bench.servers[CONCUR]
    spy_exe = Path(sys.executable).parent / "py-spy"
    spy = str(spy_exe) if spy_exe.exists() else shutil.which("py-spy")
    if spy is None:
        bench.problems.append("--profile: py-spy not found (pip install -e '.[bench]')")
        return
    fmt = "flamegraph" if out.suffix == ".svg" else "speedscope"
    cmd = [spy, "record", "--pid", str(server.proc.pid), "--output", str(out)]
    cmd += ["--format", fmt, "--rate", str(bench.args.profile_rate)]
    log_path = server.log_path.with_name("py-spy.log")
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        await asyncio.sleep(1.0)
        if proc.poll() is not None:
            bench.problems.append(f"py-spy exited with {proc.returncode}: {log_path.read_text()}")
            return
        print(f"\nprofile (not a measured run: sampling slows the server): {shlex.join(cmd)}")
        await bench.run_one(server, bench.args.profile_path)
        bench.results[(CONCUR, bench.args.profile_path)].pop()  # not a measured run
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(log_path.read_text().strip())
    if not out.exists():
        bench.problems.append(f"py-spy wrote no {out}")


# --------------------------------------------------------------------------- report


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def print_header(args: argparse.Namespace, url: str) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("# concur-scim vs scim2-server vs hello-world")
    print(f"date:        {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    print(f"command:     {shlex.join([sys.executable, *sys.argv])}")
    print(f"cpu:         {cpu_model()}, {os.cpu_count()} cores (loadavg at start {load})")
    print(f"os:          {platform.platform()}")
    print(f"python:      {platform.python_implementation()} {platform.python_version()}")
    print(
        "software:    "
        + ", ".join(
            f"{d} {version(d)}"
            for d in ("concur-scim", "scim2-server", "scim2-models", "fastapi", "uvicorn")
        )
    )
    print(f"concur-scim: {backend_of(url)}")
    print(f"{PEER}: ASGIApplication + AsyncInMemoryStorage (in memory), default schemas, /v2")
    print(
        f"settings:    users {args.users}, requests/run {args.requests} (+{args.warmup} "
        f"warm-up; cap {args.max_seconds:g} s/run), concurrency {args.concurrency}, "
        f"rounds {args.rounds}, servers {','.join(args.servers)}, paths {','.join(args.paths)}"
    )
    print(
        "client:      bench/loadgen.py (asyncio streams, HTTP/1.1 keep-alive, one "
        "connection per task), same machine"
    )
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"servers:     one process each, 1 uvicorn worker, {parser}, {loop}, log level warning",
        flush=True,
    )


def median_of(stats: list[RunStat], attr: str) -> float:
    values: list[float] = [getattr(s, attr) for s in stats]
    return statistics.median(values)


def n_cell(stats: list[RunStat]) -> str:
    n = statistics.median([s.requests for s in stats])
    return f"{n:g}" + ("*" if any(s.capped for s in stats) else "")


def print_report(bench: Bench) -> None:
    rounds = bench.args.rounds
    print(f"\n## Results (median of {rounds} round{'s' if rounds > 1 else ''})\n")
    print(
        "| path | server | request | n | req/s | p50 ms | p99 ms | server CPU ms/req "
        "| client CPU ms/req | failed |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    capped = False
    for path in bench.args.paths:
        for name in ALL_SERVERS:
            stats = bench.results.get((name, path))
            if not stats:
                continue
            print(
                f"| {path} | {name} | `{describe(name, path)}` | {n_cell(stats)} "
                f"| {median_of(stats, 'rps'):.1f} | {median_of(stats, 'p50'):.2f} "
                f"| {median_of(stats, 'p99'):.2f} | {median_of(stats, 'server_cpu_ms'):.2f} "
                f"| {median_of(stats, 'client_cpu_ms'):.2f} | {sum(s.failed for s in stats)} |"
            )
            capped = capped or any(s.capped for s in stats)
    if capped:
        print(
            f"\n`*`: at least one run stopped at the {bench.args.max_seconds:g} s cap "
            f"before {bench.args.requests} requests; n is the median of the runs' counts."
        )
    others = [o for o in (PEER, HELLO) if o in bench.servers]
    if CONCUR not in bench.servers or not others:
        return
    cols = [(attr, o) for attr in ("server_cpu_ms", "rps", "p50", "p99") for o in others]
    label = {"server_cpu_ms": "CPU/req", "rps": "req/s", "p50": "p50", "p99": "p99"}
    print("\n## Ratios of the medians: concur-scim / other\n")
    print("| path | " + " | ".join(f"{label[a]} ÷ {o}" for a, o in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for path in bench.args.paths:
        mine = bench.results.get((CONCUR, path))
        if not mine:
            continue
        cells = []
        for attr, other in cols:
            theirs = bench.results.get((other, path))
            cells.append(ratio(median_of(mine, attr), median_of(theirs, attr)) if theirs else "n/a")
        print(f"| {path} | " + " | ".join(cells) + " |")


# --------------------------------------------------------------------------- main


async def measure(bench: Bench) -> None:
    print("\ncorrectness checks (one request each, body checked):", flush=True)
    await bench.verify()
    await bench.rounds()
    if bench.args.profile:
        await profile(bench, bench.args.profile.resolve())


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; 0, or 1 when any request or check failed."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-compare-"))
    url = args.database_url or f"sqlite:///{workdir / 'concur.db'}"
    print_header(args, url)
    token = secrets.token_urlsafe(24)
    prefix = f"c{uuid.uuid4().hex[:8]}"
    servers: dict[str, Server] = {}

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        start_servers(args, token, workdir, url, prefix, servers)
        bench = Bench(args, servers, token, prefix, random.Random(args.seed))
        asyncio.run(measure(bench))
        if args.rounds:
            print_report(bench)
        print(f"\nloadavg at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if bench.problems:
            print(f"\n{len(bench.problems)} problem(s):")
            for line in bench.problems[:20]:
                print(f"  {line}")
            return 1
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        for server in servers.values():
            if server.proc.poll() is not None:
                print(
                    f"{server.name} exited early ({server.proc.returncode}):\n{server.log_tail()}"
                )
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
