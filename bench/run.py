"""Load benchmark of the concur-scim server over loopback HTTP: a harness, not a test.

Usage (from the repository root)::

    .venv/bin/python bench/run.py [--users N] [--concurrency C] [--requests R]
                                  [--big-group M] [--repeat K] [--database-url URL]
                                  [--load service|api] [--max-seconds S] [--scenarios a,b,...]
    make bench ARGS="--users 10000 --repeat 3"

What it does, in order:

1. Picks a free port on 127.0.0.1 and a fresh SQLite file in a temporary directory (or the
   database given by ``--database-url``, e.g. ``postgresql+psycopg://user@host/db``; rows
   are added there under a run-unique name prefix and are not removed).
2. Loads N users (default 10,000), ``C`` spare users, a small group (``--small-group``,
   default 10 members) and a big group (``--big-group``, default 10,000 members). With
   ``--load service`` (default) this goes through the server's own service layer
   (``concur_scim.services``), in-process, against the same database, *before* the server
   starts; with ``--load api`` it goes through ``POST /Users`` and group ``PATCH`` requests
   after the server starts. The output says which, and how long it took.
3. Starts the real server (``python -m concur_scim.cli serve``) as a subprocess with a
   random bearer token and waits for ``/healthz``.
4. Runs each scenario with ``httpx.AsyncClient`` and C concurrent tasks for R requests
   (default 2000) or ``--max-seconds`` (default 60), whichever ends first, after a short
   unmeasured warm-up. Every non-2xx answer (and every transport error) is an error: the
   first few of each run are printed, and all are counted.
5. Repeats the whole round of scenarios ``--repeat`` times (interleaved, so that drift of a
   noisy machine hits every scenario alike) and prints, per scenario, the median over runs of
   req/s, p50 and p99 latency, plus server and client CPU time per request; then ratios
   computed from those medians (big vs small group PATCH, deep vs shallow page, cursor vs
   index page).
6. Stops the server with SIGTERM (SIGKILL after 15 s) and removes the temporary directory.

Scenarios (``--scenarios`` takes a comma-separated subset of these names):

- ``filter``: ``GET /Users?filter=userName eq "<random existing user>"``
- ``create``: ``POST /Users`` of a new user (core + enterprise attributes)
- ``patch``: ``PATCH /Users/{random id}`` replacing ``name.givenName``
- ``page-shallow`` / ``page-deep``: ``GET /Users?startIndex=K&count=100`` with K = 1 and
  K = the last full page of the loaded users
- ``cursor``: ``GET /Users?cursor=...&count=100``; each task follows ``nextCursor`` to the
  end of the list and starts again from the first page
- ``member-small`` / ``member-big``: group ``PATCH`` adding, then removing
  (``members[value eq "..."]``), one member per request; each task toggles its own spare user

Client and server share the machine, so the client's CPU use (printed) competes with the
server's: treat absolute numbers as lower bounds and compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx
from _common import (
    CORE_USER,  # noqa: F401 (imported from here by ups.py)
    ENTERPRISE_USER,  # noqa: F401 (imported from here by ups.py)
    PATCH_OP,
    backend_of,
    cpu_model,
    free_port,
    percentile,
    proc_cpu,
    process_tree,
    ratio,
    user_doc,
)

from concur_scim.config import load_settings
from concur_scim.services import groups as group_service
from concur_scim.services import users as user_service
from concur_scim.services.common import system_clock
from concur_scim.store.companies import ensure_default_company
from concur_scim.store.db import create_db_engine, unit_of_work
from concur_scim.store.migrate import upgrade

CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
API = "/scim/v2"
PAGE = 100
MEMBER_CHUNK = 1000  # the server caps a multi-valued attribute at 1000 values per request
LOAD_BATCH = 500  # users per transaction when loading through the service layer
ERRORS_SHOWN = 5
ALL_SCENARIOS = (
    "filter",
    "create",
    "patch",
    "page-shallow",
    "page-deep",
    "cursor",
    "member-small",
    "member-big",
)


# --------------------------------------------------------------------------- arguments


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=10_000, help="users to load (default 10000)")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent requests (default 8)")
    p.add_argument(
        "--requests",
        type=int,
        default=2000,
        help="measured requests per scenario run (default 2000)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="time cap per scenario run, seconds (default 60)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=20,
        help="unmeasured requests before each scenario run (default 20)",
    )
    p.add_argument(
        "--big-group",
        type=int,
        default=10_000,
        help="members of the big group (default 10000, capped at --users)",
    )
    p.add_argument(
        "--small-group", type=int, default=10, help="members of the small group (default 10)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of all scenarios; medians over rounds are reported (default 1)",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="benchmark this database instead of a fresh temporary SQLite file",
    )
    p.add_argument(
        "--load",
        choices=("service", "api"),
        default="service",
        help="load data through the service layer in-process (default) or the API",
    )
    p.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    p.add_argument(
        "--log-level",
        default="info",
        help="server log level (default info, the server's own default)",
    )
    p.add_argument(
        "--scenarios",
        default=",".join(ALL_SCENARIOS),
        help="comma-separated subset of: " + ", ".join(ALL_SCENARIOS),
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = p.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in ALL_SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(unknown)}")
    args.scenarios = chosen
    for name in ("users", "concurrency", "requests", "repeat", "workers"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.users < PAGE:
        p.error(f"--users must be at least {PAGE} (one page)")
    return args


# --------------------------------------------------------------------------- machine


def print_header(args: argparse.Namespace, url: str) -> None:
    """Machine, software and the exact command, before anything runs."""
    cmd = shlex.join([sys.executable, *sys.argv])
    print("# concur-scim benchmark")
    print(f"date:        {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    print(f"command:     {cmd}")
    print(
        f"cpu:         {cpu_model()}, {os.cpu_count()} cores "
        f"(loadavg at start {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )
    print(f"os:          {platform.platform()}")
    print(f"python:      {platform.python_implementation()} {platform.python_version()}")
    print(f"backend:     {backend_of(url)}")
    print(
        f"users (N):   {args.users}, concurrency {args.concurrency}, requests/run "
        f"{args.requests} (cap {args.max_seconds:g} s), repeat {args.repeat}, "
        f"server workers {args.workers}, server log level {args.log_level}"
    )
    print("client:      httpx.AsyncClient (asyncio, HTTP/1.1 keep-alive), same machine")
    print(flush=True)


# --------------------------------------------------------------------------- data


def member_patch(op: str, user_id: str) -> dict[str, Any]:
    """One-member PATCH: add with a value list, remove with a value filter (Entra style)."""
    if op == "add":
        operation: dict[str, Any] = {"op": "add", "path": "members", "value": [{"value": user_id}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{user_id}"]'}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


@dataclass
class Dataset:
    """What the scenarios need to know about the loaded data."""

    prefix: str
    user_ids: list[str] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    spare_ids: list[str] = field(default_factory=list)
    small_group: str = ""
    big_group: str = ""
    small_size: int = 0
    big_size: int = 0


def load_service(url: str, args: argparse.Namespace, data: Dataset) -> None:
    """Migrate, then load users and groups through the service layer, in-process."""
    upgrade(url)
    settings = load_settings(database_url=url)
    engine = create_db_engine(url)
    try:
        with unit_of_work(engine, write=True) as conn:
            company = ensure_default_company(conn, settings.company_id, system_clock())
        total = args.users + args.concurrency
        for start in range(0, total, LOAD_BATCH):
            with unit_of_work(engine, write=True) as conn:
                for i in range(start, min(start + LOAD_BATCH, total)):
                    rec = user_service.create_user(
                        conn, company, user_doc(data.prefix, i), clock=system_clock
                    )
                    if i < args.users:
                        data.user_ids.append(rec.id)
                        data.user_names.append(user_doc(data.prefix, i)["userName"])
                    else:
                        data.spare_ids.append(rec.id)
        for name, size in (("small", data.small_size), ("big", data.big_size)):
            with unit_of_work(engine, write=True) as conn:
                group = group_service.create_group(
                    conn,
                    company,
                    {"schemas": [CORE_GROUP], "displayName": f"{data.prefix}-{name}"},
                    clock=system_clock,
                )
            for chunk in chunks(data.user_ids[:size], MEMBER_CHUNK):
                with unit_of_work(engine, write=True) as conn:
                    body = {
                        "schemas": [PATCH_OP],
                        "Operations": [
                            {"op": "add", "path": "members", "value": [{"value": u} for u in chunk]}
                        ],
                    }
                    group_service.patch_group(conn, company, group.id, body, clock=system_clock)
            setattr(data, f"{name}_group", group.id)
    finally:
        engine.dispose()


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def load_api(client: httpx.AsyncClient, args: argparse.Namespace, data: Dataset) -> None:
    """Load users (C concurrent POSTs) and groups (POST + 1000-member PATCHes) over HTTP."""
    total = args.users + args.concurrency
    ids: list[str] = [""] * total
    counter = itertools.count()

    async def worker() -> None:
        while (i := next(counter)) < total:
            resp = await client.post(f"{API}/Users", json=user_doc(data.prefix, i))
            if resp.status_code != 201:
                raise RuntimeError(f"loading user {i}: {resp.status_code} {resp.text[:300]}")
            ids[i] = resp.json()["id"]

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    data.user_ids = ids[: args.users]
    data.user_names = [user_doc(data.prefix, i)["userName"] for i in range(args.users)]
    data.spare_ids = ids[args.users :]
    for name, size in (("small", data.small_size), ("big", data.big_size)):
        resp = await client.post(
            f"{API}/Groups", json={"schemas": [CORE_GROUP], "displayName": f"{data.prefix}-{name}"}
        )
        if resp.status_code != 201:
            raise RuntimeError(f"creating group: {resp.status_code} {resp.text[:300]}")
        group_id = resp.json()["id"]
        for chunk in chunks(data.user_ids[:size], MEMBER_CHUNK):
            body = {
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": u} for u in chunk]}
                ],
            }
            resp = await client.patch(f"{API}/Groups/{group_id}", json=body)
            if resp.status_code not in (200, 204):
                raise RuntimeError(f"adding members: {resp.status_code} {resp.text[:300]}")
        setattr(data, f"{name}_group", group_id)


# --------------------------------------------------------------------------- server


@dataclass
class Server:
    """The server subprocess and where it logs."""

    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    log_file: TextIO

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process and its descendants so far."""
        return sum(proc_cpu(pid) for pid in process_tree(self.proc.pid))

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output."""
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def start_server(
    url: str,
    token: str,
    workdir: Path,
    *,
    workers: int = 1,
    log_level: str = "info",
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start ``concur-scim serve`` on a free loopback port and wait until /healthz answers.

    ``workers`` is the server's ``--workers``; ``extra_env`` adds ``CONCUR_SCIM_*`` settings.
    """
    port = free_port()
    env = dict(os.environ, CONCUR_SCIM_BEARER_TOKEN=token, **(extra_env or {}))
    cmd = [
        sys.executable,
        "-m",
        "concur_scim.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        url,
        "--workers",
        str(workers),
    ]
    env["CONCUR_SCIM_LOG_LEVEL"] = log_level
    log_path = workdir / "server.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    server = Server(
        proc=proc, base_url=f"http://127.0.0.1:{port}", log_path=log_path, log_file=log_file
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    """SIGTERM, wait up to 15 s, then SIGKILL; prints how it ended."""
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
            # uvicorn shuts down gracefully, then re-raises the signal: status -15 is normal.
            clean = "Finished server process" in server.log_tail(200)
            how = "graceful shutdown logged" if clean else "no graceful shutdown in the log"
            print(f"server stopped by SIGTERM (exit status {proc.returncode}, {how})")
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            print("server did not stop within 15 s of SIGTERM: killed")
    else:
        print(f"server had already exited with status {proc.returncode}")
    server.log_file.close()


