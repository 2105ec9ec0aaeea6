"""Throwaway PostgreSQL cluster for the test suite.

Contract: ``running_cluster()`` is a context manager yielding a SQLAlchemy URL of the form
``postgresql+psycopg://USER@127.0.0.1:PORT/concur_scim_test`` for an empty database that the
caller may use freely.

* If ``CONCUR_SCIM_TEST_PG_URL`` is set, that URL is yielded as is and no cluster is started.
* Otherwise a fresh cluster is created in a temporary directory (``initdb`` with trust auth,
  durability switched off), started on a free loopback port, and given the database
  ``concur_scim_test``. On exit, or on any error, the server is stopped with
  ``pg_ctl -m immediate`` and the directory is deleted.
* The server binaries are found via ``pg_config --bindir`` or ``/usr/lib/postgresql/*/bin``
  (highest version); ``scripts/ensure-postgres.sh`` installs them.
* When running as root, the cluster runs as the ``postgres`` OS user, since initdb refuses root.

``controlled_cluster()`` always starts such a cluster of its own and yields a
:class:`ClusterControl` (``url``, ``stop(mode)``, ``start()`` on the same port), for tests
that take the database away from a running server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

URL_ENV_VAR = "CONCUR_SCIM_TEST_PG_URL"
DATABASE_NAME = "concur_scim_test"
SUPERUSER = "postgres"
SERVICE_OS_USER = "postgres"
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_START_ATTEMPTS = 3
_LOG_TAIL_LINES = 40


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in _SERVER_BINARIES)


def _version_key(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin; non-numeric versions sort lowest.
    try:
        return tuple(int(part) for part in bindir.parent.name.split("."))
    except ValueError:
        return (-1,)


def find_bindir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres, or raise RuntimeError."""
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        if result.returncode == 0:
            bindir = Path(result.stdout.strip())
            # pg_config may come from libpq-dev alone, without the server binaries.
            if result.stdout.strip() and _has_server_binaries(bindir):
                return bindir
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for bindir in candidates:
        if _has_server_binaries(bindir):
            return bindir
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via 'pg_config --bindir' "
        "or /usr/lib/postgresql/*/bin; run scripts/ensure-postgres.sh (or set "
        f"{URL_ENV_VAR} to an existing database)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGHOST, ...) from the caller must not steer our cluster.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _log_tail(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(server log unavailable: {exc})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(server log empty)"


class _Cluster:
    def __init__(self, bindir: Path, workdir: Path, as_service_user: bool) -> None:
        self.bindir = bindir
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.logfile = workdir / "server.log"
        self.as_service_user = as_service_user
        self.env = _clean_env()

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        if self.as_service_user:
            return ["runuser", "-u", SERVICE_OS_USER, "--", *command]
        return command

    def _run(self, program: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(program, *args),
            capture_output=True,
            text=True,
            check=False,
            env=self.env,
            cwd=self.workdir,
            timeout=timeout,
        )

    def initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.datadir),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
            )

    def start(self, port: int) -> subprocess.CompletedProcess[str]:
        options = " ".join(
            [
                f"-p {port}",
                f"-k {shlex.quote(str(self.workdir))}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        return self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-w",
            "-t",
            "60",
            "start",
            "-l",
            str(self.logfile),
            "-o",
            options,
            timeout=120,
        )

    def stop(self, mode: str = "immediate") -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", timeout=120)


def _start_on_free_port(cluster: _Cluster) -> int:
    for attempt in range(1, _START_ATTEMPTS + 1):
        port = _free_port()
        result = cluster.start(port)
        if result.returncode == 0:
            return port
        tail = _log_tail(cluster.logfile)
        # Another process may grab the port between probing and binding: retry on a new one.
        if attempt < _START_ATTEMPTS and "could not bind" in tail:
            cluster.logfile.unlink(missing_ok=True)
            continue
        raise RuntimeError(
            f"pg_ctl start failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n"
            f"--- server log tail ({cluster.logfile}) ---\n{tail}"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _create_database(port: int) -> None:
    with psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


class ClusterControl:
    """A cluster of :func:`controlled_cluster`: its URL, and stop/start on the same port."""

    def __init__(self, cluster: _Cluster, port: int) -> None:
        self._cluster = cluster
        self.port = port
        self.url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/{DATABASE_NAME}"

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m mode``: ``fast`` ends every session (clients see their
        connections terminated), then the server shuts down cleanly."""
        result = self._cluster.stop(mode)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        """Start the stopped cluster again on its port (same data, same URL)."""
        result = self._cluster.start(self.port)
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n"
                f"--- server log tail ---\n{_log_tail(self._cluster.logfile)}"
            )


@contextlib.contextmanager
def running_cluster() -> Iterator[str]:
    """Yield a SQLAlchemy URL for an empty ``concur_scim_test`` database (see module doc)."""
    external = os.environ.get(URL_ENV_VAR)
    if external:
        yield external
        return
    with controlled_cluster() as control:
        yield control.url


@contextlib.contextmanager
def controlled_cluster() -> Iterator[ClusterControl]:
    """A cluster of this process's own, whatever ``CONCUR_SCIM_TEST_PG_URL`` says, which the
    caller may stop and start again (fault tests); otherwise as :func:`running_cluster`."""
    bindir = find_bindir()
    as_service_user = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="concur-scim-pg-"))
    cluster = _Cluster(bindir, workdir, as_service_user)
    try:
        if as_service_user:
            try:
                service_user = pwd.getpwnam(SERVICE_OS_USER)
            except KeyError:
                raise RuntimeError(
                    f"running as root needs the '{SERVICE_OS_USER}' system user to run the "
                    "cluster; run scripts/ensure-postgres.sh"
                ) from None
            os.chown(workdir, service_user.pw_uid, service_user.pw_gid)
        cluster.initdb()
        port = _start_on_free_port(cluster)
        _create_database(port)
        yield ClusterControl(cluster, port)
    finally:
        try:
            # Also after a failed or timed-out start: a server may be up regardless.
            if (cluster.datadir / "postmaster.pid").exists():
                cluster.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
