"""Does a request cost the same at 1,000 users as at 1,000,000? Server CPU and RSS by N.

Not a test. For each N (``--sizes``, default 1000,1000000) it loads a fresh SQLite file with
``bench/load_users.py`` (direct, batched inserts in the service layer's exact row format),
starts ``concur-scim serve`` on it (a real process, 1 worker, ``CONCUR_SCIM_BEARER_TOKEN``),
and sends the same requests with ``bench/loadgen.py`` (asyncio HTTP/1.1 keep-alive):

- ``lookup``: ``GET /scim/v2/Users?filter=userName eq "<random existing>"``
- ``page``: ``GET /scim/v2/Users?startIndex=1&count=100``
- ``cursor``: ``GET /scim/v2/Users?cursor=<random position>&count=100`` (RFC 9865 keyset;
  positions spread over the whole list, so every depth is covered)
- ``page-deep``: ``GET /scim/v2/Users?startIndex=<last page>&count=100`` (OFFSET ~ N; fewer
  requests, ``--deep-requests``)

It reports server CPU ms/request (utime+stime of the server process tree from /proc) per
request type at each N and the ratio largest/smallest N, and the server's VmRSS after the
same requests at each N. Before measuring, ``--verify`` (on by default) proves that users
written by the generator read back through the API exactly as users created by
``POST /Users`` with the same body (filter, GET by id and a page; JSON minus id and meta).

    .venv/bin/python bench/scale.py                       # 1k and 1M
    .venv/bin/python bench/scale.py --sizes 1000,100000 --requests 500 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load_users
import loadgen
from _common import cpu_model, free_port, proc_cpu, process_tree, ratio

from concur_scim.api.params import encode_cursor

VENV_BIN = Path(sys.executable).parent
API = "/scim/v2"
PREFIX = "scale"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def cpu(self) -> float:
        return sum(proc_cpu(pid) for pid in process_tree(self.proc.pid))

    def rss_kib(self) -> int:
        """VmRSS of the server process tree, KiB."""
        total = 0
        for pid in process_tree(self.proc.pid):
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def start_server(url: str, token: str, workdir: Path, log_level: str) -> Server:
    port = free_port()
    env = dict(os.environ, CONCUR_SCIM_BEARER_TOKEN=token, CONCUR_SCIM_LOG_LEVEL=log_level)
    cmd = [str(VENV_BIN / "concur-scim"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--database-url", url, "--workers", "1"]
    log = workdir / f"server-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(proc, port, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError, ValueError):
            status, _ = request(port, token, "GET", "/healthz")
            if status == 200:
                return server
        time.sleep(0.05)
    stop_server(server)
    raise SystemExit(f"the server did not answer /healthz:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def request(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One request on a fresh connection (setup and checks, not measured)."""
    import http.client  # noqa: PLC0415

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/scim+json"
        conn.request(method, path, body=data, headers=headers)
        answer = conn.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def q(params: dict[str, str | int]) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def lookup_path(user_name: str) -> str:
    """``GET /Users?filter=userName eq "<user_name>"``."""
    expr = 'userName eq "' + user_name + '"'
    return f"{API}/Users?{q({'filter': expr})}"


def check(ok: bool, status: int, body: Any) -> None:
    if not ok:
        raise SystemExit(f"unexpected answer {status}: {json.dumps(body)[:500]}")


# --------------------------------------------------------------------------- verification


def _strip(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("id", "meta")}


def _reads(port: int, token: str, prefix: str, count: int) -> list[Any]:
    """What the API answers for users 0..count-1: filter, GET by id, and a page."""
    out: list[Any] = []
    for i in range(count):
        name = load_users.user_name(prefix, i)
        status, found = request(port, token, "GET", lookup_path(name))
        check(status == 200 and found["totalResults"] == 1, status, found)
        user = found["Resources"][0]
        status, by_id = request(port, token, "GET", f"{API}/Users/{user['id']}")
        check(status == 200, status, by_id)
        out += [_strip(user), _strip(by_id)]
    status, page = request(port, token, "GET", f"{API}/Users?startIndex=1&count={count}")
    check(status == 200, status, page)
    out.append({k: v for k, v in page.items() if k != "Resources"})
    out.append([_strip(r) for r in page["Resources"]])
    return out


def verify(workdir: Path, token: str, log_level: str, count: int = 3) -> None:
    """Generator users read back exactly as POST /Users users with the same body."""
    prefix = f"verify{secrets.token_hex(2)}"
    gen_url = f"sqlite:///{workdir}/verify-generator.db"
    api_url = f"sqlite:///{workdir}/verify-api.db"
    load_users.load(gen_url, count, prefix=prefix, batch=count, quiet=True)
    reads = []
    for url, post in ((gen_url, False), (api_url, True)):
        server = start_server(url, token, workdir, log_level)
        try:
            if post:
                for i in range(count):
                    body = load_users.user_payload(prefix, i)
                    status, created = request(server.port, token, "POST", f"{API}/Users", body)
                    check(status == 201, status, created)
            reads.append(_reads(server.port, token, prefix, count))
        finally:
            stop_server(server)
    if reads[0] != reads[1]:
        for a, b in zip(reads[0], reads[1], strict=True):
            if a != b:
                print(f"generator: {json.dumps(a)}\nPOST /Users: {json.dumps(b)}")
        raise SystemExit("verify: generator users differ from POST /Users users")
    print(
        f"verify: {count} generator users read back exactly as POST /Users users (filter,"
        f" GET by id, page; JSON minus id/meta): {len(reads[0])} answers equal"
    )


# --------------------------------------------------------------------------- measurement