# --------------------------------------------------------------------------- scenarios


class Scenario:
    """One kind of request; ``step`` sends one request for one task's ``state``."""

    name = ""
    describe = ""

    def __init__(self, data: Dataset, rng: random.Random) -> None:
        self.data = data
        self.rng = rng

    def new_state(self, task: int) -> dict[str, Any]:
        """Per-task state (a cursor, a member toggle); empty by default."""
        return {"task": task}

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        """Send one request."""
        raise NotImplementedError


class FilterUser(Scenario):
    name = "filter"
    describe = 'GET /Users?filter=userName eq "<random existing>"'

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        user_name = self.rng.choice(self.data.user_names)
        return await client.get(f"{API}/Users", params={"filter": f'userName eq "{user_name}"'})


class CreateUser(Scenario):
    name = "create"
    describe = "POST /Users (new user, core + enterprise)"
    serial = itertools.count(10_000_000)

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        return await client.post(f"{API}/Users", json=user_doc(self.data.prefix, next(self.serial)))


class PatchUser(Scenario):
    name = "patch"
    describe = "PATCH /Users/{random id} replace name.givenName"

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        user_id = self.rng.choice(self.data.user_ids)
        body = {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "replace",
                    "path": "name.givenName",
                    "value": f"G{self.rng.randrange(10**9)}",
                }
            ],
        }
        return await client.patch(f"{API}/Users/{user_id}", json=body)


