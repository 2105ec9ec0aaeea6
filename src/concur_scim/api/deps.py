"""FastAPI dependencies: the app's services, authentication, the unit of work, the body.

The request owns its transaction: a route that takes :data:`ReadConn` or :data:`WriteConn`
runs in one unit of work, opened in the worker thread that runs the route and committed when
the route returns, before the response is sent (a failed commit is a failed request); see
:class:`UnitOfWorkRoute`. The other dependencies are coroutines, so that a request crosses to
a worker thread once: for the route itself.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import inspect
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from concur_scim.api.journal_writer import JournalWriter
from concur_scim.api.limits import JsonLimits, parse_json
from concur_scim.api.rate_limit import RateLimiter
from concur_scim.config import Settings
from concur_scim.scim.errors import InvalidSyntax, PayloadTooLarge, Unauthorized
from concur_scim.services.common import Clock
from concur_scim.store.db import unit_of_work


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for: its company, who it is, and its scopes.

    ``subject`` names the caller for the audit trail (never the token itself); ``scopes``
    None means every scope (the static token of ``CONCUR_SCIM_BEARER_TOKEN``).
    """

    company_id: str
    subject: str
    scopes: frozenset[str] | None = None

    def has_scope(self, scope: str) -> bool:
        """Whether the token carries ``scope``."""
        return self.scopes is None or scope in self.scopes


