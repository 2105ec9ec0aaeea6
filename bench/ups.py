"""End-to-end User Provisioning v4 benchmark over loopback HTTP: a harness, not a test.

Usage (from the repository root)::

    .venv/bin/python bench/ups.py [--users N] [--bulk-size B] [--concurrency C]
                                  [--database-url URL] [--workers K] [--repeat R]
    make bench-ups ARGS="--repeat 3"

What one run does:

1. Makes a fresh SQLite file in a temporary directory (or uses ``--database-url``; users get
   a run-unique name prefix, nothing is removed) and starts the real server
   (``python -m concur_scim.cli serve``, the start/stop helpers of ``run.py``). By default
   that is all: ``serve`` embeds the provisioning worker. With ``--workers K`` (K > 0) the
   server runs API-only (``CONCUR_SCIM_EMBEDDED_WORKER=false``) and K separate
   ``concur-scim worker`` processes resolve the requests; meant for PostgreSQL.
2. Builds N users, each with core + enterprise and the spend User, Role, UserPreference,
   WorkflowPreference and travel User extensions, into ``POST /profile/v4/Bulk`` bodies of B
   operations (serialised before the clock starts).
3. From the first POST: C tasks send the Bulk requests (each must answer 202) while one poller
   reads each request's ``meta.location`` in submission order until ``status.completed`` is
   true, sleeping ``--poll-interval`` between reads of a request that is not done yet. The
   clock stops when the poller has seen every request completed.
4. Unmeasured: reads every status with ``attributes=operations`` and counts the results per
   extension (success / no-op / error / not-processed, and warnings).
5. Stops the worker processes and the server (SIGTERM), and removes the temporary directory.

With ``--repeat R`` the whole run is repeated R times, each with a fresh server (and, on
SQLite, a fresh file); medians over runs are reported. Exits 1 if any request or any
operation failed, or any extension result was an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import re
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx
from run import (
    CORE_USER,
    ENTERPRISE_USER,
    Server,
    backend_of,
    cpu_model,
    percentile,
    proc_cpu,
    process_tree,
    start_server,
    stop_server,
)

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
SPEND_ROLE = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
SPEND_USER_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:UserPreference"
SPEND_WORKFLOW_PREFERENCE = "urn:ietf:params:scim:schemas:extension:spend:2.0:WorkflowPreference"
TRAVEL_USER = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
UPS = "/profile/v4"
ERRORS_SHOWN = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=2000, help="users to provision (default 2000)")
    p.add_argument(
        "--bulk-size", type=int, default=100, help="operations per Bulk request (default 100)"
    )
    p.add_argument("--concurrency", type=int, default=2, help="Bulk requests in flight (default 2)")
    p.add_argument(
        "--database-url",
        default=None,
        help="this database instead of a fresh temporary SQLite file per run",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="separate 'concur-scim worker' processes; > 0 turns the embedded worker off "
        "(default 0: the embedded worker of serve)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs; medians are reported (default 1)")
    p.add_argument(
        "--poll-interval",
        type=float,
        default=0.25,
        help="seconds between status reads of a request not completed yet (default 0.25)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=1800.0,
        help="give up on a run after this many seconds (default 1800)",
    )
    p.add_argument("--log-level", default="info", help="server and worker log level (info)")
    args = p.parse_args(argv)
    for name in ("users", "bulk_size", "concurrency", "repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.workers < 0:
        p.error("--workers must be at least 0")
    return args


# --------------------------------------------------------------------------- data


def ups_user(prefix: str, i: int) -> dict[str, Any]:
    """One Bulk POST operation: core + enterprise + spend User, Role, two preferences, travel."""
    given, family = f"Given{i}", f"Family{i % 977}"
    data: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": f"{prefix}-{i}@example.com",
        "externalId": f"{prefix}-ext-{i}",
        "active": True,
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "displayName": f"{given} {family}",
        "preferredLanguage": "en-US",
        "timezone": "America/Los_Angeles",
        "emails": [{"value": f"{prefix}-{i}@example.com", "type": "work"}],
        "phoneNumbers": [{"value": f"+1 555 {i:07d}", "type": "work"}],
        ENTERPRISE_USER: {
            "employeeNumber": f"{prefix}-E{i}",
            "organization": "Example Corp",
            "department": f"Dept {i % 37}",
            "costCenter": f"CC{i % 101}",
        },
        SPEND_USER: {
            "reimbursementCurrency": "USD",
            "reimbursementType": "Expense Pay by Concur",
            "ledgerCode": "DEFAULT",
            "country": "US",
            "stateProvince": "WA",
            "locale": "en-US",
        },
        SPEND_ROLE: {"roles": [{"roleName": "EXP_APPROVER"}]},
        SPEND_USER_PREFERENCE: {
            "allowCreditCardTransArrivalEmails": True,
            "allowReceiptImageAvailEmails": True,
            "promptForCardTransactionsOnReport": True,
            "defaultReportPrintFormat": "DETAILED",
            "showTotalOnReport": True,
            "showExpenseOnReport": "ALL",
            "expenseAuditRequired": "REQUIRED",
        },
        SPEND_WORKFLOW_PREFERENCE: {
            "emailStatusChangeOnReport": True,
            "emailAwaitApprovalOnReport": True,
            "promptForApproverOnReportSubmit": True,
            "emailStatusChangeOnPayment": False,
        },
        TRAVEL_USER: {"ruleClass": {"id": 766615}, "travelNameRemark": f"bench {i}"},
    }
    return {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": data}


def bulk_bodies(prefix: str, users: int, size: int) -> list[bytes]:
    """The serialised Bulk requests of one run."""
    bodies = []
    for start in range(0, users, size):
        ops = [ups_user(prefix, i) for i in range(start, min(start + size, users))]
        body = {"schemas": [BULK_REQUEST], "failOnErrors": len(ops), "Operations": ops}
        bodies.append(json.dumps(body).encode())
    return bodies


# --------------------------------------------------------------------------- processes


@dataclass
class WorkerProc:
    """A ``concur-scim worker`` subprocess and where it logs."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: TextIO

    def log_text(self) -> str:
        self.log_file.flush()
        return self.log_path.read_text(errors="replace")


