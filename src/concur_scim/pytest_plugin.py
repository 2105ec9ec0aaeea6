"""pytest plugin: a concur-scim server for an application's contract tests.

Registered as the ``pytest11`` entry point ``concur_scim`` (README "Contract tests in your
CI"), so installing the package makes it available to every pytest run. Two fixtures:

* ``concur_scim_session`` (session scope): one server for the whole run, started the first
  time a test asks for it, stopped at the end. It yields a :class:`ConcurScim`.
* ``concur_scim`` (function scope): the same object; after the test, fault rules are
  cleared, the worker resumed, the test's provisioning requests awaited and the default
  company reset (``POST /_admin/reset``), so tests do not see each other's data.

The server is selected by options (command line first, then ini file, then environment):

* ``--concur-scim-mode=inprocess|subprocess`` / ini ``concur_scim_mode`` (default
  ``inprocess``): the application served by uvicorn in a background thread of the test
  process (lifespan and provisioning worker included), or a real ``concur-scim serve
  --port 0`` process whose banner names the port chosen;
* ``--concur-scim-database-url URL`` / ``CONCUR_SCIM_TEST_DATABASE_URL``: the database
  (migrated by the server at start); unset, a SQLite file in a temporary directory.

Either way it listens on a free loopback port, the admin API is on, and the bearer token
(every scope, default company) and admin token are generated for the run. Other
``CONCUR_SCIM_*`` variables of the environment configure the server as they would
``serve``.

Importing this module starts nothing and imports neither the application nor httpx: both
are loaded when a fixture is first used.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

MODES = ("inprocess", "subprocess")
DATABASE_URL_VARIABLE = "CONCUR_SCIM_TEST_DATABASE_URL"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
PROVISION_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.05
_LOG_TAIL_LINES = 40
_BANNER_URL = re.compile(r"^concur-scim serving SCIM 2\.0 at (http://\S+)/scim/v2$", re.MULTILINE)
_BANNER_COMPANY = re.compile(r"^default company: (\S+)$", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``--concur-scim-*`` options and the ``concur_scim_mode`` ini option."""
    group = parser.getgroup("concur-scim", "concur-scim server for contract tests")
    group.addoption(
        "--concur-scim-mode",
        choices=MODES,
        default=None,
        help="Serve the concur_scim fixture in this process (inprocess, default) or as a"
        " 'concur-scim serve' process (subprocess). Ini: concur_scim_mode.",
    )
    group.addoption(
        "--concur-scim-database-url",
        default=None,
        help="Database of the concur_scim fixture's server (default: SQLite in a temporary"
        f" directory; environment: {DATABASE_URL_VARIABLE}).",
    )
    parser.addini(
        "concur_scim_mode",
        help="concur_scim fixture server: inprocess (default) or subprocess.",
        default="inprocess",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Refuse an unknown server mode before any test runs (a usage error)."""
    _mode(config)


class Faults:
    """Fault rules of the admin API (README "Admin API"), for the fixture's company."""

    def __init__(self, admin: httpx.Client, company_id: str) -> None:
        self._admin = admin
        self._company_id = company_id

    def add(self, **rule: Any) -> str:
        """Add a rule (keys as in ``POST /_admin/faults``; ``company`` defaults to the
        fixture's); its id. Raises httpx.HTTPStatusError when the rule is refused."""
        rule.setdefault("company", self._company_id)
        answer = self._admin.post("/faults", json=rule)
        answer.raise_for_status()
        rule_id: str = answer.json()["id"]
        return rule_id

    def list(self) -> list[dict[str, Any]]:
        """Every rule, as ``GET /_admin/faults`` shows it."""
        answer = self._admin.get("/faults")
        answer.raise_for_status()
        rules: list[dict[str, Any]] = answer.json()["Resources"]
        return rules

    def remove(self, rule_id: str) -> None:
        """Delete one rule."""
        self._admin.delete(f"/faults/{rule_id}").raise_for_status()

    def clear(self) -> None:
        """Delete every rule."""
        self._admin.delete("/faults").raise_for_status()


class ConcurScim:
    """A running concur-scim server, as the fixtures yield it.

    ``client`` sends the bearer ``token`` (every scope, company ``company_id``) to
    ``base_url``; ``admin`` sends the admin token to ``<base_url>/_admin`` (so
    ``admin.get("/journal")``). Both are closed when the session ends.
    """

    def __init__(self, base_url: str, token: str, admin_token: str, company_id: str) -> None:
        import httpx  # noqa: PLC0415 (loaded on first use: the plugin imports cheaply)

        self.base_url = base_url
        self.token = token
        self.company_id = company_id
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
        )
        self.admin = httpx.Client(
            base_url=f"{base_url}/_admin",
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=30.0,
        )
        self.faults = Faults(self.admin, company_id)

    @property
    def scim_v2(self) -> str:
        """Generic SCIM 2.0 (Entra ID, Okta)."""
        return f"{self.base_url}/scim/v2"

    @property
    def ups(self) -> str:
        """User Provisioning v4."""
        return f"{self.base_url}/profile/v4"

    @property
    def identity_v4(self) -> str:
        """Identity v4."""
        return f"{self.base_url}/profile/identity/v4"

    @property
    def identity_v41(self) -> str:
        """Identity v4.1."""
        return f"{self.base_url}/profile/identity/v4.1"

    @property
    def scim_v4(self) -> str:
        """SCIM v4 (Users and the role groups)."""
        return f"{self.base_url}/scim/v4"

    @property
    def spend(self) -> str:
        """The spend read view (v4.1)."""
        return f"{self.base_url}/profile/spend/v4.1"

    @property
    def travel(self) -> str:
        """The travel read view (v4)."""
        return f"{self.base_url}/profile/travel/v4"

    @property
    def user_v1(self) -> str:
        """Concur's User v1.0 XML API."""
        return f"{self.base_url}/api/user/v1.0"

    def reset(self) -> dict[str, Any]:
        """Delete the company's users, groups, extensions, provisions and journal rows
        (``POST /_admin/reset``); the rows deleted per kind."""
        answer = self.admin.post("/reset", json={"company": self.company_id})
        answer.raise_for_status()
        report: dict[str, Any] = answer.json()
        return report

    def seed(self, users: list[dict[str, Any]], *, dialect: str = "generic") -> dict[str, Any]:
        """Create ``users`` (SCIM User documents) through ``POST /_admin/seed``
        (``dialect="concur"``: the Concur dialects' validation); the summary
        ``{"created": n, "failed": [{"line", "detail"}]}``."""
        answer = self.admin.post(
            "/seed", params={"company": self.company_id, "dialect": dialect}, json=users
        )
        answer.raise_for_status()
        report: dict[str, Any] = answer.json()
        return report

    def pause_worker(self) -> None:
        """Stop the provisioning worker claiming requests (``POST /_admin/worker/pause``)."""
        self.admin.post("/worker/pause").raise_for_status()

    def resume_worker(self) -> None:
        """Let the provisioning worker claim requests again."""
        self.admin.post("/worker/resume").raise_for_status()

    def wait_for_provision(
        self, provision_id: str, *, timeout: float = PROVISION_TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        """Poll ``/profile/v4/provisions/{id}/status`` until the request is completed; its
        status with every operation. Raises TimeoutError after ``timeout`` seconds and
        httpx.HTTPStatusError for an unknown request."""
        url = f"{self.ups}/provisions/{provision_id}/status"
        deadline = time.monotonic() + timeout
        while True:
            answer = self.client.get(url)
            answer.raise_for_status()
            if answer.json()["status"]["completed"]:
                final = self.client.get(url, params={"attributes": "operations"})
                final.raise_for_status()
                status: dict[str, Any] = final.json()
                return status
            if time.monotonic() >= deadline:
                raise TimeoutError(f"provision {provision_id} not completed in {timeout:.0f}s")
            time.sleep(_POLL_SECONDS)

    def _pending_provisions(self) -> int:
        answer = self.admin.get(
            "/provisions", params={"company": self.company_id, "state": "pending", "count": 1}
        )
        answer.raise_for_status()
        pending: int = answer.json()["totalResults"]
        return pending

    def _clean(self) -> None:
        """Back to an empty company: no fault rule, worker running, no provision in flight
        (deleting rows the worker is writing would race it), then reset."""
        self.faults.clear()
        self.resume_worker()
        deadline = time.monotonic() + PROVISION_TIMEOUT_SECONDS
        while self._pending_provisions():
            if time.monotonic() >= deadline:
                raise TimeoutError("provisioning requests left unfinished by the test")
            time.sleep(_POLL_SECONDS)
        self.reset()

    def _close(self) -> None:
        self.client.close()
        self.admin.close()


# ----------------------------------------------------------------------------- servers


def _log_tail(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(server log unavailable: {exc})"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(server log empty)"


def _wait_healthy(base_url: str, alive: Callable[[], bool]) -> None:
    import httpx  # noqa: PLC0415 (loaded on first use: the plugin imports cheaply)

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(base_url=base_url, timeout=2.0) as http:
        while time.monotonic() < deadline and alive():
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(_POLL_SECONDS)
    raise RuntimeError(f"concur-scim at {base_url} did not answer GET /healthz")


@pytest.fixture(scope="session")
def _concur_scim_inprocess(
    _concur_scim_database_url: str, _concur_scim_tokens: tuple[str, str]
) -> Iterator[tuple[str, str]]:
    """(base URL, default company id) of the app served by uvicorn in a thread."""
    import uvicorn  # noqa: PLC0415 (loaded on first use: the plugin imports cheaply)

    from concur_scim.app import create_app  # noqa: PLC0415 (loaded on first use: the plugin imports cheaply)
    from concur_scim.config import load_settings  # noqa: PLC0415 (loaded on first use: the plugin imports cheaply)

    token, admin_token = _concur_scim_tokens
    settings = load_settings(
        database_url=_concur_scim_database_url,
        bearer_token=token,
        admin="on",
        admin_token=admin_token,
        host="127.0.0.1",
        port=0,
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="concur-scim", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() >= deadline:
                raise RuntimeError("the in-process concur-scim server did not start")
            time.sleep(_POLL_SECONDS)
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, thread.is_alive)
        yield base_url, str(app.state.default_company_id)
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_SECONDS)
        sock.close()


def _serve_command() -> list[str]:
    """``concur-scim`` beside this interpreter when installed there, else the module."""
    script = Path(sys.executable).with_name("concur-scim")
    if script.is_file():
        return [str(script)]
    found = shutil.which("concur-scim")
    return [found] if found else [sys.executable, "-m", "concur_scim.cli"]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def _concur_scim_subprocess(
    _concur_scim_database_url: str,
    _concur_scim_tokens: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """(base URL, default company id) of a ``concur-scim serve --port 0`` process, read
    from its banner."""
    token, admin_token = _concur_scim_tokens
    workdir = tmp_path_factory.mktemp("concur-scim-serve")
    logfile = workdir / "serve.log"
    command = [
        *_serve_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--database-url",
        _concur_scim_database_url,
    ]
    env = {
        **os.environ,
        "CONCUR_SCIM_BEARER_TOKEN": token,
        "CONCUR_SCIM_ADMIN": "on",
        "CONCUR_SCIM_ADMIN_TOKEN": admin_token,
        "PYTHONUNBUFFERED": "1",
    }
    with logfile.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own console script, fixed arguments)
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            text = logfile.read_text(errors="replace")
            url, company = _BANNER_URL.search(text), _BANNER_COMPANY.search(text)
            if url and company:
                break
            if process.poll() is not None or time.monotonic() >= deadline:
                raise RuntimeError(
                    f"concur-scim serve did not start: {' '.join(command)}\n"
                    f"--- {logfile} ---\n{_log_tail(logfile)}"
                )
            time.sleep(_POLL_SECONDS)
        _wait_healthy(url.group(1), lambda: process.poll() is None)
        yield url.group(1), company.group(1)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def _concur_scim_database_url(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> str:
    given = pytestconfig.getoption("concur_scim_database_url") or os.environ.get(
        DATABASE_URL_VARIABLE
    )
    if given:
        return str(given)
    return f"sqlite:///{tmp_path_factory.mktemp('concur-scim') / 'concur-scim.db'}"


@pytest.fixture(scope="session")
def _concur_scim_tokens() -> tuple[str, str]:
    """(bearer token, admin token) for this run."""
    return secrets.token_urlsafe(32), secrets.token_urlsafe(32)


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("concur_scim_mode") or config.getini("concur_scim_mode")
    if mode not in MODES:
        raise pytest.UsageError(f"concur_scim_mode must be one of {', '.join(MODES)}: {mode!r}")
    return str(mode)


@pytest.fixture(scope="session")
def concur_scim_session(
    request: pytest.FixtureRequest, _concur_scim_tokens: tuple[str, str]
) -> Iterator[ConcurScim]:
    """One concur-scim server for the session (see the module docstring); the company is
    reset when it starts, not between tests (``concur_scim`` does that)."""
    mode = _mode(request.config)
    base_url, company_id = request.getfixturevalue(f"_concur_scim_{mode}")
    token, admin_token = _concur_scim_tokens
    server = ConcurScim(base_url, token, admin_token, company_id)
    try:
        server.reset()  # a given database may hold an earlier run's data
        yield server
    finally:
        server._close()


@pytest.fixture
def concur_scim(concur_scim_session: ConcurScim) -> Iterator[ConcurScim]:
    """The session's server; after the test its fault rules are cleared, the worker resumed
    and the company reset once its provisioning requests have completed."""
    yield concur_scim_session
    concur_scim_session._clean()
