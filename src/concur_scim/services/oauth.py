"""The token endpoint's use-case: ``POST /oauth2/v0/token`` grants (reference §7).

Grants:

- ``password`` with ``credtype=authtoken``: ``username`` = company UUID, ``password`` = a
  company request token of that company; the client must belong to the company. Returns a
  company token and a refresh token.
- ``client_credentials``: an application token for the client's company; no refresh token.
- ``refresh_token``: the refresh token is used once (marked used, refused afterwards) and a
  new one with a fresh six-month window is returned (the window slides on each use).

A requested ``scope`` narrows the token to a subset of what was granted; anything outside it
is ``invalid_scope`` (code 54). Failures raise :class:`OAuthError`, carrying the HTTP status
and Concur's ``error`` / ``code`` pair. The caller owns the transaction: nothing is written
before every check has passed.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from concur_scim.services.credentials import SCOPE_CATALOGUE, digest, new_secret
from concur_scim.services.signing_keys import ACCESS_TOKEN_LIFETIME, mint_access_token
from concur_scim.store import credentials as store
from concur_scim.store.credentials import ClientRow

REFRESH_TOKEN_LIFETIME = timedelta(days=183)  # Concur: six months, sliding (§7)

_STATUS = {"invalid_client": 401, "access_denied": 403}


class OAuthError(Exception):
    """A refused token request: Concur's ``error``, numeric ``code`` and a description."""

    def __init__(self, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.code = code
        self.description = description
        self.status = _STATUS.get(error, 400)

    def to_body(self, geolocation: str) -> dict[str, Any]:
        """The error body of §7 ("OAuth error format")."""
        return {
            "error": self.error,
            "error_description": self.description,
            "code": self.code,
            "geolocation": geolocation,
        }


def _required(form: Mapping[str, str], field: str, code: int) -> str:
    value = form.get(field, "").strip()
    if not value:
        raise OAuthError("invalid_request", code, f"{field} is missing")
    return value


def _client(conn: Connection, form: Mapping[str, str], grant: str) -> ClientRow:
    client_id = _required(form, "client_id", 62)
    secret = _required(form, "client_secret", 63)
    client = store.get_client(conn, client_id)
    if client is None:
        raise OAuthError("invalid_client", 61, "client not found")
    if not hmac.compare_digest(digest(secret), client.secret_hash):
        raise OAuthError("invalid_client", 64, "bad client credentials")
    if client.revoked is not None:
        raise OAuthError("access_denied", 59, "client disabled")
    if grant not in client.grants:
        if grant == "refresh_token":
            raise OAuthError("invalid_request", 107, "refresh is not allowed for this client")
        raise OAuthError("unauthorized_client", 53, f"grant {grant} not enabled for this client")
    return client


def _narrow(granted: tuple[str, ...] | None, requested: str | None) -> list[str]:
    """The scopes of the new token: ``requested`` (space-separated) within ``granted``."""
    allowed = list(granted) if granted is not None else list(SCOPE_CATALOGUE)
    if requested is None or not requested.strip():
        return allowed
    wanted = requested.split()
    outside = [s for s in wanted if s not in allowed]
    if outside:
        raise OAuthError("invalid_scope", 54, f"requested scope exceeds granted: {outside[0]}")
    return [s for s in allowed if s in wanted]


def issue_token(
    conn: Connection, form: Mapping[str, str], *, issuer: str, now: datetime
) -> dict[str, Any]:
    """The token response of §7 for the grant in ``form``; raises :class:`OAuthError`."""
    grant = form.get("grant_type", "").strip()
    if not grant:
        raise OAuthError("invalid_request", 65, "grant_type is missing")
    if grant == "password":
        return _password(conn, form, issuer, now)
    if grant == "client_credentials":
        return _client_credentials(conn, form, issuer, now)
    if grant == "refresh_token":
        return _refresh(conn, form, issuer, now)
    raise OAuthError("unsupported_grant_type", 135, f"unsupported grant_type {grant}")


def _password(
    conn: Connection, form: Mapping[str, str], issuer: str, now: datetime
) -> dict[str, Any]:
    client = _client(conn, form, "password")
    username = _required(form, "username", 51)
    password = _required(form, "password", 52)
    if form.get("credtype", "password").strip() != "authtoken":
        raise OAuthError("invalid_request", 120, "invalid credtype: only authtoken is supported")
    try:
        company_id = str(uuid.UUID(username))
    except ValueError:
        raise OAuthError("invalid_grant", 5, "Incorrect credentials. Please Retry") from None
    if company_id != client.company_id:
        raise OAuthError("invalid_client", 53, "company not enabled for this client")
    if not store.request_token_valid(conn, digest(password), company_id, now):
        raise OAuthError("invalid_grant", 5, "Incorrect credentials. Please Retry")
    scopes = _narrow(client.scopes, form.get("scope"))
    return _company_response(conn, client, company_id, client.scopes, scopes, issuer, now)


def _client_credentials(
    conn: Connection, form: Mapping[str, str], issuer: str, now: datetime
) -> dict[str, Any]:
    client = _client(conn, form, "client_credentials")
    scopes = _narrow(client.scopes, form.get("scope"))
    access = mint_access_token(
        conn,
        issuer=issuer,
        subject=client.client_id,
        principal_type="app",
        company_id=client.company_id,
        scopes=scopes,
        app_id=client.client_id,
        now=now,
    )
    return _response(access, scopes, issuer)


def _refresh(
    conn: Connection, form: Mapping[str, str], issuer: str, now: datetime
) -> dict[str, Any]:
    client = _client(conn, form, "refresh_token")
    presented = _required(form, "refresh_token", 106)
    grant = store.claim_refresh_token(conn, digest(presented), client.client_id, now)
    if grant is None:
        raise OAuthError("invalid_grant", 108, "bad or expired refresh token")
    scopes = _narrow(grant.scopes, form.get("scope"))
    return _company_response(conn, client, grant.company_id, grant.scopes, scopes, issuer, now)


def _company_response(
    conn: Connection,
    client: ClientRow,
    company_id: str,
    granted: tuple[str, ...] | None,
    scopes: list[str],
    issuer: str,
    now: datetime,
) -> dict[str, Any]:
    """A company token plus a new refresh token carrying the whole grant ``granted``."""
    access = mint_access_token(
        conn,
        issuer=issuer,
        subject=company_id,
        principal_type="company",
        company_id=company_id,
        scopes=scopes,
        app_id=client.client_id,
        now=now,
    )
    refresh = new_secret()
    expires = now + REFRESH_TOKEN_LIFETIME
    store.insert_refresh_token(
        conn,
        token_hash=digest(refresh),
        company_id=company_id,
        subject=company_id,
        client_id=client.client_id,
        scopes=list(granted) if granted is not None else None,
        expires=expires,
        now=now,
    )
    body = _response(access, scopes, issuer)
    body["refresh_token"] = refresh
    body["refresh_expires_in"] = int(expires.timestamp())
    return body


def _response(access: str, scopes: list[str], issuer: str) -> dict[str, Any]:
    return {
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "scope": " ".join(scopes),
        "token_type": "Bearer",
        "access_token": access,
        "geolocation": issuer,
    }