def start_workers(url: str, count: int, workdir: Path, log_level: str) -> list[WorkerProc]:
    """Start ``count`` worker processes and wait until each says it started."""
    env = dict(os.environ, CONCUR_SCIM_LOG_LEVEL=log_level)
    cmd = [sys.executable, "-m", "concur_scim.cli", "worker", "--database-url", url]
    workers = []
    for k in range(count):
        log_path = workdir / f"worker-{k}.log"
        log_file = log_path.open("w")
        proc = subprocess.Popen(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        workers.append(WorkerProc(proc, log_path, log_file))
    deadline = time.monotonic() + 60
    for w in workers:
        while "started" not in w.log_text():
            if w.proc.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                raise RuntimeError(f"a worker did not start:\n{w.log_text()[-2000:]}")
            time.sleep(0.1)
    return workers


def stop_workers(workers: list[WorkerProc]) -> None:
    """SIGTERM each worker, wait up to 30 s, then SIGKILL; prints how they ended."""
    for w in workers:
        if w.proc.poll() is None:
            w.proc.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.proc.wait(timeout=30)
            how = "stop logged" if "stopped" in w.log_text() else "no stop line in its log"
            print(f"worker pid {w.proc.pid}: exit status {w.proc.returncode} ({how})")
        except subprocess.TimeoutExpired:
            w.proc.kill()
            w.proc.wait()
            print(f"worker pid {w.proc.pid}: did not stop within 30 s of SIGTERM, killed")
        w.log_file.close()


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL postmaster serving ``url`` on this machine, if visible in /proc."""
    match = re.search(r"@(?:127\.0\.0\.1|localhost):(\d+)/", url)
    if match is None:
        return None
    port = match.group(1)
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = entry.read_bytes().split(b"\0")
            if (
                argv[0].endswith(b"postgres")
                and b"-p" in argv[:-1]
                and argv[argv.index(b"-p") + 1] == port.encode()
            ):
                return int(entry.parent.name)
    return None


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its live descendants (0 for None)."""
    return 0.0 if pid is None else sum(proc_cpu(p) for p in process_tree(pid))


# --------------------------------------------------------------------------- one run


@dataclass
class RunResult:
    """One measured run."""

    users: int
    bulks: int
    wall_s: float
    submit_s: float
    latencies_ms: list[float]
    errors: Counter[str]
    server_cpu_s: float
    worker_cpu_s: float
    db_cpu_s: float
    client_cpu_s: float
    timed_out: bool
    notes: list[str] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)
    extensions: Counter[tuple[str, str]] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)

    @property
    def users_per_s(self) -> float:
        return self.users / self.wall_s if self.wall_s else 0.0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)