class IndexPage(Scenario):
    describe = "GET /Users?startIndex=K&count=100"

    def __init__(self, data: Dataset, rng: random.Random, name: str, start: int) -> None:
        super().__init__(data, rng)
        self.name = name
        self.start = start
        self.describe = f"GET /Users?startIndex={start}&count={PAGE}"

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        resp = await client.get(f"{API}/Users", params={"startIndex": self.start, "count": PAGE})
        if resp.status_code == 200 and len(resp.json().get("Resources", [])) != PAGE:
            state["short_pages"] = state.get("short_pages", 0) + 1
        return resp


class CursorPages(Scenario):
    name = "cursor"
    describe = f"GET /Users?cursor=...&count={PAGE}, following nextCursor"

    def new_state(self, task: int) -> dict[str, Any]:
        return {"task": task, "cursor": "", "walks": 0}

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        resp = await client.get(f"{API}/Users", params={"cursor": state["cursor"], "count": PAGE})
        if resp.status_code == 200:
            nxt = resp.json().get("nextCursor")
            if not nxt:
                state["walks"] += 1
            state["cursor"] = nxt or ""
        else:
            state["cursor"] = ""
        return resp


class MemberToggle(Scenario):
    describe = "PATCH /Groups/{id}: add or remove one member"

    def __init__(
        self, data: Dataset, rng: random.Random, name: str, group_id: str, size: int
    ) -> None:
        super().__init__(data, rng)
        self.name = name
        self.group_id = group_id
        self.describe = f"PATCH /Groups/{{id}} (group of {size}): add/remove one member"

    def new_state(self, task: int) -> dict[str, Any]:
        return {"task": task, "user": self.data.spare_ids[task], "next": "add"}

    async def step(self, client: httpx.AsyncClient, state: dict[str, Any]) -> httpx.Response:
        op = state["next"]
        state["next"] = "remove" if op == "add" else "add"
        return await client.patch(
            f"{API}/Groups/{self.group_id}", json=member_patch(op, state["user"])
        )


