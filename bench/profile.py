"""Profile the live server on one request type: a harness, not a test.

Usage (from the repository root)::

    .venv/bin/python bench/profile.py lookup|create|patch|page [--users N] [--seconds S]
                                      [--concurrency C] [--out FILE] [--top K]

Loads N users (default 2,000) into a fresh SQLite file through the service layer, starts a
real ``concur-scim serve`` on it, sends the chosen request from C threads with keep-alive
connections (``http.client``), and samples the server process with ``py-spy record --gil``
(the thread holding the GIL: where the server's Python CPU goes) for S seconds. It writes
py-spy's collapsed stacks to ``--out`` (default ``bench/profiles/<kind>.txt``) and prints the
K frames with the largest inclusive and self share of the samples. The profile is what each
optimisation in bench/README.md was chosen from.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _common import free_port, user_doc  # noqa: E402

from concur_scim.config import load_settings  # noqa: E402
from concur_scim.services import users as user_service  # noqa: E402
from concur_scim.services.common import system_clock  # noqa: E402
from concur_scim.store.companies import ensure_default_company  # noqa: E402
from concur_scim.store.db import create_db_engine, unit_of_work  # noqa: E402
from concur_scim.store.migrate import upgrade  # noqa: E402


def load_users(url: str, prefix: str, count: int) -> tuple[list[str], list[str]]:
    """Migrate ``url`` and create ``count`` users through the service layer: their
    userNames and ids."""
    upgrade(url)
    engine = create_db_engine(url)
    names, ids = [], []
    try:
        with unit_of_work(engine, write=True) as conn:
            company = ensure_default_company(conn, load_settings().company_id, system_clock())
            for i in range(count):
                doc = user_doc(prefix, i)
                ids.append(user_service.create_user(conn, company, doc, clock=system_clock).id)
                names.append(doc["userName"])
    finally:
        engine.dispose()
    return names, ids


def _request(kind: str, names: list[str], ids: list[str]) -> tuple[str, str, bytes | None]:
    if kind == "lookup":
        name = random.choice(names)
        return "GET", f"/scim/v2/Users?filter=userName%20eq%20%22{name}%22", None
    if kind == "page":
        return "GET", "/scim/v2/Users?startIndex=1&count=100", None
    if kind == "create":
        doc = user_doc(f"p{uuid.uuid4().hex[:10]}", 0)
        return "POST", "/scim/v2/Users", json.dumps(doc).encode()
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": secrets.token_hex(4)},
            {"op": "Replace", "path": "name.givenName", "value": secrets.token_hex(4)},
        ],
    }
    return "PATCH", f"/scim/v2/Users/{random.choice(ids)}", json.dumps(body).encode()


def _drive(
    port: int, token: str, kind: str, names: list[str], ids: list[str], stop: threading.Event
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    while not stop.is_set():
        method, path, body = _request(kind, names, ids)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status}")


# Leaf frames of a thread that waits (the thread pool's idle workers, the event loop's
# select): py-spy samples them as active, but they cost no CPU.
IDLE = ("Condition.wait (threading.py)", "EpollSelector.select (selectors.py)")


def summarize(path: Path, top: int) -> str:
    """The ``top`` frames by inclusive and by self share of py-spy's collapsed stacks,
    counting only samples of a thread at work (not waiting: :data:`IDLE`)."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        if frames[-1] in IDLE:
            continue
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    lines = [f"{total} samples at work", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {f[:150]}" for f, n in inclusive.most_common(top)]
    lines.append("self:")
    lines += [f"  {100 * n / total:5.1f}%  {f[:150]}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["lookup", "create", "patch", "page"])
    parser.add_argument("--users", type=int, default=2000, help="users loaded (2000)")
    parser.add_argument("--seconds", type=int, default=20, help="sampling time (20)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument("--out", type=Path, help="collapsed stacks (bench/profiles/KIND.txt)")
    parser.add_argument("--top", type=int, default=45, help="frames printed (45)")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out: Path = args.out or ROOT / "bench" / "profiles" / f"{args.kind}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-profile-"))
    try:
        url = f"sqlite:///{workdir / 'profile.db'}"
        names, ids = load_users(url, "prof", args.users)
        token, port = secrets.token_urlsafe(24), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
        env["CONCUR_SCIM_BEARER_TOKEN"] = token
        command = [sys.executable, "-m", "concur_scim.cli", "serve", "--port", str(port)]
        log = (workdir / "server.log").open("wb")
        server = subprocess.Popen(
            [*command, "--database-url", url], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    probe.request("GET", "/healthz")
                    if probe.getresponse().status == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_drive, args=(port, token, args.kind, names, ids, stop), daemon=True
                )
                for _ in range(args.concurrency)
            ]
            for thread in threads:
                thread.start()
            time.sleep(2)  # warm up
            subprocess.run(
                [
                    spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--duration",
                    str(args.seconds),
                    "--format",
                    "raw",
                    "--threads",
                    "--output",
                    str(out),
                ],
                check=True,
                capture_output=True,
            )
            stop.set()
        finally:
            server.terminate()
            server.wait(timeout=20)
        print(f"kind {args.kind}, {args.users} users, concurrency {args.concurrency}, {out}")
        print(summarize(out, args.top))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