def scenario_requests(
    name: str, n: int, host: str, token: str, count: int, rng: random.Random
) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
    paths: list[str] = []
    for _ in range(count):
        if name == "lookup":
            user = load_users.user_name(PREFIX, rng.randrange(n))
            paths.append(lookup_path(user))
        elif name == "page":
            paths.append(f"{API}/Users?startIndex=1&count=100")
        elif name == "cursor":
            # seq runs 1..n in a fresh database; the cursor "after seq s" is any depth.
            after = rng.randrange(max(n - 100, 1))
            cursor = encode_cursor(after) if after else ""
            paths.append(f"{API}/Users?{q({'cursor': cursor, 'count': 100})}")
        elif name == "page-deep":
            start = max(1, n - 99)
            paths.append(f"{API}/Users?startIndex={start}&count=100")
        else:
            raise SystemExit(f"unknown scenario {name!r}")
    return [loadgen.encode_request("GET", host, p, headers) for p in paths]


async def measure(
    server: Server, name: str, requests: list[bytes], concurrency: int
) -> tuple[float, int]:
    """Server CPU ms per request over ``requests``; the number of non-2xx answers."""
    conns = await loadgen.open_connections("127.0.0.1", server.port, concurrency)
    try:
        cpu0 = server.cpu()
        result = await loadgen.run(conns, requests)
        cpu1 = server.cpu()
    finally:
        await loadgen.close_connections(conns)
    if result.failed:
        sample = result.samples[-1][2][:300] if result.samples else b""
        print(f"  {name}: {result.failed} failed {dict(result.statuses)} {sample!r}")
    return (cpu1 - cpu0) * 1000 / max(result.requests, 1), result.failed


@dataclass
class SizeResult:
    n: int
    load_seconds: float
    cpu_ms: dict[str, list[float]]
    rss_kib: int
    failed: int


def run_size(n: int, args: argparse.Namespace, workdir: Path, token: str) -> SizeResult:
    url = f"sqlite:///{workdir}/users-{n}.db"
    print(f"N = {n:,}: loading ...", flush=True)
    _, seconds = load_users.load(url, n, prefix=PREFIX, batch=args.batch, quiet=True)
    print(f"N = {n:,}: loaded in {seconds:.1f} s ({n / seconds:,.0f} users/s)", flush=True)
    server = start_server(url, token, workdir, args.log_level)
    rng = random.Random(args.seed)
    host = f"127.0.0.1:{server.port}"
    cpu_ms: dict[str, list[float]] = {s: [] for s in args.scenarios}
    failed = 0
    try:
        for name in args.scenarios:  # warm-up: connections, caches, first-use imports
            warm = scenario_requests(name, n, host, token, args.warmup, rng)
            asyncio.run(measure(server, name, warm, args.concurrency))
        for _ in range(args.repeat):
            for name in args.scenarios:
                count = args.deep_requests if name == "page-deep" else args.requests
                reqs = scenario_requests(name, n, host, token, count, rng)
                ms, bad = asyncio.run(measure(server, name, reqs, args.concurrency))
                cpu_ms[name].append(ms)
                failed += bad
        rss = server.rss_kib()
    finally:
        stop_server(server)
    if not args.keep:
        for suffix in ("", "-wal", "-shm", ".token"):
            with contextlib.suppress(OSError):
                os.unlink(f"{workdir}/users-{n}.db{suffix}")
    return SizeResult(n, seconds, cpu_ms, rss, failed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000", help="N values (1000,1000000)")
    parser.add_argument(
        "--scenarios", default="lookup,page,cursor,page-deep", help="request types, a,b,..."
    )
    parser.add_argument("--requests", type=int, default=1000, help="per scenario and round")
    parser.add_argument("--deep-requests", type=int, default=50, help="page-deep requests (50)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests (30)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds (median)")
    parser.add_argument("--concurrency", type=int, default=4, help="connections (4)")
    parser.add_argument("--batch", type=int, default=10_000, help="generator batch (10000)")
    parser.add_argument("--log-level", default="warning", help="server log level (warning)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    parser.add_argument("--no-verify", action="store_true", help="skip the generator check")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = secrets.token_urlsafe(24)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"command:  {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine:  {cpu_model()}, {os.cpu_count()} cores, loadavg {load}")
    print(f"python:   {platform.python_implementation()} {platform.python_version()}")
    print(
        f"sizes {args.sizes}, {args.requests} requests per scenario and round"
        f" (page-deep {args.deep_requests}), concurrency {args.concurrency},"
        f" repeat {args.repeat}, server log level {args.log_level}"
    )
    with contextlib.ExitStack() as stack:
        workdir = Path(args.dir or stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        if not args.no_verify:
            verify(workdir, token, args.log_level)
        results = [run_size(n, args, workdir, token) for n in args.sizes]
    small, big = results[0], results[-1]
    print()
    header = "| request | " + " | ".join(f"CPU ms/req N={r.n:,}" for r in results)
    print(f"{header} | ratio {big.n:,}/{small.n:,} |")
    print("|---|" + "---:|" * (len(results) + 1))
    for name in args.scenarios:
        cells = [statistics.median(r.cpu_ms[name]) for r in results]
        shown = " | ".join(f"{c:.2f}" for c in cells)
        print(f"| {name} | {shown} | {ratio(cells[-1], cells[0])} |")
    rss = " | ".join(f"{r.rss_kib / 1024:.1f}" for r in results)
    print(f"| RSS MiB after | {rss} | {ratio(big.rss_kib, small.rss_kib)} |")
    loads = ", ".join(f"N={r.n:,}: {r.load_seconds:.1f} s" for r in results)
    print(f"\nloads: {loads}")
    failed = sum(r.failed for r in results)
    if failed:
        print(f"{failed} requests failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