def build_scenarios(
    data: Dataset, total_users: int, names: list[str], rng: random.Random
) -> list[Scenario]:
    """The chosen scenarios, in the documented order."""
    deep = max(1, total_users - PAGE + 1)
    every: dict[str, Scenario] = {
        "filter": FilterUser(data, rng),
        "create": CreateUser(data, rng),
        "patch": PatchUser(data, rng),
        "page-shallow": IndexPage(data, rng, "page-shallow", 1),
        "page-deep": IndexPage(data, rng, "page-deep", deep),
        "cursor": CursorPages(data, rng),
        "member-small": MemberToggle(data, rng, "member-small", data.small_group, data.small_size),
        "member-big": MemberToggle(data, rng, "member-big", data.big_group, data.big_size),
    }
    return [every[n] for n in ALL_SCENARIOS if n in names]


# --------------------------------------------------------------------------- measuring


@dataclass
class RunResult:
    """One measured run of one scenario."""

    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: Counter[str]
    server_cpu_s: float
    client_cpu_s: float
    timed_out: bool
    notes: list[str]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


async def drive(
    client: BenchClient,
    scenario: Scenario,
    total: int,
    concurrency: int,
    max_seconds: float,
    states: list[dict[str, Any]],
) -> RunResult:
    """Send ``total`` requests (or stop at ``max_seconds``) from ``concurrency`` tasks."""
    counter = itertools.count()
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    shown: list[str] = []
    timed_out = False

    async def task(state: dict[str, Any]) -> None:
        nonlocal timed_out
        while next(counter) < total:
            if time.perf_counter() > deadline:
                timed_out = True
                return
            t0 = time.perf_counter()
            try:
                resp = await scenario.step(client, state)
                ok, what = 200 <= resp.status_code < 300, str(resp.status_code)
                detail = resp.text[:300]
            except httpx.HTTPError as exc:
                ok, what, detail = False, type(exc).__name__, str(exc)[:300]
            latencies.append((time.perf_counter() - t0) * 1000)
            if not ok:
                errors[what] += 1
                if len(shown) < ERRORS_SHOWN:
                    shown.append(f"    error {what}: {detail}")

    server_cpu = client.server.cpu_seconds()
    client_cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + max_seconds
    await asyncio.gather(*(task(s) for s in states))
    seconds = time.perf_counter() - start
    server_cpu = client.server.cpu_seconds() - server_cpu
    return RunResult(
        requests=len(latencies),
        seconds=seconds,
        latencies_ms=latencies,
        errors=errors,
        server_cpu_s=server_cpu,
        client_cpu_s=time.process_time() - client_cpu,
        timed_out=timed_out,
        notes=shown,
    )


