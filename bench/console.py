"""Does a console page cost the same at 1,000 users as at 1,000,000? Latency by N.

Not a test. For each N (``--sizes``, default 1000,1000000) it loads a fresh SQLite file with
``bench/load_users.py``, starts one ``concur-scim serve`` on it (``bench/scale.py``'s
start/stop, with ``CONCUR_SCIM_ADMIN_TOKEN`` and ``CONCUR_SCIM_BEARER_TOKEN`` set), sends one
User Provisioning v4 Bulk of ``--bulk-users`` users (``bench/ups.py``'s bodies) and waits for
it to complete, so that the journal and the provisioning pages have something to show. Then
it times the console's pages with one ``httpx.Client`` (sequential requests on one keep-alive
connection, ``Authorization: Bearer <admin token>``, no cookie):

- ``/console`` (companies), the first users page, the page its ``rel="next"`` link names,
  a deep page (``after`` = the largest ``seq`` minus 100), a ``userName eq`` and a
  ``userName sw`` filter (the prefix matches 11 users at any N), one user in every dialect,
  the provisions list, the grid of the Bulk above, the journal and the faults page;
- for comparison, ``GET /scim/v2/Users?count=50`` (company token) and ``GET /healthz``.

Every page is read once and checked first (status 200, the rows it must show). After
``--warmup`` unmeasured requests per page, ``--rounds`` interleaved rounds of ``--requests``
requests per page are timed: client-side latency (median and p90, nearest rank, over all
rounds) and server CPU per request (utime+stime of the server from /proc). The server's
VmRSS is read after the requests at each N.

    .venv/bin/python bench/console.py                       # 1k and 1M
    .venv/bin/python bench/console.py --sizes 1000,100000 --requests 10 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import load_users
import scale
import ups
from _common import cpu_model, percentile, ratio

PREFIX = "console"
CONSOLE = "/console"
USER_LINK = re.compile(r'href="/console/companies/[^"/]+/Users/([0-9a-f-]{36})"')
NEXT_LINK = re.compile(r'<a rel="next" href="([^"]+)"')

Check = Callable[[httpx.Response], str | None]


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    token: str  # "admin" or "company"
    check: Check


def rows(text: str) -> list[str]:
    """The user ids a users page links to, in order."""
    return USER_LINK.findall(text)


def next_href(text: str) -> str | None:
    found = NEXT_LINK.search(text)
    return found.group(1).replace("&amp;", "&") if found else None


def expect_rows(count: int, *, more: bool | None = None, has: str = "") -> Check:
    """A users page with ``count`` rows (and a next link or not; containing ``has``)."""

    def check(resp: httpx.Response) -> str | None:
        found = len(rows(resp.text))
        if found != count:
            return f"{found} rows, expected {count}"
        if more is not None and (next_href(resp.text) is not None) != more:
            return f"next link {'missing' if more else 'present'}"
        if has and has not in resp.text:
            return f"{has!r} not shown"
        return None

    return check


def expect_text(*texts: str) -> Check:
    def check(resp: httpx.Response) -> str | None:
        missing = [t for t in texts if t not in resp.text]
        return f"{missing} not shown" if missing else None

    return check


def expect_resources(count: int) -> Check:
    def check(resp: httpx.Response) -> str | None:
        found = len(resp.json().get("Resources", []))
        return None if found == count else f"{found} Resources, expected {count}"

    return check


def q(filter_text: str) -> str:
    return urllib.parse.urlencode({"filter": filter_text}, quote_via=urllib.parse.quote)


def max_seq(db: Path) -> int:
    """The largest ``users.seq`` (read-only, beside the running server: WAL)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        value = conn.execute("SELECT max(seq) FROM users").fetchone()[0]
    return int(value)


