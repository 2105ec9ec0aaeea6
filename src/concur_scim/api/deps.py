"""FastAPI dependencies: the app's services, authentication, the unit of work, the body.

The request owns its transaction: :func:`read_connection` / :func:`write_connection` open
one unit of work per request and commit it when the route returns (``scope="function"``, so
the commit happens before the response is sent and a failed commit is a failed request).
"""

from __future__ import annotations

import hmac
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from sqlalchemy import Connection, Engine

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


async def services(request: Request) -> Services:
    """The application's :class:`Services` (set by the lifespan)."""
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def authenticate(request: Request, svc: ServicesDep) -> str:
    """The caller's company id from ``Authorization: Bearer <token>`` (RFC 6750 §2.1).

    Raises Unauthorized (401, ``WWW-Authenticate: Bearer``) when the header is missing,
    malformed or carries an unknown token, and TooManyRequests (429) when the company's
    request rate is over ``CONCUR_SCIM_RATE_LIMIT_PER_SECOND`` (api/rate_limit.py).

    A plain function, so FastAPI runs it in its threadpool: verifying a stored static token or
    a first-seen company reads the database, which must not block the event loop.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    principal = svc.verifier.principal_for(token.strip())
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


def read_connection(svc: ServicesDep) -> Iterator[Connection]:
    """A read transaction for this request."""
    with unit_of_work(svc.engine, write=False) as conn:
        yield conn


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


async def write_connection(svc: ServicesDep) -> AsyncIterator[Connection]:
    """A write transaction for this request, committed when the route returns normally."""
    async with (
        _write_turn(svc.engine),
        contextmanager_in_threadpool(unit_of_work(svc.engine, write=True)) as conn,
    ):
        yield conn


ReadConn = Annotated[Connection, Depends(read_connection, scope="function")]
WriteConn = Annotated[Connection, Depends(write_connection, scope="function")]


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