class BenchClient(httpx.AsyncClient):
    """An AsyncClient that knows its server (for CPU accounting)."""

    def __init__(self, server: Server, token: str, concurrency: int) -> None:
        super().__init__(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            timeout=httpx.Timeout(60.0),
        )
        self.server = server


async def run_once(
    client: BenchClient, scenario: Scenario, args: argparse.Namespace, states: list[dict[str, Any]]
) -> RunResult:
    """Warm up (unmeasured), then measure one run."""
    if args.warmup:
        await drive(client, scenario, args.warmup, args.concurrency, args.max_seconds, states)
    return await drive(client, scenario, args.requests, args.concurrency, args.max_seconds, states)


def fmt_row(name: str, r: RunResult) -> str:
    """One result line of a single run."""
    n = max(r.requests, 1)
    line = (
        f"  {name:<13} n={r.requests:<5} {r.rps:8.1f} req/s  p50 {r.p50:8.2f} ms  "
        f"p99 {r.p99:8.2f} ms  errors {sum(r.errors.values())}  "
        f"srv {r.server_cpu_s * 1000 / n:6.2f} ms CPU/req  "
        f"client {r.client_cpu_s * 1000 / n:5.2f} ms CPU/req"
    )
    if r.timed_out:
        line += f"  (stopped at the {r.seconds:.0f} s cap)"
    return line


# --------------------------------------------------------------------------- report


@dataclass
class Summary:
    """Medians over the runs of one scenario."""

    name: str
    describe: str
    runs: list[RunResult]

    def median(self, attr: str) -> float:
        values: list[float] = [getattr(r, attr) for r in self.runs]
        return statistics.median(values)

    def cpu_per_req(self, which: str) -> float:
        values: list[float] = [
            getattr(r, f"{which}_cpu_s") * 1000 / max(r.requests, 1) for r in self.runs
        ]
        return statistics.median(values)

    @property
    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.runs:
            total.update(r.errors)
        return total