def bulk(client: httpx.Client, token: str, users: int) -> str:
    """One UPS v4 Bulk of ``users`` users, waited for; the provisioning request's id."""
    (body,) = ups.bulk_bodies(f"{PREFIX}bulk", users, users)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    resp = client.post(f"{ups.UPS}/Bulk", content=body, headers=headers)
    if resp.status_code != 202:
        raise SystemExit(f"Bulk answered {resp.status_code}: {resp.text[:500]}")
    location = resp.json()["meta"]["location"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get(location, headers=headers).json()
        if status.get("status", {}).get("completed"):
            return str(location).removesuffix("/status").rsplit("/", 1)[-1]
        time.sleep(0.2)
    raise SystemExit(f"the Bulk at {location} did not complete")


def pages(
    client: httpx.Client, admin: dict[str, str], n: int, company: str, db: Path, bulk_id: str
) -> list[Page]:
    """The pages to time at this N (paths found by reading the console itself)."""
    users = f"{CONSOLE}/companies/{company}/Users"
    first = client.get(users, headers=admin)
    second = next_href(first.text)
    if first.status_code != 200 or second is None:
        raise SystemExit(f"first users page: {first.status_code}, next link {second!r}")
    deep_after = max_seq(db) - 100
    deep = client.get(f"{users}?after={deep_after}", headers=admin)
    ids = rows(deep.text)
    if not ids:
        raise SystemExit(f"deep users page: {deep.status_code}, no rows")
    probe = n // 2
    name = load_users.user_name(PREFIX, probe)
    sw = f"{PREFIX}-{n // 20}"  # matches n // 20 and its ten 10x successors: 11 users
    eq_filter = q('userName eq "' + name + '"')
    sw_filter = q('userName sw "' + sw + '"')
    return [
        Page("console", CONSOLE, "admin", expect_text(f"{company}")),
        Page("users", users, "admin", expect_rows(50, more=True)),
        Page("users-next", users + second, "admin", expect_rows(50, more=True)),
        Page("users-deep", f"{users}?after={deep_after}", "admin", expect_rows(50, more=True)),
        Page("users-eq", f"{users}?{eq_filter}", "admin", expect_rows(1)),
        Page("users-sw", f"{users}?{sw_filter}", "admin", expect_rows(11)),
        Page("user", f"{users}/{ids[0]}", "admin", expect_text("/Users/" + ids[0])),
        Page("provisions", f"{CONSOLE}/provisions", "admin", expect_text(bulk_id)),
        Page("provision", f"{CONSOLE}/provisions/{bulk_id}", "admin", expect_text(bulk_id)),
        Page("journal", f"{CONSOLE}/journal", "admin", expect_text("/profile/v4/Bulk")),
        Page("faults", f"{CONSOLE}/faults", "admin", expect_text(company)),
        Page("scim-users", f"{scale.API}/Users?count=50", "company", expect_resources(50)),
        Page("healthz", "/healthz", "company", lambda r: None),
    ]


@dataclass
class SizeResult:
    n: int
    load_seconds: float
    ms: dict[str, list[float]]
    cpu_ms: dict[str, float]
    rss_kib: int


def run_size(n: int, args: argparse.Namespace, workdir: Path, tokens: dict[str, str]) -> SizeResult:
    db = workdir / f"users-{n}.db"
    url = f"sqlite:///{db}"
    print(f"N = {n:,}: loading ...", flush=True)
    company, seconds = load_users.load(url, n, prefix=PREFIX, batch=args.batch, quiet=True)
    print(f"N = {n:,}: loaded in {seconds:.1f} s ({n / seconds:,.0f} users/s)", flush=True)
    server = scale.start_server(url, tokens["company"], workdir, args.log_level)
    headers = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    base = f"http://127.0.0.1:{server.port}"
    ms: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, timeout=httpx.Timeout(300.0)) as client:
            bulk_id = bulk(client, tokens["company"], args.bulk_users)
            todo = pages(client, headers["admin"], n, company, db, bulk_id)
            todo = [p for p in todo if p.name in args.pages]
            for p in todo:  # checked once, then warmed up
                resp = client.get(p.path, headers=headers[p.token])
                problem = p.check(resp) if resp.status_code == 200 else f"{resp.status_code}"
                if problem:
                    raise SystemExit(f"{p.name} {p.path}: {problem}\n{resp.text[:2000]}")
            for _ in range(args.warmup):
                for p in todo:
                    client.get(p.path, headers=headers[p.token])
            ms = {p.name: [] for p in todo}
            cpu = dict.fromkeys(ms, 0.0)
            for _ in range(args.rounds):
                for p in todo:
                    cpu0 = server.cpu()
                    for _ in range(args.requests):
                        t0 = time.perf_counter()
                        resp = client.get(p.path, headers=headers[p.token])
                        ms[p.name].append((time.perf_counter() - t0) * 1000)
                        if resp.status_code != 200:
                            raise SystemExit(f"{p.name}: {resp.status_code} {resp.text[:300]}")
                    cpu[p.name] += server.cpu() - cpu0
            done = args.rounds * args.requests
            cpu = {k: v * 1000 / done for k, v in cpu.items()}
            for p in todo:
                print(
                    f"  {p.name:<11} {statistics.median(ms[p.name]):8.2f} ms median"
                    f" {percentile(ms[p.name], 90):8.2f} p90  {cpu[p.name]:7.2f} ms CPU"
                    f"  {p.path[:90]}",
                    flush=True,
                )
        rss = server.rss_kib()
    finally:
        scale.stop_server(server)
    if not args.keep:
        for suffix in ("", "-wal", "-shm", ".token"):
            with contextlib.suppress(OSError):
                os.unlink(f"{db}{suffix}")
    return SizeResult(n, seconds, ms, cpu, rss)