class TokenVerifier(Protocol):
    """The authentication seam: a bearer token to the principal it stands for, or None."""

    def principal_for(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, or None if the token is not valid."""
        ...

    def known_principal(self, token: str) -> Principal | None:
        """The principal of ``token`` if it is known without any I/O, else None (then
        :meth:`principal_for`, which may read the database, decides)."""
        ...


class StaticTokenVerifier:
    """One static bearer token for one company (``CONCUR_SCIM_BEARER_TOKEN``), all scopes."""

    def __init__(self, token: str, company_id: str) -> None:
        self._token = token.encode()
        self._company_id = company_id

    def principal_for(self, token: str) -> Principal | None:
        """The default company when ``token`` matches (constant-time comparison)."""
        if hmac.compare_digest(token.encode(), self._token):
            return Principal(company_id=self._company_id, subject="static-token")
        return None

    def known_principal(self, token: str) -> Principal | None:
        """As :meth:`principal_for`: it does no I/O."""
        return self.principal_for(token)


@dataclass(frozen=True)
class Services:
    """What the routes need from the application, built once by ``create_app``."""

    settings: Settings
    engine: Engine
    verifier: TokenVerifier
    clock: Clock
    # Tells this process's provisioning worker that a request is waiting (no-op without one).
    wake_worker: Callable[[], None] = lambda: None
    # Per-company throttling in this process (off unless CONCUR_SCIM_RATE_LIMIT_PER_SECOND).
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0, 1))
    # The request journal's writer thread (api/journal_writer.py); created by ``create_app``.
    journal: JournalWriter | None = None


async def services(request: Request) -> Services:
    """The application's :class:`Services` (set by the lifespan)."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def authenticate(request: Request, svc: ServicesDep) -> str:
    """The caller's company id from ``Authorization: Bearer <token>`` (RFC 6750 §2.1).

    Raises Unauthorized (401, ``WWW-Authenticate: Bearer``) when the header is missing,
    malformed or carries an unknown token, and TooManyRequests (429) when the company's
    request rate is over ``CONCUR_SCIM_RATE_LIMIT_PER_SECOND`` (api/rate_limit.py).

    The configured token is recognised on the event loop; any other token goes to the
    verifier in a worker thread, since verifying a stored static token, a client's access
    token or a first-seen company reads the database, which must not block the loop.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    token = token.strip()
    principal = svc.verifier.known_principal(token)
    if principal is None:
        principal = await run_in_threadpool(svc.verifier.principal_for, token)
    if principal is None:
        raise Unauthorized("the bearer token is not valid")
    request.state.principal = principal
    svc.rate_limiter.check(principal.company_id)  # TooManyRequests (429) when throttled
    return principal.company_id


CompanyDep = Annotated[str, Depends(authenticate)]


async def current_principal(request: Request, _company: CompanyDep) -> Principal:
    """The authenticated caller (after :func:`authenticate`)."""
    found: Principal = request.state.principal
    return found


PrincipalDep = Annotated[Principal, Depends(current_principal)]


@dataclass(frozen=True)
class PendingUnit:
    """What the :data:`ReadConn` and :data:`WriteConn` dependencies hand to a route: the unit
    of work to open, not yet opened. :class:`UnitOfWorkRoute` opens it in the thread that
    runs the route, so a request costs one thread hop, not three (open, route, commit)."""

    engine: Engine
    write: bool


async def read_unit(svc: ServicesDep) -> Connection:
    """A read transaction for this request (opened by :class:`UnitOfWorkRoute`)."""
    return PendingUnit(svc.engine, write=False)  # type: ignore[return-value]


_WRITE_TURNS: weakref.WeakKeyDictionary[Engine, anyio.Lock] = weakref.WeakKeyDictionary()


def _write_turn(engine: Engine) -> AbstractAsyncContextManager[object]:
    """SQLite's one-writer-at-a-time queue, waited for on the event loop (PostgreSQL: none).

    A writer that waited for the database inside a worker thread would hold one of the
    threadpool's threads while it waits; with more waiting writers than threads, the writer
    holding the database could get no thread to run its route, and every request would hang.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _WRITE_TURNS.setdefault(engine, anyio.Lock())


async def write_unit(svc: ServicesDep) -> AsyncIterator[Connection]:
    """A write transaction for this request (opened by :class:`UnitOfWorkRoute`), its turn
    to write taken first on the event loop and held until the route has committed."""
    async with _write_turn(svc.engine):
        yield PendingUnit(svc.engine, write=True)  # type: ignore[misc]


ReadConn = Annotated[Connection, Depends(read_unit)]
WriteConn = Annotated[Connection, Depends(write_unit, scope="function")]


@dataclass(frozen=True)
class ReadCall:
    """Everything a read route needs, from one dependency (api/scopes.py ``reader``): the
    services, the authenticated caller (scopes already checked) and, inside the route, its
    read transaction ``conn`` (None until :class:`UnitOfWorkRoute` opens it). The hottest
    routes (a lookup is made before every write an identity provider sends) take this rather
    than four dependencies: FastAPI solves each dependency at a cost."""

    services: Services
    principal: Principal
    conn: Connection | None = None
    # A read whose cost does not grow with the directory (api/scopes.py ``short_read``),
    # run on the event loop on SQLite (:func:`_on_the_loop`).
    short: bool = False

    @property
    def company_id(self) -> str:
        """The caller's company."""
        return self.principal.company_id

    @property
    def connection(self) -> Connection:
        """The route's read transaction (opened by :class:`UnitOfWorkRoute`)."""
        assert self.conn is not None, "a ReadCall is opened by UnitOfWorkRoute"
        return self.conn


def _in_units(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a sync route) with each :class:`PendingUnit` argument replaced by an
    open unit of work, and each :class:`ReadCall` given its read transaction; committed
    when the route returns and before the response is sent (a failed commit is a failed
    request), rolled back when it raises."""

    @functools.wraps(endpoint)
    def in_units(*args: Any, **kwargs: Any) -> Any:
        pending = [(k, v) for k, v in kwargs.items() if isinstance(v, PendingUnit | ReadCall)]
        if not pending:
            return endpoint(*args, **kwargs)
        with ExitStack() as units:
            for name, unit in pending:
                if isinstance(unit, ReadCall):
                    engine = unit.services.engine
                    conn = units.enter_context(unit_of_work(engine, write=False))
                    kwargs[name] = dataclasses.replace(unit, conn=conn)
                else:
                    kwargs[name] = units.enter_context(unit_of_work(unit.engine, write=unit.write))
            return endpoint(*args, **kwargs)

    return in_units


def _on_the_loop(kwargs: dict[str, Any]) -> bool:
    """Whether a route call runs on the event loop: a short read (:class:`ReadCall` with
    ``short``, no other unit) on SQLite. Its statements are index reads that never wait for
    a lock (WAL: readers neither block the writer nor wait for it), so a worker thread would
    only add a hop, which under concurrent requests costs as much CPU as the lookup itself
    (bench/README.md). Every other route runs in a worker thread: on PostgreSQL every
    statement waits for the network, and a long read (a filter over JSON, a deep page, a
    large group) must not hold up the loop."""
    calls = [v for v in kwargs.values() if isinstance(v, ReadCall)]
    return (
        bool(calls)
        and all(c.short and c.services.engine.dialect.name == "sqlite" for c in calls)
        and not any(isinstance(v, PendingUnit) for v in kwargs.values())
    )


def _dispatched(run: Callable[..., Any]) -> Callable[..., Any]:
    """``run`` (a sync route in its units of work) called on the event loop or in a worker
    thread (:func:`_on_the_loop`)."""

    @functools.wraps(run)
    async def dispatched(*args: Any, **kwargs: Any) -> Any:
        if _on_the_loop(kwargs):
            return run(*args, **kwargs)
        return await run_in_threadpool(run, *args, **kwargs)

    return dispatched


class UnitOfWorkRoute(APIRoute):
    """The route class of every router: the route's units of work (:data:`ReadConn`,
    :data:`WriteConn`) are opened, run and committed in the one worker thread that runs the
    route. This is the one place the request path steps around FastAPI's dependency model:
    a generator dependency would open and close its connection in threads of its own."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _dispatched(_in_units(endpoint))
        super().__init__(path, endpoint, **kwargs)


async def json_body(request: Request, svc: ServicesDep) -> Any:
    """The request body parsed as JSON (``application/scim+json`` or ``application/json``).

    Raises PayloadTooLarge (413) past ``max_payload_bytes`` and InvalidSyntax (400) for an
    empty or malformed body or one past the JSON depth and array caps (api/limits.py).
    """
    limits = JsonLimits.from_settings(svc.settings)
    return await read_json(request, svc.settings.max_payload_bytes, limits)


async def read_json(request: Request, limit: int, limits: JsonLimits) -> Any:
    """The body parsed as JSON, refused with PayloadTooLarge (413) past ``limit`` bytes
    before it is parsed (the declared length first, then as it streams in), and with
    InvalidSyntax (400) past ``limits`` (nesting depth, items per array).

    Repeated keys in an object keep the last value (as Concur's own examples need).
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
    if not raw.strip():
        raise InvalidSyntax("the request body is empty")
    return parse_json(raw, limits)


BodyDep = Annotated[Any, Depends(json_body)]