def print_summary(summaries: list[Summary], repeat: int) -> None:
    """The Markdown table of medians and the same-run ratios."""
    print(f"\n## Results (median of {repeat} run{'s' if repeat > 1 else ''} per scenario)\n")
    print(
        "| scenario | request | req/s | p50 ms | p99 ms | errors | server CPU ms/req "
        "| client CPU ms/req |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        errs = sum(s.errors.values())
        kinds = ", ".join(f"{k}x{v}" for k, v in sorted(s.errors.items()))
        err_text = f"{errs} ({kinds})" if errs else "0"
        print(
            f"| {s.name} | `{s.describe}` | {s.median('rps'):.1f} | {s.median('p50'):.2f} "
            f"| {s.median('p99'):.2f} | {err_text} | {s.cpu_per_req('server'):.2f} "
            f"| {s.cpu_per_req('client'):.2f} |"
        )
    by = {s.name: s for s in summaries}
    pairs = (
        ("member-big", "member-small", "big-group vs small-group member PATCH"),
        ("page-deep", "page-shallow", "deep vs shallow index page"),
        ("cursor", "page-shallow", "cursor page vs shallow index page"),
        ("cursor", "page-deep", "cursor page vs deep index page"),
    )
    lines = []
    for a, b, label in pairs:
        if a in by and b in by:
            sa, sb = by[a], by[b]
            lines.append(
                f"| {label} | {ratio(sa.median('p50'), sb.median('p50'))} "
                f"| {ratio(sa.median('p99'), sb.median('p99'))} "
                f"| {ratio(sa.median('rps'), sb.median('rps'))} "
                f"| {ratio(sa.cpu_per_req('server'), sb.cpu_per_req('server'))} |"
            )
    if lines:
        print("\n| ratio (same run) | p50 | p99 | req/s | server CPU/req |")
        print("|---|---:|---:|---:|---:|")
        print("\n".join(lines))


# --------------------------------------------------------------------------- main


async def measure(
    args: argparse.Namespace, server: Server, token: str, data: Dataset, url: str
) -> list[Summary]:
    """Optionally load over HTTP, then run every round of every scenario."""
    async with BenchClient(server, token, args.concurrency) as client:
        if args.load == "api":
            t0 = time.perf_counter()
            await load_api(client, args, data)
            print(
                f"loaded {args.users} users (+{args.concurrency} spare) and 2 groups "
                f"({data.small_size} and {data.big_size} members) through the API "
                f"(POST /Users x{args.concurrency} concurrent, member PATCH in chunks of "
                f"{MEMBER_CHUNK}) in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        resp = await client.get(f"{API}/Users", params={"count": 0})
        resp.raise_for_status()
        total_users = int(resp.json()["totalResults"])
        others = total_users > args.users + len(data.spare_ids)
        print(
            f"server reports totalResults={total_users} users (loaded {args.users} + "
            f"{len(data.spare_ids)} spare{'; the database held others' if others else ''})"
        )
        rng = random.Random(args.seed)
        scenarios = build_scenarios(data, total_users, args.scenarios, rng)
        for sc in scenarios:
            print(f"  {sc.name:<13} {sc.describe}")
        states = {sc.name: [sc.new_state(t) for t in range(args.concurrency)] for sc in scenarios}
        results: dict[str, list[RunResult]] = {sc.name: [] for sc in scenarios}
        for round_no in range(1, args.repeat + 1):
            print(f"\nround {round_no}/{args.repeat}", flush=True)
            for sc in scenarios:
                r = await run_once(client, sc, args, states[sc.name])
                results[sc.name].append(r)
                print(fmt_row(sc.name, r), flush=True)
                for note in r.notes:
                    print(note)
        for sc in scenarios:
            extra = [
                f"{k}={v}"
                for s in states[sc.name]
                for k, v in s.items()
                if k in ("short_pages",) and v
            ]
            walks = sum(s.get("walks", 0) for s in states[sc.name])
            if sc.name == "cursor":
                print(f"cursor: {walks} complete walks of the list by {args.concurrency} tasks")
            if extra:
                print(f"{sc.name}: pages shorter than {PAGE}: {', '.join(extra)}")
        return [Summary(sc.name, sc.describe, results[sc.name]) for sc in scenarios]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0, or 1 when any request failed."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    print_header(args, url)
    data = Dataset(prefix=f"b{uuid.uuid4().hex[:8]}")
    data.big_size = min(args.big_group, args.users)
    data.small_size = min(args.small_group, args.users)
    if data.big_size < args.big_group:
        print(f"note: --big-group {args.big_group} capped at --users {args.users}")
    token = secrets.token_urlsafe(24)
    server: Server | None = None

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        if args.load == "service":
            t0 = time.perf_counter()
            load_service(url, args, data)
            print(
                f"loaded {args.users} users (+{args.concurrency} spare) and 2 groups "
                f"({data.small_size} and {data.big_size} members) through the service "
                f"layer, in-process, before starting the server ({LOAD_BATCH} users per "
                f"transaction) in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
        server = start_server(url, token, workdir, workers=args.workers, log_level=args.log_level)
        print(f"server up at {server.base_url} (pid {server.proc.pid})", flush=True)
        summaries = asyncio.run(measure(args, server, token, data, url))
        print_summary(summaries, args.repeat)
        failed = sum(sum(s.errors.values()) for s in summaries)
        if failed:
            print(f"\n{failed} requests failed; server log tail:\n{server.log_tail(40)}")
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        print()
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