PAGES = (
    "console,users,users-next,users-deep,users-eq,users-sw,user,provisions,provision,"
    "journal,faults,scim-users,healthz"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,1000000", help="N values (1000,1000000)")
    parser.add_argument("--pages", default=PAGES, help="which pages, a,b,... (all)")
    parser.add_argument("--requests", type=int, default=10, help="per page and round (10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per page (3)")
    parser.add_argument("--bulk-users", type=int, default=20, help="users in the Bulk (20)")
    parser.add_argument("--batch", type=int, default=10_000, help="generator batch (10000)")
    parser.add_argument("--log-level", default="warning", help="server log level (warning)")
    parser.add_argument("--dir", help="where the SQLite files go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite files")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.pages = [s for s in args.pages.split(",") if s]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tokens = {"company": secrets.token_urlsafe(24), "admin": secrets.token_urlsafe(24)}
    os.environ["CONCUR_SCIM_ADMIN_TOKEN"] = tokens["admin"]  # the server inherits it
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"command:  {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine:  {cpu_model()}, {os.cpu_count()} cores, loadavg {load}")
    print(f"python:   {platform.python_implementation()} {platform.python_version()}")
    print(f"sqlite:   {sqlite3.sqlite_version}")
    print(
        f"sizes {args.sizes}, {args.rounds} rounds x {args.requests} sequential requests per"
        f" page after {args.warmup} warm-up, Bulk of {args.bulk_users} users first,"
        f" server log level {args.log_level}"
    )
    with contextlib.ExitStack() as stack:
        workdir = Path(args.dir or stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        results = [run_size(n, args, workdir, tokens) for n in args.sizes]
    small, big = results[0], results[-1]
    print()
    cols = [f"median ms N={r.n:,}" for r in results] + [f"p90 ms N={r.n:,}" for r in results]
    print(f"| page | {' | '.join(cols)} | ratio | CPU ms/req N={small.n:,} | N={big.n:,} | ratio |")
    print("|---|" + "---:|" * (len(cols) + 4))
    for name in small.ms:
        medians = [statistics.median(r.ms[name]) for r in results]
        p90s = [percentile(r.ms[name], 90) for r in results]
        cells = " | ".join(f"{v:.2f}" for v in medians + p90s)
        cpus = f"{small.cpu_ms[name]:.2f} | {big.cpu_ms[name]:.2f}"
        cpu_ratio = ratio(big.cpu_ms[name], small.cpu_ms[name])
        print(f"| {name} | {cells} | {ratio(medians[-1], medians[0])} | {cpus} | {cpu_ratio} |")
    rss = " | ".join(f"{r.rss_kib / 1024:.1f} MiB" for r in results)
    print(f"\nserver RSS after the requests: {rss} ({ratio(big.rss_kib, small.rss_kib)})")
    loads = ", ".join(f"N={r.n:,}: {r.load_seconds:.1f} s" for r in results)
    print(f"loads: {loads}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
