"""Fault injection at the HTTP boundary: the one place request rules act (services/faults.py).

:class:`FaultMiddleware` sits inside the audit trail, so the journal sees what it did. With
no rule in force its whole cost is :meth:`FaultBook.quiet` (one clock comparison). Otherwise a
request whose method, path and dialect match a rule has its bearer token resolved (rules
apply to authenticated requests only: an unauthenticated one is answered by the routes, 401),
and the first rule of its company that fires either answers a SCIM Error itself (``status``
rules; ``Retry-After`` on 429 and 503) or delays the real answer (``latencyMs``). The rule's
id is left in ``scope["state"]["fault_rule"]`` for the journal. ``/_admin`` is never faulted,
so rules can always be removed.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from concur_scim.api.deps import Principal, Services
from concur_scim.api.dialects import dialect_name
from concur_scim.api.responses import dialect_error
from concur_scim.scim.errors import ScimError, TooManyRequests
from concur_scim.services.faults import FaultBook, RequestFacts, matches
from concur_scim.store.faults import FaultRuleRecord

log = logging.getLogger("concur_scim.api")

ADMIN_PREFIX = "/_admin"


def injected_error(status: int, retry_after: int | None) -> ScimError:
    """The SCIM error of a ``status`` rule (429 carries its ``Retry-After``)."""
    detail = f"injected fault: {status}"
    if status == 429:
        return TooManyRequests(detail, retry_after=retry_after if retry_after else 1)
    kind = type(f"Injected{status}", (ScimError,), {"status": status})
    error: ScimError = kind(detail)
    return error


def _principal(services: Services, headers: Headers) -> Principal | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token.strip():
        return None
    return services.verifier.principal_for(token.strip())


class FaultMiddleware:
    """Apply the request fault rules (see the module doc).

    Mounted outside ``ErrorBoundary``: a failure of the rule machinery itself (the database
    unreachable while the cache refreshes) is logged and the request goes on unfaulted, so
    it can never cost a request its answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, answer an injected error, or pass through after a delay."""
        book: FaultBook | None = None
        if scope["type"] == "http":
            book = getattr(scope["app"].state, "fault_book", None)
        if book is None or book.quiet() or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            fired = await _fired(scope, book)
        except Exception as exc:
            log.warning("fault rules not applied to %s: %s", scope["path"], type(exc).__name__)
            fired = None
        if fired is not None:
            rule, principal = fired
            scope.setdefault("state", {})["fault_rule"] = rule.id
            latency = rule.action.get("latencyMs")
            if latency is None:
                scope["state"]["principal"] = principal  # the journal files it under its company
                retry = rule.action.get("retryAfter")
                error = injected_error(rule.action["status"], retry)
                response = dialect_error(scope["path"], error)
                if retry is not None:
                    response.headers["Retry-After"] = str(retry)
                await response(scope, receive, send)
                return
            await anyio.sleep(latency / 1000)
        await self.app(scope, receive, send)


async def _fired(scope: Scope, book: FaultBook) -> tuple[FaultRuleRecord, Principal] | None:
    """The first rule that acts on this request, with the request's principal; None if none."""
    rules = await anyio.to_thread.run_sync(book.rules)
    facts = RequestFacts(scope["method"], scope["path"], dialect_name(scope["path"]))
    candidates = [r for r in rules if matches(r, facts, None)]
    services: Services | None = getattr(scope["app"].state, "services", None)
    if not candidates or services is None:
        return None
    principal = await anyio.to_thread.run_sync(_principal, services, Headers(scope=scope))
    if principal is None:
        return None
    for rule in candidates:
        if matches(rule, facts, principal.company_id) and await anyio.to_thread.run_sync(
            book.fire, rule
        ):
            return rule, principal
    return None
