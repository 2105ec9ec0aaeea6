"""The production :class:`~concur_scim.api.deps.TokenVerifier`: tokens as data.

:class:`DatabaseTokenVerifier` accepts, in this order:

1. the configured ``CONCUR_SCIM_BEARER_TOKEN`` (default company, every scope; compared in
   constant time), as :class:`~concur_scim.api.deps.StaticTokenVerifier` does;
2. access tokens (RS256 JWTs, reference §7): a signature by a key of ``signing_keys`` that
   still verifies (services/signing_keys.py), ``exp`` / ``nbf`` against the clock seam,
   ``aud`` ``*``, the issuer rule below, and a company that exists;
3. static tokens of ``static_tokens``, found by the SHA-256 digest of the token; revoked or
   expired ones are refused.

An access token obtained by an OAuth client (``concur.appId``) is refused once that client is
revoked (``concur-scim client revoke``), checked on every request.

Issuer rule (docs/security.md, "Tokens"): with ``CONCUR_SCIM_ISSUER`` set, tokens are minted
with that ``iss`` and only that ``iss`` is accepted. Unset, tokens carry the base URL they
were requested at; the signature (keys only this server's database holds) is what binds a
token to this server, and ``iss`` must merely be an http(s) origin.

Public keys are cached for :data:`KEY_CACHE_SECONDS` and reloaded at once when a token names
an unknown ``kid`` (a rotation by another process); company ids, which are never deleted,
are cached once seen.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import Engine

from concur_scim.api.deps import Principal
from concur_scim.services.common import Clock
from concur_scim.services.credentials import digest
from concur_scim.services.signing_keys import KEY_GRACE, verification_keys
from concur_scim.store import credentials as store
from concur_scim.store.db import unit_of_work

KEY_CACHE_SECONDS = 60.0
NBF_LEEWAY_SECONDS = 60  # clock skew between the processes (and hosts) that mint and verify
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")
_TYPES = {"company": "company", "app": "client"}


class DatabaseTokenVerifier:
    """Bearer tokens to principals: configured token, JWT access tokens, static tokens."""

    def __init__(
        self,
        engine: Engine,
        *,
        bearer_token: str,
        default_company: str,
        issuer: str | None,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._configured = bearer_token.encode()
        self._default_company = default_company
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[Any, datetime | None]] = {}
        self._keys_loaded = float("-inf")
        self._companies: set[str] = {default_company}
        self._configured_principal = Principal(company_id=default_company, subject="static-token")

    def known_principal(self, token: str) -> Principal | None:
        """The default company's principal when ``token`` is the configured one (no I/O),
        else None."""
        if hmac.compare_digest(token.encode(), self._configured):
            return self._configured_principal
        return None

    def principal_for(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, or None (see the module docstring)."""
        if hmac.compare_digest(token.encode(), self._configured):
            return self._configured_principal
        if token.count(".") == 2:
            return self._access_token(token)
        return self._static_token(token)

    def _static_token(self, token: str) -> Principal | None:
        token_hash = digest(token)
        with unit_of_work(self._engine, write=False) as conn:
            grant = store.find_static_token(conn, token_hash, self._clock())
        if grant is None:
            return None
        scopes = None if grant.scopes is None else frozenset(grant.scopes)
        label = grant.name or token_hash[:12]
        return Principal(company_id=grant.company_id, subject=f"static:{label}", scopes=scopes)

    def _access_token(self, token: str) -> Principal | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            return None
        now = self._clock()
        key = self._key(kid, now)
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience="*",
                # Times are checked below against the clock seam, not the system clock.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["iss", "sub", "aud", "exp", "nbf", "iat"],
                },
            )
        except jwt.PyJWTError:
            return None
        return self._principal(claims, now.timestamp())

    def _principal(self, claims: dict[str, Any], now: float) -> Principal | None:
        exp, nbf = claims["exp"], claims["nbf"]
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float):
            return None
        if now >= exp or now + NBF_LEEWAY_SECONDS < nbf:
            return None
        if not self._issuer_accepted(claims["iss"]):
            return None
        kind = _TYPES.get(claims.get("concur.type", ""))
        company = claims.get("concur.company")
        scopes = claims.get("concur.scopes")
        subject = claims["sub"]
        if kind is None or not isinstance(company, str) or not isinstance(subject, str):
            return None
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return None
        if not self._company_exists(company):
            return None
        app_id = claims.get("concur.appId")
        if app_id is not None and not self._client_active(app_id):
            return None
        return Principal(company_id=company, subject=f"{kind}:{subject}", scopes=frozenset(scopes))

    def _issuer_accepted(self, iss: Any) -> bool:
        if not isinstance(iss, str):
            return False
        if self._issuer is not None:
            return iss == self._issuer
        return _ORIGIN.match(iss) is not None

    def _key(self, kid: str, now: datetime) -> Any:
        """The public key of ``kid`` if it still verifies at ``now``, else None."""
        with self._lock:
            stale = time.monotonic() - self._keys_loaded > KEY_CACHE_SECONDS
            if stale or kid not in self._keys:
                self._load_keys(now)
            found = self._keys.get(kid)
        if found is None:
            return None
        public, retired = found
        if retired is not None and now >= retired + KEY_GRACE:
            return None
        return public

    def _load_keys(self, now: datetime) -> None:
        with unit_of_work(self._engine, write=False) as conn:
            rows = verification_keys(conn, now)
        self._keys = {
            row.kid: (jwt.algorithms.RSAAlgorithm.from_jwk(row.public_jwk), row.retired)
            for row in rows
        }
        self._keys_loaded = time.monotonic()

    def _client_active(self, client_id: Any) -> bool:
        # Read on every request, never cached: `concur-scim client revoke` must stop the
        # client's outstanding access tokens at once, not when a cache entry expires.
        if not isinstance(client_id, str):
            return False
        with unit_of_work(self._engine, write=False) as conn:
            return not store.client_revoked(conn, client_id)

    def _company_exists(self, company_id: str) -> bool:
        if company_id in self._companies:
            return True
        with unit_of_work(self._engine, write=False) as conn:
            exists = store.company_exists(conn, company_id)
        if exists:
            with self._lock:
                self._companies.add(company_id)
        return exists
