"""Who may use the console: the admin token, presented once (docs/security.md "Console").

A browser cannot send ``Authorization: Bearer`` on a link it follows, so the sign-in form
takes the admin token once and answers a session cookie:

- the cookie holds ``<issued>.<mac>``, where ``mac`` is HMAC-SHA256 keyed by the admin token
  over the issue time, never the token itself; it expires after :data:`SESSION_SECONDS`,
  and changing the admin token ends every session (the key is the token);
- it is ``HttpOnly`` (scripts cannot read it), ``SameSite=Strict`` (no other site's page
  can make the browser send it), ``Path=/console`` and ``Secure`` behind HTTPS;
- every state-changing form carries a CSRF token derived from the session (HMAC again), and
  a POST whose ``Origin`` names another host is refused, so a forged form fails twice.

Scripts may skip the form: ``Authorization: Bearer <admin token>`` is admitted on every
console route, as on ``/_admin``. Every comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from starlette.requests import Request

COOKIE = "concur_scim_console"
SESSION_SECONDS = 12 * 3600
PATH = "/console"


def _mac(key: str, purpose: str, text: str) -> str:
    digest = hmac.new(key.encode(), f"{purpose}:{text}".encode(), hashlib.sha256)
    return digest.hexdigest()


def new_session(admin_token: str, now: float | None = None) -> str:
    """A fresh cookie value for a session starting ``now`` (seconds since the epoch)."""
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_mac(admin_token, 'console-session', issued)}"


def session_valid(admin_token: str, value: str, now: float | None = None) -> bool:
    """Whether ``value`` is a cookie this admin token issued, less than
    :data:`SESSION_SECONDS` ago (and not from the future)."""
    issued, _, mac = value.partition(".")
    if not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
        return False
    expected = _mac(admin_token, "console-session", issued)
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return False
    age = (time.time() if now is None else now) - int(issued)
    return -60 <= age <= SESSION_SECONDS


def token_matches(given: str, admin_token: str) -> bool:
    """Whether ``given`` (the sign-in form's field) is the admin token."""
    return bool(given) and hmac.compare_digest(given.strip().encode(), admin_token.encode())


def bearer_is_admin(request: Request, admin_token: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <admin token>``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_matches(token, admin_token)


@dataclass(frozen=True)
class Visitor:
    """A caller the console admitted: by its session cookie (``session`` set) or by the
    admin bearer token (``session`` None: no form, so no CSRF token needed)."""

    session: str | None
    csrf: str

    def csrf_ok(self, given: str | None) -> bool:
        """Whether ``given`` is this visitor's CSRF token (always, for a bearer caller)."""
        if self.session is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


def visitor(request: Request, admin_token: str) -> Visitor | None:
    """The admitted caller of ``request``, or None (send it to the sign-in form)."""
    if bearer_is_admin(request, admin_token):
        return Visitor(session=None, csrf="")
    value = request.cookies.get(COOKIE)
    if value and session_valid(admin_token, value):
        return Visitor(session=value, csrf=_mac(admin_token, "console-csrf", value))
    return None


def same_origin(request: Request) -> bool:
    """False when the request names an ``Origin`` (or, lacking one, a ``Referer``) on
    another host than the one it was sent to, or the opaque origin ``null``; a request
    naming neither passes (the CSRF token still guards it). Host and port are compared, not
    the scheme: behind a proxy that ends TLS the browser's origin is https while the request
    reaching the server is http."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    host = request.headers.get("host", "")
    return urlsplit(source).netloc.lower() == host.lower()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only, never another site nor, through
    ``.`` or ``..`` segments (percent-encoded or not, an encoded ``?`` or ``#`` hiding none
    of them) or backslashes, another path of this one; anything else is the console's home."""
    if not target or target.startswith("//"):
        return PATH
    raw_path = re.split(r"[?#]", target, maxsplit=1)[0]
    path = unquote(raw_path)
    if "\\" in unquote(target) or not unquote(target).isprintable():
        return PATH
    if any(part in (".", "..") or "?" in part or "#" in part for part in path.split("/")):
        return PATH
    if raw_path == PATH or raw_path.startswith(PATH + "/"):
        return target
    return PATH