class Meter:
    """CPU seconds of the server tree, the worker processes and the database, so far."""

    def __init__(self, server: Server, workers: list[WorkerProc], db_pid: int | None) -> None:
        self.server, self.workers, self.db_pid = server, workers, db_pid

    def read(self) -> tuple[float, float, float]:
        return (
            self.server.cpu_seconds(),
            sum(tree_cpu(w.proc.pid) for w in self.workers),
            tree_cpu(self.db_pid),
        )


class BulkRun:
    """One measured run: C submitting tasks and one poller sharing a client."""

    def __init__(self, client: httpx.AsyncClient, bodies: list[bytes], args: argparse.Namespace):
        self.client, self.bodies, self.args = client, bodies, args
        n = len(bodies)
        self.locations: list[str | None] = [None] * n
        self.sent = [asyncio.Event() for _ in range(n)]
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.notes: list[str] = []
        self.counter = itertools.count()
        self.start = self.deadline = 0.0
        self.last_202 = 0.0
        self.timed_out = False

    def error(self, what: str, detail: str) -> None:
        self.errors[what] += 1
        if len(self.notes) < ERRORS_SHOWN:
            self.notes.append(f"    error {what}: {detail[:300]}")

    async def submitter(self) -> None:
        """POST Bulk requests (the next unsent one each time) until none are left."""
        headers = {"Content-Type": "application/scim+json"}
        while (i := next(self.counter)) < len(self.bodies):
            t0 = time.perf_counter()
            try:
                resp = await self.client.post(
                    f"{UPS}/Bulk", content=self.bodies[i], headers=headers
                )
            except httpx.HTTPError as exc:
                self.error(type(exc).__name__, str(exc))
            else:
                now = time.perf_counter()
                self.latencies.append((now - t0) * 1000)
                if resp.status_code == 202:
                    self.locations[i] = resp.json()["meta"]["location"]
                    self.last_202 = max(self.last_202, now - self.start)
                else:
                    self.error(f"POST {resp.status_code}", resp.text)
            self.sent[i].set()

    async def poller(self) -> None:
        """Read each request's status, in submission order, until it is completed."""
        for i, sent in enumerate(self.sent):
            await sent.wait()
            location = self.locations[i]
            while location is not None:
                if time.perf_counter() > self.deadline:
                    self.timed_out = True
                    return
                try:
                    resp = await self.client.get(location)
                except httpx.HTTPError as exc:
                    self.error(f"GET {type(exc).__name__}", str(exc))
                else:
                    if resp.status_code != 200:
                        self.error(f"GET {resp.status_code}", resp.text)
                        break
                    if resp.json()["status"]["completed"]:
                        break
                await asyncio.sleep(self.args.poll_interval)

    async def measure(self, users: int, meter: Meter) -> RunResult:
        """Send every Bulk request and poll until all are completed; then tally the results."""
        cpu0 = meter.read()
        client0 = time.process_time()
        self.start = time.perf_counter()
        self.deadline = self.start + self.args.max_seconds
        await asyncio.gather(
            self.poller(), *(self.submitter() for _ in range(self.args.concurrency))
        )
        wall = time.perf_counter() - self.start
        client_cpu = time.process_time() - client0
        cpu1 = meter.read()
        result = RunResult(
            users=users,
            bulks=len(self.bodies),
            wall_s=wall,
            submit_s=self.last_202,
            latencies_ms=self.latencies,
            errors=self.errors,
            server_cpu_s=cpu1[0] - cpu0[0],
            worker_cpu_s=cpu1[1] - cpu0[1],
            db_cpu_s=cpu1[2] - cpu0[2],
            client_cpu_s=client_cpu,
            timed_out=self.timed_out,
            notes=self.notes,
        )
        if not self.timed_out:
            await tally(self.client, [loc for loc in self.locations if loc], result)
        return result


