"""Cold start of ``concur-scim serve``: process start to the first ``GET /healthz`` 200.

Not a test. Migrates a fresh SQLite file once (``concur-scim migrate``), then starts
``concur-scim serve`` on it N times (a real process, 1 worker, bearer token from
``CONCUR_SCIM_BEARER_TOKEN``), polls ``/healthz`` every few milliseconds from the moment the
process is spawned, and stops it with SIGTERM once it answers 200. Reports every run, the
median and the minimum, then (``--importtime``) the heaviest imports of
``python -X importtime -c "import concur_scim.cli"``.

    .venv/bin/python bench/cold_start.py --runs 7 --importtime

``--command`` replaces the server command (default: the venv's ``concur-scim`` script), and
``--pythonpath`` puts a source tree first on ``PYTHONPATH`` (to time another checkout).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    """Whether ``GET /healthz`` answers 200 right now."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` so far (its own threads; serve runs 1 process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(command: list[str], url: str, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall seconds from spawning the server to its first /healthz 200, and the CPU seconds
    the server process used by then (less sensitive to other load on the machine)."""
    port = free_port()
    cmd = [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", url]
    with log.open("w") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            while not healthy(port):
                if proc.poll() is not None:
                    raise SystemExit(
                        f"the server exited with {proc.returncode}:\n{log.read_text()}"
                    )
                if time.perf_counter() - began > 60:
                    raise SystemExit(f"no /healthz 200 within 60 s:\n{log.read_text()}")
                time.sleep(0.005)
            return time.perf_counter() - began, cpu_seconds(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def import_costs(env: dict[str, str], top: int) -> list[tuple[int, int, str]]:
    """(self µs, cumulative µs, module) of the heaviest imports of ``concur_scim.cli``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import concur_scim.cli"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, total, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        rows.append((int(own), int(total), name))
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="server starts (7)")
    parser.add_argument("--command", help="server command (default: the venv's concur-scim)")
    parser.add_argument("--pythonpath", help="a source tree to put first on PYTHONPATH")
    parser.add_argument("--importtime", action="store_true", help="also list the top imports")
    parser.add_argument("--top", type=int, default=25, help="imports listed (25)")
    args = parser.parse_args(argv)

    command = args.command.split() if args.command else [str(VENV_BIN / "concur-scim")]
    env = dict(
        os.environ,
        CONCUR_SCIM_BEARER_TOKEN=secrets.token_urlsafe(16),
        CONCUR_SCIM_LOG_LEVEL="warning",
    )
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.pythonpath, env.get("PYTHONPATH")]))
    with open("/proc/loadavg") as f:
        print(f"command: {' '.join(command)} serve (loadavg {' '.join(f.read().split()[:3])})")
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        url = f"sqlite:///{tmp}/cold.db"
        subprocess.run(
            [*command, "migrate", "--database-url", url],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times, cpus = [], []
        for run in range(args.runs):
            seconds, cpu = one_run(command, url, env, Path(tmp) / "server.log")
            times.append(seconds)
            cpus.append(cpu)
            print(f"  run {run + 1}: {seconds:.3f} s (server CPU {cpu:.2f} s)")
    print(
        f"server CPU to first /healthz 200: median {statistics.median(cpus):.2f} s,"
        f" min {min(cpus):.2f} s"
    )
    print(
        f"cold start to first /healthz 200: median {statistics.median(times):.3f} s,"
        f" min {min(times):.3f} s, max {max(times):.3f} s ({args.runs} runs)"
    )
    if args.importtime:
        print(f"\nimport concur_scim.cli: top {args.top} by cumulative time")
        print(f"{'self ms':>9} {'cumul ms':>9}  module")
        for own, total, name in import_costs(env, args.top):
            print(f"{own / 1000:9.1f} {total / 1000:9.1f}  {name}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