async def tally(client: httpx.AsyncClient, locations: list[str], result: RunResult) -> None:
    """Unmeasured: every operation's status and every extension's result, counted."""
    for location in locations:
        resp = await client.get(location, params={"attributes": "operations", "count": 1000})
        resp.raise_for_status()
        for op in resp.json().get("operations", []):
            st = op["status"]
            result.ops["success" if st.get("success") else f"failed {st.get('code')}"] += 1
            for ext in op.get("extensions", []):
                name = ext_name(ext["name"])
                result.extensions[(name, ext["status"]["result"])] += 1
                for msg in ext.get("messages", []):
                    result.warnings[f"{name} {msg.get('type')} {msg.get('code')}"] += 1


def ext_name(urn: str) -> str:
    """``spend:User`` for ``urn:…:extension:spend:2.0:User``; ``core``/``enterprise``."""
    parts = urn.split(":")
    if urn == CORE_USER:
        return "core"
    if urn == ENTERPRISE_USER:
        return "enterprise"
    return f"{parts[-3]}:{parts[-1]}"


# --------------------------------------------------------------------------- main


def print_header(args: argparse.Namespace, url: str, body_bytes: list[int]) -> None:
    """Machine, software and the exact command, before anything runs."""
    print("# concur-scim UPS benchmark")
    print(f"date:        {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    print(f"command:     {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"cpu:         {cpu_model()}, {os.cpu_count()} cores "
        f"(loadavg at start {' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )
    print(f"os:          {platform.platform()}")
    print(f"python:      {platform.python_implementation()} {platform.python_version()}")
    print(f"backend:     {backend_of(url)}")
    who = (
        f"{args.workers} 'concur-scim worker' process(es), serve API-only"
        if args.workers
        else "the worker embedded in 'serve' (one thread in the one server process)"
    )
    print(f"workers:     {who}")
    print(
        f"load:        {args.users} users in {len(body_bytes)} Bulk requests of up to "
        f"{args.bulk_size} operations ({min(body_bytes)}-{max(body_bytes)} bytes each), "
        f"{args.concurrency} in flight, status polled every {args.poll_interval:g} s, "
        f"repeat {args.repeat}"
    )
    print(
        "per user:    core + enterprise, spend User, Role, UserPreference, WorkflowPreference, "
        "travel User"
    )
    print(flush=True)


def fmt_run(k: int, r: RunResult) -> str:
    """One run's line."""
    u = max(r.users, 1)
    return (
        f"  run {k}: {r.wall_s:7.1f} s wall  {r.users_per_s:6.1f} users/s  "
        f"202 p50 {r.p50:7.1f} ms  p99 {r.p99:7.1f} ms  last 202 at {r.submit_s:6.1f} s  "
        f"errors {sum(r.errors.values())}  CPU ms/user: server {r.server_cpu_s * 1000 / u:.2f}"
        f"  workers {r.worker_cpu_s * 1000 / u:.2f}  db {r.db_cpu_s * 1000 / u:.2f}"
        f"  client {r.client_cpu_s * 1000 / u:.2f}" + ("  (TIMED OUT)" if r.timed_out else "")
    )


def print_summary(runs: list[RunResult]) -> None:
    """The Markdown table of medians over runs."""

    def med(values: list[float]) -> float:
        return statistics.median(values)

    u = runs[0].users
    print(f"\n## Results (median of {len(runs)} run{'s' if len(runs) > 1 else ''})\n")
    print(
        "| users | Bulk requests | wall s | users/s | 202 p50 ms | 202 p99 ms | last 202 s "
        "| errors | server CPU ms/user | worker CPU ms/user | db CPU ms/user |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {u} | {runs[0].bulks} | {med([r.wall_s for r in runs]):.1f} "
        f"| {med([r.users_per_s for r in runs]):.1f} | {med([r.p50 for r in runs]):.1f} "
        f"| {med([r.p99 for r in runs]):.1f} | {med([r.submit_s for r in runs]):.1f} "
        f"| {sum(sum(r.errors.values()) for r in runs)} "
        f"| {med([r.server_cpu_s * 1000 / u for r in runs]):.2f} "
        f"| {med([r.worker_cpu_s * 1000 / u for r in runs]):.2f} "
        f"| {med([r.db_cpu_s * 1000 / u for r in runs]):.2f} |"
    )
    ops: Counter[str] = Counter()
    exts: Counter[tuple[str, str]] = Counter()
    warnings: Counter[str] = Counter()
    for r in runs:
        ops.update(r.ops)
        exts.update(r.extensions)
        warnings.update(r.warnings)
    print(f"\noperations (all runs): {dict(sorted(ops.items()))}")
    print("extension results (all runs):")
    for name in sorted({n for n, _ in exts}):
        kinds = {k: v for (n, k), v in sorted(exts.items()) if n == name}
        print(f"  {name:<28} {kinds}")
    if warnings:
        print(f"messages (all runs): {dict(sorted(warnings.items()))}")


def one_run(args: argparse.Namespace, url: str, workdir: Path, k: int) -> RunResult:
    """Start the server (and workers), measure, stop them."""
    token = secrets.token_urlsafe(24)
    prefix = f"u{uuid.uuid4().hex[:8]}"
    bodies = bulk_bodies(prefix, args.users, args.bulk_size)
    extra_env = {"CONCUR_SCIM_EMBEDDED_WORKER": "false"} if args.workers else {}
    server = start_server(url, token, workdir, log_level=args.log_level, extra_env=extra_env)
    workers: list[WorkerProc] = []
    try:
        workers = start_workers(url, args.workers, workdir, args.log_level)
        pids = ", ".join(str(w.proc.pid) for w in workers)
        print(
            f"run {k}: server pid {server.proc.pid}" + (f", workers {pids}" if pids else ""),
            flush=True,
        )
        meter = Meter(server, workers, postmaster_pid(url))

        async def go() -> RunResult:
            async with httpx.AsyncClient(
                base_url=server.base_url,
                headers={"Authorization": f"Bearer {token}"},
                limits=httpx.Limits(max_connections=args.concurrency + 1),
                timeout=httpx.Timeout(120.0),
            ) as client:
                return await BulkRun(client, bodies, args).measure(args.users, meter)

        result = asyncio.run(go())
        print(fmt_run(k, result), flush=True)
        for note in result.notes:
            print(note)
        if result.errors or result.timed_out:
            print(f"server log tail:\n{server.log_tail(30)}")
        return result
    finally:
        stop_workers(workers)
        stop_server(server)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0, or 1 when anything failed."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-ups-bench-"))
    sizes = [len(b) for b in bulk_bodies("u00000000", args.users, args.bulk_size)]
    print_header(args, args.database_url or f"sqlite:///{workdir / 'ups-N.db'}", sizes)

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    runs: list[RunResult] = []
    try:
        for k in range(1, args.repeat + 1):
            url = args.database_url or f"sqlite:///{workdir / f'ups-{k}.db'}"
            runs.append(one_run(args, url, workdir, k))
        print_summary(runs)
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    bad_ext = sum(
        v for r in runs for (_, kind), v in r.extensions.items() if kind not in ("success", "no-op")
    )
    failed_ops = sum(v for r in runs for kind, v in r.ops.items() if kind != "success")
    failed = sum(sum(r.errors.values()) for r in runs) + bad_ext + failed_ops
    if any(r.timed_out for r in runs):
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
